//! Little-endian field reads that cannot panic.

/// Splits `N` bytes off the front of `bytes`. Callers pass slices they have
/// checked to be long enough; a shorter one yields zeros rather than a panic,
/// so no input can make a decoder panic even if a length check is wrong.
pub(crate) fn take<const N: usize>(bytes: &[u8]) -> ([u8; N], &[u8]) {
    match bytes.split_first_chunk::<N>() {
        Some((head, rest)) => (*head, rest),
        None => ([0; N], &[]),
    }
}

/// Reads a little-endian u32 from the first 4 bytes of `bytes` (zero if
/// shorter).
pub(crate) fn le_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(take::<4>(bytes).0)
}
