//! Durable tables for `worktable-core`: [`PersistentTable`], a
//! [`WorkTable`](worktable_core::WorkTable) whose every change is appended
//! to a write-ahead log in a directory, and which [`PersistentTable::open`]
//! rebuilds from that log.
//!
//! **This is the first step of the design** (section 4 of the project's
//! design document): the log only. There is no page file and there are no
//! checkpoints yet, so the log grows with every change and opening a table
//! replays its whole history. Checkpoints into a page file, log rotation and
//! bulk loading on open are the next steps; until then the API may change.
//!
//! # Example
//!
//! ```
//! use worktable_core::prelude::*;
//! use worktable_persist::{Durability, Options, PersistentTable};
//!
//! #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
//! #[rkyv(crate = worktable_core::rkyv)]
//! struct Account {
//!     #[pk]
//!     id: u32,
//!     #[index(unique)]
//!     owner: String,
//! }
//!
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! let dir = tempfile::tempdir()?;
//! block_on(async {
//!     let options = Options::durability(Durability::Sync);
//!     let accounts = PersistentTable::<Account>::open(dir.path(), options)?;
//!     // Returns once the change is synced to the log.
//!     accounts.insert(Account { id: 1, owner: "ada".into() }).await?;
//!     accounts.close().await?;
//!
//!     let accounts = PersistentTable::<Account>::open(dir.path(), options)?;
//!     assert_eq!(accounts.get_by(Account::OWNER, "ada").map(|a| a.id), Some(1));
//!     accounts.close().await?;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The directory
//!
//! `LOCK` (held while the table is open: a second opener gets
//! [`PersistError::AlreadyOpen`]), `meta` (schema fingerprint and table
//! name: a row type of another shape gets [`PersistError::SchemaMismatch`])
//! and one log segment, `log-00000000000000000001`. Byte layouts are in
//! `docs/format.md`.
//!
//! # Durability
//!
//! Every change is encoded into an in-memory buffer as it commits (under
//! the table's commit lock, in commit order). One dedicated thread per
//! table (never an async runtime worker) writes the buffer to the log file
//! and syncs it (`fdatasync`). What each [`Durability`] mode promises:
//!
//! | Mode | A write returns | After the process is killed | After a power loss |
//! | ---- | --------------- | --------------------------- | ------------------ |
//! | [`Sync`](Durability::Sync) | once its record is written and synced | nothing acknowledged is lost | nothing acknowledged is lost |
//! | [`Periodic(d)`](Durability::Periodic) | at once | the changes of the last interval (up to `d`) may be lost: records reach the file only at each flush (or once 1 MiB is buffered) | the same: up to one interval |
//! | [`None`](Durability::None) | at once | up to the last 100 ms: records reach the file every 100 ms (or at 1 MiB of buffer) | that, and everything the operating system had not yet written back on its own |
//!
//! `Sync` uses group commit: while one sync runs, later writes gather in the
//! buffer, and the next sync covers all of them. A change is visible to
//! readers as soon as it commits, before it is durable, in every mode.
//! [`PersistentTable::close`] writes and syncs everything in every mode;
//! dropping the table without `close` does the same, best effort (an error
//! cannot be reported), and blocks for that last write and sync.
//!
//! After a crash, [`PersistentTable::open`] keeps the records before a torn
//! tail (a record cut short or damaged after the last completed sync) and
//! cuts the rest off the file before writing again; damage in records that
//! had been synced is reported as [`PersistError::Log`], never skipped.
//!
//! # When the log cannot be written
//!
//! If writing or syncing the log fails, the table stops logging: the write
//! waiting for that sync, and every write after it (in every mode), fails
//! with [`TableError::Durability`](worktable_core::TableError::Durability)
//! (source: [`PersistError::LogWrite`]). The change of such a write *is*
//! committed in memory and visible to readers, but it is not in the log;
//! after a reopen the table holds what was synced before the failure.
//! [`PersistentTable::close`] reports the failure too. Reopen the table to
//! write again.
//!
//! # Internals
//!
//! The on-disk codecs are hidden modules, not a stable API: the write-ahead
//! log's codec (`log`), the metadata file's codec and its atomic
//! replacement (`meta`), and the exclusive lock on a table directory
//! (`dir_lock`), whose documentation also holds the soundness argument for
//! mapping the page file that checkpoints will write.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[doc(hidden)]
pub mod dir_lock;
#[doc(hidden)]
pub mod log;
#[doc(hidden)]
pub mod meta;
#[doc(hidden)]
pub mod pages;
mod table;

#[doc(hidden)]
pub use table::LogStats;
pub use table::{Durability, Options, PersistError, PersistentTable};
