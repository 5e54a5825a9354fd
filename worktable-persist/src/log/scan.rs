//! Reading a segment: the valid records, and what ended them.
//!
//! The policy that separates a torn tail from corruption is described in the
//! [module docs](super) and in `docs/format.md`.

use super::error::LogFault;
use super::record::{Frame, Record, RecordFault};
use super::segment::{HEADER_LEN, SegmentHeader, decode_header};
use crate::file_error::FileError;

/// Everything [`scan`] found in a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan<'a> {
    /// The segment's header.
    pub header: SegmentHeader,
    /// The valid records, in order; their sequence numbers run from
    /// `header.first_seq` without a gap.
    pub records: Vec<Record<'a>>,
    /// Where the valid records end, and what follows them.
    pub tail: Tail,
}

/// Where a segment's valid records end, and what follows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tail {
    /// Length of the valid prefix in bytes, header included. A writer that
    /// appends to this segment must first truncate it to this length (or
    /// zero everything after it) and sync: records it then writes must never
    /// be followed by bytes of an earlier attempt.
    pub valid_len: usize,
    /// The sequence number the next record must have (`None` after a record
    /// with sequence number `u64::MAX`). The next segment's `first_seq` must
    /// equal it.
    pub next_seq: Option<u64>,
    /// What ended the valid records.
    pub end: End,
}

/// What ended a segment's valid records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The last valid record ends exactly at the end of the bytes.
    Clean,
    /// Every byte from `offset` to the end is zero: space that was never
    /// written (a preallocated segment, or a file the file system extended
    /// with zeros before a crash). Nothing is lost; appending resumes at
    /// `offset`.
    ZeroFilled {
        /// Where the zeros start (the valid length).
        offset: usize,
    },
    /// The record at `offset` is damaged and no record after it was written
    /// once it had been synced, so everything from `offset` on was written
    /// after the last fsync that completed: a torn tail, which recovery drops.
    TornTail {
        /// Byte offset of the damaged record (the valid length).
        offset: usize,
        /// What is wrong with it (always a framing or checksum fault).
        reason: RecordFault,
        /// Complete, checksum-valid records found after the damage (written
        /// after the last completed fsync, and dropped with it).
        later_records: usize,
    },
}

/// Reads a whole segment: decodes the header, collects the valid records and
/// decides what ended them.
///
/// # Errors
///
/// - The errors of the segment's header: the checks every file gets,
///   [`FileError::ArchiveFormat`], [`LogFault::HeaderReserved`],
///   [`LogFault::HeaderPadding`].
/// - [`LogFault::Malformed`]: a record whose checksum verifies breaks the
///   format (image lengths that disagree with the body length, an image
///   over 65,535 bytes, an unknown kind, images that are not the ones the
///   kind carries, non-zero reserved bytes, `durable_below > seq`, or a
///   sequence number out of order).
/// - [`LogFault::Corrupt`]: a damaged record is followed by a record that
///   was written after the damaged one had been synced.
///
/// A torn tail is not an error ([`End::TornTail`]). Never panics, whatever
/// `bytes` holds.
///
/// # Example
///
/// ```
/// use worktable_persist::file_error::RecordKind;
/// use worktable_persist::format::ArchiveFormat;
/// use worktable_persist::testing::log::{End, SegmentHeader, encode_header, encode_record, scan};
///
/// let header = SegmentHeader {
///     schema_fingerprint: 7,
///     first_seq: 10,
///     archive_format: ArchiveFormat::current(),
///     database: false,
/// };
/// let mut segment = encode_header(&header).to_vec();
/// encode_record(&mut segment, &header, 10, 10, RecordKind::Insert, b"", b"kept")?;
/// let kept_len = segment.len();
/// encode_record(&mut segment, &header, 11, 10, RecordKind::Insert, b"", b"torn")?;
/// segment.truncate(segment.len() - 2); // a crash cut the last write short
///
/// let scanned = scan(&segment)?;
/// assert_eq!(scanned.records.len(), 1);
/// assert_eq!(scanned.records[0].after, b"kept");
/// assert_eq!(scanned.tail.valid_len, kept_len);
/// assert!(matches!(scanned.tail.end, End::TornTail { offset, .. } if offset == kept_len));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn scan(bytes: &[u8]) -> Result<Scan<'_>, FileError> {
    let mut records = Records::new(bytes)?;
    let header = *records.header();
    let valid = records.by_ref().collect();
    let tail = records.finish()?;
    Ok(Scan {
        header,
        records: valid,
        tail,
    })
}

/// The valid records of a segment, one at a time: [`scan`] without
/// collecting them.
///
/// A record yielded is valid in itself; whether the segment as a whole can
/// be trusted is known only from [`finish`](Self::finish), once every record
/// has been seen. A caller that applies records as they come must discard
/// what it applied if `finish` returns an error.
#[derive(Clone, Debug)]
pub(crate) struct Records<'a> {
    /// The whole segment, header included.
    bytes: &'a [u8],
    header: SegmentHeader,
    /// The header checksum, which seeds every record checksum.
    seed: u32,
    /// Offset of the next record; once `stop` is set, the valid length.
    pos: usize,
    /// Sequence number the record at `pos` must have.
    next_seq: Option<u64>,
    /// Why iteration ended; `None` while records remain.
    stop: Option<Stop>,
}

/// Why [`Records`] stopped, at its `pos`.
#[derive(Clone, Copy, Debug)]
enum Stop {
    /// `pos` is the end of the bytes.
    Clean,
    /// The record at `pos` is torn or damaged.
    Damaged(RecordFault),
    /// The record at `pos` verifies but breaks the format.
    Malformed(RecordFault),
}

impl<'a> Records<'a> {
    /// Decodes the header of `bytes` and positions at its first record.
    ///
    /// # Errors
    ///
    /// The header errors of [`decode_header`].
    pub(crate) fn new(bytes: &'a [u8]) -> Result<Self, FileError> {
        let header = decode_header(bytes)?;
        Ok(Self {
            bytes,
            header,
            seed: header.checksum(),
            pos: HEADER_LEN,
            next_seq: Some(header.first_seq),
            stop: None,
        })
    }

    /// The segment's header.
    pub(crate) fn header(&self) -> &SegmentHeader {
        &self.header
    }

    /// Reads past any records not yet yielded, then decides what ended the
    /// valid records.
    ///
    /// # Errors
    ///
    /// [`LogFault::Malformed`] and [`LogFault::Corrupt`], as for [`scan`].
    pub(crate) fn finish(mut self) -> Result<Tail, FileError> {
        while self.next().is_some() {}
        let offset = self.pos;
        let end = match self.stop {
            None | Some(Stop::Clean) => End::Clean,
            Some(Stop::Malformed(reason)) => {
                return Err(FileError::Log(LogFault::Malformed { offset, reason }));
            }
            Some(Stop::Damaged(reason)) => self.classify_damage(reason)?,
        };
        Ok(Tail {
            valid_len: offset,
            next_seq: self.next_seq,
            end,
        })
    }

    /// Decides whether the damaged record at `self.pos` starts a torn tail
    /// or is corruption in synced data.
    ///
    /// Every byte offset after the damaged record's is tried as the start of
    /// a record. A candidate counts only if it passes every check a record
    /// must pass (its checksum seeded by this segment's header) and its
    /// sequence number is at least the damaged record's. If one of them says
    /// the damaged record had been synced when it was written
    /// (`durable_below > expected`), the damage is in synced data:
    /// [`LogFault::Corrupt`]. Otherwise the damaged record and everything
    /// after it were written after the last completed fsync: a torn tail.
    ///
    /// Cost: one pass over the tail; a checksum is computed only where a
    /// plausible record header is found, so zeros and random bytes are
    /// rejected after a few comparisons.
    fn classify_damage(&self, reason: RecordFault) -> Result<End, FileError> {
        let offset = self.pos;
        let rest = self.bytes.get(offset..).unwrap_or_default();
        if rest.iter().all(|&b| b == 0) {
            return Ok(End::ZeroFilled { offset });
        }
        let mut later_records = 0;
        // After a record with sequence number u64::MAX no record can follow.
        if let Some(expected) = self.next_seq {
            for candidate in offset.saturating_add(1)..self.bytes.len() {
                let Some(record) = self.probe(candidate, expected) else {
                    continue;
                };
                if record.durable_below > expected {
                    return Err(FileError::Log(LogFault::Corrupt {
                        offset,
                        reason,
                        later_offset: candidate,
                        later_seq: record.seq,
                    }));
                }
                later_records += 1;
            }
        }
        Ok(End::TornTail {
            offset,
            reason,
            later_records,
        })
    }

    /// The record at `offset`, if one there passes every check and has a
    /// sequence number of at least `min_seq`. The cheap checks run first;
    /// the checksum last.
    fn probe(&self, offset: usize, min_seq: u64) -> Option<Record<'a>> {
        let frame = Frame::read(self.bytes.get(offset..)?).ok()?;
        let record = frame.parse(offset, self.header.database).ok()?;
        if record.seq < min_seq {
            return None;
        }
        frame.verify(self.seed).ok()?;
        Some(record)
    }

    /// Reads the record at `self.pos`: framing and checksum first (faults a
    /// torn write can cause), then the body's rules and the sequence order
    /// (faults only a writer can cause).
    /// Returns the record and the bytes it occupies.
    fn read_next(&self) -> Result<(Record<'a>, usize), Stop> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let frame = Frame::read(rest).map_err(Stop::Damaged)?;
        frame.verify(self.seed).map_err(Stop::Damaged)?;
        let record = frame
            .parse(self.pos, self.header.database)
            .map_err(Stop::Malformed)?;
        match self.next_seq {
            Some(expected) if record.seq == expected => Ok((record, frame.len())),
            Some(expected) => Err(Stop::Malformed(RecordFault::SeqMismatch {
                expected,
                found: record.seq,
            })),
            None => Err(Stop::Malformed(RecordFault::SeqExhausted {
                found: record.seq,
            })),
        }
    }
}

impl std::iter::FusedIterator for Records<'_> {}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.stop.is_some() {
            return None;
        }
        if self.pos >= self.bytes.len() {
            self.stop = Some(Stop::Clean);
            return None;
        }
        match self.read_next() {
            Ok((record, len)) => {
                // The record lies within `bytes`, so this cannot overflow.
                self.pos = self.pos.saturating_add(len);
                self.next_seq = record.last_number().checked_add(1);
                Some(record)
            }
            Err(stop) => {
                self.stop = Some(stop);
                None
            }
        }
    }
}
