//! The row-lock API, one behaviour at a time: `update_with`, `RowGuard`, `lock_all`, the
//! multi-row writes (`update_all_by`, `update_range`, `delete_all_by`, `delete_range`),
//! and cancellation of lock waiters and holders. Each failed write leaves the row and
//! every index as they were, and no lock outlives its holder or waiter.
//!
//! Also home of [`timeout`] and [`sleep`], shared with `concurrent_stress`, and of the
//! players table and [`settled`], shared with `writes_under_own_guard`.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use worktable_core::IndexStats;
use worktable_core::prelude::*;

/// A player: a unique nick, a non-unique team.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "players")]
pub(crate) struct Player {
    #[pk]
    pub(crate) id: u32,
    #[index(unique)]
    pub(crate) nick: String,
    #[index]
    pub(crate) team: u32,
    pub(crate) score: i64,
}

pub(crate) fn player(id: u32) -> Player {
    Player {
        id,
        nick: format!("p{id}"),
        team: id % 3,
        score: i64::from(id) * 10,
    }
}

/// Players 1..=10; team `id % 3`, so team 0 is [3, 6, 9], team 1 is [1, 4, 7, 10] and
/// team 2 is [2, 5, 8].
pub(crate) async fn players() -> Arc<WorkTable<Player>> {
    let table = WorkTable::new();
    for id in 1..=10 {
        table.insert(player(id)).await.unwrap();
    }
    Arc::new(table)
}

/// A table whose keys come from `#[pk(autoincrement)]`.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "tickets")]
struct Ticket {
    #[pk(autoincrement)]
    id: u64,
    #[index(unique)]
    code: String,
}

pub(crate) use tokio::time::{sleep, timeout};

/// How long a test lets a write that must wait for a lock try to finish.
pub(crate) const WAITS: Duration = Duration::from_millis(50);

/// A bound for futures that must finish; reaching it means a lost wake-up or a deadlock.
pub(crate) const MUST_FINISH: Duration = Duration::from_secs(10);

/// Everything observable about a table: its rows in order and its index statistics.
#[derive(Debug, PartialEq)]
pub(crate) struct Snapshot<R> {
    rows: Vec<R>,
    /// Name, uniqueness and entry count of each index (its memory estimate
    /// follows hash-map capacity, which a rolled-back write may have grown).
    indexes: Vec<(&'static str, bool, usize)>,
}

/// Checks integrity and that no lock is left, then snapshots `table`.
pub(crate) fn settled<R: Row + Clone>(table: &WorkTable<R>) -> Snapshot<R> {
    table.check_integrity().unwrap();
    let stats = table.stats();
    assert_eq!(stats.locked_rows, 0, "a lock outlived its holder");
    assert_eq!(stats.rows, table.len());
    for index in &stats.indexes {
        assert_eq!(index.entries, table.len(), "index {}", index.name);
    }
    Snapshot {
        rows: table.iter().collect(),
        indexes: index_counts(&stats.indexes),
    }
}

fn ids(rows: impl IntoIterator<Item = Player>) -> Vec<u32> {
    rows.into_iter().map(|p| p.id).collect()
}

// --- update_with -------------------------------------------------------------------

#[tokio::test]
async fn update_with_returns_what_the_closure_returns() {
    let table = players().await;
    let doubled = table
        .update_with(&3, |p| {
            p.score *= 2;
            p.score
        })
        .await
        .unwrap();
    assert_eq!(doubled, 60);
    assert_eq!(table.get(&3).unwrap().score, 60);
    let nick = table.update_with(&4, |p| p.nick.clone()).await.unwrap();
    assert_eq!(nick, "p4");
    assert_eq!(
        table.get(&4),
        Some(player(4)),
        "reading only changes nothing"
    );
    settled(&table);
}

#[tokio::test]
async fn update_with_moves_the_row_to_its_new_index_keys() {
    let table = players().await;
    table
        .update_with(&4, |p| {
            p.team = 2;
            p.nick = "four".to_owned();
        })
        .await
        .unwrap();
    assert_eq!(ids(table.find_by(Player::TEAM, &1)), [1, 7, 10]);
    assert_eq!(ids(table.find_by(Player::TEAM, &2)), [2, 4, 5, 8]);
    assert_eq!(table.get_by(Player::NICK, "p4"), None);
    assert_eq!(table.get_by(Player::NICK, "four").unwrap().id, 4);
    let keys: Vec<u32> = table.range_by(Player::TEAM, ..).map(|p| p.team).collect();
    assert_eq!(keys, [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]);
    settled(&table);
}

#[tokio::test]
async fn update_with_a_taken_unique_key_fails_and_changes_nothing() {
    let table = players().await;
    let before = settled(&table);
    let error = table
        .update_with(&4, |p| {
            p.team = 9;
            p.score = -1;
            p.nick = "p5".to_owned();
        })
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            TableError::DuplicateKey {
                table: "players",
                index: "nick",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(settled(&table), before);
    assert_eq!(table.get_by(Player::NICK, "p4"), Some(player(4)));
    assert_eq!(table.get_by(Player::NICK, "p5"), Some(player(5)));
    assert!(table.find_by(Player::TEAM, &9).is_empty());
}

#[tokio::test]
async fn update_with_changing_the_primary_key_fails_and_changes_nothing() {
    let table = players().await;
    let before = settled(&table);
    let error = table
        .update_with(&4, |p| {
            p.id = 99;
            p.nick = "ninety-nine".to_owned();
            p.team = 9;
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TableError::PkChanged { table: "players", pk, new_pk } if pk == "4" && new_pk == "99"),
        "{error:?}"
    );
    assert_eq!(settled(&table), before);
    assert_eq!(table.get(&99), None);
    assert_eq!(table.get_by(Player::NICK, "ninety-nine"), None);
}

#[tokio::test]
async fn update_with_on_a_missing_row_is_not_found_and_skips_the_closure() {
    let table = players().await;
    let before = settled(&table);
    let mut called = false;
    let error = table.update_with(&42, |_| called = true).await.unwrap_err();
    assert!(
        matches!(
            &error,
            TableError::NotFound {
                table: "players",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!called);
    assert_eq!(settled(&table), before);
}

// --- RowGuard ----------------------------------------------------------------------

#[tokio::test]
async fn a_guard_reads_and_writes_its_row() {
    let table = players().await;
    let mut guard = table.lock(&2).await.unwrap();
    assert_eq!(table.stats().locked_rows, 1);
    assert_eq!(*guard.pk(), 2);
    assert_eq!(guard.get(), Some(player(2)));
    assert_eq!(guard.read(|p| p.score.to_native()), Some(20));

    let score = guard
        .update_with(|p| {
            p.score += 1;
            p.score
        })
        .await;
    assert_eq!(score.unwrap(), 21);
    let previous = guard
        .update(Player {
            team: 0,
            ..player(2)
        })
        .await
        .unwrap();
    assert_eq!(previous.score, 21);
    assert_eq!(ids(table.find_by(Player::TEAM, &0)), [2, 3, 6, 9]);

    let replaced = guard
        .upsert(Player {
            nick: "two".to_owned(),
            ..player(2)
        })
        .await;
    assert_eq!(replaced.unwrap().unwrap().team, 0);
    assert_eq!(table.get_by(Player::NICK, "two").unwrap().id, 2);

    let deleted = guard.delete().await.unwrap();
    assert_eq!(deleted.nick, "two");
    assert_eq!(guard.get(), None);
    assert!(matches!(
        guard.delete().await,
        Err(TableError::NotFound {
            table: "players",
            ..
        })
    ));
    assert!(matches!(
        guard.update(player(2)).await,
        Err(TableError::NotFound {
            table: "players",
            ..
        })
    ));
    assert!(matches!(
        guard.update_with(|p| p.score = 0).await,
        Err(TableError::NotFound {
            table: "players",
            ..
        })
    ));

    // The row is absent: upsert takes the insert path.
    assert_eq!(guard.upsert(player(2)).await.unwrap(), None);
    assert_eq!(guard.get(), Some(player(2)));
    drop(guard);
    let after = settled(&table);
    assert_eq!(ids(after.rows), (1..=10).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_guard_of_an_absent_row_inserts_it_and_tells_the_key_generator() {
    let table = WorkTable::<Ticket>::new();
    for n in 0..3 {
        let pk = table
            .insert(Ticket {
                id: 0,
                code: format!("t{n}"),
            })
            .await
            .unwrap();
        assert_eq!(pk, n + 1);
    }
    let mut guard = table.lock(&100).await.unwrap();
    assert_eq!(guard.get(), None);
    let upserted = guard
        .upsert(Ticket {
            id: 100,
            code: "hundred".to_owned(),
        })
        .await;
    assert_eq!(upserted.unwrap(), None);
    drop(guard);
    assert_eq!(table.get_by(Ticket::CODE, "hundred").unwrap().id, 100);
    let next = table
        .insert(Ticket {
            id: 0,
            code: "after".to_owned(),
        })
        .await
        .unwrap();
    assert!(next > 100, "the generator handed out {next}");
    settled(&table);
}

#[tokio::test]
async fn guard_writes_of_a_row_with_another_key_are_refused() {
    let table = players().await;
    let before = settled(&table);
    let mut guard = table.lock(&2).await.unwrap();
    let other = Player {
        nick: "x".to_owned(),
        ..player(3)
    };
    for result in [
        guard.update(other.clone()).await.map(drop),
        guard.upsert(other.clone()).await.map(drop),
        guard.update_with(|p| p.id = 3).await,
    ] {
        let error = result.unwrap_err();
        assert!(
            matches!(&error, TableError::PkChanged { pk, new_pk, .. } if pk == "2" && new_pk == "3"),
            "{error:?}"
        );
    }
    drop(guard);
    assert_eq!(settled(&table), before);

    // With the row absent, upsert with another key is refused too: nothing is inserted.
    table.delete(&2).await.unwrap();
    let before = settled(&table);
    let mut guard = table.lock(&2).await.unwrap();
    assert!(matches!(
        guard.upsert(player(11)).await,
        Err(TableError::PkChanged { .. })
    ));
    drop(guard);
    assert_eq!(settled(&table), before);
    assert_eq!(table.get(&11), None);
}

#[tokio::test]
async fn writers_of_a_locked_row_wait_for_the_guard_and_see_its_write() {
    let table = players().await;
    let mut guard = table.lock(&1).await.unwrap();

    let mut increment = tokio::spawn({
        let table = Arc::clone(&table);
        async move {
            table
                .update_with(&1, |p| {
                    p.score += 1;
                    p.score
                })
                .await
        }
    });
    let mut relock = tokio::spawn({
        let table = Arc::clone(&table);
        async move {
            let guard = table.lock(&1).await.unwrap();
            guard.get().unwrap().score
        }
    });
    assert!(
        timeout(WAITS, &mut increment).await.is_err(),
        "update_with finished while another task held the row's lock"
    );
    assert!(
        timeout(WAITS, &mut relock).await.is_err(),
        "lock finished while another task held the row's lock"
    );
    // A writer of another row does not wait.
    let other = timeout(MUST_FINISH, table.update_with(&2, |p| p.score = 7)).await;
    other.expect("a write to another row waited").unwrap();

    // Written after the waiters queued up: they must see it, not overwrite it.
    guard.update_with(|p| p.score = 100).await.unwrap();
    assert_eq!(table.stats().locked_rows, 1);
    drop(guard);

    let incremented = timeout(MUST_FINISH, increment).await.unwrap().unwrap();
    let relocked = timeout(MUST_FINISH, relock).await.unwrap().unwrap();
    assert_eq!(incremented.unwrap(), 101);
    // The two waiters ran in either order.
    assert!(relocked == 100 || relocked == 101, "{relocked}");
    assert_eq!(table.get(&1).unwrap().score, 101);
    assert_eq!(table.get(&2).unwrap().score, 7);
    settled(&table);
}

#[tokio::test]
async fn readers_do_not_wait_for_a_guard_and_see_committed_versions() {
    let table = players().await;
    let mut guard = table.lock(&1).await.unwrap();

    // Read on another thread, so that a reader that waited would fail the test
    // instead of hanging it.
    let read_elsewhere = |table: &Arc<WorkTable<Player>>| {
        let table = Arc::clone(table);
        let (done, result) = mpsc::channel();
        std::thread::spawn(move || {
            let seen = (
                table.get(&1).map(|p| p.score),
                table.read(&1, |p| p.score.to_native()),
                table.get_by(Player::NICK, "p1").map(|p| p.score),
                ids(table.find_by(Player::TEAM, &1)),
                table.range(1..=1).map(|p| p.score).collect::<Vec<_>>(),
                table.iter().count(),
            );
            done.send(seen).unwrap();
        });
        result
            .recv_timeout(MUST_FINISH)
            .expect("a reader waited for the row lock")
    };

    let seen = read_elsewhere(&table);
    assert_eq!(
        seen,
        (
            Some(10),
            Some(10),
            Some(10),
            vec![1, 4, 7, 10],
            vec![10],
            10
        )
    );

    // A guard's write is committed when it returns, not when the guard is dropped.
    guard
        .update_with(|p| {
            p.score = 11;
            p.team = 2;
        })
        .await
        .unwrap();
    let seen = read_elsewhere(&table);
    assert_eq!(
        seen,
        (Some(11), Some(11), Some(11), vec![4, 7, 10], vec![11], 10)
    );
    drop(guard);
    settled(&table);
}

// --- lock_all ----------------------------------------------------------------------

#[tokio::test]
async fn lock_all_sorts_and_deduplicates_the_keys() {
    let table = players().await;
    let guards = table.lock_all([9, 2, 42, 5, 2, 9, 1]).await.unwrap();
    let pks: Vec<u32> = guards.iter().map(|g| *g.pk()).collect();
    assert_eq!(pks, [1, 2, 5, 9, 42]);
    assert_eq!(table.stats().locked_rows, 5);
    assert_eq!(guards[4].get(), None, "a guard of an absent row");
    assert_eq!(guards[3].get(), Some(player(9)));

    // Each key's lock is held: another task's writer of one of them waits.
    let mut writer = tokio::spawn({
        let table = Arc::clone(&table);
        async move { table.update_with(&5, |p| p.score = 0).await }
    });
    assert!(timeout(WAITS, &mut writer).await.is_err());
    drop(guards);
    assert!(table.lock_all(Vec::new()).await.unwrap().is_empty());
    timeout(MUST_FINISH, writer)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(table.get(&5).unwrap().score, 0);
    settled(&table);
}

#[tokio::test]
async fn two_lock_all_calls_with_reversed_keys_both_finish() {
    const ROUNDS: i64 = 200;
    let table = players().await;
    let transfer = |keys: Vec<u32>| {
        let table = Arc::clone(&table);
        tokio::spawn(async move {
            for _ in 0..ROUNDS {
                let mut guards = table.lock_all(keys.iter().copied()).await.unwrap();
                // Hold every lock across an await, so that the other task runs meanwhile.
                tokio::task::yield_now().await;
                for guard in &mut guards {
                    guard.update_with(|p| p.score += 1).await.unwrap();
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let forward = transfer((1..=10).collect());
    let backward = transfer((1..=10).rev().collect());
    let both = timeout(MUST_FINISH, async {
        forward.await.unwrap();
        backward.await.unwrap();
    });
    both.await.expect("lock_all calls deadlocked");
    for id in 1..=10 {
        assert_eq!(
            table.get(&id).unwrap().score,
            i64::from(id) * 10 + 2 * ROUNDS
        );
    }
    settled(&table);
}

// --- multi-row writes --------------------------------------------------------------

#[tokio::test]
async fn update_all_by_changes_every_row_of_a_key_in_primary_key_order() {
    let table = players().await;
    let mut visited = Vec::new();
    let changed = table
        .update_all_by(Player::TEAM, &1, |p| {
            visited.push(p.id);
            p.score += 1000;
        })
        .await
        .unwrap();
    assert_eq!(changed, 4);
    assert_eq!(visited, [1, 4, 7, 10]);
    for id in 1..=10 {
        let expected = player(id).score + if id % 3 == 1 { 1000 } else { 0 };
        assert_eq!(table.get(&id).unwrap().score, expected, "row {id}");
    }
    let none = table.update_all_by(Player::TEAM, &7, |_| unreachable!());
    assert_eq!(none.await.unwrap(), 0);

    // A unique index selects at most one row, by a borrowed key.
    let one = table.update_all_by(Player::NICK, "p2", |p| p.score = -2);
    assert_eq!(one.await.unwrap(), 1);
    assert_eq!(table.get(&2).unwrap().score, -2);
    settled(&table);
}

#[tokio::test]
async fn update_all_by_can_change_the_key_it_selects_by() {
    let table = players().await;
    let changed = table.update_all_by(Player::TEAM, &1, |p| p.team = 2);
    assert_eq!(changed.await.unwrap(), 4);
    assert!(table.find_by(Player::TEAM, &1).is_empty());
    assert_eq!(ids(table.find_by(Player::TEAM, &2)), [1, 2, 4, 5, 7, 8, 10]);

    // Moving rows into the selected key, and renaming unique keys one by one.
    let changed = table.update_all_by(Player::TEAM, &2, |p| {
        p.team = 0;
        p.nick = format!("{}-moved", p.nick);
    });
    assert_eq!(changed.await.unwrap(), 7);
    assert_eq!(table.find_by(Player::TEAM, &0).len(), 10);
    assert_eq!(table.get_by(Player::NICK, "p5-moved").unwrap().id, 5);
    assert_eq!(table.get_by(Player::NICK, "p5"), None);
    assert_eq!(table.get_by(Player::NICK, "p3").unwrap().id, 3);
    settled(&table);
}

#[tokio::test]
async fn update_range_changes_the_rows_of_a_key_range_in_order() {
    let table = players().await;
    let mut visited = Vec::new();
    let changed = table.update_range(3..=6, |p| {
        visited.push(p.id);
        p.score = -p.score;
        p.team = 5;
    });
    assert_eq!(changed.await.unwrap(), 4);
    assert_eq!(visited, [3, 4, 5, 6]);
    assert_eq!(ids(table.find_by(Player::TEAM, &5)), [3, 4, 5, 6]);
    assert_eq!(table.get(&4).unwrap().score, -40);
    assert_eq!(table.get(&7), Some(player(7)));

    assert_eq!(
        table.update_range(20.., |_| unreachable!()).await.unwrap(),
        0
    );
    let everything = table.update_range(.., |p| p.score += 1);
    assert_eq!(everything.await.unwrap(), 10);
    assert_eq!(table.get(&10).unwrap().score, 101);
    settled(&table);
}

#[tokio::test]
async fn delete_all_by_and_delete_range_return_the_deleted_rows_in_order() {
    let table = players().await;
    let gone = table.delete_all_by(Player::TEAM, &0).await.unwrap();
    assert_eq!(gone, [player(3), player(6), player(9)]);
    assert!(table.find_by(Player::TEAM, &0).is_empty());
    assert_eq!(table.get_by(Player::NICK, "p6"), None);

    let gone = table.delete_range(2..=5).await.unwrap();
    assert_eq!(ids(gone), [2, 4, 5]);
    let gone = table.delete_all_by(Player::NICK, "p7").await.unwrap();
    assert_eq!(ids(gone), [7]);
    assert!(
        table
            .delete_all_by(Player::TEAM, &0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(table.delete_range(11..).await.unwrap().is_empty());

    let after = settled(&table);
    assert_eq!(ids(after.rows), [1, 8, 10]);
    assert_eq!(ids(table.find_by(Player::TEAM, &1)), [1, 10]);
    // The freed unique keys can be taken again.
    table.insert(player(3)).await.unwrap();
    table
        .insert(Player {
            id: 30,
            ..player(6)
        })
        .await
        .unwrap();
    settled(&table);
}

#[tokio::test]
async fn a_failing_row_stops_update_all_by_with_earlier_rows_changed() {
    let table = players().await;
    // Team 1 is [1, 4, 7, 10]; row 7 takes row 2's nick.
    let mut visited = Vec::new();
    let error = table
        .update_all_by(Player::TEAM, &1, |p| {
            visited.push(p.id);
            p.score += 1;
            if p.id == 7 {
                p.nick = "p2".to_owned();
            }
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TableError::DuplicateKey { index: "nick", .. }),
        "{error:?}"
    );
    assert_eq!(visited, [1, 4, 7], "the write stops at the failing row");
    assert_eq!(table.get(&1).unwrap().score, 11);
    assert_eq!(table.get(&4).unwrap().score, 41);
    assert_eq!(table.get(&7), Some(player(7)));
    assert_eq!(table.get(&10), Some(player(10)));
    assert_eq!(table.get_by(Player::NICK, "p2"), Some(player(2)));
    settled(&table);
}

#[tokio::test]
async fn a_failing_row_stops_update_range_with_earlier_rows_changed() {
    let table = players().await;
    let error = table
        .update_range(3..=7, |p| {
            p.score = 0;
            if p.id == 5 {
                p.id = 50;
            }
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&error, TableError::PkChanged { pk, new_pk, .. } if pk == "5" && new_pk == "50"),
        "{error:?}"
    );
    let scores: Vec<i64> = table.range(3..=7).map(|p| p.score).collect();
    assert_eq!(scores, [0, 0, 50, 60, 70]);
    assert_eq!(table.get(&50), None);
    settled(&table);
}

// --- cancellation ------------------------------------------------------------------

#[tokio::test]
async fn a_cancelled_lock_waiter_leaves_no_lock_behind() {
    let table = players().await;
    let guard = table.lock(&1).await.unwrap();

    // The waiters run in another task: this task's would be refused at once.
    let waiters = tokio::spawn({
        let table = Arc::clone(&table);
        async move {
            assert!(timeout(WAITS, table.lock(&1)).await.is_err());
            let mut applied = false;
            let write = table.update_with(&1, |p| {
                applied = true;
                p.score = -1;
            });
            tokio::select! {
                biased;
                _ = write => panic!("update_with finished while the row was locked"),
                _ = tokio::task::yield_now() => {}
            }
            assert!(!applied);
            assert!(timeout(WAITS, table.lock_all([0, 1, 2])).await.is_err());
        }
    });
    timeout(MUST_FINISH, waiters).await.unwrap().unwrap();
    assert_eq!(
        table.stats().locked_rows,
        1,
        "only the holder's lock is left; lock_all released row 0 it had taken"
    );

    drop(guard);
    let before = settled(&table);
    assert_eq!(before.rows[0], player(1));
    let again = timeout(MUST_FINISH, table.lock(&1)).await;
    drop(again.expect("the row can be locked again").unwrap());
    settled(&table);
}

#[tokio::test]
async fn an_aborted_task_releases_the_guard_it_held() {
    let table = players().await;
    let (locked, is_locked) = tokio::sync::oneshot::channel();
    let holder = tokio::spawn({
        let table = Arc::clone(&table);
        async move {
            let mut guard = table.lock(&1).await.unwrap();
            guard.update_with(|p| p.score = 1).await.unwrap();
            locked.send(()).unwrap();
            std::future::pending::<()>().await;
            drop(guard);
        }
    });
    is_locked.await.unwrap();
    assert_eq!(table.stats().locked_rows, 1);
    holder.abort();
    assert!(holder.await.unwrap_err().is_cancelled());
    assert_eq!(table.stats().locked_rows, 0);
    let written = timeout(MUST_FINISH, table.update_with(&1, |p| p.score + 1)).await;
    assert_eq!(
        written.expect("the aborted holder kept the lock").unwrap(),
        2
    );
    settled(&table);
}

#[tokio::test]
async fn an_aborted_task_waiting_for_a_lock_leaves_no_lock_behind() {
    let table = players().await;
    let guard = table.lock(&1).await.unwrap();
    let waiters: Vec<_> = (0..4_u32)
        .map(|n| {
            let table = Arc::clone(&table);
            tokio::spawn(async move {
                if n.is_multiple_of(2) {
                    table.update_with(&1, |p| p.score = -1).await.unwrap();
                } else {
                    // Takes row 0's lock, then waits for row 1's.
                    let _guards = table.lock_all([0, 1]).await.unwrap();
                }
            })
        })
        .collect();
    // Let every waiter reach its lock.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(table.stats().locked_rows, 2);
    for waiter in &waiters {
        waiter.abort();
    }
    for waiter in waiters {
        assert!(waiter.await.unwrap_err().is_cancelled());
    }
    assert_eq!(table.stats().locked_rows, 1);
    drop(guard);
    let after = settled(&table);
    assert_eq!(after.rows[0], player(1), "no aborted write was applied");
    drop(
        timeout(MUST_FINISH, table.lock_all([0, 1]))
            .await
            .unwrap()
            .unwrap(),
    );
    settled(&table);
}

fn index_counts(indexes: &[IndexStats]) -> Vec<(&'static str, bool, usize)> {
    indexes
        .iter()
        .map(|index| (index.name, index.unique, index.entries))
        .collect()
}
