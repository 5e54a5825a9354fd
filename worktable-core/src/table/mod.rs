//! [`WorkTable`]: rows in pages, a primary index, secondary indexes and row
//! locks, kept in step by the write protocol in [`write`].
//!
//! Depends on: `page`, `index`, `lock`, `events`, `row`, `plain`, `error`,
//! `observe`.

mod batch;
mod checkpoint;
mod field;
mod guard;
mod load;
mod prefix;
mod read;
mod restore;
mod snapshot;
mod stats;
mod txn;
mod vacuum;
mod write;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

pub use checkpoint::{PageCapture, capture_changed_pages, mark_pages_changed, wait_for_commits};
pub use guard::RowGuard;
pub use restore::{RestoreError, TableRestore};
pub use snapshot::ReadPoint;
pub use snapshot::TableSnapshot;
pub use stats::{IndexStats, TableStats};
pub(crate) use txn::{Prepared, Written};
pub use vacuum::{VacuumHandle, VacuumPolicy, VacuumReport};
pub(crate) use write::not_found_pk;

use crate::error::IntegrityError;
use crate::events::order::CommitOrder;
use crate::events::{CommitHook, EventHub, Subscription, Watch};
use crate::index::PrimaryIndex;
use crate::lock::LockMap;
use crate::page::RowStore;
use crate::row::{IndexSet, Row};

/// A typed, concurrent, in-memory table of rows of type `R`.
///
/// Rows are stored as rkyv archives in 64 KiB pages; a primary index (hash
/// map for point look-ups, sorted nodes for order) and the secondary indexes
/// declared on `R` lead to them. Reads are synchronous and never wait for a
/// row lock or a write in progress (at most for one hash shard or index node
/// while a writer changes it); writes are `async` because they take a
/// per-row lock.
///
/// ```
/// use worktable_core::prelude::*;
///
/// #[derive(Table, Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct User {
///     #[pk(autoincrement)]
///     id: u64,
///     #[index(unique)]
///     email: String,
///     #[index]
///     team: u32,
/// }
///
/// futures::executor::block_on(async {
///     let users = WorkTable::<User>::new();
///     let id = users.insert(User { id: 0, email: "ada@example.com".into(), team: 1 }).await?;
///     assert_eq!(users.get(&id).unwrap().email, "ada@example.com");
///     assert_eq!(users.get_by(User::EMAIL, "ada@example.com").unwrap().id, id);
///     assert_eq!(users.find_by(User::TEAM, &1).len(), 1);
///     Ok::<(), worktable_core::TableError>(())
/// })?;
/// # Ok::<(), worktable_core::TableError>(())
/// ```
pub struct WorkTable<R: Row> {
    /// Row versions.
    store: RowStore<R>,
    /// Primary key → row cell.
    primary: PrimaryIndex<R::Pk>,
    /// Secondary indexes (generated per row type).
    indexes: R::Indexes,
    /// Per-row locks, keyed by primary key; every write holds the lock of each
    /// row it changes.
    locks: LockMap<R::Pk>,
    /// Assigns keys on insert.
    pk_source: R::PkSource,
    /// Number of committed rows.
    len: AtomicUsize,
    /// Sequence numbers, subscribers and the commit hook; shared with the
    /// subscriptions, which outlive a borrow of the table.
    events: Arc<EventHub<R>>,
    /// Vacuum moves rows under a read lock; a checkpoint's capture of the
    /// changed pages holds the write lock (see [`checkpoint`]).
    relocations: RwLock<()>,
}

impl<R: Row> AsRef<WorkTable<R>> for WorkTable<R> {
    fn as_ref(&self) -> &Self {
        self
    }
}

impl<R: Row> Default for WorkTable<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Row> Drop for WorkTable<R> {
    fn drop(&mut self) {
        // Subscriptions end once they have handed out what they hold.
        self.events.close();
    }
}

impl<R: Row> fmt::Debug for WorkTable<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkTable")
            .field("name", &R::TABLE_NAME)
            .field("rows", &self.len())
            .field("pages", &self.store.page_count())
            .finish()
    }
}

impl<R: Row> WorkTable<R> {
    /// An empty table.
    pub fn new() -> Self {
        Self::with_hook_option(None, 0)
    }

    /// An empty table whose every change is handed to `hook` as it commits,
    /// in sequence order, before the write returns (see [`CommitHook`]).
    /// This is how `worktable-persist` logs a table.
    pub fn with_commit_hook(hook: Arc<dyn CommitHook<R>>) -> Self {
        Self::with_hook_option(Some(hook), 0)
    }

    /// An empty table whose first change gets sequence number
    /// `last_seq + 1` (at most 2⁵¹ − 1).
    pub(super) fn with_hook_option(hook: Option<Arc<dyn CommitHook<R>>>, last_seq: u64) -> Self {
        Self::with_events(EventHub::own(last_seq, hook))
    }

    /// An empty table of a database: its changes are numbered in `order`,
    /// which the database's other tables share.
    pub(crate) fn in_order(order: &Arc<CommitOrder>) -> Self {
        Self::with_events(EventHub::shared(order))
    }

    fn with_events(events: EventHub<R>) -> Self {
        Self {
            store: RowStore::new(),
            primary: PrimaryIndex::with_capacity(0, R::pk_prefix(), R::ORDERED_PK),
            indexes: R::Indexes::default(),
            locks: LockMap::new(R::TABLE_NAME),
            pk_source: R::PkSource::default(),
            len: AtomicUsize::new(0),
            events: Arc::new(events),
            relocations: RwLock::new(()),
        }
    }

    /// A stream of every change committed from now on, in sequence order.
    /// See [`Subscription`] and [`subscribe_to`](Self::subscribe_to).
    ///
    /// Up to [`DEFAULT_CAPACITY`](crate::events::DEFAULT_CAPACITY) (65,536)
    /// events wait for the subscriber; past that it reads one
    /// [`Lagged`](crate::Lagged) counting the events it missed. A burst of
    /// at most that many changes between two reads never lags, however the
    /// reader keeps pace. For larger bursts, or to hold less memory, choose
    /// the capacity: `subscribe_to(Watch::all().capacity(n))`.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use worktable_core::ChangeKind;
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     price: i64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, price: 100 }).await?;
    ///     let mut changes = orders.subscribe();
    ///     orders.update_with(&1, |order| order.price = 7).await?;
    ///     let event = changes.next().await.unwrap().unwrap();
    ///     assert_eq!((event.kind(), *event.pk()), (ChangeKind::Update, 1));
    ///     assert_eq!(event.before().unwrap().get().price, 100);
    ///     assert_eq!(event.after().unwrap().archived().price, 7);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn subscribe(&self) -> Subscription<R> {
        Subscription::start(&self.events, Watch::all()).0
    }

    /// A stream of the changes, committed from now on, to the rows `watch`
    /// selects: one key, a key range, or one index key. A row that moves
    /// into or out of the watched rows comes as an insert or a delete.
    /// [`Watch::capacity`] sets how many events may wait before the
    /// subscriber lags (default
    /// [`DEFAULT_CAPACITY`](crate::events::DEFAULT_CAPACITY), 65,536);
    /// only the events the watch selects count.
    ///
    /// ```
    /// use worktable_core::{ChangeKind, Watch};
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     #[index]
    ///     account: u32,
    ///     price: i64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     orders.insert(Order { id: 1, account: 7, price: 100 }).await?;
    ///     orders.insert(Order { id: 2, account: 8, price: 100 }).await?;
    ///     let mut account_7 = orders.subscribe_to(Watch::index(Order::ACCOUNT, 7));
    ///     orders.update_with(&2, |order| order.price = 1).await?; // account 8: not seen
    ///     orders.update_with(&1, |order| order.account = 9).await?; // leaves account 7
    ///     let event = account_7.try_next().unwrap().unwrap();
    ///     assert_eq!((event.kind(), event.moved()), (ChangeKind::Delete, true));
    ///     assert!(account_7.try_next().is_none());
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn subscribe_to(&self, watch: Watch<R>) -> Subscription<R> {
        Subscription::start(&self.events, watch).0
    }

    /// [`subscribe_to`](Self::subscribe_to), and the sequence number of the
    /// last change committed before the subscription started: it receives
    /// exactly the watched changes numbered after that one, so a consumer
    /// that read the table up to that number misses nothing and sees
    /// nothing twice.
    ///
    /// ```
    /// use worktable_core::Watch;
    /// use worktable_core::prelude::*;
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Order {
    ///     #[pk]
    ///     id: u64,
    ///     price: i64,
    /// }
    ///
    /// futures::executor::block_on(async {
    ///     let orders = WorkTable::<Order>::new();
    ///     // Three inserts: changes 1 to 3.
    ///     orders.insert(Order { id: 1, price: 100 }).await?;
    ///     orders.insert(Order { id: 2, price: 100 }).await?;
    ///     orders.insert(Order { id: 3, price: 100 }).await?;
    ///     let (mut changes, since) = orders.subscribe_to_with_seq(Watch::all());
    ///     assert_eq!(since, 3);
    ///     orders.update_with(&2, |order| order.price = 7).await?;
    ///     assert_eq!(changes.try_next().unwrap().unwrap().seq(), since + 1);
    ///     Ok::<(), TableError>(())
    /// })?;
    /// # Ok::<(), TableError>(())
    /// ```
    pub fn subscribe_to_with_seq(&self, watch: Watch<R>) -> (Subscription<R>, u64) {
        Subscription::start(&self.events, watch)
    }

    /// The sequence number of the last committed change (0 before any; a
    /// table restored by `worktable-persist` continues its log's numbering).
    /// The tables of a [`Database`](crate::Database) share one numbering:
    /// this is then the number of the last change to any of them.
    pub fn last_seq(&self) -> u64 {
        self.events.last_seq()
    }

    /// The table's name (`Row::TABLE_NAME`).
    pub fn name(&self) -> &'static str {
        R::TABLE_NAME
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The secondary indexes.
    pub(crate) fn indexes(&self) -> &R::Indexes {
        &self.indexes
    }

    /// The primary keys in `range`, in order (sorted when asked, for a
    /// `#[pk(hash)]` key).
    pub(crate) fn pk_keys(
        &self,
        range: &impl std::ops::RangeBounds<R::Pk>,
    ) -> crate::index::PkKeys<'_, R::Pk> {
        self.primary.keys(range)
    }

    /// Checks that the primary index, every secondary index and the row
    /// count agree: every index entry leads to a live row with the entry's
    /// key, and every row has exactly one entry in each index (one per
    /// distinct element in an `#[index(each)]` one).
    ///
    /// Meant for tests and diagnostics on a table no writer is changing; with
    /// concurrent writers it can report a write in progress.
    pub fn check_integrity(&self) -> Result<(), IntegrityError> {
        let fail = |detail: String| IntegrityError {
            table: R::TABLE_NAME,
            detail,
        };
        let keys = self.primary.verify().map_err(fail)?;
        let count = <R::Indexes as IndexSet<R>>::COUNT;
        // The entries each index should have: one per row, or per distinct
        // element for `#[index(each)]`.
        let mut expected = vec![0; count];
        let mut rows = 0;
        for row in self.iter() {
            rows += 1;
            for (i, expected) in expected.iter_mut().enumerate() {
                *expected += self.indexes.index(i).entries_for(&row);
            }
        }
        if rows != keys {
            return Err(fail(format!("{keys} primary keys but {rows} live rows")));
        }
        if self.len() != rows {
            return Err(fail(format!(
                "len() is {} but {rows} rows are live",
                self.len()
            )));
        }
        let read = |pk: &R::Pk| self.get(pk);
        for (i, &expected) in expected.iter().enumerate() {
            let index = self.indexes.index(i);
            let entries = index.verify(&read).map_err(fail)?;
            if entries != expected {
                return Err(fail(format!(
                    "index `{}` has {entries} entries for {rows} rows, which have {expected} keys",
                    index.name()
                )));
            }
        }
        Ok(())
    }
}
