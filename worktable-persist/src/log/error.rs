//! Errors of the log codec: what is wrong with a stored segment past the
//! checks every file gets, and why a record cannot be encoded.
//!
//! Messages name the byte offset in the segment; the caller adds the path.

use super::record::{ImageRole, RecordFault, RecordKind};

/// What is wrong with a log segment past the checks every file gets
/// (length, magic, version, checksum, flags, archive format: see
/// [`FileError`](crate::file_error::FileError)).
///
/// Returned inside [`FileError::Log`](crate::file_error::FileError::Log). A
/// torn tail is *not* an error: the records before it are kept and the
/// rest is cut off (see the [crate documentation](crate#a-damaged-log)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogFault {
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
        max = super::record::MAX_IMAGE_LEN
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
    /// A record of a table's own log was given a table or a commit that
    /// continues: only a database's log has them.
    #[error("a record of a table's own log has no table slot and no continued commit")]
    PlaceOutsideDatabase,
}
