//! One log record: its encoding, and the checks a stored record must pass.
//!
//! A record is a frame `body_len: u32 | crc: u32` followed by a body
//! `seq: u64 | durable_below: u64 | kind: u8 | 3 zero bytes | image_len: u32 |
//! image`. The checksum is CRC32C seeded with the segment header's checksum,
//! over the four length bytes and then the body. `docs/format.md` has the
//! table of offsets.

use super::error::EncodeError;
use super::le::{le_u32, take};
use super::segment::SegmentHeader;

/// Length of a record's frame: `body_len` and `crc`.
pub const FRAME_LEN: usize = 8;

/// Length of the fixed part of a body, before the image.
pub const BODY_HEADER_LEN: usize = 24;

/// The longest row image a record can carry.
pub const MAX_IMAGE_LEN: usize = u16::MAX as usize;

/// The shortest valid `body_len` (an empty image).
const MIN_BODY_LEN: u32 = BODY_HEADER_LEN as u32;

/// The longest valid `body_len`.
const MAX_BODY_LEN: u32 = (BODY_HEADER_LEN + MAX_IMAGE_LEN) as u32;

// Lengths read from a record are u32 and are converted to usize losslessly.
const _: () = assert!(usize::BITS >= 32);

/// What a record says happened to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecordKind {
    /// The row was inserted or updated; the image is the row after the change.
    Put = 1,
    /// The row was deleted; the image is the row before the change.
    Delete = 2,
}

impl RecordKind {
    /// The kind stored as `byte`, if it is one.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Self::Put),
            2 => Some(Self::Delete),
            _ => None,
        }
    }
}

/// A record decoded from a segment. The image borrows the segment's bytes.
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
    /// Put or delete.
    pub kind: RecordKind,
    /// The row's rkyv-archived bytes (after a put, before a delete).
    pub image: &'a [u8],
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
    /// `body_len` is below 24 or above 24 + 65,535.
    #[error("body length {body_len} is outside the valid range 24..=65559")]
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
    /// `image_len` disagrees with `body_len`.
    #[error("image length {image_len} does not equal body length {body_len} minus 24")]
    ImageLenMismatch {
        /// The stored `body_len`.
        body_len: u32,
        /// The stored `image_len`.
        image_len: u32,
    },
    /// The kind byte is neither 1 (put) nor 2 (delete).
    #[error("unknown record kind {kind} (expected 1 = put or 2 = delete)")]
    UnknownKind {
        /// The stored kind byte.
        kind: u8,
    },
    /// The three reserved bytes after the kind are not zero.
    #[error("reserved bytes after the kind are not zero")]
    ReservedNotZero,
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
/// been fsync'd. Nothing is allocated beyond `out`'s own growth (one
/// `reserve`).
///
/// # Errors
///
/// - [`EncodeError::ImageTooLong`] if `image` is longer than 65,535 bytes.
/// - [`EncodeError::DurableBeyondSeq`] if `durable_below > seq`.
///
/// On error `out` is unchanged.
///
/// # Example
///
/// ```
/// use worktable_persist::log::{RecordKind, SegmentHeader, encode_header, encode_record, scan};
///
/// let header = SegmentHeader { schema_fingerprint: 7, first_seq: 1 };
/// let mut segment = encode_header(&header).to_vec();
/// encode_record(&mut segment, &header, 1, 1, RecordKind::Put, b"row one")?;
/// encode_record(&mut segment, &header, 2, 2, RecordKind::Delete, b"row one")?;
///
/// let scanned = scan(&segment)?;
/// assert_eq!(scanned.records.len(), 2);
/// assert_eq!(scanned.records[1].image, b"row one");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_record(
    out: &mut Vec<u8>,
    header: &SegmentHeader,
    seq: u64,
    durable_below: u64,
    kind: RecordKind,
    image: &[u8],
) -> Result<(), EncodeError> {
    if image.len() > MAX_IMAGE_LEN {
        return Err(EncodeError::ImageTooLong { len: image.len() });
    }
    if durable_below > seq {
        return Err(EncodeError::DurableBeyondSeq { durable_below, seq });
    }
    // At most 65,535 by the check above, so both fit in u32.
    let image_len = image.len() as u32;
    let body_len = MIN_BODY_LEN + image_len;

    let len_bytes = body_len.to_le_bytes();
    let mut body_header = [0u8; BODY_HEADER_LEN];
    let (seq_bytes, rest) = body_header.split_at_mut(8);
    seq_bytes.copy_from_slice(&seq.to_le_bytes());
    let (durable_bytes, rest) = rest.split_at_mut(8);
    durable_bytes.copy_from_slice(&durable_below.to_le_bytes());
    let (kind_and_reserved, image_len_bytes) = rest.split_at_mut(4);
    kind_and_reserved.copy_from_slice(&[kind as u8, 0, 0, 0]);
    image_len_bytes.copy_from_slice(&image_len.to_le_bytes());

    let crc = crc32c::crc32c_append(header.checksum(), &len_bytes);
    let crc = crc32c::crc32c_append(crc, &body_header);
    let crc = crc32c::crc32c_append(crc, image);

    out.reserve(FRAME_LEN + BODY_HEADER_LEN + image.len());
    out.extend_from_slice(&len_bytes);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&body_header);
    out.extend_from_slice(image);
    Ok(())
}

/// A record's frame and body as stored, before the body is checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame<'a> {
    /// The stored `body_len`, within 24..=65559.
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
        let Some((frame, after)) = rest.split_first_chunk::<FRAME_LEN>() else {
            return Err(RecordFault::TruncatedFrame {
                available: rest.len(),
            });
        };
        let (len_bytes, crc_bytes) = frame.split_at(4);
        let body_len = le_u32(len_bytes);
        if !(MIN_BODY_LEN..=MAX_BODY_LEN).contains(&body_len) {
            return Err(RecordFault::BodyLenOutOfRange { body_len });
        }
        let Some(body) = after.get(..body_len as usize) else {
            return Err(RecordFault::TruncatedBody {
                body_len,
                available: after.len(),
            });
        };
        Ok(Self {
            body_len,
            stored_crc: le_u32(crc_bytes),
            body,
        })
    }

    /// Bytes the whole record occupies: frame and body.
    pub(crate) fn len(&self) -> usize {
        // body_len <= 65,559: no overflow.
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
    pub(crate) fn parse(&self, offset: usize) -> Result<Record<'a>, RecordFault> {
        // Frame::read guarantees body.len() == body_len >= 24, so every split
        // below succeeds; a short body would read as zeros, never panic.
        let (seq, rest) = take::<8>(self.body);
        let (durable_below, rest) = take::<8>(rest);
        let (kind_and_reserved, rest) = take::<4>(rest);
        let (image_len, image) = take::<4>(rest);
        let seq = u64::from_le_bytes(seq);
        let durable_below = u64::from_le_bytes(durable_below);
        let image_len = u32::from_le_bytes(image_len);
        let [kind, reserved @ ..] = kind_and_reserved;

        if u64::from(image_len) + BODY_HEADER_LEN as u64 != u64::from(self.body_len) {
            return Err(RecordFault::ImageLenMismatch {
                body_len: self.body_len,
                image_len,
            });
        }
        let Some(kind) = RecordKind::from_byte(kind) else {
            return Err(RecordFault::UnknownKind { kind });
        };
        if reserved != [0; 3] {
            return Err(RecordFault::ReservedNotZero);
        }
        if durable_below > seq {
            return Err(RecordFault::DurableBeyondSeq { durable_below, seq });
        }
        Ok(Record {
            offset,
            seq,
            durable_below,
            kind,
            image,
        })
    }
}
