//! Typed, concurrent, in-memory tables.
//!
//! Put `#[derive(Table)]` on a struct, mark its primary key with `#[pk]` and
//! the fields to index with `#[index]` or `#[index(unique)]`, and get a
//! [`WorkTable`]: rows stored as [rkyv] archives in fixed-size pages, a
//! primary index with a hash path for point look-ups and an ordered index of
//! sorted nodes for ranges, and ordered secondary indexes.
//!
//! ```
//! use worktable_core::prelude::*;
//!
//! #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
//! #[rkyv(crate = worktable_core::rkyv)]
//! #[table(index(name = "by_account_day", fields(account, day)))]
//! struct Order {
//!     #[pk(autoincrement)]
//!     id: u64,
//!     #[index(unique)]
//!     client_ref: String,
//!     #[index]
//!     account: u32,
//!     day: u16,
//!     price: i64,
//!     note: Option<String>,
//! }
//!
//! futures::executor::block_on(async {
//!     let orders = WorkTable::<Order>::new();
//!     let id = orders
//!         .insert(Order { id: 0, client_ref: "X-1".into(), account: 7, day: 3, price: 990, note: None })
//!         .await?;
//!     assert_eq!(orders.get(&id).unwrap().price, 990);
//!     assert_eq!(orders.get_by(Order::CLIENT_REF, "X-1").unwrap().id, id);
//!     assert_eq!(orders.find_by(Order::ACCOUNT, &7).len(), 1);
//!     assert_eq!(orders.prefix_by(Order::BY_ACCOUNT_DAY, 7).count(), 1);
//!     Ok::<(), worktable_core::TableError>(())
//! })?;
//! # Ok::<(), worktable_core::TableError>(())
//! ```
//!
//! # Keys and indexes
//!
//! * `#[pk]` on one field, or on several (the key is then a tuple in field
//!   order; [`prefix`](WorkTable::prefix) finds the rows whose key starts
//!   with given leading fields, see [`PkPrefix`]). `#[pk(autoincrement)]` on a `u8`…`u64` or `i8`…`i64` field
//!   lets the table assign 1, 2, 3, …; `#[pk(generator = MyGen)]` uses a
//!   [`PkGenerator`].
//! * `#[index]` / `#[index(unique)]` on a field; composite indexes at struct
//!   level: `#[table(index(name = "by_a_b", fields(a, b), unique))]`.
//! * `#[index(each)]` on a `Vec<T>` field: one entry per distinct element of
//!   a row's field, so that `find_by(Row::TAGS, "x")` finds the rows whose
//!   field holds `"x"`; non-unique, looked up by whole elements only (no
//!   ranges or prefixes: it is not an [`OrderedIndex`]). A row has zero or
//!   more keys there: [`Index::keys`] lists them ([`Index::key`] panics).
//! * `hash`, for keys that are only ever looked up whole:
//!   `#[index(unique, hash)]` (or `unique, hash` in a composite index) keeps
//!   a unique index as one hash map from key to primary key, without
//!   ordered entries, so a write changes one structure instead of two;
//!   [`range_by`](WorkTable::range_by), [`prefix_by`](WorkTable::prefix_by)
//!   and the ordered query sources need an [`OrderedIndex`] and do not
//!   compile on it. `#[pk(hash)]` (also beside `autoincrement` or
//!   `generator`) keeps the primary keys in the primary index's hash map
//!   only; [`iter`](WorkTable::iter), [`range`](WorkTable::range) and
//!   key-ordered queries still return rows in key order, sorting the keys
//!   when called (time in proportion to the table's rows).
//! * Every key type must be [`Key`] (`Ord + Hash + Clone + Debug`). Floats
//!   are indexed through [`OrderedF64`] / [`OrderedF32`].
//! * Columns may be of any type rkyv archives, except `usize` and `isize`,
//!   which the derive refuses: rkyv stores them in 32 bits and would silently
//!   cut larger values (use `u64`/`i64`). The derive sees the column types as
//!   written, so keep pointer-sized integers out of your own nested types too.
//! * A composite index lists its fields as `fields(a, b)` or
//!   `fields = [a, b]`. Use the second when two composite indexes share a
//!   field: clippy's `duplicated_attributes` lint reads the same name in
//!   two lists `fields(...)` of one attribute as a duplicated attribute (a
//!   false positive, rust-clippy#13238), and leaves arrays alone.
//! * `#[table(name = "...")]` names the table (default: the struct name in
//!   snake case); `#[table(crate = "...")]` gives the path of this crate when
//!   it is renamed in `Cargo.toml`; `#[table(schema_version = N)]` changes
//!   [`Row::SCHEMA_FINGERPRINT`] by hand, for when a nested column type's
//!   layout changes (durable tables refuse files of another fingerprint).
//! * [`Row::SCHEMA`] describes what the derive read — table name, fields with
//!   their types in a canonical spelling, key, indexes — and computes the
//!   fingerprint from it (see the [`schema`] module).
//!
//! Each index gets a typed handle, an associated constant of the row type
//! named after the index in upper case (`Order::CLIENT_REF`), used with
//! [`get_by`](WorkTable::get_by), [`find_by`](WorkTable::find_by),
//! [`range_by`](WorkTable::range_by), [`prefix_by`](WorkTable::prefix_by),
//! [`delete_by`](WorkTable::delete_by) and
//! [`delete_all_by`](WorkTable::delete_all_by). A look-up on an index of the
//! wrong table, a non-unique index passed to `get_by`, or a key of the wrong
//! type does not compile. A look-up takes the key, or the form a caller has
//! at hand — `"x"` for a `String` key, `&Some("x")` for an `Option<String>`
//! key — as [`LookupKey`] lists.
//!
//! Every field also gets a typed handle ([`Field`]), named after the field
//! in upper case (`Order::PRICE`; a field with `#[index]` shares it with its
//! index). [`WorkTable::query`] builds typed queries — a source, filters on
//! the row or on the archived row, `order_by` on field handles, offset and
//! limit — see the [`query`] module.
//!
//! # Storage
//!
//! Rows are archived with rkyv into 16-byte aligned slots of 64 KiB pages
//! ([`PAGE_SIZE`]); an archived row can take at most [`MAX_ROW_BYTES`]
//! bytes, larger rows are refused with [`TableError::RowTooLarge`]. Slots of
//! deleted and replaced rows are reused for new rows (same size first, else
//! best fit, free neighbours merged). [`WorkTable::vacuum`] and the
//! background [`WorkTable::spawn_vacuum`] move rows out of sparse pages and
//! give the pages back, invisibly to readers and subscribers;
//! [`WorkTable::stats`] shows used, free and dead bytes and fragmentation.
//!
//! # Concurrent access
//!
//! A `WorkTable` is `Send + Sync`; share it with an `Arc`.
//!
//! * **Reads** ([`get`](WorkTable::get), [`read`](WorkTable::read),
//!   look-ups, ranges, iteration) take no row lock and never wait for a
//!   write in progress, only, at most, for the moment a writer takes to
//!   change one hash-map shard or one ordered-index node (a shift of at most
//!   64 entries). A range or an iteration holds nothing between the batches
//!   it copies out of the index, so a reader that pauses keeps no writer
//!   waiting. They return
//!   committed rows only, never a row half written: row versions are written
//!   to fresh slots and never changed in place while a reader may see them,
//!   and a replaced slot is reused only once every reader that could see it
//!   has finished (epoch-based reclamation).
//! * **Writes** are `async`: each takes the lock of the row it changes
//!   (created on demand, dropped with the last holder or waiter), so writes
//!   to one row are serialized and writes to different rows run in parallel.
//!   Waiting for a row lock never blocks the thread. The only table-wide
//!   critical sections are the page allocator's — taking a slot for a new
//!   row version and queueing a replaced one for reuse — each a few hundred
//!   nanoseconds at most.
//! * **Each call is atomic and linearizable for the row it changes**:
//!   readers see the row before or after, never in between; concurrent
//!   upserts of one key leave one row; a unique key is checked and claimed
//!   atomically, so of concurrent inserts of one unique value exactly one
//!   succeeds and the others get [`TableError::DuplicateKey`] without a
//!   trace. A unique key stays claimed until the write that frees it (a
//!   delete, an update that changes it) returns.
//! * **A sequence of calls is not a transaction** — unless it runs in one:
//!   the tables of a [`Database`] have transactions across rows and tables
//!   (serializable, all or nothing; see [`Transaction`] and the `txn`
//!   protocol below). For read-compute-write of
//!   one row use [`update_with`](WorkTable::update_with), or hold the row's
//!   lock across `.await` points with [`lock`](WorkTable::lock) and write
//!   through the [`RowGuard`]. For several rows, [`lock_all`](WorkTable::lock_all)
//!   locks them in primary-key order. A task's own table writes of a row
//!   whose guard it holds would wait for that guard forever: inside a tokio
//!   runtime they fail at once with [`TableError::LockedBySameTask`]
//!   instead (what is and is not detected: [`WorkTable::lock`]).
//! * **Multi-row writes** ([`update_all_by`](WorkTable::update_all_by),
//!   [`update_range`](WorkTable::update_range),
//!   [`delete_all_by`](WorkTable::delete_all_by),
//!   [`delete_range`](WorkTable::delete_range)) lock every selected row in
//!   primary-key order before changing any, so they never deadlock with each
//!   other or with `lock_all`, and no other writer changes a selected row
//!   meanwhile. They are not atomic: readers see the rows change one by one,
//!   and the first failing row stops the write with the rows before it
//!   changed.
//! * **Iterators and ranges** of a table on its own are not snapshots: they
//!   walk the live index, so a row inserted or deleted during the walk may
//!   or may not appear, and a row whose key moves during the walk may be
//!   seen twice or not at all. Every row they return was committed and
//!   matched the index range when it was read. For one consistent state,
//!   read through a [`snapshot`](WorkTable::snapshot) ([`TableSnapshot`]).
//!   On the tables of a database, reads of several rows (`find_by`,
//!   ranges, prefixes, `iter`, queries) read at one commit point through an
//!   implicit snapshot, so that they see every transaction whole.
//! * **Snapshots** ([`WorkTable::snapshot`], a database's `snapshot()`)
//!   read one commit point however long they are held; taking one is O(1).
//!   While one is held, every commit takes the commit lock and keeps the
//!   version it replaces until no snapshot can see it
//!   ([`TableStats::versions_held`]).
//! * Dropping (cancelling) a future that waits for a row lock, or a guard
//!   that holds one, leaves no lock behind.
//!
//! # Change events
//!
//! Every committed row change — by any write, single-row or multi-row —
//! yields one [`ChangeEvent`]: a table-wide sequence number (strictly
//! increasing, without gaps, in the order the changes became visible), the
//! kind, the primary key and the row images (the new row for an insert, old
//! and new for an update, the old row for a delete). Failed writes yield
//! nothing.
//!
//! * [`WorkTable::subscribe`] / [`WorkTable::subscribe_to`] return a
//!   [`Subscription`], a `futures` `Stream` of the changes committed from
//!   then on, optionally filtered at the source by a [`Watch`] (one key, a
//!   key range, one index key). A row that moves into or out of the watched
//!   rows arrives as an insert or a delete.
//! * A subscriber never slows writers: its queue is bounded; when it falls
//!   behind, the events that do not fit are dropped and it reads one
//!   `Err(`[`Lagged`]` { missed })` where they would have been. It can then
//!   resync by re-reading the table — events carry whole rows, so applying
//!   one again to a re-read row is harmless. Dropping a subscription frees
//!   its queue; dropping the table ends the streams.
//! * The bound is [`Watch::capacity`], by default
//!   [`DEFAULT_CAPACITY`](events::DEFAULT_CAPACITY) = 65,536 events: a
//!   burst of at most that many changes between two reads never lags, even
//!   if the reader is slow or busy (a reader draining concurrently can
//!   still fall behind a faster writer, so size the capacity for the
//!   largest burst). The queue takes memory only while events wait in it
//!   and gives it back when drained; what a full one holds is in
//!   [`DEFAULT_CAPACITY`](events::DEFAULT_CAPACITY)'s docs.
//! * With nobody subscribed, a write takes no lock and builds no event; it
//!   only bumps the sequence number.
//! * [`WorkTable::subscribe_to_with_seq`] also says the number of the last
//!   change before the subscription: a consumer that read the table up to
//!   it misses nothing.
//! * [`WorkTable::with_commit_hook`] hands every event, in order, to a
//!   [`CommitHook`](events::CommitHook) at its commit point, just before it
//!   becomes visible; the write waits for the [`Durable`](events::Durable)
//!   future the hook returns. The hook may refuse the change: it is then
//!   not made, takes no sequence number, and the write fails with
//!   [`TableError::WriteRefused`]. This is the interface of the persistence
//!   crate. A hook must not write to its own table (it runs under the
//!   table's commit lock).
//!
//! # Errors
//!
//! Every write returns [`TableError`]. A single-row write that fails leaves
//! the table as it was, except after [`TableError::Durability`] (the change
//! is made, only not durable); a multi-row write stops at the row that
//! failed, with the rows before it changed. [`TableError`] says what each
//! failure leaves behind.
//!
//! # Traces and metrics
//!
//! Two features, off by default, report what the tables do to the
//! program's own subscriber and recorder: `tracing`, as
//! [`tracing`](https://docs.rs/tracing) events — a write that waited for a
//! row lock (with how long), a transaction's conflict and its retry, at
//! `DEBUG`; a vacuum run (rows moved, pages given back), at `INFO` in a
//! `vacuum` span — and `metrics`, through the
//! [`metrics`](https://docs.rs/metrics) facade: writes by table and kind,
//! row-lock waits and their seconds, conflicts, retries, rows moved by
//! vacuum. Without them nothing of it is compiled in; with them, nothing
//! is emitted where nothing happened (a lock taken without waiting, a
//! commit without conflict) but the one counter per committed change.
//! Every name, unit and label is listed in
//! [docs/observability.md](https://github.com/worktable-rs/worktable/blob/main/docs/observability.md).

#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

// `unsafe` is allowed in these modules only, each by an `#[allow]` on its
// `mod` item; anywhere else the compiler refuses it. Every block argues its
// invariant in a `// SAFETY:` comment.
//
// * `page::memory`: page memory and the lock-free page directory.
// * `page::store`: writes and reads row slots through `page::memory`.
// * `page::alloc`: releases and fills pages through `page::memory`.
// * `page::image`: reads a validated row image in place.
// * `lock::loom_model` (loom builds of the tests only): the model's guarded
//   data.

mod database;
mod error;
pub mod events;
mod float;
mod hash;
mod index;
mod lock;
mod observe;
mod page;
mod plain;
pub mod query;
mod row;
pub mod schema;
#[doc(hidden)]
pub mod storage;
mod stripe;
mod table;
mod txn;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use database::Database;
pub use error::{IntegrityError, Result, TableError};
pub use events::{ChangeEvent, ChangeKind, Lagged, Subscription, Watch};
pub use float::{ArchivedOrderedF32, ArchivedOrderedF64, OrderedF32, OrderedF64};
pub use index::{Index, IndexPrefix, LookupKey, OrderedIndex, UniqueIndex};
pub use page::RowImage;
pub use page::{MAX_ROW_BYTES, PAGE_SIZE};
pub use plain::Plain;
pub use query::Query;
pub use row::{AutoIncrement, Field, Key, PkGenerator, PkPrefix, Row};
pub use schema::{KeySource, Schema, SchemaField, SchemaIndex};
pub use table::{
    IndexStats, RowGuard, TableSnapshot, TableStats, VacuumHandle, VacuumPolicy, VacuumReport,
    WorkTable,
};
pub use txn::{Transaction, TxError, TxOptions, TxTable};

/// Derives [`Row`] and the typed index handles for a struct. See the
/// [crate docs](crate#keys-and-indexes) for the attributes.
pub use worktable_derive::Table;

/// Derives [`Database`], `new()` and `Default` for a struct whose every
/// field is a [`WorkTable`]: its tables share one commit order. See
/// [`Database`].
pub use worktable_derive::Database;

/// Makes a struct a table's row in one line: adds `#[derive(Table)]` and
/// rkyv's `Archive`, `Serialize` and `Deserialize` by full path, beside the
/// derives the struct has — serde's `Serialize` and `Deserialize` among
/// them, whose names would otherwise hide rkyv's. Put it above the
/// struct's `#[derive(...)]`. `#[row(crate = path)]` when this crate is
/// renamed in `Cargo.toml`.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use worktable_core::prelude::*;
///
/// #[row]
/// #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
/// struct Order {
///     #[pk]
///     id: u64,
///     #[index]
///     account: u32,
///     status: Status,
/// }
///
/// /// An enum column: `#[column]` adds rkyv's derives to a type stored
/// /// inside rows.
/// #[column]
/// #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
/// enum Status {
///     Open,
///     Shipped { day: u16 },
/// }
///
/// futures::executor::block_on(async {
///     let orders = WorkTable::<Order>::new();
///     orders.insert(Order { id: 1, account: 7, status: Status::Open }).await?;
///     assert_eq!(orders.find_by(Order::ACCOUNT, &7)[0].status, Status::Open);
///     // The same struct still goes through serde.
///     let json = serde_json::to_string(&orders.get(&1).unwrap()).unwrap();
///     assert_eq!(json, r#"{"id":1,"account":7,"status":"Open"}"#);
///     Ok::<(), TableError>(())
/// })?;
/// # Ok::<(), TableError>(())
/// ```
pub use worktable_derive::row;

/// Makes a type storable inside rows — a nested struct or an enum column:
/// adds rkyv's `Archive`, `Serialize` and `Deserialize` by full path. See
/// [`row`] for an example. `#[column(crate = path)]` when this crate is
/// renamed.
pub use worktable_derive::column;

pub use rkyv;
/// rkyv's derives, re-exported so that one dependency is enough.
pub use rkyv::{Archive, Deserialize, Serialize};

#[cfg(feature = "uuid")]
pub use uuid;

/// The derive, the table, and rkyv's derives, for a glob import.
pub mod prelude {
    pub use crate::{Archive, Database, Deserialize, Serialize, Table, column, row};
    pub use crate::{
        Field, Index, IndexPrefix, OrderedF32, OrderedF64, OrderedIndex, PkPrefix, Row, TableError,
        UniqueIndex, WorkTable,
    };
}

/// The README's code, compiled and run as a doc test so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
