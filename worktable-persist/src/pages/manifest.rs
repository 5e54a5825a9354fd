//! The manifest of a checkpoint: which frame of the page file holds each
//! page, and where the live rows of each page are.
//!
//! A manifest is `magic | version: u32 | flags: u32 | schema_fingerprint:
//! u64 | generation: u64 | checkpoint_seq: u64 | frame_count: u32 |
//! page_count: u32 | row_count: u64`, then `page_count` page entries
//! `page_id: u32 | frame: u32 | body_crc: u32 | rows: u32 | rows × (offset:
//! u16 | len: u16)`, then `crc: u32`, CRC32C of everything before it.
//! `docs/format.md` has the table of offsets and the rules.

use super::error::{ManifestEncodeError, ManifestError, ManifestFault};
use super::{le, rules};

/// The eight bytes every manifest starts with.
pub const MANIFEST_MAGIC: [u8; 8] = *b"WTMANIF\0";

/// The manifest format version this build writes, and the only one it
/// reads.
pub const MANIFEST_VERSION: u32 = 2;

/// Length of a manifest without pages: the fixed fields and the checksum.
pub const MANIFEST_MIN_LEN: usize = FIXED_LEN + CHECKSUM_LEN;

/// Alignment of every row's offset in its page, and the granularity of
/// slot sizes: the in-memory pages' slot alignment.
pub const ROW_ALIGN: usize = 16;

/// Length of the fixed fields, before the first page entry.
const FIXED_LEN: usize = 56;

/// Length of a page entry's fixed fields, before its rows.
const ENTRY_HEADER_LEN: usize = 16;

/// Length of one row in a page entry: `offset` and `len`.
const ROW_SLOT_LEN: usize = 4;

/// Length of the trailing checksum.
const CHECKSUM_LEN: usize = 4;

/// Bytes a reader needs to see the magic and the version.
const VERSION_END: usize = 12;

/// Offset of the `row_count` field.
const ROW_COUNT_AT: usize = 48;

// Counts read from a manifest are u32 and are converted to usize losslessly.
const _: () = assert!(usize::BITS >= 32);

/// The file name of the manifest of generation `generation`: `manifest-`
/// and the generation in 20 decimal digits, so names sort by generation.
///
/// # Example
///
/// ```
/// use worktable_persist::pages::manifest_name;
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
///
/// # Example
///
/// ```
/// use worktable_persist::pages::{Manifest, PageEntry, RowSlot, decode, encode};
///
/// let manifest = Manifest {
///     schema_fingerprint: 0x5eed,
///     generation: 2,
///     checkpoint_seq: 41,
///     frame_count: 3,
///     pages: vec![PageEntry {
///         page_id: 0,
///         frame: 2,
///         body_crc: 0xdead_beef,
///         rows: vec![RowSlot { offset: 0, len: 5 }, RowSlot { offset: 16, len: 20 }],
///     }],
/// };
/// let bytes = encode(&manifest)?;
/// assert_eq!(&bytes[..8], b"WTMANIF\0");
/// assert_eq!(decode(&bytes)?, manifest);
/// assert_eq!(manifest.row_count(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Manifest {
    /// Fingerprint of the row type's schema; the caller refuses to use the
    /// manifest under another one.
    pub schema_fingerprint: u64,
    /// The checkpoint's generation: the manifest's file is
    /// [`manifest_name(generation)`](manifest_name), and the metadata file
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
    /// [`frame_crc`](super::frame_crc) of the frame's bytes as the
    /// checkpoint wrote them.
    pub body_crc: u32,
    /// The page's live rows, by ascending offset, their slots disjoint; at
    /// least one.
    pub rows: Vec<RowSlot>,
}

/// Where a live row lies in its page: `len` archived bytes at `offset`.
///
/// The row occupies a slot of [`slot_size`](Self::slot_size) bytes from
/// `offset`: its length rounded up to [`ROW_ALIGN`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RowSlot {
    /// Offset of the row's first byte in the page; a multiple of
    /// [`ROW_ALIGN`].
    pub offset: u16,
    /// Length of the row's archived bytes; at least 1.
    pub len: u16,
}

impl RowSlot {
    /// Bytes the row's slot occupies: `len` (at least 1) rounded up to a
    /// multiple of [`ROW_ALIGN`].
    ///
    /// ```
    /// use worktable_persist::pages::RowSlot;
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
/// The manifest is checked first, as [`decode`] checks a stored one, and
/// nothing is encoded if a check fails:
///
/// - [`ManifestEncodeError::TooManyPages`]: more than `u32::MAX` pages.
/// - Then for each page entry in turn: [`ManifestEncodeError::TooManyRows`]
///   if it has more than `u32::MAX` rows, then
///   [`ManifestEncodeError::Malformed`] if it breaks a rule of its page id,
///   frame or row count, then if one of its rows breaks a rule, in order.
/// - [`ManifestEncodeError::Malformed`] with
///   [`ManifestFault::FrameShared`] if two pages are in the same frame.
///
/// (Once the rules hold, a page has at most 4096 rows and there are fewer
/// than `u32::MAX` pages, so the two count errors come only with an
/// impossibly large manifest; the row total never overflows its `u64`.)
///
/// See [`Manifest`] for an example.
pub fn encode(manifest: &Manifest) -> Result<Vec<u8>, ManifestEncodeError> {
    let malformed = |fault| ManifestEncodeError::Malformed { fault };
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
    rules::check_frames_distinct(pages).map_err(|(_, fault)| malformed(fault))?;

    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&MANIFEST_MAGIC);
    out.extend_from_slice(&MANIFEST_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&manifest.schema_fingerprint.to_le_bytes());
    out.extend_from_slice(&manifest.generation.to_le_bytes());
    out.extend_from_slice(&manifest.checkpoint_seq.to_le_bytes());
    out.extend_from_slice(&manifest.frame_count.to_le_bytes());
    out.extend_from_slice(&page_count.to_le_bytes());
    out.extend_from_slice(&row_count.to_le_bytes());
    for (entry, rows) in pages.iter().zip(row_counts) {
        out.extend_from_slice(&entry.page_id.to_le_bytes());
        out.extend_from_slice(&entry.frame.to_le_bytes());
        out.extend_from_slice(&entry.body_crc.to_le_bytes());
        out.extend_from_slice(&rows.to_le_bytes());
        for slot in &entry.rows {
            out.extend_from_slice(&slot.offset.to_le_bytes());
            out.extend_from_slice(&slot.len.to_le_bytes());
        }
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Decodes the complete contents of a manifest file.
///
/// The checks run in this order, and the first that fails is returned:
///
/// - [`ManifestError::TooShort`]: fewer than 12 bytes, too few to hold the
///   magic and the version.
/// - [`ManifestError::BadMagic`]: the first 8 bytes are not the manifest
///   magic (an all-zero file is reported this way too).
/// - [`ManifestError::UnsupportedVersion`]: the version is not 2 (a
///   version 1 manifest is reported as written by an older format, which
///   this build does not convert). It is checked before anything else
///   because the magic and the version are the only fields every format
///   version keeps in place.
/// - [`ManifestError::TooShort`]: fewer than [`MANIFEST_MIN_LEN`] bytes.
/// - [`ManifestError::Checksum`]: the last 4 bytes are not the CRC32C of the
///   bytes before them. Damage, a torn write and a cut or extended file all
///   end up here.
/// - Then, in a manifest whose checksum verifies (one written that way):
///   [`ManifestError::UnsupportedFlags`]; for each page entry in turn,
///   [`ManifestError::EntryPastEnd`] if the entry (its fixed fields, then
///   its rows by its row count) runs past the checksum, then
///   [`ManifestError::Malformed`] if its page id, frame or row count breaks
///   a rule, then if one of its rows breaks a rule, in order; after the
///   last entry, [`ManifestError::TrailingBytes`], then
///   [`ManifestError::Malformed`] with [`ManifestFault::FrameShared`] and
///   with [`ManifestFault::RowCountMismatch`].
///
/// Nothing is allocated by a stored count before the bytes that count
/// describes are known to be there, so a wrong count costs no more memory
/// than the file's length. One pass over the bytes, and one allocation per
/// page entry.
///
/// Never panics, whatever `bytes` holds.
///
/// See [`Manifest`] for an example.
pub fn decode(bytes: &[u8]) -> Result<Manifest, ManifestError> {
    let len = bytes.len();
    if len < VERSION_END {
        return Err(ManifestError::TooShort { len });
    }
    let magic = le::array::<8>(bytes, 0);
    if magic != MANIFEST_MAGIC {
        return Err(ManifestError::BadMagic { found: magic });
    }
    let version = le::u32_at(bytes, 8);
    if version != MANIFEST_VERSION {
        return Err(ManifestError::UnsupportedVersion {
            found: version,
            supported: MANIFEST_VERSION,
        });
    }
    if len < MANIFEST_MIN_LEN {
        return Err(ManifestError::TooShort { len });
    }
    let Some((covered, stored)) = bytes.split_last_chunk::<CHECKSUM_LEN>() else {
        return Err(ManifestError::TooShort { len });
    };
    let stored = u32::from_le_bytes(*stored);
    let computed = crc32c::crc32c(covered);
    if stored != computed {
        return Err(ManifestError::Checksum {
            offset: covered.len(),
            stored,
            computed,
        });
    }

    let flags = le::u32_at(covered, 12);
    if flags != 0 {
        return Err(ManifestError::UnsupportedFlags { flags });
    }
    let schema_fingerprint = le::u64_at(covered, 16);
    let generation = le::u64_at(covered, 24);
    let checkpoint_seq = le::u64_at(covered, 32);
    let frame_count = le::u32_at(covered, 40);
    let page_count = le::u32_at(covered, 44);
    let row_count = le::u64_at(covered, ROW_COUNT_AT);

    let checksum_at = covered.len();
    let entries = covered.get(FIXED_LEN..).unwrap_or_default();
    // Every entry takes at least ENTRY_HEADER_LEN bytes: no more entries
    // than that can be in the file, whatever page_count says.
    let capacity = (page_count as usize).min(entries.len() / ENTRY_HEADER_LEN);
    let mut pages = Vec::with_capacity(capacity);
    let mut offset = FIXED_LEN;
    let mut previous_id = None;
    let mut counted = 0u64;
    for page in 0..page_count {
        let rest = covered.get(offset..).unwrap_or_default();
        let past_end = |len: u64| ManifestError::EntryPastEnd {
            page,
            offset,
            len,
            checksum_at,
        };
        let Some((head, after)) = rest.split_first_chunk::<ENTRY_HEADER_LEN>() else {
            return Err(past_end(ENTRY_HEADER_LEN as u64));
        };
        let page_id = le::u32_at(head, 0);
        let frame = le::u32_at(head, 4);
        let body_crc = le::u32_at(head, 8);
        let rows = le::u32_at(head, 12);
        let rows_len = u64::from(rows) * ROW_SLOT_LEN as u64;
        let Some(row_bytes) = usize::try_from(rows_len)
            .ok()
            .and_then(|rows_len| after.get(..rows_len))
        else {
            return Err(past_end(ENTRY_HEADER_LEN as u64 + rows_len));
        };
        rules::check_page(page, page_id, frame, rows, previous_id, frame_count)
            .map_err(|fault| ManifestError::Malformed { offset, fault })?;

        // The rows are there (checked just above): allocating for them is
        // bounded by the file's length.
        let mut slots = Vec::with_capacity(rows as usize);
        let mut previous_end = 0;
        let (row_chunks, _) = row_bytes.as_chunks::<ROW_SLOT_LEN>();
        for (row, chunk) in (0u32..).zip(row_chunks) {
            let slot = RowSlot {
                offset: le::u16_at(chunk, 0),
                len: le::u16_at(chunk, 2),
            };
            previous_end =
                rules::check_row(page, page_id, row, slot, previous_end).map_err(|fault| {
                    ManifestError::Malformed {
                        offset: offset + ENTRY_HEADER_LEN + row as usize * ROW_SLOT_LEN,
                        fault,
                    }
                })?;
            slots.push(slot);
        }
        pages.push(PageEntry {
            page_id,
            frame,
            body_crc,
            rows: slots,
        });
        previous_id = Some(page_id);
        // At most u32::MAX entries of at most u32::MAX rows: below 2^64.
        counted += u64::from(rows);
        offset += ENTRY_HEADER_LEN + row_bytes.len();
    }
    if offset != checksum_at {
        return Err(ManifestError::TrailingBytes {
            offset,
            checksum_at,
        });
    }
    if let Err((page, fault)) = rules::check_frames_distinct(&pages) {
        return Err(ManifestError::Malformed {
            offset: entry_offset(&pages, page),
            fault,
        });
    }
    if counted != row_count {
        return Err(ManifestError::Malformed {
            offset: ROW_COUNT_AT,
            fault: ManifestFault::RowCountMismatch {
                stored: row_count,
                counted,
            },
        });
    }
    Ok(Manifest {
        schema_fingerprint,
        generation,
        checkpoint_seq,
        frame_count,
        pages,
    })
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
