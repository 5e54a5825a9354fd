//! What the two SIGKILL campaigns (`crash.rs` for a durable table,
//! `db_crash.rs` for a durable database) share: the test binary run again
//! as a child whose output is read line by line on a thread and which is
//! killed at a chosen moment ([`KilledChild`]), the seeded generator both
//! processes draw their choices from ([`Rng`]), and the campaign's
//! settings from the environment ([`env_u64`], [`clock_seed`]).

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What [`KilledChild::wait_for`] makes of a line of the child's output.
pub(crate) enum Seen {
    /// The line waited for.
    Wanted,
    /// The child reports a failure.
    Failed(String),
    /// Anything else.
    Other,
}

/// A running child, with its output read on a thread. Dropping it kills
/// and reaps the child if it still runs, so a failing test leaves no
/// process behind.
pub(crate) struct KilledChild {
    child: Child,
    /// Held until the child is reaped: the child exits when it closes.
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
    /// The lines received so far.
    output: Vec<String>,
    started: Instant,
}

impl KilledChild {
    /// Runs the test binary again, executing only the test `test`, with
    /// the environment variables `env`.
    pub(crate) fn start(test: &str, env: &[(&str, &std::ffi::OsStr)]) -> Self {
        let started = Instant::now();
        let mut command = Command::new(std::env::current_exe().expect("the test binary"));
        command.args(["--exact", test, "--nocapture", "--test-threads=1"]);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
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

    /// Waits at most `timeout` from the start until the child prints a line
    /// `seen` calls [`Seen::Wanted`] (`what`, for messages); returns how
    /// long it took since the start.
    pub(crate) fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        seen: impl Fn(&str) -> Seen,
    ) -> Result<Duration, String> {
        let deadline = self.started + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let outcome = seen(&line);
                    self.output.push(line);
                    match outcome {
                        Seen::Failed(message) => {
                            return Err(format!("the child failed: {message}"));
                        }
                        Seen::Wanted => return Ok(self.started.elapsed()),
                        Seen::Other => {}
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "the child did not print {what} within {timeout:?}; its last \
                         output: {:?}",
                        last_lines(&self.output)
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait();
                    return Err(format!(
                        "the child ended ({status:?}) before it printed {what}; its last \
                         output: {:?}",
                        last_lines(&self.output)
                    ));
                }
            }
        }
    }

    /// Kills the child, waits for it and returns everything it printed,
    /// and an error if it had exited by itself (it only does on failure),
    /// quoting the lines `is_error` picks.
    pub(crate) fn kill(
        mut self,
        is_error: impl Fn(&str) -> bool,
    ) -> (Vec<String>, Result<(), String>) {
        // Killing a child that already exited (and is not yet reaped)
        // succeeds too; its exit status tells.
        let killed = self.child.kill().map_err(|err| format!("kill: {err}"));
        let status = self
            .child
            .wait()
            .map_err(|err| format!("waiting for the child: {err}"));
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.stdin = None;
        let mut output = std::mem::take(&mut self.output);
        output.extend(self.lines.try_iter());
        let exited = killed.and(status).and_then(|status| match status.code() {
            None => Ok(()),
            Some(_) => {
                let errors: Vec<&String> = output.iter().filter(|line| is_error(line)).collect();
                Err(format!(
                    "the child exited by itself ({status}) before the kill: {errors:?}; its \
                     last output: {:?}",
                    last_lines(&output)
                ))
            }
        });
        (output, exited)
    }
}

/// The last few lines of a child's output, for failure messages.
fn last_lines(output: &[String]) -> &[String] {
    &output[output.len().saturating_sub(10)..]
}

impl Drop for KilledChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `u64` from the environment, if the variable is set.
pub(crate) fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {value:?}")),
    )
}

/// A campaign seed from the clock and the process id.
pub(crate) fn clock_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    Rng::new(nanos ^ u64::from(std::process::id())).next_u64()
}

/// A small seeded generator (splitmix64): the same seed gives the same
/// choices, in the parent (kill times) and in each child (its writes).
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator for one part of a run, independent of the others.
    pub(crate) fn derive(seed: u64, stream: u64) -> Self {
        let mut mixer = Self(seed ^ stream.wrapping_mul(0xA076_1D64_78BD_642F));
        Self(mixer.next_u64())
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`; the bias is negligible here).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `num / den`.
    pub(crate) fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}
