//! The contract between this crate and `worktable-persist`: everything the
//! persistence crate uses of a table beyond the public API, and what it may
//! rely on. Hidden from the docs and not a stable API: the two crates are
//! released together, and a change here is a change of both.
//!
//! Depends on: `table` (capture, restore), `page` ([`PageId`]), `events`
//! (sequence numbers, subscriptions), `row`.
//!
//! The public API does the rest: [`WorkTable::with_commit_hook`] hands every
//! change to a [`CommitHook`] (the write-ahead log), whose
//! [`ChangeEvent`](crate::ChangeEvent)s carry the row images as
//! [`RowImage`](crate::RowImage)s; [`Row::encode_pk`] and
//! [`Row::decode_pk`] turn a key into bytes and back (rkyv, validated on the
//! way back). This module adds checkpoints ([`capture_changed_pages`]),
//! recovery ([`TableRestore`]), resumed change feeds ([`with_history`]) and
//! what a durable table must know of the key generator
//! ([`generates_keys`]).
//!
//! # Sequence numbers
//!
//! A table numbers its changes `1, 2, 3, …` (a restored one goes on from the
//! number given to [`TableRestore::continue_after`]), strictly increasing,
//! without gaps, in the order they become visible, up to [`MAX_SEQ`]. A
//! commit hook is handed each change in that order, under the table's commit
//! lock, just before the change becomes visible; a change the hook refuses
//! is not made and its number goes to the next change. Vacuum moves rows
//! without a change and without a number. [`WorkTable::last_seq`] is the
//! number of the last change made.
//!
//! # Checkpoints: what a capture holds, and when it is consistent
//!
//! A page is [`PAGE_SIZE`](crate::PAGE_SIZE) bytes; rows live at 16-aligned
//! offsets in it and never span two pages. The bytes of a row version never
//! change once it is visible: an update writes the new version elsewhere.
//! So a page whose *set of rows* has not changed holds the same rows, byte
//! for byte (its free space may differ; it means nothing).
//!
//! Every change marks the pages whose set of rows it changes, inside its
//! commit step: the page of the version it makes current and the page of
//! the version it replaces or deletes. Vacuum marks both pages of each row
//! it moves, and the pages it gives back. [`capture_changed_pages`] takes
//! the marks (each page once, in increasing id order: [`PageCapture::pages`])
//! and clears them; [`PageCapture::rows_in`] then reports, for the pages
//! asked, every row whose *current* version lives there: its page, its
//! offset, and its archived bytes, exactly as a page holds them (rows being
//! written and not yet visible are not reported). A listed page with no row
//! reported was emptied or given back: it leaves the checkpoint. A page not
//! listed has the same rows as when its marks were last taken.
//!
//! The protocol that makes a capture consistent with sequence number `S`:
//!
//! 1. note `S`, the number of the last change the commit hook was handed;
//! 2. [`wait_for_commits`]: the change numbered `S` was handed to the hook
//!    before it was applied, and may still be marking its pages;
//! 3. [`capture_changed_pages`]: now every page changed by a change up to
//!    `S` is listed (or was listed by an earlier capture), and a change
//!    after `S` marks its pages again even if this capture took an earlier
//!    mark of them.
//!
//! The capture is *fuzzy*: a row it reports may be a version newer than
//! `S`. Replaying the log's changes after `S` over the captured pages —
//! puts as upserts, deletes as "delete if present", secondary indexes built
//! only at the end, as [`TableRestore`] does — reaches the state after the
//! last change whatever mix of versions was captured. Such a checkpoint may
//! only take effect once the log holds every change the captured rows may
//! include; each was handed to the hook before it became visible.
//!
//! While a [`PageCapture`] lives, vacuum moves no row (it waits), so no row
//! changes page while the capture's rows are read; writers are not held
//! back. Drop it promptly. A checkpoint that fails after taking the marks
//! gives them back with [`mark_pages_changed`], so that the next one
//! rewrites those pages.
//!
//! # Restore: what it checks and what it trusts
//!
//! [`TableRestore`] rebuilds a table from a checkpoint's pages
//! ([`TableRestore::page`], in increasing id order, each row at the offset
//! it was captured at, so page ids and row places come back unchanged and
//! the next capture's ids match the checkpoint's) and the log's changes
//! after it, in sequence order ([`TableRestore::put`],
//! [`TableRestore::delete`]); [`TableRestore::finish`] builds the indexes
//! once and hands over the table with its commit hook. The restored table
//! has marked only the pages whose rows the restore changed (a row put or
//! removed by replay, a duplicate dropped): the others hold what the
//! checkpoint holds, and its next capture does not list them.
//!
//! It **checks**, and reports as a [`RestoreError`], never a panic: that
//! pages come in increasing id order, each body one page long, its rows
//! sorted, 16-aligned, apart and inside the page; every page row and every
//! log image with rkyv's validator (a row that passes is a valid archive
//! of `R`, so reading it is sound); an image's size; that no two rows of
//! the result share a key of a unique index; the sequence number to
//! continue from.
//!
//! It **trusts** the caller for everything a checksum or the log's framing
//! decides: that the bytes are the ones captured (rkyv accepts any bytes
//! that form a valid `R`, right or wrong), that the changes after the
//! checkpoint come complete, once each and in order (it checks no sequence
//! number), and that the checkpoint's pages and the log belong together.
//! Of two page rows with one primary key — a fuzzy checkpoint can hold an
//! old and a new version — it keeps the first restored; the log's later
//! change of that row decides which is current.
//!
//! # Keys of deleted rows
//!
//! A table whose keys come from a generator ([`generates_keys`]) never
//! hands out the key of a row deleted before, but the generator's state
//! lives in memory only. A durable table keeps the largest deleted key and
//! gives it back with [`TableRestore::keep_keys_above`]; the restored
//! table's generator is told ([`PkGenerator::observe`](crate::PkGenerator::observe))
//! the largest of that key and the restored rows' keys.
//!
//! # Databases
//!
//! `#[derive(Database)]` implements [`DatabaseTables`] for its struct, so
//! that a durable database can open one without knowing its types: it
//! learns the row type of every table ([`DatabaseTables::describe`]),
//! rebuilds each from storage ([`DatabaseTables::build`], every table's
//! restore finished with [`TableRestore::finish_in`] in one
//! [`CommitOrder::restored`]) and reaches each table of an open one
//! ([`DatabaseTables::visit`]). Tables are numbered by their position
//! among the struct's fields (their *slot*), the numbering
//! [`CommitChange::table`](crate::events::CommitChange::table) uses.
//!
//! [`CommitHook`]: crate::events::CommitHook

pub use crate::events::order::CommitOrder;
pub use crate::events::subscription::with_history;
pub use crate::page::PageId;
pub use crate::table::{
    PageCapture, RestoreError, TableRestore, capture_changed_pages, mark_pages_changed,
    wait_for_commits,
};

use crate::WorkTable;
use crate::row::{PkSource, Row};

/// The tables of a `#[derive(Database)]` struct, as storage reaches them:
/// implemented by the derive, in the order of the struct's fields.
pub trait DatabaseTables: Sized + Send + Sync + 'static {
    /// Tells `visitor` the slot, field name and row type of every table.
    fn describe<V: DescribeTables>(visitor: &mut V);

    /// Hands `visitor` every table of this database.
    fn visit<'db, V: VisitTables<'db>>(&'db self, visitor: &mut V);

    /// Builds the database from the tables `builder` gives, one per field.
    ///
    /// # Errors
    ///
    /// The first error `builder` returns.
    fn build<B: BuildTables>(builder: &mut B) -> Result<Self, B::Error>;
}

/// Learns the tables of a database, from [`DatabaseTables::describe`].
pub trait DescribeTables {
    /// The table at `slot`, the field `field`, holds rows of type `R`.
    fn table<R: Row>(&mut self, slot: usize, field: &'static str);
}

/// Reaches the tables of a database, from [`DatabaseTables::visit`]; the
/// references live as long as the database is borrowed (`'db`), so a
/// visitor may keep them (a transaction over the tables, for one).
pub trait VisitTables<'db> {
    /// The table at `slot`, the field `field`.
    fn table<R: Row>(&mut self, slot: usize, field: &'static str, table: &'db WorkTable<R>);
}

/// Gives the tables a database is built from, in
/// [`DatabaseTables::build`].
pub trait BuildTables {
    /// Why a table cannot be given.
    type Error;

    /// The table for `slot`, the field `field`.
    ///
    /// # Errors
    ///
    /// Why the table cannot be given; the build stops there.
    fn table<R: Row>(
        &mut self,
        slot: usize,
        field: &'static str,
    ) -> Result<WorkTable<R>, Self::Error>;
}

/// The largest sequence number a table gives a change (2⁵¹ − 1).
pub const MAX_SEQ: u64 = crate::events::MAX_SEQ;

/// Whether the keys of `R`'s rows come from a generator
/// (`#[pk(autoincrement)]`, `#[pk(generator = ...)]`), which must never hand
/// out the key of a deleted row again (see the [module docs](self#keys-of-deleted-rows)).
pub fn generates_keys<R: Row>() -> bool {
    <R::PkSource as PkSource<R::Pk>>::GENERATES
}
