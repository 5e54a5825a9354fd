//! Injected I/O failures: [`Fault`], the error they produce
//! ([`InjectedFault`]), and the faults armed in a simulated disk.

use std::io;
use std::path::{Path, PathBuf};

/// A failure to inject into a [`SimFs`](super::SimFs) with
/// [`SimFs::fail`](super::SimFs::fail).
///
/// Countdowns count the calls of their kind made from the moment the fault
/// is armed, except calls that a [`Fault::Path`] refused first. Each
/// countdown fault fires once; a path fault stays until
/// [`SimFs::clear_faults`](super::SimFs::clear_faults). The failing call
/// returns an `io::Error` of kind `Other` wrapping an [`InjectedFault`]
/// (see [`InjectedFault::of`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The `nth` `write_at` (1: the next one) fails after writing the first
    /// `written` bytes of its buffer (all of them if `written` is larger),
    /// as a short write or a full disk would. Those bytes are in the file,
    /// unsynced, like any other write.
    Write {
        /// Which call fails, counting from 1.
        nth: u64,
        /// How many of its bytes reach the file before it fails.
        written: usize,
    },
    /// The `nth` `sync_data` or `sync_all` (1: the next one) fails. Nothing
    /// of that file becomes durable: its unsynced writes stay unsynced, and
    /// a later successful sync still makes them durable. That is kinder than
    /// Linux, which may drop the failed pages so that a retried sync
    /// succeeds without them: a table must not count on a retry.
    Sync {
        /// Which call fails, counting from 1.
        nth: u64,
    },
    /// Every operation on a path whose file name starts with `prefix`
    /// fails: directory operations whose path (or, for `rename`, either
    /// path) matches, and every call on a file opened under such a path.
    Path {
        /// The start of the file names that fail.
        prefix: String,
    },
}

/// The error inside every `io::Error` an injected [`Fault`] produces.
///
/// # Example
///
/// ```
/// use std::path::Path;
/// use worktable_persist::testing::vfs::{Fault, InjectedFault, SimFs, Vfs};
///
/// let sim = SimFs::new();
/// sim.create_dir_all(Path::new("/t"))?;
/// sim.fail(Fault::Path { prefix: "log-".into() });
/// let err = sim.open(Path::new("/t/log-1"), true).unwrap_err();
/// assert_eq!(InjectedFault::of(&err).map(|f| f.op), Some("open"));
/// assert!(sim.open(Path::new("/t/meta"), true).is_ok());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("injected fault (simulated disk): {op} of {}", path.display())]
pub struct InjectedFault {
    /// The operation that failed (`"write_at"`, `"sync_data"`, `"open"`, ...).
    pub op: &'static str,
    /// The path it was about (for a file operation, the path it was opened under).
    pub path: PathBuf,
}

impl InjectedFault {
    /// The injected fault `err` reports, if it reports one.
    pub fn of(err: &io::Error) -> Option<&Self> {
        err.get_ref()?.downcast_ref()
    }

    /// Whether `err` was produced by an injected fault.
    pub fn is(err: &io::Error) -> bool {
        Self::of(err).is_some()
    }

    pub(super) fn error(op: &'static str, path: &Path) -> io::Error {
        io::Error::other(Self {
            op,
            path: path.to_path_buf(),
        })
    }
}

/// A countdown fault waiting for its call.
#[derive(Clone, Debug)]
struct Countdown {
    /// Calls of its kind still to let through before failing one.
    remaining: u64,
    /// For a write: how many bytes land before the failure.
    written: usize,
}

/// The faults armed in a simulated disk.
#[derive(Clone, Debug, Default)]
pub(super) struct Faults {
    writes: Vec<Countdown>,
    syncs: Vec<Countdown>,
    prefixes: Vec<String>,
}

impl Faults {
    pub(super) fn arm(&mut self, fault: Fault) {
        let countdown = |nth: u64, written| {
            assert!(nth >= 1, "fault countdowns count from 1 (the next call)");
            Countdown {
                remaining: nth - 1,
                written,
            }
        };
        match fault {
            Fault::Write { nth, written } => self.writes.push(countdown(nth, written)),
            Fault::Sync { nth } => self.syncs.push(countdown(nth, 0)),
            Fault::Path { prefix } => self.prefixes.push(prefix),
        }
    }

    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }

    /// Whether a path fault refuses operations on `path`.
    pub(super) fn refuses(&self, path: &Path) -> bool {
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            return false;
        };
        self.prefixes.iter().any(|prefix| name.starts_with(prefix))
    }

    /// Counts a `write_at`; `Some(written)` if it is the one to fail.
    pub(super) fn next_write(&mut self) -> Option<usize> {
        tick(&mut self.writes).map(|fired| fired.written)
    }

    /// Counts a file sync; true if it is the one to fail.
    pub(super) fn next_sync(&mut self) -> bool {
        tick(&mut self.syncs).is_some()
    }
}

/// Counts one call against every countdown; returns the first that fires
/// (any other firing on the same call fires with it: one call fails once).
fn tick(countdowns: &mut Vec<Countdown>) -> Option<Countdown> {
    let mut fired = None;
    countdowns.retain_mut(|countdown| {
        if countdown.remaining == 0 {
            fired.get_or_insert_with(|| countdown.clone());
            false
        } else {
            countdown.remaining -= 1;
            true
        }
    });
    fired
}
