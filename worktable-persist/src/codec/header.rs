//! What every file of a table directory starts with, and the checks a
//! reader makes before it trusts any other byte: the magic, the format
//! version, the length, the checksum and the flags.
//!
//! Every file starts with an 8-byte magic, a 4-byte format version and
//! 4 bytes of flags. The magic and the version are the only fields every
//! version keeps in place, so a reader checks them before anything else
//! (even before the checksum, whose place is itself version-specific) and
//! can always tell an older file from a newer one. No converter exists
//! between versions: a file of an older version is refused with the advice
//! to re-create the table, one of a newer version as written by a newer
//! worktable (or damaged).
//!
//! Each format is described once, as a [`FileFormat`]: its magic, its
//! shortest and longest length, and where its checksum lies.
//! [`FileFormat::check`] then makes the checks every file gets, in the
//! order `docs/format.md` gives, each failure its own [`FileError`]; each
//! file's codec checks the fields the checksum covers.

use super::bytes::{Put, Reader};
use crate::file_error::{FileError, FileKind};
use crate::format::ArchiveFormat;

/// The format version this build writes, and the only one it reads, for
/// every file of a table directory.
pub(crate) const FORMAT_VERSION: u32 = 2;

/// Bytes that hold the magic and the format version.
const VERSION_END: usize = 12;

/// Length of a checksum.
const CHECKSUM_LEN: usize = 4;

/// Where a file's CRC32C lies, and what it covers.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ChecksumAt {
    /// At this offset in the file's fixed-size header
    /// ([`FileFormat::min_len`] bytes), covering the bytes before it; the
    /// header's bytes after it are padding.
    Header(usize),
    /// In the file's last 4 bytes, covering every byte before them.
    End,
}

/// One file format of a table directory, as the checks every file gets
/// need it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileFormat {
    /// Which file.
    pub(crate) file: FileKind,
    /// The 8 bytes the file starts with.
    pub(crate) magic: [u8; 8],
    /// The shortest file of this format: its header, or a file whose
    /// variable fields are empty.
    pub(crate) min_len: usize,
    /// The longest file of this format (`usize::MAX` if unbounded).
    pub(crate) max_len: usize,
    /// Whether a file shorter than [`min_len`](Self::min_len) is refused
    /// before its magic is looked at (a header read whole), rather than
    /// after its version.
    pub(crate) min_len_first: bool,
    /// Where the checksum lies.
    pub(crate) checksum: ChecksumAt,
    /// The flags a file of this format may have; any other is refused.
    pub(crate) known_flags: u32,
}

/// The start of a file that passed [`FileFormat::check`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checked<'a> {
    /// The file's flags, all of them known to its format.
    pub(crate) flags: u32,
    /// The fields after the flags, up to the checksum: the bytes the
    /// checksum covers, so verified.
    pub(crate) fields: Reader<'a>,
    /// The header's bytes after its checksum, which it does not cover
    /// (empty for a checksum at the end of the file).
    pub(crate) padding: Reader<'a>,
}

impl Checked<'_> {
    /// Offset of the first byte of the header's padding that is not zero.
    pub(crate) fn nonzero_padding(&self) -> Option<usize> {
        let padding = self.padding;
        let at = padding.rest().iter().position(|&b| b != 0)?;
        Some(padding.offset() + at)
    }
}

impl FileFormat {
    /// Encodes a file of this format into `out`: what every file starts
    /// with (the magic, the format version, no flags), the fields
    /// `put_fields` appends, then the CRC32C of all of them. For a checksum
    /// in the header, the fields end where the checksum goes, and the
    /// padding after it is left to `out` (a [`HeaderBuf`](super::HeaderBuf)
    /// is zero there).
    pub(crate) fn encode<P: Put>(&self, out: P, put_fields: impl FnOnce(&mut P)) -> P {
        self.encode_flagged(0, out, put_fields)
    }

    /// [`encode`](Self::encode) with `flags` (known to the format).
    pub(crate) fn encode_flagged<P: Put>(
        &self,
        flags: u32,
        mut out: P,
        put_fields: impl FnOnce(&mut P),
    ) -> P {
        debug_assert_eq!(flags & !self.known_flags, 0, "{} flags", self.file);
        out.put(&self.magic);
        out.put_u32(FORMAT_VERSION);
        out.put_u32(flags);
        put_fields(&mut out);
        if let ChecksumAt::Header(at) = self.checksum {
            debug_assert_eq!(out.written().len(), at, "{} header fields", self.file);
        }
        out.put_checksum();
        out
    }

    /// Checks the start of `bytes` (the whole file, or at least its
    /// header), in this order, and returns the first failure:
    ///
    /// 1. [`FileError::TooShort`] if fewer than 12 bytes hold the magic and
    ///    the version (or, for a header read whole, fewer than
    ///    [`min_len`](Self::min_len));
    /// 2. [`FileError::BadMagic`] (an all-zero file is reported this way);
    /// 3. [`FileError::UnsupportedVersion`], before anything else, because
    ///    the magic and the version are the only fields every format
    ///    version keeps in place;
    /// 4. [`FileError::TooShort`], then [`FileError::TooLong`], against
    ///    the format's lengths;
    /// 5. [`FileError::ChecksumMismatch`]: damage, a torn write and a cut
    ///    or extended file end up here;
    /// 6. [`FileError::UnsupportedFlags`]: a flag the format does not know, in a
    ///    file whose checksum verifies.
    ///
    /// Never panics, whatever `bytes` holds.
    pub(crate) fn check<'a>(&self, bytes: &'a [u8]) -> Result<Checked<'a>, FileError> {
        let file = self.file;
        let len = bytes.len();
        let too_short = FileError::TooShort {
            file,
            len,
            min: self.min_len,
        };
        if len < VERSION_END || (self.min_len_first && len < self.min_len) {
            return Err(too_short);
        }
        let mut start = Reader::new(bytes);
        let found = start.array();
        if found != self.magic {
            return Err(FileError::BadMagic {
                file,
                found,
                expected: self.magic,
            });
        }
        let found = start.u32();
        if found != FORMAT_VERSION {
            return Err(FileError::UnsupportedVersion {
                file,
                found,
                supported: FORMAT_VERSION,
            });
        }
        if len < self.min_len {
            return Err(too_short);
        }
        if len > self.max_len {
            return Err(FileError::TooLong {
                file,
                len: len as u64,
                max: self.max_len,
            });
        }
        let (covered, stored, padding) = self.split_checksum(bytes).ok_or(too_short)?;
        let computed = crc32c::crc32c(covered);
        if stored != computed {
            return Err(FileError::ChecksumMismatch {
                file,
                offset: covered.len(),
                stored,
                computed,
            });
        }
        let after_version = covered.get(VERSION_END..).unwrap_or_default();
        let mut fields = Reader::at(after_version, VERSION_END);
        let flags = fields.u32();
        if flags & !self.known_flags != 0 {
            return Err(FileError::UnsupportedFlags { file, flags });
        }
        Ok(Checked {
            flags,
            fields,
            padding,
        })
    }

    /// Decodes the archive format in the next 4 bytes of `fields`.
    ///
    /// # Errors
    ///
    /// [`FileError::ArchiveFormat`] if they are not one. Another format
    /// than this build's decodes: comparing is the caller's decision.
    pub(crate) fn archive_format(
        &self,
        fields: &mut Reader<'_>,
    ) -> Result<ArchiveFormat, FileError> {
        let offset = fields.offset();
        ArchiveFormat::from_bytes(fields.array()).map_err(|reason| FileError::ArchiveFormat {
            file: self.file,
            offset,
            reason,
        })
    }

    /// The bytes the checksum covers, the stored checksum, and the
    /// header's padding after it; `None` if `bytes` is too short to hold
    /// them (which [`check`](Self::check) rules out before).
    fn split_checksum<'a>(&self, bytes: &'a [u8]) -> Option<(&'a [u8], u32, Reader<'a>)> {
        let (covered, rest) = match self.checksum {
            ChecksumAt::Header(at) => bytes.get(..self.min_len)?.split_at_checked(at)?,
            ChecksumAt::End => bytes.split_at_checked(bytes.len().checked_sub(CHECKSUM_LEN)?)?,
        };
        let (stored, padding) = rest.split_first_chunk::<CHECKSUM_LEN>()?;
        let padding = Reader::at(padding, covered.len() + CHECKSUM_LEN);
        Some((covered, u32::from_le_bytes(*stored), padding))
    }
}
