//! Recovery of a database's log: a commit cut by a crash is dropped whole,
//! never applied in part; a cut that later segments contradict, or a record
//! of a table the database lacks, is a typed error.

use std::fs;

use worktable_core::Database;

use super::{account, as_if_killed, check, contents, log_path, open, transfer};
use crate::database::DurableDatabase;
use crate::log;
use crate::table::OpenError;

/// The offsets of the records of the log's first segment.
fn record_offsets(path: &std::path::Path) -> Vec<(usize, bool)> {
    let bytes = fs::read(path).unwrap();
    log::scan(&bytes)
        .unwrap()
        .records
        .iter()
        .map(|record| (record.offset, record.continues))
        .collect()
}

#[tokio::test]
async fn a_transaction_cut_by_a_crash_is_dropped_whole() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 100)).await.unwrap();
    bank.accounts.insert(account(2, 0)).await.unwrap();
    transfer(&bank, 1, 2, 10).await;
    let before_last = contents(&bank);
    transfer(&bank, 1, 2, 20).await;
    drop(bank);
    as_if_killed(dir.path());

    let path = log_path(dir.path(), 1);
    let records = record_offsets(&path);
    // 2 inserts, then two transfers of 3 records each.
    assert_eq!(records.len(), 8);
    let flags: Vec<bool> = records.iter().map(|r| r.1).collect();
    assert_eq!(flags, [false, false, true, true, false, true, true, false]);
    // Each cut inside the last transfer drops it whole.
    let full = fs::read(&path).unwrap();
    for keep in [records[5].0 + 1, records[6].0, records[7].0, full.len() - 1] {
        fs::write(&path, &full[..keep]).unwrap();
        let bank = open(dir.path());
        assert_eq!(contents(&bank), before_last, "cut at {keep}");
        check(&bank);
        // The cut commit's numbers go to the next commit, and what is
        // written now follows the last whole commit in the file.
        assert_eq!(bank.last_commit(), 5);
        transfer(&bank, 2, 1, 1).await;
        let expected = contents(&bank);
        drop(bank);
        let bank = open(dir.path());
        assert_eq!(contents(&bank), expected, "cut at {keep}, then written");
        drop(bank);
        fs::write(&path, &full).unwrap();
        as_if_killed(dir.path());
    }
}

#[tokio::test]
async fn a_commit_cut_before_a_later_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 100)).await.unwrap();
    bank.accounts.insert(account(2, 0)).await.unwrap();
    transfer(&bank, 1, 2, 10).await;
    drop(bank);
    as_if_killed(dir.path());
    let path = log_path(dir.path(), 1);
    let records = record_offsets(&path);
    let full = fs::read(&path).unwrap();
    // The transfer loses its last record, yet a segment follows.
    fs::write(&path, &full[..records[4].0]).unwrap();
    let mut next = full[..log::HEADER_LEN].to_vec();
    let mut header = log::decode_header(&next).unwrap();
    header.first_seq = 5;
    next = log::encode_header(&header).to_vec();
    fs::write(log_path(dir.path(), 5), next).unwrap();
    match DurableDatabase::<super::Bank>::open(dir.path(), super::sync()) {
        Err(OpenError::LogCommit { seq, .. }) => assert_eq!(seq, 3),
        other => panic!("expected a commit cut mid-log, got {other:?}"),
    }
}

#[tokio::test]
async fn a_table_log_is_not_a_database_log() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    bank.accounts.insert(account(1, 100)).await.unwrap();
    drop(bank);
    let path = log_path(dir.path(), 1);
    let bytes = fs::read(&path).unwrap();
    let mut header = log::decode_header(&bytes).unwrap();
    header.database = false;
    // A table's log header over the database's records: the checksums seed
    // from the header, so they no longer verify either.
    let mut replaced = log::encode_header(&header).to_vec();
    replaced.extend_from_slice(&bytes[log::HEADER_LEN..]);
    fs::write(&path, replaced).unwrap();
    assert!(matches!(
        DurableDatabase::<super::Bank>::open(dir.path(), super::sync()),
        Err(OpenError::LogCommit { .. })
    ));
}

/// Every file of a database directory, relative names.
fn files(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if entry.file_type().unwrap().is_dir() {
            for inner in fs::read_dir(entry.path()).unwrap() {
                names.push(format!(
                    "{name}/{}",
                    inner.unwrap().file_name().into_string().unwrap()
                ));
            }
        } else if name != "LOCK" {
            names.push(name);
        }
    }
    names.sort();
    names
}

#[tokio::test]
async fn damage_to_any_file_is_a_typed_error_naming_it_or_a_cut_tail() {
    let dir = tempfile::tempdir().unwrap();
    let bank = open(dir.path());
    for id in 1..=20 {
        bank.accounts.insert(account(id, 100)).await.unwrap();
    }
    bank.checkpoint().await.unwrap();
    for n in 0..10 {
        transfer(&bank, 1 + n, 11 + n, 5).await;
    }
    let expected = contents(&bank);
    drop(bank);
    as_if_killed(dir.path());
    let names = files(dir.path());
    assert_eq!(
        names,
        [
            "db",
            "log-00000000000000000021",
            "t0/manifest-00000000000000000001",
            "t0/pages",
            "t1/manifest-00000000000000000001",
            "t1/pages"
        ]
    );
    let mut errors = 0;
    for name in &names {
        let path = dir.path().join(name);
        let original = fs::read(&path).unwrap();
        for at in [0, 9, 13, 20, 40, 64, original.len() / 2, original.len() - 1] {
            if at >= original.len() {
                continue;
            }
            let mut damaged = original.clone();
            damaged[at] ^= 0x5a;
            fs::write(&path, &damaged).unwrap();
            let opened = std::panic::catch_unwind(|| {
                DurableDatabase::<super::Bank>::open(dir.path(), super::sync())
            })
            .unwrap_or_else(|_| panic!("{name} byte {at}: open panicked"));
            match opened {
                Err(error) => {
                    errors += 1;
                    let text = format!("{error}");
                    let named = name.rsplit('/').next().unwrap();
                    assert!(text.contains(named), "{name} byte {at}: {text}");
                }
                Ok(bank) => {
                    // Only a log's unsynced-looking tail may be cut: what
                    // is left is a prefix of the commits, never a row that
                    // was not written.
                    assert!(name.starts_with("log-"), "{name} byte {at} opened");
                    let (accounts, ledger) = contents(&bank);
                    check(&bank);
                    assert!(
                        ledger.iter().all(|e| expected.1.contains(e)),
                        "{name} byte {at}"
                    );
                    assert_eq!(accounts.len(), 20);
                    drop(bank);
                    as_if_killed(dir.path());
                }
            }
            fs::write(&path, &original).unwrap();
        }
    }
    assert!(errors > 30, "{errors} typed errors");
}
