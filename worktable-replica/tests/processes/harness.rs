//! The parent's side of a child process: this test binary run again in a
//! role (see `roles`), its stdout read line by line on a thread, commands
//! written to its stdin, and the line protocol both sides speak.
//!
//! Every line of the protocol starts with [`PREFIX`] (libtest prints its
//! own `running 1 test` and `test … ` without a newline around it):
//!
//! - `ready at <applied>`: the role started; a replica says the commit it
//!   loaded (0 without a snapshot), a primary its last commit;
//! - `at <applied> seq <stream seq> reseeds <count> digest <hex>`: a
//!   replica's answer to `wait <commit>` and `status`;
//! - `acked <commit>`: a primary's commits up to here returned `Ok`
//!   (durable: `Durability::Sync`);
//! - `error <text>`: the child failed, and exits with status 1.
//!
//! Dropping a [`ChildProcess`] kills (SIGKILL, also when stopped) and reaps
//! it, so a failing or timed-out test leaves no process behind.

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::common::Shop;

/// Set to the role (`replica`, `primary`) to make the child entry run it.
pub(crate) const ROLE_ENV: &str = "WORKTABLE_REPLICA_PROCESS_ROLE";
/// The NATS url a child connects to.
pub(crate) const URL_ENV: &str = "WORKTABLE_REPLICA_PROCESS_URL";
/// The stream's name.
pub(crate) const STREAM_ENV: &str = "WORKTABLE_REPLICA_PROCESS_STREAM";
/// The snapshot bucket's name.
pub(crate) const BUCKET_ENV: &str = "WORKTABLE_REPLICA_PROCESS_BUCKET";
/// A primary's database directory.
pub(crate) const DIR_ENV: &str = "WORKTABLE_REPLICA_PROCESS_DIR";
/// A primary's workload seed.
pub(crate) const SEED_ENV: &str = "WORKTABLE_REPLICA_PROCESS_SEED";

/// The test that is the child's entry (`processes.rs`).
const CHILD_TEST: &str = "child_process";

/// What starts every line of the protocol.
pub(crate) const PREFIX: &str = "@@ ";

/// A replica's answer to `wait` and `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Report {
    /// The last commit applied.
    pub(crate) at: u64,
    /// The stream sequence of the last message applied.
    pub(crate) seq: u64,
    /// Reloads from a snapshot since the replica started.
    pub(crate) reseeds: u64,
    /// [`digest`] of its tables.
    pub(crate) digest: u64,
}

/// One line of the protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Message {
    Ready { at: u64 },
    Report(Report),
    Acked(u64),
    Error(String),
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        match self {
            Message::Ready { at } => write!(f, "ready at {at}"),
            Message::Report(r) => write!(
                f,
                "at {} seq {} reseeds {} digest {:016x}",
                r.at, r.seq, r.reseeds, r.digest
            ),
            Message::Acked(commit) => write!(f, "acked {commit}"),
            Message::Error(text) => write!(f, "error {}", text.replace('\n', " ")),
        }
    }
}

impl Message {
    /// The message in `line`, if it holds one.
    pub(crate) fn parse(line: &str) -> Option<Message> {
        let rest = &line[line.find(PREFIX)? + PREFIX.len()..];
        if let Some(text) = rest.strip_prefix("error ") {
            return Some(Message::Error(text.to_owned()));
        }
        let words: Vec<&str> = rest.split_whitespace().collect();
        Some(match words.as_slice() {
            ["ready", "at", at] => Message::Ready {
                at: at.parse().ok()?,
            },
            ["acked", commit] => Message::Acked(commit.parse().ok()?),
            ["at", at, "seq", seq, "reseeds", reseeds, "digest", digest] => {
                Message::Report(Report {
                    at: at.parse().ok()?,
                    seq: seq.parse().ok()?,
                    reseeds: reseeds.parse().ok()?,
                    digest: u64::from_str_radix(digest, 16).ok()?,
                })
            }
            _ => return None,
        })
    }
}

/// A 64-bit FNV-1a hash of every row of both tables, in the tables'
/// iteration (primary key) order: equal on two databases holding the same
/// rows.
pub(crate) fn digest(shop: &Shop) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut feed = |text: &str| {
        for byte in text.bytes().chain([b'\n']) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for account in shop.accounts.iter() {
        feed(&format!("{account:?}"));
    }
    feed("--ledger--");
    for entry in shop.ledger.iter() {
        feed(&format!("{entry:?}"));
    }
    hash
}

/// This test binary running a role, its output read on a thread.
pub(crate) struct ChildProcess {
    role: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    reader: Option<JoinHandle<()>>,
    /// The lines read so far.
    output: Vec<String>,
}

impl ChildProcess {
    /// Runs this binary again as `role`, with the environment `env`.
    pub(crate) fn start(role: &str, env: &[(&str, String)]) -> Self {
        let mut command = Command::new(std::env::current_exe().expect("the test binary"));
        command
            .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
            .env(ROLE_ENV, role);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the test binary runs again as a child");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("the child's stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        // Reads until the child's stdout closes (its death): every line it
        // printed before a kill arrives.
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            role: role.to_owned(),
            child,
            stdin,
            lines,
            reader: Some(reader),
            output: Vec::new(),
        }
    }

    /// The next message, within `timeout`; an `error` line, the child's
    /// end and the timeout are errors.
    pub(crate) async fn next(&mut self, what: &str, timeout: Duration) -> Result<Message, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let line = match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => line,
                Ok(None) => {
                    let status = self.child.wait();
                    return Err(format!(
                        "the {} child ended ({status:?}) before {what}; its last output: {:?}",
                        self.role,
                        self.last_lines()
                    ));
                }
                Err(_) => {
                    return Err(format!(
                        "the {} child gave no {what} within {timeout:?}; its last output: {:?}",
                        self.role,
                        self.last_lines()
                    ));
                }
            };
            let message = Message::parse(&line);
            self.output.push(line);
            match message {
                Some(Message::Error(text)) => {
                    return Err(format!("the {} child failed: {text}", self.role));
                }
                Some(message) => return Ok(message),
                None => {}
            }
        }
    }

    /// Waits for `ready` and returns the commit the child started at.
    pub(crate) async fn ready(&mut self, timeout: Duration) -> Result<u64, String> {
        match self.next("`ready`", timeout).await? {
            Message::Ready { at } => Ok(at),
            other => Err(format!(
                "the {} child said {other} before `ready`",
                self.role
            )),
        }
    }

    /// Sends `command` and waits for the report answering it.
    pub(crate) async fn ask(&mut self, command: &str, timeout: Duration) -> Result<Report, String> {
        let stdin = self.stdin.as_mut().ok_or("the child's stdin is closed")?;
        stdin
            .write_all(format!("{command}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|error| format!("sending {command:?} to the {} child: {error}", self.role))?;
        match self
            .next(&format!("an answer to `{command}`"), timeout)
            .await?
        {
            Message::Report(report) => Ok(report),
            other => Err(format!(
                "the {} child answered `{command}` with {other}",
                self.role
            )),
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) with `kill -<signal> <pid>`.
    pub(crate) fn signal(&mut self, signal: &str) {
        // Not reaped, so the pid is still the child's.
        assert!(
            matches!(self.child.try_wait(), Ok(None)),
            "the {} child ended before SIG{signal}; its last output: {:?}",
            self.role,
            self.last_lines()
        );
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed: {status}");
    }

    /// Kills the child with SIGKILL and reaps it; returns every line it
    /// printed. An error if it had exited by itself (it only does on a
    /// failure).
    pub(crate) fn kill(&mut self) -> Result<Vec<String>, String> {
        let killed = self.child.kill();
        let status = self.child.wait();
        self.stdin = None;
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        while let Ok(line) = self.lines.try_recv() {
            self.output.push(line);
        }
        let status = killed
            .and(status)
            .map_err(|error| format!("killing the {} child: {error}", self.role))?;
        if status.code().is_some() {
            return Err(format!(
                "the {} child exited by itself ({status}) before the kill; its last output: {:?}",
                self.role,
                self.last_lines()
            ));
        }
        Ok(self.output.clone())
    }

    fn last_lines(&self) -> &[String] {
        &self.output[self.output.len().saturating_sub(10)..]
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
