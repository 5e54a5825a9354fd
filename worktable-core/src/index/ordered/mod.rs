//! The ordered half of every index: entries in sorted nodes of up to
//! [`NODE_CAP`] entries, found through a lock-free skiplist of the nodes'
//! lower fences.
//!
//! # Layout
//!
//! The entries are split into nodes by key range. The first node (`head`)
//! holds every entry below the smallest fence; every other node sits in a
//! crossbeam `SkipList` under its *lower fence*, an entry value that never
//! changes, and holds the entries from its fence up to the next node's fence
//! (its `high`, which it records). Each operation pins one epoch guard for
//! its lookups in the skiplist, so the nodes it found stay allocated while
//! it uses them. A node's entries are a sorted `Vec` behind the node's
//! own `RwLock`. A look-up descends the skiplist of nodes (one per 32–64
//! entries, so few and hot in cache), then binary-searches one contiguous
//! node; an insert or a removal shifts entries inside one node. A skiplist of
//! one node per entry (what this replaced) makes every step of a search a
//! separate allocation, mostly cold at random keys, and allocates a node per
//! entry; here the last six steps are a binary search in one contiguous
//! buffer and the skiplist is some fifty times smaller.
//!
//! For key types whose comparison reads memory elsewhere (`String`s), each
//! node also keeps its entries' order-preserving 8-byte prefixes in a buffer
//! of their own, and each fence its prefix (see `index/prefix.rs`): a
//! writer's search compares prefixes first and reads whole keys only among
//! entries whose prefix ties with its own. Scans compare whole keys.
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

mod range;

use std::borrow::Borrow;
use std::fmt;
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crossbeam_epoch::{self as epoch, Guard};
use crossbeam_skiplist::base::{Entry, SkipList};

use super::entry::{Fence, IndexEntry, Prefixed, Seek, SeekRange};
use crate::row::KeyPrefix;

pub(crate) use range::Range;

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
    /// Sorted; capacity `NODE_CAP + 1` (see [`node_vec`]), except in a node
    /// filled by a bulk load, which holds exactly its entries until its
    /// first insert or merge (see [`room_for`]).
    entries: Vec<IndexEntry<K, P>>,
    /// In a map with a [`KeyPrefix`], `prefixes[i]` is the prefix of
    /// `entries[i]`'s key (so ascending too), with the same capacity; empty
    /// in a map without.
    prefixes: Vec<u64>,
    /// The next node's lower fence: every entry here is below it. `None` for
    /// the last node.
    high: Option<Fence<K, P>>,
    /// Merged into its left neighbour: holds nothing, covers nothing.
    dead: bool,
}

impl<K, P> Node<K, P> {
    fn new(entries: Vec<IndexEntry<K, P>>, prefixes: Vec<u64>, high: Option<Fence<K, P>>) -> Self {
        Self {
            state: RwLock::new(NodeState {
                entries,
                prefixes,
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
    fn covers(&self, target: &dyn Seek<K, P>) -> bool {
        !self.dead
            && self
                .high
                .as_ref()
                .is_none_or(|high| target < high as &dyn Seek<K, P>)
    }

    /// Where `entry` is (`Ok`) or would go (`Err`). With its key's prefix,
    /// the binary search over whole entries (each a key compare, which for a
    /// `String` reads its characters from wherever they were allocated) only
    /// covers the entries whose prefix equals it; the rest of the way is a
    /// search of the node's own prefix buffer.
    fn search(&self, entry: &IndexEntry<K, P>, prefix: Option<u64>) -> Result<usize, usize> {
        let (from, to) = match prefix {
            Some(prefix) => {
                let from = self.prefixes.partition_point(|&other| other < prefix);
                let same = self.prefixes[from..].partition_point(|&other| other == prefix);
                (from, from + same)
            }
            None => (0, self.entries.len()),
        };
        self.entries[from..to]
            .binary_search(entry)
            .map(|at| from + at)
            .map_err(|at| from + at)
    }
}

impl<K, P> NodeState<K, P> {
    /// Puts `entry` at `at`, with its prefix in a prefixed map.
    fn insert_at(&mut self, at: usize, entry: IndexEntry<K, P>, prefix: Option<u64>) {
        room_for(&mut self.entries, 1);
        self.entries.insert(at, entry);
        if let Some(prefix) = prefix {
            room_for(&mut self.prefixes, 1);
            self.prefixes.insert(at, prefix);
        }
    }

    /// Takes the entry at `at` out.
    fn remove_at(&mut self, at: usize) {
        self.entries.remove(at);
        // Empty in a map without prefixes.
        if at < self.prefixes.len() {
            self.prefixes.remove(at);
        }
    }

    /// Moves the entries from `at` on, and their prefixes, to fresh node
    /// buffers.
    fn split_off(&mut self, at: usize) -> (Vec<IndexEntry<K, P>>, Vec<u64>) {
        let mut entries = node_vec();
        entries.extend(self.entries.drain(at..));
        let prefixes = if self.prefixes.is_empty() {
            Vec::new()
        } else {
            let mut prefixes = node_vec();
            prefixes.extend(self.prefixes.drain(at..));
            prefixes
        };
        (entries, prefixes)
    }

    /// Moves all of `other`'s entries (all above this node's) to the end of
    /// this node.
    fn append(&mut self, other: &mut Self) {
        room_for(&mut self.entries, other.entries.len());
        self.entries.append(&mut other.entries);
        room_for(&mut self.prefixes, other.prefixes.len());
        self.prefixes.append(&mut other.prefixes);
    }
}

/// A fresh node buffer: room for one entry over [`NODE_CAP`].
fn node_vec<T>() -> Vec<T> {
    Vec::with_capacity(NODE_CAP + 1)
}

/// Makes room in a node buffer for `more` items: a buffer short of it (one
/// that a bulk load filled exactly) grows once, to a full node buffer, never
/// by doubling past it.
fn room_for<T>(buffer: &mut Vec<T>, more: usize) {
    if buffer.capacity() - buffer.len() < more {
        buffer.reserve_exact((NODE_CAP + 1).max(buffer.len() + more) - buffer.len());
    }
}

/// What a writer searches with for `entry`'s place: the entry with its
/// key's prefix in a map with prefixes, the entry alone otherwise.
fn writer_probe<'e, K: Ord, P: Ord>(
    entry: &'e IndexEntry<K, P>,
    prefixed: Option<&'e Prefixed<'e, K, P>>,
) -> &'e dyn Seek<K, P> {
    match prefixed {
        Some(prefixed) => prefixed,
        None => entry,
    }
}

/// An ordered index: entries `(key, pk)` in order. `pk` is the row's primary
/// key for secondary indexes and `()` for the primary index itself. See the
/// module docs.
pub struct OrderedMap<K, P> {
    /// The node below every fence.
    head: Node<K, P>,
    /// Every other node, by lower fence.
    nodes: SkipList<Fence<K, P>, Node<K, P>>,
    len: AtomicUsize,
    /// The key type's order-preserving prefix, kept beside each entry
    /// (see [`NodeState::search`]); `None` for keys as cheap to compare as a
    /// prefix.
    prefix: Option<KeyPrefix<K>>,
}

/// A node found in the skiplist, valid while the epoch guard `'g` that
/// found it is pinned (no reference count taken).
type NodeEntry<'a, 'g, K, P> = Entry<'a, 'g, Fence<K, P>, Node<K, P>>;

impl<K, P> Default for OrderedMap<K, P> {
    fn default() -> Self {
        Self::new(None)
    }
}

impl<K, P> OrderedMap<K, P> {
    /// An empty map; with `prefix`, each node keeps the prefixes of its
    /// entries' keys.
    pub(crate) fn new(prefix: Option<KeyPrefix<K>>) -> Self {
        Self {
            head: Node::new(
                node_vec(),
                prefix.map_or_else(Vec::new, |_| node_vec()),
                None,
            ),
            nodes: SkipList::new(epoch::default_collector().clone()),
            len: AtomicUsize::new(0),
            prefix,
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
    fn find<'a: 'g, 'g, Q: Ord + ?Sized>(
        &'a self,
        bound: Bound<&Q>,
        guard: &'g Guard,
    ) -> Option<NodeEntry<'a, 'g, K, P>>
    where
        Fence<K, P>: Borrow<Q>,
    {
        self.nodes.upper_bound(bound, guard)
    }

    /// The node of a [`find`](Self::find) result.
    fn node<'g>(&'g self, found: &Option<NodeEntry<'g, 'g, K, P>>) -> &'g Node<K, P> {
        found.as_ref().map_or(&self.head, Entry::value)
    }

    /// The prefix of `entry`'s key, in a prefixed map.
    fn prefix_of(&self, entry: &IndexEntry<K, P>) -> Option<u64> {
        self.prefix.map(|prefix| prefix(&entry.key))
    }

    /// `entry` as a node fence.
    fn fence(&self, entry: &IndexEntry<K, P>) -> Fence<K, P> {
        Fence {
            prefix: self.prefix_of(entry).unwrap_or(0),
            entry: entry.clone(),
        }
    }

    /// Adds entry `(key, pk)`.
    pub(crate) fn insert(&self, key: K, pk: P) {
        let entry = IndexEntry { key, pk };
        let prefix = self.prefix_of(&entry);
        let prefixed = prefix.map(|prefix| Prefixed {
            prefix,
            entry: &entry,
        });
        let probe = writer_probe(&entry, prefixed.as_ref());
        let guard = &epoch::pin();
        loop {
            let found = self.find(Bound::Included(probe), guard);
            let mut state = self.node(&found).write();
            if !state.covers(probe) {
                continue; // split or merged since the descent
            }
            match state.search(&entry, prefix) {
                Ok(at) => state.entries[at] = entry,
                Err(at) => {
                    state.insert_at(at, entry, prefix);
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
        let fence = self.fence(&state.entries[cut]);
        let high = Some(fence.clone());
        let (upper, prefixes) = state.split_off(cut);
        let high = std::mem::replace(&mut state.high, high);
        // In the skiplist before the lock on this node is released: a search
        // that finds this node too small looks again and finds the new one.
        let guard = &epoch::pin();
        self.nodes
            .insert(fence, Node::new(upper, prefixes, high), guard)
            .release(guard);
    }

    /// Removes `entry`, if present.
    pub(crate) fn remove(&self, entry: &IndexEntry<K, P>) {
        let prefix = self.prefix_of(entry);
        let prefixed = prefix.map(|prefix| Prefixed { prefix, entry });
        let probe = writer_probe(entry, prefixed.as_ref());
        let guard = &epoch::pin();
        let underfull = loop {
            let found = self.find(Bound::Included(probe), guard);
            let mut state = self.node(&found).write();
            if !state.covers(probe) {
                continue;
            }
            if let Ok(at) = state.search(entry, prefix) {
                state.remove_at(at);
                self.len.fetch_sub(1, Relaxed);
            }
            if state.entries.len() >= NODE_MIN {
                return;
            }
            drop(state);
            break found;
        };
        // The head has no left neighbour: it takes in the node after it.
        if let Some(right) = underfull.or_else(|| self.nodes.front(guard)) {
            self.merge_into_left(&right, guard);
        }
    }

    /// Empties the node under `right` into its left neighbour, if they are
    /// still neighbours, `right` is still alive and their entries fit in
    /// [`MERGED_MAX`]; otherwise leaves both as they are.
    fn merge_into_left<'g>(&'g self, right: &NodeEntry<'g, 'g, K, P>, guard: &'g Guard) {
        let found = self.find(Bound::Excluded(right.key()), guard);
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
        left.append(&mut state);
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
        // Buffers of exactly the loaded entries: a node makes room for more
        // on its first insert (most nodes of a table built in one go are
        // never written).
        let chunk = |entries: &mut dyn Iterator<Item = IndexEntry<K, P>>| {
            let mut chunk = Vec::with_capacity(LOAD_FILL);
            chunk.extend(entries.take(LOAD_FILL));
            chunk.shrink_to_fit();
            debug_assert!(chunk.is_sorted(), "load_sorted takes entries in order");
            chunk
        };
        let prefixes = |chunk: &[IndexEntry<K, P>]| match self.prefix {
            Some(prefix) => chunk.iter().map(|entry| prefix(&entry.key)).collect(),
            None => Vec::new(),
        };
        let first = chunk(&mut entries);
        let mut count = first.len();
        let mut next = chunk(&mut entries);
        let head_high = next.first().map(|entry| self.fence(entry));
        while !next.is_empty() {
            let this = std::mem::replace(&mut next, chunk(&mut entries));
            count += this.len();
            let fence = self.fence(&this[0]);
            let of_this = prefixes(&this);
            let high = next.first().map(|entry| self.fence(entry));
            let guard = &epoch::pin();
            self.nodes
                .insert(fence, Node::new(this, of_this, high), guard)
                .release(guard);
        }
        let mut head = self.head.write();
        head.prefixes = prefixes(&first);
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
        Range::new(self, range)
    }

    /// All entries in order; reversible.
    pub(crate) fn iter(&self) -> Range<'_, K, P, IndexEntry<K, P>> {
        self.range(SeekRange::everything())
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.len.load(Relaxed)
    }

    /// Approximate bytes: per node, its entry buffer (at most `NODE_CAP + 1`
    /// entries, and as many prefixes in a prefixed map), lock and fences,
    /// and the skiplist node that leads to it. Heap memory owned by keys is
    /// not counted.
    pub(crate) fn approx_bytes(&self) -> usize {
        let prefix = if self.prefix.is_some() {
            size_of::<u64>()
        } else {
            0
        };
        let entry = size_of::<IndexEntry<K, P>>() + prefix;
        let node = (NODE_CAP + 2) * entry + size_of::<Node<K, P>>() + 4 * size_of::<usize>();
        (self.nodes.len() + 1) * node
    }
}

#[cfg(test)]
mod tests;
