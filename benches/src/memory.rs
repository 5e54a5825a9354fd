//! Resident memory per row after a bulk insert.

use std::hint::black_box;

use crate::{System, user};

/// Seed of the rows the memory measurement inserts (the benchmarks' seed).
pub const SEED: u64 = 0x5eed;

/// This process's resident set size in bytes (`VmRSS` of
/// `/proc/self/status`).
///
/// # Panics
///
/// If the file cannot be read or has no `VmRSS` line (not Linux).
pub fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status readable");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line in /proc/self/status");
    kib * 1024
}

/// Growth of resident memory, in bytes per row, while an empty `S` is
/// created and filled with `rows` users through [`System::bulk_insert`].
///
/// Each user is generated just before it is inserted, so the resident
/// growth is what the system keeps (rows, indexes, allocator slack), not the
/// input. Run it once per fresh process: memory freed by an earlier
/// measurement would be reused and hide growth.
pub fn bytes_per_row<S: System>(rows: usize) -> f64 {
    let before = resident_bytes();
    let mut system = S::new();
    system.bulk_insert((0..rows as u64).map(|i| user(i, SEED)));
    let after = resident_bytes();
    black_box(&system);
    after.saturating_sub(before) as f64 / rows as f64
}
