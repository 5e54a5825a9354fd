//! Every transfer system stores the transfers its writers ran, and the
//! reopen store reopens whole, with its logged changes.

use worktable_core::Database;
use worktable_persist::Durability;

use super::store::{self, Store};
use super::{
    ACCOUNTS, INITIAL_BALANCE, NAMES, TransferSystem, TransferVisitor, Transfers, split_among,
    visit_all,
};
use crate::durable::Runner;

#[test]
fn transfers_are_split_between_own_pairs() {
    let work = split_among(10, 4);
    assert_eq!(work.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 2, 2]);
    for (w, transfers) in work.iter().enumerate() {
        for transfer in transfers {
            let pair = [2 * w as u32, 2 * w as u32 + 1];
            assert!(pair.contains(&transfer.from) && pair.contains(&transfer.to));
            assert_ne!(transfer.from, transfer.to);
        }
    }
}

struct RoundTrips<'a> {
    runner: &'a Runner,
    visited: Vec<&'static str>,
}

impl TransferVisitor for RoundTrips<'_> {
    fn visit<S: TransferSystem>(&mut self) {
        for writers in [1, 4] {
            // One transfer per writer: each moves 1 from account 2w to 2w + 1.
            let work = split_among(writers, writers);
            let transfers = Transfers::<S>::open(self.runner, writers);
            transfers.run(&work);
            let dir = transfers.close();
            let stored = S::stored(dir.path());
            assert_eq!(stored.balances.len(), ACCOUNTS as usize, "{}", S::NAME);
            for (id, balance) in stored.balances {
                let expected = match id {
                    id if (id as usize) < 2 * writers && id % 2 == 0 => INITIAL_BALANCE - 1,
                    id if (id as usize) < 2 * writers => INITIAL_BALANCE + 1,
                    _ => INITIAL_BALANCE,
                };
                assert_eq!(balance, expected, "{} account {id}", S::NAME);
            }
            let mut ledger = stored.ledger;
            ledger.sort_unstable();
            let expected: Vec<(u32, i64)> = (0..writers as u32).map(|w| (2 * w, -1)).collect();
            assert_eq!(ledger, expected, "{} with {writers} writers", S::NAME);
        }
        self.visited.push(S::NAME);
    }
}

#[test]
fn a_transfer_of_every_system_round_trips() {
    let runner = Runner::new();
    let mut check = RoundTrips {
        runner: &runner,
        visited: Vec::new(),
    };
    visit_all(&mut check);
    assert_eq!(check.visited, NAMES, "NAMES follows the visiting order");
}

#[test]
fn the_store_reopens_with_its_rows_and_logged_changes() {
    let runner = Runner::new();
    let dir = runner.fresh_dir();
    let rows = 3_001;
    store::fill(dir.path(), rows);
    let db = store::open(dir.path(), Durability::Sync);
    assert_eq!(db.rows(), rows);
    let checkpointed = db.last_commit();
    drop(db);

    let last = store::log_changes(dir.path(), rows, 300);
    assert_eq!(last, checkpointed + 300);
    // Reopening replays the changes and leaves the directory as it was.
    for _ in 0..2 {
        let db = store::open(dir.path(), Durability::Sync);
        assert_eq!(db.rows(), rows);
        assert_eq!(db.last_commit(), last);
        let balances: i64 = db.accounts.iter().map(|a| a.balance).sum();
        let (_, accounts, _) = store::split(rows);
        let filled: i64 = (0..accounts as i64).map(|id| id % 1_000).sum();
        assert_eq!(balances, filled + 100);
        check(&db);
    }
}

fn check(db: &Store) {
    db.users.check_integrity().expect("users intact");
    db.accounts.check_integrity().expect("accounts intact");
    db.ledger.check_integrity().expect("ledger intact");
}
