//! The fixed 48-byte header at the start of every log segment.
//!
//! `magic | version: u32 | flags: u32 | schema_fingerprint: u64 |
//! first_seq: u64 | archive_format: [u8; 4] | reserved: u32 | header_crc:
//! u32 | padding: u32`, the checksum being CRC32C of bytes 0..40.
//! `docs/format.md` has the table of offsets.

use super::error::LogFault;
use crate::codec::{ChecksumAt, FileFormat, HeaderBuf, Put};
use crate::file_error::{FileError, FileKind};
use crate::format::ArchiveFormat;

/// The eight bytes every log segment starts with.
pub(crate) const MAGIC: [u8; 8] = *b"WTLOG\0\0\0";

/// Length of the segment header; the first record starts at this offset.
pub const HEADER_LEN: usize = 48;

/// Offset of the header checksum: it covers the bytes before it.
const CHECKSUM_AT: usize = 40;

/// The log segment format, as the checks every file gets need it: a
/// segment shorter than its header is refused before its magic is looked
/// at, since the header is read whole.
pub(crate) const FORMAT: FileFormat = FileFormat {
    file: FileKind::LogSegment,
    magic: MAGIC,
    min_len: HEADER_LEN,
    max_len: usize::MAX,
    min_len_first: true,
    checksum: ChecksumAt::Header(CHECKSUM_AT),
    known_flags: DATABASE_FLAG,
};

/// Header flag: the segment is a database's log, whose records carry the
/// table they change and whether more records of their commit follow.
const DATABASE_FLAG: u32 = 1;

/// The decoded header of a log segment.
///
/// The format version and the reserved bytes are not fields: version 2 is
/// the only header this build writes or accepts. The one flag is
/// [`database`](Self::database).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SegmentHeader {
    /// Fingerprint of the row type's schema; the caller compares it with the
    /// table's before replaying any record.
    pub schema_fingerprint: u64,
    /// The sequence number the segment's first record must have.
    pub first_seq: u64,
    /// The rkyv format of the row images in the segment's records; the
    /// caller compares it with [`ArchiveFormat::current`] before using any.
    pub archive_format: ArchiveFormat,
    /// The segment is a database's log (header flag 1): each record names
    /// the table it changes and says whether more records of its commit
    /// follow (see [`Record::table`](super::Record::table)). A table's own
    /// log has neither (the bytes are zero).
    pub database: bool,
}

impl SegmentHeader {
    /// The header checksum, which also seeds every record checksum in the
    /// segment (see `docs/format.md`): a record copied from another segment,
    /// or left over from an earlier file, never verifies in this one.
    pub(crate) fn checksum(&self) -> u32 {
        let bytes = encode_header(self);
        crc32c::crc32c(bytes.get(..CHECKSUM_AT).unwrap_or_default())
    }
}

/// Encodes `header` as the 48 bytes a segment starts with.
pub fn encode_header(header: &SegmentHeader) -> [u8; HEADER_LEN] {
    let flags = if header.database { DATABASE_FLAG } else { 0 };
    let out = FORMAT.encode_flagged(flags, HeaderBuf::<HEADER_LEN>::new(), |out| {
        out.put_u64(header.schema_fingerprint);
        out.put_u64(header.first_seq);
        out.put(&header.archive_format.to_bytes());
        out.put_zeros(4); // reserved
    });
    out.into_bytes()
}

/// Decodes the header at the start of a segment's `bytes`; never panics,
/// whatever they hold. The archive format is decoded, not compared with
/// this build's: that is the caller's decision.
///
/// # Errors
///
/// The first check that fails, in this order: those every file gets, as
/// [`FileFormat::check`](crate::codec::FileFormat::check) makes them (a
/// header of 48 bytes, the magic, the version, the checksum over bytes
/// 0..40, the flags); then [`FileError::ArchiveFormat`] (bytes 32..36) and
/// [`LogFault::HeaderReserved`] (bytes 36..40 not zero), in a header whose
/// checksum verifies, so written that way; last
/// [`LogFault::HeaderPadding`] (bytes 44..48, which the checksum does not
/// cover, not zero). A caller may treat a header cut short at the end of
/// the *last* segment as a torn tail: no record can have been acknowledged
/// in a segment whose header was never completely written.
pub(crate) fn decode_header(bytes: &[u8]) -> Result<SegmentHeader, FileError> {
    let checked = FORMAT.check(bytes)?;
    let mut fields = checked.fields;
    let schema_fingerprint = fields.u64();
    let first_seq = fields.u64();
    let archive_format = FORMAT.archive_format(&mut fields)?;
    if fields.u32() != 0 {
        return Err(FileError::Log(LogFault::HeaderReserved));
    }
    if checked.nonzero_padding().is_some() {
        return Err(FileError::Log(LogFault::HeaderPadding));
    }
    Ok(SegmentHeader {
        schema_fingerprint,
        first_seq,
        archive_format,
        database: checked.flags & DATABASE_FLAG != 0,
    })
}
