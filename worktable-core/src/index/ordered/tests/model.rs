//! The set model: random operations, every scan checked.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};

use proptest::prelude::*;

use super::OrderedMap;
use crate::index::entry::{Borrowed, Exact, IndexEntry, Seek, SeekRange};
use crate::row::KeyPrefix;

use super::{SplitMix, check_layout};

/// Reads `iter` to its end taking each item from the front with odds
/// `forward` in 4 and from the back otherwise, and checks that the front
/// items followed by the back items reversed are exactly `expected`
/// (ascending), and that once one end is exhausted, both stay exhausted.
fn check_mixed_read<I>(
    mut iter: I,
    seed: u64,
    forward: u8,
    expected: &[(u16, u32)],
    what: &dyn Debug,
) -> Result<(), TestCaseError>
where
    I: DoubleEndedIterator<Item = IndexEntry<u16, u32>>,
{
    let mut rng = SplitMix(seed);
    let (mut front, mut back) = (Vec::new(), Vec::new());
    loop {
        let from_front = rng.below(4) < u64::from(forward);
        let item = if from_front {
            iter.next()
        } else {
            iter.next_back()
        };
        match item {
            Some(entry) if from_front => front.push((entry.key, entry.pk)),
            Some(entry) => back.push((entry.key, entry.pk)),
            None => break,
        }
    }
    prop_assert!(
        iter.next().is_none(),
        "{:?}: next() after the end yields",
        what
    );
    prop_assert!(
        iter.next_back().is_none(),
        "{:?}: next_back() after the end yields",
        what
    );
    prop_assert!(
        front.len() + back.len() == expected.len() && front[..] == expected[..front.len()],
        "{:?}: front {:?}, back {:?}, expected {:?}",
        what,
        front,
        back,
        expected
    );
    let back_ascending: Vec<_> = back.iter().rev().copied().collect();
    prop_assert_eq!(
        &back_ascending[..],
        &expected[front.len()..],
        "{:?}: back part",
        what
    );
    Ok(())
}

/// Keys of the model test: few, so that each key has several entries and the
/// map splits and merges nodes often.
const MODEL_KEYS: u16 = 300;
const MODEL_PKS: u32 = 8;

/// How a scan's bounds are given.
#[derive(Clone, Copy, Debug)]
enum Probe {
    Exact,
    Borrowed,
    /// `SeekRange::only` of the start key (the end is ignored).
    Only,
}

#[derive(Clone, Debug)]
enum Op {
    /// Inserts the entry; an entry already present is inserted again, which
    /// must leave `len()` alone.
    Insert(u16, u32),
    /// Inserts pk `pk` under `count` ascending keys from `start`.
    InsertRun { start: u16, count: u16, pk: u32 },
    /// Removes the model's entry at this position (modulo its length).
    RemovePresent(usize),
    /// Removes an entry, present or not.
    Remove(u16, u32),
    /// Removes every entry with a key in `start..start + span`, emptying
    /// nodes so that they merge.
    RemoveKeys { start: u16, span: u16 },
    /// `load_sorted` of these entries: the bulk path into an empty map, one
    /// insert each into a map that is not.
    LoadSorted(BTreeSet<(u16, u32)>),
    /// A scan between key bounds, read with front odds `forward` in 4.
    Scan {
        start: Bound<u16>,
        end: Bound<u16>,
        probe: Probe,
        seed: u64,
        forward: u8,
    },
    /// Checks the node layout.
    Layout,
}

/// A prefix that keeps the keys' order but ties runs of eight keys, so that
/// searches in a map with prefixes take both paths: decided by the prefix,
/// and decided among entries of equal prefix.
fn coarse_prefix(key: &u16) -> u64 {
    u64::from(key / 8)
}

fn key() -> impl Strategy<Value = u16> {
    0..MODEL_KEYS
}

fn pk() -> impl Strategy<Value = u32> {
    0..MODEL_PKS
}

fn key_bound() -> impl Strategy<Value = Bound<u16>> {
    // A little past the last key, to bound above every entry.
    prop_oneof![
        2 => (0..MODEL_KEYS + 5).prop_map(Bound::Included),
        2 => (0..MODEL_KEYS + 5).prop_map(Bound::Excluded),
        1 => Just(Bound::Unbounded),
    ]
}

fn entry_set(most: usize) -> impl Strategy<Value = BTreeSet<(u16, u32)>> {
    prop::collection::btree_set((key(), pk()), 0..most)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        40 => (key(), pk()).prop_map(|(key, pk)| Op::Insert(key, pk)),
        2 => (key(), 1..120u16, pk()).prop_map(|(start, count, pk)| Op::InsertRun { start, count, pk }),
        25 => any::<usize>().prop_map(Op::RemovePresent),
        8 => (key(), pk()).prop_map(|(key, pk)| Op::Remove(key, pk)),
        2 => (key(), 1..100u16).prop_map(|(start, span)| Op::RemoveKeys { start, span }),
        1 => entry_set(200).prop_map(Op::LoadSorted),
        8 => (
            key_bound(),
            key_bound(),
            prop_oneof![3 => Just(Probe::Exact), 2 => Just(Probe::Borrowed), 1 => Just(Probe::Only)],
            any::<u64>(),
            0..=4u8,
        )
            .prop_map(|(start, end, probe, seed, forward)| Op::Scan { start, end, probe, seed, forward }),
        1 => Just(Op::Layout),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..2000)
}

/// Checks `iter()` forward and reversed, and the layout, against the model.
fn check_whole(
    map: &OrderedMap<u16, u32>,
    model: &BTreeSet<(u16, u32)>,
) -> Result<(), TestCaseError> {
    let expected: Vec<_> = model.iter().copied().collect();
    let forward: Vec<_> = map.iter().map(|entry| (entry.key, entry.pk)).collect();
    prop_assert_eq!(&forward, &expected, "iter()");
    let mut backward: Vec<_> = map
        .iter()
        .rev()
        .map(|entry| (entry.key, entry.pk))
        .collect();
    backward.reverse();
    prop_assert_eq!(&backward, &expected, "iter().rev()");
    let layout = check_layout(map).map_err(TestCaseError::fail)?;
    let laid_out: Vec<_> = layout
        .entries
        .iter()
        .map(|entry| (entry.key, entry.pk))
        .collect();
    prop_assert_eq!(&laid_out, &expected, "the nodes' entries");
    Ok(())
}

/// Scans `range` with the given reading pattern against `expected`.
fn check_range<S: Seek<u16, u32>>(
    map: &OrderedMap<u16, u32>,
    range: SeekRange<S>,
    seed: u64,
    forward: u8,
    expected: &[(u16, u32)],
    what: &dyn Debug,
) -> Result<(), TestCaseError> {
    check_mixed_read(map.range(range), seed, forward, expected, what)
}

/// A scan of the model test: its step, bounds, probe kind, reading
/// pattern's seed and direction.
type ScanOp = (usize, Bound<u16>, Bound<u16>, Probe, u64, u8);

/// Scans `map` as `scan` says and then whole, checking both against the
/// model.
fn check_scan(
    map: &OrderedMap<u16, u32>,
    model: &BTreeSet<(u16, u32)>,
    scan: ScanOp,
) -> Result<(), TestCaseError> {
    let (_, start, end, probe, seed, forward) = scan;
    let what = scan;
    let in_bounds = || -> Vec<_> {
        model
            .iter()
            .copied()
            .filter(|(key, _)| (start, end).contains(key))
            .collect()
    };
    match probe {
        Probe::Exact => {
            let expected = in_bounds();
            let range = SeekRange::new(start.map(Exact), end.map(Exact));
            check_range(map, range, seed, forward, &expected, &what)?;
        }
        Probe::Borrowed => {
            let expected = in_bounds();
            let range = SeekRange::new(start.as_ref().map(Borrowed), end.as_ref().map(Borrowed));
            check_range(map, range, seed, forward, &expected, &what)?;
        }
        Probe::Only => {
            let key = match start {
                Bound::Included(key) | Bound::Excluded(key) => key,
                Bound::Unbounded => 0,
            };
            let expected: Vec<_> = model.iter().copied().filter(|&(k, _)| k == key).collect();
            check_range(
                map,
                SeekRange::only(Exact(key)),
                seed,
                forward,
                &expected,
                &what,
            )?;
        }
    }
    let everything: Vec<_> = model.iter().copied().collect();
    check_range(
        map,
        SeekRange::<IndexEntry<u16, u32>>::everything(),
        seed,
        forward,
        &everything,
        &what,
    )
}

/// Applies `ops` to `map` and `model`, checking `len()` after each and the
/// whole map at the end.
fn run_model(
    map: &OrderedMap<u16, u32>,
    model: &mut BTreeSet<(u16, u32)>,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Insert(key, pk) => {
                map.insert(key, pk);
                model.insert((key, pk));
            }
            Op::InsertRun { start, count, pk } => {
                for key in start..start.saturating_add(count).min(MODEL_KEYS) {
                    if model.insert((key, pk)) {
                        map.insert(key, pk);
                    }
                }
            }
            Op::RemovePresent(at) => {
                if let Some(&(key, pk)) = model.iter().nth(at % model.len().max(1)) {
                    map.remove(&IndexEntry { key, pk });
                    model.remove(&(key, pk));
                }
            }
            Op::Remove(key, pk) => {
                map.remove(&IndexEntry { key, pk });
                model.remove(&(key, pk));
            }
            Op::RemoveKeys { start, span } => {
                let end = start.saturating_add(span);
                let doomed: Vec<_> = model.range((start, 0)..(end, 0)).copied().collect();
                for (key, pk) in doomed {
                    map.remove(&IndexEntry { key, pk });
                    model.remove(&(key, pk));
                }
            }
            Op::LoadSorted(entries) => {
                map.load_sorted(entries.iter().copied());
                model.extend(entries);
            }
            Op::Scan {
                start,
                end,
                probe,
                seed,
                forward,
            } => check_scan(map, model, (step, start, end, probe, seed, forward))?,
            Op::Layout => check_whole(map, model)?,
        }
        prop_assert_eq!(map.len(), model.len(), "len() after step {}", step);
    }
    check_whole(map, model)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn matches_a_set_model(prefixed: bool, ops in ops()) {
        let map = OrderedMap::new(prefixed.then_some(coarse_prefix as KeyPrefix<u16>));
        let mut model = BTreeSet::new();
        run_model(&map, &mut model, ops)?;
    }

    #[test]
    fn matches_a_set_model_after_a_bulk_load(
        prefixed: bool,
        loaded in entry_set(2000),
        ops in ops(),
    ) {
        let map = OrderedMap::new(prefixed.then_some(coarse_prefix as KeyPrefix<u16>));
        map.load_sorted(loaded.iter().copied());
        let mut model = loaded;
        prop_assert_eq!(map.len(), model.len());
        check_whole(&map, &model)?;
        run_model(&map, &mut model, ops)?;
    }
}
