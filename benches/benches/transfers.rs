//! A transaction against its baselines: a transfer
//! between two accounts plus a ledger row (two updates and one insert over
//! two tables), 1 and 2 threads, each thread moving money between random
//! accounts of 10,000.
//!
//! - `worktable_single_calls`: the three writes as three calls on the
//!   tables of one `#[derive(Database)]`, without atomicity (what a user
//!   writes today; the transaction's target is at most 1.5× its time);
//! - `mutex_maps`: one `Mutex` around a `HashMap` of accounts and a `Vec`
//!   ledger, kept by hand;
//! - `sqlite`: SQLite in memory, `BEGIN … COMMIT` around the three
//!   statements (prepared, cached), one connection behind a `Mutex` (the
//!   transaction's target is at least 5× its throughput).
//!
//! - `worktable_transaction`: the three writes in one transaction of the
//!   database (`bank.transaction(...)`), atomic and serializable, retried
//!   on conflict.
//!
//! Reported as throughput (elements = transfers).
//!
//! `cargo bench -p worktable-benches --bench transfers`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rusqlite::{Connection, params};
use worktable_benches::{block_on, mix, timed_on_threads};
use worktable_core::prelude::*;

const ACCOUNTS: u32 = 10_000;
const SEED: u64 = 0x7a5f;
/// Transfers per thread per measured iteration.
const BATCH: u64 = 2_000;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Account {
    #[pk]
    id: u32,
    balance: i64,
    last_transfer: u64,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Entry {
    #[pk(autoincrement)]
    id: u64,
    from: u32,
    to: u32,
    amount: i64,
    transfer: u64,
}

#[derive(Database)]
struct Bank {
    accounts: WorkTable<Account>,
    ledger: WorkTable<Entry>,
}

/// The `op`-th transfer of `thread` in `iteration`: two distinct accounts
/// and the transfer's id.
fn transfer(thread: u64, iteration: u64, op: u64) -> (u32, u32, u64) {
    let id = (thread << 48) | (iteration << 24) | op;
    let r = mix(SEED ^ id);
    let from = (r % u64::from(ACCOUNTS)) as u32;
    let to = (from + 1 + ((r >> 32) % u64::from(ACCOUNTS - 1)) as u32) % ACCOUNTS;
    (from, to, id)
}

fn bank() -> Bank {
    let bank = Bank::new();
    for id in 0..ACCOUNTS {
        block_on(bank.accounts.insert(Account {
            id,
            balance: 1_000,
            last_transfer: 0,
        }))
        .expect("a fresh account");
    }
    bank
}

fn single_calls(bank: &Bank, thread: u64, iteration: u64) {
    for op in 0..BATCH {
        let (from, to, id) = transfer(thread, iteration, op);
        block_on(async {
            bank.accounts
                .update_with(&from, |a| {
                    a.balance -= 1;
                    a.last_transfer = id;
                })
                .await?;
            bank.accounts
                .update_with(&to, |a| {
                    a.balance += 1;
                    a.last_transfer = id;
                })
                .await?;
            bank.ledger
                .insert(Entry {
                    id: 0,
                    from,
                    to,
                    amount: 1,
                    transfer: id,
                })
                .await
        })
        .expect("a transfer between existing accounts");
    }
}

/// The same three writes in one transaction (retried on conflict).
fn transactions(bank: &Bank, thread: u64, iteration: u64) {
    for op in 0..BATCH {
        let (from, to, id) = transfer(thread, iteration, op);
        block_on(bank.transaction(|tx| async move {
            tx.accounts.update_with(&from, |a| {
                a.balance -= 1;
                a.last_transfer = id;
            })?;
            tx.accounts.update_with(&to, |a| {
                a.balance += 1;
                a.last_transfer = id;
            })?;
            tx.ledger.insert(Entry {
                id: 0,
                from,
                to,
                amount: 1,
                transfer: id,
            })
        }))
        .expect("a transfer between existing accounts");
    }
}

/// Accounts and ledger kept by hand under one lock.
struct MutexMaps(Mutex<(HashMap<u32, Account>, Vec<Entry>)>);

impl MutexMaps {
    fn new() -> Self {
        let accounts = (0..ACCOUNTS)
            .map(|id| {
                let account = Account {
                    id,
                    balance: 1_000,
                    last_transfer: 0,
                };
                (id, account)
            })
            .collect();
        Self(Mutex::new((accounts, Vec::new())))
    }

    fn run(&self, thread: u64, iteration: u64) {
        for op in 0..BATCH {
            let (from, to, id) = transfer(thread, iteration, op);
            let mut guard = self.0.lock().expect("no panic while held");
            let (accounts, ledger) = &mut *guard;
            let debit = accounts.get_mut(&from).expect("an account");
            debit.balance -= 1;
            debit.last_transfer = id;
            let credit = accounts.get_mut(&to).expect("an account");
            credit.balance += 1;
            credit.last_transfer = id;
            let next = ledger.len() as u64 + 1;
            ledger.push(Entry {
                id: next,
                from,
                to,
                amount: 1,
                transfer: id,
            });
        }
    }
}

/// SQLite in memory, one connection shared under a lock.
struct Sqlite(Mutex<Connection>);

impl Sqlite {
    fn new() -> Self {
        let connection = Connection::open_in_memory().expect("an in-memory database");
        connection
            .execute_batch(
                "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, last_transfer INTEGER NOT NULL);
                 CREATE TABLE ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, from_id INTEGER NOT NULL, to_id INTEGER NOT NULL, amount INTEGER NOT NULL, transfer INTEGER NOT NULL);",
            )
            .expect("the schema");
        {
            let mut insert = connection
                .prepare("INSERT INTO accounts VALUES (?1, 1000, 0)")
                .expect("a statement");
            for id in 0..ACCOUNTS {
                insert.execute(params![id]).expect("a fresh account");
            }
        }
        Self(Mutex::new(connection))
    }

    fn run(&self, thread: u64, iteration: u64) {
        for op in 0..BATCH {
            let (from, to, id) = transfer(thread, iteration, op);
            let connection = self.0.lock().expect("no panic while held");
            let outcome: rusqlite::Result<()> = (|| {
                connection.prepare_cached("BEGIN")?.execute([])?;
                let mut update = connection.prepare_cached(
                    "UPDATE accounts SET balance = balance + ?2, last_transfer = ?3 WHERE id = ?1",
                )?;
                update.execute(params![from, -1, id as i64])?;
                update.execute(params![to, 1, id as i64])?;
                connection
                    .prepare_cached(
                        "INSERT INTO ledger (from_id, to_id, amount, transfer) VALUES (?1, ?2, 1, ?3)",
                    )?
                    .execute(params![from, to, id as i64])?;
                connection.prepare_cached("COMMIT")?.execute([])?;
                Ok(())
            })();
            outcome.expect("a transfer");
        }
    }
}

fn transfers(c: &mut Criterion) {
    let bank = bank();
    let maps = MutexMaps::new();
    let sqlite = Sqlite::new();
    for threads in [1u64, 2] {
        let mut group = c.benchmark_group(format!("transfer_{threads}_threads"));
        group.throughput(Throughput::Elements(threads * BATCH));
        group.bench_function("worktable_single_calls", |b| {
            b.iter_custom(|iters| {
                timed_on_threads(threads, iters, |t, i| single_calls(&bank, t, i))
            });
        });
        group.bench_function("worktable_transaction", |b| {
            b.iter_custom(|iters| {
                timed_on_threads(threads, iters, |t, i| transactions(&bank, t, i))
            });
        });
        group.bench_function("mutex_maps", |b| {
            b.iter_custom(|iters| timed_on_threads(threads, iters, |t, i| maps.run(t, i)));
        });
        group.bench_function("sqlite", |b| {
            b.iter_custom(|iters| timed_on_threads(threads, iters, |t, i| sqlite.run(t, i)));
        });
        group.finish();
    }
    black_box((bank.ledger.len(), maps.0.lock().map(|g| g.1.len()).ok()));
}

criterion_group!(benches, transfers);
criterion_main!(benches);
