//! [`Mapped`]: the read-only view of a whole file that [`Vfs::map`] returns.
//!
//! [`Vfs::map`]: super::Vfs::map

use std::fmt;
use std::ops::Deref;

/// A read-only view of a whole file: `Deref<Target = [u8]>`.
///
/// [`RealFs`](super::RealFs) maps the file (see its `map` for when that is
/// sound); an empty file, and every file of the simulated disk, is held
/// as owned bytes. Build one from bytes with `From<Vec<u8>>`.
///
/// # Example
///
/// ```
/// use worktable_persist::testing::vfs::Mapped;
///
/// let view = Mapped::from(b"page".to_vec());
/// assert_eq!(&view[..], b"page");
/// assert!(Mapped::empty().is_empty());
/// ```
pub struct Mapped(Inner);

enum Inner {
    /// A file of at least one byte, mapped read-only.
    Map(memmap2::Mmap),
    /// Bytes held in memory (a simulated file, or a view made from bytes).
    Owned(Vec<u8>),
}

impl Mapped {
    /// The view of an empty file. Nothing is mapped: mapping zero bytes is
    /// an error on some platforms.
    pub fn empty() -> Self {
        Self(Inner::Owned(Vec::new()))
    }

    /// Wraps a mapping made by [`RealFs`](super::RealFs).
    pub(super) fn from_map(map: memmap2::Mmap) -> Self {
        Self(Inner::Map(map))
    }

    /// Whether the view is a memory mapping (rather than owned bytes).
    pub fn is_mapping(&self) -> bool {
        matches!(self.0, Inner::Map(_))
    }
}

impl From<Vec<u8>> for Mapped {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Inner::Owned(bytes))
    }
}

impl Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Inner::Map(map) => map,
            Inner::Owned(bytes) => bytes,
        }
    }
}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl fmt::Debug for Mapped {
    /// The length and kind only: the bytes may be megabytes of pages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapped")
            .field("len", &self.len())
            .field("mapping", &self.is_mapping())
            .finish()
    }
}
