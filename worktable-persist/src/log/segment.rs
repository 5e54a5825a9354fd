//! The fixed 48-byte header at the start of every log segment.
//!
//! `magic | version: u32 | flags: u32 | schema_fingerprint: u64 |
//! first_seq: u64 | archive_format: [u8; 4] | reserved: u32 | header_crc:
//! u32 | padding: u32`, the checksum being CRC32C of bytes 0..40.
//! `docs/format.md` has the table of offsets.

use super::error::LogError;
use super::le::take;
use crate::format::ArchiveFormat;

/// The eight bytes every log segment starts with.
pub const MAGIC: [u8; 8] = *b"WTLOG\0\0\0";

/// The segment format version this build writes, and the only one it reads.
pub const FORMAT_VERSION: u32 = 2;

/// Length of the segment header; the first record starts at this offset.
pub const HEADER_LEN: usize = 48;

/// Offset of the header checksum: it covers the bytes before it.
const CHECKSUM_AT: usize = 40;

/// The decoded header of a log segment.
///
/// The format version, the flags and the reserved bytes are not fields:
/// version 2 with no flags is the only header this build writes or accepts.
///
/// # Example
///
/// ```
/// use worktable_persist::format::ArchiveFormat;
/// use worktable_persist::log::{SegmentHeader, decode_header, encode_header};
///
/// let header = SegmentHeader {
///     schema_fingerprint: 0xfeed,
///     first_seq: 100,
///     archive_format: ArchiveFormat::current(),
/// };
/// let bytes = encode_header(&header);
/// assert_eq!(&bytes[..8], b"WTLOG\0\0\0");
/// assert_eq!(decode_header(&bytes)?, header);
/// # Ok::<(), worktable_persist::log::LogError>(())
/// ```
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
}

impl SegmentHeader {
    /// The header checksum, which also seeds every record checksum in the
    /// segment (see `docs/format.md`): a record copied from another segment,
    /// or left over from an earlier file, never verifies in this one.
    pub(crate) fn checksum(&self) -> u32 {
        let bytes = encode_header(self);
        let (covered, _) = bytes.split_at(CHECKSUM_AT);
        crc32c::crc32c(covered)
    }
}

/// Encodes `header` as the 48 bytes a segment starts with.
///
/// See [`SegmentHeader`] for an example.
pub fn encode_header(header: &SegmentHeader) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    let (magic, rest) = out.split_at_mut(8);
    magic.copy_from_slice(&MAGIC);
    let (version, rest) = rest.split_at_mut(4);
    version.copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let (flags, rest) = rest.split_at_mut(4);
    flags.copy_from_slice(&0u32.to_le_bytes());
    let (fingerprint, rest) = rest.split_at_mut(8);
    fingerprint.copy_from_slice(&header.schema_fingerprint.to_le_bytes());
    let (first_seq, rest) = rest.split_at_mut(8);
    first_seq.copy_from_slice(&header.first_seq.to_le_bytes());
    let (archive_format, _reserved) = rest.split_at_mut(ArchiveFormat::LEN);
    archive_format.copy_from_slice(&header.archive_format.to_bytes());
    let (covered, rest) = out.split_at_mut(CHECKSUM_AT);
    let crc = crc32c::crc32c(covered);
    let (checksum, _padding) = rest.split_at_mut(4);
    checksum.copy_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes the header at the start of `bytes` (which may continue with the
/// segment's records).
///
/// The checks run in this order, and the first that fails is returned:
///
/// - [`LogError::HeaderTooShort`]: fewer than 48 bytes. A caller may treat a
///   short *last* segment as a torn tail: no record can have been
///   acknowledged in a segment whose header was never completely written.
/// - [`LogError::BadMagic`]: the first 8 bytes are not the log magic (an
///   all-zero header is reported this way too).
/// - [`LogError::UnsupportedVersion`]: the version is not 2 (a version 1
///   segment is reported as written by an older format, which this build
///   does not convert). It is checked before the checksum because the
///   magic and the version are the only fields every format version keeps
///   in place; where the checksum lives is itself version-specific.
/// - [`LogError::HeaderChecksum`]: the checksum over bytes 0..40 does not
///   match the stored one.
/// - Then, in a header whose checksum verifies (written that way):
///   [`LogError::UnsupportedFlags`] if the flags are not zero,
///   [`LogError::ArchiveFormat`] if bytes 32..36 are not an archive format,
///   [`LogError::HeaderReserved`] if bytes 36..40 are not zero.
/// - [`LogError::HeaderPadding`]: bytes 44..48, which the checksum does not
///   cover, are not zero.
///
/// The archive format is decoded, not compared with this build's: that is
/// the caller's decision.
///
/// Never panics, whatever `bytes` holds.
///
/// See [`SegmentHeader`] for an example.
pub fn decode_header(bytes: &[u8]) -> Result<SegmentHeader, LogError> {
    let Some((header, _)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(LogError::HeaderTooShort { len: bytes.len() });
    };
    let (magic, rest) = take::<8>(header);
    if magic != MAGIC {
        return Err(LogError::BadMagic { found: magic });
    }
    let (version, rest) = take::<4>(rest);
    let version = u32::from_le_bytes(version);
    if version != FORMAT_VERSION {
        return Err(LogError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let (flags, rest) = take::<4>(rest);
    let (fingerprint, rest) = take::<8>(rest);
    let (first_seq, rest) = take::<8>(rest);
    let (archive_format, rest) = take::<{ ArchiveFormat::LEN }>(rest);
    let (reserved, rest) = take::<4>(rest);
    let (stored, padding) = take::<4>(rest);
    let stored = u32::from_le_bytes(stored);
    let (covered, _) = header.split_at(CHECKSUM_AT);
    let computed = crc32c::crc32c(covered);
    if stored != computed {
        return Err(LogError::HeaderChecksum { stored, computed });
    }
    let flags = u32::from_le_bytes(flags);
    if flags != 0 {
        return Err(LogError::UnsupportedFlags { flags });
    }
    let archive_format = ArchiveFormat::from_bytes(archive_format)
        .map_err(|reason| LogError::ArchiveFormat { reason })?;
    if reserved != [0; 4] {
        return Err(LogError::HeaderReserved);
    }
    if padding.iter().any(|&b| b != 0) {
        return Err(LogError::HeaderPadding);
    }
    Ok(SegmentHeader {
        schema_fingerprint: u64::from_le_bytes(fingerprint),
        first_seq: u64::from_le_bytes(first_seq),
        archive_format,
    })
}
