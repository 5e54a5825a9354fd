//! One log record: its encoding, and the checks a stored record must pass.
//!
//! A record is a frame `body_len: u32 | crc: u32` followed by a body
//! `seq: u64 | durable_below: u64 | kind: u8 | table: u16 | flags: u8 |
//! before_len: u32 | after_len: u32 | before image | after image`; `table`
//! and `flags` are zero in a table's own log, and in a database's log name
//! the table (its slot) and say whether more records of the commit follow
//! (flag 1). The checksum is
//! CRC32C seeded with the segment header's checksum, over the four length
//! bytes and then the body. `docs/format.md` has the table of offsets.

use std::fmt;

use super::error::EncodeError;
use super::segment::SegmentHeader;
use crate::codec::{Put, Reader};

/// Length of a record's frame: `body_len` and `crc`.
pub(crate) const FRAME_LEN: usize = 8;

/// Length of the fixed part of a body, before the images.
pub(crate) const BODY_HEADER_LEN: usize = 28;

/// The longest row image a record can carry, before or after.
pub(crate) const MAX_IMAGE_LEN: usize = u16::MAX as usize;

/// The shortest `body_len` the framing accepts (no image; only a
/// checksum-valid record can then be found to break a rule).
const MIN_BODY_LEN: u32 = BODY_HEADER_LEN as u32;

/// The longest `body_len` the framing accepts: two images of the largest
/// size.
const MAX_BODY_LEN: u32 = (BODY_HEADER_LEN + 2 * MAX_IMAGE_LEN) as u32;

// Lengths read from a record are u32 and are converted to usize losslessly.
const _: () = assert!(usize::BITS >= 32);

/// What a record says happened to a row, and so which images it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordKind {
    /// The row was inserted: the record carries the row after the change
    /// and no before image.
    Insert = 1,
    /// The row was replaced: the record carries the row before and the row
    /// after the change.
    Update = 2,
    /// The row was deleted: the record carries the row before the change
    /// and no after image.
    Delete = 3,
    /// The numbers from the record's own to the one its 8-byte after image
    /// holds (little-endian) were given to commits the log does not hold —
    /// a bulk load, which a checkpoint writes. A commit of its own; the
    /// next record is numbered after the range.
    Skip = 4,
}

impl RecordKind {
    /// The kind stored as `byte`, if it is one.
    pub(crate) fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Insert),
            2 => Some(Self::Update),
            3 => Some(Self::Delete),
            4 => Some(Self::Skip),
            _ => None,
        }
    }

    /// Whether images of these lengths are the ones this kind carries (an
    /// empty image is none).
    fn fits(self, before_len: usize, after_len: usize) -> bool {
        match self {
            Self::Insert => before_len == 0 && after_len > 0,
            Self::Update => before_len > 0 && after_len > 0,
            Self::Delete => before_len > 0 && after_len == 0,
            Self::Skip => before_len == 0 && after_len == 8,
        }
    }

    /// The images this kind carries, in words, for error messages.
    pub(crate) fn shape(self) -> &'static str {
        match self {
            Self::Insert => "an insert has an after image and no before image",
            Self::Update => "an update has both a before and an after image",
            Self::Delete => "a delete has a before image and no after image",
            Self::Skip => "a skip has no before image and an 8-byte after image",
        }
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Skip => "skip",
        })
    }
}

/// One of a record's two images, as named in errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageRole {
    /// The row before the change.
    Before,
    /// The row after the change.
    After,
}

impl fmt::Display for ImageRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Before => "before image",
            Self::After => "after image",
        })
    }
}

/// A record decoded from a segment. The images borrow the segment's bytes.
///
/// Its images are the ones its kind carries: `after` alone for an insert,
/// both for an update, `before` alone for a delete (the other is empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Record<'a> {
    /// Byte offset of the record's frame in the segment.
    pub offset: usize,
    /// The record's sequence number.
    pub seq: u64,
    /// Every record with a smaller sequence number had been fsync'd when this
    /// record was written. Recovery uses it to tell a torn tail from damage
    /// in data that had been synced; never greater than `seq`.
    pub durable_below: u64,
    /// Insert, update or delete.
    pub kind: RecordKind,
    /// The row's rkyv-archived bytes before the change; empty for an
    /// insert.
    pub before: &'a [u8],
    /// The row's rkyv-archived bytes after the change; empty for a delete.
    pub after: &'a [u8],
    /// The table the record changes, by its slot in the database (0 in a
    /// table's own log).
    pub table: u16,
    /// More records of the same commit follow this one (always `false` in
    /// a table's own log, whose commits are one record each). Recovery
    /// applies a commit only once it has read its last record.
    pub continues: bool,
}

impl<'a> Record<'a> {
    /// The last number the record takes: its own, or for a
    /// [`RecordKind::Skip`] the end of the range it skips.
    pub fn last_number(&self) -> u64 {
        match self.kind {
            RecordKind::Skip => self
                .after
                .first_chunk::<8>()
                .map_or(self.seq, |bytes| u64::from_le_bytes(*bytes)),
            _ => self.seq,
        }
    }

    /// The image replay applies: the row after an insert or an update
    /// (which replaces the row of its key), the row before a delete (whose
    /// key is removed).
    ///
    /// ```
    /// use worktable_persist::file_error::RecordKind;
    /// use worktable_persist::format::ArchiveFormat;
    /// use worktable_persist::testing::log::{SegmentHeader, encode_header, encode_record, scan};
    ///
    /// let header = SegmentHeader {
    ///     schema_fingerprint: 7,
    ///     first_seq: 1,
    ///     archive_format: ArchiveFormat::current(),
    ///     database: false,
    /// };
    /// let mut segment = encode_header(&header).to_vec();
    /// encode_record(&mut segment, &header, 1, 1, RecordKind::Update, b"old", b"new")?;
    /// encode_record(&mut segment, &header, 2, 2, RecordKind::Delete, b"new", b"")?;
    ///
    /// let rows: Vec<&[u8]> = scan(&segment)?.records.iter().map(|r| r.row()).collect();
    /// assert_eq!(rows, [b"new", b"new"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(any(test, feature = "testing"))]
    pub fn row(&self) -> &'a [u8] {
        match self.kind {
            RecordKind::Insert | RecordKind::Update => self.after,
            RecordKind::Delete => self.before,
            RecordKind::Skip => &[],
        }
    }
}

/// Why a stored record was rejected.
///
/// The first three are framing faults and the fourth a checksum mismatch:
/// what a torn or damaged write produces. The others can only be found in a
/// record whose checksum verifies, that is, one written like that.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum RecordFault {
    /// Fewer than 8 bytes remain, so not even the frame is complete.
    #[error("only {available} bytes remain, fewer than the 8-byte record frame")]
    TruncatedFrame {
        /// Bytes left in the segment.
        available: usize,
    },
    /// `body_len` is below 28 or above 28 + 2 × 65,535.
    #[error("body length {body_len} is outside the valid range {MIN_BODY_LEN}..={MAX_BODY_LEN}")]
    BodyLenOutOfRange {
        /// The stored `body_len`.
        body_len: u32,
    },
    /// The body runs past the end of the segment.
    #[error(
        "body length {body_len} runs past the end of the segment ({available} bytes remain after the frame)"
    )]
    TruncatedBody {
        /// The stored `body_len`.
        body_len: u32,
        /// Bytes left after the frame.
        available: usize,
    },
    /// The stored checksum does not match the length and body.
    #[error("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    ChecksumMismatch {
        /// The stored checksum.
        stored: u32,
        /// The checksum of the stored length and body.
        computed: u32,
    },
    /// `before_len + after_len` disagrees with `body_len`.
    #[error(
        "image lengths {before_len} (before) and {after_len} (after) do not add up to body length {body_len} minus {BODY_HEADER_LEN}"
    )]
    ImageLenMismatch {
        /// The stored `body_len`.
        body_len: u32,
        /// The stored `before_len`.
        before_len: u32,
        /// The stored `after_len`.
        after_len: u32,
    },
    /// An image is longer than a record carries: 65,535 bytes.
    #[error("{image} is {len} bytes long, over the maximum of {MAX_IMAGE_LEN}")]
    ImageTooLong {
        /// Which image.
        image: ImageRole,
        /// Its stored length.
        len: u32,
    },
    /// The kind byte is not 1 (insert), 2 (update), 3 (delete) or 4
    /// (skip).
    #[error("unknown record kind {kind} (expected 1 = insert, 2 = update, 3 = delete or 4 = skip)")]
    UnknownKind {
        /// The stored kind byte.
        kind: u8,
    },
    /// The images are not the ones the kind carries.
    #[error(
        "a record of kind {kind} has a before image of {before_len} bytes and an after image of {after_len} bytes, but {}",
        kind.shape()
    )]
    ShapeMismatch {
        /// The stored kind.
        kind: RecordKind,
        /// The stored `before_len`.
        before_len: u32,
        /// The stored `after_len`.
        after_len: u32,
    },
    /// A skip record's range ends before its own number.
    #[error("the skip record numbered {seq} ends before its own number")]
    SkipBackwards {
        /// The record's number.
        seq: u64,
    },
    /// The three bytes after the kind are not zero in a table's own log.
    #[error("reserved bytes after the kind are not zero")]
    ReservedNotZero,
    /// A record of a database's log has a flag other than 1 (more records
    /// of the commit follow).
    #[error("unknown record flags {flags:#04x} (only 0x01, more of the commit follows, is known)")]
    UnknownRecordFlags {
        /// The stored flags byte.
        flags: u8,
    },
    /// `durable_below` is greater than the record's own sequence number.
    #[error("durable mark {durable_below} is past the record's own sequence number {seq}")]
    DurableBeyondSeq {
        /// The stored `durable_below`.
        durable_below: u64,
        /// The stored `seq`.
        seq: u64,
    },
    /// The sequence number is not the one that must come next.
    #[error("sequence number {found} where {expected} must come next")]
    SeqMismatch {
        /// The sequence number the record must have.
        expected: u64,
        /// The stored one.
        found: u64,
    },
    /// A record follows the one with sequence number `u64::MAX`.
    #[error("sequence number {found} follows the last possible one ({})", u64::MAX)]
    SeqExhausted {
        /// The stored sequence number.
        found: u64,
    },
}

impl RecordFault {
    /// Whether a torn or damaged write can produce this fault. The others
    /// come from a record whose checksum verifies.
    ///
    /// ```
    /// use worktable_persist::file_error::RecordFault;
    ///
    /// assert!(RecordFault::ChecksumMismatch { stored: 1, computed: 2 }.is_damage());
    /// assert!(!RecordFault::SeqMismatch { expected: 5, found: 7 }.is_damage());
    /// ```
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            Self::TruncatedFrame { .. }
                | Self::BodyLenOutOfRange { .. }
                | Self::TruncatedBody { .. }
                | Self::ChecksumMismatch { .. }
        )
    }
}

/// Appends one record to `out`.
///
/// `header` is the header of the segment the record goes to: its checksum
/// seeds the record checksum. `durable_below` is the writer's durable mark
/// when the record is encoded: every record with a smaller sequence number has
/// been fsync'd. `before` and `after` are the row's images before and after
/// the change: an insert has only `after` (`before` is empty), an update
/// both, a delete only `before`. Nothing is allocated beyond `out`'s own
/// growth (one `reserve`).
///
/// # Errors
///
/// In this order:
///
/// - [`EncodeError::ImageTooLong`] if `before`, then if `after`, is longer
///   than 65,535 bytes.
/// - [`EncodeError::ShapeMismatch`] if the images are not the ones `kind`
///   carries.
/// - [`EncodeError::DurableBeyondSeq`] if `durable_below > seq`.
///
/// On error `out` is unchanged.
///
/// # Example
///
/// ```
/// use worktable_persist::file_error::RecordKind;
/// use worktable_persist::format::ArchiveFormat;
/// use worktable_persist::testing::log::{SegmentHeader, encode_header, encode_record, scan};
///
/// let header = SegmentHeader {
///     schema_fingerprint: 7,
///     first_seq: 1,
///     archive_format: ArchiveFormat::current(),
///     database: false,
/// };
/// let mut segment = encode_header(&header).to_vec();
/// encode_record(&mut segment, &header, 1, 1, RecordKind::Insert, b"", b"row one")?;
/// encode_record(&mut segment, &header, 2, 2, RecordKind::Delete, b"row one", b"")?;
/// // A delete carries no after image.
/// assert!(encode_record(&mut segment, &header, 3, 3, RecordKind::Delete, b"x", b"y").is_err());
///
/// let scanned = scan(&segment)?;
/// assert_eq!(scanned.records.len(), 2);
/// assert_eq!(scanned.records[1].before, b"row one");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(any(test, feature = "testing"))]
pub fn encode_record(
    out: &mut Vec<u8>,
    header: &SegmentHeader,
    seq: u64,
    durable_below: u64,
    kind: RecordKind,
    before: &[u8],
    after: &[u8],
) -> Result<(), EncodeError> {
    let stamp = Stamp {
        seq,
        durable_below,
        place: Place::default(),
    };
    encode_placed(out, header, stamp, kind, before, after)
}

/// Where a record of a database's log belongs: its table and whether more
/// records of its commit follow. The default (table 0, last of its
/// commit) is what a table's own log holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Place {
    /// The table's slot.
    pub table: u16,
    /// More records of the commit follow.
    pub continues: bool,
}

/// A record's numbers and place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// The record's sequence number.
    pub seq: u64,
    /// The writer's durable mark (see [`Record::durable_below`]).
    pub durable_below: u64,
    /// Its table and commit (zero in a table's own log).
    pub place: Place,
}

/// [`encode_record`] with the record's place in a database's log.
///
/// # Errors
///
/// Those of [`encode_record`]; and [`EncodeError::PlaceOutsideDatabase`]
/// for a place other than the default in a table's own log.
pub fn encode_placed(
    out: &mut Vec<u8>,
    header: &SegmentHeader,
    stamp: Stamp,
    kind: RecordKind,
    before: &[u8],
    after: &[u8],
) -> Result<(), EncodeError> {
    let Stamp {
        seq,
        durable_below,
        place,
    } = stamp;
    for (image, bytes) in [(ImageRole::Before, before), (ImageRole::After, after)] {
        if bytes.len() > MAX_IMAGE_LEN {
            return Err(EncodeError::ImageTooLong {
                image,
                len: bytes.len(),
            });
        }
    }
    if !kind.fits(before.len(), after.len()) {
        return Err(EncodeError::ShapeMismatch {
            kind,
            before_len: before.len(),
            after_len: after.len(),
        });
    }
    if durable_below > seq {
        return Err(EncodeError::DurableBeyondSeq { durable_below, seq });
    }
    if !header.database && place != Place::default() {
        return Err(EncodeError::PlaceOutsideDatabase);
    }
    // Each at most 65,535 by the check above, so all three fit in u32.
    let before_len = before.len() as u32;
    let after_len = after.len() as u32;
    let body_len = MIN_BODY_LEN + before_len + after_len;

    let start = out.len();
    out.reserve(FRAME_LEN + BODY_HEADER_LEN + before.len() + after.len());
    out.put_u32(body_len);
    out.put_u32(0); // the checksum, set below once the body is written
    out.put_u64(seq);
    out.put_u64(durable_below);
    out.put_u8(kind as u8);
    out.put_u16(place.table);
    out.put_u8(u8::from(place.continues));
    out.put_u32(before_len);
    out.put_u32(after_len);
    out.put(before);
    out.put(after);

    // The record just written: its frame is there.
    let record = out.get_mut(start..).unwrap_or_default();
    if let Some((frame, body)) = record.split_at_mut_checked(FRAME_LEN) {
        let (len_bytes, crc_bytes) = frame.split_at_mut(4);
        let crc = crc32c::crc32c_append(header.checksum(), len_bytes);
        let crc = crc32c::crc32c_append(crc, body);
        crc_bytes.copy_from_slice(&crc.to_le_bytes());
    }
    Ok(())
}

/// A record's frame and body as stored, before the body is checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame<'a> {
    /// The stored `body_len`, within 28..=131098.
    body_len: u32,
    /// The stored checksum.
    stored_crc: u32,
    /// `body_len` bytes of body.
    body: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Reads the frame at the start of `rest` (the bytes from the record's
    /// offset to the end of the segment).
    pub(crate) fn read(rest: &'a [u8]) -> Result<Self, RecordFault> {
        if rest.len() < FRAME_LEN {
            return Err(RecordFault::TruncatedFrame {
                available: rest.len(),
            });
        }
        let mut frame = Reader::new(rest);
        let body_len = frame.u32();
        let stored_crc = frame.u32();
        if !(MIN_BODY_LEN..=MAX_BODY_LEN).contains(&body_len) {
            return Err(RecordFault::BodyLenOutOfRange { body_len });
        }
        let Some(body) = frame.bytes(body_len as usize) else {
            return Err(RecordFault::TruncatedBody {
                body_len,
                available: frame.remaining(),
            });
        };
        Ok(Self {
            body_len,
            stored_crc,
            body,
        })
    }

    /// Bytes the whole record occupies: frame and body.
    pub(crate) fn len(&self) -> usize {
        // body_len <= 131,098: no overflow.
        FRAME_LEN + self.body_len as usize
    }

    /// Checks the stored checksum; `seed` is the segment header's checksum.
    pub(crate) fn verify(&self, seed: u32) -> Result<(), RecordFault> {
        let crc = crc32c::crc32c_append(seed, &self.body_len.to_le_bytes());
        let computed = crc32c::crc32c_append(crc, self.body);
        if computed == self.stored_crc {
            Ok(())
        } else {
            Err(RecordFault::ChecksumMismatch {
                stored: self.stored_crc,
                computed,
            })
        }
    }

    /// Checks the body's fixed fields (all but the sequence order) and
    /// returns the record found at `offset`. Does not verify the checksum.
    ///
    /// The checks, in this order: the image lengths add up to the body's;
    /// each image is at most [`MAX_IMAGE_LEN`]; the kind is known; the
    /// images are the ones the kind carries; the reserved bytes are zero;
    /// `durable_below <= seq`. The first is the most selective on random
    /// bytes, which keeps the search for a witness cheap.
    pub(crate) fn parse(&self, offset: usize, database: bool) -> Result<Record<'a>, RecordFault> {
        // Frame::read guarantees body.len() == body_len >= 28, so every
        // fixed-width read below is in range.
        let mut body = Reader::new(self.body);
        let seq = body.u64();
        let durable_below = body.u64();
        let kind = body.u8();
        let table = body.u16();
        let flags = body.u8();
        let before_len = body.u32();
        let after_len = body.u32();
        let images = body.rest();

        let mismatch = RecordFault::ImageLenMismatch {
            body_len: self.body_len,
            before_len,
            after_len,
        };
        if u64::from(before_len) + u64::from(after_len) + BODY_HEADER_LEN as u64
            != u64::from(self.body_len)
        {
            return Err(mismatch);
        }
        for (image, len) in [
            (ImageRole::Before, before_len),
            (ImageRole::After, after_len),
        ] {
            if len as usize > MAX_IMAGE_LEN {
                return Err(RecordFault::ImageTooLong { image, len });
            }
        }
        let Some(kind) = RecordKind::from_byte(kind) else {
            return Err(RecordFault::UnknownKind { kind });
        };
        if !kind.fits(before_len as usize, after_len as usize) {
            return Err(RecordFault::ShapeMismatch {
                kind,
                before_len,
                after_len,
            });
        }
        if !database && (table != 0 || flags != 0) {
            return Err(RecordFault::ReservedNotZero);
        }
        if flags & !1 != 0 {
            return Err(RecordFault::UnknownRecordFlags { flags });
        }
        if durable_below > seq {
            return Err(RecordFault::DurableBeyondSeq { durable_below, seq });
        }
        // The lengths add up to the images' bytes (checked above).
        let Some((before, after)) = images.split_at_checked(before_len as usize) else {
            return Err(mismatch);
        };
        if kind == RecordKind::Skip
            && after
                .first_chunk::<8>()
                .is_none_or(|last| u64::from_le_bytes(*last) < seq)
        {
            return Err(RecordFault::SkipBackwards { seq });
        }
        Ok(Record {
            offset,
            seq,
            durable_below,
            kind,
            before,
            after,
            table,
            continues: flags & 1 != 0,
        })
    }
}
