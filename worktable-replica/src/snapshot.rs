//! Snapshots for new replicas: a backup of the primary at one commit
//! (`DurableDatabase::backup_to`), kept in a store replicas read —
//! JetStream's object store, or any backend of the `object_store` crate.
//!
//! # Layout in a store
//!
//! A snapshot at commit `C` is a set of objects named `<C, 20 digits>/<file>`
//! (the backup's files: `db`, `t<slot>/…`, `log-…`) and, written last, its
//! manifest `<C>/MANIFEST`: one line per file, `<length> <crc32c hex>
//! <name>`. A snapshot without a manifest is incomplete (a writer that
//! stopped midway) and is never read; every file read is checked against
//! the manifest. The latest snapshot is the largest `C` with a manifest.
//!
//! Depends on: `error`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use worktable_core::storage::DatabaseTables;
use worktable_persist::DurableDatabase;

use crate::error::{NatsError, SnapshotError};

const MANIFEST: &str = "MANIFEST";

/// Where snapshots are kept: a JetStream object-store bucket, or a prefix
/// in any [`object_store::ObjectStore`]. Cheap to clone.
#[derive(Clone)]
pub struct SnapshotStore {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    JetStream(Box<async_nats::jetstream::object_store::ObjectStore>),
    Objects(Arc<dyn object_store::ObjectStore>, object_store::path::Path),
}

impl fmt::Debug for SnapshotStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.backend {
            Backend::JetStream(_) => f.write_str("SnapshotStore(JetStream object store)"),
            Backend::Objects(store, prefix) => write!(f, "SnapshotStore({store} at {prefix})"),
        }
    }
}

/// A snapshot in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The commit it holds: loaded, it is the database as of this commit.
    pub commit: u64,
    /// Bytes of its files.
    pub bytes: u64,
}

impl SnapshotStore {
    /// Snapshots in the JetStream object-store bucket `bucket`, created
    /// (file storage, `replicas` copies) if missing.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::Store`] when the bucket can be neither found nor
    /// created.
    pub async fn jetstream(
        jetstream: &async_nats::jetstream::Context,
        bucket: &str,
        replicas: usize,
    ) -> Result<Self, SnapshotError> {
        let store = match jetstream.get_object_store(bucket).await {
            Ok(store) => store,
            Err(_) => jetstream
                .create_object_store(async_nats::jetstream::object_store::Config {
                    bucket: bucket.to_owned(),
                    num_replicas: replicas.max(1),
                    ..Default::default()
                })
                .await
                .map_err(|source| store_error("create bucket", source))?,
        };
        Ok(Self {
            backend: Backend::JetStream(Box::new(store)),
        })
    }

    /// Snapshots under `prefix` in `store` (a local directory, S3, GCS,
    /// Azure: whatever `object_store` reaches).
    pub fn object_store(
        store: Arc<dyn object_store::ObjectStore>,
        prefix: object_store::path::Path,
    ) -> Self {
        Self {
            backend: Backend::Objects(store, prefix),
        }
    }

    /// Takes a snapshot of `db` (an online backup: writers go on) and
    /// stores it. Files are staged in a temporary directory.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::Backup`], [`SnapshotError::Io`],
    /// [`SnapshotError::Store`]. A snapshot that failed midway has no
    /// manifest and is never read.
    pub async fn put<D: DatabaseTables>(
        &self,
        db: &DurableDatabase<D>,
    ) -> Result<SnapshotInfo, SnapshotError> {
        let staging = tempfile::tempdir().map_err(|source| io_error(Path::new("."), source))?;
        let report = db.backup_to(staging.path()).await?;
        let mut manifest = String::new();
        let mut bytes = 0;
        for name in files_under(staging.path())? {
            let path = staging.path().join(&name);
            let contents = tokio::fs::read(&path)
                .await
                .map_err(|source| io_error(&path, source))?;
            let crc = crc32c::crc32c(&contents);
            bytes += contents.len() as u64;
            manifest.push_str(&format!("{} {crc:08x} {name}\n", contents.len()));
            self.write(&object_name(report.commit, &name), contents)
                .await?;
        }
        self.write(&object_name(report.commit, MANIFEST), manifest.into_bytes())
            .await?;
        Ok(SnapshotInfo {
            commit: report.commit,
            bytes,
        })
    }

    /// The latest complete snapshot, if any.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::Store`].
    pub async fn latest(&self) -> Result<Option<u64>, SnapshotError> {
        Ok(self.complete().await?.into_iter().max())
    }

    /// Downloads the snapshot at `commit` into `dir` (empty), checking
    /// every file against the manifest.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::Damaged`], [`SnapshotError::Store`],
    /// [`SnapshotError::Io`].
    pub async fn fetch(&self, commit: u64, dir: &Path) -> Result<SnapshotInfo, SnapshotError> {
        let manifest = self.read(&object_name(commit, MANIFEST)).await?;
        let manifest = String::from_utf8(manifest).map_err(|_| damaged(commit, "manifest"))?;
        let mut bytes = 0;
        for line in manifest.lines() {
            let mut fields = line.splitn(3, ' ');
            let (Some(len), Some(crc), Some(name)) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(damaged(commit, "manifest line"));
            };
            let len: usize = len
                .parse()
                .map_err(|_| damaged(commit, "manifest length"))?;
            let crc = u32::from_str_radix(crc, 16).map_err(|_| damaged(commit, "manifest crc"))?;
            if name.split('/').any(|part| part.is_empty() || part == "..") {
                return Err(damaged(commit, &format!("file name {name:?}")));
            }
            let contents = self.read(&object_name(commit, name)).await?;
            if contents.len() != len || crc32c::crc32c(&contents) != crc {
                return Err(damaged(
                    commit,
                    &format!("{name} does not match the manifest"),
                ));
            }
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|source| io_error(parent, source))?;
            }
            tokio::fs::write(&path, &contents)
                .await
                .map_err(|source| io_error(&path, source))?;
            bytes += len as u64;
        }
        Ok(SnapshotInfo { commit, bytes })
    }

    /// Removes every snapshot but the `keep` latest complete ones (and
    /// incomplete ones older than the oldest kept). Returns how many
    /// snapshots were removed.
    ///
    /// # Errors
    ///
    /// [`SnapshotError::Store`].
    pub async fn prune(&self, keep: usize) -> Result<usize, SnapshotError> {
        let mut complete = self.complete().await?;
        complete.sort_unstable();
        let keep = keep.max(1);
        if complete.len() <= keep {
            return Ok(0);
        }
        let oldest_kept = complete[complete.len() - keep];
        let mut removed = std::collections::BTreeSet::new();
        for name in self.names().await? {
            let Some(commit) = commit_of(&name) else {
                continue;
            };
            if commit < oldest_kept {
                self.remove(&name).await?;
                removed.insert(commit);
            }
        }
        Ok(removed.len())
    }

    /// The commits of the complete snapshots.
    async fn complete(&self) -> Result<Vec<u64>, SnapshotError> {
        Ok(self
            .names()
            .await?
            .iter()
            .filter(|name| name.ends_with(&format!("/{MANIFEST}")))
            .filter_map(|name| commit_of(name))
            .collect())
    }

    async fn names(&self) -> Result<Vec<String>, SnapshotError> {
        match &self.backend {
            Backend::JetStream(store) => {
                let mut list = store
                    .list()
                    .await
                    .map_err(|source| store_error("list", source))?;
                let mut names = Vec::new();
                while let Some(info) = list.next().await {
                    let info = info.map_err(|source| store_error("list", source))?;
                    if !info.deleted {
                        names.push(info.name);
                    }
                }
                Ok(names)
            }
            Backend::Objects(store, prefix) => {
                let mut list = store.list(Some(prefix));
                let mut names = Vec::new();
                while let Some(meta) = list.next().await {
                    let meta = meta.map_err(|source| store_error("list", source))?;
                    if let Some(parts) = meta.location.prefix_match(prefix) {
                        let parts: Vec<_> = parts.map(|part| part.as_ref().to_owned()).collect();
                        names.push(parts.join("/"));
                    }
                }
                Ok(names)
            }
        }
    }

    async fn write(&self, name: &str, contents: Vec<u8>) -> Result<(), SnapshotError> {
        match &self.backend {
            Backend::JetStream(store) => {
                store
                    .put(name, &mut contents.as_slice())
                    .await
                    .map_err(|source| store_error("put", source))?;
            }
            Backend::Objects(store, prefix) => {
                let path = child(prefix, name);
                let mut writer = object_store::buffered::BufWriter::new(Arc::clone(store), path);
                writer
                    .write_all(&contents)
                    .await
                    .map_err(|source| store_error("put", source))?;
                writer
                    .shutdown()
                    .await
                    .map_err(|source| store_error("put", source))?;
            }
        }
        Ok(())
    }

    async fn read(&self, name: &str) -> Result<Vec<u8>, SnapshotError> {
        match &self.backend {
            Backend::JetStream(store) => {
                let mut object = store
                    .get(name)
                    .await
                    .map_err(|source| store_error("get", source))?;
                let mut contents = Vec::new();
                object
                    .read_to_end(&mut contents)
                    .await
                    .map_err(|source| store_error("get", source))?;
                Ok(contents)
            }
            Backend::Objects(store, prefix) => {
                let got = store
                    .get(&child(prefix, name))
                    .await
                    .map_err(|source| store_error("get", source))?;
                let bytes = got
                    .bytes()
                    .await
                    .map_err(|source| store_error("get", source))?;
                Ok(bytes.to_vec())
            }
        }
    }

    async fn remove(&self, name: &str) -> Result<(), SnapshotError> {
        match &self.backend {
            Backend::JetStream(store) => store
                .delete(name)
                .await
                .map_err(|source| store_error("delete", source)),
            Backend::Objects(store, prefix) => store
                .delete(&child(prefix, name))
                .await
                .map_err(|source| store_error("delete", source)),
        }
    }
}

fn object_name(commit: u64, file: &str) -> String {
    format!("{commit:020}/{file}")
}

fn commit_of(name: &str) -> Option<u64> {
    let (commit, _) = name.split_once('/')?;
    (commit.len() == 20).then(|| commit.parse().ok())?
}

fn child(prefix: &object_store::path::Path, name: &str) -> object_store::path::Path {
    name.split('/')
        .fold(prefix.clone(), |path, part| path.child(part))
}

/// The files under `dir`, as `/`-separated names relative to it, sorted.
fn files_under(dir: &Path) -> Result<Vec<String>, SnapshotError> {
    let mut names = Vec::new();
    let mut pending = vec![(dir.to_owned(), String::new())];
    while let Some((at, name)) = pending.pop() {
        let entries = std::fs::read_dir(&at).map_err(|source| io_error(&at, source))?;
        for entry in entries {
            let entry = entry.map_err(|source| io_error(&at, source))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            let joined = if name.is_empty() {
                file
            } else {
                format!("{name}/{file}")
            };
            let kind = entry.file_type().map_err(|source| io_error(&at, source))?;
            if kind.is_dir() {
                pending.push((entry.path(), joined));
            } else {
                names.push(joined);
            }
        }
    }
    names.sort();
    Ok(names)
}

fn io_error(path: &Path, source: std::io::Error) -> SnapshotError {
    SnapshotError::Io {
        path: PathBuf::from(path),
        source,
    }
}

fn store_error(op: &'static str, source: impl Into<NatsError>) -> SnapshotError {
    SnapshotError::Store {
        op,
        source: source.into(),
    }
}

fn damaged(commit: u64, reason: &str) -> SnapshotError {
    SnapshotError::Damaged {
        commit,
        reason: reason.to_owned(),
    }
}
