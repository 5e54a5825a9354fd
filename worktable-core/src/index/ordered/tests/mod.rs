//! Tests of [`OrderedMap`]: random operations against a `BTreeSet` model
//! (`model`), with scans read from both ends at once and the node layout
//! checked; a stress test of scans racing writers that split and merge nodes
//! (`stress`); and the memory and fill figures (here).

mod model;
mod stress;

use std::fmt::Debug;

use super::{LOAD_FILL, NODE_CAP, OrderedMap};
use crate::index::entry::{Fence, IndexEntry};

/// SplitMix64: a small seeded generator, so that a thread's operations are
/// the same on every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What [`check_layout`] found: every entry in node order, and the number of
/// nodes (the head included).
struct Layout<K, P> {
    entries: Vec<IndexEntry<K, P>>,
    nodes: usize,
}

/// One node as [`check_layout`] copies it: its fence (`None` for the
/// head), entries, prefixes, `high` and whether it is dead.
type NodeSnapshot<K, P> = (
    Option<Fence<K, P>>,
    Vec<IndexEntry<K, P>>,
    Vec<u64>,
    Option<Fence<K, P>>,
    bool,
);

/// Walks the head and the skiplist's nodes in order and checks the layout
/// the module docs describe: each node's entries strictly ascending, at most
/// [`NODE_CAP`] of them, at or above its fence and below its `high`; each
/// `high` the next node's fence (`None` for the last); no dead node in the
/// skiplist; as many entries as `len()`. Only meaningful while no writer
/// runs: it locks one node at a time.
fn check_layout<K, P>(map: &OrderedMap<K, P>) -> Result<Layout<K, P>, String>
where
    K: Ord + Clone + Debug + Send + Sync + 'static,
    P: Ord + Clone + Debug + Send + Sync + 'static,
{
    let nodes = snapshot_nodes(map);
    let mut all = Vec::new();
    for (at, node) in nodes.iter().enumerate() {
        let next_fence = nodes.get(at + 1).and_then(|next| next.0.as_ref());
        check_node(map, at, node, next_fence)?;
        all.extend(node.1.iter().cloned());
    }
    if all.len() != map.len() {
        return Err(format!(
            "nodes hold {} entries, len() is {}",
            all.len(),
            map.len()
        ));
    }
    Ok(Layout {
        entries: all,
        nodes: nodes.len(),
    })
}

/// Copies the head and every node of the skiplist, in order, locking one
/// at a time.
fn snapshot_nodes<K, P>(map: &OrderedMap<K, P>) -> Vec<NodeSnapshot<K, P>>
where
    K: Ord + Clone + Debug + Send + Sync + 'static,
    P: Ord + Clone + Debug + Send + Sync + 'static,
{
    let mut nodes: Vec<NodeSnapshot<K, P>> = Vec::new();
    {
        let head = map.head.read();
        nodes.push((
            None,
            head.entries.clone(),
            head.prefixes.clone(),
            head.high.clone(),
            head.dead,
        ));
    }
    let guard = &crossbeam_epoch::pin();
    for node in map.nodes.iter(guard) {
        let state = node.value().read();
        nodes.push((
            Some(node.key().clone()),
            state.entries.clone(),
            state.prefixes.clone(),
            state.high.clone(),
            state.dead,
        ));
    }
    nodes
}

/// Checks node number `at` of [`check_layout`]'s walk, whose successor's
/// fence is `next_fence`.
fn check_node<K, P>(
    map: &OrderedMap<K, P>,
    at: usize,
    (fence, entries, prefixes, high, dead): &NodeSnapshot<K, P>,
    next_fence: Option<&Fence<K, P>>,
) -> Result<(), String>
where
    K: Ord + Clone + Debug + Send + Sync + 'static,
    P: Ord + Clone + Debug + Send + Sync + 'static,
{
    let prefix_of = |entry: &IndexEntry<K, P>| map.prefix.map_or(0, |prefix| prefix(&entry.key));
    let name = format!("node {at} (fence {fence:?})");
    if *dead {
        return Err(format!("{name} is dead but reachable"));
    }
    if entries.len() > NODE_CAP {
        return Err(format!("{name} holds {} entries", entries.len()));
    }
    if let Some(pair) = entries.windows(2).find(|pair| pair[0] >= pair[1]) {
        return Err(format!(
            "{name} is out of order at {:?}, {:?}",
            pair[0], pair[1]
        ));
    }
    let expected: Vec<u64> = match map.prefix {
        Some(prefix) => entries.iter().map(|entry| prefix(&entry.key)).collect(),
        None => Vec::new(),
    };
    if *prefixes != expected {
        return Err(format!(
            "{name} keeps prefixes {prefixes:?} for entries {entries:?}"
        ));
    }
    if let Some(fence) = fence
        .iter()
        .chain(high)
        .find(|fence| fence.prefix != prefix_of(&fence.entry))
    {
        return Err(format!("{name}: fence {fence:?} has the wrong prefix"));
    }
    if let (Some(fence), Some(first)) = (fence, entries.first())
        && fence.entry > *first
    {
        return Err(format!("{name} holds {first:?}, below its fence"));
    }
    if high.as_ref() != next_fence {
        return Err(format!(
            "{name} has high {high:?}, the next node's fence is {next_fence:?}"
        ));
    }
    if let (Some(high), Some(last)) = (high, entries.last())
        && *last >= high.entry
    {
        return Err(format!(
            "{name} holds {last:?}, not below its high {high:?}"
        ));
    }
    Ok(())
}

#[test]
fn approx_bytes_follows_the_entries() {
    let map = OrderedMap::<u32, u32>::default();
    let empty = map.approx_bytes();
    let mut rng = SplitMix(7);
    let mut keys: Vec<u32> = (0..5000).collect();
    for at in (1..keys.len()).rev() {
        keys.swap(at, rng.below(at as u64 + 1) as usize);
    }
    for &key in &keys {
        map.insert(key, 0);
    }
    let full = map.approx_bytes();
    let full_nodes = check_layout(&map).expect("layout").nodes;
    assert!(
        full >= empty * 5000 / NODE_CAP,
        "{full} bytes for 5000 entries, {empty} empty"
    );
    for &key in &keys[..4750] {
        map.remove(&IndexEntry { key, pk: 0 });
    }
    let kept = map.approx_bytes();
    let layout = check_layout(&map).expect("layout");
    assert_eq!(layout.entries.len(), 250);
    // Nodes merge as they empty: 250 entries in about a tenth of the nodes
    // that held 5000 (11 of 115 with this seed).
    assert!(
        kept * 8 <= full,
        "{kept} bytes in {} nodes for 250 entries, {full} in {full_nodes} for 5000",
        layout.nodes
    );
    for &key in &keys[4750..] {
        map.remove(&IndexEntry { key, pk: 0 });
    }
    assert_eq!(map.len(), 0);
    check_layout(&map).expect("layout");
}

#[test]
fn ascending_inserts_fill_nodes() {
    let map = OrderedMap::<u32, u32>::default();
    for key in 0..6400 {
        map.insert(key, 0);
    }
    let layout = check_layout(&map).expect("layout");
    assert_eq!(layout.entries.len(), 6400);
    assert!(
        layout.nodes <= 6400 / (NODE_CAP - 1) + 2,
        "{} nodes for 6400 ascending entries",
        layout.nodes
    );
}

#[test]
fn bulk_loaded_nodes_hold_their_entries_exactly_and_grow_once_when_written() {
    let map = OrderedMap::<u32, u32>::new(Some(|key| u64::from(*key)));
    map.load_sorted((0..1000).map(|key| (key * 2, 0)));
    let capacities = |map: &OrderedMap<u32, u32>| {
        let head = map.head.read();
        (head.entries.capacity(), head.prefixes.capacity())
    };
    assert_eq!(capacities(&map), (LOAD_FILL, LOAD_FILL));
    map.insert(1, 0);
    assert_eq!(capacities(&map), (NODE_CAP + 1, NODE_CAP + 1));
    for key in 0..(NODE_CAP - LOAD_FILL - 1) as u32 {
        map.insert(3 + key * 2, 0);
    }
    // Full but not split: no growth past a node buffer.
    assert_eq!(map.head.read().entries.len(), NODE_CAP);
    assert_eq!(capacities(&map), (NODE_CAP + 1, NODE_CAP + 1));
    check_layout(&map).expect("layout");
}
