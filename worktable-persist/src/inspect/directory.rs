//! [`Directory`]: what a durable directory holds, read from its metadata
//! (the `meta` file of a table, the `db` file of a database) without
//! writing or locking anything.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::InspectError;
use crate::database::file as db_file;
use crate::format::ArchiveFormat;
use crate::meta::{self, Meta, StoredSchema};
use crate::pages::{self, Manifest};
use crate::table::files::parse_segment_name;
use crate::vfs::RealFs;

/// Which kind of durable directory it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectoryKind {
    /// A [`PersistentTable`](crate::PersistentTable)'s: a `meta` file, one
    /// table.
    Table,
    /// A [`DurableDatabase`](crate::DurableDatabase)'s: a `db` file, its
    /// tables in `t0/`, `t1/`, … and one log for all of them.
    Database {
        /// The database's id, chosen at its creation.
        id: [u8; 16],
    },
}

/// A table of a durable directory, as its metadata describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableInfo {
    /// The table's name in the directory: the database struct's field, or
    /// the table's own name for a table directory.
    pub name: String,
    /// The row type's table name (`Row::TABLE_NAME`).
    pub table_name: String,
    /// The row type's schema, as it was when the files were written.
    pub schema: StoredSchema,
    /// The schema's fingerprint (`Row::SCHEMA_FINGERPRINT`).
    pub schema_fingerprint: u64,
    /// The generation of the checkpoint's manifest; 0 before the first
    /// checkpoint.
    pub generation: u64,
    /// The directory holding the table's page file and manifests.
    pub dir: PathBuf,
}

impl TableInfo {
    /// The path of the manifest of the table's checkpoint, if it has had
    /// one.
    pub fn manifest_path(&self) -> Option<PathBuf> {
        (self.generation > 0).then(|| self.dir.join(pages::manifest_name(self.generation)))
    }

    /// The path of the table's page file.
    pub fn page_file_path(&self) -> PathBuf {
        self.dir.join(pages::PAGE_FILE_NAME)
    }
}

/// A write-ahead log segment of a durable directory.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentFile {
    /// Its path.
    pub path: PathBuf,
    /// The sequence number of its first record, from its name.
    pub first_seq: u64,
    /// Its length in bytes.
    pub len: u64,
}

/// A durable directory (a table's or a database's) opened to be looked at:
/// its metadata, tables and log segments. Nothing is written, created,
/// locked or removed, by this or by any method of it, so it may be a
/// backup, a read-only mount, or a directory a stopped service left.
///
/// A writer may have the directory open meanwhile: its checkpoints replace
/// and remove files, so a look may then fail with a typed error (never
/// a wrong figure from a half-written file: every file is checked).
///
/// ```
/// use worktable_core::prelude::*;
/// use worktable_persist::inspect::{Directory, DirectoryKind, Value};
/// use worktable_persist::{Options, PersistentTable};
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Note {
///     #[pk]
///     id: u64,
///     text: String,
/// }
///
/// let dir = tempfile::tempdir()?;
/// let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// rt.block_on(async {
///     let notes = PersistentTable::<Note>::open(dir.path(), Options::default())?;
///     notes.insert(Note { id: 1, text: "kept".into() }).await?;
///     notes.close().await?;
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })?;
///
/// let found = Directory::open(dir.path())?;
/// assert_eq!(found.kind(), DirectoryKind::Table);
/// assert_eq!(found.tables()[0].table_name, "note");
/// let rows = found.rows(0)?;
/// assert_eq!(rows.fields, ["id", "text"]);
/// assert_eq!(rows.rows, [vec![Value::UInt(1), Value::Text("kept".into())]]);
/// assert!(found.verify(|_| {}).problems.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Directory {
    pub(super) path: PathBuf,
    pub(super) kind: DirectoryKind,
    pub(super) archive_format: ArchiveFormat,
    pub(super) checkpoint_seq: u64,
    pub(super) log_synced_through: u64,
    pub(super) tables: Vec<TableInfo>,
    pub(super) segments: Vec<SegmentFile>,
}

impl Directory {
    /// Reads the metadata of the durable directory at `path` and lists its
    /// log segments.
    ///
    /// # Errors
    ///
    /// - [`InspectError::NotDurable`]: `path` has neither a `meta` nor a
    ///   `db` file.
    /// - [`InspectError::Io`]: a file or the directory cannot be read.
    /// - [`InspectError::File`]: the metadata file is damaged or not one
    ///   this build reads.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, InspectError> {
        let path = path.as_ref().to_owned();
        let names = list(&path)?;
        let segments = segment_files(&path, &names)?;
        if names.iter().any(|name| name == db_file::FILE_NAME) {
            return Self::open_database(path, segments);
        }
        if !names.iter().any(|name| name == meta::FILE_NAME) {
            return Err(InspectError::NotDurable { path });
        }
        let meta = meta::read(&RealFs, &path, meta::FILE_NAME).map_err(InspectError::from_meta)?;
        let table = table_info(meta.table_name.clone(), &meta, path.clone());
        Ok(Self {
            kind: DirectoryKind::Table,
            archive_format: meta.archive_format,
            checkpoint_seq: meta.checkpoint_seq,
            log_synced_through: meta.log_synced_through,
            tables: vec![table],
            segments,
            path,
        })
    }

    fn open_database(path: PathBuf, segments: Vec<SegmentFile>) -> Result<Self, InspectError> {
        let file_path = path.join(db_file::FILE_NAME);
        let file = match db_file::read(&RealFs, &path) {
            Ok(Some(file)) => file,
            Ok(None) => return Err(InspectError::NotDurable { path }),
            Err(db_file::ReadError::Io(source)) => {
                return Err(InspectError::Io {
                    path: file_path,
                    source,
                });
            }
            Err(db_file::ReadError::Decode(source)) => {
                return Err(InspectError::File {
                    path: file_path,
                    source,
                });
            }
        };
        let tables = file
            .tables
            .iter()
            .enumerate()
            .map(|(slot, table)| {
                table_info(
                    table.field.clone(),
                    &table.meta,
                    path.join(format!("t{slot}")),
                )
            })
            .collect();
        Ok(Self {
            kind: DirectoryKind::Database { id: file.id },
            archive_format: file.archive_format,
            checkpoint_seq: file.checkpoint_seq,
            log_synced_through: file.log_synced_through,
            tables,
            segments,
            path,
        })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A table's or a database's directory.
    pub fn kind(&self) -> DirectoryKind {
        self.kind
    }

    /// The rkyv format the rows were written in.
    pub fn archive_format(&self) -> ArchiveFormat {
        self.archive_format
    }

    /// Every change up to this sequence number is in the checkpoint.
    pub fn checkpoint_seq(&self) -> u64 {
        self.checkpoint_seq
    }

    /// Every log record up to this sequence number had been synced when
    /// the metadata was last written.
    pub fn log_synced_through(&self) -> u64 {
        self.log_synced_through
    }

    /// The tables, in slot order (one for a table's directory).
    pub fn tables(&self) -> &[TableInfo] {
        &self.tables
    }

    /// The log segments, by first sequence number, including any that
    /// the checkpoint made obsolete and a writer has not yet removed.
    pub fn segments(&self) -> &[SegmentFile] {
        &self.segments
    }

    /// The table at `slot`.
    ///
    /// # Errors
    ///
    /// [`InspectError::NoSuchTable`] if there is none.
    pub(super) fn table(&self, slot: usize) -> Result<&TableInfo, InspectError> {
        self.tables.get(slot).ok_or(InspectError::NoSuchTable {
            slot,
            tables: self.tables.len(),
        })
    }

    /// The manifest of the checkpoint of the table at `slot`, or `None`
    /// before its first checkpoint.
    ///
    /// # Errors
    ///
    /// [`InspectError::NoSuchTable`]; [`InspectError::Io`] and
    /// [`InspectError::File`] for the manifest; [`InspectError::Mismatch`]
    /// when it is not the one the metadata names.
    pub fn manifest(&self, slot: usize) -> Result<Option<Manifest>, InspectError> {
        let table = self.table(slot)?;
        let Some(path) = table.manifest_path() else {
            return Ok(None);
        };
        let bytes = read(&path)?;
        let manifest = pages::decode_manifest(&bytes).map_err(|source| InspectError::File {
            path: path.clone(),
            source,
        })?;
        if manifest.generation != table.generation
            || manifest.schema_fingerprint != table.schema_fingerprint
        {
            return Err(InspectError::Mismatch {
                path,
                detail: format!(
                    "it is generation {} of schema {:016x}; the metadata names generation {} of schema {:016x}",
                    manifest.generation,
                    manifest.schema_fingerprint,
                    table.generation,
                    table.schema_fingerprint
                ),
            });
        }
        Ok(Some(manifest))
    }
}

fn table_info(name: String, meta: &Meta, dir: PathBuf) -> TableInfo {
    TableInfo {
        name,
        table_name: meta.table_name.clone(),
        schema: meta.schema.clone(),
        schema_fingerprint: meta.schema_fingerprint,
        generation: meta.page_file_generation,
        dir,
    }
}

fn list(path: &Path) -> Result<Vec<String>, InspectError> {
    let io = |source| InspectError::Io {
        path: path.to_owned(),
        source,
    };
    let mut names = Vec::new();
    for entry in fs::read_dir(path).map_err(io)? {
        names.push(
            entry
                .map_err(io)?
                .file_name()
                .to_string_lossy()
                .into_owned(),
        );
    }
    Ok(names)
}

fn segment_files(dir: &Path, names: &[String]) -> Result<Vec<SegmentFile>, InspectError> {
    let mut segments = Vec::new();
    for name in names {
        let Some(first_seq) = parse_segment_name(name) else {
            continue;
        };
        let path = dir.join(name);
        let len = fs::metadata(&path)
            .map_err(|source| InspectError::Io {
                path: path.clone(),
                source,
            })?
            .len();
        segments.push(SegmentFile {
            path,
            first_seq,
            len,
        });
    }
    segments.sort_by_key(|segment| segment.first_seq);
    Ok(segments)
}

/// The whole file at `path`.
pub(super) fn read(path: &Path) -> Result<Vec<u8>, InspectError> {
    fs::read(path).map_err(|source| InspectError::Io {
        path: path.to_owned(),
        source,
    })
}
