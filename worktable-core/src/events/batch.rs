//! Whole commits of a database, as its commit hook receives them: every
//! change of one transaction (or the one change of a single write) in one
//! [`CommitBatch`], whatever the tables' row types.
//!
//! Depends on: `events::event`, `events::hub` (the hook's result types),
//! `row`.

use std::any::Any;
use std::fmt;

use super::event::{ChangeEvent, ChangeKind, EventRecord};
use super::hub::{Durable, Refusal};
use crate::row::Row;

/// Receives every commit of a database, in commit order, at its commit
/// point — all the changes of a transaction at once, so that a log can
/// write them as one unit — and may refuse it. Install one with the
/// `with_commit_hook` constructor `#[derive(Database)]` generates.
///
/// [`on_commit`](Self::on_commit) runs under the database's commit lock,
/// so it must be quick (e.g. append to an in-memory log buffer). The
/// [`Durable`] future it may return is awaited by the commit before it
/// returns, outside every lock, so concurrent commits can share one
/// flush.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use worktable_core::prelude::*;
/// use worktable_core::events::{CommitBatch, DatabaseHook, Durable, Refusal};
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Account {
///     #[pk]
///     id: u32,
///     balance: i64,
/// }
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Entry {
///     #[pk]
///     id: u64,
///     account: u32,
///     amount: i64,
/// }
///
/// #[derive(Database)]
/// struct Bank {
///     accounts: WorkTable<Account>,
///     ledger: WorkTable<Entry>,
/// }
///
/// /// Keeps (commit number, tables written) of every commit.
/// #[derive(Default)]
/// struct Log(Mutex<Vec<(u64, Vec<&'static str>)>>);
///
/// impl DatabaseHook for Log {
///     fn on_commit(&self, batch: &CommitBatch) -> Result<Option<Durable>, Refusal> {
///         let tables = batch.changes().iter().map(|change| change.table_name()).collect();
///         self.0.lock().unwrap().push((batch.number(), tables));
///         Ok(None)
///     }
/// }
///
/// futures::executor::block_on(async {
/// let log = Arc::new(Log::default());
/// let bank = Bank::with_commit_hook(log.clone());
/// bank.accounts.insert(Account { id: 1, balance: 100 }).await?;
/// let commit = bank
///     .transaction(|tx| async move {
///         tx.accounts.update_with(&1, |account| account.balance -= 30)?;
///         tx.ledger.insert(Entry { id: 1, account: 1, amount: -30 })?;
///         Ok::<_, TableError>(())
///     })
///     .await;
/// assert!(commit.is_ok());
/// let log = log.0.lock().unwrap();
/// // The single insert, then the transaction as one batch.
/// assert_eq!(*log, [(1, vec!["account"]), (3, vec!["account", "entry"])]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// })
/// .unwrap();
/// ```
pub trait DatabaseHook: Send + Sync + 'static {
    /// Called once per commit, in commit order, with no gaps in the
    /// sequence numbers, just before the commit's changes become visible
    /// to readers and subscribers.
    ///
    /// `Ok` lets the commit happen, with a future the committing call then
    /// waits for (`None`: nothing to wait for). `Err` refuses it: none of
    /// its changes is made, their sequence numbers are not used, and the
    /// write or the transaction fails with
    /// [`TableError::WriteRefused`](crate::TableError::WriteRefused).
    ///
    /// # Errors
    ///
    /// The hook's reason for refusing the commit.
    fn on_commit(&self, batch: &CommitBatch) -> std::result::Result<Option<Durable>, Refusal>;
}

/// One commit of a database: its number and its changes, in sequence
/// order (a transaction's; a single write's one change).
#[derive(Debug)]
pub struct CommitBatch {
    number: u64,
    changes: Vec<CommitChange>,
}

impl CommitBatch {
    /// A batch of `changes`, numbered in order up to `number`.
    pub(crate) fn new(number: u64, changes: Vec<CommitChange>) -> Self {
        debug_assert_eq!(changes.last().map(CommitChange::seq), Some(number));
        Self { number, changes }
    }

    /// The commit number: the sequence number of its last change, which
    /// every [`ChangeEvent::commit`] of the commit returns.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The changes, numbered consecutively up to [`number`](Self::number).
    pub fn changes(&self) -> &[CommitChange] {
        &self.changes
    }
}

/// One change of a [`CommitBatch`]: which table it went to, and the
/// change, typed once the table's row type is named.
pub struct CommitChange {
    table: usize,
    event: Box<dyn Erased>,
}

impl fmt::Debug for CommitChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommitChange")
            .field("table", &self.table)
            .field("table_name", &self.table_name())
            .field("seq", &self.seq())
            .field("kind", &self.kind())
            .finish()
    }
}

impl CommitChange {
    /// The change `event` to the table at position `table` of its
    /// database.
    pub(crate) fn new<R: Row>(table: usize, event: ChangeEvent<R>) -> Self {
        Self {
            table,
            event: Box::new(event),
        }
    }

    /// The table's position among the database's fields, in declaration
    /// order, from 0.
    pub fn table(&self) -> usize {
        self.table
    }

    /// The table's name (its row type's [`Row::TABLE_NAME`]).
    pub fn table_name(&self) -> &'static str {
        self.event.table_name()
    }

    /// The change's sequence number.
    pub fn seq(&self) -> u64 {
        self.event.seq()
    }

    /// What the change did.
    pub fn kind(&self) -> ChangeKind {
        self.event.kind()
    }

    /// The change as a record rkyv can serialize (see
    /// [`ChangeEvent::to_record`]); the table is [`table`](Self::table).
    pub fn to_record(&self) -> EventRecord {
        self.event.record()
    }

    /// The archived bytes of the row before the change (an update's or a
    /// delete's; `None` for an insert), as a log stores them.
    pub fn before_bytes(&self) -> Option<&[u8]> {
        self.event.images().0
    }

    /// The archived bytes of the row after the change (an insert's or an
    /// update's; `None` for a delete), as a log stores them.
    pub fn after_bytes(&self) -> Option<&[u8]> {
        self.event.images().1
    }

    /// The typed change, if the table's rows are `R`.
    pub fn event<R: Row>(&self) -> Option<&ChangeEvent<R>> {
        self.event.as_any().downcast_ref()
    }
}

/// A [`ChangeEvent`] of any row type.
trait Erased: Send + Sync {
    fn table_name(&self) -> &'static str;
    fn seq(&self) -> u64;
    fn kind(&self) -> ChangeKind;
    fn record(&self) -> EventRecord;
    fn images(&self) -> (Option<&[u8]>, Option<&[u8]>);
    fn as_any(&self) -> &dyn Any;
}

impl<R: Row> Erased for ChangeEvent<R> {
    fn table_name(&self) -> &'static str {
        R::TABLE_NAME
    }

    fn seq(&self) -> u64 {
        ChangeEvent::seq(self)
    }

    fn kind(&self) -> ChangeKind {
        self.committed_kind()
    }

    fn record(&self) -> EventRecord {
        self.to_record()
    }

    fn images(&self) -> (Option<&[u8]>, Option<&[u8]>) {
        let (before, after) = ChangeEvent::images(self);
        (
            before.map(|image| image.bytes()),
            after.map(|image| image.bytes()),
        )
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
