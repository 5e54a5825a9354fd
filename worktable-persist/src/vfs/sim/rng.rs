//! SplitMix64: the small deterministic generator behind power cuts.

/// Sebastiano Vigna's SplitMix64: one `u64` of state, every seed valid, good
/// enough statistics for choosing which writes land. Not for cryptography.
#[derive(Clone, Debug)]
pub(super) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(super) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..=max`. The modulo bias is below 2^-40 for the sizes
    /// used here (counts of operations and bytes), which is irrelevant.
    pub(super) fn up_to(&mut self, max: usize) -> usize {
        match (max as u64).checked_add(1) {
            Some(bound) => (self.next_u64() % bound) as usize,
            None => self.next_u64() as usize,
        }
    }

    /// True with probability `1 / n` (`n >= 1`).
    pub(super) fn one_in(&mut self, n: u64) -> bool {
        self.next_u64().is_multiple_of(n)
    }
}
