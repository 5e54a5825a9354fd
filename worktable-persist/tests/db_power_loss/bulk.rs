//! Power cuts during bulk loads: a new database created loaded, a load
//! into an open database, a load into an open durable table — each leaves
//! all of the load or none of it.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use worktable_core::TableError;
use worktable_persist::testing::vfs::SimFs;
use worktable_persist::{Durability, DurableDatabase, Options};

use crate::common::{Rng, Tap, TapOp, campaign};
use crate::{ACCOUNTS, Account, Bank, Entry, MODES, START, dir, lock, options};

/// A bulk load cut by the power at any file operation leaves an empty
/// database or the whole load, never part of it.
#[test]
fn a_bulk_load_is_all_or_nothing() {
    let every = if campaign() { 1 } else { 2 };
    let disk = SimFs::new();
    let cuts = Arc::new(Mutex::new(Vec::new()));
    let rng = Arc::new(Mutex::new(Rng::new(0xb01c)));
    let hook = {
        let (disk, cuts, rng) = (disk.clone(), cuts.clone(), rng.clone());
        Arc::new(move |op: TapOp<'_>| -> std::io::Result<()> {
            let mut rng = lock(&rng);
            if rng.below(every) == 0 {
                let image = disk.power_cut(MODES[rng.below(3) as usize], rng.next_u64());
                lock(&cuts).push((op.to_string(), image));
            }
            Ok(())
        })
    };
    let tap = Tap::new(&disk, hook);
    let bank = DurableDatabase::<Bank>::create_loaded_in(Arc::new(tap), dir(), options(), |load| {
        load.rows(
            |bank| &bank.accounts,
            (0..3_000).map(|id| Account {
                id,
                branch: (id % 5) as u8,
                balance: START,
            }),
        )?;
        load.rows(
            |bank| &bank.ledger,
            (0..2_000).map(|id| Entry {
                id,
                account: (id % 7) as u32,
                amount: 1,
            }),
        )?;
        Ok(())
    })
    .unwrap();
    drop(bank);
    let cuts = std::mem::take(&mut *lock(&cuts));
    assert!(cuts.len() > 10, "{} cuts", cuts.len());
    for (at, image) in &cuts {
        let bank = DurableDatabase::<Bank>::open_in(Arc::new(image.clone()), dir(), options());
        let Ok(bank) = bank else {
            // Before the new database's file: no database at all, which a
            // new load (or open) starts over from.
            let error = bank.unwrap_err();
            assert!(
                matches!(
                    error,
                    worktable_persist::OpenError::MetaMissing { .. }
                        | worktable_persist::OpenError::NotATableDirectory { .. }
                ),
                "cut before `{at}`: {error}"
            );
            continue;
        };
        let loaded = (bank.accounts.len(), bank.ledger.len());
        assert!(
            loaded == (0, 0) || loaded == (3_000, 2_000),
            "cut before `{at}`: {loaded:?} rows"
        );
        bank.accounts.check_integrity().unwrap();
        bank.ledger.check_integrity().unwrap();
        drop(bank);
    }
}

/// A bulk load into an open database, cut by the power at any file
/// operation: the rows committed before it are there, and the load is
/// there whole or not at all.
#[test]
fn a_bulk_load_into_an_open_database_is_all_or_nothing() {
    let every = if campaign() { 1 } else { 2 };
    let disk = SimFs::new();
    let cuts = Arc::new(Mutex::new(Vec::new()));
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rng = Arc::new(Mutex::new(Rng::new(0xb01d)));
    let hook = {
        let (disk, cuts, rng, armed) = (disk.clone(), cuts.clone(), rng.clone(), armed.clone());
        Arc::new(move |op: TapOp<'_>| -> std::io::Result<()> {
            let mut rng = lock(&rng);
            if armed.load(Ordering::SeqCst) && rng.below(every) == 0 {
                let image = disk.power_cut(MODES[rng.below(3) as usize], rng.next_u64());
                lock(&cuts).push((op.to_string(), image));
            }
            Ok(())
        })
    };
    let tap = Tap::new(&disk, hook);
    runtime_current().block_on(async {
        let bank =
            DurableDatabase::<Bank>::open_in(Arc::new(tap), dir(), busy_checkpoints()).unwrap();
        bank.transaction(|tx| async move {
            for id in 0..ACCOUNTS {
                tx.accounts.insert(Account {
                    id,
                    branch: 0,
                    balance: START,
                })?;
            }
            Ok::<_, TableError>(())
        })
        .await
        .unwrap();
        armed.store(true, Ordering::SeqCst);
        bank.bulk_load(|load| {
            load.rows(
                |bank| &bank.ledger,
                (0..70_000).map(|id| Entry {
                    id,
                    account: (id % 4) as u32,
                    amount: 1,
                }),
            )?;
            Ok(())
        })
        .await
        .unwrap();
        armed.store(false, Ordering::SeqCst);
        bank.close().await.unwrap();
    });
    let cuts = std::mem::take(&mut *lock(&cuts));
    assert!(cuts.len() > 10, "{} cuts", cuts.len());
    for (at, image) in &cuts {
        let bank = DurableDatabase::<Bank>::open_in(Arc::new(image.clone()), dir(), options())
            .unwrap_or_else(|error| panic!("cut before `{at}`: {error}"));
        assert_eq!(bank.accounts.len(), ACCOUNTS as usize, "cut before `{at}`");
        let loaded = bank.ledger.len();
        assert!(
            loaded == 0 || loaded == 70_000,
            "cut before `{at}`: {loaded} rows"
        );
        bank.ledger.check_integrity().unwrap();
        drop(bank);
    }
}

fn runtime_current() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A bulk load into an open durable table, cut by the power at any file
/// operation: the rows written before it are there, and the load whole or
/// not at all.
#[test]
fn a_bulk_load_into_an_open_table_is_all_or_nothing() {
    let every = if campaign() { 1 } else { 2 };
    let table_dir = Path::new("/disk/table");
    let disk = SimFs::new();
    let cuts = Arc::new(Mutex::new(Vec::new()));
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rng = Arc::new(Mutex::new(Rng::new(0xb01e)));
    let hook = {
        let (disk, cuts, rng, armed) = (disk.clone(), cuts.clone(), rng.clone(), armed.clone());
        Arc::new(move |op: TapOp<'_>| -> std::io::Result<()> {
            let mut rng = lock(&rng);
            if armed.load(Ordering::SeqCst) && rng.below(every) == 0 {
                let image = disk.power_cut(MODES[rng.below(3) as usize], rng.next_u64());
                lock(&cuts).push((op.to_string(), image));
            }
            Ok(())
        })
    };
    let tap = Tap::new(&disk, hook);
    runtime_current().block_on(async {
        let table = worktable_persist::PersistentTable::<Entry>::open_in(
            Arc::new(tap),
            table_dir,
            busy_checkpoints(),
        )
        .unwrap();
        for id in 0..5 {
            table
                .insert(Entry {
                    id: 100_000 + id,
                    account: 9,
                    amount: 9,
                })
                .await
                .unwrap();
        }
        armed.store(true, Ordering::SeqCst);
        let rows = (0..3_000).map(|id| Entry {
            id,
            account: (id % 4) as u32,
            amount: 1,
        });
        table.bulk_load(rows).await.unwrap();
        armed.store(false, Ordering::SeqCst);
        table.close().await.unwrap();
    });
    let cuts = std::mem::take(&mut *lock(&cuts));
    assert!(cuts.len() > 10, "{} cuts", cuts.len());
    for (at, image) in &cuts {
        let table = worktable_persist::PersistentTable::<Entry>::open_in(
            Arc::new(image.clone()),
            table_dir,
            options(),
        )
        .unwrap_or_else(|error| panic!("cut before `{at}`: {error}"));
        let loaded = table.len();
        assert!(
            loaded == 5 || loaded == 3_005,
            "cut before `{at}`: {loaded} rows"
        );
        table.check_integrity().unwrap();
        drop(table);
    }
}

/// Background checkpoints as often as they can run: a load must not let
/// one take part of it.
fn busy_checkpoints() -> Options {
    Options::durability(Durability::Sync)
        .checkpoint_after_log_bytes(1)
        .checkpoint_interval(Some(Duration::from_millis(1)))
}
