//! Simulated power loss under a durable database: transfers between
//! accounts, each one transaction over two tables (two balance updates and a
//! ledger entry), run under `Durability::Sync` on a simulated disk, with
//! checkpoints in between; the power is cut just *before* file operations
//! (through a [`Tap`]), in every [`PowerCut`] mode, and each disk left is
//! reopened. Every image must open and hold:
//!
//! - every acknowledged transfer, wholly (its ledger entry present);
//! - the transfer in flight wholly or not at all;
//! - balances equal to the seed plus exactly the transfers whose ledger
//!   entries are present (a transfer applied in part breaks this);
//! - indexes that agree with the rows.
//!
//! Normal run: 3 seeds, a cut before one operation in three; campaign
//! (`WORKTABLE_CAMPAIGN=1`): 60 seeds, every operation. `WORKTABLE_SEED=<n>`
//! replays one seed.
//!
//! A second test runs the same transfers under `Durability::Periodic`
//! (acknowledged before they are durable) with a consumer of the confirmed
//! commit stream, and checks that no cut loses a commit the stream had
//! delivered.

mod common;

mod db_power_loss {
    //! The bulk loads' power cuts.
    pub(crate) mod bulk;
}

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;

use common::{Rng, SeedGuard, Tap, TapOp, campaign, seeds};
use worktable_core::prelude::*;
use worktable_persist::testing::vfs::{PowerCut, SimFs};
use worktable_persist::{Durability, DurableDatabase, Options};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Account {
    #[pk]
    id: u32,
    #[index]
    branch: u8,
    balance: i64,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Entry {
    #[pk]
    id: u64,
    #[index]
    account: u32,
    amount: i64,
}

#[derive(Database)]
struct Bank {
    accounts: WorkTable<Account>,
    ledger: WorkTable<Entry>,
}

const ACCOUNTS: u32 = 4;
const START: i64 = 1_000;
const MODES: [PowerCut; 3] = [PowerCut::KeepSynced, PowerCut::Prefix, PowerCut::Scatter];

fn dir() -> &'static Path {
    Path::new("/disk/bank")
}

fn options() -> Options {
    // Checkpoints only when the test asks.
    Options::durability(Durability::Sync)
        .checkpoint_after_log_bytes(u64::MAX)
        .checkpoint_interval(None)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One transfer: (ledger id, from, to, amount).
type Transfer = (u64, u32, u32, i64);

/// What the workload has done, as a cut sees it.
#[derive(Clone, Debug, Default)]
struct Model {
    /// The accounts' seed transaction returned.
    seeded: bool,
    /// Transfers acknowledged.
    acked: Vec<Transfer>,
    /// The transfer in flight.
    in_flight: Option<Transfer>,
}

/// A disk left by a cut, and what must be on it.
struct Cut {
    at: String,
    mode: PowerCut,
    image: SimFs,
    model: Model,
}

#[test]
fn power_cuts_leave_whole_transactions() {
    let (count, every) = if campaign() { (60, 1) } else { (3, 3) };
    for seed in seeds(0xdb_0c07, count, count) {
        let _guard = SeedGuard {
            seed,
            test: "power_cuts_leave_whole_transactions",
            file: "db_power_loss",
        };
        let cuts = run(seed, every);
        assert!(cuts.len() > 50, "seed {seed}: only {} cuts", cuts.len());
        for cut in &cuts {
            if let Err(problem) = verify(cut) {
                panic!(
                    "seed {seed}, cut before `{}` ({:?}): {problem}",
                    cut.at, cut.mode
                );
            }
        }
    }
}

/// Runs the workload of `seed`, cutting before one file operation in
/// `every`; returns the cuts.
fn run(seed: u64, every: u64) -> Vec<Cut> {
    let disk = SimFs::new();
    let model = Arc::new(Mutex::new(Model::default()));
    let cuts = Arc::new(Mutex::new(Vec::new()));
    let rng = Arc::new(Mutex::new(Rng::new(seed)));
    let hook = {
        let (disk, model, cuts, rng) = (disk.clone(), model.clone(), cuts.clone(), rng.clone());
        Arc::new(move |op: TapOp<'_>| -> std::io::Result<()> {
            let mut rng = lock(&rng);
            if rng.below(every) == 0 {
                let model = lock(&model).clone();
                let mode = MODES[rng.below(3) as usize];
                cuts.lock().unwrap().push(Cut {
                    at: op.to_string(),
                    mode,
                    image: disk.power_cut(mode, rng.next_u64()),
                    model,
                });
            }
            Ok(())
        })
    };
    let tap = Tap::new(&disk, hook);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let bank = DurableDatabase::<Bank>::open_in(Arc::new(tap), dir(), options()).unwrap();
        bank.transaction(|tx| async move {
            for id in 0..ACCOUNTS {
                tx.accounts.insert(Account {
                    id,
                    branch: (id % 2) as u8,
                    balance: START,
                })?;
            }
            Ok::<_, TableError>(())
        })
        .await
        .unwrap();
        lock(&model).seeded = true;
        let mut workload = Rng::new(seed ^ 0x5eed);
        for n in 0..40u64 {
            let from = workload.below(u64::from(ACCOUNTS)) as u32;
            let to = (from + 1 + workload.below(u64::from(ACCOUNTS) - 1) as u32) % ACCOUNTS;
            let amount = 1 + workload.below(97) as i64;
            let transfer = (n, from, to, amount);
            lock(&model).in_flight = Some(transfer);
            bank.transaction(|tx| async move {
                tx.accounts.update_with(&from, |a| a.balance -= amount)?;
                tx.accounts.update_with(&to, |a| {
                    a.balance += amount;
                    a.branch = (n % 5) as u8;
                })?;
                tx.ledger.insert(Entry {
                    id: n,
                    account: from,
                    amount: -amount,
                })?;
                Ok::<_, TableError>(())
            })
            .await
            .unwrap();
            {
                let mut model = lock(&model);
                model.in_flight = None;
                model.acked.push(transfer);
            }
            if n % 8 == 7 {
                bank.checkpoint().await.unwrap();
            }
        }
        bank.close().await.unwrap();
    });
    std::mem::take(&mut *lock(&cuts))
}

/// Reopens the disk of `cut` and checks it against its model.
fn verify(cut: &Cut) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let bank = DurableDatabase::<Bank>::open_in(Arc::new(cut.image.clone()), dir(), options())
            .map_err(|error| format!("does not open: {error}"))?;
        let outcome = check(&bank, &cut.model);
        bank.close()
            .await
            .map_err(|error| format!("close: {error}"))?;
        outcome
    })
}

fn check(bank: &Bank, model: &Model) -> Result<(), String> {
    bank.accounts
        .check_integrity()
        .map_err(|error| format!("accounts: {error}"))?;
    bank.ledger
        .check_integrity()
        .map_err(|error| format!("ledger: {error}"))?;
    let accounts: BTreeMap<u32, Account> = bank.accounts.iter().map(|a| (a.id, a)).collect();
    if accounts.is_empty() {
        if model.seeded || !bank.ledger.is_empty() {
            return Err("the acknowledged accounts are gone".into());
        }
        return Ok(());
    }
    if accounts.len() != ACCOUNTS as usize {
        return Err(format!(
            "{} accounts: the seed applied in part",
            accounts.len()
        ));
    }
    let present: BTreeSet<u64> = bank.ledger.iter().map(|e| e.id).collect();
    let known: BTreeMap<u64, Transfer> = model
        .acked
        .iter()
        .chain(&model.in_flight)
        .map(|t| (t.0, *t))
        .collect();
    for (id, ..) in &model.acked {
        if !present.contains(id) {
            return Err(format!("acknowledged transfer {id} is missing"));
        }
    }
    let mut expected: BTreeMap<u32, i64> = (0..ACCOUNTS).map(|id| (id, START)).collect();
    for id in &present {
        let Some(&(_, from, to, amount)) = known.get(id) else {
            return Err(format!("transfer {id} was never begun"));
        };
        let entry = bank.ledger.get(id).expect("present");
        if (entry.account, entry.amount) != (from, -amount) {
            return Err(format!("transfer {id}'s entry is {entry:?}"));
        }
        *expected.get_mut(&from).unwrap() -= amount;
        *expected.get_mut(&to).unwrap() += amount;
    }
    for (id, balance) in expected {
        if accounts[&id].balance != balance {
            return Err(format!(
                "account {id} has {}, the present transfers make {balance}: a transfer applied in part",
                accounts[&id].balance
            ));
        }
    }
    for branch in 0..5u8 {
        let found = bank.accounts.find_by(Account::BRANCH, &branch).len();
        let rows = accounts.values().filter(|a| a.branch == branch).count();
        if found != rows {
            return Err(format!("branch {branch}: index finds {found}, rows {rows}"));
        }
    }
    Ok(())
}

/// A disk left by a cut while a confirmed stream was read, and the last
/// commit the stream had delivered by then.
struct ConfirmedCut {
    at: String,
    image: SimFs,
    delivered: u64,
}

#[test]
fn no_power_cut_loses_a_confirmed_commit() {
    let count = if campaign() { 40 } else { 3 };
    for seed in seeds(0xdb_c0f1, count, count) {
        let _guard = SeedGuard {
            seed,
            test: "no_power_cut_loses_a_confirmed_commit",
            file: "db_power_loss",
        };
        let (cuts, numbers) = run_confirmed(seed);
        assert!(
            cuts.iter().any(|cut| cut.delivered > 0),
            "seed {seed}: no cut after a delivery"
        );
        for cut in &cuts {
            let found = recovered_transfers(&cut.image);
            for (&number, id) in numbers.range(..=cut.delivered) {
                assert!(
                    found.contains(id),
                    "seed {seed}, cut before `{}`: commit {number} (transfer {id}) was \
                     delivered as confirmed, then lost",
                    cut.at
                );
            }
        }
    }
}

/// Runs transfers under `Periodic` with a confirmed consumer, cutting the
/// power before one file operation in four; returns the cuts and each
/// transfer's commit number.
fn run_confirmed(seed: u64) -> (Vec<ConfirmedCut>, BTreeMap<u64, u64>) {
    let disk = SimFs::new();
    let delivered = Arc::new(AtomicU64::new(0));
    let cuts = Arc::new(Mutex::new(Vec::new()));
    let rng = Arc::new(Mutex::new(Rng::new(seed)));
    let hook = {
        let (disk, delivered, cuts, rng) =
            (disk.clone(), delivered.clone(), cuts.clone(), rng.clone());
        Arc::new(move |op: TapOp<'_>| -> std::io::Result<()> {
            if op.kind == "sync_data" && op.name().starts_with("log-") {
                // Widens the window in which written records are not yet
                // synced: a stream that delivered them would be caught.
                std::thread::sleep(Duration::from_millis(1));
            }
            let mut rng = lock(&rng);
            if rng.below(4) == 0 {
                // Read before the copy: a delivery after the copy is not
                // this cut's to keep.
                let delivered = delivered.load(Ordering::SeqCst);
                let image = disk.power_cut(MODES[rng.below(3) as usize], rng.next_u64());
                lock(&cuts).push(ConfirmedCut {
                    at: op.to_string(),
                    image,
                    delivered,
                });
            }
            Ok(())
        })
    };
    let tap = Tap::new(&disk, hook);
    let options = Options::durability(Durability::Periodic(Duration::from_millis(1)))
        .checkpoint_after_log_bytes(u64::MAX)
        .checkpoint_interval(None);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let numbers = runtime.block_on(async {
        let bank =
            Arc::new(DurableDatabase::<Bank>::open_in(Arc::new(tap), dir(), options).unwrap());
        let consumer = {
            let (bank, delivered) = (bank.clone(), delivered.clone());
            tokio::spawn(async move {
                let mut confirmed = bank.subscribe_confirmed(0).unwrap();
                let mut pace = Rng::new(seed);
                loop {
                    // A consumer that comes back late reads what was
                    // written meanwhile, synced or not.
                    tokio::time::sleep(Duration::from_micros(pace.below(2_000))).await;
                    let Some(Ok(commit)) = confirmed.next().await else {
                        break;
                    };
                    delivered.store(commit.number, Ordering::SeqCst);
                }
            })
        };
        let mut numbers = BTreeMap::new();
        for n in 0..60u64 {
            bank.transaction(|tx| async move {
                tx.ledger.insert(Entry {
                    id: n,
                    account: 0,
                    amount: n as i64,
                })?;
                Ok::<_, TableError>(())
            })
            .await
            .unwrap();
            numbers.insert(bank.last_commit(), n);
            if n % 10 == 9 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        bank.close().await.unwrap();
        consumer.await.unwrap();
        numbers
    });
    (std::mem::take(&mut *lock(&cuts)), numbers)
}

/// The transfers a disk image holds, once reopened.
fn recovered_transfers(image: &SimFs) -> BTreeSet<u64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let bank = DurableDatabase::<Bank>::open_in(Arc::new(image.clone()), dir(), options())
            .expect("every image opens");
        let found = bank.ledger.iter().map(|entry| entry.id).collect();
        bank.close().await.unwrap();
        found
    })
}

/// Deterministic: a commit written to the log file but not synced
/// (`Durability::None` hands the log to the file every 100 ms without a
/// sync) is not delivered, and a power cut then takes it back.
#[test]
fn a_written_but_unsynced_commit_is_not_delivered() {
    let disk = SimFs::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let image = runtime.block_on(async {
        let options = Options::durability(Durability::None)
            .checkpoint_after_log_bytes(u64::MAX)
            .checkpoint_interval(None);
        let bank =
            DurableDatabase::<Bank>::open_in(Arc::new(disk.clone()), dir(), options).unwrap();
        for n in 0..3 {
            bank.ledger
                .insert(Entry {
                    id: n,
                    account: 0,
                    amount: 1,
                })
                .await
                .unwrap();
        }
        bank.wait_durable(3).await.unwrap();
        bank.ledger
            .insert(Entry {
                id: 3,
                account: 0,
                amount: 1,
            })
            .await
            .unwrap();
        // Written to the file (the 100 ms hand-off), not synced.
        let log = dir().join("log-00000000000000000001");
        let durable_len = disk.durable_file(&log).unwrap().len();
        while disk.file(&log).unwrap().len() == durable_len {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut confirmed = bank.subscribe_confirmed(0).unwrap();
        for number in 1..=3 {
            assert_eq!(confirmed.next().await.unwrap().unwrap().number, number);
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(100), confirmed.next())
                .await
                .is_err(),
            "commit 4 was delivered before it was synced"
        );
        // A power cut now would take it back (checked below).
        let image = disk.power_cut(PowerCut::KeepSynced, 1);
        // Once synced it is delivered.
        bank.wait_durable(4).await.unwrap();
        assert_eq!(confirmed.next().await.unwrap().unwrap().number, 4);
        bank.close().await.unwrap();
        image
    });
    assert_eq!(
        recovered_transfers(&image),
        BTreeSet::from([0, 1, 2]),
        "the premise: commit 4 was not durable when it was held back"
    );
}
