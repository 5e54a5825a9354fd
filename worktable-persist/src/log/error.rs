//! Errors of the log codec: one enum for decoding, one for encoding.
//!
//! Messages name the byte offset in the segment; the caller adds the path.

use super::record::{ImageRole, RecordFault, RecordKind};
use crate::format::ArchiveFormatError;
use crate::version;

/// Why a log segment cannot be read.
///
/// Returned by [`decode_header`](super::decode_header),
/// [`scan`](fn@super::scan) and [`Records::finish`](super::Records::finish). A
/// torn tail is *not* an error: it is reported as
/// [`End::TornTail`](super::End::TornTail) with the records before it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The segment is shorter than its 48-byte header.
    #[error(
        "log segment is {len} bytes long, shorter than its {header_len}-byte header",
        header_len = super::HEADER_LEN
    )]
    HeaderTooShort {
        /// The segment's length.
        len: usize,
    },
    /// The segment does not start with `b"WTLOG\0\0\0"`.
    #[error("not a log segment: bytes 0..8 are \"{}\", not the log magic \"WTLOG\\0\\0\\0\"", found.escape_ascii())]
    BadMagic {
        /// The first 8 bytes.
        found: [u8; 8],
    },
    /// The header's format version is not the one this build reads: an
    /// older version (no converter exists), or a newer one.
    #[error(
        "{}",
        version::UnsupportedVersion { file: "log segment", found: *found, supported: *supported }
    )]
    UnsupportedVersion {
        /// The stored version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The header checksum does not match bytes 0..40.
    #[error(
        "log segment header is damaged: checksum at byte offset 40 is {stored:#010x}, but bytes 0..40 sum to {computed:#010x}"
    )]
    HeaderChecksum {
        /// The stored checksum.
        stored: u32,
        /// The checksum of bytes 0..40.
        computed: u32,
    },
    /// The header sets flags, none of which version 2 defines.
    #[error(
        "log segment header sets flags {flags:#010x} (bytes 12..16), which this build does not know"
    )]
    UnsupportedFlags {
        /// The stored flags.
        flags: u32,
    },
    /// The header's archive format (bytes 32..36) is not one: its checksum
    /// verifies, so it was written that way.
    #[error(
        "log segment header has a valid checksum but its archive format (bytes 32..36) is not one: {reason}; it was written that way"
    )]
    ArchiveFormat {
        /// What is wrong with the 4 bytes.
        reason: ArchiveFormatError,
    },
    /// The header's reserved bytes (36..40) are not zero: its checksum
    /// verifies, so it was written that way.
    #[error(
        "log segment header has a valid checksum but non-zero reserved bytes 36..40: it was written that way"
    )]
    HeaderReserved,
    /// The header's padding (bytes 44..48), which the checksum does not
    /// cover, is not zero.
    #[error("log segment header has non-zero padding in bytes 44..48")]
    HeaderPadding,
    /// A record whose checksum verifies breaks the format: it was written
    /// that way (by a faulty or newer writer), which no crash can cause, so
    /// it is not treated as a torn tail.
    #[error(
        "log record at byte offset {offset} has a valid checksum but is malformed: {reason}; it was written that way, so the log cannot be trusted past it"
    )]
    Malformed {
        /// Byte offset of the record's frame.
        offset: usize,
        /// The rule it breaks.
        reason: RecordFault,
    },
    /// A damaged record is followed by a record written after the damaged
    /// one had been fsync'd: the damage is in synced data, not a torn tail,
    /// and truncating there would drop acknowledged writes.
    #[error(
        "log record at byte offset {offset} is damaged ({reason}), but the record with sequence number {later_seq} at byte offset {later_offset} was written after it had been synced: the log is corrupt, not torn"
    )]
    Corrupt {
        /// Byte offset of the damaged record's frame.
        offset: usize,
        /// What is wrong with it.
        reason: RecordFault,
        /// Byte offset of the later record that proves it had been synced.
        later_offset: usize,
        /// That record's sequence number.
        later_seq: u64,
    },
}

/// Why a record cannot be encoded. Returned by
/// [`encode_record`](super::encode_record), which then leaves its output
/// untouched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A row image is longer than a record can carry.
    #[error(
        "{image} is {len} bytes long; a log record carries images of at most {max} bytes",
        max = super::MAX_IMAGE_LEN
    )]
    ImageTooLong {
        /// Which image.
        image: ImageRole,
        /// Its length.
        len: usize,
    },
    /// The images given are not the ones the kind of change has: an insert
    /// has only an after image, an update both, a delete only a before
    /// image (an empty image counts as none).
    #[error(
        "a record of kind {kind} cannot have a before image of {before_len} bytes and an after image of {after_len} bytes: {}",
        kind.shape()
    )]
    ShapeMismatch {
        /// The kind of change.
        kind: RecordKind,
        /// The before image's length.
        before_len: usize,
        /// The after image's length.
        after_len: usize,
    },
    /// The durable mark is past the record's own sequence number, which
    /// would claim the record was synced before it was written.
    #[error("durable mark {durable_below} is past the record's own sequence number {seq}")]
    DurableBeyondSeq {
        /// The durable mark given.
        durable_below: u64,
        /// The sequence number given.
        seq: u64,
    },
}
