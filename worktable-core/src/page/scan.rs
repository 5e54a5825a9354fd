//! The committed versions of many rows, gathered for a whole-table scan and
//! put in page order, so that the scan reads the pages front to back.

use std::marker::PhantomData;

use crossbeam_epoch::Guard;

use super::store::{RowCell, RowStore, Version};
use crate::row::Row;

/// Below this many versions a comparison sort is cheaper than counting.
const BUCKETS_FROM: usize = 1 << 12;

/// Committed versions of one store's rows, located under the epoch guard
/// `'g` and kept as packed links: a scan of a large table allocates two
/// buffers of 8 bytes per row (the links, then the links in order) and a
/// count per 256-byte block of its pages.
#[derive(Debug)]
pub(crate) struct PageOrder<'g, R> {
    links: Vec<u64>,
    store: &'g RowStore<R>,
    _guard: PhantomData<&'g Guard>,
}

impl<R: Row> RowStore<R> {
    /// An empty list for up to `rows` versions of this store, located
    /// while `guard` stays pinned.
    pub(crate) fn page_order<'g>(&'g self, rows: usize, _guard: &'g Guard) -> PageOrder<'g, R> {
        PageOrder {
            links: Vec::with_capacity(rows),
            store: self,
            _guard: PhantomData,
        }
    }
}

impl<'g, R: Row> PageOrder<'g, R> {
    /// Adds the committed version of the row in `cell`.
    ///
    /// # Panics
    ///
    /// If `cell` belongs to another store.
    pub(crate) fn push(&mut self, cell: &RowCell) {
        self.store.check_owner(cell);
        self.links.push(cell.packed());
    }

    /// The versions in page order, and inside a page by 256-byte block (in
    /// no particular order within a block, unless the list is small and
    /// simply sorted).
    pub(crate) fn into_ordered(mut self) -> impl ExactSizeIterator<Item = Version<'g>> {
        if self.links.len() < BUCKETS_FROM {
            self.links.sort_unstable();
        } else {
            bucket_by_page(&mut self.links);
        }
        let store = self.store.id();
        self.links
            .into_iter()
            .map(move |pack| Version::from_parts(pack, store))
    }
}

/// Finest buckets: a page's 256-byte blocks (a link's high 40 bits, see
/// `Link::pack`: the page, then the offset's high byte). Reading the rows
/// block after block keeps the accesses ascending, which the hardware
/// prefetcher follows; by measurement on the peers suite's scan, buckets of
/// a whole page (no order inside it) read 1.5× slower and 4 KiB blocks
/// about 1.15× slower.
const FINEST_SHIFT: u32 = 24;

/// Coarsest buckets: whole pages.
const PAGE_SHIFT: u32 = 32;

/// Orders `links` by bucket (a link shifted right by a shift between
/// [`FINEST_SHIFT`] and [`PAGE_SHIFT`], the finest that needs no more
/// buckets than there are links) in one counting pass and one scatter into
/// a second buffer. When even whole pages are more than the links (a
/// sparse table), sorts instead. (Swapping in place, an American flag
/// sort, measured slower: its chains of dependent swaps wait on memory one
/// by one, where the scatter's writes are independent.)
fn bucket_by_page(links: &mut Vec<u64>) {
    let highest = links.iter().copied().max().unwrap_or(0);
    let Some(shift) = (FINEST_SHIFT..=PAGE_SHIFT)
        .find(|&shift| usize::try_from(highest >> shift).is_ok_and(|last| last < links.len()))
    else {
        links.sort_unstable();
        return;
    };
    let bucket = |pack: u64| (pack >> shift) as usize;
    let mut next = vec![0usize; bucket(highest) + 2];
    for &pack in links.iter() {
        next[bucket(pack) + 1] += 1;
    }
    for i in 1..next.len() {
        next[i] += next[i - 1];
    }
    let mut sorted = vec![0u64; links.len()];
    for &pack in links.iter() {
        let at = &mut next[bucket(pack)];
        sorted[*at] = pack;
        *at += 1;
    }
    *links = sorted;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` links from xorshift, with `page(random, i)` as page, a random
    /// offset and `i` as length (so every link is distinct).
    fn links(count: u64, page: impl Fn(u64, u64) -> u64) -> Vec<u64> {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        (0..count)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (page(state, i) << 32) | ((state >> 40) & 0xffff) << 16 | i
            })
            .collect()
    }

    /// Buckets `links` and checks that none was lost or made up and that
    /// they come in the order of their `shift`-bit buckets.
    fn check(mut links: Vec<u64>, shift: u32) {
        let mut expected = links.clone();
        bucket_by_page(&mut links);
        assert!(
            links
                .windows(2)
                .all(|pair| pair[0] >> shift <= pair[1] >> shift),
            "not ordered by {shift}-bit buckets"
        );
        links.sort_unstable();
        expected.sort_unstable();
        assert_eq!(links, expected);
    }

    #[test]
    fn a_dense_table_is_ordered_by_256_byte_block() {
        check(links(20_000, |random, _| random % 37), FINEST_SHIFT);
    }

    #[test]
    fn a_sparse_table_gets_coarser_buckets_or_a_sort_never_a_huge_count() {
        // 5,000 rows on pages 0..50,000: whole pages are still too many
        // buckets, so the links are sorted (fully ordered).
        check(links(5_000, |_, i| i * 10), 0);
        // 5,000 rows on 200 pages: 256-byte blocks would be 51,200
        // buckets; 4 KiB blocks (3,200) fit.
        check(links(5_000, |random, _| random % 200), 28);
    }

    #[test]
    fn one_page_and_no_rows() {
        check(links(3, |_, _| 5), FINEST_SHIFT);
        check(Vec::new(), FINEST_SHIFT);
    }
}
