//! Where a row version lives: a page and a byte range inside it.

use std::fmt;

/// Size of one page in bytes. Every row version lives inside one page.
///
/// 64 KiB keeps offsets in a `u16` (so a row's location packs into one
/// `u64` that an update swaps atomically) while leaving room for rows
/// with kilobytes of text. It is also the unit the persistence crate writes.
pub const PAGE_SIZE: usize = 64 * 1024;

/// Alignment of every slot, and the granularity of slot sizes.
///
/// rkyv archives need the alignment of their most aligned field (16 for
/// `u128`/`i128`); serializing into a 16-aligned buffer and copying into a
/// 16-aligned slot keeps every field aligned.
pub(crate) const SLOT_ALIGN: usize = 16;

/// The largest archived row a table accepts, in bytes.
pub const MAX_ROW_BYTES: usize = u16::MAX as usize;

/// Identifies a page of a table.
///
/// Ids are handed out from 0 upwards; the id of a page that vacuum gave
/// back is handed out again before a new one. `u32::MAX` is never an id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PageId(u32);

impl PageId {
    /// The page with id `id`.
    pub const fn new(id: u32) -> Self {
        Self(id)
    }

    /// The id as a number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The id as an index into per-page tables.
    pub(crate) const fn index(self) -> usize {
        self.0 as usize
    }

    /// The page whose id is `index`, an index into per-page tables (which
    /// never hold `u32::MAX` pages).
    pub(crate) const fn from_index(index: usize) -> Self {
        Self(index as u32)
    }
}

impl fmt::Display for PageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The location of one archived row version: `len` bytes at `offset` in page
/// `page`. The slot it occupies is `len` rounded up to [`SLOT_ALIGN`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Link {
    /// The page holding the row.
    pub(crate) page: PageId,
    /// Byte offset of the row inside the page; a multiple of [`SLOT_ALIGN`].
    pub(crate) offset: u16,
    /// Length of the archived row in bytes.
    pub(crate) len: u16,
}

impl Link {
    /// Bytes the slot occupies in its page.
    pub(crate) fn slot_size(self) -> usize {
        slot_size(self.len as usize)
    }

    /// Packs the link into one word: `page | offset | len`, high to low.
    pub(crate) fn pack(self) -> u64 {
        (u64::from(self.page.get()) << 32) | (u64::from(self.offset) << 16) | u64::from(self.len)
    }

    pub(crate) fn unpack(word: u64) -> Self {
        Self {
            page: PageId((word >> 32) as u32),
            offset: (word >> 16) as u16,
            len: word as u16,
        }
    }
}

/// Bytes a row of `len` bytes occupies: `len` rounded up to [`SLOT_ALIGN`],
/// and at least one [`SLOT_ALIGN`] so that no two rows share an address.
pub(crate) fn slot_size(len: usize) -> usize {
    len.max(1).div_ceil(SLOT_ALIGN) * SLOT_ALIGN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_round_trips() {
        for link in [
            Link {
                page: PageId(0),
                offset: 0,
                len: 1,
            },
            Link {
                page: PageId(7),
                offset: 65520,
                len: 16,
            },
            Link {
                page: PageId(u32::MAX - 1),
                offset: 4096,
                len: u16::MAX,
            },
        ] {
            assert_eq!(Link::unpack(link.pack()), link);
        }
    }

    #[test]
    fn slot_sizes_round_up_to_alignment() {
        assert_eq!(slot_size(0), 16);
        assert_eq!(slot_size(1), 16);
        assert_eq!(slot_size(16), 16);
        assert_eq!(slot_size(17), 32);
        assert_eq!(slot_size(MAX_ROW_BYTES), PAGE_SIZE);
    }
}
