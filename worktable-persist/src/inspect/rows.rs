//! The log's segments one by one ([`Directory::log`]), and a table's rows
//! as recovery would rebuild them ([`Directory::rows`]): the checkpoint's,
//! then the log's changes after it, each commit whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::decode::{RowShape, UnknownField};
use super::directory::{Directory, SegmentFile, read};
use super::error::InspectError;
use super::value::Value;
use crate::log::{self, Record, RecordKind};
use crate::pages::{self, Manifest};

/// What ended a segment's valid records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SegmentEnd {
    /// The last record ends at the end of the file.
    Clean,
    /// Zeros from `offset` on: space never written.
    ZeroFilled {
        /// Where the zeros start.
        offset: u64,
    },
    /// A record cut or damaged by a crash at `offset`, after the last
    /// sync: recovery drops it and what follows.
    TornTail {
        /// Where the torn record starts.
        offset: u64,
        /// Whole records found after it, dropped with it.
        later_records: u64,
    },
}

/// One log segment, read through.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SegmentSummary {
    /// The file.
    pub file: SegmentFile,
    /// Its valid records.
    pub records: u64,
    /// The sequence number of its last valid record.
    pub last_seq: Option<u64>,
    /// What ended its valid records.
    pub end: SegmentEnd,
}

/// A table's rows, read without their Rust type.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rows {
    /// The field names, in declaration order.
    pub fields: Vec<String>,
    /// The primary key's field names, in key order.
    pub pk: Vec<String>,
    /// Each row's values, in the order of `fields`; rows in primary key
    /// order.
    pub rows: Vec<Vec<Value>>,
}

impl Directory {
    /// Reads every log segment through, checking every record's checksum.
    ///
    /// # Errors
    ///
    /// [`InspectError::Io`]; [`InspectError::File`] for a damaged header,
    /// a malformed record, or damage to records that had been synced;
    /// [`InspectError::Mismatch`] for a segment whose header disagrees with
    /// its name.
    pub fn log(&self) -> Result<Vec<SegmentSummary>, InspectError> {
        self.walk_log(|_, _| Ok(()))
    }

    /// Calls `apply` with each valid record of the log, segment by segment,
    /// and sums each segment up.
    pub(super) fn walk_log(
        &self,
        mut apply: impl FnMut(&SegmentFile, &Record<'_>) -> Result<(), InspectError>,
    ) -> Result<Vec<SegmentSummary>, InspectError> {
        let mut summaries = Vec::with_capacity(self.segments.len());
        for file in &self.segments {
            let bytes = read(&file.path)?;
            let scanned = log::scan(&bytes).map_err(|source| InspectError::File {
                path: file.path.clone(),
                source,
            })?;
            if scanned.header.first_seq != file.first_seq {
                return Err(InspectError::Mismatch {
                    path: file.path.clone(),
                    detail: format!(
                        "its header says its first record is {}",
                        scanned.header.first_seq
                    ),
                });
            }
            for record in &scanned.records {
                apply(file, record)?;
            }
            summaries.push(SegmentSummary {
                file: file.clone(),
                records: scanned.records.len() as u64,
                last_seq: scanned.records.last().map(Record::last_number),
                end: match scanned.tail.end {
                    log::End::Clean => SegmentEnd::Clean,
                    log::End::ZeroFilled { offset } => SegmentEnd::ZeroFilled {
                        offset: offset as u64,
                    },
                    log::End::TornTail {
                        offset,
                        later_records,
                        ..
                    } => SegmentEnd::TornTail {
                        offset: offset as u64,
                        later_records: later_records as u64,
                    },
                },
            });
        }
        Ok(summaries)
    }

    /// The rows of the table at `slot` as opening the directory would
    /// rebuild them: the checkpoint's rows, then every commit of the log
    /// after it (a commit cut by a crash at the log's end left out), in
    /// primary key order. Every field is read by the type its schema
    /// names, so this needs no Rust type; the whole table is held in
    /// memory.
    ///
    /// # Errors
    ///
    /// [`InspectError::UnknownType`] when a field's type is the program's
    /// own; [`InspectError::Row`] when a row's bytes do not read; the errors
    /// of [`manifest`](Self::manifest) and [`log`](Self::log); and
    /// [`InspectError::File`] for a damaged page file or frame.
    pub fn rows(&self, slot: usize) -> Result<Rows, InspectError> {
        let table = self.table(slot)?;
        let shape = self.row_shape(slot)?;
        let mut rows = BTreeMap::new();
        if let Some(manifest) = self.manifest(slot)? {
            self.each_checkpoint_row(slot, &manifest, |path, place, bytes| {
                let fields = decode(&shape, bytes, path, place)?;
                rows.insert(shape.key(&fields), fields);
                Ok(())
            })?;
        }
        let database = matches!(self.kind, super::DirectoryKind::Database { .. });
        let mut commit: Vec<(PathBuf, u64, RecordKind, Vec<u8>)> = Vec::new();
        self.walk_log(|file, record| {
            if record.seq <= self.checkpoint_seq {
                return Ok(());
            }
            if !database || usize::from(record.table) == slot {
                let image = match record.kind {
                    RecordKind::Delete => record.before,
                    _ => record.after,
                };
                commit.push((file.path.clone(), record.seq, record.kind, image.to_vec()));
            }
            if record.continues {
                return Ok(());
            }
            for (path, seq, kind, image) in commit.drain(..) {
                let place = format!("record {seq}");
                match kind {
                    RecordKind::Insert | RecordKind::Update => {
                        let fields = decode(&shape, &image, &path, &place)?;
                        rows.insert(shape.key(&fields), fields);
                    }
                    RecordKind::Delete => {
                        let fields = decode(&shape, &image, &path, &place)?;
                        rows.remove(&shape.key(&fields));
                    }
                    RecordKind::Skip => {}
                }
            }
            Ok(())
        })?;
        // What is left in `commit` is a commit the log's end cut short:
        // never acknowledged, and dropped by recovery too.
        Ok(Rows {
            fields: shape.names.clone(),
            pk: table.schema.pk.clone(),
            rows: rows.into_values().collect(),
        })
    }

    /// The shape of the rows of the table at `slot`.
    pub(super) fn row_shape(&self, slot: usize) -> Result<RowShape, InspectError> {
        let table = self.table(slot)?;
        RowShape::new(&table.schema, self.archive_format).map_err(|UnknownField { field, ty }| {
            InspectError::UnknownType {
                table: table.name.clone(),
                field,
                ty: ty.0,
            }
        })
    }

    /// Calls `row` with the bytes of each row of the checkpoint `manifest`
    /// describes, each frame checked against its checksum first.
    pub(super) fn each_checkpoint_row(
        &self,
        slot: usize,
        manifest: &Manifest,
        mut row: impl FnMut(&PathBuf, &str, &[u8]) -> Result<(), InspectError>,
    ) -> Result<(), InspectError> {
        let path = self.table(slot)?.page_file_path();
        let file = read(&path)?;
        let header = pages::decode_header(&file).map_err(|source| InspectError::File {
            path: path.clone(),
            source,
        })?;
        if header.archive_format != self.archive_format {
            return Err(InspectError::Mismatch {
                path,
                detail: format!(
                    "its rows are archived as {}, the metadata's as {}",
                    header.archive_format, self.archive_format
                ),
            });
        }
        for entry in &manifest.pages {
            let body = frame(&file, entry, &path)?;
            for slot_row in &entry.rows {
                let start = usize::from(slot_row.offset);
                let bytes = body
                    .get(start..start + usize::from(slot_row.len))
                    .unwrap_or_default();
                let place = format!("page {}, row at offset {}", entry.page_id, start);
                row(&path, &place, bytes)?;
            }
        }
        Ok(())
    }
}

/// The body of the frame `entry` names in the page file `file`, once its
/// checksum matches the manifest's.
pub(super) fn frame<'a>(
    file: &'a [u8],
    entry: &pages::PageEntry,
    path: &Path,
) -> Result<&'a [u8], InspectError> {
    let mismatch = |detail: &str| InspectError::Mismatch {
        path: path.to_owned(),
        detail: format!("page {} (frame {}): {detail}", entry.page_id, entry.frame),
    };
    let start = usize::try_from(pages::frame_offset(entry.frame)).unwrap_or(usize::MAX);
    let body = start
        .checked_add(pages::FRAME_LEN)
        .and_then(|end| file.get(start..end))
        .ok_or_else(|| mismatch("the frame lies past the end of the file"))?;
    if pages::frame_crc(body) != entry.body_crc {
        return Err(mismatch(
            "the frame's checksum does not match the manifest's",
        ));
    }
    Ok(body)
}

fn decode(
    shape: &RowShape,
    bytes: &[u8],
    path: &Path,
    place: &str,
) -> Result<Vec<Value>, InspectError> {
    shape.decode(bytes).map_err(|source| InspectError::Row {
        path: path.to_owned(),
        place: place.to_owned(),
        source,
    })
}
