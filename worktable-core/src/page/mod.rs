//! Row storage: fixed-size aligned pages, slots inside them, and the
//! copy-on-write protocol that publishes and retires row versions.
//!
//! This is the only module with `unsafe` code (in [`memory`] and [`store`]);
//! the invariants it relies on are in [`memory`]'s docs.
//!
//! Depends on: `row`, `plain` (in-place field writes), `stripe`.

mod alloc;
#[cfg(test)]
mod alloc_model;
mod image;
mod link;
mod memory;
mod store;

pub use image::RowImage;
pub(crate) use link::{Link, slot_size};
pub use link::{MAX_ROW_BYTES, PAGE_SIZE, PageId};
pub(crate) use store::{Replaced, RowCell, RowStore, StageError, Staged, Version, deserialize};
