//! Errors of the log codec: one enum for decoding, one for encoding.
//!
//! Messages name the byte offset in the segment; the caller adds the path.

use super::record::RecordFault;

/// Why a log segment cannot be read.
///
/// Returned by [`decode_header`](super::decode_header),
/// [`scan`](fn@super::scan) and [`Records::finish`](super::Records::finish). A
/// torn tail is *not* an error: it is reported as
/// [`End::TornTail`](super::End::TornTail) with the records before it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The segment is shorter than its 40-byte header.
    #[error("log segment is {len} bytes long, shorter than its 40-byte header")]
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
    /// The header's format version is not one this build reads.
    #[error(
        "log segment has format version {found} (bytes 8..12); this build reads only version {supported}: the file was written by a newer worktable, or its header is damaged"
    )]
    UnsupportedVersion {
        /// The stored version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The header checksum does not match bytes 0..32.
    #[error(
        "log segment header is damaged: checksum at byte offset 32 is {stored:#010x}, but bytes 0..32 sum to {computed:#010x}"
    )]
    HeaderChecksum {
        /// The stored checksum.
        stored: u32,
        /// The checksum of bytes 0..32.
        computed: u32,
    },
    /// The header sets flags, none of which version 1 defines.
    #[error(
        "log segment header sets flags {flags:#010x} (bytes 12..16), which this build does not know"
    )]
    UnsupportedFlags {
        /// The stored flags.
        flags: u32,
    },
    /// The header's padding (bytes 36..40) is not zero.
    #[error("log segment header has non-zero padding in bytes 36..40")]
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
    /// The row image is longer than a record can carry.
    #[error("row image is {len} bytes long; a log record carries at most 65535")]
    ImageTooLong {
        /// The image's length.
        len: usize,
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
