//! [`SimFs`]: a simulated disk that loses what was not synced when the
//! power is cut, and fails on demand.
//!
//! # The model
//!
//! **Files** are inodes. Each holds its *current* bytes (what reads see)
//! and its *durable* bytes (what a power cut cannot take away), and, in
//! order, the `write_at` and `set_len` calls made since its last sync: its
//! *pending writes*. `sync_data` and `sync_all` (the same here) make the
//! durable bytes equal the current ones and clear the pending writes.
//!
//! **Directories** map names to inodes, again twice: the *current*
//! namespace, which every operation sees, and the *durable* one. Creating a
//! file (`open` with `create`), `rename` and `remove_file` change the
//! current namespace at once and are recorded, in order, as pending
//! operations of their directory (a rename between two directories as a
//! removal in one and an entry in the other, each pending in its own
//! directory). `sync_dir(dir)` makes that directory's durable namespace
//! equal its current one. As on Linux, a file's sync does not make its
//! directory entry durable: a file created and synced, in a directory not
//! synced since, is gone after a power cut. Directories themselves are
//! durable as soon as `create_dir_all` makes them, and are never removed.
//! An inode lives as long as the disk: a removed file can still be written
//! through a handle opened before, and comes back after a power cut if the
//! removal was not durable.
//!
//! **A power cut** ([`SimFs::power_cut`]) builds the disk found after the
//! reboot, as a new, independent `SimFs` with nothing pending and no lock
//! held; handles of the old one keep writing to the old one only. What
//! survives depends on the [`PowerCut`] mode:
//!
//! - `KeepSynced`: the durable namespaces and the durable bytes, nothing
//!   else.
//! - `Prefix`: each directory keeps a random prefix of its pending
//!   operations, applied to its durable namespace; each file a random
//!   prefix of its pending writes, applied to its durable bytes, of which
//!   the last may be torn: only a random prefix of its bytes lands (the file
//!   grows as far as they go), or only a random subset of its 512-byte
//!   sectors (the file grows to the end of the write; sectors that did not
//!   land read as the old bytes, or as zeros past the old end).
//! - `Scatter`: directories as in `Prefix`; each pending write of a file
//!   lands or not independently of the others, in the order they were made,
//!   and each landing write may be torn into sectors. This is a disk that
//!   reorders writes nobody ordered with a sync.
//!
//! In every mode a byte of a file after the cut is its durable byte, a byte
//! of some pending write that covers it, or a zero where the file was
//! extended or truncated since its last sync, and a file with nothing
//! pending is exactly its durable bytes. The choices come from a small
//! generator seeded by the caller: the same history, mode and seed always
//! give the same disk.
//!
//! **A process kill** ([`SimFs::kill_process`]) loses nothing: the new
//! `SimFs` holds everything written so far, current and durable as they
//! were (a later power cut can still lose what was not synced), with no
//! lock held.
//!
//! **Faults** ([`SimFs::fail`], [`Fault`]) make a chosen `write_at` fail
//! (possibly after writing part of its bytes), a chosen file sync fail
//! (nothing becomes durable), or every operation on files of a given name
//! prefix fail, with an error wrapping [`InjectedFault`].
//!
//! **Paths** are plain keys: nothing is normalised beyond what `Path`
//! comparison does (`dir.join(name)` equals the same path spelled out),
//! no symbolic link or `..` is resolved. A file's directory must have been
//! created with `create_dir_all` (or by [`SimFs::set_file`]); `open` and
//! `list` in any other directory fail with `NotFound`. `list` returns the
//! files of a directory, not its subdirectories. `lock_dir` creates the
//! `LOCK` file, as the real lock does, and refuses a second lock of the
//! same directory with [`LockError::AlreadyOpen`] until the first is
//! dropped.

use std::any::Any;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::LockError;
use super::dir_lock::LOCK_FILE_NAME;
use super::{Mapped, Vfs, VfsFile};

mod fault;
mod power_cut;
mod rng;
mod state;
mod stats;

pub use fault::{Fault, InjectedFault};
pub use power_cut::PowerCut;
pub use stats::SimStats;

use state::{Ino, Inode, State, WriteOp, entry};

/// A simulated disk implementing [`Vfs`]; its model is described in this
/// module's documentation (`src/vfs/sim.rs`). A cheap handle: clones share
/// the same disk, so a test keeps one while a table holds another as
/// `Arc<dyn Vfs>`.
///
/// # Example
///
/// ```
/// use std::path::Path;
/// use worktable_persist::testing::vfs::{PowerCut, SimFs, Vfs};
///
/// let sim = SimFs::new();
/// let dir = Path::new("/t");
/// sim.create_dir_all(dir)?;
/// let file = sim.open(&dir.join("new"), true)?;
/// file.write_at(0, b"data")?;
/// file.sync_data()?;
/// // The data is durable, but the directory entry is not.
/// let after = sim.power_cut(PowerCut::KeepSynced, 1);
/// assert_eq!(after.file(&dir.join("new")), None);
///
/// sim.sync_dir(dir)?;
/// let after = sim.power_cut(PowerCut::KeepSynced, 1);
/// assert_eq!(after.file(&dir.join("new")), Some(b"data".to_vec()));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct SimFs {
    state: Arc<Mutex<State>>,
}

impl SimFs {
    /// An empty disk: no directory, no file.
    pub fn new() -> Self {
        Self::default()
    }

    fn from_state(state: State) -> Self {
        Self {
            state: Arc::new(Mutex::new(state)),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The disk found after the power is cut now and the machine reboots,
    /// as a new `SimFs`: which unsynced changes survive depends on `mode`,
    /// and the random choices on `seed` alone. This disk is unchanged.
    pub fn power_cut(&self, mode: PowerCut, seed: u64) -> SimFs {
        Self::from_state(power_cut::power_cut(&self.state(), mode, seed))
    }

    /// The disk found by the next process after this one is killed, as a
    /// new `SimFs`: everything written so far, synced or not (still unsynced
    /// on the new disk), no lock held, no fault armed, counters at zero.
    pub fn kill_process(&self) -> SimFs {
        Self::from_state(self.state().after_kill())
    }

    /// Arms `fault`; see [`Fault`] for what fails and when.
    ///
    /// # Panics
    ///
    /// If a countdown (`nth`) is 0: the next call is 1.
    pub fn fail(&self, fault: Fault) {
        self.state().faults.arm(fault);
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// The current bytes of the file `path`, if it exists.
    pub fn file(&self, path: &Path) -> Option<Vec<u8>> {
        let state = self.state();
        let ino = state.lookup(path).ok()?;
        Some(state.inode(ino).current.clone())
    }

    /// The bytes of `path` that a [`PowerCut::KeepSynced`] cut would leave:
    /// `None` if the file is not in its directory's durable namespace.
    pub fn durable_file(&self, path: &Path) -> Option<Vec<u8>> {
        let state = self.state();
        let ino = state.lookup_durable(path)?;
        Some(state.inode(ino).durable.clone())
    }

    /// Makes `path` hold exactly `bytes`, durably, creating the file and its
    /// directories if needed: for tests that damage or plant files. The
    /// file's bytes become durable (pending writes of it are dropped) and
    /// its directory is synced, which makes the directory's other pending
    /// entry changes durable too: use it on a quiet disk. A file replaced
    /// keeps its inode, so handles open on it see the new bytes. No fault
    /// applies and nothing is counted.
    ///
    /// # Panics
    ///
    /// If `path` has no file name or a directory of that path exists.
    pub fn set_file(&self, path: &Path, bytes: &[u8]) {
        let mut state = self.state();
        let entry = entry(path).expect("set_file needs a file path");
        let dir = entry.dir;
        state
            .create_dir_all(dir)
            .expect("set_file's directory can be created");
        let ino = state.open(path, true).expect("set_file's path is a file");
        *state.inode_mut(ino) = Inode::settled(bytes.to_vec());
        state.sync_dir(dir).expect("the directory was just created");
    }

    /// Every file in the current namespace, sorted.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.state().paths()
    }

    /// Whether the lock of `dir` is held.
    pub fn is_locked(&self, dir: &Path) -> bool {
        self.state().locks.contains(dir)
    }

    /// What this disk has been asked to do so far.
    pub fn stats(&self) -> SimStats {
        self.state().stats
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while the state was locked (a failed assertion in a test)
    // leaves it consistent: every operation checks before it changes.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for SimFs {
    /// The files, not their bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimFs")
            .field("files", &self.paths())
            .finish_non_exhaustive()
    }
}

/// Fails with an injected fault if a path fault refuses `path`.
fn check(state: &mut State, op: &'static str, path: &Path) -> io::Result<()> {
    if state.faults.refuses(path) {
        state.stats.injected_failures += 1;
        return Err(InjectedFault::error(op, path));
    }
    Ok(())
}

impl Vfs for SimFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.state();
        check(&mut state, "create_dir_all", dir)?;
        state.create_dir_all(dir)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut state = self.state();
        check(&mut state, "read", path)?;
        let ino = state.lookup(path)?;
        Ok(state.inode(ino).current.clone())
    }

    /// A copy of the current bytes.
    fn map(&self, path: &Path) -> io::Result<Mapped> {
        let mut state = self.state();
        check(&mut state, "map", path)?;
        let ino = state.lookup(path)?;
        Ok(Mapped::from(state.inode(ino).current.clone()))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut state = self.state();
        check(&mut state, "list", dir)?;
        Ok(state.dir(dir)?.current.keys().cloned().collect())
    }

    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn VfsFile>> {
        let mut state = self.state();
        check(&mut state, "open", path)?;
        let ino = state.open(path, create)?;
        Ok(Box::new(SimFile {
            state: Arc::clone(&self.state),
            ino,
            path: path.to_path_buf(),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.state();
        check(&mut state, "rename", from)?;
        check(&mut state, "rename", to)?;
        state.rename(from, to)?;
        state.stats.renames += 1;
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state();
        check(&mut state, "remove_file", path)?;
        state.remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.state();
        check(&mut state, "sync_dir", dir)?;
        state.sync_dir(dir)?;
        state.stats.sync_dir += 1;
        Ok(())
    }

    /// Creates `dir/LOCK` if missing (a pending entry, as any creation),
    /// then takes the lock, or reports [`LockError::AlreadyOpen`].
    fn lock_dir(&self, dir: &Path) -> Result<Box<dyn Any + Send + Sync>, LockError> {
        let path = dir.join(LOCK_FILE_NAME);
        let mut state = self.state();
        let opened = check(&mut state, "lock_dir", &path).and_then(|()| state.open(&path, true));
        if let Err(source) = opened {
            return Err(LockError::Io { path, source });
        }
        if !state.locks.insert(dir.to_path_buf()) {
            return Err(LockError::AlreadyOpen { path });
        }
        Ok(Box::new(SimLock {
            state: Arc::clone(&self.state),
            dir: dir.to_path_buf(),
        }))
    }
}

/// The lock of a directory of a [`SimFs`], released on drop.
struct SimLock {
    state: Arc<Mutex<State>>,
    dir: PathBuf,
}

impl Drop for SimLock {
    fn drop(&mut self) {
        lock(&self.state).locks.remove(&self.dir);
    }
}

/// An open file of a [`SimFs`]: an inode, and the path it was opened under
/// (for path faults and error messages).
struct SimFile {
    state: Arc<Mutex<State>>,
    ino: Ino,
    path: PathBuf,
}

impl fmt::Debug for SimFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimFile")
            .field("path", &self.path)
            .field("ino", &self.ino)
            .finish()
    }
}

impl SimFile {
    /// The disk, locked, after checking path faults for `op`.
    fn state(&self, op: &'static str) -> io::Result<MutexGuard<'_, State>> {
        let mut state = lock(&self.state);
        check(&mut state, op, &self.path)?;
        Ok(state)
    }

    /// `sync_data` (`all` false) or `sync_all` (`all` true): the same here.
    fn sync(&self, all: bool) -> io::Result<()> {
        let op = if all { "sync_all" } else { "sync_data" };
        let mut state = self.state(op)?;
        if state.faults.next_sync() {
            state.stats.injected_failures += 1;
            return Err(InjectedFault::error(op, &self.path));
        }
        state.inode_mut(self.ino).sync();
        if all {
            state.stats.sync_all += 1;
        } else {
            state.stats.sync_data += 1;
        }
        Ok(())
    }
}

impl VfsFile for SimFile {
    fn len(&self) -> io::Result<u64> {
        let state = self.state("len")?;
        Ok(state.inode(self.ino).current.len() as u64)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let state = self.state("read_at")?;
        let current = &state.inode(self.ino).current;
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        match start
            .checked_add(buf.len())
            .and_then(|end| current.get(start..end))
        {
            Some(bytes) => {
                buf.copy_from_slice(bytes);
                Ok(())
            }
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the file",
            )),
        }
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let mut state = self.state("write_at")?;
        if let Some(written) = state.faults.next_write() {
            let written = written.min(bytes.len());
            if written > 0 {
                state.inode_mut(self.ino).apply(WriteOp::Write {
                    offset,
                    bytes: bytes[..written].to_vec(),
                });
            }
            state.stats.injected_failures += 1;
            return Err(InjectedFault::error("write_at", &self.path));
        }
        state.inode_mut(self.ino).apply(WriteOp::Write {
            offset,
            bytes: bytes.to_vec(),
        });
        state.stats.writes += 1;
        state.stats.bytes_written += bytes.len() as u64;
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut state = self.state("set_len")?;
        state.inode_mut(self.ino).apply(WriteOp::SetLen(len));
        state.stats.set_lens += 1;
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync(false)
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync(true)
    }
}
