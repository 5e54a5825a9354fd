//! [`Directory::verify`]: every checksum of a durable directory, and every
//! row read as its schema describes.

use std::fmt;
use std::path::PathBuf;

use super::directory::{Directory, read};
use super::error::InspectError;
use super::rows::{SegmentEnd, frame};
use crate::log::RecordKind;
use crate::pages;

/// Something wrong that [`Directory::verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// The file at fault.
    pub path: PathBuf,
    /// What is wrong, and where in the file.
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.detail)
    }
}

/// What [`Directory::verify`] checked and found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verification {
    /// Page-file frames whose checksum was checked.
    pub frames: u64,
    /// Log records whose checksum was checked.
    pub records: u64,
    /// Rows (in frames and in log records) read field by field.
    pub rows: u64,
    /// Tables whose rows were checked by checksum only, each with the
    /// reason (a field type the generic view does not read).
    pub unread_tables: Vec<String>,
    /// Every problem found; empty when the directory is sound.
    pub problems: Vec<Problem>,
}

impl Directory {
    /// The number of bytes [`verify`](Self::verify) reads: page files and
    /// log segments, for a progress bar.
    pub fn verify_len(&self) -> u64 {
        let pages: u64 = self
            .tables
            .iter()
            .filter_map(|table| std::fs::metadata(table.page_file_path()).ok())
            .map(|metadata| metadata.len())
            .sum();
        pages + self.segments.iter().map(|segment| segment.len).sum::<u64>()
    }

    /// Checks everything opening the directory would check, and more:
    /// each table's manifest and every frame of its checkpoint against its
    /// checksum, every log record's checksum and numbering, that the log
    /// reaches as far as the metadata says it was synced, and every row
    /// (of the checkpoint and of the log) read field by field by its
    /// schema, when its field types are ones the generic view reads.
    /// `progress` is called with the bytes read so far (up to
    /// [`verify_len`](Self::verify_len)).
    ///
    /// Collects every problem rather than stopping at the first; a torn
    /// tail at the end of the last segment is what a crash leaves, and not
    /// a problem. See [`Directory`] for an example.
    pub fn verify(&self, mut progress: impl FnMut(u64)) -> Verification {
        let mut report = Verification::default();
        let mut done = 0u64;
        for slot in 0..self.tables.len() {
            if let Err(error) = self.verify_checkpoint(slot, &mut report, &mut done, &mut progress)
            {
                report.problems.push(problem(error));
            }
        }
        if let Err(error) = self.verify_log(&mut report, &mut done, &mut progress) {
            report.problems.push(problem(error));
        }
        report
    }

    fn verify_checkpoint(
        &self,
        slot: usize,
        report: &mut Verification,
        done: &mut u64,
        progress: &mut impl FnMut(u64),
    ) -> Result<(), InspectError> {
        let table = &self.tables[slot];
        let shape = match self.row_shape(slot) {
            Ok(shape) => Some(shape),
            Err(error) => {
                report
                    .unread_tables
                    .push(format!("{}: {error}", table.name));
                None
            }
        };
        let Some(manifest) = self.manifest(slot)? else {
            return Ok(());
        };
        let path = table.page_file_path();
        let file = read(&path)?;
        pages::decode_header(&file).map_err(|source| InspectError::File {
            path: path.clone(),
            source,
        })?;
        for entry in &manifest.pages {
            *done += pages::FRAME_LEN as u64;
            progress(*done);
            report.frames += 1;
            let body = match frame(&file, entry, &path) {
                Ok(body) => body,
                Err(error) => {
                    report.problems.push(problem(error));
                    continue;
                }
            };
            let Some(shape) = &shape else { continue };
            for row in &entry.rows {
                let start = usize::from(row.offset);
                // The manifest's rules keep every slot inside the frame.
                let bytes = body
                    .get(start..start + usize::from(row.len))
                    .unwrap_or_default();
                report.rows += 1;
                if let Err(error) = shape.decode(bytes) {
                    report.problems.push(Problem {
                        path: path.clone(),
                        detail: format!("page {}, row at offset {start}: {error}", entry.page_id),
                    });
                }
            }
        }
        Ok(())
    }

    fn verify_log(
        &self,
        report: &mut Verification,
        done: &mut u64,
        progress: &mut impl FnMut(u64),
    ) -> Result<(), InspectError> {
        let shapes: Vec<_> = (0..self.tables.len())
            .map(|slot| self.row_shape(slot).ok())
            .collect();
        let mut problems = Vec::new();
        let mut records = 0u64;
        let mut rows = 0u64;
        let summaries = self.walk_log(|file, record| {
            records += 1;
            let Some(Some(shape)) = shapes.get(usize::from(record.table)) else {
                if shapes.len() <= usize::from(record.table) {
                    problems.push(Problem {
                        path: file.path.clone(),
                        detail: format!(
                            "record {} names table {}, which the directory does not have",
                            record.seq, record.table
                        ),
                    });
                }
                return Ok(());
            };
            if record.kind == RecordKind::Skip {
                return Ok(());
            }
            for image in [record.before, record.after] {
                if image.is_empty() {
                    continue;
                }
                rows += 1;
                if let Err(error) = shape.decode(image) {
                    problems.push(Problem {
                        path: file.path.clone(),
                        detail: format!("record {}: {error}", record.seq),
                    });
                }
            }
            Ok(())
        })?;
        report.records += records;
        report.rows += rows;
        report.problems.append(&mut problems);
        self.check_log_shape(&summaries, report);
        *done += summaries.iter().map(|s| s.file.len).sum::<u64>();
        progress(*done);
        Ok(())
    }

    /// The rules between segments: no gap after the checkpoint, a torn
    /// tail only at the very end, the log as long as the metadata says it
    /// was synced.
    fn check_log_shape(
        &self,
        summaries: &[super::rows::SegmentSummary],
        report: &mut Verification,
    ) {
        let live: Vec<_> = summaries
            .iter()
            .filter(|s| s.file.first_seq > self.checkpoint_seq)
            .collect();
        let mut last_seq = self.checkpoint_seq;
        for (i, summary) in live.iter().enumerate() {
            if summary.file.first_seq != last_seq + 1 {
                report.problems.push(Problem {
                    path: summary.file.path.clone(),
                    detail: format!(
                        "the log has a gap: the previous record is {last_seq}, this segment starts at {}",
                        summary.file.first_seq
                    ),
                });
            }
            if i + 1 < live.len() && matches!(summary.end, SegmentEnd::TornTail { .. }) {
                report.problems.push(Problem {
                    path: summary.file.path.clone(),
                    detail: "a segment that is not the last ends in a torn record".to_owned(),
                });
            }
            last_seq = summary.last_seq.unwrap_or(summary.file.first_seq - 1);
        }
        if last_seq < self.log_synced_through {
            report.problems.push(Problem {
                path: self.path.clone(),
                detail: format!(
                    "the log ends at record {last_seq}, but the metadata says it was synced through {}",
                    self.log_synced_through
                ),
            });
        }
    }
}

/// The problem an error describes.
fn problem(error: InspectError) -> Problem {
    let path = match &error {
        InspectError::NotDurable { path }
        | InspectError::Io { path, .. }
        | InspectError::File { path, .. }
        | InspectError::Mismatch { path, .. }
        | InspectError::Row { path, .. }
        | InspectError::Busy { path }
        | InspectError::DestinationNotEmpty { path }
        | InspectError::BackupInvalid { path, .. } => path.clone(),
        InspectError::NoSuchTable { .. } | InspectError::UnknownType { .. } => PathBuf::new(),
    };
    let detail = match error {
        InspectError::Io { source, .. } => source.to_string(),
        InspectError::File { source, .. } => source.to_string(),
        InspectError::Mismatch { detail, .. } => detail,
        InspectError::Row { place, source, .. } => format!("{place}: {source}"),
        other => other.to_string(),
    };
    Problem { path, detail }
}
