//! Bulk load: `rows` accounts (the bank's `accounts` table: a key, a
//! unique owner, a balance) written durably in one step — worktable's
//! `DurableDatabase::create_loaded` (the rows straight into the tables,
//! written as the new database's first checkpoint) against SQLite
//! inserting them in one transaction (`BEGIN`, a cached `INSERT` per row,
//! `COMMIT`: WAL, `synchronous=FULL`, the same unique index).

use std::path::Path;

use rusqlite::params;
use worktable_persist::{Durability, DurableDatabase, Options};

use super::{Bank, account};

/// Rows loaded per measured iteration: 1,000,000, or 100,000 in quick
/// mode.
pub fn bulk_rows(mode: crate::Mode) -> usize {
    match mode {
        crate::Mode::Quick => 100_000,
        crate::Mode::Default | crate::Mode::Large => 1_000_000,
    }
}

/// Creates a database in the new directory `dir` holding `rows` accounts;
/// returns once they are durable. The database is returned to be dropped
/// outside the timing.
///
/// # Panics
///
/// If the load fails.
pub fn worktable(dir: &Path, rows: usize) -> DurableDatabase<Bank> {
    let options = Options::durability(Durability::Sync)
        .checkpoint_interval(None)
        .checkpoint_after_log_bytes(u64::MAX);
    DurableDatabase::<Bank>::create_loaded(dir, options, |load| {
        load.rows(|bank| &bank.accounts, (0..rows as u32).map(account))?;
        Ok(())
    })
    .expect("the load succeeds")
}

/// Creates an SQLite database in `dir` holding `rows` accounts, inserted in
/// one transaction; returns once the commit is durable.
///
/// # Panics
///
/// If SQLite fails.
pub fn sqlite(dir: &Path, rows: usize) {
    let connection = super::sqlite::connect(dir);
    connection
        .execute_batch(super::sqlite::SCHEMA)
        .expect("schema is valid");
    connection
        .execute_batch("BEGIN")
        .expect("a transaction begins");
    {
        let mut insert = connection
            .prepare("INSERT INTO accounts (id, owner, balance) VALUES (?1, ?2, ?3)")
            .expect("valid SQL");
        for id in 0..rows as u32 {
            let row = account(id);
            insert
                .execute(params![row.id, row.owner, row.balance])
                .expect("a fresh account");
        }
    }
    connection.execute_batch("COMMIT").expect("the rows commit");
}

#[cfg(test)]
mod tests {
    #[test]
    fn both_loads_hold_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let db = super::worktable(&dir.path().join("w"), 1_000);
        assert_eq!(db.accounts.len(), 1_000);
        drop(db);
        std::fs::create_dir(dir.path().join("s")).unwrap();
        super::sqlite(&dir.path().join("s"), 1_000);
        let connection = super::super::sqlite::connect(&dir.path().join("s"));
        let count: i64 = connection
            .query_row("SELECT count(*) FROM accounts", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 1_000);
    }
}
