//! Transactions: atomic, serializable changes across the tables of a
//! database.
//!
//! # Protocol (optimistic, validated under the commit lock)
//!
//! 1. **Begin.** The transaction registers a read point `S` with the
//!    database's commit order (as a snapshot does). Its reads see the
//!    database at `S`, overlaid with its own buffered writes. Each read is
//!    recorded: a point read by its key (whether it found a row or not;
//!    every write reads its key first), a look-up of several rows (an index
//!    key, a range, a prefix, every row) as a predicate on a row version.
//! 2. **Commit.**
//!    1. Take the row locks of every written row, table by table in the
//!       database's field order, each table's in primary-key order — the
//!       order every multi-row write takes them in, so no two commits wait
//!       for each other in a cycle. This waits (asynchronously) for single
//!       writes and `RowGuard`s on those rows.
//!    2. **Prepare** each table's changes against the rows' current
//!       versions (stage the new versions, add their index entries; unique
//!       keys are checked here, atomically with every other writer, which
//!       all add entries under the same rules), as a single write does
//!       before its commit point: nothing prepared is visible. A duplicate
//!       undoes every table's preparation; it is reported as a conflict if
//!       validation (below) fails too, so that a transaction that checked a
//!       key was free is run again rather than failed.
//!    3. Take the database's commit lock. While it is held, nothing else
//!       commits: every commit of the database takes this lock while a
//!       read point is registered, and ours is.
//!    4. **Validate.** Every change committed after `S` is in its table's
//!       history (`events::history`: the read point made every commit
//!       record itself). The transaction conflicts if one of them changed
//!       a key it read, or has a version before or after the change that
//!       one of its predicates selects: then what it read is not what it
//!       would read now. It fails with [`TableError::Conflict`], having
//!       written nothing (the preparation is undone).
//!    5. **Publish**: each change takes the next sequence number, records
//!       itself in the history, becomes visible and goes to subscribers —
//!       all under the commit lock, so no snapshot, no other transaction
//!       and no subscriber sees part of it. The changes share one commit
//!       number, the sequence number of the last. Readers without a read
//!       point keep seeing the rows as they were (from the history) until
//!       the transaction publishes that number, after its last change.
//!    6. Release the commit lock; remove the freed index entries and retire
//!       the replaced versions; release the row locks.
//!
//! **Why committed transactions are serializable.** Commits are totally
//! ordered by the commit lock, and commit numbers follow that order. A
//! transaction `T` committing at `c` validated, under the lock, that no
//! change committed between `S` and its validation touched anything it
//! read — every such change is in the history, and a change that could
//! alter a recorded read touches its key or has a version its predicate
//! selects. So every read of `T` returns at the moment of its commit what it
//! returned at `S`, and nothing else commits between its validation and
//! its publication: `T` behaves as if it ran alone, at once, at its commit
//! point. Reads that found nothing are recorded like the others (a key
//! read as absent, a look-up that returned no row), so two transactions
//! that each checked "no row with this email" and inserted one cannot both
//! commit: the second finds the first's insert in the history (and its
//! unique entry at prepare). A read-only transaction read one consistent
//! state, at `S`: it is serialized there and commits without validation.
//! A single write is a transaction of one row: it takes its row lock and
//! commits under the same commit lock while a transaction is open.
//!
//! **What a failed or abandoned transaction leaves.** Writes are buffered
//! until commit, so dropping a transaction (an `Err` from the closure, a
//! panic, a dropped future) leaves nothing: its read point is released
//! with the last handle. A commit future dropped while it waits for row
//! locks releases the ones it took. A commit that fails (conflict,
//! duplicate key) changes nothing and releases everything.
//!
//! Depends on: `table` (snapshots, the phases of a transaction's changes),
//! `events` (the commit order, the history), `error`, `observe`, `row`.

mod table;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

pub use table::TxTable;

use crate::error::{Result, TableError};
use crate::events::order::{CommitLock, CommitOrder, Tables};
use crate::events::{CommitBatch, CommitChange};
use crate::observe;
use crate::row::Row;
use crate::table::{ReadPoint, WorkTable};

/// How a database's `transaction` runs its closure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxOptions {
    max_attempts: u32,
}

impl Default for TxOptions {
    /// At most 10 attempts.
    fn default() -> Self {
        Self { max_attempts: 10 }
    }
}

impl TxOptions {
    /// Runs the closure at most `attempts` times (at least once) before
    /// giving up with [`TxError::Conflict`].
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }
}

/// Why a database's `transaction` did not commit. In every case nothing
/// was written.
#[derive(Debug)]
pub enum TxError<E> {
    /// The closure returned `Err`: the transaction was dropped.
    Aborted(E),
    /// Every attempt conflicted with commits made while it ran.
    Conflict {
        /// How many times the closure ran.
        attempts: u32,
    },
    /// The commit failed for another reason, e.g. a duplicate unique key
    /// ([`TableError::DuplicateKey`]); not retried.
    Table(TableError),
}

impl<E: fmt::Display> fmt::Display for TxError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Aborted(error) => write!(f, "the transaction was aborted: {error}"),
            Self::Conflict { attempts } => write!(
                f,
                "the transaction conflicted with other commits on each of its {attempts} attempts; nothing was written"
            ),
            Self::Table(error) => write!(f, "the transaction could not commit: {error}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for TxError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Aborted(error) => Some(error),
            Self::Conflict { .. } => None,
            Self::Table(error) => Some(error),
        }
    }
}

/// The row locks one table's part took, held until they are dropped.
type Locks<'a> = Box<dyn Send + 'a>;

/// Taking them.
type Locking<'a> = Pin<Box<dyn Future<Output = Result<Locks<'a>>> + Send + 'a>>;

/// One table's part of a transaction, as the commit drives it.
trait Part: Send + Sync {
    fn name(&self) -> &'static str;
    fn writes(&self) -> bool;
    /// Takes the row locks of the written rows, in primary-key order.
    fn lock(&self) -> Locking<'_>;
    /// Whether a change numbered above `at` touched what the part read.
    fn conflicts(&self, at: u64) -> bool;
    fn prepare(&self) -> Result<usize>;
    fn unprepare(&self);
    /// Numbers the prepared changes from `first` on, as changes of the
    /// commit `commit`; returns the next number.
    fn number(&self, first: u64, commit: u64) -> u64;
    /// Adds the numbered changes to the batch for the database's hook.
    fn batch(&self, out: &mut Vec<CommitChange>);
    fn publish(&self, lock: &mut CommitLock<'_, Tables>);
    fn finish(&self);
}

/// A transaction of a database: what the typed view `#[derive(Database)]`
/// generates (`BankTx` for `Bank`) is built on. Cloning shares it.
#[derive(Clone)]
pub struct Transaction<'db> {
    inner: Arc<Inner<'db>>,
}

struct Inner<'db> {
    order: &'db CommitOrder<Tables>,
    point: Arc<ReadPoint<'db>>,
    parts: Mutex<Vec<Arc<dyn Part + 'db>>>,
    /// Set once the commit starts: no write is taken after it.
    ended: Arc<AtomicBool>,
}

impl fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("read_point", &self.read_point())
            .field("ended", &self.inner.ended.load(Ordering::Acquire))
            .finish()
    }
}

impl<'db> Transaction<'db> {
    /// A transaction over the database `first` belongs to, reading at the
    /// last published commit.
    ///
    /// # Panics
    ///
    /// If `first` is not a table of a database.
    #[doc(hidden)]
    pub fn begin<R: Row>(first: &'db WorkTable<R>) -> Self {
        let order = first
            .database_order()
            .expect("transactions run on the tables of a database");
        Self {
            inner: Arc::new(Inner {
                order,
                point: ReadPoint::register(first.read_points()),
                parts: Mutex::new(Vec::new()),
                ended: Arc::new(AtomicBool::new(false)),
            }),
        }
    }

    /// The commit the transaction reads at: it sees every change numbered
    /// up to it, and its own writes.
    pub fn read_point(&self) -> u64 {
        self.inner.point.commit()
    }

    fn register(&self, part: Arc<dyn Part + 'db>) {
        self.inner
            .parts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(part);
    }

    fn ended(&self) -> bool {
        self.inner.ended.load(Ordering::Acquire)
    }

    /// Commits: see the module docs. Returns the commit number; for a
    /// transaction that changed nothing (it only read, or its writes
    /// cancelled out), its read point, where it is serialized.
    ///
    /// # Errors
    ///
    /// [`TableError::Conflict`] (run it again),
    /// [`TableError::DuplicateKey`], [`TableError::RowTooLarge`],
    /// [`TableError::Serialize`], [`TableError::TableFull`],
    /// [`TableError::LockedBySameTask`] (a `RowGuard` of this task holds a
    /// written row), [`TableError::TransactionEnded`] (committed before),
    /// [`TableError::WriteRefused`] (the database's commit hook refused
    /// it): nothing was written. [`TableError::Durability`]: the commit was
    /// made and is visible, but the hook's durability future failed.
    pub async fn commit(&self) -> Result<u64> {
        if self.inner.ended.swap(true, Ordering::AcqRel) {
            return Err(TableError::TransactionEnded);
        }
        let parts = self
            .inner
            .parts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let at = self.read_point();
        if !parts.iter().any(|part| part.writes()) {
            return Ok(at);
        }
        let mut locks = Vec::new();
        for part in parts.iter().filter(|part| part.writes()) {
            locks.push(part.lock().await?);
        }
        let first_written = parts
            .iter()
            .find(|part| part.writes())
            .map_or("", |part| part.name());
        // Under the rows' locks, as a single write before its commit
        // point: nothing prepared is visible yet.
        let mut changes = 0;
        for (i, part) in parts.iter().enumerate() {
            match part.prepare() {
                Ok(count) => changes += count,
                Err(error) => {
                    parts[..i].iter().rev().for_each(|part| part.unprepare());
                    // A key taken since the transaction began is a
                    // conflict (run it again, it sees the key taken); one
                    // taken before, a duplicate.
                    let _lock = self.inner.order.lock();
                    if let Some(part) = parts.iter().find(|part| part.conflicts(at)) {
                        observe::tx_conflict(part.name(), at);
                        return Err(TableError::Conflict { table: part.name() });
                    }
                    return Err(error);
                }
            }
        }
        let (commit, durable) = {
            let mut lock = self.inner.order.lock();
            if let Some(part) = parts.iter().find(|part| part.conflicts(at)) {
                drop(lock);
                parts.iter().rev().for_each(|part| part.unprepare());
                observe::tx_conflict(part.name(), at);
                return Err(TableError::Conflict { table: part.name() });
            }
            if changes == 0 {
                // Its writes cancelled out (an insert deleted again): it
                // read what it would have read at its read point.
                return Ok(at);
            }
            let last = self.inner.order.numbers().last_seq();
            let commit = last + changes as u64;
            let mut next = last + 1;
            for part in &parts {
                next = part.number(next, commit);
            }
            debug_assert_eq!(next, commit + 1);
            let durable = match lock.hook().cloned() {
                None => None,
                Some(hook) => {
                    let mut batch = Vec::with_capacity(changes);
                    parts.iter().for_each(|part| part.batch(&mut batch));
                    match hook.on_commit(&CommitBatch::new(commit, batch)) {
                        Ok(durable) => durable,
                        Err(source) => {
                            drop(lock);
                            parts.iter().rev().for_each(|part| part.unprepare());
                            return Err(TableError::WriteRefused {
                                table: first_written,
                                source,
                            });
                        }
                    }
                }
            };
            for part in &parts {
                part.publish(&mut lock);
            }
            self.inner.order.numbers().publish(commit);
            (commit, durable)
        };
        for part in &parts {
            part.finish();
        }
        drop(locks);
        if let Some(durable) = durable {
            durable.await.map_err(|source| TableError::Durability {
                table: first_written,
                source,
            })?;
        }
        Ok(commit)
    }
}

/// A typed view of a transaction (the struct `#[derive(Database)]`
/// generates), as [`run`] drives it.
pub trait TxView<'db>: Clone {
    /// The transaction.
    fn transaction(&self) -> &Transaction<'db>;
}

/// Runs `body` in a new transaction from `begin` and commits it; on a
/// conflict, runs it again in a new transaction, at most
/// `options.max_attempts` times in all.
///
/// # Errors
///
/// See [`TxError`].
pub async fn run<'db, V, T, E, F, Fut>(
    options: TxOptions,
    begin: impl Fn() -> V,
    mut body: F,
) -> std::result::Result<T, TxError<E>>
where
    V: TxView<'db>,
    F: FnMut(V) -> Fut,
    Fut: Future<Output = std::result::Result<T, E>>,
{
    for attempt in 1..=options.max_attempts {
        let view = begin();
        let output = body(view.clone()).await.map_err(TxError::Aborted)?;
        match view.transaction().commit().await {
            Ok(_) => return Ok(output),
            Err(TableError::Conflict { table }) if attempt < options.max_attempts => {
                observe::tx_retry(table, attempt);
                YieldNow(false).await;
            }
            Err(TableError::Conflict { table }) => {
                observe::tx_gave_up(table, attempt);
                break;
            }
            Err(error) => return Err(TxError::Table(error)),
        }
    }
    Err(TxError::Conflict {
        attempts: options.max_attempts,
    })
}

/// Gives other tasks on the runtime a turn before a retry.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
