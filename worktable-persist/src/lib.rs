//! Durable tables for `worktable-core` — **not implemented yet**.
//!
//! This crate will open a [`WorkTable`](worktable_core::WorkTable) on disk: a
//! page file mapped with `memmap2` (rows keep the in-memory page format), a
//! write-ahead change log with per-record checksums, a metadata file with the
//! format version and the row type's schema fingerprint, background
//! checkpoints, and recovery that replays the log and stops at a torn tail.
//! Durability will be chosen per table (`Sync` with group commit,
//! `Periodic`, or `None`). The contract is section 4 of the project's design
//! document; until it lands the crate exports nothing stable.
//!
//! The first pieces are in place, in hidden modules that are not a stable
//! API: the write-ahead log's on-disk codec (`log`), the metadata file's
//! codec and its atomic replacement (`meta`), and the exclusive lock on a
//! table directory (`dir_lock`), whose documentation also holds the
//! soundness argument for mapping the page file. Their byte layouts are
//! specified in `docs/format.md`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[doc(hidden)]
pub mod dir_lock;
#[doc(hidden)]
pub mod log;
#[doc(hidden)]
pub mod meta;
