//! The page file: its 4096-byte header, and where each frame lies.
//!
//! A page file is the header followed by frames of [`FRAME_LEN`] bytes back
//! to back; frame `i` starts at [`frame_offset(i)`](frame_offset). The
//! header is `magic | version: u32 | flags: u32 | schema_fingerprint: u64 |
//! page_size: u32 | archive_format: [u8; 4] | crc: u32 | zero padding`, the
//! checksum being CRC32C of bytes 0..32. `docs/format.md` has the table of
//! offsets.

use super::error::PageFileError;
use super::le;
use crate::format::ArchiveFormat;

/// The page file's name in a table directory.
pub const PAGE_FILE_NAME: &str = "pages";

/// The eight bytes every page file starts with.
pub const PAGE_FILE_MAGIC: [u8; 8] = *b"WTPAGES\0";

/// The page file format version this build writes, and the only one it
/// reads.
pub const PAGE_FILE_VERSION: u32 = 2;

/// Length of the page file header; frame 0 starts at this offset. A
/// multiple of every common file-system block size, so frames are aligned.
pub const HEADER_LEN: usize = 4096;

/// Length of a frame: one in-memory page,
/// [`PAGE_SIZE`](worktable_core::PAGE_SIZE) bytes.
pub const FRAME_LEN: usize = worktable_core::PAGE_SIZE;

// A manifest locates rows with `u16` offsets, and the header stores the page
// size as a `u32`: the format is defined for 64 KiB pages only.
const _: () = assert!(FRAME_LEN == 65_536);

/// Offset of the archive format.
const ARCHIVE_FORMAT_AT: usize = 28;

/// Offset of the header checksum: it covers the bytes before it.
const CHECKSUM_AT: usize = 32;

/// Where the padding starts: right after the checksum.
const PADDING_AT: usize = 36;

/// Bytes a reader needs to see the magic and the version.
const VERSION_END: usize = 12;

/// The decoded header of a page file.
///
/// The format version, the flags and the page size are not fields: version
/// 2 with no flags and pages of [`FRAME_LEN`] bytes is the only header this
/// build writes or accepts.
///
/// # Example
///
/// ```
/// use worktable_persist::format::ArchiveFormat;
/// use worktable_persist::pages::{HEADER_LEN, PageFileHeader, decode_header, encode_header};
///
/// let bytes = encode_header(0x5eed, ArchiveFormat::current());
/// assert_eq!(bytes.len(), HEADER_LEN);
/// assert_eq!(&bytes[..8], b"WTPAGES\0");
/// assert_eq!(
///     decode_header(&bytes)?,
///     PageFileHeader { schema_fingerprint: 0x5eed, archive_format: ArchiveFormat::current() }
/// );
/// # Ok::<(), worktable_persist::pages::PageFileError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageFileHeader {
    /// Fingerprint of the row type that created the file. Informational: a
    /// migration writes frames for the new row type into the file the old
    /// one created.
    pub schema_fingerprint: u64,
    /// The rkyv format of the rows in the frames; the caller compares it
    /// with [`ArchiveFormat::current`] before using any frame.
    pub archive_format: ArchiveFormat,
}

/// Encodes the header of a page file for rows of the schema with
/// fingerprint `schema_fingerprint`, archived in `archive_format`: the
/// first [`HEADER_LEN`] bytes of the file.
///
/// See [`PageFileHeader`] for an example.
pub fn encode_header(schema_fingerprint: u64, archive_format: ArchiveFormat) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    let (magic, rest) = out.split_at_mut(8);
    magic.copy_from_slice(&PAGE_FILE_MAGIC);
    let (version, rest) = rest.split_at_mut(4);
    version.copy_from_slice(&PAGE_FILE_VERSION.to_le_bytes());
    let (flags, rest) = rest.split_at_mut(4);
    flags.copy_from_slice(&0u32.to_le_bytes());
    let (fingerprint, rest) = rest.split_at_mut(8);
    fingerprint.copy_from_slice(&schema_fingerprint.to_le_bytes());
    let (page_size, rest) = rest.split_at_mut(4);
    page_size.copy_from_slice(&page_size_field().to_le_bytes());
    let (format, _) = rest.split_at_mut(ArchiveFormat::LEN);
    format.copy_from_slice(&archive_format.to_bytes());
    let (covered, rest) = out.split_at_mut(CHECKSUM_AT);
    let crc = crc32c::crc32c(covered);
    let (checksum, _padding) = rest.split_at_mut(4);
    checksum.copy_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes the header at the start of `bytes` (which may continue with the
/// file's frames).
///
/// The checks run in this order, and the first that fails is returned:
///
/// - [`PageFileError::TooShort`]: fewer than 12 bytes, too few to hold the
///   magic and the version.
/// - [`PageFileError::BadMagic`]: the first 8 bytes are not the page file
///   magic (an all-zero header is reported this way too).
/// - [`PageFileError::UnsupportedVersion`]: the version is not 2 (a
///   version 1 file is reported as written by an older format, which this
///   build does not convert). It is checked before the rest because the
///   magic and the version are the only fields every format version keeps
///   in place.
/// - [`PageFileError::TooShort`]: fewer than [`HEADER_LEN`] bytes.
/// - [`PageFileError::Checksum`]: the checksum over bytes 0..32 does not
///   match the stored one.
/// - [`PageFileError::UnsupportedFlags`]: the flags are not zero.
/// - [`PageFileError::PageSize`]: the page size is not [`FRAME_LEN`].
/// - [`PageFileError::ArchiveFormat`]: bytes 28..32 are not an archive
///   format. (Another format than this build's decodes; comparing is the
///   caller's decision.)
/// - [`PageFileError::Padding`]: a byte of 36..4096 is not zero. The
///   checksum does not cover the padding; requiring zeros there catches
///   damage to it all the same, and keeps the bytes free for a later
///   version.
///
/// Never panics, whatever `bytes` holds.
///
/// See [`PageFileHeader`] for an example.
pub fn decode_header(bytes: &[u8]) -> Result<PageFileHeader, PageFileError> {
    let len = bytes.len();
    if len < VERSION_END {
        return Err(PageFileError::TooShort { len });
    }
    let magic = le::array::<8>(bytes, 0);
    if magic != PAGE_FILE_MAGIC {
        return Err(PageFileError::BadMagic { found: magic });
    }
    let version = le::u32_at(bytes, 8);
    if version != PAGE_FILE_VERSION {
        return Err(PageFileError::UnsupportedVersion {
            found: version,
            supported: PAGE_FILE_VERSION,
        });
    }
    let Some((header, _frames)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(PageFileError::TooShort { len });
    };
    let (covered, after) = header.split_at(CHECKSUM_AT);
    let stored = le::u32_at(after, 0);
    let computed = crc32c::crc32c(covered);
    if stored != computed {
        return Err(PageFileError::Checksum { stored, computed });
    }
    let flags = le::u32_at(header, 12);
    if flags != 0 {
        return Err(PageFileError::UnsupportedFlags { flags });
    }
    let page_size = le::u32_at(header, 24);
    if page_size != page_size_field() {
        return Err(PageFileError::PageSize {
            found: page_size,
            expected: page_size_field(),
        });
    }
    let archive_format = ArchiveFormat::from_bytes(le::array(header, ARCHIVE_FORMAT_AT))
        .map_err(|fault| PageFileError::ArchiveFormat { fault })?;
    let padding = header.get(PADDING_AT..).unwrap_or_default();
    if let Some(at) = padding.iter().position(|&b| b != 0) {
        return Err(PageFileError::Padding {
            offset: PADDING_AT + at,
        });
    }
    Ok(PageFileHeader {
        schema_fingerprint: le::u64_at(header, 16),
        archive_format,
    })
}

/// Byte offset of frame `frame` in the page file: `4096 + frame * 65536`.
///
/// Every frame a `u32` can name lies below 2⁴⁸, so this never overflows.
///
/// # Example
///
/// ```
/// use worktable_persist::pages::{FRAME_LEN, HEADER_LEN, frame_offset};
///
/// assert_eq!(frame_offset(0), HEADER_LEN as u64);
/// assert_eq!(frame_offset(2), (HEADER_LEN + 2 * FRAME_LEN) as u64);
/// ```
pub fn frame_offset(frame: u32) -> u64 {
    HEADER_LEN as u64 + u64::from(frame) * FRAME_LEN as u64
}

/// The checksum of a frame: CRC32C of its bytes.
///
/// `body` is the whole frame, [`FRAME_LEN`] bytes: every live row at its
/// offset in the page and zeros everywhere else, exactly what a checkpoint
/// writes. The manifest stores this value as the page's
/// [`body_crc`](super::PageEntry::body_crc), and recovery compares the two
/// before trusting any row of the frame.
///
/// # Example
///
/// ```
/// use worktable_persist::pages::{FRAME_LEN, frame_crc};
///
/// let mut body = vec![0u8; FRAME_LEN];
/// let empty = frame_crc(&body);
/// body[16..19].copy_from_slice(b"row");
/// assert_ne!(frame_crc(&body), empty);
/// ```
pub fn frame_crc(body: &[u8]) -> u32 {
    crc32c::crc32c(body)
}

/// The page size as stored in the header.
fn page_size_field() -> u32 {
    // 65,536 by the assertion on FRAME_LEN above.
    FRAME_LEN as u32
}
