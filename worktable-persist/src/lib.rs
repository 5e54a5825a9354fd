//! Durable tables for `worktable-core`: [`PersistentTable`], a
//! [`WorkTable`](worktable_core::WorkTable) whose every change is appended
//! to a write-ahead log in a directory, whose pages are copied into a page
//! file by checkpoints, and which [`PersistentTable::open`] rebuilds from
//! the last checkpoint and the log after it; and [`DurableDatabase`], the
//! tables of a `#[derive(Database)]` struct kept the same way in one
//! directory with one log — a transaction over several tables is one unit
//! of it, recovered whole or not at all — with confirmed commit streams
//! ([`DurableDatabase::subscribe_confirmed`]), online backups
//! ([`DurableDatabase::backup_to`]; to an object store with the
//! `object-store` feature), bulk loads and per-table migration. What this
//! page says of durability, damage and recovery holds for both.
//! [`inspect`] looks into either kind of directory without its Rust types
//! and without writing to it (the library of the `worktable` command).
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
//! let dir = tempfile::tempdir()?;
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! rt.block_on(async {
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
//! - `LOCK`: held while the table is open; a second opener, in this process
//!   or another, gets [`OpenError::AlreadyOpen`].
//! - `meta`: which table and row type the directory belongs to — the table
//!   name, the schema fingerprint and a readable description of the schema
//!   (fields and their types, key, indexes) — which checkpoint is current,
//!   how far the log is known to be synced, and the key generator's state.
//!   Opening checks the table name first (another table's directory gets
//!   [`OpenError::TableNameMismatch`]), then the fingerprint: a row type
//!   of another shape gets [`OpenError::SchemaMismatch`], which lists
//!   what differs ([`SchemaDifference`]); see
//!   [`PersistentTable::open_migrating`]. The fingerprint is computed from a
//!   description the derive builds itself
//!   ([`Row::SCHEMA`](worktable_core::Row::SCHEMA)), never from how the
//!   compiler prints a type, so a toolchain upgrade does not change it.
//! - `pages` and `manifest-<generation>`: the checkpoint — each changed
//!   in-memory page copied into a 64 KiB frame of the page file, every row
//!   at its offset, and the manifest saying which frame holds which page
//!   and where its rows are, with a checksum per frame.
//! - `log-<first sequence number>`: the write-ahead log segments after the
//!   checkpoint.
//!
//! [`ReadOnlyTable`] reads a directory without writing anything to it (no
//! lock, no new table, no cut of a torn tail), so that a backup or a
//! read-only mount can be opened; it refuses every write.
//!
//! Every file starts with a magic and a format version (this build writes
//! and reads version 2 only; there is no converter from an older version),
//! and records the rkyv [archive format](format::ArchiveFormat) its rows
//! were written in: a build whose rkyv archives rows differently refuses
//! the directory with [`OpenError::ArchiveFormat`]. Byte layouts are in
//! `docs/format.md`. A file whose bytes are not a file this build reads
//! (another kind of file, another format version, damage, a field that
//! breaks the format) is refused with the [`OpenError`] of that file,
//! whose source, a [`FileError`](file_error::FileError), says what is
//! wrong and where.
//!
//! # Checkpoints
//!
//! A checkpoint (in the background, once the log has grown by
//! [`Options::checkpoint_log_bytes`] or [`Options::checkpoint_interval`]
//! after the last one; on [`PersistentTable::checkpoint`]; and on
//! [`PersistentTable::close`]) starts a new log segment, writes the pages
//! changed since the last checkpoint into frames the current checkpoint
//! does not use, syncs them, writes a new manifest, and only then moves the
//! metadata file to it and removes the log before it. Writers are not
//! stopped; a background vacuum pauses while the changed pages are read. A
//! crash at any step leaves the previous checkpoint and its log intact. The
//! page file holds at most the current checkpoint's frames plus those of
//! one checkpoint in progress, so space freed by deleted rows is reused and
//! the file does not grow under a steady delete/insert workload.
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
//! [`PersistentTable::close`] writes and syncs everything in every mode and
//! takes a last checkpoint; dropping the table without `close` writes and
//! syncs the log, best effort (an error cannot be reported), and blocks for
//! that last write and sync.
//!
//! # A damaged log
//!
//! After a crash, [`PersistentTable::open`] keeps the records before a torn
//! tail (a record cut short or damaged after the last completed sync) and
//! cuts the rest off the file before writing again. Damage to records that
//! had been synced is a typed error, never skipped, whenever something
//! shows they had been synced:
//!
//! - a later record in the segment that was written after their sync (every
//!   record carries the writer's sync mark): [`OpenError::Log`];
//! - a segment missing or ending before the next one starts:
//!   [`OpenError::LogMissing`], [`OpenError::LogGap`];
//! - the end of the log below the mark the metadata file records — every
//!   record the log held when the table was last dropped or closed, and
//!   every record synced when the last checkpoint completed:
//!   [`OpenError::LogTruncated`].
//!
//! What cannot be told from a torn tail: after a crash (a kill or a power
//! loss), records appended since the last checkpoint that were synced, but
//! sit at the end of the last segment with no later record after them.
//! Nothing records that they were synced, so if the file is cut short there
//! (or those bytes are damaged) they are dropped like a torn tail, without
//! an error. Recording a mark at every sync would cost a second sync per
//! write.
//!
//! # Sequence numbers
//!
//! Every change gets the next sequence number of the table's history, in
//! commit order, without gaps: the number of its change event
//! ([`ChangeEvent::seq`](worktable_core::ChangeEvent::seq)) and of its log
//! record are one and the same, and they continue across a
//! [`close`](PersistentTable::close), a drop without `close` and a crash —
//! a reopened table's [`last_seq`](worktable_core::WorkTable::last_seq) is
//! the number of the last change in its durable history, and its next
//! change is numbered right after it. A consumer that saved the number of
//! the last change it processed resumes with
//! [`PersistentTable::subscribe_from`]: the changes after it that the log
//! still holds, then the live ones, with no gap or duplicate at the seam.
//!
//! What a number names is durable only once its change is: a change that
//! was visible (and delivered to subscribers) but not yet synced when the
//! process died — with [`Durability::Periodic`] or [`Durability::None`], or
//! a `Sync` write whose sync never completed — is not in the log after the
//! crash, and the first change after the reopen takes its number.
//! [`subscribe_from`](PersistentTable::subscribe_from) with a number past
//! the reopened table's last one says so
//! ([`ResumeError::Ahead`]).
//!
//! # Deleted rows
//!
//! What a user may rely on after deleting a row:
//!
//! - **In memory**, once `delete` returns, no reader finds the row; its
//!   slot is reused once no reader that started before can still see it.
//! - **In the log**, the row's bytes stay (in the records that inserted,
//!   updated and deleted it: a delete's record carries the row as it was)
//!   until a checkpoint taken after the delete removes those log segments.
//! - **A checkpoint** writes each page it writes as a frame holding the live
//!   rows and zeros in every other byte: the slots of deleted and replaced
//!   versions and free space never reach the page file through it. The
//!   metadata file holds the key generator's state (for a table whose keys
//!   come from a generator: the largest key ever deleted, so that it is
//!   never handed out again — the key, no other field) and never a row's
//!   content; manifests hold offsets and checksums only.
//! - **A frame the current checkpoint no longer uses** (the page's previous
//!   frame, or the frame of a page whose rows are all gone) keeps its old
//!   bytes until a later checkpoint reuses it — writing a whole new frame —
//!   or the page file is cut below it.
//! - **With [`Options::secure_delete`]**, a checkpoint also overwrites with
//!   zeros every frame it stops using (and every other frame no checkpoint
//!   uses) and every log segment it removes, syncs them, and only then
//!   returns; a torn log tail cut off at open is zeroed first too. So once
//!   a checkpoint after the delete has returned — [`close`](PersistentTable::close)
//!   takes one — no file of the directory holds the row's bytes.
//!
//! Neither mode can clear copies below the files: what the file system
//! keeps in its journal or in blocks it freed, copy-on-write snapshots,
//! an SSD's remapped cells, or backups.
//!
//! # When the log cannot be written
//!
//! If writing or syncing the log fails, the table *fails*: it stops
//! logging for good (until it is closed and opened again), and
//! [`PersistentTable::health`] says so, with the error.
//!
//! - The writes whose records were already handed to the log (the write
//!   waiting for the failed sync, and any sharing its batch) fail with
//!   [`TableError::Durability`](worktable_core::TableError::Durability)
//!   (source: [`WriteError::LogWrite`]). Their changes *are* committed in
//!   memory and visible to readers, but not durably: after a reopen the
//!   table holds what was synced before the failure, plus possibly those
//!   changes (their records may have reached the file before the error;
//!   after a power loss they may be gone again, after a process kill they
//!   stay).
//! - Every later write, in every mode, is refused at its commit point
//!   before it changes anything, with
//!   [`TableError::WriteRefused`](worktable_core::TableError::WriteRefused)
//!   (same source): no row, no index entry, no event, no sequence number.
//!   Retrying it gets the same refusal (never a `DuplicatePk` for a write
//!   that was not made). Reads keep working.
//! - No checkpoint completes once the log has failed (a checkpoint only
//!   takes effect after the log has synced every change its pages may
//!   hold). [`PersistentTable::close`] reports the failure too.
//!
//! # Errors
//!
//! Each operation has its own error type: [`OpenError`] (opening and
//! recovery), [`WriteError`] (the log could not take a write: the source of
//! the `TableError` a write gets, and what [`Health`] reports),
//! [`CheckpointError`] (`checkpoint`, `close`) and [`ResumeError`]
//! (`subscribe_from`). [`PersistError`] holds any of them, for code that
//! handles them alike; each converts into it with `?`. Every message
//! carries its reason (e.g. "No space left on device"), and `source()`
//! gives it as a typed error; what is wrong with a file's bytes is a
//! [`FileError`](file_error::FileError).
//!
//! # Internals
//!
//! Everything but the types above (and [`file_error`] and [`format`](mod@format)) is
//! private to the crate, in modules that follow the layers of a table
//! directory:
//!
//! - `codec`: what the four file formats share: a little-endian reader and
//!   writer, and the checks every file's start gets (magic, format version,
//!   length, CRC32C, flags);
//! - `log`, `meta`, `pages`: the codecs of the write-ahead log segments, of
//!   the metadata file (with its atomic replacement), and of the page file
//!   header and the checkpoint manifests; their errors are
//!   [`file_error`]'s;
//! - `vfs`: the file-system layer: the real file system, whose page-file
//!   mapping carries the soundness argument; the exclusive lock on a table
//!   directory; and a simulated disk that loses unsynced writes in a power
//!   cut and injects I/O failures;
//! - `table`: [`PersistentTable`]: recovery, the log writer, checkpoints;
//! - `observe`: every trace and metric of the crate (see below).
//!
//! # Traces and metrics
//!
//! Two features, off by default, report to the program's own subscriber
//! and recorder, and turn on worktable-core's of the same name: `tracing`
//! — each log sync (records made durable, seconds) at `DEBUG`; each
//! checkpoint (table or database, sequence number, rows, pages and bytes
//! written, seconds) and each open (checkpoint loaded, log records
//! replayed, rows, seconds) at `INFO`, in `checkpoint` and `open` spans; a
//! torn log tail cut at open, a failed checkpoint or open at `WARN`; a
//! failed log at `ERROR` — and `metrics`: log sync latency and group-commit
//! size, checkpoint and recovery durations, pages written, failures.
//! Metrics carry a `table` label, or `database` (the struct's name) for a
//! [`DurableDatabase`]. Every name, unit and label is listed in
//! [docs/observability.md](https://github.com/worktable-rs/worktable/blob/main/docs/observability.md).
//!
//! # The `testing` feature
//!
//! The crate's integration tests cut the power on the simulated disk,
//! inject I/O faults, and read or craft a table's files byte by byte. The
//! `testing` feature exposes what they need, as the module `testing`: the
//! file-system layer and the simulated disk (`testing::vfs`), the codec
//! entry points they use (`testing::log`, `testing::meta`,
//! `testing::pages`), the log writer's counters (`testing::LogStats`, from
//! `PersistentTable::log_stats`), and `PersistentTable::open_in` and
//! `open_migrating_in`, which open a table on a given file system. The
//! crate turns the feature on for its own tests (a dev-dependency on
//! itself); it is not a stable API, and not meant for use outside tests.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod codec;
#[cfg(test)]
mod damage;
mod database;
pub mod file_error;
pub mod format;
pub mod inspect;
// Without the `testing` feature nothing re-exports the `pub` items of these
// modules (see `testing`): they are crate-private all the same.
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
mod log;
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
mod meta;
mod observe;
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
mod pages;
#[doc(hidden)]
pub mod replication;
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
mod table;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg_attr(not(feature = "testing"), allow(unreachable_pub))]
mod vfs;

#[cfg(feature = "object-store")]
pub use database::restore_from_store;
pub use database::{
    BackupError, BackupReport, BulkLoad, BulkReport, ConfirmedChange, ConfirmedCommit,
    ConfirmedCommits, DatabaseVacuum, DurableDatabase, LoadError, Loader, Migrations,
    ReadOnlyDatabase,
};
pub use table::{
    CheckpointError, CheckpointReport, Confirmed, ConfirmedError, Durability, Health, OpenError,
    Options, PersistError, PersistentTable, ReadOnlyTable, ResumeError, SchemaDifference,
    WriteError,
};
