//! This project as a database: a [`DurableDatabase`] of one table of
//! [`User`]s with [`Durability::Sync`]; writers are tokio tasks. The same
//! inserts as [`super::worktable`], through the database's one log.

use std::path::Path;

use worktable_core::prelude::*;
use worktable_persist::{Durability, DurableDatabase, Options};

use super::{DurableSystem, Writers};
use crate::{User, block_on};

/// The database: one table.
#[derive(Database, Debug)]
pub struct Users {
    /// Every inserted row.
    pub users: WorkTable<User>,
}

/// A [`DurableDatabase`] of [`Users`] opened with [`Durability::Sync`]: an
/// insert returns once its commit is synced, and concurrent commits share
/// a sync.
#[derive(Debug)]
pub struct WorktableDb {
    db: DurableDatabase<Users>,
}

impl DurableSystem for WorktableDb {
    const NAME: &'static str = "worktable_db";
    const WRITERS: Writers = Writers::Tasks;

    fn open(dir: &Path) -> Self {
        Self {
            db: open(dir, Durability::Sync),
        }
    }

    async fn insert(&self, user: User) {
        self.db.users.insert(user).await.expect("durable insert");
    }

    fn close(self) {
        block_on(self.db.close()).expect("the database closes");
    }

    fn stored_rows(dir: &Path) -> usize {
        let db = open(dir, Durability::None);
        let rows = db.users.len();
        block_on(db.close()).expect("the database closes");
        rows
    }
}

/// Opens the database in `dir`.
///
/// # Panics
///
/// If it cannot be opened.
fn open(dir: &Path, durability: Durability) -> DurableDatabase<Users> {
    DurableDatabase::open(dir, Options::durability(durability)).expect("the database opens")
}
