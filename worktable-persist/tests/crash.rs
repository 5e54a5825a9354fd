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

mod crash {
    pub(crate) mod child;
    pub(crate) mod model;
    pub(crate) mod protocol;
    pub(crate) mod rows;
}

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use worktable_persist::{Durability, Options, PersistentTable};

use crash::{child, model, protocol, rows};
use model::Model;
use protocol::{Line, Message, parse_line};
use rows::{CrashRow, Rng};

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
        let mut writer = Writer::start(dir.path(), seed, iteration + 1);
        if early {
            early_kills += 1;
            let window = (time_to_ready.as_micros() as u64) * 5 / 4;
            std::thread::sleep(Duration::from_micros(rng.below(window + 1)));
        } else {
            time_to_ready = writer.wait_ready().unwrap_or_else(|err| fail(err));
            std::thread::sleep(Duration::from_millis(2 + rng.below(79)));
        }
        let lines = writer.kill().unwrap_or_else(|err| fail(err));
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

/// A `u64` from the environment, if the variable is set.
fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {value:?}")),
    )
}

fn clock_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    Rng::new(nanos ^ u64::from(std::process::id())).next_u64()
}

/// A running child, with its output read on a thread. Dropping it kills
/// and reaps the child if it still runs, so a failing test leaves no
/// process behind.
struct Writer {
    child: Child,
    /// Held until the child is reaped: the child exits when it closes.
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
    /// The lines received so far.
    output: Vec<String>,
    started: Instant,
}

impl Writer {
    /// Starts a child on `dir` for the run `epoch` of the campaign `seed`.
    fn start(dir: &Path, seed: u64, epoch: u64) -> Self {
        let started = Instant::now();
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(child::DIR_ENV, dir)
            .env(child::RUN_ENV, format!("{seed} {epoch}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the test binary runs again as the child");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("the child's stdout");
        // The thread reads until the child's stdout closes (at its death),
        // so every line it printed before the kill arrives.
        let (tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
            reader: Some(reader),
            output: Vec::new(),
            started,
        }
    }

    /// Waits until the child reports `ready`; returns how long it took
    /// since the start.
    fn wait_ready(&mut self) -> Result<Duration, String> {
        let deadline = self.started + READY_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let parsed = parse_line(&line);
                    self.output.push(line);
                    match parsed {
                        Line::Message(Message::Ready { .. }) => return Ok(self.started.elapsed()),
                        Line::Message(Message::Error(message)) => {
                            return Err(format!("the child failed: {message}"));
                        }
                        _ => {}
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "the child was not ready within {READY_TIMEOUT:?}; its output: {:?}",
                        self.output
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    return Err(format!(
                        "the child ended ({status:?}) before it was ready; its output: {:?}",
                        self.output
                    ));
                }
            }
        }
    }

    /// Kills the child, waits for it and returns everything it printed. An
    /// error if it had exited by itself (it only does on failure).
    fn kill(mut self) -> Result<Vec<String>, String> {
        // Killing a child that already exited (and is not yet reaped)
        // succeeds too; its exit status tells.
        self.child.kill().map_err(|err| format!("kill: {err}"))?;
        let status = self
            .child
            .wait()
            .map_err(|err| format!("waiting for the child: {err}"))?;
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.stdin = None;
        let mut output = std::mem::take(&mut self.output);
        output.extend(self.lines.try_iter());
        if status.code().is_some() {
            let errors: Vec<&String> = output
                .iter()
                .filter(|line| matches!(parse_line(line), Line::Message(Message::Error(_))))
                .collect();
            return Err(format!(
                "the child exited by itself ({status}) before the kill: {errors:?}"
            ));
        }
        Ok(output)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
