//! The exclusive lock on a table directory: one opener at a time.
//!
//! The file-system layer takes it ([`RealFs`](super::RealFs)'s
//! [`lock_dir`](super::Vfs::lock_dir)) when a table opens its directory,
//! and the table holds it until it is closed or dropped.
//!
//! # What the lock guarantees
//!
//! [`DirLock::acquire`] opens (creating it if needed) the file `LOCK` in the
//! table directory and takes an exclusive lock on it with
//! [`File::try_lock`]: `flock(LOCK_EX | LOCK_NB)` on Unix, `LockFileEx` on
//! Windows. While a [`DirLock`] lives, every other `DirLock::acquire` of the
//! same directory fails with [`LockError::AlreadyOpen`], whether it comes
//! from another process or from this one through another handle (a
//! `flock` lock belongs to the open file, not to the process, so a second
//! `open` in the same process does not share it). Dropping the `DirLock`
//! releases the lock; so does the end of the process, however it ends
//! (a crash or `SIGKILL` included), because the operating system closes
//! its files. No stale lock survives a crash, and the `LOCK` file itself is
//! left in place: its existence means nothing, only the lock on it does.
//! (Deleting it on release would let one opener lock the deleted file while
//! another creates and locks a new one.)
//!
//! The lock is **advisory**. It excludes other worktable openers, which all
//! take it before touching the directory; it does not stop a process that
//! ignores it (`cp`, `truncate`, an editor, a backup tool restoring files)
//! from reading or writing the files while the table is open. Doing that is
//! outside the contract, as it is for every database.
//!
//! Limits of the mechanism, all outside the supported setup of a local file
//! system and one `DirLock` per process that opened the directory:
//!
//! - The descriptor is opened close-on-exec (as `std` opens every file), so
//!   a child started with `exec` does not inherit the lock. A child made by
//!   `fork` alone shares the open file and the lock with it; dropping the
//!   `DirLock` releases the lock explicitly (`unlock`), so the parent still
//!   releases it when it means to.
//! - On network file systems locks may be emulated or missing: Linux's NFS
//!   client emulates `flock` with POSIX record locks, which are held per
//!   process, so there a second `DirLock` in the same process is *not*
//!   refused (another machine's still is). Where locking is not supported
//!   at all, `acquire` fails with [`LockError::Io`].
//!
//! # What the lock is for: the soundness of the page-file mapping
//!
//! A durable table maps its page file into memory (`memmap2`). Rust
//! assumes the bytes behind a `&[u8]` do not change while it is borrowed,
//! and a shared file mapping breaks that assumption whenever anyone else
//! writes the file, and turns a read into `SIGBUS` if anyone truncates it:
//! that is why `Mmap::map` is `unsafe`, and why redb dropped its mmap
//! backend. This crate's answer rests on three things. First, the mapping
//! is private to the crate: no reference into it is ever handed to a user,
//! so every access to it is in code that can be reviewed against this
//! argument. Second, this lock: the table holds its `DirLock` for as long
//! as any mapping of the directory's files exists, so no other worktable
//! table, in this process or another, writes or truncates the page file
//! while it is mapped, and the table itself changes the file only in ways
//! its mapping code accounts for. What remains is a writer that ignores the
//! lock, which the contract above excludes; such a writer makes the
//! mapping unsound and is not detected by the lock. Third, every byte read
//! from the mapping is validated (page and row checksums, then
//! `bytecheck`) before it is trusted, so a page file damaged at rest, or
//! written by an earlier crash, is reported as a typed error, not turned
//! into rows.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// The lock file's name in a table directory.
pub(crate) const LOCK_FILE_NAME: &str = "LOCK";

/// An exclusive lock on a table directory, held until it is dropped.
///
/// See the [module documentation](self) for what it guarantees and what it
/// does not.
#[derive(Debug)]
pub(crate) struct DirLock {
    /// The open lock file, locked exclusively by this handle for as long as
    /// the `DirLock` lives.
    file: File,
    /// The lock file's path, which the tests compare errors with.
    #[cfg(test)]
    path: PathBuf,
}

impl DirLock {
    /// Locks `dir` (an existing directory) for this opener: creates or
    /// opens `dir/LOCK` and takes an exclusive lock on it, without waiting.
    ///
    /// # Errors
    ///
    /// - [`LockError::AlreadyOpen`]: another `DirLock` holds the directory,
    ///   in this process or another.
    /// - [`LockError::Io`]: the lock file cannot be created, opened or
    ///   locked: the directory does not exist or is not a directory, it is
    ///   read-only and has no `LOCK` file yet, permission is denied, or the
    ///   file system does not support locking.
    ///
    /// After either error nothing is locked; a `LOCK` file this call created
    /// is left in place, which is harmless.
    pub(crate) fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE_NAME);
        // Read and write access: Windows refuses to lock a file opened only
        // for appending, and some platforms a file opened only for reading.
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path);
        let file = match opened {
            Ok(file) => file,
            Err(source) => return Err(LockError::Io { path, source }),
        };
        match file.try_lock() {
            Ok(()) => Ok(Self {
                file,
                #[cfg(test)]
                path,
            }),
            Err(TryLockError::WouldBlock) => Err(LockError::AlreadyOpen { path }),
            Err(TryLockError::Error(source)) => Err(LockError::Io { path, source }),
        }
    }

    /// The path of the lock file, `dir/LOCK`.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DirLock {
    /// Releases the lock. Closing the file would release it too, unless a
    /// `fork`ed child still holds a copy of the descriptor; unlocking
    /// explicitly releases it in that case as well. An error cannot be
    /// reported from `drop`, and closing the file releases what it can.
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Why a table directory cannot be locked. Returned by
/// [`Vfs::lock_dir`](super::Vfs::lock_dir); each variant names the lock
/// file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    /// Another opener holds the directory's lock.
    #[error(
        "the table directory is already open: {} is locked by another opener, in this process or another",
        path.display()
    )]
    AlreadyOpen {
        /// The lock file's path.
        path: PathBuf,
    },
    /// The lock file cannot be created, opened or locked.
    #[error("cannot lock the table directory through {}: {source}", path.display())]
    Io {
        /// The lock file's path.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
}

impl LockError {
    /// The path of the lock file the error is about.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        match self {
            Self::AlreadyOpen { path } | Self::Io { path, .. } => path,
        }
    }
}

#[cfg(test)]
mod tests;
