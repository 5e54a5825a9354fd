//! The file operations of a durable table, behind a trait: the real file
//! system ([`RealFs`]) and a simulated disk (`SimFs`) that can lose
//! unsynced writes in a power cut and inject I/O failures.
//!
//! Private to the crate. The simulated disk exists for tests only (the
//! `testing` feature exposes it, with the trait, as `crate::testing::vfs`),
//! so that tests of the durable table, in this crate and outside it, can
//! run a table on a `SimFs`, cut the power at any point and check what
//! recovery makes of the disk that is left.
//!
//! [`Vfs`] is the directory-level half (create, read, map, list, open,
//! rename, remove, sync a directory, lock a directory); [`VfsFile`] is an
//! open file, with positioned reads and writes and the two kinds of sync.
//! Every durability promise of the table is phrased in terms of these
//! calls: data is durable once the file's `sync_data` (or `sync_all`)
//! returns, and an entry of a directory (a creation, a rename, a removal)
//! once that directory's `sync_dir` returns. A file's own sync does not
//! make its directory entry durable. `SimFs` implements exactly that
//! contract and nothing more, so a table that is correct on it relies on
//! nothing the contract does not promise; the `sim` module documents its
//! model. [`DirLock`](dir_lock::DirLock) is the exclusive lock on a table directory that
//! [`RealFs::lock_dir`](Vfs::lock_dir) takes; its module argues why the
//! page-file mapping relies on it.
//!
//! # Example
//!
//! ```
//! use std::path::Path;
//! use std::sync::Arc;
//! use worktable_persist::testing::vfs::{PowerCut, SimFs, Vfs};
//!
//! let sim = SimFs::new();
//! let fs: Arc<dyn Vfs> = Arc::new(sim.clone());
//! let dir = Path::new("/t");
//! fs.create_dir_all(dir)?;
//! let log = fs.open(&dir.join("log"), true)?;
//! log.write_at(0, b"synced")?;
//! log.sync_data()?;
//! fs.sync_dir(dir)?;
//! log.write_at(6, b" and not")?;
//!
//! let after = sim.power_cut(PowerCut::KeepSynced, 7);
//! assert_eq!(after.file(&dir.join("log")).as_deref(), Some(&b"synced"[..]));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::any::Any;
use std::fmt;
use std::io;
use std::path::Path;

pub(crate) mod dir_lock;
mod mapped;
mod real;
#[cfg(any(test, feature = "testing"))]
mod sim;

pub(crate) use dir_lock::LOCK_FILE_NAME;
pub use dir_lock::LockError;
pub use mapped::Mapped;
pub use real::RealFs;
#[cfg(any(test, feature = "testing"))]
pub use sim::{Fault, InjectedFault, PowerCut, SimFs, SimStats};

/// The file operations a durable table performs.
///
/// Paths are whatever the table builds: its directory joined with a file
/// name. Errors are the operating system's (or the simulation's), without
/// the path, which the caller knows.
pub trait Vfs: Send + Sync + fmt::Debug + 'static {
    /// Creates `dir` and its missing parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The whole contents of a file (`ErrorKind::NotFound` if missing).
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// A read-only view of a whole file. The real file system maps it (memmap2).
    fn map(&self, path: &Path) -> io::Result<Mapped>;
    /// Names of the files in `dir`, in any order.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Opens a file for reading and writing; creates it empty if `create` and it is missing
    /// (`ErrorKind::NotFound` otherwise).
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn VfsFile>>;
    /// Renames `from` to `to`, replacing `to` atomically.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes the file `path` (`ErrorKind::NotFound` if missing).
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Makes the creations, renames and removals of entries in `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes the exclusive lock of a table directory, held until the returned value drops.
    fn lock_dir(&self, dir: &Path) -> Result<Box<dyn Any + Send + Sync>, LockError>;
}

/// An open file of a [`Vfs`], readable and writable at any offset.
// `len` asks the file system for a file's size, a fallible call, not a
// container's length: an `is_empty` beside it would add nothing.
#[allow(clippy::len_without_is_empty)]
pub trait VfsFile: Send + Sync + fmt::Debug {
    /// The file's current length.
    fn len(&self) -> io::Result<u64>;
    /// Reads exactly `buf.len()` bytes at `offset` (`UnexpectedEof` past the end).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes all of `bytes` at `offset`, extending the file (with zeros in any gap).
    fn write_at(&self, offset: u64, bytes: &[u8]) -> io::Result<()>;
    /// Truncates the file, or extends it with zeros, to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes the file's contents durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
    /// Makes the file's contents and metadata durable (`fsync`).
    fn sync_all(&self) -> io::Result<()>;
}

#[cfg(test)]
mod tests;
