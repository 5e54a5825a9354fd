//! Scans of an [`OrderedMap`]: entries copied out a node at a time between
//! two bounds that close in on each other.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::ops::Bound;

use crossbeam_epoch::{self as epoch, Guard};
use crossbeam_skiplist::base::Entry;

use super::{NodeEntry, OrderedMap};
use crate::index::entry::{IndexEntry, Seek, SeekRange};

/// A bound of a scan: the caller's probe, or an entry the scan has reached
/// (a node's fence).
enum Limit<K, P, S> {
    Probe(S),
    Entry(IndexEntry<K, P>),
}

impl<K: Ord, P: Ord, S: Seek<K, P>> Limit<K, P, S> {
    /// Where the limit sorts relative to `entry`.
    fn cmp(&self, entry: &IndexEntry<K, P>) -> Ordering {
        match self {
            Self::Probe(probe) => probe.cmp_entry(entry),
            Self::Entry(limit) => limit.cmp(entry),
        }
    }

    /// The skiplist entry of the node a search for the limit starts at:
    /// the greatest fence at or below it (`inclusive`) or below it.
    fn find<'m>(
        &self,
        map: &'m OrderedMap<K, P>,
        inclusive: bool,
        guard: &'m Guard,
    ) -> Option<NodeEntry<'m, 'm, K, P>>
    where
        K: Clone + Send + Sync + 'static,
        P: Clone + Send + Sync + 'static,
    {
        let probe: &dyn Seek<K, P> = match self {
            Self::Probe(probe) => probe,
            Self::Entry(entry) => entry,
        };
        let bound = if inclusive {
            Bound::Included(probe)
        } else {
            Bound::Excluded(probe)
        };
        map.find(bound, guard)
    }
}

/// Whether `entry` is inside `lower` taken as a lower bound.
fn above<K: Ord, P: Ord, S: Seek<K, P>>(
    lower: &Bound<Limit<K, P, S>>,
    entry: &IndexEntry<K, P>,
) -> bool {
    match lower {
        Bound::Included(limit) => limit.cmp(entry) != Ordering::Greater,
        Bound::Excluded(limit) => limit.cmp(entry) == Ordering::Less,
        Bound::Unbounded => true,
    }
}

/// Whether `entry` is inside `upper` taken as an upper bound.
fn below<K: Ord, P: Ord, S: Seek<K, P>>(
    upper: &Bound<Limit<K, P, S>>,
    entry: &IndexEntry<K, P>,
) -> bool {
    match upper {
        Bound::Included(limit) => limit.cmp(entry) != Ordering::Less,
        Bound::Excluded(limit) => limit.cmp(entry) == Ordering::Greater,
        Bound::Unbounded => true,
    }
}

/// A scan of an [`OrderedMap`]: see [`OrderedMap::range`].
pub(crate) struct Range<'a, K, P, S> {
    map: &'a OrderedMap<K, P>,
    /// What is left to copy out lies between `lower` and `upper`.
    lower: Bound<Limit<K, P, S>>,
    upper: Bound<Limit<K, P, S>>,
    /// Entries copied out at the front and at the back, ascending.
    front: VecDeque<IndexEntry<K, P>>,
    back: VecDeque<IndexEntry<K, P>>,
    /// Nothing is left between the bounds.
    done: bool,
}

impl<'a, K, P, S> Range<'a, K, P, S>
where
    K: Ord + Clone + Send + Sync + 'static,
    P: Ord + Clone + Send + Sync + 'static,
    S: Seek<K, P>,
{
    /// A scan of `map` between the probes of `range`.
    pub(super) fn new(map: &'a OrderedMap<K, P>, range: SeekRange<S>) -> Self {
        let (start, end) = range.into_bounds();
        Self {
            map,
            lower: start.map(Limit::Probe),
            upper: end.map(Limit::Probe),
            front: VecDeque::new(),
            back: VecDeque::new(),
            done: false,
        }
    }

    /// Copies out the entries between the bounds of the first node at the
    /// front, and moves the lower bound to that node's `high`.
    fn fill_front(&mut self) {
        let map = self.map;
        loop {
            let guard = &epoch::pin();
            let found = match &self.lower {
                Bound::Included(limit) | Bound::Excluded(limit) => limit.find(map, true, guard),
                Bound::Unbounded => None,
            };
            let state = map.node(&found).read();
            let fits = match &self.lower {
                Bound::Included(limit) | Bound::Excluded(limit) => {
                    !state.dead
                        && state
                            .high
                            .as_ref()
                            .is_none_or(|high| limit.cmp(&high.entry) == Ordering::Less)
                }
                Bound::Unbounded => true, // the head never dies
            };
            if !fits {
                continue;
            }
            let entries = &state.entries;
            let from = entries.partition_point(|entry| !above(&self.lower, entry));
            let to = entries.partition_point(|entry| below(&self.upper, entry));
            self.front
                .extend(entries[from..to.max(from)].iter().cloned());
            match &state.high {
                Some(high) if below(&self.upper, &high.entry) => {
                    self.lower = Bound::Included(Limit::Entry(high.entry.clone()));
                }
                _ => self.done = true,
            }
            return;
        }
    }

    /// Copies out the entries between the bounds of the last node at the
    /// back, and moves the upper bound to that node's fence.
    fn fill_back(&mut self) {
        let map = self.map;
        loop {
            let guard = &epoch::pin();
            let found = match &self.upper {
                Bound::Included(limit) => limit.find(map, true, guard),
                Bound::Excluded(limit) => limit.find(map, false, guard),
                Bound::Unbounded => map.nodes.back(guard),
            };
            let state = map.node(&found).read();
            let fits = !state.dead
                && match (&self.upper, &state.high) {
                    (_, None) => true,
                    (Bound::Included(limit), Some(high)) => {
                        limit.cmp(&high.entry) == Ordering::Less
                    }
                    (Bound::Excluded(limit), Some(high)) => {
                        limit.cmp(&high.entry) != Ordering::Greater
                    }
                    (Bound::Unbounded, Some(_)) => false,
                };
            if !fits {
                continue;
            }
            let entries = &state.entries;
            let from = entries.partition_point(|entry| !above(&self.lower, entry));
            let to = entries.partition_point(|entry| below(&self.upper, entry));
            let taken = &entries[from..to.max(from)];
            // Ascending: the batch goes in front of what the back holds.
            for entry in taken.iter().rev() {
                self.back.push_front(entry.clone());
            }
            match found.as_ref().map(Entry::key) {
                Some(fence) if above(&self.lower, &fence.entry) => {
                    self.upper = Bound::Excluded(Limit::Entry(fence.entry.clone()));
                }
                _ => self.done = true,
            }
            return;
        }
    }
}

impl<K, P, S> Iterator for Range<'_, K, P, S>
where
    K: Ord + Clone + Send + Sync + 'static,
    P: Ord + Clone + Send + Sync + 'static,
    S: Seek<K, P>,
{
    type Item = IndexEntry<K, P>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.front.pop_front() {
                return Some(entry);
            }
            if self.done {
                return self.back.pop_front();
            }
            self.fill_front();
        }
    }
}

impl<K, P, S> DoubleEndedIterator for Range<'_, K, P, S>
where
    K: Ord + Clone + Send + Sync + 'static,
    P: Ord + Clone + Send + Sync + 'static,
    S: Seek<K, P>,
{
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.back.pop_back() {
                return Some(entry);
            }
            if self.done {
                return self.front.pop_back();
            }
            self.fill_back();
        }
    }
}
