//! The contract between this crate and `worktable-replica`: what a replica
//! needs of a database beyond the public API. Hidden from the docs and not
//! a stable API: the crates are released together, and a change here is a
//! change of both.
//!
//! - [`open_follower`] reads a database directory (a restored backup) into
//!   memory as a follower: tables that refuse every commit but those run
//!   inside [`admit`], with [`WriteError::ReadOnly`]. A replica applies the
//!   primary's commits through `admit`; its users' writes are refused.
//! - [`create_promoted`] writes a follower's tables as a new durable
//!   database whose commits go on after a given number (promotion).
//!
//! What a replica may rely on: a follower opened from a backup taken at
//! commit `C` has `last_commit() == C`, and its next commit of `k` changes
//! is numbered `C + k`, as the primary numbered it (a commit's number is
//! the sequence number of its last change, numbers consecutive).
//!
//! Depends on: `database` (recovery, bulk load), `table` (errors).

use std::cell::Cell;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use worktable_core::events::{CommitBatch, DatabaseHook, Durable, Refusal};
use worktable_core::storage::{CommitOrder, DatabaseTables, VisitTables};
use worktable_core::{Row, WorkTable};

use crate::database::recover;
use crate::vfs::RealFs;
use crate::{DurableDatabase, LoadError, OpenError, Options, WriteError};

thread_local! {
    /// Set while this thread polls a commit future wrapped by [`admit`].
    static ADMITTING: Cell<bool> = const { Cell::new(false) };
}

/// Reads the database kept in `dir` into memory, as a follower whose
/// tables refuse every commit not run inside [`admit`]. Writes nothing to
/// `dir`, and keeps nothing of it open: `dir` may be removed afterwards.
/// **Blocking.**
///
/// # Errors
///
/// Those of [`ReadOnlyDatabase::open`](crate::ReadOnlyDatabase::open).
pub fn open_follower<D: DatabaseTables>(dir: &Path) -> Result<D, OpenError> {
    let gate = Arc::new(Gate {
        dir: dir.to_owned(),
    });
    crate::database::read_only::build_in_memory(&RealFs, dir, gate)
}

/// Runs `commit` (a commit of a follower's tables) with the follower's
/// gate open for it alone: commits other tasks or threads make meanwhile
/// are still refused.
pub fn admit<F: Future>(commit: F) -> impl Future<Output = F::Output> {
    Admit(Box::pin(commit))
}

struct Admit<F>(Pin<Box<F>>);

impl<F: Future> Future for Admit<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // The hook runs inside the poll of the commit it judges, on this
        // thread: only that poll sees the flag set.
        let before = ADMITTING.with(|flag| flag.replace(true));
        let polled = self.0.as_mut().poll(cx);
        ADMITTING.with(|flag| flag.set(before));
        polled
    }
}

/// A follower's commit hook: admits the commits [`admit`] runs.
struct Gate {
    dir: PathBuf,
}

impl DatabaseHook for Gate {
    fn on_commit(&self, _: &CommitBatch) -> Result<Option<Durable>, Refusal> {
        if ADMITTING.with(Cell::get) {
            Ok(None)
        } else {
            Err(Box::new(WriteError::ReadOnly {
                path: self.dir.clone(),
            }))
        }
    }
}

/// Creates a durable database in `dir` (new or empty) holding the rows of
/// `tables` (a follower's, which nothing may change meanwhile), written as
/// its first checkpoint, its commits numbered on after `commit`; opens it.
/// **Blocking.**
///
/// # Errors
///
/// Those of [`DurableDatabase::create_loaded`].
pub fn create_promoted<D: DatabaseTables>(
    dir: &Path,
    options: Options,
    tables: &D,
    commit: u64,
) -> Result<DurableDatabase<D>, LoadError> {
    DurableDatabase::create_loaded_after(Arc::new(RealFs), dir, options, commit, |load| {
        struct Copy<'l, 'a, D: DatabaseTables> {
            load: &'l mut crate::Loader<'a, D>,
            error: Option<LoadError>,
        }
        impl<D: DatabaseTables> VisitTables<'_> for Copy<'_, '_, D> {
            fn table<R: Row>(&mut self, slot: usize, _: &'static str, table: &WorkTable<R>) {
                if self.error.is_none()
                    && let Err(error) = self.load.rows_at(slot, table.iter())
                {
                    self.error = Some(error);
                }
            }
        }
        let mut copy = Copy { load, error: None };
        tables.visit(&mut copy);
        copy.error.map_or(Ok(()), Err)
    })
}

/// A follower with empty tables at commit 0 (a stream that starts at the
/// primary's first commit).
pub fn empty_follower<D: DatabaseTables>() -> D {
    struct Empty<'a>(&'a Arc<CommitOrder>);
    impl worktable_core::storage::BuildTables for Empty<'_> {
        type Error = std::convert::Infallible;
        fn table<R: Row>(
            &mut self,
            _: usize,
            _: &'static str,
        ) -> Result<WorkTable<R>, Self::Error> {
            Ok(worktable_core::storage::TableRestore::<R>::new()
                .finish_in(self.0)
                .expect("an empty restore always finishes"))
        }
    }
    let order = CommitOrder::restored(
        0,
        Arc::new(Gate {
            dir: PathBuf::from("(replica)"),
        }),
    );
    match D::build(&mut Empty(&order)) {
        Ok(db) => db,
        Err(never) => match never {},
    }
}

/// The fingerprint of `D`'s tables (their row types' schemas, in slot
/// order), as a database's log segments carry it.
pub fn schema_fingerprint<D: DatabaseTables>() -> u64 {
    recover::fingerprint(&recover::describe::<D>())
}
