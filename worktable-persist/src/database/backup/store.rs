//! Backups to an object store (feature `object-store`): the files of a
//! backup under a prefix, then the manifest `backup` — each file's name,
//! length and CRC32C, the database's id and the commit — written last as
//! the backup's commit point; and the restore, which checks every file
//! against it.
//!
//! The manifest: `magic (b"WTBACKUP") | version: u32 | flags: u32 | id:
//! [u8; 16] | commit: u64 | file_count: u32 | files | crc: u32`, each file
//! `name_len: u16 | name | len: u64 | crc32c: u32`.

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use worktable_core::storage::DatabaseTables;

use super::{BackupError, BackupReport, CHUNK, read_chunk};
use crate::codec::{ChecksumAt, FileFormat, Put, Reader};
use crate::database::DurableDatabase;
use crate::database::file;
use crate::file_error::{FileError, FileKind};
use crate::table::blocking;
use crate::vfs::{RealFs, Vfs};

/// The manifest's name under the backup's prefix.
const MANIFEST: &str = "backup";

/// The backup manifest's format.
const FORMAT: FileFormat = FileFormat {
    file: FileKind::BackupManifest,
    magic: *b"WTBACKUP",
    min_len: 8 + 4 + 4 + 16 + 8 + 4 + 4,
    max_len: 64 << 20,
    min_len_first: false,
    checksum: ChecksumAt::End,
    known_flags: 0,
};

/// One file of a backup, as its manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Listed {
    name: String,
    len: u64,
    crc: u32,
}

/// The decoded manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Manifest {
    id: [u8; 16],
    commit: u64,
    files: Vec<Listed>,
}

fn encode(manifest: &Manifest) -> Vec<u8> {
    FORMAT.encode(Vec::new(), |out| {
        out.put(&manifest.id);
        out.put_u64(manifest.commit);
        out.put_u32(manifest.files.len() as u32);
        for file in &manifest.files {
            out.put_u16(file.name.len() as u16);
            out.put(file.name.as_bytes());
            out.put_u64(file.len);
            out.put_u32(file.crc);
        }
    })
}

fn decode(bytes: &[u8]) -> Result<Manifest, String> {
    let mut fields: Reader<'_> = FORMAT
        .check(bytes)
        .map_err(|e: FileError| e.to_string())?
        .fields;
    let short = || "a field runs past the end".to_owned();
    if fields.remaining() < 16 + 8 + 4 {
        return Err(short());
    }
    let id = fields.array::<16>();
    let commit = fields.u64();
    let count = fields.u32();
    let mut files = Vec::new();
    for _ in 0..count {
        if fields.remaining() < 2 {
            return Err(short());
        }
        let len = usize::from(fields.u16());
        let name = fields.bytes(len).ok_or_else(short)?;
        let name = std::str::from_utf8(name)
            .map_err(|_| "a file name is not UTF-8".to_owned())?
            .to_owned();
        if fields.remaining() < 12 || name.split('/').any(|part| part.is_empty() || part == "..") {
            return Err(format!("file entry {name:?} is not valid"));
        }
        files.push(Listed {
            name,
            len: fields.u64(),
            crc: fields.u32(),
        });
    }
    if fields.remaining() != 0 {
        return Err("bytes follow the last file".into());
    }
    Ok(Manifest { id, commit, files })
}

fn store_error(location: &StorePath) -> impl FnOnce(object_store::Error) -> BackupError + '_ {
    move |source| match source {
        object_store::Error::NotFound { .. } => BackupError::Missing {
            file: location.to_string(),
        },
        source => BackupError::Store {
            location: location.to_string(),
            source,
        },
    }
}

impl<D: DatabaseTables> DurableDatabase<D> {
    /// [`backup_to`](Self::backup_to) into an object store: the files of
    /// the backup under `prefix`, then the manifest `<prefix>/backup` last,
    /// as the backup's commit point. Restore it with
    /// [`restore_from_store`]. Feature `object-store`.
    ///
    /// # Errors
    ///
    /// [`BackupError::Store`] when the store fails (a backup without its
    /// manifest is not restored), and those of `backup_to`.
    pub async fn backup_to_store(
        &self,
        store: &dyn ObjectStore,
        prefix: &StorePath,
    ) -> Result<BackupReport, BackupError> {
        if self.closed() {
            return Err(BackupError::Closed {
                path: self.inner.dir.clone(),
            });
        }
        let inner = Arc::clone(&self.inner);
        // Checkpoints stay paused while the files upload: a checkpoint
        // could otherwise reuse the frames being read.
        let (plan, paused) = {
            let inner = Arc::clone(&inner);
            blocking::on_thread("backup", move || inner.plan_backup())
                .await
                .unwrap_or_else(|source| Err(BackupError::io(&self.inner.dir, source)))?
        };
        let mut files = Vec::with_capacity(plan.parts.len() + 1);
        let mut bytes = 0;
        for part in &plan.parts {
            let location = child(prefix, &part.name);
            let upload = store
                .put_multipart(&location)
                .await
                .map_err(store_error(&location))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, CHUNK);
            let mut crc = 0;
            let mut at = 0;
            while at < part.len {
                let n = usize::try_from(part.len - at).unwrap_or(CHUNK).min(CHUNK);
                let (vfs, path) = (Arc::clone(&inner.vfs), part.path.clone());
                let chunk =
                    blocking::on_thread("backup-read", move || read_chunk(&*vfs, &path, at, n))
                        .await
                        .unwrap_or_else(|source| Err(BackupError::io(&part.path, source)))?;
                crc = crc32c::crc32c_append(crc, &chunk);
                writer
                    .wait_for_capacity(2)
                    .await
                    .map_err(store_error(&location))?;
                writer.write(&chunk);
                at += n as u64;
            }
            writer.finish().await.map_err(store_error(&location))?;
            files.push(Listed {
                name: part.name.clone(),
                len: part.len,
                crc,
            });
            bytes += part.len;
        }
        drop(paused);
        let db_location = child(prefix, file::FILE_NAME);
        store
            .put(&db_location, PutPayload::from(plan.db_file.clone()))
            .await
            .map_err(store_error(&db_location))?;
        files.push(Listed {
            name: file::FILE_NAME.to_owned(),
            len: plan.db_file.len() as u64,
            crc: crc32c::crc32c(&plan.db_file),
        });
        let manifest = Manifest {
            id: inner.checkpointer.id(),
            commit: plan.commit,
            files,
        };
        let location = child(prefix, MANIFEST);
        store
            .put(&location, PutPayload::from(encode(&manifest)))
            .await
            .map_err(store_error(&location))?;
        Ok(BackupReport {
            commit: plan.commit,
            files: manifest.files.len(),
            bytes: bytes + plan.db_file.len() as u64,
        })
    }
}

/// `prefix/name`.
fn child(prefix: &StorePath, name: &str) -> StorePath {
    name.split('/')
        .fold(prefix.clone(), |path, part| path.child(part))
}

/// Restores the backup under `prefix` in `store` into `dir` (a new or
/// empty directory): reads the manifest `backup`, then every file it
/// lists, each checked against its length and CRC32C, the database file
/// last. `dir` then opens with [`DurableDatabase::open`] as the database
/// was at [`BackupReport::commit`]. Feature `object-store`.
///
/// # Errors
///
/// [`BackupError::Missing`] (no manifest: the backup was never completed;
/// or a file it lists), [`BackupError::Damaged`] (the manifest cannot be
/// read, or a file differs from it), [`BackupError::NotEmpty`],
/// [`BackupError::Store`], [`BackupError::Io`]. After an error `dir` holds
/// no database file.
pub async fn restore_from_store(
    store: &dyn ObjectStore,
    prefix: &StorePath,
    dir: impl AsRef<Path>,
) -> Result<BackupReport, BackupError> {
    let dir = dir.as_ref().to_owned();
    let location = child(prefix, MANIFEST);
    let manifest = store
        .get(&location)
        .await
        .map_err(store_error(&location))?
        .bytes()
        .await
        .map_err(store_error(&location))?;
    let manifest = decode(&manifest).map_err(|detail| BackupError::Damaged {
        file: MANIFEST.to_owned(),
        detail,
    })?;
    let vfs = RealFs;
    vfs.create_dir_all(&dir)
        .map_err(|source| BackupError::io(&dir, source))?;
    if !vfs
        .list(&dir)
        .map_err(|source| BackupError::io(&dir, source))?
        .is_empty()
    {
        return Err(BackupError::NotEmpty { dir });
    }
    let mut db_file = None;
    let mut bytes = 0;
    for listed in &manifest.files {
        let location = child(prefix, &listed.name);
        let mut stream = store
            .get(&location)
            .await
            .map_err(store_error(&location))?
            .into_stream();
        let mut content = Vec::with_capacity(usize::try_from(listed.len).unwrap_or(0));
        while let Some(chunk) = stream.next().await {
            content.extend_from_slice(&chunk.map_err(store_error(&location))?);
        }
        let damaged = |detail: String| BackupError::Damaged {
            file: listed.name.clone(),
            detail,
        };
        if content.len() as u64 != listed.len {
            return Err(damaged(format!(
                "{} bytes, the manifest says {}",
                content.len(),
                listed.len
            )));
        }
        if crc32c::crc32c(&content) != listed.crc {
            return Err(damaged("its checksum differs from the manifest's".into()));
        }
        bytes += listed.len;
        if listed.name == file::FILE_NAME {
            db_file = Some(content);
            continue;
        }
        let target = dir.join(&listed.name);
        let write = || -> std::io::Result<()> {
            if let Some(parent) = target.parent() {
                vfs.create_dir_all(parent)?;
            }
            let out = vfs.open(&target, true)?;
            out.write_at(0, &content)?;
            out.sync_all()
        };
        write().map_err(|source| BackupError::io(&target, source))?;
    }
    let Some(db_file) = db_file else {
        return Err(BackupError::Missing {
            file: file::FILE_NAME.to_owned(),
        });
    };
    let decoded = file::decode(&db_file).map_err(|source| BackupError::Damaged {
        file: file::FILE_NAME.to_owned(),
        detail: source.to_string(),
    })?;
    if decoded.id != manifest.id || decoded.log_synced_through != manifest.commit {
        return Err(BackupError::Damaged {
            file: file::FILE_NAME.to_owned(),
            detail: "it is not the database file of this backup".into(),
        });
    }
    for sub in std::iter::once(dir.clone())
        .chain((0..decoded.tables.len()).map(|slot| dir.join(format!("t{slot}"))))
    {
        if vfs.list(&sub).is_ok() {
            vfs.sync_dir(&sub)
                .map_err(|source| BackupError::io(&sub, source))?;
        }
    }
    crate::meta::write_atomically(&vfs, &dir, file::FILE_NAME, &db_file)
        .map_err(|source| BackupError::io(&dir.join(file::FILE_NAME), source))?;
    Ok(BackupReport {
        commit: manifest.commit,
        files: manifest.files.len(),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_round_trip_and_refuse_damage() {
        let manifest = Manifest {
            id: [7; 16],
            commit: 42,
            files: vec![
                Listed {
                    name: "t0/pages".into(),
                    len: 65_536,
                    crc: 9,
                },
                Listed {
                    name: "db".into(),
                    len: 300,
                    crc: 1,
                },
            ],
        };
        let bytes = encode(&manifest);
        assert_eq!(decode(&bytes), Ok(manifest));
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert!(decode(&damaged).is_err(), "byte {at}");
        }
    }
}
