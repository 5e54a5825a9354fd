//! A database's commit hook receives each commit whole: a transaction's
//! changes to every table in one batch, before any of them is visible, and
//! may refuse it all.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use worktable_core::events::{CommitBatch, DatabaseHook, Durable, Refusal};
use worktable_core::prelude::*;
use worktable_core::{ChangeEvent, ChangeKind, TxError, Watch};

use super::basics::{Account, Bank, Entry, account};

/// What the hook saw of one commit.
#[derive(Debug, PartialEq)]
struct Seen {
    number: u64,
    /// (table position, table name, sequence number, kind) per change.
    changes: Vec<(usize, &'static str, u64, ChangeKind)>,
    /// How many of the batch's changes were visible to readers when the
    /// hook ran.
    visible: usize,
}

/// Records every batch; refuses while `refuse` is set; makes the commit
/// wait for a failing future while `fail_durably` is set.
struct Recorder {
    seen: Mutex<Vec<Seen>>,
    refuse: AtomicBool,
    fail_durably: AtomicBool,
    /// The database, to check what readers see from inside the hook.
    bank: Mutex<Option<std::sync::Weak<Bank>>>,
}

impl Recorder {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            seen: Mutex::new(Vec::new()),
            refuse: AtomicBool::new(false),
            fail_durably: AtomicBool::new(false),
            bank: Mutex::new(None),
        })
    }

    fn taken(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// Whether the change is visible to a reader outside every transaction.
fn visible(bank: &Bank, change: &worktable_core::events::CommitChange) -> bool {
    if let Some(event) = change.event::<Account>() {
        return bank.accounts.get(event.pk()).as_ref() == event.after().map(|a| a.get()).as_ref();
    }
    let event: &ChangeEvent<Entry> = change.event().expect("a ledger change");
    bank.ledger.get(event.pk()).as_ref() == event.after().map(|e| e.get()).as_ref()
}

impl DatabaseHook for Recorder {
    fn on_commit(&self, batch: &CommitBatch) -> Result<Option<Durable>, Refusal> {
        if self.refuse.load(Ordering::SeqCst) {
            return Err("the log is full".into());
        }
        let bank = self.bank.lock().unwrap().as_ref().and_then(|b| b.upgrade());
        let visible = bank.map_or(0, |bank| {
            batch.changes().iter().filter(|c| visible(&bank, c)).count()
        });
        let changes = batch
            .changes()
            .iter()
            .map(|c| (c.table(), c.table_name(), c.seq(), c.kind()))
            .collect();
        self.seen.lock().unwrap().push(Seen {
            number: batch.number(),
            changes,
            visible,
        });
        if self.fail_durably.load(Ordering::SeqCst) {
            return Ok(Some(Box::pin(async { Err("the disk is gone".into()) })));
        }
        Ok(None)
    }
}

async fn hooked_bank(accounts: u32) -> (Arc<Bank>, Arc<Recorder>) {
    let recorder = Recorder::new();
    let bank = Arc::new(Bank::with_commit_hook(recorder.clone()));
    for id in 0..accounts {
        bank.accounts.insert(account(id, 100)).await.unwrap();
    }
    *recorder.bank.lock().unwrap() = Some(Arc::downgrade(&bank));
    recorder.taken();
    (bank, recorder)
}

fn entry(account: u32, amount: i64) -> Entry {
    Entry {
        id: 0,
        account,
        amount,
    }
}

#[tokio::test]
async fn a_transaction_reaches_the_hook_as_one_batch_before_it_is_visible() {
    let (bank, recorder) = hooked_bank(3).await;
    let mut ledger = bank.ledger.subscribe_to(Watch::all());
    let commit = bank
        .transaction(|tx| async move {
            tx.accounts.update_with(&0, |a| a.balance -= 30)?;
            tx.accounts.update_with(&2, |a| a.balance += 30)?;
            tx.ledger.insert(entry(0, -30))?;
            tx.accounts.delete(&1)?;
            Ok::<_, TableError>(())
        })
        .await;
    assert!(commit.is_ok());
    let seen = recorder.taken();
    // Accounts first (field order), each table's changes in key order.
    assert_eq!(
        seen,
        [Seen {
            number: 7,
            changes: vec![
                (0, "account", 4, ChangeKind::Update),
                (0, "account", 5, ChangeKind::Delete),
                (0, "account", 6, ChangeKind::Update),
                (1, "entry", 7, ChangeKind::Insert),
            ],
            visible: 0,
        }]
    );
    assert_eq!(bank.last_commit(), 7);
    let event = ledger.try_next().unwrap().unwrap();
    assert_eq!((event.seq(), event.commit()), (7, 7));
}

#[tokio::test]
async fn a_single_write_is_a_batch_of_one_change() {
    let (bank, recorder) = hooked_bank(1).await;
    bank.ledger.insert(entry(0, 5)).await.unwrap();
    bank.accounts
        .update_with(&0, |a| a.balance = 1)
        .await
        .unwrap();
    assert_eq!(
        recorder.taken(),
        [
            Seen {
                number: 2,
                changes: vec![(1, "entry", 2, ChangeKind::Insert)],
                visible: 0,
            },
            Seen {
                number: 3,
                changes: vec![(0, "account", 3, ChangeKind::Update)],
                visible: 0,
            },
        ]
    );
}

#[tokio::test]
async fn a_refused_transaction_leaves_nothing_and_its_numbers_unused() {
    let (bank, recorder) = hooked_bank(2).await;
    recorder.refuse.store(true, Ordering::SeqCst);
    let result = bank
        .transaction(|tx| async move {
            tx.accounts.update_with(&0, |a| a.balance = 0)?;
            tx.ledger.insert(entry(0, -100))?;
            Ok::<_, TableError>(())
        })
        .await;
    let Err(TxError::Table(TableError::WriteRefused { table, source })) = result else {
        panic!("expected a refusal, got {result:?}");
    };
    assert_eq!(
        (table, source.to_string().as_str()),
        ("account", "the log is full")
    );
    assert_eq!(bank.accounts.get(&0).unwrap().balance, 100);
    assert!(bank.ledger.is_empty());
    assert_eq!(bank.last_commit(), 2);
    for stats in [bank.accounts.stats(), bank.ledger.stats()] {
        assert_eq!(stats.locked_rows, 0);
        assert_eq!(stats.versions_held, 0);
    }
    bank.accounts.check_integrity().unwrap();
    bank.ledger.check_integrity().unwrap();
    // A single write is refused the same way.
    let error = bank.ledger.insert(entry(1, 1)).await.unwrap_err();
    assert!(matches!(error, TableError::WriteRefused { .. }), "{error}");
    // Accepted again: the next commit takes the next unused number.
    recorder.refuse.store(false, Ordering::SeqCst);
    let mut tx = bank.begin();
    tx.ledger.insert(entry(0, 1)).unwrap();
    tx.accounts.update_with(&1, |a| a.balance = 1).unwrap();
    assert_eq!(tx.commit().await.unwrap(), 4);
    tx = bank.begin();
    assert_eq!(
        tx.commit().await.unwrap(),
        4,
        "a read-only commit has no batch"
    );
    assert_eq!(recorder.taken().len(), 1);
}

#[tokio::test]
async fn a_durability_failure_is_reported_after_the_commit() {
    let (bank, recorder) = hooked_bank(1).await;
    recorder.fail_durably.store(true, Ordering::SeqCst);
    let tx = bank.begin();
    tx.accounts.update_with(&0, |a| a.balance = 7).unwrap();
    tx.ledger.insert(entry(0, -93)).unwrap();
    let error = tx.commit().await.unwrap_err();
    assert!(
        matches!(
            error,
            TableError::Durability {
                table: "account",
                ..
            }
        ),
        "{error}"
    );
    // Made, visible and numbered, only not durable.
    assert_eq!(bank.accounts.get(&0).unwrap().balance, 7);
    assert_eq!(bank.ledger.len(), 1);
    assert_eq!(bank.last_commit(), 3);
    assert_eq!(bank.accounts.stats().locked_rows, 0);
}

#[tokio::test]
async fn the_typed_events_and_records_of_a_batch_match_the_change_stream() {
    let (bank, recorder) = hooked_bank(2).await;
    let records = Arc::new(Mutex::new(Vec::new()));
    /// (sequence number, the image's bytes) of every change.
    type Kept = Arc<Mutex<Vec<(u64, Vec<u8>)>>>;
    struct Records(Kept, Arc<Recorder>);
    impl DatabaseHook for Records {
        fn on_commit(&self, batch: &CommitBatch) -> Result<Option<Durable>, Refusal> {
            for change in batch.changes() {
                let record = change.to_record();
                let bytes = record.new.clone().or(record.old.clone()).unwrap();
                self.0.lock().unwrap().push((record.seq, bytes));
            }
            self.1.on_commit(batch)
        }
    }
    drop(bank);
    let bank = Bank::with_commit_hook(Arc::new(Records(records.clone(), recorder.clone())));
    bank.accounts.insert(account(0, 10)).await.unwrap();
    let mut accounts = bank.accounts.subscribe_to(Watch::all());
    let tx = bank.begin();
    tx.accounts.update_with(&0, |a| a.balance = 11).unwrap();
    tx.accounts.insert(account(5, 0)).unwrap();
    tx.commit().await.unwrap();
    let records = records.lock().unwrap();
    assert_eq!(records.len(), 3);
    for (seq, bytes) in &records[1..] {
        let event = accounts.try_next().unwrap().unwrap();
        assert_eq!(event.seq(), *seq);
        assert_eq!(event.after().unwrap().bytes(), &bytes[..]);
    }
    assert_eq!(recorder.taken().len(), 2);
}
