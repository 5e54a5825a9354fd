//! [`Health`]: whether a durable table still takes writes.

use super::error::WriteError;

/// Whether a [`PersistentTable`](super::PersistentTable) still takes
/// writes, from [`health`](super::PersistentTable::health).
///
/// A table fails once its write-ahead log cannot be written or synced: from
/// then on it refuses every write before changing anything
/// ([`TableError::WriteRefused`](worktable_core::TableError::WriteRefused)),
/// no checkpoint completes, and it stays failed until it is closed and
/// opened again. Reads keep working.
#[derive(Debug)]
#[non_exhaustive]
pub enum Health {
    /// The log takes writes.
    Healthy,
    /// The log failed; the error says why (a [`WriteError::LogWrite`]).
    Failed(WriteError),
}

impl Health {
    /// Whether the table has failed and refuses writes.
    pub fn is_failed(&self) -> bool {
        matches!(self, Self::Failed(_))
    }

    /// The error the table failed with, if it has.
    pub fn error(&self) -> Option<&WriteError> {
        match self {
            Self::Healthy => None,
            Self::Failed(error) => Some(error),
        }
    }
}
