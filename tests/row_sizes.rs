//! How much page space rows take, for tests that reason about slots and pages.

use worktable_core::{MAX_ROW_BYTES, Row};

/// Slots are aligned to, and sized in multiples of, 16 bytes.
const SLOT_ALIGN: usize = 16;

/// Length of `row` archived, as the table stores it.
pub(crate) fn archived_len<R: Row>(row: &R) -> usize {
    worktable_core::rkyv::to_bytes::<worktable_core::rkyv::rancor::Error>(row)
        .expect("rows serialize")
        .len()
}

/// The page space `row` takes: its archived length rounded up to the slot
/// alignment (at least one slot).
pub(crate) fn slot_size<R: Row>(row: &R) -> usize {
    archived_len(row).max(1).div_ceil(SLOT_ALIGN) * SLOT_ALIGN
}

/// The largest `len` for which `row(len)` still fits in `MAX_ROW_BYTES`
/// when archived (binary search; `len` is the length of a variable-size
/// field, so the archived length grows with it).
pub(crate) fn largest_fitting<R: Row>(row: impl Fn(usize) -> R) -> usize {
    let fits = |len| archived_len(&row(len)) <= MAX_ROW_BYTES;
    let (mut low, mut high) = (0, MAX_ROW_BYTES);
    assert!(fits(low) && !fits(high));
    while high - low > 1 {
        let mid = (low + high) / 2;
        if fits(mid) {
            low = mid;
        } else {
            high = mid;
        }
    }
    low
}
