//! What this crate's integration tests need from its internals: the
//! file-system layer with a simulated disk that can lose unsynced writes
//! and inject I/O failures, the codec entry points that read and craft a
//! table's files byte by byte, and the log writer's counters.
//!
//! Enabled by the `testing` feature, which the crate's own tests turn on
//! through a dev-dependency on the crate itself. Not a stable API, and not
//! meant for use outside tests: a table is opened on a file system of the
//! test's choosing with
//! [`PersistentTable::open_in`](crate::PersistentTable::open_in).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use worktable_core::prelude::*;
//! use worktable_persist::testing::vfs::{PowerCut, SimFs};
//! use worktable_persist::{Durability, Options, PersistentTable};
//!
//! #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
//! #[rkyv(crate = worktable_core::rkyv)]
//! struct Note {
//!     #[pk]
//!     id: u64,
//! }
//!
//! let disk = SimFs::new();
//! let dir = std::path::Path::new("/notes");
//! let options = Options::durability(Durability::Sync);
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! rt.block_on(async {
//!     let notes = PersistentTable::<Note>::open_in(Arc::new(disk.clone()), dir, options)?;
//!     notes.insert(Note { id: 1 }).await?;
//!     // The power fails: what was synced survives.
//!     let after = disk.power_cut(PowerCut::KeepSynced, 7);
//!     drop(notes);
//!     let notes = PersistentTable::<Note>::open_in(Arc::new(after), dir, options)?;
//!     assert_eq!(notes.get(&1), Some(Note { id: 1 }));
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use crate::table::LogStats;

pub mod vfs {
    //! The file-system layer a table runs on: the real file system, a
    //! simulated disk, and the trait both implement.

    pub use crate::vfs::{
        Fault, InjectedFault, LockError, Mapped, PowerCut, RealFs, SimFs, SimStats, Vfs, VfsFile,
    };
}

pub mod log {
    //! The write-ahead log segments' codec: a segment's header and records,
    //! encoded and scanned.

    pub use crate::log::{
        EncodeError, End, HEADER_LEN, Place, Record, Scan, SegmentHeader, Stamp, Tail,
        encode_header, encode_placed, encode_record, scan,
    };
}

pub mod meta {
    //! The metadata file, read from a table directory.

    pub use crate::meta::{
        FILE_NAME, Meta, MetaError, StoredField, StoredIndex, StoredKeySource, StoredSchema, read,
    };
}

pub mod pages {
    //! The page file's frames and the checkpoint manifests' codec.

    pub use crate::pages::{
        FRAME_LEN, Manifest, PAGE_FILE_NAME, PageEntry, RowSlot, decode_manifest, frame_offset,
        manifest_name,
    };
}
