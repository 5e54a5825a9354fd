//! Crash test with real processes: a child process writes to a durable
//! table with `Durability::Sync` and reports every acknowledged write; the
//! parent kills it (`SIGKILL` on Unix) at a random moment, recovers the
//! table and checks that every acknowledged write survived with its exact
//! content, that nothing never written appears, and that every index agrees
//! with the rows. Then the next child continues from the recovered table.
//!
//! The child is this test binary run again, executing only [`crash_child`]
//! (see `crash/child.rs`; the line protocol is in `crash/protocol.rs`).
//! Each iteration:
//!
//! 1. Spawn the child on the table directory. It opens the table, prints
//!    every recovered row and `ready`, then runs 4 writer tasks on disjoint
//!    ids, printing `begin` before each write and `ack` once it returned.
//! 2. Kill it: usually a random 2–80 ms after `ready`; one time in five at
//!    a random moment between its start and about when it is usually ready
//!    (while it starts, opens, replays or truncates a torn tail).
//! 3. Take in its output (everything printed before the kill happened): the
//!    recovered rows it printed are checked against the model; acknowledged
//!    writes are certain; the one write in flight per task may or may not
//!    have been kept.
//! 4. Two times in three (and after the last kill), reopen the directory
//!    here and check it with indexes ([`model::check_table`]) against the
//!    model; otherwise the next child recovers the killed directory itself,
//!    so kills also land on a recovery of a torn log. Either way the
//!    recovered table's `last_seq()` must continue the history: at least
//!    the last one seen plus the writes acknowledged since, at most plus
//!    the writes begun since (the closes in between add none).
//!
//! Only the public API is used (`open`, `close`, the `WorkTable` it
//! dereferences to), never file names: the directory's format may change.
//!
//! Runs [`DEFAULT_KILLS`] kills; `WORKTABLE_CRASH_KILLS=500` runs a
//! campaign, best with `--release` (a debug build is several times
//! slower). The seed is printed (run with `--nocapture` to see it when the
//! test passes) and `WORKTABLE_CRASH_SEED=<seed>` replays the same choices
//! (the operations and kill delays; thread timing still varies).

mod killed_child;

mod crash {
    pub(crate) mod child;
    pub(crate) mod model;
    pub(crate) mod protocol;
    pub(crate) mod rows;
}

use std::path::Path;
use std::time::{Duration, Instant};

use worktable_persist::{Durability, Options, PersistentTable};

use crash::{child, model, protocol, rows};
use killed_child::{KilledChild, Rng, Seen, clock_seed, env_u64};
use model::Model;
use protocol::{Line, Message, parse_line};
use rows::CrashRow;

/// Kills in the normal test run.
const DEFAULT_KILLS: u64 = 20;

/// Number of kills (default [`DEFAULT_KILLS`]).
const KILLS_ENV: &str = "WORKTABLE_CRASH_KILLS";

/// Seed to replay (default: from the clock).
const SEED_ENV: &str = "WORKTABLE_CRASH_SEED";

/// How long a child may take to report `ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The options both processes open the table with.
pub(crate) fn table_options() -> Options {
    // Checkpoints every 16 KiB of log (a few hundred writes) and every
    // 20 ms, so that kills also land during a checkpoint, a log rotation
    // and the clean-up after one, and recovery starts from checkpoints.
    Options::durability(Durability::Sync)
        .checkpoint_after_log_bytes(16 << 10)
        .checkpoint_interval(Some(Duration::from_millis(20)))
}

/// Not a test on its own: the child's role when run by
/// [`sigkilled_writers_lose_no_acknowledged_write`] (with
/// `child::DIR_ENV` set). Returns at once otherwise.
#[test]
fn crash_child() {
    child::run_if_child();
}

#[test]
fn sigkilled_writers_lose_no_acknowledged_write() {
    let kills = env_u64(KILLS_ENV).unwrap_or(DEFAULT_KILLS);
    let seed = env_u64(SEED_ENV).unwrap_or_else(clock_seed);
    println!("crash: seed {seed}, {kills} kills (replay with {SEED_ENV}={seed})");
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut rng = Rng::new(seed);
    let mut model = Model::default();
    // Spawn to `ready`, as last measured: the window for early kills.
    let mut time_to_ready = Duration::from_millis(30);
    let (mut early_kills, mut before_ready, mut reopens) = (0, 0, 0);

    for iteration in 0..kills {
        let fail = |what: String| -> ! {
            panic!(
                "crash test failed at kill {iteration} of {kills} \
                 (replay with {SEED_ENV}={seed}): {what}"
            )
        };
        let early = iteration > 0 && rng.chance(1, 5);
        let mut writer = start_child(dir.path(), seed, iteration + 1);
        if early {
            early_kills += 1;
            let window = (time_to_ready.as_micros() as u64) * 5 / 4;
            std::thread::sleep(Duration::from_micros(rng.below(window + 1)));
        } else {
            time_to_ready = writer
                .wait_for("`ready`", READY_TIMEOUT, |line| {
                    seen(line, |message| matches!(message, Message::Ready { .. }))
                })
                .unwrap_or_else(|err| fail(err));
            std::thread::sleep(Duration::from_millis(2 + rng.below(79)));
        }
        let (lines, exited) = writer.kill(is_error);
        exited.unwrap_or_else(|err| fail(err));
        if !model.apply_run(&lines).unwrap_or_else(|err| fail(err)) {
            before_ready += 1;
        }

        if iteration + 1 == kills || rng.chance(2, 3) {
            reopens += 1;
            let table = PersistentTable::<CrashRow>::open(dir.path(), table_options())
                .unwrap_or_else(|err| fail(format!("reopening failed: {err:?}")));
            let found = model::check_table(&table)
                .unwrap_or_else(|err| fail(format!("the reopened table: {err}")));
            model
                .observe(&found, "the rows after reopening")
                .unwrap_or_else(|err| fail(err));
            model
                .observe_seq(table.last_seq(), "the reopened table")
                .unwrap_or_else(|err| fail(err));
            runtime
                .block_on(table.close())
                .unwrap_or_else(|err| fail(format!("closing failed: {err:?}")));
        }
    }

    let counts = model.counts;
    println!(
        "crash: {kills} kills ({early_kills} aimed before `ready`, {before_ready} landed before it), {} acknowledged \
         writes, writes in flight at a kill: {} found applied, {} not applied; {reopens} \
         checked reopens, {} rows at the end, {:.1?}",
        counts.acked,
        counts.applied,
        counts.not_applied,
        model.rows(),
        started.elapsed()
    );
}

/// Starts a child on `dir` for the run `epoch` of the campaign `seed`.
fn start_child(dir: &Path, seed: u64, epoch: u64) -> KilledChild {
    let run = format!("{seed} {epoch}");
    KilledChild::start(
        "crash_child",
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
