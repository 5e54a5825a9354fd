//! The metadata file in a table directory: read it, or replace it so that a
//! crash leaves either the old or the new file.

use std::io;
use std::path::Path;

use super::codec::{MAX_LEN, Meta, decode};
use super::error::MetaError;
use crate::file_error::FileError;
use crate::vfs::Vfs;

/// The metadata file's name in a table directory.
pub const FILE_NAME: &str = "meta";

/// Replaces the file `name` in `dir` with `bytes`, so that after a crash at
/// any point the file under `name` is either the old one or the new one,
/// complete.
///
/// `name` is a file name, not a path. The steps:
///
/// 1. Create `name.tmp` in `dir`, truncating any file of that name, write
///    `bytes` to it and fsync it: its data and length are on disk before
///    anything refers to it under `name`.
/// 2. Rename `name.tmp` over `name`. POSIX makes the replacement atomic:
///    at every instant `name` is the old file or the new one, never a mix or
///    nothing. (On Windows `std` renames with `MoveFileExW`, which replaces
///    the file in one step on NTFS within a volume, though Windows does
///    not document that as a guarantee.)
/// 3. Sync `dir` ([`Vfs::sync_dir`]), so that the rename itself is on disk
///    when this returns.
///
/// **After a crash:** before step 2 completes, `name` is the old file (or
/// absent, if there was none) and a `name.tmp` may be left over, complete
/// or not: readers ignore it ([`read`] opens only `name`) and the next call
/// truncates and rewrites it. After step 2, `name` is the new file,
/// complete, because its data was synced before the rename. After this
/// returns `Ok`, `name` is the new file even after a power loss.
/// A file system that broke these orderings would leave a file whose
/// checksum fails, which [`read`] reports rather than trusts.
///
/// The caller must not run two replacements of the same `name` at once:
/// they would share `name.tmp`. A table directory has one writer, the
/// holder of its directory lock (`DirLock`).
///
/// # Errors
///
/// The error of the first step that fails, as the operating system reported
/// it; it does not name the path, which the caller knows. After an error
/// `name` is the old file or the new one (the rename may have happened
/// even if syncing the directory then failed), and `name.tmp` may be left
/// over.
pub(crate) fn write_atomically(
    vfs: &dyn Vfs,
    dir: &Path,
    name: &str,
    bytes: &[u8],
) -> io::Result<()> {
    let temporary = dir.join(format!("{name}.tmp"));
    let file = vfs.open(&temporary, true)?;
    file.set_len(0)?;
    file.write_at(0, bytes)?;
    file.sync_all()?;
    drop(file);
    vfs.rename(&temporary, &dir.join(name))?;
    vfs.sync_dir(dir)
}

/// Reads and decodes the metadata file `name` in `dir`.
///
/// Reads at most one byte more than the largest metadata file (1,114,430
/// bytes), so a huge file in its place costs
/// no more than a small one. A leftover `name.tmp` is not looked at.
///
/// # Errors
///
/// - [`MetaError::Missing`]: there is no such file (or no such directory).
///   For a table directory this is a new table, or a crash before its
///   first checkpoint, or a deleted file: the caller decides which.
/// - [`MetaError::Io`]: it cannot be opened or read (permissions, a
///   directory of that name, a device error).
/// - [`MetaError::Decode`]: its bytes are not a version 2 metadata file
///   (see [`FileError`]). A file longer than the largest is reported as
///   [`FileError::TooLong`] with its full length (after the magic and
///   version checks, so a newer version is still named as such).
///
/// Nothing is written in any case.
pub fn read(vfs: &dyn Vfs, dir: &Path, name: &str) -> Result<Meta, MetaError> {
    let path = dir.join(name);
    let file = match vfs.open(&path, false) {
        Ok(file) => file,
        Err(source) if source.kind() == io::ErrorKind::NotFound => {
            return Err(MetaError::Missing { path });
        }
        Err(source) => return Err(MetaError::Io { path, source }),
    };
    let len = file.len().map_err(|source| MetaError::Io {
        path: path.clone(),
        source,
    })?;
    let mut bytes = vec![0; usize::try_from(len).unwrap_or(usize::MAX).min(MAX_LEN + 1)];
    if let Err(source) = file.read_at(0, &mut bytes) {
        return Err(MetaError::Io { path, source });
    }
    decode(&bytes).map_err(|source| {
        let source = match source {
            FileError::TooLong { file, max, .. } => FileError::TooLong { file, len, max },
            other => other,
        };
        MetaError::Decode { path, source }
    })
}
