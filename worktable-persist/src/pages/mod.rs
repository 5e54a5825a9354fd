//! The page file and the checkpoint manifest: their codecs, without any
//! I/O.
//!
//! Private to the crate, like [`log`](crate::log) and
//! [`meta`](crate::meta); the tests read a checkpoint's manifest and frames
//! through `crate::testing`.
//!
//! A checkpoint copies each changed in-memory page into a *frame* of the
//! page file [`PAGE_FILE_NAME`]: [`FRAME_LEN`] bytes holding every live row
//! at the byte offset it has in memory, and zeros everywhere else. The file
//! starts with a [`HEADER_LEN`]-byte header ([`encode_header`],
//! [`decode_header`]); frame `i` starts at [`frame_offset(i)`](frame_offset).
//! Which frame holds which page, each frame's checksum ([`frame_crc`]) and
//! where each page's live rows are is recorded in a [`Manifest`], written
//! fresh at each checkpoint to the file
//! [`manifest_name(generation)`](manifest_name) ([`encode_manifest`],
//! [`decode_manifest`]). The byte layouts (format version 2 of both) and
//! the rules are specified in `docs/format.md` at the repository root; a
//! file of any other version is refused, an older one as such (no
//! converter exists).
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
//! reported as such, naming the page entry and the row.
//! [`encode_manifest`] refuses exactly the manifests [`decode_manifest`]
//! would refuse, with the same [`ManifestRule`].
//!
//! What a frame holds is checked by its checksum only: the rows in it are
//! validated (rkyv's `bytecheck`) by the caller before use.

mod error;
mod header;
mod manifest;
mod rules;

#[cfg(test)]
mod tests;

pub use error::{ManifestFault, ManifestRule, PageFileFault};
pub use header::{FRAME_LEN, PAGE_FILE_NAME, frame_offset};
pub(crate) use header::{HEADER_LEN, decode_header, encode_header, frame_crc};
pub use manifest::{Manifest, PageEntry, RowSlot, decode_manifest, manifest_name};
pub(crate) use manifest::{ROW_ALIGN, encode_manifest};

#[cfg(test)]
pub(crate) use error::ManifestEncodeError;
#[cfg(test)]
pub(crate) use header::{PAGE_FILE_MAGIC, PageFileHeader};
#[cfg(test)]
pub(crate) use manifest::{MANIFEST_MAGIC, MANIFEST_MIN_LEN};
