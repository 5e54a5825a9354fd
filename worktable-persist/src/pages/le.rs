//! Little-endian field reads at fixed offsets that cannot panic.

/// The `N` bytes at `at` in `bytes`. Callers pass offsets they have checked
/// to be in range; out of range yields zeros rather than a panic, so no
/// input can make a decoder panic even if a length check is wrong.
pub(super) fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes
        .get(at..)
        .and_then(|rest| rest.first_chunk::<N>())
        .copied()
        .unwrap_or([0; N])
}

/// The little-endian `u16` at `at` in `bytes` (zero if out of range).
pub(super) fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(array(bytes, at))
}

/// The little-endian `u32` at `at` in `bytes` (zero if out of range).
pub(super) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(array(bytes, at))
}

/// The little-endian `u64` at `at` in `bytes` (zero if out of range).
pub(super) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(array(bytes, at))
}
