//! Vacuum and space accounting, one promise at a time: a vacuum racing writers and
//! readers moves rows without any reader seeing a torn, stale or missing row and leaves
//! the table exactly as the writers made it; deleting most rows and vacuuming gives most
//! pages back; a steady stream of size-changing updates reaches a stable footprint by
//! slot reuse alone; the background vacuum starts, stops and ends by its policy, its
//! handle and the table's lifetime; moves are invisible to subscribers and commit hooks;
//! statistics add up and read well; and the corners — an empty table, rows of the largest
//! size, a reader holding a row or an iterator open across a vacuum, rows whose locks are
//! held, the policy's knobs.

mod background;
mod corners;
mod fragmented_free_space;
mod mass_delete;
mod racing;
mod stable_footprint;
mod stats;
mod subscribers;

use std::collections::BTreeMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::Duration;

use worktable_core::prelude::*;
use worktable_core::{TableStats, VacuumPolicy, VacuumReport};

use crate::row_sizes::slot_size;

/// A row whose content is determined by `(id, version)`: readers can tell exactly which
/// version they saw, and the checksum over the other fields shows a torn read.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "docs")]
pub(super) struct Doc {
    #[pk]
    pub(super) id: u32,
    #[index]
    pub(super) shelf: u16,
    pub(super) version: u64,
    pub(super) payload: String,
    pub(super) checksum: u64,
}

/// Shelves of the `shelf` index: few, so that updates move rows between them.
pub(super) const SHELVES: u16 = 8;

/// FNV-1a over every field but `checksum`, eight bytes at a time (a test in a debug build
/// builds and checks millions of rows).
pub(super) fn checksum(id: u32, shelf: u16, version: u64, payload: &str) -> u64 {
    let mut hash = 0xCBF2_9CE4_8422_2325_u64;
    let mut mix = |word: u64| hash = (hash ^ word).wrapping_mul(0x0100_0000_01B3);
    mix(u64::from(id) << 16 | u64::from(shelf));
    mix(version);
    mix(payload.len() as u64);
    for chunk in payload.as_bytes().chunks(8) {
        let mut word = [0; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        mix(u64::from_le_bytes(word));
    }
    hash
}

/// Longest payload [`doc`] makes: enough for a row of `MAX_ROW_BYTES`.
const LONGEST_PAYLOAD: usize = worktable_core::MAX_ROW_BYTES;

/// The letters `a` to `z` over and over, to cut payloads from.
fn letters() -> &'static str {
    static LETTERS: OnceLock<String> = OnceLock::new();
    LETTERS.get_or_init(|| {
        (0..LONGEST_PAYLOAD + 26)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect()
    })
}

/// Version `version` of row `id`, with a payload of `len` bytes whose content depends on
/// both; the shelf changes with every other version.
pub(super) fn doc(id: u32, version: u64, len: usize) -> Doc {
    assert!(len <= LONGEST_PAYLOAD);
    let start = ((u64::from(id) % 26 * 7 + version % 26) % 26) as usize;
    let payload = letters()[start..start + len].to_owned();
    let shelf = ((u64::from(id) + version / 2) % u64::from(SHELVES)) as u16;
    Doc {
        id,
        shelf,
        version,
        checksum: checksum(id, shelf, version, &payload),
        payload,
    }
}

/// Checks the row's checksum.
pub(super) fn assert_intact(row: &Doc) {
    assert_eq!(
        row.checksum,
        checksum(row.id, row.shelf, row.version, &row.payload),
        "torn row {} (version {}, {} payload bytes)",
        row.id,
        row.version,
        row.payload.len()
    );
}

/// The payload length that makes a `Doc` take exactly `slot` bytes of page space.
pub(super) fn payload_for_slot(slot: usize) -> usize {
    let len = (0..slot)
        .find(|&len| slot_size(&doc(0, 0, len)) == slot)
        .expect("some payload length gives this slot size");
    // The size must not depend on the id or the version.
    assert_eq!(slot_size(&doc(u32::MAX, u64::MAX, len)), slot);
    len
}

/// The table's rows by key.
pub(super) fn contents(table: &WorkTable<Doc>) -> BTreeMap<u32, Doc> {
    table.iter().map(|row| (row.id, row)).collect()
}

/// A vacuum that does not pause between steps (the defaults pause 1 ms per step), run to
/// its end; see [`vacuum_with`].
pub(super) fn vacuum_now<R: Row>(table: &Arc<WorkTable<R>>) -> VacuumReport {
    vacuum_with(table, &VacuumPolicy::default().pause(Duration::ZERO))
}

/// How long a vacuum of these tests' tables may take before the test fails: far more
/// than any needs.
const PATIENCE: Duration = Duration::from_secs(30);

/// `table.vacuum_with(policy)`, on another thread: a vacuum that never ends fails the
/// test after [`PATIENCE`] instead of hanging it (that thread is then left running).
pub(super) fn vacuum_with<R: Row>(
    table: &Arc<WorkTable<R>>,
    policy: &VacuumPolicy,
) -> VacuumReport {
    let (table, policy) = (Arc::clone(table), policy.clone());
    let (done, report) = mpsc::channel();
    thread::spawn(move || done.send(table.vacuum_with(&policy)));
    match report.recv_timeout(PATIENCE) {
        Ok(report) => report,
        Err(RecvTimeoutError::Timeout) => panic!("the vacuum did not end within {PATIENCE:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("the vacuum panicked"),
    }
}

/// Returns retired slots to the free lists and checks that none is left waiting (also used
/// by `slot_reuse`).
///
/// `reclaim_retired()` drains a bounded share of the epoch collector's process-wide queue,
/// which the other tests of this binary fill too (and their readers may delay), so one
/// call may leave slots retired; calling it again until none is left keeps these tests
/// independent of their neighbours.
pub(crate) fn reclaim<R: Row>(table: &WorkTable<R>) -> TableStats {
    const MAX_CALLS: usize = 100_000;
    for _ in 0..MAX_CALLS {
        table.reclaim_retired();
        if table.stats().retired_slots == 0 {
            break;
        }
        std::thread::yield_now();
    }
    let stats = table.stats();
    assert_eq!(stats.retired_slots, 0, "{stats}");
    assert_eq!(stats.dead_bytes, 0, "{stats}");
    stats
}

/// Checks what must hold of the figures of a table nobody writes to: every byte of page
/// memory is used, free or dead, used bytes are the slots of exactly `rows`, and the
/// derived figures follow from the others.
pub(super) fn assert_accounts_for<'a>(stats: &TableStats, rows: impl IntoIterator<Item = &'a Doc>) {
    let (count, slots) = rows.into_iter().fold((0, 0), |(count, slots), row| {
        (count + 1, slots + slot_size(row))
    });
    assert_eq!(stats.rows, count, "{stats}");
    assert_eq!(stats.used_bytes, slots, "{stats}");
    assert_eq!(
        stats.used_bytes + stats.free_bytes + stats.dead_bytes,
        stats.page_bytes,
        "{stats}"
    );
    assert_eq!(
        stats.page_bytes,
        stats.pages * worktable_core::PAGE_SIZE,
        "{stats}"
    );
    assert_eq!(stats.locked_rows, 0, "{stats}");
    if stats.page_bytes == 0 {
        assert_eq!(stats.fragmentation, 0.0, "{stats}");
    } else {
        let expected = (stats.page_bytes - stats.used_bytes) as f64 / stats.page_bytes as f64;
        assert!((stats.fragmentation - expected).abs() < 1e-12, "{stats}");
    }
    assert_eq!(
        stats.reclaimable_pages(),
        stats.pages - stats.used_bytes.div_ceil(worktable_core::PAGE_SIZE),
        "{stats}"
    );
    for index in &stats.indexes {
        assert_eq!(index.entries, count, "index {}: {stats}", index.name);
    }
}
