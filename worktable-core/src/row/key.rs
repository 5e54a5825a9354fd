//! Keys: the bounds every primary and index key satisfies, their
//! order-preserving prefixes, and where the keys of inserted rows come from
//! (the row itself, or a generator).

use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

/// What every primary and index key is: totally ordered, hashable, cloneable
/// and printable. Implemented for every type with those traits.
///
/// Floats are not [`Ord`]; index them through [`OrderedF64`](crate::OrderedF64)
/// or [`OrderedF32`](crate::OrderedF32).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a table key",
    label = "keys need `Ord + Hash + Clone + Debug + Send + Sync + 'static`",
    note = "for `f32`/`f64` use `worktable_core::OrderedF32`/`OrderedF64`, which order by `total_cmp`"
)]
pub trait Key: Ord + Hash + Clone + Debug + Send + Sync + 'static {}

impl<T: Ord + Hash + Clone + Debug + Send + Sync + 'static> Key for T {}

/// The prefix function of a key type: a `u64` that orders like the key, as
/// far as it goes (`prefix(a) < prefix(b)` implies `a < b`). The ordered
/// indexes keep it beside each key; see `index::prefix`.
pub type KeyPrefix<K> = fn(&K) -> u64;

/// A source of primary keys for `#[pk(generator = MyGenerator)]`.
///
/// The table keeps one generator (made with [`Default`]) and asks it for a
/// key on every [`insert`](crate::WorkTable::insert); the key the caller put
/// in the row is overwritten.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use worktable_core::PkGenerator;
///
/// /// Even numbers only.
/// #[derive(Default)]
/// struct EvenIds(AtomicU64);
///
/// impl PkGenerator<u64> for EvenIds {
///     fn next_pk(&self) -> Option<u64> {
///         self.0.fetch_add(2, Ordering::Relaxed).checked_add(2)
///     }
/// }
/// ```
pub trait PkGenerator<K>: Default + Send + Sync + 'static {
    /// The next key, or `None` when the generator has run out of keys (the
    /// insert then fails with [`TableError::KeysExhausted`](crate::TableError::KeysExhausted)).
    fn next_pk(&self) -> Option<K>;

    /// Called with the key of every row stored with a caller-chosen key
    /// ([`upsert`](crate::WorkTable::upsert) of a new row), so that the
    /// generator can avoid handing it out later. The default does nothing.
    fn observe(&self, pk: &K) {
        let _ = pk;
    }
}

/// The generator behind `#[pk(autoincrement)]`: 1, 2, 3, … for `u8`…`u64`
/// and `i8`…`i64`, never reusing a key it has handed out or
/// [observed](PkGenerator::observe); `None` once the type's maximum is used.
#[derive(Debug, Default)]
pub struct AutoIncrement<T> {
    /// The largest key handed out or observed; 0 when none.
    last: AtomicU64,
    _key: PhantomData<fn() -> T>,
}

macro_rules! autoincrement_for {
    ($($int:ty),*) => {$(
        impl PkGenerator<$int> for AutoIncrement<$int> {
            fn next_pk(&self) -> Option<$int> {
                let max = <$int>::MAX as u64;
                let previous = self
                    .last
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                        (last < max).then(|| last + 1)
                    })
                    .ok()?;
                <$int>::try_from(previous + 1).ok()
            }

            fn observe(&self, pk: &$int) {
                // Negative keys are below every generated key.
                if let Ok(seen) = u64::try_from(*pk as i128) {
                    self.last.fetch_max(seen, Ordering::AcqRel);
                }
            }
        }
    )*};
}
autoincrement_for!(u8, u16, u32, u64, i8, i16, i32, i64);

/// Where the keys of inserted rows come from.
pub trait PkSource<K>: Default + Send + Sync + 'static {
    /// Whether keys come from a generator, which must never hand out a
    /// key of a row deleted before (a durable table keeps the largest).
    const GENERATES: bool;

    /// The key for a row being inserted whose own key is `given`; `None`
    /// when a generator has run out of keys.
    fn assign(&self, given: K) -> Option<K>;

    /// Tells a generator that `pk` was stored with a caller-chosen key.
    fn observe(&self, pk: &K);
}

/// Keys come from the rows themselves (plain `#[pk]`).
#[derive(Debug, Default)]
pub struct CallerPk;

impl<K> PkSource<K> for CallerPk {
    const GENERATES: bool = false;

    fn assign(&self, given: K) -> Option<K> {
        Some(given)
    }

    fn observe(&self, _pk: &K) {}
}

/// Keys come from a generator (`#[pk(autoincrement)]`,
/// `#[pk(generator = ...)]`).
#[derive(Debug, Default)]
pub struct Generated<G>(G);

impl<K, G: PkGenerator<K>> PkSource<K> for Generated<G> {
    const GENERATES: bool = true;

    fn assign(&self, _given: K) -> Option<K> {
        self.0.next_pk()
    }

    fn observe(&self, pk: &K) {
        self.0.observe(pk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autoincrement_counts_from_one_and_skips_observed_keys() {
        let ids = AutoIncrement::<u32>::default();
        assert_eq!(ids.next_pk(), Some(1));
        assert_eq!(ids.next_pk(), Some(2));
        ids.observe(&10);
        ids.observe(&5);
        assert_eq!(ids.next_pk(), Some(11));
    }

    #[test]
    fn autoincrement_reports_exhaustion_at_the_top_of_u64() {
        let ids = AutoIncrement::<u64>::default();
        ids.observe(&(u64::MAX - 1));
        assert_eq!(ids.next_pk(), Some(u64::MAX));
        assert_eq!(ids.next_pk(), None);
        assert_eq!(ids.next_pk(), None);
    }

    #[test]
    fn autoincrement_reports_exhaustion() {
        let ids = AutoIncrement::<i8>::default();
        ids.observe(&126);
        assert_eq!(ids.next_pk(), Some(127));
        assert_eq!(ids.next_pk(), None);
        assert_eq!(ids.next_pk(), None);
        ids.observe(&-5);
        assert_eq!(ids.next_pk(), None);
    }
}
