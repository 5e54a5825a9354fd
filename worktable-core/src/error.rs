//! Errors of table operations.
//!
//! Depends on nothing else in core.

use std::fmt;

use rkyv::rancor;

/// Why a table operation failed.
///
/// # What a failed call leaves behind
///
/// * **A single-row write** — [`insert`](crate::WorkTable::insert),
///   [`update`](crate::WorkTable::update),
///   [`upsert`](crate::WorkTable::upsert),
///   [`delete`](crate::WorkTable::delete),
///   [`delete_by`](crate::WorkTable::delete_by),
///   [`update_with`](crate::WorkTable::update_with),
///   [`set_field`](crate::WorkTable::set_field) and the writes of a
///   [`RowGuard`](crate::RowGuard) — that fails with any error but
///   [`Durability`](Self::Durability) changes nothing: the row, every
///   index, the row count and the sequence numbers are as they were, and no
///   change event is sent. Only a key that `insert` drew from a key
///   generator is gone: it is not handed out again.
/// * **[`Durability`](Self::Durability)** comes after the change was made:
///   it is visible to readers, numbered and sent to subscribers; only the
///   commit hook could not make it durable.
/// * **A multi-row write** — [`update_all_by`](crate::WorkTable::update_all_by),
///   [`update_range`](crate::WorkTable::update_range),
///   [`delete_all_by`](crate::WorkTable::delete_all_by),
///   [`delete_range`](crate::WorkTable::delete_range),
///   [`Query::update_with`](crate::Query::update_with) and
///   [`Query::delete`](crate::Query::delete) — is not atomic.
///   [`LockedBySameTask`](Self::LockedBySameTask) comes before any row
///   changes. Any other error stops the write at the row that failed, which
///   is left as it was, while the rows changed before it stay changed (each
///   with its change event); a `Durability` error may concern any of them.
/// * [`WorkTable::from_rows`](crate::WorkTable::from_rows) keeps nothing on
///   error; [`lock`](crate::WorkTable::lock) and
///   [`lock_all`](crate::WorkTable::lock_all) fail only with
///   `LockedBySameTask`, holding no lock.
///
/// The messages print a key as its `Debug` text, shortened when it is long:
/// its first 100 characters, then `…` and the length of the whole text in
/// bytes. The variant's field holds the whole text.
///
/// ```
/// use worktable_core::TableError;
///
/// let error = TableError::DuplicateKey {
///     table: "users",
///     index: "email",
///     key: format!("{:?}", "x".repeat(60_000)),
/// };
/// let message = error.to_string();
/// assert!(message.ends_with("… (60002 bytes)"), "{message}");
/// assert!(message.len() < 200);
/// let TableError::DuplicateKey { key, .. } = error else { unreachable!() };
/// assert_eq!(key.len(), 60_002);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// An insert used a primary key that is already in the table.
    #[error("table `{table}`: a row with primary key {} already exists", Shortened(.pk))]
    DuplicatePk {
        /// The table's name.
        table: &'static str,
        /// The whole key, printed with `Debug` (the message shortens it).
        pk: String,
    },

    /// A write would give two rows the same key in a unique index.
    #[error(
        "table `{table}`: unique index `{index}` already has the key {}",
        Shortened(.key)
    )]
    DuplicateKey {
        /// The table's name.
        table: &'static str,
        /// The unique index's name.
        index: &'static str,
        /// The whole key, printed with `Debug` (the message shortens it).
        key: String,
    },

    /// No row has the key the operation needs.
    #[error("table `{table}`: no row with {}", Shortened(.key))]
    NotFound {
        /// The table's name.
        table: &'static str,
        /// Which key was looked for, e.g. `primary key 7` or `email = "a@b"`,
        /// whole (the message shortens it).
        key: String,
    },

    /// A write would change a row's primary key (inside `update_with`, or a
    /// row given to a [`RowGuard`](crate::RowGuard) for another key). A
    /// row's key never changes: delete the row and insert a new one.
    #[error(
        "table `{table}`: the write would change the primary key {} to {}; delete the row and insert a new one instead",
        Shortened(.pk),
        Shortened(.new_pk)
    )]
    PkChanged {
        /// The table's name.
        table: &'static str,
        /// The row's whole key, printed with `Debug` (the message shortens
        /// it).
        pk: String,
        /// The whole key the write tried to give it (the message shortens
        /// it).
        new_pk: String,
    },

    /// The row is locked by a [`RowGuard`](crate::RowGuard) that the calling
    /// task itself took, so the call — a write of the row, or
    /// [`lock`](crate::WorkTable::lock) / [`lock_all`](crate::WorkTable::lock_all)
    /// of it — would wait for that guard forever. It fails at once instead
    /// and changes nothing. Write through the guard
    /// ([`RowGuard::update`](crate::RowGuard::update) and its siblings) or
    /// drop the guard first. [`WorkTable::lock`](crate::WorkTable::lock)
    /// says exactly what is detected and what is not.
    #[error(
        "table `{table}`: the row with primary key {} is locked by a RowGuard that this same task holds, so this call would wait for it forever; write through the guard (RowGuard::update, update_with, upsert, delete) or drop the guard first",
        Shortened(.pk)
    )]
    LockedBySameTask {
        /// The table's name.
        table: &'static str,
        /// The locked row's whole key, printed with `Debug` (the message
        /// shortens it).
        pk: String,
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
    #[error(
        "table `{table}`: the change is committed in memory but could not be made durable: {source}"
    )]
    Durability {
        /// The table's name.
        table: &'static str,
        /// What the hook reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The commit hook refused the change at its commit point (e.g. a
    /// durable table whose write-ahead log can no longer be written): the
    /// change was not made and nothing of it is visible. A single-row write
    /// leaves the table as it was before the call; a multi-row write keeps
    /// the rows it changed before this one.
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

    /// A transaction read something that a commit made since the
    /// transaction began has changed, so it cannot commit as if it ran
    /// alone: nothing was written. Run it again (the closure form of a
    /// database's `transaction` does, a bounded number of times).
    #[error(
        "table `{table}`: a commit since the transaction began changed what it read; nothing was written, run it again"
    )]
    Conflict {
        /// The first table where a read of the transaction was changed.
        table: &'static str,
    },

    /// A write through a transaction that has already committed, or whose
    /// commit was abandoned (its future dropped) or failed: start a new
    /// transaction.
    #[error("the transaction has already committed or ended; start a new one")]
    TransactionEnded,
}

/// Displays a key's `Debug` text whole when it has at most
/// [`Shortened::MAX_CHARS`] characters, else its first `MAX_CHARS`
/// characters followed by `… (N bytes)`, N being the whole text's length:
/// an error message stays readable whatever the size of the key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shortened<'a>(pub(crate) &'a str);

impl Shortened<'_> {
    /// The most characters of a key a message prints.
    pub(crate) const MAX_CHARS: usize = 100;
}

impl fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(Self::MAX_CHARS) {
            None => f.write_str(self.0),
            Some((cut, _)) => write!(f, "{}… ({} bytes)", &self.0[..cut], self.0.len()),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::Shortened;

    #[test]
    fn a_short_key_prints_whole() {
        let key = "x".repeat(Shortened::MAX_CHARS);
        assert_eq!(Shortened(&key).to_string(), key);
        assert_eq!(Shortened("").to_string(), "");
    }

    #[test]
    fn a_long_key_prints_its_first_characters_and_its_length() {
        let key = "x".repeat(Shortened::MAX_CHARS + 1);
        let expected = format!("{}… (101 bytes)", "x".repeat(Shortened::MAX_CHARS));
        assert_eq!(Shortened(&key).to_string(), expected);
    }

    #[test]
    fn a_long_key_is_cut_on_a_char_boundary() {
        // Three bytes per character: the cut falls after 100 whole ones.
        let key = "€".repeat(150);
        let expected = format!("{}… (450 bytes)", "€".repeat(Shortened::MAX_CHARS));
        assert_eq!(Shortened(&key).to_string(), expected);
    }
}
