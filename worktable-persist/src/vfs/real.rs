//! [`RealFs`]: the [`Vfs`] of the operating system's file system.
//!
//! Positioned reads and writes use `pread`/`pwrite` on Unix
//! (`std::os::unix::fs::FileExt`) and `ReadFile`/`WriteFile` with an offset
//! on Windows (`std::os::windows::fs::FileExt`, looping over short
//! transfers). Other platforms are not supported: they compile, and every
//! positioned read or write fails with `ErrorKind::Unsupported`.
//!
//! Only Unix can make a directory's entries durable through `std`:
//! [`Vfs::sync_dir`] opens the directory and fsyncs it there, and does
//! nothing elsewhere (see `meta::write_atomically` for what that costs).

use std::any::Any;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

use super::dir_lock::{DirLock, LockError};
use super::{Mapped, Vfs, VfsFile};

/// The real file system: `std::fs`, positioned I/O, `memmap2` for [`Vfs::map`].
///
/// # Example
///
/// ```
/// use worktable_persist::testing::vfs::{RealFs, Vfs};
///
/// let dir = tempfile::tempdir()?;
/// let fs = RealFs;
/// let file = fs.open(&dir.path().join("data"), true)?;
/// file.write_at(4, b"abc")?;
/// assert_eq!(fs.read(&dir.path().join("data"))?, b"\0\0\0\0abc");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

/// An open file of [`RealFs`].
#[derive(Debug)]
struct RealFile {
    file: File,
}

impl Vfs for RealFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    /// Maps the file read-only; an empty file is an empty [`Mapped`],
    /// without calling `mmap`.
    ///
    /// # Why mapping is sound here
    ///
    /// Rust assumes the bytes behind a `&[u8]` do not change while they
    /// are borrowed; a file mapping breaks that if the file is written, and
    /// turns a read into `SIGBUS` if it is truncated, while the mapping
    /// lives. The durable table is the only caller, and it maps only files
    /// inside a directory whose exclusive lock (`DirLock`) this process holds
    /// for at least as long as the mapping; it takes its maps while it
    /// opens the table and drops them before it writes any file region a
    /// map covers. The mapping never leaves this crate, so those rules are
    /// checked in this crate's code alone.
    ///
    /// The lock is advisory: a process that ignores it (`truncate`, an
    /// editor, a backup tool restoring files) can still change a mapped
    /// file. Every byte the table reads from a mapping is checksummed
    /// before it is used, so a file damaged *at rest* becomes a typed error,
    /// not rows. A change *during* a read is another matter: it is undefined
    /// behaviour, or a `SIGBUS`, and nothing in this crate can prevent or
    /// detect it; the contract of a table directory excludes such writers.
    #[allow(unsafe_code)] // The one mapping of the crate; argued above and below.
    fn map(&self, path: &Path) -> io::Result<Mapped> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(Mapped::empty());
        }
        // SAFETY: `memmap2::Mmap::map` is unsafe because the file may be
        // changed or truncated while mapped. The mapping is read-only and
        // private to this crate, and the table maps only files of a
        // directory whose exclusive lock it holds, and never writes a region
        // of a file while a map of it lives (see the method's documentation).
        // Writers that ignore the advisory lock are outside the contract.
        let map = unsafe { memmap2::Mmap::map(&file) }?;
        Ok(Mapped::from_map(map))
    }

    /// Names of the entries of `dir` that are not directories. A name that
    /// is not UTF-8 is skipped: no table file has one.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                continue;
            }
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn VfsFile>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)?;
        Ok(Box::new(RealFile { file }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        sync_dir(dir)
    }

    /// The directory's exclusive lock (`DirLock::acquire`), boxed.
    fn lock_dir(&self, dir: &Path) -> Result<Box<dyn Any + Send + Sync>, LockError> {
        Ok(Box::new(DirLock::acquire(dir)?))
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `std` cannot open a directory for syncing outside Unix: nothing to do.
#[cfg(not(unix))]
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::metadata(dir).map(drop)
}

impl VfsFile for RealFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        positioned::read_exact_at(&self.file, offset, buf)
    }

    fn write_at(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        positioned::write_all_at(&self.file, offset, bytes)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}

#[cfg(unix)]
mod positioned {
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::FileExt;

    pub(super) fn read_exact_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        file.read_exact_at(buf, offset)
    }

    pub(super) fn write_all_at(file: &File, offset: u64, bytes: &[u8]) -> io::Result<()> {
        file.write_all_at(bytes, offset)
    }
}

#[cfg(windows)]
mod positioned {
    use std::fs::File;
    use std::io;
    use std::os::windows::fs::FileExt;

    /// `seek_read` may transfer fewer bytes than asked: loop, as
    /// `read_exact_at` does on Unix.
    pub(super) fn read_exact_at(
        file: &File,
        mut offset: u64,
        mut buf: &mut [u8],
    ) -> io::Result<()> {
        while !buf.is_empty() {
            match file.seek_read(buf, offset) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "failed to fill whole buffer",
                    ));
                }
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub(super) fn write_all_at(file: &File, mut offset: u64, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match file.seek_write(bytes, offset) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    bytes = &bytes[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(not(any(unix, windows)))]
mod positioned {
    use std::fs::File;
    use std::io;

    pub(super) fn read_exact_at(_: &File, _: u64, _: &mut [u8]) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    pub(super) fn write_all_at(_: &File, _: u64, _: &[u8]) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}
