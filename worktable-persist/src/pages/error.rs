//! Errors of the page file header and of the manifest: what is wrong with
//! a stored one past the checks every file gets, the rules a manifest
//! follows, and why a manifest cannot be encoded.
//!
//! Messages name byte offsets in the file, and the page entry and row a
//! rule concerns; the caller adds the path.

/// What is wrong with a page file's header past the checks every file gets
/// (length, magic, version, checksum, flags, archive format: see
/// [`FileError`](crate::file_error::FileError)).
///
/// Returned inside
/// [`FileError::PageFile`](crate::file_error::FileError::PageFile).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PageFileFault {
    /// The file's frames are not of this build's page size: its checksum
    /// verifies, so it was written that way.
    #[error(
        "page file holds pages of {found} bytes (bytes 24..28); this build's pages are {expected} bytes"
    )]
    PageSize {
        /// The stored page size.
        found: u32,
        /// This build's page size,
        /// [`PAGE_SIZE`](worktable_core::PAGE_SIZE).
        expected: u32,
    },
    /// A byte of the header's padding (bytes 36..4096), which the checksum
    /// does not cover, is not zero: damage there is caught this way.
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
/// encoder and a stored manifest ([`ManifestFault::Malformed`]).
///
/// `page` is the index of a page entry in the manifest (0 for the first),
/// `page_id` the page it describes, and `row` the index of a row in that
/// entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestRule {
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

/// What is wrong with a manifest's page entries past the checks every file
/// gets (length, magic, version, checksum, flags: see
/// [`FileError`](crate::file_error::FileError)).
///
/// Returned inside
/// [`FileError::Manifest`](crate::file_error::FileError::Manifest). Each is
/// found only in a manifest whose checksum verifies: it was written that
/// way (by a faulty or newer writer), which no crash or media damage
/// explains.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestFault {
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
        "manifest has a valid checksum but breaks a rule at byte offset {offset}: {rule}; it was written that way"
    )]
    Malformed {
        /// Offset of what breaks the rule: the page entry, the row, or the
        /// row count field.
        offset: usize,
        /// The rule it breaks.
        rule: ManifestRule,
    },
}

/// Why a [`Manifest`](super::Manifest) cannot be encoded. Returned by
/// [`encode_manifest`](super::encode_manifest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ManifestEncodeError {
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
    #[error("manifest breaks a rule: {rule}")]
    Malformed {
        /// The rule it breaks.
        rule: ManifestRule,
    },
}
