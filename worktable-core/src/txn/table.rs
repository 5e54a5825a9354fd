//! One table inside a transaction: reads at the transaction's read point
//! overlaid with its buffered writes, and what it read, for validation.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{Locking, Part, Transaction};
use crate::error::{Result, TableError};
use crate::events::CommitChange;
use crate::events::order::{CommitLock, Tables};
use crate::index::{Index, IndexPrefix, LookupKey, OrderedIndex, UniqueIndex};
use crate::page::RowImage;
use crate::query::Overlay;
use crate::row::{Field, PkPrefix, Row};
use crate::table::{Prepared, TableSnapshot, WorkTable, Written, not_found_pk};

/// A predicate a look-up of several rows selected rows by.
type Predicate<R> = Box<dyn Fn(&<R as rkyv::Archive>::Archived) -> bool + Send + Sync>;

/// One table of a transaction, a field of the view `#[derive(Database)]`
/// generates (`BankTx::accounts`). Reads see the database at the
/// transaction's read point and the transaction's own writes; writes are
/// buffered until the transaction commits, and checked then (a duplicate
/// unique key, for instance, fails the commit).
///
/// Look-ups of several rows return them collected, in the order the same
/// call on the table gives.
pub struct TxTable<'db, R: Row> {
    tx: Transaction<'db>,
    snapshot: TableSnapshot<'db, R>,
    state: Arc<State<'db, R>>,
}

impl<R: Row> Clone for TxTable<'_, R> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            snapshot: self.snapshot.clone(),
            state: Arc::clone(&self.state),
        }
    }
}

impl<R: Row> fmt::Debug for TxTable<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TxTable")
            .field("table", &R::TABLE_NAME)
            .field("read_point", &self.tx.read_point())
            .field("writes", &self.sets().writes.len())
            .finish()
    }
}

/// The table's part of the transaction, shared with the commit.
struct State<'db, R: Row> {
    table: &'db WorkTable<R>,
    /// The transaction's "ended" flag.
    ended: Arc<AtomicBool>,
    sets: Mutex<Sets<R>>,
    prepared: Mutex<Vec<Prepared<R>>>,
}

/// What the transaction read and wrote in the table.
struct Sets<R: Row> {
    /// New version of each written row; `None`: deleted.
    writes: BTreeMap<R::Pk, Option<Written<R>>>,
    /// Keys read one by one (found or not), every written key among them.
    points: BTreeSet<R::Pk>,
    /// Look-ups of several rows.
    predicates: Vec<Predicate<R>>,
}

impl<'db, R: Row> TxTable<'db, R> {
    /// `table`'s part of `tx`.
    pub fn new(table: &'db WorkTable<R>, tx: &Transaction<'db>) -> Self {
        let state = Arc::new(State {
            table,
            ended: Arc::clone(&tx.inner.ended),
            sets: Mutex::new(Sets {
                writes: BTreeMap::new(),
                points: BTreeSet::new(),
                predicates: Vec::new(),
            }),
            prepared: Mutex::new(Vec::new()),
        });
        tx.register(Arc::clone(&state) as Arc<dyn Part + 'db>);
        Self {
            tx: tx.clone(),
            snapshot: crate::__private::snapshot_at(table, &tx.inner.point),
            state,
        }
    }

    fn sets(&self) -> MutexGuard<'_, Sets<R>> {
        self.state
            .sets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn open(&self) -> Result<()> {
        if self.tx.ended() {
            Err(TableError::TransactionEnded)
        } else {
            Ok(())
        }
    }

    /// The row with primary key `pk`, as the transaction sees it.
    pub fn get(&self, pk: &R::Pk) -> Option<R> {
        let mut sets = self.sets();
        if let Some(written) = sets.writes.get(pk) {
            return written.as_ref().map(|written| written.image.get());
        }
        sets.points.insert(pk.clone());
        drop(sets);
        self.snapshot.get(pk)
    }

    /// Whether a row with primary key `pk` exists, as the transaction sees
    /// it.
    pub fn contains(&self, pk: &R::Pk) -> bool {
        self.get(pk).is_some()
    }

    /// Inserts `row` (see [`WorkTable::insert`]) and returns its key.
    ///
    /// # Errors
    ///
    /// [`DuplicatePk`](TableError::DuplicatePk) when the transaction sees a
    /// row with the key; [`KeysExhausted`](TableError::KeysExhausted);
    /// [`TransactionEnded`](TableError::TransactionEnded). Unique keys are
    /// checked at commit.
    pub fn insert(&self, mut row: R) -> Result<R::Pk> {
        self.open()?;
        let pk = self.state.table.assign_pk(&mut row)?;
        if self.get(&pk).is_some() {
            return Err(TableError::DuplicatePk {
                table: R::TABLE_NAME,
                pk: format!("{pk:?}"),
            });
        }
        self.write(pk.clone(), Some(row))?;
        Ok(pk)
    }

    /// Replaces the row with `row`'s key; returns the replaced version.
    ///
    /// # Errors
    ///
    /// [`NotFound`](TableError::NotFound),
    /// [`TransactionEnded`](TableError::TransactionEnded).
    pub fn update(&self, row: R) -> Result<R> {
        self.open()?;
        let pk = row.pk();
        let old = self.get(&pk).ok_or_else(|| not_found_pk::<R>(&pk))?;
        self.write(pk, Some(row))?;
        Ok(old)
    }

    /// Inserts `row` or replaces the row with its key; returns the replaced
    /// version.
    ///
    /// # Errors
    ///
    /// [`TransactionEnded`](TableError::TransactionEnded).
    pub fn upsert(&self, row: R) -> Result<Option<R>> {
        self.open()?;
        let pk = row.pk();
        let old = self.get(&pk);
        self.write(pk.clone(), Some(row))?;
        self.state.table.observe_pk(&pk);
        Ok(old)
    }

    /// Deletes the row with key `pk`; returns it.
    ///
    /// # Errors
    ///
    /// [`NotFound`](TableError::NotFound),
    /// [`TransactionEnded`](TableError::TransactionEnded).
    pub fn delete(&self, pk: &R::Pk) -> Result<R> {
        self.open()?;
        let old = self.get(pk).ok_or_else(|| not_found_pk::<R>(pk))?;
        self.write(pk.clone(), None)?;
        Ok(old)
    }

    /// Changes the row `pk` with `f`; returns what `f` returns.
    ///
    /// # Errors
    ///
    /// [`NotFound`](TableError::NotFound),
    /// [`PkChanged`](TableError::PkChanged) (nothing is written),
    /// [`TransactionEnded`](TableError::TransactionEnded).
    pub fn update_with<T>(&self, pk: &R::Pk, f: impl FnOnce(&mut R) -> T) -> Result<T> {
        self.open()?;
        let mut row = self.get(pk).ok_or_else(|| not_found_pk::<R>(pk))?;
        let output = f(&mut row);
        self.state.table.check_same_pk(pk, &row)?;
        self.write(pk.clone(), Some(row))?;
        Ok(output)
    }

    /// Sets field `F` of the row `pk` to `value`; returns the old value.
    ///
    /// # Errors
    ///
    /// As [`update_with`](Self::update_with).
    pub fn set_field<F: Field<R>>(
        &self,
        pk: &R::Pk,
        field: F,
        value: F::Value,
    ) -> Result<F::Value> {
        let _ = field;
        self.update_with(pk, |row| std::mem::replace(F::get_mut(row), value))
    }

    /// Buffers the new version of row `pk` (`None`: deleted).
    ///
    /// # Errors
    ///
    /// [`Serialize`](TableError::Serialize): nothing is buffered.
    fn write(&self, pk: R::Pk, row: Option<R>) -> Result<()> {
        Overlay::write(&*self.state, pk, row)
    }

    /// The row whose key in the unique index `index` is `key`.
    pub fn get_by<I, Q>(&self, index: I, key: &Q) -> Option<R>
    where
        I: UniqueIndex<R>,
        Q: LookupKey<I::Key> + ?Sized,
    {
        self.find_by(index, key).pop()
    }

    /// Every row whose key in `index` is `key`, in primary-key order.
    pub fn find_by<I, Q>(&self, index: I, key: &Q) -> Vec<R>
    where
        I: Index<R>,
        Q: LookupKey<I::Key> + ?Sized,
    {
        let owned = key.to_key();
        self.read(
            Box::new(move |archived| I::archived_has(archived, &owned)),
            || self.snapshot.find_by(index, key),
            |row| I::key_is(row, key),
            |_| (),
        )
    }

    /// The rows whose key in `index` falls in `range`, in key order (rows
    /// of one key in primary-key order).
    pub fn range_by<I, B>(&self, index: I, range: B) -> Vec<R>
    where
        I: OrderedIndex<R>,
        B: RangeBounds<I::Key>,
    {
        let bounds = owned(&range);
        let kept = bounds.clone();
        self.read(
            Box::new(move |archived| kept.contains(&I::key_of_archived(archived))),
            || self.snapshot.range_by(index, bounds.clone()).collect(),
            |row| bounds.contains(&I::key(row)),
            |row| I::key(row),
        )
    }

    /// The rows whose key in the composite index `index` starts with
    /// `prefix`, in key order.
    pub fn prefix_by<I, X>(&self, index: I, prefix: X) -> Vec<R>
    where
        I: IndexPrefix<R, X>,
        X: Clone + Send + Sync + 'static,
    {
        let kept = prefix.clone();
        let starts = move |key: &I::Key| I::cmp_prefix(&kept, key).is_eq();
        let check = starts.clone();
        self.read(
            Box::new(move |archived| check(&I::key_of_archived(archived))),
            || self.snapshot.prefix_by(index, prefix.clone()).collect(),
            |row| starts(&I::key(row)),
            |row| I::key(row),
        )
    }

    /// The rows whose composite primary key starts with `prefix`, in
    /// primary-key order (see [`WorkTable::prefix`]).
    pub fn prefix<X>(&self, prefix: X) -> Vec<R>
    where
        R: PkPrefix<X>,
        X: Clone + Send + Sync + 'static,
    {
        let kept = prefix.clone();
        let starts = move |pk: &R::Pk| R::cmp_prefix(&kept, pk).is_eq();
        let check = starts.clone();
        self.read(
            Box::new(move |archived| check(&R::pk_of_archived(archived))),
            || self.snapshot.prefix(prefix.clone()).collect(),
            |row| starts(&row.pk()),
            |_| (),
        )
    }

    /// The rows whose primary key falls in `range`, in primary-key order.
    pub fn range<B: RangeBounds<R::Pk>>(&self, range: B) -> Vec<R> {
        let bounds = owned(&range);
        let kept = bounds.clone();
        self.read(
            Box::new(move |archived| kept.contains(&R::pk_of_archived(archived))),
            || self.snapshot.range(bounds.clone()).collect(),
            |row| bounds.contains(&row.pk()),
            |_| (),
        )
    }

    /// A query over the table as the transaction sees it (see
    /// [`Query`](crate::Query)): rows at the read point with the
    /// transaction's writes; its [`update_with`](crate::Query::update_with)
    /// and [`delete`](crate::Query::delete) write into the transaction.
    /// For validation it counts as a read of every row of the table: any
    /// commit to the table since the transaction began is a conflict (use
    /// the look-ups above for a narrower read).
    pub fn query(&self) -> crate::Query<'db, R> {
        self.sets().predicates.push(Box::new(|_| true));
        crate::Query::in_transaction(
            self.state.table,
            self.snapshot.point(),
            Arc::clone(&self.state) as Arc<dyn Overlay<R> + 'db>,
        )
    }

    /// Every row, in primary-key order.
    pub fn iter(&self) -> Vec<R> {
        self.read(
            Box::new(|_| true),
            || self.snapshot.iter().collect(),
            |_| true,
            |_| (),
        )
    }

    /// A look-up of several rows: records `predicate`, reads `at_point`
    /// (the rows at the read point), and overlays the buffered writes that
    /// `selects`, sorted by `key` and primary key.
    fn read<K: Ord>(
        &self,
        predicate: Predicate<R>,
        at_point: impl FnOnce() -> Vec<R>,
        selects: impl Fn(&R) -> bool,
        key: impl Fn(&R) -> K,
    ) -> Vec<R> {
        self.sets().predicates.push(predicate);
        let rows = at_point();
        let sets = self.sets();
        if sets.writes.is_empty() {
            return rows;
        }
        let mut rows: Vec<R> = rows
            .into_iter()
            .filter(|row| !sets.writes.contains_key(&row.pk()))
            .collect();
        rows.extend(
            sets.writes
                .values()
                .flatten()
                .filter(|written| selects(&written.row))
                .map(|written| written.image.get()),
        );
        rows.sort_by_cached_key(|row| (key(row), row.pk()));
        rows
    }
}

fn owned<K: Clone>(range: &impl RangeBounds<K>) -> (Bound<K>, Bound<K>) {
    (range.start_bound().cloned(), range.end_bound().cloned())
}

impl<R: Row> State<'_, R> {
    fn sets(&self) -> MutexGuard<'_, Sets<R>> {
        self.sets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn prepared(&self) -> MutexGuard<'_, Vec<Prepared<R>>> {
        self.prepared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<R: Row> Overlay<R> for State<'_, R> {
    fn written(&self) -> Vec<(R::Pk, Option<RowImage<R>>)> {
        self.sets()
            .writes
            .iter()
            .map(|(pk, written)| (pk.clone(), written.as_ref().map(|w| w.image.clone())))
            .collect()
    }

    fn write(&self, pk: R::Pk, row: Option<R>) -> Result<()> {
        if self.ended.load(Ordering::Acquire) {
            return Err(TableError::TransactionEnded);
        }
        let written = row.map(Written::new).transpose()?;
        self.sets().writes.insert(pk, written);
        Ok(())
    }
}

impl<R: Row> Part for State<'_, R> {
    fn name(&self) -> &'static str {
        R::TABLE_NAME
    }

    fn writes(&self) -> bool {
        !self.sets().writes.is_empty()
    }

    fn lock(&self) -> Locking<'_> {
        let pks: Vec<R::Pk> = self.sets().writes.keys().cloned().collect();
        Box::pin(async move {
            let locks = self.table.lock_for_commit(pks).await?;
            Ok(Box::new(locks) as Box<dyn Send + '_>)
        })
    }

    fn conflicts(&self, at: u64) -> bool {
        let sets = self.sets();
        if sets.points.is_empty() && sets.predicates.is_empty() {
            return false;
        }
        self.table.history().any_after(at, |change| {
            if sets.points.contains(change.pk()) {
                return true;
            }
            let (before, after) = change.images();
            [before, after].into_iter().flatten().any(|image| {
                let archived = image.archived();
                sets.predicates.iter().any(|selects| selects(archived))
            })
        })
    }

    fn prepare(&self) -> Result<usize> {
        let writes = std::mem::take(&mut self.sets().writes);
        let prepared = self.table.prepare_changes(writes)?;
        let count = prepared.len();
        *self.prepared() = prepared;
        Ok(count)
    }

    fn unprepare(&self) {
        let prepared = std::mem::take(&mut *self.prepared());
        self.table.unprepare(prepared);
    }

    fn number(&self, first: u64, commit: u64) -> u64 {
        self.table
            .number_changes(&mut self.prepared(), first, commit)
    }

    fn batch(&self, out: &mut Vec<CommitChange>) {
        self.table.batch_changes(&self.prepared(), out);
    }

    fn publish(&self, lock: &mut CommitLock<'_, Tables>) {
        self.table.publish_changes(lock, &mut self.prepared());
    }

    fn finish(&self) {
        let prepared = std::mem::take(&mut *self.prepared());
        self.table.finish_changes(prepared);
    }
}
