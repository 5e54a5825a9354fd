//! Errors of the page file header and of the manifest: decoding both, and
//! encoding a manifest.
//!
//! Messages name byte offsets in the file, and the page entry and row a
//! rule concerns; the caller adds the path.

use crate::format::ArchiveFormatError;
use crate::version;

/// Why the header of a page file cannot be used.
///
/// Returned by [`decode_header`](super::decode_header). The variants after
/// [`Checksum`](Self::Checksum) are found in a header whose checksum
/// verifies, except [`Padding`](Self::Padding): the checksum does not cover
/// the padding, so damage there is reported as non-zero padding.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PageFileError {
    /// The file is shorter than its header.
    #[error(
        "page file is {len} bytes long, shorter than its {header_len}-byte header",
        header_len = super::HEADER_LEN
    )]
    TooShort {
        /// The file's length (or the length of the bytes given).
        len: usize,
    },
    /// The file does not start with `b"WTPAGES\0"`.
    #[error("not a page file: bytes 0..8 are \"{}\", not the page file magic \"WTPAGES\\0\"", found.escape_ascii())]
    BadMagic {
        /// The first 8 bytes.
        found: [u8; 8],
    },
    /// The header's format version is not the one this build reads: an
    /// older version (no converter exists), or a newer one.
    #[error(
        "{}",
        version::UnsupportedVersion { file: "page file", found: *found, supported: *supported }
    )]
    UnsupportedVersion {
        /// The stored version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The header checksum does not match bytes 0..32.
    #[error(
        "page file header is damaged: the checksum at byte offset 32 is {stored:#010x}, but bytes 0..32 sum to {computed:#010x}"
    )]
    Checksum {
        /// The stored checksum.
        stored: u32,
        /// The checksum of bytes 0..32.
        computed: u32,
    },
    /// The header sets flags, none of which version 2 defines.
    #[error(
        "page file header sets flags {flags:#010x} (bytes 12..16), which this build does not know"
    )]
    UnsupportedFlags {
        /// The stored flags.
        flags: u32,
    },
    /// The file's frames are not of this build's page size.
    #[error(
        "page file holds pages of {found} bytes (bytes 24..28); this build's pages are {expected} bytes"
    )]
    PageSize {
        /// The stored page size.
        found: u32,
        /// [`PAGE_SIZE`](worktable_core::PAGE_SIZE).
        expected: u32,
    },
    /// The header's archive format (bytes 28..32) is not one: its checksum
    /// verifies, so it was written that way.
    #[error(
        "page file header has a valid checksum but its archive format (bytes 28..32) is not one: {fault}; it was written that way"
    )]
    ArchiveFormat {
        /// What is wrong with the 4 bytes.
        fault: ArchiveFormatError,
    },
    /// A byte of the header's padding (bytes 36..4096) is not zero.
    #[error(
        "page file header has a non-zero byte at offset {offset}; its padding (bytes 36..{header_len}) must be zero",
        header_len = super::HEADER_LEN
    )]
    Padding {
        /// Offset of the first non-zero byte.
        offset: usize,
    },
}

/// A rule of the manifest that a manifest breaks: the same rules bind the
/// encoder ([`ManifestEncodeError::Malformed`]) and a stored manifest
/// ([`ManifestError::Malformed`]).
///
/// `page` is the index of a page entry in the manifest (0 for the first),
/// `page_id` the page it describes, and `row` the index of a row in that
/// entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestFault {
    /// A page id is not greater than the one of the entry before it.
    #[error(
        "page entry {page} has page id {page_id}, not above the page id {previous} of the entry before it: page ids must be strictly ascending"
    )]
    PageIdNotAscending {
        /// Index of the page entry.
        page: u32,
        /// Its page id.
        page_id: u32,
        /// The page id of the entry before it.
        previous: u32,
    },
    /// A page's frame is not below the manifest's frame count.
    #[error(
        "page entry {page} (page {page_id}) is in frame {frame}, but the page file holds only {frame_count} frames for this manifest"
    )]
    FrameOutOfRange {
        /// Index of the page entry.
        page: u32,
        /// Its page id.
        page_id: u32,
        /// Its frame.
        frame: u32,
        /// The manifest's frame count.
        frame_count: u32,
    },
    /// Two pages are in the same frame.
    #[error(
        "page entry {page} (page {page_id}) is in frame {frame}, which page entry {earlier_page} is in too"
    )]
    FrameShared {
        /// Index of the later of the two page entries.
        page: u32,
        /// Its page id.
        page_id: u32,
        /// The frame both are in.
        frame: u32,
        /// Index of the earlier page entry in that frame.
        earlier_page: u32,
    },
    /// A page has no rows: an empty page is left out of the manifest.
    #[error("page entry {page} (page {page_id}) has no rows")]
    NoRows {
        /// Index of the page entry.
        page: u32,
        /// Its page id.
        page_id: u32,
    },
    /// A row's length is zero.
    #[error("row {row} of page entry {page} (page {page_id}) has length 0")]
    EmptyRow {
        /// Index of the page entry.
        page: u32,
        /// Its page id.
        page_id: u32,
        /// Index of the row in the entry.
        row: u32,
    },
    /// A row does not start at a multiple of the slot alignment.
    #[error(
        "row {row} of page entry {page} (page {page_id}) starts at offset {offset}, not a multiple of {align}",
        align = super::ROW_ALIGN
    )]
    RowMisaligned {
        /// Index of the page entry.
        page: u32,
        /// Its page id.
        page_id: u32,
        /// Index of the row in the entry.
        row: u32,
        /// The row's offset in the page.
        offset: u16,
    },
    /// A row's slot runs past the end of its page.
    #[error(
        "row {row} of page entry {page} (page {page_id}) at offset {offset} with length {len} has its slot end at {end}, past the end of the {page_size}-byte page",
        end = usize::from(*offset) + super::RowSlot { offset: *offset, len: *len }.slot_size(),
        page_size = worktable_core::PAGE_SIZE
    )]
    RowPastPageEnd {
        /// Index of the page entry.
        page: u32,
        /// Its page id.
        page_id: u32,
        /// Index of the row in the entry.
        row: u32,
        /// The row's offset in the page.
        offset: u16,
        /// The row's length.
        len: u16,
    },
    /// A row starts before the end of the slot of the row before it: rows
    /// are out of order, or they overlap.
    #[error(
        "row {row} of page entry {page} (page {page_id}) starts at offset {offset}, before offset {previous_end} where the slot of the row before it ends: rows must be in ascending offset order without overlapping"
    )]
    RowOverlap {
        /// Index of the page entry.
        page: u32,
        /// Its page id.
        page_id: u32,
        /// Index of the row in the entry.
        row: u32,
        /// The row's offset in the page.
        offset: u16,
        /// Where the slot of the row before it ends.
        previous_end: u32,
    },
    /// The stored total of rows is not the number of rows the entries hold.
    #[error(
        "the manifest's row count is {stored} (bytes 48..56), but its page entries hold {counted} rows"
    )]
    RowCountMismatch {
        /// The stored `row_count`.
        stored: u64,
        /// The number of rows in the page entries.
        counted: u64,
    },
}

/// Why the bytes of a manifest cannot be decoded.
///
/// Returned by [`decode`](super::decode). The variants after
/// [`Checksum`](Self::Checksum) are found only in a manifest whose checksum
/// verifies: it was written that way (by a faulty or newer writer), which
/// no crash or media damage explains.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The file is too short to be a manifest.
    #[error(
        "manifest is {len} bytes long, shorter than the {min} bytes of a manifest without pages",
        min = super::MANIFEST_MIN_LEN
    )]
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// The file does not start with `b"WTMANIF\0"`.
    #[error("not a manifest: bytes 0..8 are \"{}\", not the manifest magic \"WTMANIF\\0\"", found.escape_ascii())]
    BadMagic {
        /// The first 8 bytes.
        found: [u8; 8],
    },
    /// The manifest's format version is not the one this build reads: an
    /// older version (no converter exists), or a newer one.
    #[error(
        "{}",
        version::UnsupportedVersion { file: "manifest", found: *found, supported: *supported }
    )]
    UnsupportedVersion {
        /// The stored version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The checksum in the last 4 bytes does not match the bytes before it.
    #[error(
        "manifest is damaged: the checksum at byte offset {offset} is {stored:#010x}, but bytes 0..{offset} sum to {computed:#010x}"
    )]
    Checksum {
        /// Offset of the checksum: the file's length minus 4.
        offset: usize,
        /// The stored checksum.
        stored: u32,
        /// The checksum of the bytes before it.
        computed: u32,
    },
    /// The manifest sets flags, none of which version 2 defines.
    #[error("manifest sets flags {flags:#010x} (bytes 12..16), which this build does not know")]
    UnsupportedFlags {
        /// The stored flags.
        flags: u32,
    },
    /// A page entry runs into or past the checksum: the page count, or the
    /// row count of this entry, is wrong.
    #[error(
        "manifest has a valid checksum but its page entry {page} (bytes {offset}..{} by the stored counts) runs past the checksum at byte offset {checksum_at}: it was written that way",
        (*offset as u64).saturating_add(*len)
    )]
    EntryPastEnd {
        /// Index of the page entry.
        page: u32,
        /// Where the entry starts.
        offset: usize,
        /// The entry's length by its stored row count (16 if even its
        /// fixed fields do not fit).
        len: u64,
        /// Offset of the checksum, where the entries must end.
        checksum_at: usize,
    },
    /// Bytes are left between the last page entry and the checksum.
    #[error(
        "manifest has a valid checksum but bytes {offset}..{checksum_at} follow its last page entry: it was written that way"
    )]
    TrailingBytes {
        /// Where the last page entry ends.
        offset: usize,
        /// Offset of the checksum.
        checksum_at: usize,
    },
    /// The manifest breaks one of its rules.
    #[error(
        "manifest has a valid checksum but breaks a rule at byte offset {offset}: {fault}; it was written that way"
    )]
    Malformed {
        /// Offset of what breaks the rule: the page entry, the row, or the
        /// row count field.
        offset: usize,
        /// The rule it breaks.
        fault: ManifestFault,
    },
}

/// Why a [`Manifest`](super::Manifest) cannot be encoded. Returned by
/// [`encode`](super::encode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestEncodeError {
    /// More pages than the `u32` page count can hold.
    #[error("manifest has {count} pages; a manifest holds at most {}", u32::MAX)]
    TooManyPages {
        /// The number of page entries.
        count: usize,
    },
    /// More rows in one page than the entry's `u32` row count can hold.
    #[error(
        "page entry {page} has {count} rows; an entry holds at most {}",
        u32::MAX
    )]
    TooManyRows {
        /// Index of the page entry.
        page: u32,
        /// The number of rows.
        count: usize,
    },
    /// The manifest breaks one of its rules.
    #[error("manifest breaks a rule: {fault}")]
    Malformed {
        /// The rule it breaks.
        fault: ManifestFault,
    },
}
