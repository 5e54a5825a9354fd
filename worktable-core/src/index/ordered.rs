//! The ordered half of every index: entries in sorted nodes of up to
//! [`NODE_CAP`] entries, found through a lock-free skiplist of the nodes'
//! lower fences.
//!
//! # Layout
//!
//! The entries are split into nodes by key range. The first node (`head`)
//! holds every entry below the smallest fence; every other node sits in a
//! `SkipMap` under its *lower fence*, an entry value that never changes, and
//! holds the entries from its fence up to the next node's fence (its `high`,
//! which it records). A node's entries are a sorted `Vec` behind the node's
//! own `RwLock`. A look-up descends the skiplist of nodes (one per 32–64
//! entries, so few and hot in cache), then binary-searches one contiguous
//! node; an insert or a removal shifts entries inside one node. A skiplist of
//! one node per entry (what this replaced) makes every step of a search a
//! separate allocation, mostly cold at random keys, and allocates a node per
//! entry; here the last six steps are a binary search in one contiguous
//! buffer and the skiplist is some fifty times smaller.
//!
//! # Concurrency
//!
//! Writers lock the one node whose range holds their entry. A reader locks
//! one node for reading while it binary-searches it or copies a batch of
//! entries out of it, and holds nothing between batches. So a reader waits at
//! most for one node's writer, for the time of a shift of at most
//! [`NODE_CAP`] entries (or a split): the same short wait as a `DashMap`
//! shard's, and never for a row lock or a writer's whole operation.
//!
//! Nodes change shape in two ways, and a search finds its node again
//! whichever happens between its skiplist descent and its lock:
//!
//! * **split** — a node over [`NODE_CAP`] entries moves its upper part to a
//!   new node, inserts that node in the skiplist and lowers its own `high`,
//!   all under its write lock;
//! * **merge** — an underfull node is emptied into its left neighbour, which
//!   takes over its `high`; the node is marked dead and taken out of the
//!   skiplist, under both write locks (left first: fences never change, so
//!   "left" is a fixed order and two merges cannot deadlock).
//!
//! A search that locks a node checks that the node is alive and that its
//! target lies below the node's `high`; otherwise the node changed shape
//! since the descent, and the search descends again (the node now holding
//! the range was put in the skiplist before the lock was released).
//!
//! Entries are added and removed only by writers holding the row lock of
//! the row they lead to (see `table/write.rs`), so two writers never race on
//! one entry; the map itself stays consistent under any interleaving.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::fmt;
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crossbeam_skiplist::SkipMap;
use crossbeam_skiplist::map::Entry;

use super::entry::{IndexEntry, Seek, SeekRange};

/// Most entries in a node; one more makes it split in two.
pub(crate) const NODE_CAP: usize = 64;

/// A node left with fewer entries after a removal is merged into its left
/// neighbour, if the two fit in [`MERGED_MAX`].
const NODE_MIN: usize = NODE_CAP / 4;

/// Most entries a merge may leave in a node: room for a few inserts before
/// it splits again.
const MERGED_MAX: usize = NODE_CAP * 3 / 4;

/// Entries per node when an empty map is filled from sorted entries: room
/// for random inserts before the first splits.
const LOAD_FILL: usize = NODE_CAP * 3 / 4;

/// One node: a key range's entries, in order.
struct Node<K, P> {
    state: RwLock<NodeState<K, P>>,
}

struct NodeState<K, P> {
    /// Sorted; capacity `NODE_CAP + 1`, so a node never reallocates.
    entries: Vec<IndexEntry<K, P>>,
    /// The next node's lower fence: every entry here is below it. `None` for
    /// the last node.
    high: Option<IndexEntry<K, P>>,
    /// Merged into its left neighbour: holds nothing, covers nothing.
    dead: bool,
}

impl<K, P> Node<K, P> {
    fn new(entries: Vec<IndexEntry<K, P>>, high: Option<IndexEntry<K, P>>) -> Self {
        Self {
            state: RwLock::new(NodeState {
                entries,
                high,
                dead: false,
            }),
        }
    }

    // The poison flag is ignored: a node is changed only by moves and
    // `Vec` operations that leave it whole, after any `clone`. (A key type
    // whose `Ord` panics leaves the index unspecified but memory-safe, as
    // with std's `BTreeMap`.)
    fn read(&self) -> RwLockReadGuard<'_, NodeState<K, P>> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, NodeState<K, P>> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Ord, P: Ord> NodeState<K, P> {
    /// Whether a live node's range holds the place of `target`: everything
    /// below `high`.
    fn covers<Q: Ord + ?Sized>(&self, target: &Q) -> bool
    where
        IndexEntry<K, P>: Borrow<Q>,
    {
        !self.dead && self.high.as_ref().is_none_or(|high| target < high.borrow())
    }
}

/// A fresh node buffer: room for one entry over [`NODE_CAP`].
fn node_vec<T>() -> Vec<T> {
    Vec::with_capacity(NODE_CAP + 1)
}

/// An ordered index: entries `(key, pk)` in order. `pk` is the row's primary
/// key for secondary indexes and `()` for the primary index itself. See the
/// module docs.
pub struct OrderedMap<K, P> {
    /// The node below every fence.
    head: Node<K, P>,
    /// Every other node, by lower fence.
    nodes: SkipMap<IndexEntry<K, P>, Node<K, P>>,
    len: AtomicUsize,
}

type NodeEntry<'a, K, P> = Entry<'a, IndexEntry<K, P>, Node<K, P>>;

impl<K, P> Default for OrderedMap<K, P> {
    fn default() -> Self {
        Self {
            head: Node::new(node_vec(), None),
            nodes: SkipMap::new(),
            len: AtomicUsize::new(0),
        }
    }
}

impl<K, P> fmt::Debug for OrderedMap<K, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderedMap")
            .field("entries", &self.len.load(Relaxed))
            .field("nodes", &(self.nodes.len() + 1))
            .finish()
    }
}

impl<K, P> OrderedMap<K, P>
where
    K: Ord + Clone + Send + Sync + 'static,
    P: Ord + Clone + Send + Sync + 'static,
{
    /// The skiplist entry of the node that a search for `bound` starts at:
    /// the greatest fence inside `bound`; `None` for the head.
    fn find<Q: Ord + ?Sized>(&self, bound: Bound<&Q>) -> Option<NodeEntry<'_, K, P>>
    where
        IndexEntry<K, P>: Borrow<Q>,
    {
        self.nodes.upper_bound(bound)
    }

    /// The node of a [`find`](Self::find) result.
    fn node<'e>(&'e self, found: &'e Option<NodeEntry<'_, K, P>>) -> &'e Node<K, P> {
        found.as_ref().map_or(&self.head, Entry::value)
    }

    /// Adds entry `(key, pk)`.
    pub(crate) fn insert(&self, key: K, pk: P) {
        let entry = IndexEntry { key, pk };
        loop {
            let found = self.find(Bound::Included(&entry));
            let mut state = self.node(&found).write();
            if !state.covers(&entry) {
                continue; // split or merged since the descent
            }
            match state.entries.binary_search(&entry) {
                Ok(at) => state.entries[at] = entry,
                Err(at) => {
                    state.entries.insert(at, entry);
                    self.len.fetch_add(1, Relaxed);
                    if state.entries.len() > NODE_CAP {
                        self.split(&mut state, at);
                    }
                }
            }
            return;
        }
    }

    /// Moves the upper part of an over-full node to a new node. `added` is
    /// where the entry that made it over-full went: an entry added at the
    /// end of the last node (keys that only grow, such as generated primary
    /// keys) leaves the node full and starts the new one, so ascending
    /// inserts fill nodes instead of leaving them half empty.
    fn split(&self, state: &mut NodeState<K, P>, added: usize) {
        let len = state.entries.len();
        let cut = if state.high.is_none() && added == len - 1 {
            len - 1
        } else {
            len / 2
        };
        // Clones first: a panicking `clone` leaves the node as it was.
        let fence = state.entries[cut].clone();
        let high = Some(fence.clone());
        let mut upper = node_vec();
        upper.extend(state.entries.drain(cut..));
        let high = std::mem::replace(&mut state.high, high);
        // In the skiplist before the lock on this node is released: a search
        // that finds this node too small looks again and finds the new one.
        self.nodes.insert(fence, Node::new(upper, high));
    }

    /// Removes `entry`, if present.
    pub(crate) fn remove(&self, entry: &IndexEntry<K, P>) {
        let underfull = loop {
            let found = self.find(Bound::Included(entry));
            let mut state = self.node(&found).write();
            if !state.covers(entry) {
                continue;
            }
            if let Ok(at) = state.entries.binary_search(entry) {
                state.entries.remove(at);
                self.len.fetch_sub(1, Relaxed);
            }
            if state.entries.len() >= NODE_MIN {
                return;
            }
            drop(state);
            break found;
        };
        // The head has no left neighbour: it takes in the node after it.
        if let Some(right) = underfull.or_else(|| self.nodes.front()) {
            self.merge_into_left(&right);
        }
    }

    /// Empties the node under `right` into its left neighbour, if they are
    /// still neighbours, `right` is still alive and their entries fit in
    /// [`MERGED_MAX`]; otherwise leaves both as they are.
    fn merge_into_left(&self, right: &NodeEntry<'_, K, P>) {
        let found = self.find(Bound::Excluded(right.key()));
        let mut left = self.node(&found).write();
        if left.dead || left.high.as_ref() != Some(right.key()) {
            return;
        }
        let mut state = right.value().write();
        // A node with `right`'s fence may be a newer one than `right`: a
        // dead `right` was merged away before.
        if state.dead || left.entries.len() + state.entries.len() > MERGED_MAX {
            return;
        }
        left.entries.append(&mut state.entries);
        left.high = state.high.take();
        state.dead = true;
        // Out of the skiplist before the locks are released: a search that
        // finds `right` dead looks again and finds `left`.
        right.remove();
    }

    /// Fills an empty map with `entries`, distinct and in order, in nodes
    /// three quarters full; a map that is not empty gets them one by one.
    /// For a map nobody else uses yet (a table being built or restored).
    pub(crate) fn load_sorted(&self, entries: impl IntoIterator<Item = (K, P)>) {
        let mut entries = entries.into_iter().map(|(key, pk)| IndexEntry { key, pk });
        if self.len() != 0 || !self.nodes.is_empty() {
            for entry in entries {
                self.insert(entry.key, entry.pk);
            }
            return;
        }
        let chunk = |entries: &mut dyn Iterator<Item = IndexEntry<K, P>>| {
            let mut chunk = node_vec();
            chunk.extend(entries.take(LOAD_FILL));
            debug_assert!(chunk.is_sorted(), "load_sorted takes entries in order");
            chunk
        };
        let first = chunk(&mut entries);
        let mut count = first.len();
        let mut next = chunk(&mut entries);
        let head_high = next.first().cloned();
        while !next.is_empty() {
            let this = std::mem::replace(&mut next, chunk(&mut entries));
            count += this.len();
            let fence = this[0].clone();
            self.nodes
                .insert(fence, Node::new(this, next.first().cloned()));
        }
        let mut head = self.head.write();
        head.entries = first;
        head.high = head_high;
        self.len.store(count, Relaxed);
    }

    /// The entries between the probes of `range`, in order; reversible.
    ///
    /// A scan copies entries out a node at a time and holds nothing between
    /// batches, so a writer waits for it at most for one batch. It yields
    /// each entry at most once and in order; every entry present for the
    /// whole scan; and an entry added or removed during the scan, or not.
    pub(crate) fn range<S: Seek<K, P>>(&self, range: SeekRange<S>) -> Range<'_, K, P, S> {
        let (start, end) = range.into_bounds();
        Range {
            map: self,
            lower: start.map(Limit::Probe),
            upper: end.map(Limit::Probe),
            front: VecDeque::new(),
            back: VecDeque::new(),
            done: false,
        }
    }

    /// All entries in order; reversible.
    pub(crate) fn iter(&self) -> Range<'_, K, P, IndexEntry<K, P>> {
        self.range(SeekRange::everything())
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// Approximate bytes: per node, its entry buffer (`NODE_CAP + 1`
    /// entries), lock and fences, and the skiplist node that leads to it.
    /// Heap memory owned by keys is not counted.
    pub(crate) fn approx_bytes(&self) -> usize {
        let entry = size_of::<IndexEntry<K, P>>();
        let node = (NODE_CAP + 2) * entry + size_of::<Node<K, P>>() + 4 * size_of::<usize>();
        (self.nodes.len() + 1) * node
    }
}

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
    fn find<'m>(&self, map: &'m OrderedMap<K, P>, inclusive: bool) -> Option<NodeEntry<'m, K, P>>
    where
        K: Clone + Send + Sync + 'static,
        P: Clone + Send + Sync + 'static,
    {
        let probe: &dyn Seek<K, P> = match self {
            Self::Probe(probe) => probe,
            Self::Entry(entry) => entry,
        };
        map.find(if inclusive {
            Bound::Included(probe)
        } else {
            Bound::Excluded(probe)
        })
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

impl<K, P, S> Range<'_, K, P, S>
where
    K: Ord + Clone + Send + Sync + 'static,
    P: Ord + Clone + Send + Sync + 'static,
    S: Seek<K, P>,
{
    /// Copies out the entries between the bounds of the first node at the
    /// front, and moves the lower bound to that node's `high`.
    fn fill_front(&mut self) {
        let map = self.map;
        loop {
            let found = match &self.lower {
                Bound::Included(limit) | Bound::Excluded(limit) => limit.find(map, true),
                Bound::Unbounded => None,
            };
            let state = map.node(&found).read();
            let fits = match &self.lower {
                Bound::Included(limit) | Bound::Excluded(limit) => {
                    !state.dead
                        && state
                            .high
                            .as_ref()
                            .is_none_or(|high| limit.cmp(high) == Ordering::Less)
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
                Some(high) if below(&self.upper, high) => {
                    self.lower = Bound::Included(Limit::Entry(high.clone()));
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
            let found = match &self.upper {
                Bound::Included(limit) => limit.find(map, true),
                Bound::Excluded(limit) => limit.find(map, false),
                Bound::Unbounded => map.nodes.back(),
            };
            let state = map.node(&found).read();
            let fits = !state.dead
                && match (&self.upper, &state.high) {
                    (_, None) => true,
                    (Bound::Included(limit), Some(high)) => limit.cmp(high) == Ordering::Less,
                    (Bound::Excluded(limit), Some(high)) => limit.cmp(high) != Ordering::Greater,
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
                Some(fence) if above(&self.lower, fence) => {
                    self.upper = Bound::Excluded(Limit::Entry(fence.clone()));
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

#[cfg(test)]
#[path = "ordered_tests/mod.rs"]
mod tests;
