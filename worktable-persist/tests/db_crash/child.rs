//! The child role: this test binary run again (see `Child::start` in the
//! parent) to open the database, report what it recovered, seed it if it
//! is empty, and transfer money until it is killed.
//!
//! Each transfer is announced by a `begin` line before its transaction
//! starts and confirmed by an `ack` line once it returned `Ok` (with
//! `Durability::Sync`: once the log holds the whole commit, synced), or a
//! `fail` line if it gave up on conflicts (nothing written). Any other
//! error ends the child with an `error` line and a non-zero exit status.

use std::error::Error;
use std::fmt::Display;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use worktable_core::TxError;
use worktable_core::prelude::*;
use worktable_persist::DurableDatabase;

use crate::bank::{
    ACCOUNTS, Bank, Entry, MAX_AMOUNT, Rng, WRITERS, branch_of, check_database, owner,
    seed_account, txid,
};
use crate::protocol::{Message, Transfer};

/// Set (to the database directory) to make [`run_if_child`] the child.
pub(crate) const DIR_ENV: &str = "WORKTABLE_DB_CRASH_CHILD_DIR";

/// The campaign's seed and the run number, as `<seed> <run>`. The run
/// number (the parent's iteration plus one) is in every transaction id
/// the child makes, so ids never repeat across children.
pub(crate) const RUN_ENV: &str = "WORKTABLE_DB_CRASH_CHILD_RUN";

/// Runs the child if [`DIR_ENV`] is set, and never returns then; returns
/// at once otherwise.
pub(crate) fn run_if_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let spec = std::env::var(RUN_ENV).unwrap_or_default();
    let mut words = spec.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(seed)), Some(Ok(run_number))) = (words.next(), words.next()) else {
        fail(format!("{RUN_ENV} is not `<seed> <run>`: {spec:?}"));
    };
    run(Path::new(&dir), seed, run_number)
}

/// Prints one message as one line, written and flushed at once under the
/// stdout lock (so lines of different tasks never interleave): the parent
/// counts everything printed before the kill as done, in this order.
fn say(message: &Message) {
    let line = format!("{message}\n");
    let mut stdout = io::stdout().lock();
    if stdout
        .write_all(line.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        // The parent is gone: nobody is counting.
        std::process::exit(2);
    }
}

/// Reports `message` (on one line) and exits with a failure status.
fn fail(message: impl Display) -> ! {
    let message = message.to_string().replace('\n', " ");
    say(&Message::Error(message));
    std::process::exit(1)
}

/// An error and its sources, on one line.
fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn run(dir: &Path, seed: u64, run_number: u64) -> ! {
    // Exit once the parent's end of stdin closes, so a parent that fails
    // without killing its child leaves no writer behind.
    std::thread::spawn(|| {
        let _ = io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(3);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap_or_else(|err| fail(format!("runtime: {err}")));
    let bank = DurableDatabase::<Bank>::open(dir, crate::db_options())
        .unwrap_or_else(|err| fail(format!("open: {}", chain(&err))));

    let contents =
        check_database(&bank).unwrap_or_else(|err| fail(format!("the recovered database: {err}")));
    for (&id, account) in &contents.accounts {
        say(&Message::Account {
            id,
            balance: account.balance,
            branch: account.branch,
            owner: owner(id),
        });
    }
    for (&txid, entry) in &contents.ledger {
        say(&Message::Entry {
            txid,
            account: entry.account,
            amount: entry.amount,
        });
    }
    say(&Message::Recovered {
        accounts: contents.accounts.len(),
        entries: contents.ledger.len(),
    });

    let bank = Arc::new(bank);
    runtime.block_on(async move {
        if contents.accounts.is_empty() {
            say(&Message::Seeding);
            bank.transaction(|tx| async move {
                for id in 0..ACCOUNTS {
                    tx.accounts.insert(seed_account(id))?;
                }
                Ok::<_, TableError>(())
            })
            .await
            .unwrap_or_else(|err| fail(format!("seeding: {}", chain(&err))));
            say(&Message::Seeded);
        } else if contents.accounts.len() != ACCOUNTS as usize {
            fail(format!(
                "recovered {} accounts, neither none nor all {ACCOUNTS}",
                contents.accounts.len()
            ));
        }
        say(&Message::Ready);

        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let rng = Rng::derive(seed, run_number * WRITERS + writer);
                tokio::spawn(transfer_forever(Arc::clone(&bank), run_number, writer, rng))
            })
            .collect();
        for writer in writers {
            if let Err(err) = writer.await {
                fail(format!("a writer task ended: {err}"));
            }
        }
    });
    fail("the writer tasks stopped")
}

/// One writer task: random transfers, one at a time.
async fn transfer_forever(
    bank: Arc<DurableDatabase<Bank>>,
    run_number: u64,
    writer: u64,
    mut rng: Rng,
) {
    for counter in 0.. {
        let txid = txid(run_number, writer, counter);
        let from = rng.below(u64::from(ACCOUNTS)) as u32;
        let to = (from + 1 + rng.below(u64::from(ACCOUNTS) - 1) as u32) % ACCOUNTS;
        let amount = 1 + rng.below(MAX_AMOUNT as u64) as i64;
        let branch = rng.chance(1, 8).then(|| branch_of(txid));
        say(&Message::Begin(Transfer {
            txid,
            from,
            to,
            amount,
            branch,
        }));
        let done = bank
            .transaction(|tx| async move {
                tx.accounts.update_with(&from, |a| a.balance -= amount)?;
                tx.accounts.update_with(&to, |a| {
                    a.balance += amount;
                    if let Some(branch) = branch {
                        a.branch = branch;
                    }
                })?;
                tx.ledger.insert(Entry {
                    id: txid,
                    account: from,
                    amount: -amount,
                })?;
                Ok::<_, TableError>(())
            })
            .await;
        match done {
            Ok(()) => say(&Message::Ack { txid }),
            Err(TxError::Conflict { .. }) => say(&Message::Fail { txid }),
            Err(err) => fail(format!(
                "writer {writer}: transfer {txid} of {amount} from {from} to {to}: {}",
                chain(&err)
            )),
        }
    }
}
