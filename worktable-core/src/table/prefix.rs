//! Prefix searches on a composite primary key: [`WorkTable::prefix`] and
//! [`TableSnapshot::prefix`]. The rows come from the primary index's
//! ordered keys between two probes, as a range does.

use std::cmp::Ordering;
use std::marker::PhantomData;

use super::read::Rows;
use super::{TableSnapshot, WorkTable};
use crate::index::PkKeys;
use crate::index::entry::{Edge, KeyOrder};
use crate::row::{PkPrefix, Row};

impl<R: Row> WorkTable<R> {
    /// The rows whose composite primary key starts with `prefix`, in
    /// primary-key order. Reverse it with `.rev()`. The prefix is the first
    /// key field's value (a `&str` for a `String` field), or a tuple of the
    /// first fields' values. A table with `#[pk(hash)]`, or a key of one
    /// field, has no prefix searches: the call does not compile (see
    /// [`PkPrefix`]).
    ///
    /// ```
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Visit {
    ///     #[pk]
    ///     site: String,
    ///     #[pk]
    ///     day: u16,
    ///     #[pk]
    ///     visitor: u32,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let visits = WorkTable::<Visit>::new();
    ///     for (site, day, visitor) in [("a", 1, 7), ("a", 2, 7), ("a", 2, 9), ("b", 1, 7)] {
    ///         visits.insert(Visit { site: site.into(), day, visitor }).await?;
    ///     }
    ///     assert_eq!(visits.prefix("a").count(), 3);
    ///     let day_2: Vec<u32> = visits.prefix(("a".to_string(), 2)).map(|v| v.visitor).collect();
    ///     assert_eq!(day_2, [7, 9]);
    ///     // Whole-key ranges work on any ordered key, as on one field.
    ///     let from_a2 = visits.range(("a".to_string(), 2, 0)..).count();
    ///     assert_eq!(from_a2, 3);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn prefix<'a, X>(&'a self, prefix: X) -> impl DoubleEndedIterator<Item = R> + 'a
    where
        R: PkPrefix<X>,
        X: Clone + 'a,
    {
        if self.in_database() {
            return Rows::Collected(self.snapshot().prefix(prefix));
        }
        Rows::Lazy(self.rows_by_pk(self.pk_keys_with_prefix(prefix)))
    }

    /// The primary keys that start with `prefix`, in order.
    pub(crate) fn pk_keys_with_prefix<X: Clone>(
        &self,
        prefix: X,
    ) -> PkKeys<'_, R::Pk, Edge<PkPrefixOf<R, X>>>
    where
        R: PkPrefix<X>,
    {
        self.primary.keys_where(PkPrefixOf::new(prefix))
    }
}

impl<R: Row> TableSnapshot<'_, R> {
    /// The rows whose composite primary key started with `prefix`, in
    /// primary-key order (see [`WorkTable::prefix`]). Reverse it with
    /// `.rev()`.
    pub fn prefix<X>(&self, prefix: X) -> std::vec::IntoIter<R>
    where
        R: PkPrefix<X>,
        X: Clone,
    {
        let pks = self.table().pk_keys_with_prefix(prefix.clone());
        self.rows(pks, |archived| {
            R::cmp_prefix(&prefix, &R::pk_of_archived(archived))
                .is_eq()
                .then_some(())
        })
        .into_iter()
    }
}

/// Probe target standing for every primary key that starts with a prefix.
pub(crate) struct PkPrefixOf<R, X> {
    prefix: X,
    _row: PhantomData<fn() -> R>,
}

impl<R, X> PkPrefixOf<R, X> {
    pub(crate) fn new(prefix: X) -> Self {
        Self {
            prefix,
            _row: PhantomData,
        }
    }
}

impl<R, X: Clone> Clone for PkPrefixOf<R, X> {
    fn clone(&self) -> Self {
        Self::new(self.prefix.clone())
    }
}

impl<R: PkPrefix<X>, X> KeyOrder<R::Pk> for PkPrefixOf<R, X> {
    fn cmp_key(&self, pk: &R::Pk) -> Ordering {
        R::cmp_prefix(&self.prefix, pk)
    }
}
