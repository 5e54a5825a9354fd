//! The manifest of a checkpoint: which frame of the page file holds each
//! page, and where the live rows of each page are.
//!
//! A manifest is `magic | version: u32 | flags: u32 | schema_fingerprint:
//! u64 | generation: u64 | checkpoint_seq: u64 | frame_count: u32 |
//! page_count: u32 | row_count: u64`, then `page_count` page entries
//! `page_id: u32 | frame: u32 | body_crc: u32 | rows: u32 | rows × (offset:
//! u16 | len: u16)`, then `crc: u32`, CRC32C of everything before it.
//! `docs/format.md` has the table of offsets and the rules.

use super::error::{ManifestEncodeError, ManifestFault, ManifestRule};
use super::rules;
use crate::codec::{ChecksumAt, FileFormat, Put, Reader};
use crate::file_error::{FileError, FileKind};

/// The eight bytes every manifest starts with.
pub(crate) const MANIFEST_MAGIC: [u8; 8] = *b"WTMANIF\0";

/// Length of a manifest without pages: the fixed fields and the checksum.
pub(crate) const MANIFEST_MIN_LEN: usize = FIXED_LEN + CHECKSUM_LEN;

/// Alignment of every row's offset in its page, and the granularity of
/// slot sizes: the in-memory pages' slot alignment.
pub(crate) const ROW_ALIGN: usize = 16;

/// Length of the fixed fields, before the first page entry.
const FIXED_LEN: usize = 56;

/// Length of a page entry's fixed fields, before its rows.
const ENTRY_HEADER_LEN: usize = 16;

/// Length of one row in a page entry: `offset` and `len`.
const ROW_SLOT_LEN: usize = 4;

/// Length of the trailing checksum.
const CHECKSUM_LEN: usize = 4;

/// Offset of the `row_count` field.
const ROW_COUNT_AT: usize = 48;

/// The manifest's format, as the checks every file gets need it.
pub(crate) const FORMAT: FileFormat = FileFormat {
    file: FileKind::Manifest,
    magic: MANIFEST_MAGIC,
    min_len: MANIFEST_MIN_LEN,
    max_len: usize::MAX,
    min_len_first: false,
    checksum: ChecksumAt::End,
    known_flags: 0,
};

// Counts read from a manifest are u32 and are converted to usize losslessly.
const _: () = assert!(usize::BITS >= 32);

/// The file name of the manifest of generation `generation`: `manifest-`
/// and the generation in 20 decimal digits, so names sort by generation.
///
/// # Example
///
/// ```
/// use worktable_persist::testing::pages::manifest_name;
///
/// assert_eq!(manifest_name(3), "manifest-00000000000000000003");
/// ```
pub fn manifest_name(generation: u64) -> String {
    format!("manifest-{generation:020}")
}

/// The contents of a manifest.
///
/// The format version, the flags, the page count and the row count are not
/// fields: version 2 with no flags is the only manifest this build writes
/// or accepts, and the counts follow from `pages`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Manifest {
    /// Fingerprint of the row type's schema; the caller refuses to use the
    /// manifest under another one.
    pub schema_fingerprint: u64,
    /// The checkpoint's generation: the manifest's file is
    /// `manifest-` and the generation in 20 digits, and the metadata file
    /// names the current one.
    pub generation: u64,
    /// Every change with a sequence number up to this one is in the frames;
    /// recovery replays the log from the next one. The frames may hold some
    /// later changes too: a checkpoint does not stop writers.
    pub checkpoint_seq: u64,
    /// The page file holds at least this many frames for this manifest;
    /// every page's frame is below it.
    pub frame_count: u32,
    /// The pages with live rows, by ascending page id, each in its own
    /// frame. Pages without rows are left out.
    pub pages: Vec<PageEntry>,
}

impl Manifest {
    /// The number of rows over all pages: the manifest's `row_count`.
    pub fn row_count(&self) -> u64 {
        self.pages.iter().map(|entry| entry.rows.len() as u64).sum()
    }
}

/// One page of a checkpoint: the frame that holds its body, the body's
/// checksum, and its live rows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageEntry {
    /// The page's id in the table.
    pub page_id: u32,
    /// The frame of the page file that holds the page's body.
    pub frame: u32,
    /// The CRC32C of the frame's bytes as the checkpoint wrote them.
    pub body_crc: u32,
    /// The page's live rows, by ascending offset, their slots disjoint; at
    /// least one.
    pub rows: Vec<RowSlot>,
}

/// Where a live row lies in its page: `len` archived bytes at `offset`.
///
/// The row occupies a slot of [`slot_size`](Self::slot_size) bytes from
/// `offset`: its length rounded up to a multiple of 16 bytes, the
/// in-memory pages' slot alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RowSlot {
    /// Offset of the row's first byte in the page; a multiple of 16.
    pub offset: u16,
    /// Length of the row's archived bytes; at least 1.
    pub len: u16,
}

impl RowSlot {
    /// Bytes the row's slot occupies: `len` (at least 1) rounded up to a
    /// multiple of 16.
    ///
    /// ```
    /// use worktable_persist::testing::pages::RowSlot;
    ///
    /// assert_eq!(RowSlot { offset: 0, len: 1 }.slot_size(), 16);
    /// assert_eq!(RowSlot { offset: 0, len: 17 }.slot_size(), 32);
    /// assert_eq!(RowSlot { offset: 0, len: u16::MAX }.slot_size(), 65_536);
    /// ```
    pub fn slot_size(self) -> usize {
        usize::from(self.len).max(1).div_ceil(ROW_ALIGN) * ROW_ALIGN
    }
}

/// Encodes `manifest` as the complete contents of a manifest file.
///
/// The manifest is checked first, as [`decode_manifest`] checks a stored
/// one, and nothing is encoded if a check fails:
///
/// - [`ManifestEncodeError::TooManyPages`]: more than `u32::MAX` pages.
/// - Then for each page entry in turn: [`ManifestEncodeError::TooManyRows`]
///   if it has more than `u32::MAX` rows, then
///   [`ManifestEncodeError::Malformed`] if it breaks a rule of its page id,
///   frame or row count, then if one of its rows breaks a rule, in order.
/// - [`ManifestEncodeError::Malformed`] with
///   [`ManifestRule::FrameShared`] if two pages are in the same frame.
///
/// (Once the rules hold, a page has at most 4096 rows and there are fewer
/// than `u32::MAX` pages, so the two count errors come only with an
/// impossibly large manifest; the row total never overflows its `u64`.)
pub(crate) fn encode_manifest(manifest: &Manifest) -> Result<Vec<u8>, ManifestEncodeError> {
    let malformed = |rule| ManifestEncodeError::Malformed { rule };
    let pages = &manifest.pages;
    let page_count = u32::try_from(pages.len())
        .map_err(|_| ManifestEncodeError::TooManyPages { count: pages.len() })?;
    let mut row_counts = Vec::with_capacity(pages.len());
    let mut row_count = 0u64;
    // Never more than the memory `pages` takes: no overflow.
    let mut len = MANIFEST_MIN_LEN;
    let mut previous_id = None;
    for (page, entry) in (0u32..).zip(pages) {
        let rows =
            u32::try_from(entry.rows.len()).map_err(|_| ManifestEncodeError::TooManyRows {
                page,
                count: entry.rows.len(),
            })?;
        rules::check_page(
            page,
            entry.page_id,
            entry.frame,
            rows,
            previous_id,
            manifest.frame_count,
        )
        .map_err(malformed)?;
        let mut previous_end = 0;
        for (row, &slot) in (0u32..).zip(&entry.rows) {
            previous_end = rules::check_row(page, entry.page_id, row, slot, previous_end)
                .map_err(malformed)?;
        }
        previous_id = Some(entry.page_id);
        row_counts.push(rows);
        len += ENTRY_HEADER_LEN + entry.rows.len() * ROW_SLOT_LEN;
        // At most u32::MAX pages of at most u32::MAX rows: below 2^64.
        row_count += u64::from(rows);
    }
    rules::check_frames_distinct(pages).map_err(|(_, rule)| malformed(rule))?;

    Ok(FORMAT.encode(Vec::with_capacity(len), |out| {
        out.put_u64(manifest.schema_fingerprint);
        out.put_u64(manifest.generation);
        out.put_u64(manifest.checkpoint_seq);
        out.put_u32(manifest.frame_count);
        out.put_u32(page_count);
        out.put_u64(row_count);
        for (entry, rows) in pages.iter().zip(row_counts) {
            out.put_u32(entry.page_id);
            out.put_u32(entry.frame);
            out.put_u32(entry.body_crc);
            out.put_u32(rows);
            for slot in &entry.rows {
                out.put_u16(slot.offset);
                out.put_u16(slot.len);
            }
        }
    }))
}

/// Decodes the complete contents of a manifest file.
///
/// First the checks every file gets, in the order of `FileFormat::check`:
/// the magic and the version (2), a length of at least 60 bytes, the
/// trailing CRC32C (damage, a torn write and a cut or extended file all
/// fail it), the flags. Then, in a manifest whose checksum verifies (one written
/// that way): for each page entry in turn,
/// [`ManifestFault::EntryPastEnd`] if the entry (its fixed fields, then its
/// rows by its row count) runs past the checksum, then
/// [`ManifestFault::Malformed`] if its page id, frame or row count breaks a
/// rule, then if one of its rows breaks a rule, in order; after the last
/// entry, [`ManifestFault::TrailingBytes`], then
/// [`ManifestFault::Malformed`] with [`ManifestRule::FrameShared`] and with
/// [`ManifestRule::RowCountMismatch`]. The first failure is returned.
///
/// Nothing is allocated by a stored count before the bytes that count
/// describes are known to be there, so a wrong count costs no more memory
/// than the file's length. One pass over the bytes, and one allocation per
/// page entry.
///
/// Never panics, whatever `bytes` holds.
pub fn decode_manifest(bytes: &[u8]) -> Result<Manifest, FileError> {
    let mut fields = FORMAT.check(bytes)?.fields;
    // The checks above leave at least the fixed fields to read.
    let schema_fingerprint = fields.u64();
    let generation = fields.u64();
    let checkpoint_seq = fields.u64();
    let frame_count = fields.u32();
    let page_count = fields.u32();
    let row_count = fields.u64();
    let manifest = Manifest {
        schema_fingerprint,
        generation,
        checkpoint_seq,
        frame_count,
        pages: decode_entries(&mut fields, page_count, frame_count)?,
    };
    check_after_entries(&fields, &manifest, row_count)?;
    Ok(manifest)
}

/// Decodes `page_count` page entries from `fields`, each checked against
/// the rules of an entry and of its rows as it is read.
fn decode_entries(
    fields: &mut Reader<'_>,
    page_count: u32,
    frame_count: u32,
) -> Result<Vec<PageEntry>, FileError> {
    // Every entry takes at least ENTRY_HEADER_LEN bytes: no more entries
    // than that can be in the file, whatever page_count says.
    let capacity = (page_count as usize).min(fields.remaining() / ENTRY_HEADER_LEN);
    let mut pages = Vec::with_capacity(capacity);
    let mut previous_id = None;
    for page in 0..page_count {
        let entry = decode_entry(fields, page, previous_id, frame_count)?;
        previous_id = Some(entry.page_id);
        pages.push(entry);
    }
    Ok(pages)
}

/// Decodes page entry `page`: its fixed fields, checked against the entry
/// before it (page id `previous_id`), then its rows, each checked in turn.
fn decode_entry(
    fields: &mut Reader<'_>,
    page: u32,
    previous_id: Option<u32>,
    frame_count: u32,
) -> Result<PageEntry, FileError> {
    let offset = fields.offset();
    let checksum_at = fields.end();
    let past_end = |len: u64| {
        FileError::Manifest(ManifestFault::EntryPastEnd {
            page,
            offset,
            len,
            checksum_at,
        })
    };
    let Some(head) = fields.bytes(ENTRY_HEADER_LEN) else {
        return Err(past_end(ENTRY_HEADER_LEN as u64));
    };
    let mut head = Reader::new(head);
    let (page_id, frame, body_crc, rows) = (head.u32(), head.u32(), head.u32(), head.u32());
    let rows_len = u64::from(rows) * ROW_SLOT_LEN as u64;
    let Some(row_bytes) = usize::try_from(rows_len)
        .ok()
        .and_then(|rows_len| fields.bytes(rows_len))
    else {
        return Err(past_end(ENTRY_HEADER_LEN as u64 + rows_len));
    };
    rules::check_page(page, page_id, frame, rows, previous_id, frame_count)
        .map_err(|rule| malformed(offset, rule))?;

    // The rows are there (checked just above): allocating for them is
    // bounded by the file's length.
    let mut slots = Vec::with_capacity(rows as usize);
    let mut previous_end = 0;
    let mut row_fields = Reader::at(row_bytes, offset + ENTRY_HEADER_LEN);
    for row in 0..rows {
        let at = row_fields.offset();
        let slot = RowSlot {
            offset: row_fields.u16(),
            len: row_fields.u16(),
        };
        previous_end = rules::check_row(page, page_id, row, slot, previous_end)
            .map_err(|rule| malformed(at, rule))?;
        slots.push(slot);
    }
    Ok(PageEntry {
        page_id,
        frame,
        body_crc,
        rows: slots,
    })
}

/// The checks after the last page entry: it ends at the checksum, no two
/// entries share a frame, and the stored `row_count` is the entries' total.
fn check_after_entries(
    fields: &Reader<'_>,
    manifest: &Manifest,
    row_count: u64,
) -> Result<(), FileError> {
    if fields.remaining() != 0 {
        return Err(FileError::Manifest(ManifestFault::TrailingBytes {
            offset: fields.offset(),
            checksum_at: fields.end(),
        }));
    }
    if let Err((page, rule)) = rules::check_frames_distinct(&manifest.pages) {
        return Err(malformed(entry_offset(&manifest.pages, page), rule));
    }
    // At most u32::MAX entries of at most u32::MAX rows: below 2^64.
    let counted = manifest.row_count();
    if counted != row_count {
        return Err(malformed(
            ROW_COUNT_AT,
            ManifestRule::RowCountMismatch {
                stored: row_count,
                counted,
            },
        ));
    }
    Ok(())
}

/// The error of a stored manifest that breaks `rule` at `offset`.
fn malformed(offset: usize, rule: ManifestRule) -> FileError {
    FileError::Manifest(ManifestFault::Malformed { offset, rule })
}

/// Byte offset of page entry `page` in the encoding of `pages`.
fn entry_offset(pages: &[PageEntry], page: u32) -> usize {
    FIXED_LEN
        + pages
            .iter()
            .take(page as usize)
            .map(|entry| ENTRY_HEADER_LEN + entry.rows.len() * ROW_SLOT_LEN)
            .sum::<usize>()
}
