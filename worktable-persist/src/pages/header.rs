//! The page file: its 4096-byte header, and where each frame lies.
//!
//! A page file is the header followed by frames of [`FRAME_LEN`] bytes back
//! to back; frame `i` starts at [`frame_offset(i)`](frame_offset). The
//! header is `magic | version: u32 | flags: u32 | schema_fingerprint: u64 |
//! page_size: u32 | archive_format: [u8; 4] | crc: u32 | zero padding`, the
//! checksum being CRC32C of bytes 0..32. `docs/format.md` has the table of
//! offsets.

use super::error::PageFileFault;
use crate::codec::{ChecksumAt, FileFormat, HeaderBuf, Put};
use crate::file_error::{FileError, FileKind};
use crate::format::ArchiveFormat;

/// The page file's name in a table directory.
pub const PAGE_FILE_NAME: &str = "pages";

/// The eight bytes every page file starts with.
pub(crate) const PAGE_FILE_MAGIC: [u8; 8] = *b"WTPAGES\0";

/// Length of the page file header; frame 0 starts at this offset. A
/// multiple of every common file-system block size, so frames are aligned.
pub(crate) const HEADER_LEN: usize = 4096;

/// Length of a frame: one in-memory page,
/// [`PAGE_SIZE`](worktable_core::PAGE_SIZE) bytes.
pub const FRAME_LEN: usize = worktable_core::PAGE_SIZE;

// A manifest locates rows with `u16` offsets, and the header stores the page
// size as a `u32`: the format is defined for 64 KiB pages only.
const _: () = assert!(FRAME_LEN == 65_536);

/// Offset of the header checksum: it covers the bytes before it.
const CHECKSUM_AT: usize = 32;

/// The page file's format, as the checks every file gets need it: only
/// its header is checked here, so it has no largest length.
pub(crate) const FORMAT: FileFormat = FileFormat {
    file: FileKind::PageFile,
    magic: PAGE_FILE_MAGIC,
    min_len: HEADER_LEN,
    max_len: usize::MAX,
    min_len_first: false,
    checksum: ChecksumAt::Header(CHECKSUM_AT),
    known_flags: 0,
};

/// The decoded header of a page file.
///
/// The format version, the flags and the page size are not fields: version
/// 2 with no flags and pages of [`FRAME_LEN`] bytes is the only header this
/// build writes or accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PageFileHeader {
    /// Fingerprint of the row type that created the file. Informational: a
    /// migration writes frames for the new row type into the file the old
    /// one created.
    pub(crate) schema_fingerprint: u64,
    /// The rkyv format of the rows in the frames; the caller compares it
    /// with [`ArchiveFormat::current`] before using any frame.
    pub(crate) archive_format: ArchiveFormat,
}

/// Encodes the header of a page file for rows of the schema with
/// fingerprint `schema_fingerprint`, archived in `archive_format`: the
/// first [`HEADER_LEN`] bytes of the file.
pub(crate) fn encode_header(
    schema_fingerprint: u64,
    archive_format: ArchiveFormat,
) -> [u8; HEADER_LEN] {
    let out = FORMAT.encode(HeaderBuf::<HEADER_LEN>::new(), |out| {
        out.put_u64(schema_fingerprint);
        out.put_u32(page_size_field());
        out.put(&archive_format.to_bytes());
    });
    out.into_bytes()
}

/// Decodes the header at the start of `bytes` (which may continue with the
/// file's frames).
///
/// First the checks every file gets, in the order of
/// [`FileFormat::check`](crate::codec::FileFormat::check): the magic and the
/// version (2), a header of [`HEADER_LEN`] bytes, the checksum over bytes
/// 0..32, the flags. Then [`PageFileFault::PageSize`] if the page size is
/// not [`FRAME_LEN`], [`FileError::ArchiveFormat`] if bytes 28..32 are not
/// an archive format (another format than this build's decodes: comparing
/// is the caller's decision), and [`PageFileFault::Padding`] if a byte of
/// 36..4096 is not zero: the checksum does not cover the padding, and
/// requiring zeros there catches damage to it all the same, and keeps the
/// bytes free for a later version. The first failure is returned.
///
/// Never panics, whatever `bytes` holds.
pub(crate) fn decode_header(bytes: &[u8]) -> Result<PageFileHeader, FileError> {
    let checked = FORMAT.check(bytes)?;
    let mut fields = checked.fields;
    let schema_fingerprint = fields.u64();
    let page_size = fields.u32();
    if page_size != page_size_field() {
        return Err(FileError::PageFile(PageFileFault::PageSize {
            found: page_size,
            expected: page_size_field(),
        }));
    }
    let archive_format = FORMAT.archive_format(&mut fields)?;
    if let Some(offset) = checked.nonzero_padding() {
        return Err(FileError::PageFile(PageFileFault::Padding { offset }));
    }
    Ok(PageFileHeader {
        schema_fingerprint,
        archive_format,
    })
}

/// Byte offset of frame `frame` in the page file: `4096 + frame * 65536`.
///
/// Every frame a `u32` can name lies below 2⁴⁸, so this never overflows.
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
pub(crate) fn frame_crc(body: &[u8]) -> u32 {
    crc32c::crc32c(body)
}

/// The page size as stored in the header.
fn page_size_field() -> u32 {
    // 65,536 by the assertion on FRAME_LEN above.
    FRAME_LEN as u32
}
