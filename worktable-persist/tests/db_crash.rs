//! Crash test of a [`DurableDatabase`] with real processes: a child process
//! moves money between accounts with transactions over two tables (the
//! accounts and a ledger) under `Durability::Sync` and reports every
//! acknowledged transaction; the parent kills it (`SIGKILL` on Unix) at a
//! random moment, recovers the database and checks that every transaction
//! is there whole or not at all, that every acknowledged one is there, that
//! nothing never committed appears, and that every index agrees with the
//! rows. Then the next child continues from the recovered database.
//!
//! The child is this test binary run again, executing only
//! [`db_crash_child`] (see `db_crash/child.rs`; the line protocol is in
//! `db_crash/protocol.rs`, the database in `db_crash/bank.rs`, the checks
//! in `db_crash/model.rs`). Each iteration:
//!
//! 1. Spawn the child on the database directory. It opens the database,
//!    checks its indexes against its rows, prints every recovered account
//!    and ledger entry, then `recovered`. If the database is empty it
//!    inserts the [`ACCOUNTS`](bank::ACCOUNTS) accounts (balance 1000
//!    each) in one transaction, announced by `seeding` and confirmed by
//!    `seeded`. Then `ready`, and 4 writer tasks each loop on transfers:
//!    `begin <txid> <from> <to> <amount> <branch>`, then one transaction
//!    that takes `amount` (1..=97) from `from`, gives it to `to`, one time
//!    in eight also changes `to`'s indexed `branch`, and books a ledger
//!    entry keyed by the transaction id; then `ack <txid>` (durable), or
//!    `fail <txid>` if it gave up on conflicts (nothing written). Ids are
//!    `run << 40 | writer << 32 | counter`: unique over the campaign.
//! 2. Kill it: usually a random 2–80 ms after `ready`; one time in five at
//!    a random moment between its start and about when it is usually
//!    ready (while it starts, opens or recovers); while the database is
//!    not seeded, one time in two 0–1 ms after `seeding` (inside the
//!    seeding transaction).
//! 3. Take in its output (everything printed before the kill happened).
//!    Its recovered contents are an observation, checked as below; its
//!    transfers are the ones the next observation decides.
//! 4. Two times in three (and after the last kill), reopen the directory
//!    here, check it with indexes ([`bank::check_database`]) and as an
//!    observation, and close it; otherwise the next child recovers the
//!    killed directory itself, so kills also land on a recovery of a torn
//!    log, and its printed contents are the observation.
//!
//! An observation ([`model::Model::observe`]) checks, against the contents
//! verified at the previous one and the transfers begun since (a transfer
//! is *present* if its ledger entry is):
//!
//! - the accounts are all 16 or none (the seeding transaction is atomic),
//!   none only if the seeding was never acknowledged;
//! - every acknowledged transfer is present, no failed one is, every
//!   present entry was begun and books exactly the begun account and
//!   amount, every verified entry is still there unchanged;
//! - every account's balance is its verified balance minus the amounts
//!   of the present transfers from it plus those to it — a transfer
//!   applied in part breaks this equation, as every amount differs;
//! - every account's branch is the one set by the last present
//!   branch-changing transfer to it, or, where the order is not known (a
//!   transfer acknowledged before another's `begin` is known to come
//!   before it), by one not known to precede another; the verified branch
//!   if none is present;
//! - the balances add up to 16 × 1000.
//!
//! The index checks (`check_integrity` of both tables, `get_by` on the
//! unique owner, `find_by` on every branch value and every account's
//! ledger entries) run on every recovery: in the child before it prints,
//! in the parent on a reopen.
//!
//! Every wait has a timeout (a child's `ready`, the parent's reopen and
//! close), and a child is killed when its handle drops, so a failure or a
//! hang ends the test without leaving a process behind.
//!
//! Only the public API is used (`open`, `close`, the tables and
//! `transaction` the database dereferences to), never file names.
//!
//! Runs [`DEFAULT_KILLS`] kills; `WORKTABLE_DB_CRASH_KILLS=500` runs a
//! campaign, best with `--release`. The seed is printed (run with
//! `--nocapture` to see it when the test passes) and
//! `WORKTABLE_DB_CRASH_SEED=<seed>` replays the same choices (the
//! transfers and kill delays; thread timing still varies).

mod killed_child;

mod db_crash {
    pub(crate) mod bank;
    pub(crate) mod child;
    pub(crate) mod model;
    pub(crate) mod protocol;
}

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use worktable_persist::{Durability, DurableDatabase, Options};

use bank::{Bank, Contents};
use db_crash::{bank, child, model, protocol};
use killed_child::{KilledChild, Rng, Seen, clock_seed, env_u64};
use model::Model;
use protocol::{Line, Message, parse_line};

/// Kills in the normal test run.
const DEFAULT_KILLS: u64 = 20;

/// Number of kills (default [`DEFAULT_KILLS`]).
const KILLS_ENV: &str = "WORKTABLE_DB_CRASH_KILLS";

/// Seed to replay (default: from the clock).
const SEED_ENV: &str = "WORKTABLE_DB_CRASH_SEED";

/// How long a child may take to report `ready` (or `seeding`).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the parent's reopen, check and close may take.
const REOPEN_TIMEOUT: Duration = Duration::from_secs(60);

/// The options both processes open the database with.
pub(crate) fn db_options() -> Options {
    // Checkpoints every 16 KiB of log and every 20 ms, so that kills also
    // land during a checkpoint, a log rotation and the clean-up after one,
    // and recovery starts from checkpoints.
    Options::durability(Durability::Sync)
        .checkpoint_after_log_bytes(16 << 10)
        .checkpoint_interval(Some(Duration::from_millis(20)))
}

/// Not a test on its own: the child's role when run by
/// [`sigkilled_transfers_are_all_or_nothing`] (with `child::DIR_ENV`
/// set). Returns at once otherwise.
#[test]
fn db_crash_child() {
    child::run_if_child();
}

/// When an iteration kills its child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KillAt {
    /// At a random moment before it is usually ready.
    Early,
    /// Soon after `seeding`.
    Seeding,
    /// 2–80 ms after `ready`.
    Writing,
}

#[test]
fn sigkilled_transfers_are_all_or_nothing() {
    let kills = env_u64(KILLS_ENV).unwrap_or(DEFAULT_KILLS);
    let seed = env_u64(SEED_ENV).unwrap_or_else(clock_seed);
    println!("db_crash: seed {seed}, {kills} kills (replay with {SEED_ENV}={seed})");
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut rng = Rng::new(seed);
    let mut model = Model::default();
    // Spawn to `ready`, as last measured: the window for early kills.
    let mut time_to_ready = Duration::from_millis(30);
    let (mut early_kills, mut seeding_kills, mut before_ready, mut reopens) = (0, 0, 0, 0);

    for iteration in 0..kills {
        let run = iteration + 1;
        let fail = |what: String| -> ! {
            panic!(
                "db crash test failed at kill {iteration} of {kills} \
                 (replay with {SEED_ENV}={seed}): {what}"
            )
        };
        let kill_at = if !model.seeded() && rng.chance(1, 2) {
            KillAt::Seeding
        } else if rng.chance(1, 5) {
            KillAt::Early
        } else {
            KillAt::Writing
        };
        let mut writer = start_child(dir.path(), seed, run);
        let waited = match kill_at {
            KillAt::Early => {
                early_kills += 1;
                let window = (time_to_ready.as_micros() as u64) * 5 / 4;
                std::thread::sleep(Duration::from_micros(rng.below(window + 1)));
                Ok(())
            }
            KillAt::Seeding => {
                seeding_kills += 1;
                let delay = Duration::from_micros(rng.below(1_001));
                writer
                    .wait_for("`seeding` or `ready`", READY_TIMEOUT, |line| {
                        seen(line, |message| {
                            matches!(message, Message::Seeding | Message::Ready)
                        })
                    })
                    .map(|_| std::thread::sleep(delay))
            }
            KillAt::Writing => {
                let delay = Duration::from_millis(2 + rng.below(79));
                writer
                    .wait_for("`ready`", READY_TIMEOUT, |line| {
                        seen(line, |message| matches!(message, Message::Ready))
                    })
                    .map(|took| {
                        time_to_ready = took;
                        std::thread::sleep(delay);
                    })
            }
        };
        let (lines, exited) = writer.kill(is_error);
        // The model's verdict first: it tells more than the child's exit.
        let outcome = model
            .apply_run(run, &lines)
            .unwrap_or_else(|err| fail(format!("child {run}: {err}")));
        if let Err(err) = waited.and(exited) {
            fail(format!("child {run}: {err}"));
        }
        if !outcome.ready {
            before_ready += 1;
        }

        if iteration + 1 == kills || rng.chance(2, 3) {
            reopens += 1;
            let found = reopen_and_check(dir.path()).unwrap_or_else(|err| fail(err));
            model
                .observe(&found, "the reopened database")
                .unwrap_or_else(|err| fail(err));
        }
    }

    let counts = model.counts;
    println!(
        "db_crash: {kills} kills ({early_kills} aimed before `ready`, {seeding_kills} at the \
         seeding, {before_ready} landed before `ready`); {} acknowledged transfers, {} gave up \
         on conflicts; in flight at a kill: {} found applied, {} not applied; seedings in \
         flight at a kill: {} applied, {} not; {} observations checked ({reopens} reopens), \
         {} ledger entries at the end, {:.1?}",
        counts.acked,
        counts.failed,
        counts.applied,
        counts.not_applied,
        counts.seeding_applied,
        counts.seeding_not_applied,
        counts.observations,
        model.entries(),
        started.elapsed()
    );
}

/// Opens the database in `dir`, checks it with its indexes and closes it
/// (which checkpoints it), on a thread of its own so that a hang fails the
/// test after [`REOPEN_TIMEOUT`]. Returns its contents.
fn reopen_and_check(dir: &Path) -> Result<Contents, String> {
    let dir = dir.to_owned();
    let (tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(reopen(&dir));
    });
    match done.recv_timeout(REOPEN_TIMEOUT) {
        Ok(result) => result,
        Err(RecvTimeoutError::Timeout) => Err(format!(
            "reopening, checking and closing took more than {REOPEN_TIMEOUT:?}"
        )),
        Err(RecvTimeoutError::Disconnected) => {
            Err("reopening, checking or closing panicked (see above)".to_owned())
        }
    }
}

fn reopen(dir: &Path) -> Result<Contents, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|err| format!("a runtime: {err}"))?;
    let bank = DurableDatabase::<Bank>::open(dir, db_options())
        .map_err(|err| format!("reopening failed: {err:?}"))?;
    let found =
        bank::check_database(&bank).map_err(|err| format!("the reopened database: {err}"))?;
    runtime
        .block_on(bank.close())
        .map_err(|err| format!("closing failed: {err:?}"))?;
    Ok(found)
}

/// Starts a child on `dir` for the run `run` of the campaign `seed`.
fn start_child(dir: &Path, seed: u64, run: u64) -> KilledChild {
    let run = format!("{seed} {run}");
    KilledChild::start(
        "db_crash_child",
        &[
            (child::DIR_ENV, dir.as_os_str()),
            (child::RUN_ENV, run.as_ref()),
        ],
    )
}

/// What the child's `line` says to a parent waiting for a message
/// `wanted` accepts.
fn seen(line: &str, wanted: impl Fn(&Message) -> bool) -> Seen {
    match parse_line(line) {
        Line::Message(Message::Error(message)) => Seen::Failed(message),
        Line::Message(message) if wanted(&message) => Seen::Wanted,
        _ => Seen::Other,
    }
}

/// Whether the child's `line` reports a failure.
fn is_error(line: &str) -> bool {
    matches!(parse_line(line), Line::Message(Message::Error(_)))
}
