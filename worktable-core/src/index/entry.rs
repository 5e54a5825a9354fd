//! Entries of the ordered indexes, and the probes that position a scan
//! between entries without building a key.
//!
//! An ordered index ([`OrderedMap`](super::OrderedMap)) holds
//! `IndexEntry<K, P>`s: `P` is the row's primary key for secondary indexes
//! (entries sort by key, then primary key) and `()` for the primary index
//! itself. A look-up needs bounds such as "before every entry with key `k`"
//! or "after every entry whose key starts with `prefix`", which are not
//! entries: a [`Seek`] compares itself with an entry. The index finds its
//! nodes in a crossbeam `SkipList` keyed by [`Fence`]s (an entry and its
//! key's prefix), which searches with any `Q` such that `Fence: Borrow<Q>`;
//! we borrow fences as `dyn Seek`, so that probes of any shape can be
//! compared with them.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::ops::{Bound, RangeBounds};

use super::LookupKey;

/// One entry of an ordered index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexEntry<K, P> {
    /// The indexed key.
    pub(crate) key: K,
    /// The row's primary key (secondary indexes) or `()` (the primary index).
    pub(crate) pk: P,
}

/// A node's lower fence in an ordered index: an entry, after its key's
/// prefix in a map with prefixes (`0` in a map without). The prefix keeps
/// the entries' order (see `index/prefix.rs`), so fences sort as their
/// entries do, and a search with a prefix of its own rarely reads a fence's
/// key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Fence<K, P> {
    pub(crate) prefix: u64,
    pub(crate) entry: IndexEntry<K, P>,
}

/// An entry with its key's prefix, borrowed: how writers of a map with
/// prefixes search for an entry's place.
pub(crate) struct Prefixed<'e, K, P> {
    pub(crate) prefix: u64,
    pub(crate) entry: &'e IndexEntry<K, P>,
}

/// Something that can be compared with the entries of an ordered index.
pub(crate) trait Seek<K, P> {
    /// `self`, when it is a stored fence.
    fn as_fence(&self) -> Option<&Fence<K, P>> {
        None
    }

    /// Where `self` sorts relative to `entry`.
    fn cmp_entry(&self, entry: &IndexEntry<K, P>) -> Ordering;

    /// Where `self` sorts relative to `fence`: by prefix first when `self`
    /// knows its key's prefix, else as relative to the fence's entry.
    fn cmp_fence(&self, fence: &Fence<K, P>) -> Ordering {
        self.cmp_entry(&fence.entry)
    }
}

impl<K: Ord, P: Ord> Seek<K, P> for IndexEntry<K, P> {
    fn cmp_entry(&self, entry: &IndexEntry<K, P>) -> Ordering {
        self.cmp(entry)
    }
}

impl<K: Ord, P: Ord> Seek<K, P> for Fence<K, P> {
    fn as_fence(&self) -> Option<&Fence<K, P>> {
        Some(self)
    }

    fn cmp_entry(&self, entry: &IndexEntry<K, P>) -> Ordering {
        self.entry.cmp(entry)
    }

    fn cmp_fence(&self, fence: &Fence<K, P>) -> Ordering {
        self.cmp(fence)
    }
}

impl<K: Ord, P: Ord> Seek<K, P> for Prefixed<'_, K, P> {
    fn cmp_entry(&self, entry: &IndexEntry<K, P>) -> Ordering {
        self.entry.cmp(entry)
    }

    fn cmp_fence(&self, fence: &Fence<K, P>) -> Ordering {
        self.prefix
            .cmp(&fence.prefix)
            .then_with(|| self.entry.cmp(&fence.entry))
    }
}

impl<'a, K: Ord + 'a, P: Ord + 'a> Borrow<dyn Seek<K, P> + 'a> for Fence<K, P> {
    fn borrow(&self) -> &(dyn Seek<K, P> + 'a) {
        self
    }
}

// Unequal prefixes order their keys; otherwise a fence compares with a
// fence or a probe as entries. Two probes are never compared (the skiplist
// of nodes only compares the search key with stored fences), so their order
// is arbitrary but consistent. Prefixes are only ever known on both sides in
// a map with prefixes: a writer's probe ([`Prefixed`]) or a fence against a
// fence. Two virtual calls when `self` is the fence, as in the skiplist's
// searches.
impl<K: Ord, P: Ord> Ord for dyn Seek<K, P> + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        if let Some(fence) = self.as_fence() {
            return other.cmp_fence(fence).reverse();
        }
        match other.as_fence() {
            Some(fence) => self.cmp_fence(fence),
            None => Ordering::Equal,
        }
    }
}

impl<K: Ord, P: Ord> PartialOrd for dyn Seek<K, P> + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K: Ord, P: Ord> PartialEq for dyn Seek<K, P> + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<K: Ord, P: Ord> Eq for dyn Seek<K, P> + '_ {}

/// How a probe target orders against the key part of entries.
pub(crate) trait KeyOrder<K> {
    /// Where the target sorts relative to `key`; `Equal` when `key` is one of
    /// the keys the target stands for.
    fn cmp_key(&self, key: &K) -> Ordering;
}

/// Stands for exactly one key, owned.
#[derive(Clone, Debug)]
pub(crate) struct Exact<K>(pub(crate) K);

impl<K: Ord> KeyOrder<K> for Exact<K> {
    fn cmp_key(&self, key: &K) -> Ordering {
        self.0.cmp(key)
    }
}

/// Stands for exactly one key, in the form the caller has it (`&str` for a
/// `String` key; see [`LookupKey`]).
#[derive(Debug)]
pub(crate) struct Borrowed<'q, Q: ?Sized>(pub(crate) &'q Q);

impl<Q: ?Sized> Clone for Borrowed<'_, Q> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Q: ?Sized> Copy for Borrowed<'_, Q> {}

impl<K, Q: LookupKey<K> + ?Sized> KeyOrder<K> for Borrowed<'_, Q> {
    fn cmp_key(&self, key: &K) -> Ordering {
        self.0.cmp_key(key)
    }
}

/// Which side of the entries its target stands for a probe sorts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// Before every entry whose key the target stands for.
    Before,
    /// After every entry whose key the target stands for.
    After,
}

/// A probe just before or just after the entries whose keys `target` stands
/// for. It never equals an entry, so it works the same as an inclusive or an
/// exclusive bound.
#[derive(Clone, Debug)]
pub(crate) struct Edge<T> {
    target: T,
    side: Side,
}

impl<K, P, T: KeyOrder<K>> Seek<K, P> for Edge<T> {
    fn cmp_entry(&self, entry: &IndexEntry<K, P>) -> Ordering {
        match self.target.cmp_key(&entry.key) {
            Ordering::Equal => match self.side {
                Side::Before => Ordering::Less,
                Side::After => Ordering::Greater,
            },
            unequal => unequal,
        }
    }
}

/// A range of entries between two probes, owned, so that a scan can keep it
/// for as long as it runs.
#[derive(Clone, Debug)]
pub(crate) struct SeekRange<S> {
    start: Bound<S>,
    end: Bound<S>,
}

impl<S> SeekRange<S> {
    /// Every entry.
    pub(crate) fn everything() -> Self {
        Self {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        }
    }

    /// The two bounds: start, end.
    pub(crate) fn into_bounds(self) -> (Bound<S>, Bound<S>) {
        (self.start, self.end)
    }
}

impl<T> SeekRange<Edge<T>> {
    /// Every entry whose key falls in the range given by `start` and `end`,
    /// bounds on the targets' keys.
    pub(crate) fn new(start: Bound<T>, end: Bound<T>) -> Self {
        let start = match start {
            Bound::Included(target) => Bound::Included(Edge {
                target,
                side: Side::Before,
            }),
            Bound::Excluded(target) => Bound::Included(Edge {
                target,
                side: Side::After,
            }),
            Bound::Unbounded => Bound::Unbounded,
        };
        let end = match end {
            Bound::Included(target) => Bound::Included(Edge {
                target,
                side: Side::After,
            }),
            Bound::Excluded(target) => Bound::Included(Edge {
                target,
                side: Side::Before,
            }),
            Bound::Unbounded => Bound::Unbounded,
        };
        Self { start, end }
    }

    /// Every entry whose key `target` stands for.
    pub(crate) fn only(target: T) -> Self
    where
        T: Clone,
    {
        Self::new(Bound::Included(target.clone()), Bound::Included(target))
    }
}

impl<'a, K, P, S: Seek<K, P> + 'a> RangeBounds<dyn Seek<K, P> + 'a> for SeekRange<S> {
    fn start_bound(&self) -> Bound<&(dyn Seek<K, P> + 'a)> {
        self.start
            .as_ref()
            .map(|probe| probe as &(dyn Seek<K, P> + 'a))
    }

    fn end_bound(&self) -> Bound<&(dyn Seek<K, P> + 'a)> {
        self.end
            .as_ref()
            .map(|probe| probe as &(dyn Seek<K, P> + 'a))
    }
}

/// Clones the bounds of a range of keys into owned probe targets.
pub(crate) fn owned_bounds<K: Clone>(
    range: &impl RangeBounds<K>,
) -> (Bound<Exact<K>>, Bound<Exact<K>>) {
    (
        range.start_bound().cloned().map(Exact),
        range.end_bound().cloned().map(Exact),
    )
}
