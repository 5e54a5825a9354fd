//! What the four file formats of a table directory share: one
//! little-endian reader and writer ([`bytes`]), and the checks every file's
//! start gets ([`header`]). The errors they report are
//! [`FileError`](crate::file_error::FileError)'s.

mod bytes;
mod header;

pub(crate) use bytes::{HeaderBuf, Put, Reader};
pub(crate) use header::{ChecksumAt, FORMAT_VERSION, FileFormat};
