//! Totally ordered floats, for indexing float columns.
//!
//! Depends on nothing else in core.

// rkyv's derive generates a public resolver type for each float wrapper,
// without `Debug`; nobody ever holds one.
#![allow(missing_debug_implementations)]

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use rkyv::{Archive, Deserialize, Serialize};

macro_rules! ordered_float {
    ($name:ident, $float:ty, $archived:ident) => {
        #[doc = concat!("An `", stringify!($float), "` with a total order, so it can be a key.")]
        ///
        /// Ordered by `total_cmp`: `-NaN < -inf < … < -0.0 < +0.0 < … < +inf <
        /// +NaN`; equal when the bits are equal (so `-0.0 != +0.0`).
        ///
        /// ```
        #[doc = concat!("use worktable_core::", stringify!($name), ";")]
        #[doc = concat!("let mut prices = vec![", stringify!($name), "(2.5), ", stringify!($name), "(-1.0), ", stringify!($name), "(0.0)];")]
        /// prices.sort();
        /// assert_eq!(prices[0].0, -1.0);
        /// ```
        #[derive(Clone, Copy, Default, Archive, Serialize, Deserialize)]
        #[rkyv(crate = crate::rkyv, derive(Debug), archived = $archived)]
        #[repr(transparent)]
        pub struct $name(pub $float);

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.to_bits() == other.0.to_bits()
            }
        }

        impl Eq for $name {}

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> Ordering {
                self.0.total_cmp(&other.0)
            }
        }

        impl Hash for $name {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.0.to_bits().hash(state);
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl From<$float> for $name {
            fn from(value: $float) -> Self {
                Self(value)
            }
        }

        impl From<$name> for $float {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

ordered_float!(OrderedF64, f64, ArchivedOrderedF64);
ordered_float!(OrderedF32, f32, ArchivedOrderedF32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_order_and_equality_agree() {
        let mut values = [
            OrderedF64(f64::NAN),
            OrderedF64(1.0),
            OrderedF64(-0.0),
            OrderedF64(0.0),
            OrderedF64(f64::NEG_INFINITY),
        ];
        values.sort();
        let sorted: Vec<f64> = values.iter().map(|v| v.0).collect();
        assert_eq!(sorted[0], f64::NEG_INFINITY);
        assert!(sorted[1] == 0.0 && sorted[1].is_sign_negative());
        assert!(sorted[4].is_nan());
        assert_ne!(OrderedF64(0.0), OrderedF64(-0.0));
        assert_eq!(OrderedF64(f64::NAN), OrderedF64(f64::NAN));
    }
}
