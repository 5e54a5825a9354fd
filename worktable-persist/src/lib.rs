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
//! The first piece is in place: the write-ahead log's on-disk codec, in the
//! hidden `log` module (not a stable API; its byte layout is specified in
//! `docs/format.md`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[doc(hidden)]
pub mod log;
