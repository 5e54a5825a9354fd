//! What a reader says about a file whose format version it does not read.
//!
//! Every file of a table directory starts with its magic and its format
//! version, the only fields every version keeps in place, so a reader can
//! always tell an older file from a newer one. No converter exists between
//! versions: a file of an older version is refused with the advice to
//! re-create the table, one of a newer version as written by a newer
//! worktable (or damaged).

use std::fmt;

/// The message for a `file` (such as "log segment") whose format version
/// `found` (bytes 8..12) is not `supported`, the one version this build
/// reads.
pub(crate) struct UnsupportedVersion {
    /// What the file is, as the message's subject.
    pub(crate) file: &'static str,
    /// The stored version.
    pub(crate) found: u32,
    /// The version this build reads.
    pub(crate) supported: u32,
}

impl fmt::Display for UnsupportedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            file,
            found,
            supported,
        } = self;
        if found < supported {
            write!(
                f,
                "{file} has format version {found} (bytes 8..12): it was written by an older \
                 worktable format (version {found}); this build reads only version {supported} \
                 and no converter exists: re-create the table from its rows"
            )
        } else {
            write!(
                f,
                "{file} has format version {found} (bytes 8..12); this build reads only version \
                 {supported}: the file was written by a newer worktable, or it is damaged"
            )
        }
    }
}
