//! Stress tests on a multi-threaded runtime: many tasks hammer a few rows and the
//! invariants of the crate's "Concurrent access" docs are checked — no lost update, no
//! torn or stale-key read, unique keys never held twice, multi-row writes and `lock_all`
//! in opposite orders never deadlock, and cancelled lock waiters leave nothing behind.
//! Every test bounds its work, runs under a [`timeout`] (a deadlock fails instead of
//! hanging) and ends with `check_integrity()` and no row lock left.

mod cancelled_waiters;
mod hash_keys;
mod lock_order;
mod lost_updates;
mod overlapping_writes;
mod torn_reads;

use std::future::Future;
use std::time::Duration;

use worktable_core::prelude::*;

use crate::row_locks::timeout;

/// A bound no test comes near; reaching it means a deadlock or a lost wake-up.
pub(crate) const LIMIT: Duration = Duration::from_secs(30);

/// Runs `test` under [`LIMIT`].
pub(crate) async fn bounded<F: Future>(test: F) -> F::Output {
    timeout(LIMIT, test)
        .await
        .expect("the test did not finish in time: deadlock or lost wake-up")
}

/// `n`, or a hundredth of it (at least 2) under Miri, where every operation
/// is thousands of times slower: the same interleavings, fewer of them.
pub(crate) const fn scaled(n: usize) -> usize {
    if cfg!(miri) {
        if n / 100 > 2 { n / 100 } else { 2 }
    } else {
        n
    }
}

/// Checks what must hold once every writer has finished.
pub(crate) fn settle<R: Row>(table: &WorkTable<R>) {
    table.check_integrity().unwrap();
    let stats = table.stats();
    assert_eq!(stats.locked_rows, 0, "a row lock outlived its users");
    assert_eq!(stats.rows, table.len());
    for index in &stats.indexes {
        assert_eq!(index.entries, table.len(), "index {}", index.name);
    }
}

/// A small deterministic generator (SplitMix64), one per task.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n)) as u32
    }
}
