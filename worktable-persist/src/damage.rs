//! Test support shared by the codecs' tests: random damage to a file's
//! bytes, and a CRC32C of their own to cross-check fixtures.

use proptest::prelude::*;
use proptest::sample::Index;

/// One kind of damage to a file's bytes.
#[derive(Clone, Debug)]
pub(crate) enum Mutation {
    Truncate(Index),
    Flip(Index, u8),
    Overwrite(Index, Vec<u8>),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
    Append(Vec<u8>),
}

/// Any of the kinds of damage, at random places.
pub(crate) fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let bytes = || proptest::collection::vec(any::<u8>(), 1..16);
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip(at, mask)),
        (any::<Index>(), bytes()).prop_map(|(at, new)| Mutation::Overwrite(at, new)),
        (any::<Index>(), bytes()).prop_map(|(at, new)| Mutation::Insert(at, new)),
        (any::<Index>(), 1..16usize).prop_map(|(at, n)| Mutation::Remove(at, n)),
        bytes().prop_map(Mutation::Append),
    ]
}

impl Mutation {
    /// Applies the damage to `bytes`.
    pub(crate) fn apply(&self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match self {
            Self::Truncate(at) => bytes.truncate(at.index(len + 1)),
            Self::Flip(at, mask) if len > 0 => bytes[at.index(len)] ^= mask,
            Self::Overwrite(at, new) if len > 0 => {
                let start = at.index(len);
                let end = (start + new.len()).min(len);
                bytes[start..end].copy_from_slice(&new[..end - start]);
            }
            Self::Insert(at, new) => {
                let at = at.index(len + 1);
                bytes.splice(at..at, new.iter().copied());
            }
            Self::Remove(at, n) if len > 0 => {
                let start = at.index(len);
                bytes.drain(start..(start + n).min(len));
            }
            Self::Append(extra) => bytes.extend_from_slice(extra),
            Self::Flip(..) | Self::Overwrite(..) | Self::Remove(..) => {}
        }
    }
}

/// CRC32C computed bit by bit, independently of the `crc32c` crate, to
/// cross-check the fixtures' checksums.
pub(crate) fn bitwise_crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
