//! The simulated disk: directories with a current and a durable namespace,
//! inodes with current and durable bytes, and the pending operations
//! between the two.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use super::fault::Faults;
use super::stats::SimStats;

/// An inode number: the identity of a file, independent of its names.
pub(super) type Ino = u64;

/// A change of a file's bytes that is not yet durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum WriteOp {
    /// `write_at(offset, bytes)`.
    Write { offset: u64, bytes: Vec<u8> },
    /// `set_len(len)`.
    SetLen(u64),
}

impl WriteOp {
    pub(super) fn apply(&self, data: &mut Vec<u8>) {
        match self {
            Self::Write { offset, bytes } => write_into(data, *offset, bytes),
            Self::SetLen(len) => data.resize(to_usize(*len), 0),
        }
    }
}

/// Writes `bytes` at `offset` of `data`, filling any gap with zeros. An
/// empty write changes nothing, not even the length (as `pwrite`).
pub(super) fn write_into(data: &mut Vec<u8>, offset: u64, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let start = to_usize(offset);
    let end = start + bytes.len();
    if data.len() < end {
        data.resize(end, 0);
    }
    data[start..end].copy_from_slice(bytes);
}

/// Offsets of a simulated file fit in memory, or the test is wrong.
pub(super) fn to_usize(offset: u64) -> usize {
    usize::try_from(offset).expect("a simulated file offset fits in memory")
}

/// A file: what a read sees now, what survives a power cut for sure, and
/// the operations between the two, in the order they were made.
///
/// Invariant: applying `pending` in order to `durable` gives `current`.
#[derive(Clone, Debug, Default)]
pub(super) struct Inode {
    pub(super) current: Vec<u8>,
    pub(super) durable: Vec<u8>,
    pub(super) pending: Vec<WriteOp>,
}

impl Inode {
    /// An inode whose bytes are all durable.
    pub(super) fn settled(bytes: Vec<u8>) -> Self {
        Self {
            current: bytes.clone(),
            durable: bytes,
            pending: Vec::new(),
        }
    }

    pub(super) fn apply(&mut self, op: WriteOp) {
        op.apply(&mut self.current);
        self.pending.push(op);
    }

    pub(super) fn sync(&mut self) {
        self.durable.clone_from(&self.current);
        self.pending.clear();
    }
}

/// A change of a directory's entries that is not yet durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum NsOp {
    /// A new entry, or an existing one pointed at another inode (the
    /// destination half of a rename from another directory).
    Link { name: String, ino: Ino },
    /// A removal, or the source half of a rename to another directory.
    Unlink { name: String },
    /// A rename within the directory, replacing any entry named `to`.
    Rename { from: String, to: String },
}

impl NsOp {
    /// Applies the operation to a namespace. A rename whose source is
    /// missing changes nothing: that happens only when the two halves of a
    /// rename across directories landed apart.
    pub(super) fn apply(&self, names: &mut BTreeMap<String, Ino>) {
        match self {
            Self::Link { name, ino } => {
                names.insert(name.clone(), *ino);
            }
            Self::Unlink { name } => {
                names.remove(name);
            }
            Self::Rename { from, to } => {
                if let Some(ino) = names.remove(from) {
                    names.insert(to.clone(), ino);
                }
            }
        }
    }
}

/// A directory's entries (name → inode), now and as last synced.
///
/// Invariant: applying `pending` in order to `durable` gives `current`.
#[derive(Clone, Debug, Default)]
pub(super) struct Dir {
    pub(super) current: BTreeMap<String, Ino>,
    pub(super) durable: BTreeMap<String, Ino>,
    pub(super) pending: Vec<NsOp>,
}

impl Dir {
    /// A directory whose entries are all durable.
    pub(super) fn settled(names: BTreeMap<String, Ino>) -> Self {
        Self {
            current: names.clone(),
            durable: names,
            pending: Vec::new(),
        }
    }

    pub(super) fn apply(&mut self, op: NsOp) {
        op.apply(&mut self.current);
        self.pending.push(op);
    }
}

/// Everything a [`SimFs`](super::SimFs) holds, behind its mutex.
#[derive(Debug, Default)]
pub(super) struct State {
    /// Every directory ever created, by path. Directories are durable from
    /// their creation and never removed.
    pub(super) dirs: BTreeMap<PathBuf, Dir>,
    /// Every inode ever created, linked or not: a file removed from the
    /// current namespace may still be in the durable one, and open handles
    /// keep writing to it.
    pub(super) inodes: BTreeMap<Ino, Inode>,
    pub(super) next_ino: Ino,
    /// Directories whose lock is held.
    pub(super) locks: BTreeSet<PathBuf>,
    pub(super) faults: Faults,
    pub(super) stats: SimStats,
}

/// A file path split into its directory and its name.
pub(super) struct Entry<'a> {
    pub(super) dir: &'a Path,
    pub(super) name: String,
}

/// Splits `path` into the directory holding it and its file name.
pub(super) fn entry(path: &Path) -> io::Result<Entry<'_>> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let name = name
        .to_str()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the file name is not UTF-8"))?;
    Ok(Entry {
        dir: path.parent().unwrap_or(Path::new("")),
        name: name.to_owned(),
    })
}

fn not_found(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("no such {what}"))
}

impl State {
    pub(super) fn dir(&self, dir: &Path) -> io::Result<&Dir> {
        self.dirs.get(dir).ok_or_else(|| not_found("directory"))
    }

    fn dir_mut(&mut self, dir: &Path) -> io::Result<&mut Dir> {
        self.dirs.get_mut(dir).ok_or_else(|| not_found("directory"))
    }

    /// The inode `path` names now.
    pub(super) fn lookup(&self, path: &Path) -> io::Result<Ino> {
        let entry = entry(path)?;
        self.dir(entry.dir)?
            .current
            .get(&entry.name)
            .copied()
            .ok_or_else(|| not_found("file"))
    }

    /// The inode `path` names in the durable namespace.
    pub(super) fn lookup_durable(&self, path: &Path) -> Option<Ino> {
        let entry = entry(path).ok()?;
        self.dirs.get(entry.dir)?.durable.get(&entry.name).copied()
    }

    pub(super) fn inode(&self, ino: Ino) -> &Inode {
        self.inodes.get(&ino).expect("inodes are never removed")
    }

    pub(super) fn inode_mut(&mut self, ino: Ino) -> &mut Inode {
        self.inodes.get_mut(&ino).expect("inodes are never removed")
    }

    fn refuse_directory(&self, path: &Path) -> io::Result<()> {
        if self.dirs.contains_key(path) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "the path is a directory",
            ));
        }
        Ok(())
    }

    pub(super) fn create_dir_all(&mut self, dir: &Path) -> io::Result<()> {
        for ancestor in dir.ancestors() {
            if self.dirs.contains_key(ancestor) {
                continue;
            }
            if let Ok(entry) = entry(ancestor)
                && self
                    .dirs
                    .get(entry.dir)
                    .is_some_and(|parent| parent.current.contains_key(&entry.name))
            {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "a file has the directory's path",
                ));
            }
        }
        for ancestor in dir.ancestors() {
            self.dirs.entry(ancestor.to_path_buf()).or_default();
        }
        Ok(())
    }

    /// Opens `path`, creating an empty file if `create` and it is missing.
    pub(super) fn open(&mut self, path: &Path, create: bool) -> io::Result<Ino> {
        self.refuse_directory(path)?;
        let entry = entry(path)?;
        if let Some(&ino) = self.dir(entry.dir)?.current.get(&entry.name) {
            return Ok(ino);
        }
        if !create {
            return Err(not_found("file"));
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        self.inodes.insert(ino, Inode::default());
        let name = entry.name;
        self.dir_mut(entry.dir)?.apply(NsOp::Link { name, ino });
        Ok(ino)
    }

    pub(super) fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        self.refuse_directory(to)?;
        let ino = self.lookup(from)?;
        let (source, target) = (entry(from)?, entry(to)?);
        if self.dir(target.dir)?.current.get(&target.name) == Some(&ino) {
            // POSIX: renaming a file onto another name of the same file
            // does nothing.
            return Ok(());
        }
        if source.dir == target.dir {
            let (from, to) = (source.name, target.name);
            self.dir_mut(source.dir)?.apply(NsOp::Rename { from, to });
        } else {
            let name = source.name;
            self.dir_mut(source.dir)?.apply(NsOp::Unlink { name });
            let name = target.name;
            self.dir_mut(target.dir)?.apply(NsOp::Link { name, ino });
        }
        Ok(())
    }

    pub(super) fn remove_file(&mut self, path: &Path) -> io::Result<()> {
        self.refuse_directory(path)?;
        self.lookup(path)?;
        let entry = entry(path)?;
        let name = entry.name;
        self.dir_mut(entry.dir)?.apply(NsOp::Unlink { name });
        Ok(())
    }

    pub(super) fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
        let dir = self.dir_mut(dir)?;
        dir.durable.clone_from(&dir.current);
        dir.pending.clear();
        Ok(())
    }

    /// Every file path in the current namespace, sorted.
    pub(super) fn paths(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self
            .dirs
            .iter()
            .flat_map(|(dir, entries)| entries.current.keys().map(|name| dir.join(name)))
            .collect();
        paths.sort();
        paths
    }

    /// The disk as a new process finds it after this one was killed: every
    /// directory and inode as they are (durable or not), no locks, no
    /// faults, counters at zero.
    pub(super) fn after_kill(&self) -> Self {
        Self {
            dirs: self.dirs.clone(),
            inodes: self.inodes.clone(),
            next_ino: self.next_ino,
            ..Self::default()
        }
    }
}
