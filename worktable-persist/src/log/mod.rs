//! The write-ahead log's on-disk codec: segment headers and change records,
//! encoded and decoded without any I/O.
//!
//! Private to the crate; the tests reach what they need of it through
//! `crate::testing` (the `testing` feature). Its errors are
//! [`FileError`](crate::file_error::FileError)'s, and the checks every
//! file's start gets are [`codec`](crate::codec)'s.
//!
//! A log is a sequence of segment files. A segment is a 48-byte header
//! ([`SegmentHeader`], [`encode_header`], [`decode_header`]) followed by
//! records back to back ([`encode_record`]), each an insert, an update or a
//! delete of one row with the row's image before and after the change as
//! the kind needs them. [`scan`](fn@scan) (or [`Records`], the same without
//! collecting) reads a segment back. The byte layout (format version 2) is
//! specified in `docs/format.md` at the repository root; a segment of any
//! other version is refused, an older one as such (no converter exists).
//!
//! # Example
//!
//! ```
//! use worktable_persist::file_error::RecordKind;
//! use worktable_persist::format::ArchiveFormat;
//! use worktable_persist::testing::log::{End, SegmentHeader, encode_header, encode_record, scan};
//!
//! let header = SegmentHeader {
//!     schema_fingerprint: 0x5eed,
//!     first_seq: 1,
//!     archive_format: ArchiveFormat::current(),
//!     database: false,
//! };
//! let mut segment = encode_header(&header).to_vec();
//! encode_record(&mut segment, &header, 1, 1, RecordKind::Insert, b"", b"row v1")?;
//! encode_record(&mut segment, &header, 2, 2, RecordKind::Update, b"row v1", b"row v2")?;
//!
//! let scanned = scan(&segment)?;
//! let after: Vec<&[u8]> = scanned.records.iter().map(|r| r.after).collect();
//! assert_eq!(after, [b"row v1", b"row v2"]);
//! assert_eq!(scanned.records[1].before, b"row v1");
//! assert_eq!(scanned.tail.end, End::Clean);
//! assert_eq!(scanned.tail.valid_len, segment.len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Torn tail or corruption
//!
//! The records of a segment are valid up to the first one that fails a
//! check. What that failure means depends on what can cause it:
//!
//! - **A record whose checksum verifies but which breaks a rule** (image
//!   lengths disagreeing with the body length, an image over
//!   65,535 bytes, unknown kind, images that are not the ones the kind
//!   carries, non-zero reserved bytes, `durable_below > seq`, sequence
//!   number out of order) was written that way; a crash cannot produce it.
//!   [`LogFault::Malformed`].
//! - **A torn or damaged record** (frame cut short, body length out of
//!   range, body past the end, checksum mismatch) is what a crash leaves in
//!   bytes written after the last fsync that completed. It is also what
//!   media damage leaves in bytes that *had* been synced; dropping those
//!   would silently lose acknowledged writes. To tell them apart, every
//!   record carries `durable_below`, the writer's durable mark when it wrote
//!   the record: every record with a smaller sequence number had been
//!   fsync'd. If a valid record after the damaged one (at any byte offset,
//!   with a sequence number at least the damaged one's) has
//!   `durable_below` greater than the damaged record's sequence number, the
//!   damaged record had been synced: [`LogFault::Corrupt`]. Otherwise
//!   everything from the damaged record on was written after the last
//!   completed fsync: `End::TornTail`, and those bytes are dropped. If the
//!   bytes from the damaged record on are all zero, the end is
//!   `End::ZeroFilled` (preallocated or never-written space).
//!
//! Why a later valid record alone does not prove corruption: a write that
//! is not yet synced reaches the disk page by page, in any order. A crash
//! during a group commit (or between two periodic syncs) can leave a later
//! record of the batch intact and an earlier one torn; none of them was
//! acknowledged under `Sync` durability, so recovery must drop them, not
//! refuse to open the table.
//!
//! Why the record checksum is seeded with the header checksum: a record
//! left in the file by an earlier segment with another header (a reused
//! file), or a record's bytes embedded in a row image, never verifies in
//! this segment, so neither can pass for a later valid record.
//!
//! What this cannot catch: media damage to the last synced batch when no
//! record was written after it. Nothing later says it had been synced.
//!
//! # Writer obligations
//!
//! - Stamp each record with the durable mark current when it is encoded
//!   (records with a smaller seq have been fsync'd), never more.
//! - Before appending to a segment that was scanned, truncate it to
//!   `Tail::valid_len` (or zero everything after it) and sync, so new
//!   records are never followed by bytes of an earlier attempt.
//! - Start the next segment at `Tail::next_seq`.

mod error;
mod record;
mod scan;
mod segment;

#[cfg(test)]
mod tests;

pub use error::LogFault;
pub(crate) use record::Frame;
#[cfg(any(test, feature = "testing"))]
pub use record::encode_record;
pub use record::{ImageRole, Place, Record, RecordFault, RecordKind, Stamp, encode_placed};
pub(crate) use scan::Records;
pub use scan::scan;
pub(crate) use segment::decode_header;
pub use segment::{HEADER_LEN, SegmentHeader, encode_header};

// Named only by the tests, and by `crate::testing`.
#[cfg(any(test, feature = "testing"))]
pub use error::EncodeError;
#[cfg(test)]
pub(crate) use record::{BODY_HEADER_LEN, FRAME_LEN, MAX_IMAGE_LEN};
pub use scan::End;
#[cfg(any(test, feature = "testing"))]
pub use scan::{Scan, Tail};
#[cfg(test)]
pub(crate) use segment::MAGIC;
