//! Applying one of the primary's commits to a follower's tables: one
//! transaction, so readers see all of it or none of it, committed through
//! the follower's gate (`worktable_persist::replication::admit`).
//!
//! Each change is checked against what the follower holds — an insert
//! finds no row, an update or a delete finds one — and the commit must
//! take the primary's number. Any mismatch means the follower is not the
//! primary's state: [`ReplicaError::Diverged`], and nothing of the commit
//! is applied.
//!
//! Depends on: `error`.

use worktable_core::storage::{DatabaseTables, VisitTables};
use worktable_core::{ChangeKind, Database, Row, TableError, Transaction, TxTable, WorkTable};
use worktable_persist::{ConfirmedChange, ConfirmedCommit, replication};

use crate::error::ReplicaError;

/// Applies `commit` to `db`, whose last commit is the one before it.
pub(crate) async fn apply<D: DatabaseTables + Database>(
    db: &D,
    commit: &ConfirmedCommit,
) -> Result<(), ReplicaError> {
    let mut stage = Stage {
        commit,
        tx: None,
        staged: 0,
        error: None,
    };
    db.visit(&mut stage);
    if let Some(error) = stage.error {
        return Err(error);
    }
    if stage.staged != commit.changes.len() {
        return Err(diverged(
            commit.number,
            "a change names a table this database does not have",
        ));
    }
    let tx = stage
        .tx
        .ok_or_else(|| diverged(commit.number, "a commit without changes"))?;
    let number = replication::admit(tx.commit())
        .await
        .map_err(|error| diverged(commit.number, &error.to_string()))?;
    if number == commit.number {
        Ok(())
    } else {
        // Committed with another number: the follower's numbering is no
        // longer the primary's. Reported; the caller reloads.
        Err(diverged(commit.number, &format!("committed as {number}")))
    }
}

/// Stages a commit's changes, table by table, in one transaction.
struct Stage<'db, 'c> {
    commit: &'c ConfirmedCommit,
    tx: Option<Transaction<'db>>,
    staged: usize,
    error: Option<ReplicaError>,
}

impl<'db> VisitTables<'db> for Stage<'db, '_> {
    fn table<R: Row>(&mut self, slot: usize, _field: &'static str, table: &'db WorkTable<R>) {
        if self.error.is_some() {
            return;
        }
        let mut changes = self
            .commit
            .changes
            .iter()
            .filter(|change| usize::from(change.table) == slot)
            .peekable();
        if changes.peek().is_none() {
            return;
        }
        let tx = self.tx.get_or_insert_with(|| Transaction::begin(table));
        let part = TxTable::new(table, tx);
        for change in changes {
            if let Err(reason) = stage_change(&part, change) {
                self.error = Some(diverged(self.commit.number, &reason));
                return;
            }
            self.staged += 1;
        }
    }
}

fn stage_change<R: Row>(part: &TxTable<'_, R>, change: &ConfirmedChange) -> Result<(), String> {
    let event = change
        .event::<R>()
        .map_err(|error| format!("change {}: {error}", change.seq))?;
    let found = |what: &str| {
        format!(
            "change {}: {:?} of {}, found {what}",
            change.seq,
            event.kind(),
            R::TABLE_NAME
        )
    };
    // Each write reads the row once, as the check: an insert must find
    // none (`upsert` keeps the row's own key, where `insert` would draw
    // one from a generator), an update or a delete must find one.
    let written = match (event.kind(), event.after()) {
        (ChangeKind::Insert, Some(after)) => match part.upsert(after.get()) {
            Ok(Some(_)) => return Err(found("a row")),
            other => other.map(drop),
        },
        (ChangeKind::Update, Some(after)) => part.update(after.get()).map(drop),
        (ChangeKind::Delete, None) => part.delete(event.pk()).map(drop),
        // `event` checks the images against the kind: never taken.
        _ => return Err(found("images of another kind")),
    };
    written.map_err(|error| match error {
        TableError::NotFound { .. } => found("no row"),
        error => format!("change {}: {error}", change.seq),
    })
}

fn diverged(commit: u64, reason: &str) -> ReplicaError {
    ReplicaError::Diverged {
        commit,
        reason: reason.to_owned(),
    }
}
