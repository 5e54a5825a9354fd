//! Row storage: fixed-size aligned pages, slots inside them, and the
//! copy-on-write protocol that publishes and retires row versions.
//!
//! Four of its modules hold `unsafe` code, each allowed by name (see the
//! crate root): [`memory`] (page memory and the page directory),
//! [`store`] and [`alloc`] (which call into it under its contracts) and
//! [`image`] (reading a validated row image in place). The invariants they
//! rely on are in [`memory`]'s docs.
//!
//! Depends on: `row`, `plain` (in-place field writes), `stripe`.

#[allow(
    unsafe_code,
    reason = "releases and fills pages through `memory`'s unsafe API"
)]
mod alloc;
#[cfg(test)]
mod alloc_model;
#[allow(unsafe_code, reason = "reads a row image's validated archive in place")]
mod image;
mod link;
#[allow(
    unsafe_code,
    reason = "owns raw page memory and the lock-free page directory"
)]
mod memory;
mod scan;
#[allow(
    unsafe_code,
    reason = "writes and reads row slots through `memory`'s unsafe API"
)]
mod store;

pub use image::RowImage;
pub(crate) use link::{Link, slot_size};
pub use link::{MAX_ROW_BYTES, PAGE_SIZE, PageId};
pub(crate) use store::{Replaced, RowCell, RowStore, StageError, Staged, Version, deserialize};
