//! Looking into a durable directory without its Rust types and without
//! writing to it: what the `worktable` command-line tool (crate
//! `worktable-cli`) shows, as a library.
//!
//! [`Directory::open`] reads a table's or a database's metadata and lists
//! its log segments. From there:
//!
//! - [`Directory::tables`]: each table's name, schema (fields and types,
//!   primary key, indexes) and checkpoint generation;
//!   [`Directory::manifest`]: its checkpoint's pages and rows, page by page
//!   (how full each page is);
//! - [`Directory::log`]: each segment read through, with its records and
//!   how it ends;
//! - [`Directory::rows`]: a table's rows as opening it would rebuild them,
//!   each field a [`Value`];
//! - [`Directory::verify`]: every checksum, the log's numbering, and every
//!   row read field by field;
//! - [`Directory::backup`]: a checked copy of a directory no program has
//!   open.
//!
//! # Reading rows without their type
//!
//! Each row is an rkyv archive of the row type, and the metadata keeps a
//! description of that type: its fields and their types as the source
//! spelled them. For the types whose archived layout rkyv fixes, that
//! description is enough to read the bytes: `bool`, `char`, the integers
//! (`u8` to `u128`, `i8` to `i128`), `f32`, `f64`, `()`,
//! `String`, `Box<str>`, and `Option<T>`, `Vec<T>`, `Box<T>`, `Box<[T]>`,
//! `[T; N]` and tuples of them. A field of a type the program declares (a
//! struct, an enum, an alias) has a layout only that program knows:
//! [`Directory::rows`] then fails with [`InspectError::UnknownType`], and
//! the rows are read with their type through
//! [`ReadOnlyTable`](crate::ReadOnlyTable) or
//! [`ReadOnlyDatabase`](crate::ReadOnlyDatabase); [`Directory::verify`]
//! still checks every checksum.
//!
//! See [`Directory`] for an example.

mod backup;
mod decode;
mod directory;
mod error;
mod rows;
mod shape;
mod value;
mod verify;

#[cfg(test)]
mod tests;

pub use backup::BackupSummary;
pub use decode::DecodeError;
pub use directory::{Directory, DirectoryKind, SegmentFile, TableInfo};
pub use error::InspectError;
pub use rows::{Rows, SegmentEnd, SegmentSummary};
pub use value::Value;
pub use verify::{Problem, Verification};

pub use crate::meta::{StoredField, StoredIndex, StoredKeySource, StoredSchema};
pub use crate::pages::{Manifest, PageEntry, RowSlot};
