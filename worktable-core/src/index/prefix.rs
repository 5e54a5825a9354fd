//! Order-preserving key prefixes, kept beside the entries of an ordered
//! index so that most comparisons of a search never leave the index node.
//!
//! Comparing two `String` keys reads both strings' characters, which live
//! wherever each string was allocated: at random keys, nearly every step of
//! a binary search is a cache miss. A key's *prefix* is a `u64` that orders
//! like the key, as far as it goes: `prefix(a) < prefix(b)` implies `a < b`
//! (so `a <= b` implies `prefix(a) <= prefix(b)`). A node keeps its entries'
//! prefixes in a buffer of its own; a search first narrows to the entries
//! whose prefix equals the target's, and compares whole keys only there.
//!
//! Only key types whose comparison is costly have a prefix ([`SortPrefix`]):
//! for an integer key the comparison is as cheap as the prefix's, and the
//! prefix would cost eight bytes per entry for nothing.

use std::marker::PhantomData;

use crate::row::KeyPrefix;

/// Key types with an order-preserving 8-byte prefix.
///
/// Contract: for keys `a < b`, `a.sort_prefix() <= b.sort_prefix()`. An
/// implementation that breaks it leaves the index unable to find entries
/// (never memory-unsafe), like a broken `Ord`.
pub trait SortPrefix {
    /// The key's prefix.
    fn sort_prefix(&self) -> u64;
}

/// The first eight bytes, big-endian, zero-padded. Byte strings order
/// lexicographically: if `a < b` differ first at a byte among the first
/// eight, their prefixes differ the same way there; if `a` is a proper
/// prefix of `b`, the padding is zeros, at most `b`'s bytes; otherwise the
/// first eight bytes agree and so do the prefixes.
fn bytes_prefix(bytes: &[u8]) -> u64 {
    let mut head = [0; 8];
    let len = bytes.len().min(8);
    head[..len].copy_from_slice(&bytes[..len]);
    u64::from_be_bytes(head)
}

macro_rules! byte_string_prefix {
    ($($ty:ty => |$key:ident| $bytes:expr),*) => {$(
        impl SortPrefix for $ty {
            #[inline]
            fn sort_prefix(&self) -> u64 {
                let $key = self;
                bytes_prefix($bytes)
            }
        }
    )*};
}

// `str` orders as its UTF-8 bytes do.
byte_string_prefix!(
    String => |key| key.as_bytes(),
    Box<str> => |key| key.as_bytes(),
    Vec<u8> => |key| key,
    Box<[u8]> => |key| key
);

// Tuples order by their first element first: a tuple's prefix is its first
// element's.
macro_rules! tuple_prefix {
    ($first:ident $(, $rest:ident)*) => {
        impl<$first: SortPrefix $(, $rest)*> SortPrefix for ($first, $($rest,)*) {
            #[inline]
            fn sort_prefix(&self) -> u64 {
                self.0.sort_prefix()
            }
        }
    };
}

tuple_prefix!(A);
tuple_prefix!(A, B);
tuple_prefix!(A, B, C);
tuple_prefix!(A, B, C, D);
tuple_prefix!(A, B, C, D, E);
tuple_prefix!(A, B, C, D, E, F);
tuple_prefix!(A, B, C, D, E, F, G);
tuple_prefix!(A, B, C, D, E, F, G, H);

/// Picks a key type's prefix function where the type is known by name (in
/// the code `#[derive(Table)]` generates): `(&PrefixProbe::<K>::NEW)
/// .key_prefix()` with [`WithPrefix`] and [`WithoutPrefix`] in scope is
/// `Some(K::sort_prefix)` if `K: SortPrefix` and `None` otherwise (method
/// lookup tries `PrefixProbe<K>`'s own impl before the one for
/// `&PrefixProbe<K>`).
#[derive(Debug)]
pub struct PrefixProbe<K>(PhantomData<fn() -> K>);

impl<K> PrefixProbe<K> {
    /// The probe.
    pub const NEW: Self = Self(PhantomData);
}

/// See [`PrefixProbe`].
pub trait WithPrefix<K> {
    /// The key type's prefix function.
    fn key_prefix(&self) -> Option<KeyPrefix<K>>;
}

impl<K: SortPrefix> WithPrefix<K> for PrefixProbe<K> {
    fn key_prefix(&self) -> Option<KeyPrefix<K>> {
        Some(K::sort_prefix)
    }
}

/// See [`PrefixProbe`].
pub trait WithoutPrefix<K> {
    /// No prefix function.
    fn key_prefix(&self) -> Option<KeyPrefix<K>> {
        None
    }
}

impl<K> WithoutPrefix<K> for &PrefixProbe<K> {}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn string_prefixes_keep_the_order(a in ".{0,12}", b in ".{0,12}") {
            if a < b {
                prop_assert!(a.sort_prefix() <= b.sort_prefix());
            }
            if a.sort_prefix() < b.sort_prefix() {
                prop_assert!(a < b);
            }
        }

        #[test]
        fn byte_prefixes_keep_the_order(
            a in proptest::collection::vec(0u8..4, 0..11),
            b in proptest::collection::vec(0u8..4, 0..11),
        ) {
            if a < b {
                prop_assert!(a.sort_prefix() <= b.sort_prefix());
            }
            if a.sort_prefix() < b.sort_prefix() {
                prop_assert!(a < b);
            }
        }
    }

    #[test]
    fn padding_ties_a_key_with_its_zero_extension() {
        assert_eq!(
            "ab".to_owned().sort_prefix(),
            "ab\0".to_owned().sort_prefix()
        );
        assert!("ab".to_owned().sort_prefix() < "ab\u{1}".to_owned().sort_prefix());
        assert!("".to_owned().sort_prefix() < "a".to_owned().sort_prefix());
    }

    #[test]
    // The borrow is the point: it is what lets a type without a prefix fall
    // back to `WithoutPrefix`, as in the derive's code.
    #[allow(clippy::needless_borrow)]
    fn the_probe_finds_the_prefix_only_where_there_is_one() {
        #[allow(
            unused_imports,
            reason = "the probe's method comes from one trait or the other, by the key type"
        )]
        use super::{WithPrefix as _, WithoutPrefix as _};
        let string = (&PrefixProbe::<String>::NEW).key_prefix();
        assert_eq!(
            string.map(|f| f(&"abc".to_owned())),
            Some("abc".to_owned().sort_prefix())
        );
        let tuple = (&PrefixProbe::<(String, u32)>::NEW).key_prefix();
        assert_eq!(
            tuple.map(|f| f(&("abc".to_owned(), 7))),
            Some("abc".to_owned().sort_prefix())
        );
        assert!((&PrefixProbe::<u64>::NEW).key_prefix().is_none());
        assert!((&PrefixProbe::<(u32, String)>::NEW).key_prefix().is_none());
    }
}
