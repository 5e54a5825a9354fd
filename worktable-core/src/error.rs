//! Errors of table operations.

use rkyv::rancor;

/// Why a table operation failed. A failed operation changes nothing: every
/// index, the row storage and the key generator's visible state are as they
/// were before the call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// An insert used a primary key that is already in the table.
    #[error("table `{table}`: a row with primary key {pk} already exists")]
    DuplicatePk {
        /// The table's name.
        table: &'static str,
        /// The key, printed with `Debug`.
        pk: String,
    },

    /// A write would give two rows the same key in a unique index.
    #[error("table `{table}`: unique index `{index}` already has the key {key}")]
    DuplicateKey {
        /// The table's name.
        table: &'static str,
        /// The unique index's name.
        index: &'static str,
        /// The key, printed with `Debug`.
        key: String,
    },

    /// No row has the key the operation needs.
    #[error("table `{table}`: no row with {key}")]
    NotFound {
        /// The table's name.
        table: &'static str,
        /// Which key was looked for, e.g. `primary key 7` or `email = "a@b"`.
        key: String,
    },

    /// A write would change a row's primary key (inside `update_with`, or a
    /// row given to a [`RowGuard`](crate::RowGuard) for another key). A
    /// row's key never changes: delete the row and insert a new one.
    #[error(
        "table `{table}`: the write would change the primary key {pk} to {new_pk}; delete the row and insert a new one instead"
    )]
    PkChanged {
        /// The table's name.
        table: &'static str,
        /// The row's key, printed with `Debug`.
        pk: String,
        /// The key the write tried to give it.
        new_pk: String,
    },

    /// The row is larger than a page slot can be.
    #[error(
        "table `{table}`: the row takes {size} bytes when archived, and a row can take at most {max} bytes"
    )]
    RowTooLarge {
        /// The table's name.
        table: &'static str,
        /// The archived size of the row.
        size: usize,
        /// The largest archived size a table accepts.
        max: usize,
    },

    /// The row's rkyv `Serialize` implementation failed.
    #[error("table `{table}`: the row could not be serialized")]
    Serialize {
        /// The table's name.
        table: &'static str,
        /// What rkyv reported.
        #[source]
        source: rancor::Error,
    },

    /// The primary-key generator has no keys left (e.g. a `u8`
    /// autoincrement key after 255).
    #[error("table `{table}`: the primary-key generator has no keys left")]
    KeysExhausted {
        /// The table's name.
        table: &'static str,
    },

    /// The commit hook (e.g. a write-ahead log) could not make the change
    /// durable. The change is committed in memory: readers see it.
    #[error("table `{table}`: the change is committed in memory but could not be made durable")]
    Durability {
        /// The table's name.
        table: &'static str,
        /// What the hook reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The commit hook refused the change at its commit point (e.g. a
    /// durable table whose write-ahead log can no longer be written): the
    /// change was not made, nothing of it is visible, and the table is as
    /// it was before the call.
    #[error("table `{table}`: the change was refused and not made: {source}")]
    WriteRefused {
        /// The table's name.
        table: &'static str,
        /// Why the hook refused it.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The table has used every page id (more than 256 TiB of rows).
    #[error("table `{table}`: no page ids are left")]
    TableFull {
        /// The table's name.
        table: &'static str,
    },
}

/// `Result` with [`TableError`] as the default error.
pub type Result<T, E = TableError> = std::result::Result<T, E>;

/// [`WorkTable::check_integrity`](crate::WorkTable::check_integrity) found the
/// table's structures disagreeing with each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("table `{table}` is inconsistent: {detail}")]
pub struct IntegrityError {
    /// The table's name.
    pub table: &'static str,
    /// What disagrees.
    pub detail: String,
}
