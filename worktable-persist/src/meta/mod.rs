//! The metadata file of a table directory: its codec, and how it is read
//! and replaced.
//!
//! Private to the crate, like [`log`](crate::log); the tests read a
//! directory's metadata file through `crate::testing`.
//!
//! The metadata file says which checkpoint the directory's page file holds:
//! the rkyv archive format of the rows, the schema fingerprint of the row
//! type, the table name, the checkpoint sequence number (every change up to
//! it is in the page file; the log is replayed after it), the page file's
//! generation, the sequence number the log was synced through, the key
//! generator's state (the largest key ever deleted), and a readable
//! description of the row type ([`StoredSchema`]). [`encode`] and
//! [`decode`](codec::decode) convert a [`Meta`] to
//! and from the file's bytes without any I/O; the byte layout (format
//! version 2) is specified in `docs/format.md` at the repository root.
//! [`write_atomically`] replaces the file so that a crash leaves the old or
//! the new one, never a mix, and [`read`] reads it back with errors that
//! name the file.
//!
//! # What the checks catch
//!
//! The checksum covers every byte before it, and the file is read whole,
//! so a torn write, a cut or extended file, or a damaged byte fails it. The
//! magic and the version are checked before the checksum, because they are
//! the only fields every format version keeps in place: a file from a newer
//! worktable is reported as such, not as damage, and one from an older
//! format as such too (no converter exists). A file whose checksum verifies
//! but which breaks a rule (flags, an archive format that is not one, a
//! length over its maximum, a field past the end, a string that is not
//! UTF-8, an unknown code in the schema description, bytes after the last
//! field) was written that way, and is reported as such, naming the field
//! and its byte offset.

mod codec;
mod error;
mod fields;
mod file;
mod schema;

#[cfg(test)]
mod tests;

pub use codec::Meta;
pub(crate) use codec::{
    MAX_KEY_STATE_LEN, MAX_SCHEMA_LEN, MAX_TABLE_NAME_LEN, decode as decode_bytes, encode,
};
pub use error::{MetaError, MetadataEncodeError, MetadataFault, MetadataField};
pub(crate) use file::write_atomically;
pub use file::{FILE_NAME, read};
pub use schema::{StoredField, StoredIndex, StoredKeySource, StoredSchema};

#[cfg(test)]
pub(crate) use codec::{MAGIC, MAX_LEN, MIN_LEN, decode};
