//! The page file and the checkpoint manifest: their codecs, without any
//! I/O.
//!
//! **Not a stable API.** Public (and hidden from the docs) for the same
//! reason as [`log`](crate::log) and [`meta`](crate::meta): its examples
//! run as doctests and nothing in it needs a dead-code allowance until the
//! durable table uses it.
//!
//! A checkpoint copies each changed in-memory page into a *frame* of the
//! page file [`PAGE_FILE_NAME`]: [`FRAME_LEN`] bytes holding every live row
//! at the byte offset it has in memory, and zeros everywhere else. The file
//! starts with a [`HEADER_LEN`]-byte header ([`encode_header`],
//! [`decode_header`]); frame `i` starts at [`frame_offset(i)`](frame_offset).
//! Which frame holds which page, each frame's checksum ([`frame_crc`]) and
//! where each page's live rows are is recorded in a [`Manifest`], written
//! fresh at each checkpoint to the file [`manifest_name(generation)`](manifest_name)
//! ([`encode`], [`decode`]). The byte layouts (format version 2 of both)
//! and the rules are specified in `docs/format.md` at the repository root;
//! a file of any other version is refused, an older one as such (no
//! converter exists).
//!
//! # Example
//!
//! ```
//! use worktable_persist::format::ArchiveFormat;
//! use worktable_persist::pages::{
//!     FRAME_LEN, Manifest, PageEntry, RowSlot, decode, decode_header, encode, encode_header,
//!     frame_crc, frame_offset,
//! };
//!
//! // A page with one 5-byte row at offset 32, checkpointed into frame 0.
//! let mut body = vec![0u8; FRAME_LEN];
//! body[32..37].copy_from_slice(b"hello");
//! let mut file = encode_header(0x5eed, ArchiveFormat::current()).to_vec();
//! assert_eq!(frame_offset(0), file.len() as u64);
//! file.extend_from_slice(&body);
//!
//! let manifest = encode(&Manifest {
//!     schema_fingerprint: 0x5eed,
//!     generation: 1,
//!     checkpoint_seq: 7,
//!     frame_count: 1,
//!     pages: vec![PageEntry {
//!         page_id: 0,
//!         frame: 0,
//!         body_crc: frame_crc(&body),
//!         rows: vec![RowSlot { offset: 32, len: 5 }],
//!     }],
//! })?;
//!
//! // Recovery: the header, the manifest, then each frame against its entry.
//! assert_eq!(decode_header(&file)?.archive_format, ArchiveFormat::current());
//! let manifest = decode(&manifest)?;
//! for entry in &manifest.pages {
//!     let at = frame_offset(entry.frame) as usize;
//!     let frame = &file[at..at + FRAME_LEN];
//!     assert_eq!(frame_crc(frame), entry.body_crc);
//!     for row in &entry.rows {
//!         let start = usize::from(row.offset);
//!         assert_eq!(&frame[start..start + usize::from(row.len)], b"hello");
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What the checks catch
//!
//! The manifest's checksum covers every byte before it, and the file is
//! read whole, so a torn write, a cut or extended file, or a damaged byte
//! fails it. The page file header's checksum covers its fields (the
//! archive format of the rows in the frames among them), and its padding
//! must be zero. In both, the magic and the version are checked
//! before the checksum, because they are the only fields every format
//! version keeps in place: a file from a newer worktable is reported as
//! such, not as damage. A manifest whose checksum verifies but whose
//! entries do not fit its length, or which breaks a rule (page ids
//! ascending, one frame per page, rows aligned, inside the page, ascending
//! and disjoint, the row total right) was written that way, and is
//! reported as such, naming the page entry and the row. [`encode`] refuses
//! exactly the manifests [`decode`] would refuse, with the same
//! [`ManifestRule`].
//!
//! What a frame holds is checked by its checksum only: the rows in it are
//! validated (rkyv's `bytecheck`) by the caller before use.

mod error;
mod header;
mod manifest;
mod rules;

#[cfg(test)]
mod tests;

pub use error::{ManifestEncodeError, ManifestFault, ManifestRule, PageFileFault};
pub use header::{
    FRAME_LEN, HEADER_LEN, PAGE_FILE_MAGIC, PAGE_FILE_NAME, PageFileHeader, decode_header,
    encode_header, frame_crc, frame_offset,
};
pub use manifest::{
    MANIFEST_MAGIC, MANIFEST_MIN_LEN, Manifest, PageEntry, ROW_ALIGN, RowSlot, decode, encode,
    manifest_name,
};
