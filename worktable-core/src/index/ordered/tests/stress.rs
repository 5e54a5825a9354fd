//! Scans racing writers that split and merge nodes.

use std::collections::BTreeSet;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed};
use std::thread;

use super::OrderedMap;
use crate::index::entry::{Exact, IndexEntry, SeekRange};

use super::{SplitMix, check_layout};

/// Keys of the stress test; the stable ones are the multiples of 7, the
/// others belong to writer `key % WRITERS`.
const STRESS_KEYS: u32 = 2400;
const STRESS_PKS: u32 = 2;
const WRITERS: u32 = 3;
const READERS: u64 = 2;
/// Rounds of each writer: a hundred single entries or a run of keys each.
const WRITER_ROUNDS: usize = 1500;
/// Keys in the window where the threads meet.
const HOT_KEYS: u32 = 100;

fn is_stable(key: u32) -> bool {
    key.is_multiple_of(7)
}

/// A scan's key bounds, as a reader draws them.
fn stress_bound(rng: &mut SplitMix, key: u32) -> Bound<u32> {
    match rng.below(5) {
        0 | 1 => Bound::Included(key),
        2 | 3 => Bound::Excluded(key),
        _ => Bound::Unbounded,
    }
}

/// Makes `entry` present (`want`) or absent in `map` and in `mine`, and
/// checks that a scan of its key then sees it or not: the writer owns the
/// entry, so no other thread changes it.
fn toggle(
    map: &OrderedMap<u32, u32>,
    mine: &mut BTreeSet<(u32, u32)>,
    entry: (u32, u32),
    want: bool,
) {
    let (key, pk) = entry;
    if want && mine.insert(entry) {
        map.insert(key, pk);
    } else if !want && mine.remove(&entry) {
        map.remove(&IndexEntry { key, pk });
    }
    let seen = map
        .range(SeekRange::only(Exact(key)))
        .any(|found| found.pk == pk);
    let made = if want { "present" } else { "absent" };
    assert_eq!(
        seen, want,
        "{entry:?} made {made} by its writer, its key's scan disagrees"
    );
}

/// One writer: inserts and removes its own entries, one at a time and in
/// runs of keys (runs split and empty whole nodes), half of the time in the
/// window of keys from `hot`, where the other writers and the readers are
/// too, so that searches race the splits and merges of the same nodes.
/// Writer 0 moves the window. Returns the writer's entries at the end.
fn stress_writer(map: &OrderedMap<u32, u32>, hot: &AtomicU32, writer: u32) -> BTreeSet<(u32, u32)> {
    let mut rng = SplitMix(0x5EED_0000 + u64::from(writer));
    let keys: Vec<u32> = (0..STRESS_KEYS)
        .filter(|&key| !is_stable(key) && key % WRITERS == writer)
        .collect();
    let mut mine = BTreeSet::new();
    for round in 0..WRITER_ROUNDS {
        if writer == 0 && round.is_multiple_of(8) {
            hot.store(rng.below(u64::from(STRESS_KEYS - HOT_KEYS)) as u32, Relaxed);
        }
        let (in_window, single) = (rng.below(2) == 0, rng.below(2) == 0);
        let (from, to) = if in_window {
            let from = hot.load(Relaxed);
            (
                keys.partition_point(|&key| key < from),
                keys.partition_point(|&key| key < from + HOT_KEYS),
            )
        } else {
            let from = rng.below(keys.len() as u64) as usize;
            (from, (from + 1 + rng.below(150) as usize).min(keys.len()))
        };
        let keys = &keys[from..to];
        if single {
            // Single entries at random.
            for _ in 0..100 {
                let key = keys[rng.below(keys.len() as u64) as usize];
                let pk = rng.below(u64::from(STRESS_PKS)) as u32;
                let present = mine.contains(&(key, pk));
                toggle(map, &mut mine, (key, pk), !present);
            }
        } else {
            // The run filled or emptied, in random order.
            let want = rng.below(2) == 0;
            let mut run: Vec<(u32, u32)> = keys
                .iter()
                .flat_map(|&key| (0..STRESS_PKS).map(move |pk| (key, pk)))
                .collect();
            for at in (1..run.len()).rev() {
                run.swap(at, rng.below(at as u64 + 1) as usize);
            }
            for entry in run {
                toggle(map, &mut mine, entry, want);
            }
        }
    }
    mine
}

/// A reader's scan bounds: around the writers' window or anywhere.
fn scan_bounds(hot: &AtomicU32, rng: &mut SplitMix) -> (Bound<u32>, Bound<u32>) {
    let (low, high) = if rng.below(2) == 0 {
        let low = hot.load(Relaxed).saturating_sub(rng.below(50) as u32);
        (low, low + rng.below(u64::from(HOT_KEYS) + 100) as u32)
    } else {
        let low = rng.below(u64::from(STRESS_KEYS) + 10) as u32;
        (low, low + rng.below(700) as u32)
    };
    (stress_bound(rng, low), stress_bound(rng, high))
}

/// What a scan has returned so far from each end, checked item by item
/// against the stable entries in its bounds (sorted).
struct ScanProgress<'s> {
    stable: &'s [(u32, u32)],
    /// The scan, for the messages: bounds and reading mode.
    what: (Bound<u32>, Bound<u32>, u64),
    /// Stable entries not yet reached from the front: from `next_stable`;
    /// from the back: before `end_stable`.
    next_stable: usize,
    end_stable: usize,
    last_front: Option<(u32, u32)>,
    last_back: Option<(u32, u32)>,
}

impl<'s> ScanProgress<'s> {
    fn new(stable: &'s [(u32, u32)], what: (Bound<u32>, Bound<u32>, u64)) -> Self {
        Self {
            stable,
            what,
            next_stable: 0,
            end_stable: stable.len(),
            last_front: None,
            last_back: None,
        }
    }

    /// `item` came from the front: above the last one, no stable entry
    /// skipped.
    fn front(&mut self, item: (u32, u32)) {
        let what = self.what;
        let last_front = self.last_front.replace(item);
        assert!(
            last_front.is_none_or(|last| last < item),
            "{what:?}: front {item:?} after {last_front:?}"
        );
        let next = self.next_stable;
        assert!(
            next == self.end_stable || self.stable[next] >= item,
            "{what:?}: front skipped stable {:?} to {item:?}",
            self.stable[next]
        );
        if next < self.end_stable && self.stable[next] == item {
            self.next_stable += 1;
        }
    }

    /// `item` came from the back: below the last one, no stable entry
    /// skipped.
    fn back(&mut self, item: (u32, u32)) {
        let what = self.what;
        let last_back = self.last_back.replace(item);
        assert!(
            last_back.is_none_or(|last| last > item),
            "{what:?}: back {item:?} after {last_back:?}"
        );
        // Read only while a stable entry is unseen, when `end_stable` >= 1.
        let last_unseen = self.end_stable.wrapping_sub(1);
        assert!(
            self.next_stable == self.end_stable || self.stable[last_unseen] <= item,
            "{what:?}: back skipped stable {:?} to {item:?}",
            self.stable[last_unseen]
        );
        if self.next_stable < self.end_stable && self.stable[last_unseen] == item {
            self.end_stable -= 1;
        }
    }

    /// Front items strictly below back items: with each end strictly
    /// monotonic, no entry comes twice.
    fn check_ends_apart(&self) {
        let what = self.what;
        if let (Some(front), Some(back)) = (self.last_front, self.last_back) {
            assert!(
                front < back,
                "{what:?}: front reached {front:?}, back {back:?}"
            );
        }
    }

    /// The scan ended: every stable entry in bounds came.
    fn finish(&self) {
        let what = self.what;
        assert_eq!(
            self.next_stable,
            self.end_stable,
            "{what:?}: stable entries {:?} missing",
            &self.stable[self.next_stable..self.end_stable]
        );
    }
}

/// One reader's scan, over the writers' window or anywhere: checks each
/// item as it comes (order, bounds, no stable entry skipped) and at the end
/// that every stable entry in bounds came.
fn stress_scan(
    map: &OrderedMap<u32, u32>,
    stable: &[(u32, u32)],
    hot: &AtomicU32,
    rng: &mut SplitMix,
) {
    let (start, end) = scan_bounds(hot, rng);
    let mode = rng.below(3); // 0 forward, 1 backward, 2 mixed
    let stable: Vec<(u32, u32)> = stable
        .iter()
        .copied()
        .filter(|(key, _)| (start, end).contains(key))
        .collect();
    let what = (start, end, mode);
    let mut progress = ScanProgress::new(&stable, what);
    let mut iter = map.range(SeekRange::new(start.map(Exact), end.map(Exact)));
    loop {
        let from_front = match mode {
            0 => true,
            1 => false,
            _ => rng.below(2) == 0,
        };
        let Some(entry) = (if from_front {
            iter.next()
        } else {
            iter.next_back()
        }) else {
            break;
        };
        let item = (entry.key, entry.pk);
        assert!(
            (start, end).contains(&item.0),
            "{what:?}: {item:?} is out of bounds"
        );
        assert!(
            item.0 < STRESS_KEYS && item.1 < STRESS_PKS,
            "{what:?}: {item:?} was never inserted"
        );
        if from_front {
            progress.front(item);
        } else {
            progress.back(item);
        }
        progress.check_ends_apart();
    }
    assert!(
        iter.next().is_none() && iter.next_back().is_none(),
        "{what:?}: yields after its end"
    );
    progress.finish();
}

#[test]
fn scans_see_stable_entries_once_in_order_while_writers_split_and_merge() {
    // With prefixes that tie runs of four keys: the writers' searches use
    // them, the scans do not.
    let map = OrderedMap::<u32, u32>::new(Some(|key| u64::from(key / 4)));
    let stable: Vec<(u32, u32)> = (0..STRESS_KEYS)
        .filter(|&key| is_stable(key))
        .flat_map(|key| (0..STRESS_PKS).map(move |pk| (key, pk)))
        .collect();
    map.load_sorted(stable.iter().copied());
    let writing = AtomicBool::new(true);
    let hot = AtomicU32::new(0);
    let scans = AtomicUsize::new(0);
    let (mut least_nodes, mut most_nodes) = (usize::MAX, 0);
    let finals: Vec<BTreeSet<(u32, u32)>> = thread::scope(|scope| {
        for reader in 0..READERS {
            let (map, stable, writing, scans, hot) = (&map, &stable[..], &writing, &scans, &hot);
            scope.spawn(move || {
                let mut rng = SplitMix(0x4EAD_0000_u64.wrapping_add(reader));
                // At least a few scans even if the writers finish first.
                let mut done = 0;
                while writing.load(Relaxed) || done < 20 {
                    stress_scan(map, stable, hot, &mut rng);
                    done += 1;
                }
                scans.fetch_add(done, Relaxed);
            });
        }
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let (map, hot) = (&map, &hot);
                scope.spawn(move || stress_writer(map, hot, writer))
            })
            .collect();
        while !writers.iter().all(|writer| writer.is_finished()) {
            let nodes = map.nodes.len() + 1;
            least_nodes = least_nodes.min(nodes);
            most_nodes = most_nodes.max(nodes);
            thread::sleep(std::time::Duration::from_millis(1));
        }
        let finals: Vec<_> = writers.into_iter().map(|writer| writer.join()).collect();
        // Before a writer's panic is passed on: the scope waits for the readers.
        writing.store(false, Relaxed);
        finals
            .into_iter()
            .map(|mine| mine.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let layout = check_layout(&map).unwrap_or_else(|problem| panic!("{problem}"));
    let mut expected: BTreeSet<(u32, u32)> = stable.iter().copied().collect();
    for mine in &finals {
        expected.extend(mine);
    }
    let got: Vec<_> = layout
        .entries
        .iter()
        .map(|entry| (entry.key, entry.pk))
        .collect();
    assert!(
        got.iter().eq(expected.iter()),
        "the map is not the stable entries plus the writers'"
    );
    assert_eq!(map.len(), expected.len());
    assert!(
        most_nodes >= least_nodes + 10,
        "nodes only ranged over {least_nodes}..={most_nodes}: too few splits and merges"
    );
    assert!(scans.load(Relaxed) >= 40);
}
