//! A task's table writes of a row that its own `RowGuard` holds would wait for that
//! guard forever: each kind fails at once with `TableError::LockedBySameTask` and
//! changes nothing, in a spawned task and in the body of `block_on`, on current-thread
//! and multi-thread runtimes. Another task's writes of the row still wait for the guard
//! and then succeed, and writes through the guard work as before. What is documented
//! as not detected (a guard moved to another task, no runtime at all) behaves as
//! documented.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::FutureExt;
use worktable_core::prelude::*;

use crate::row_locks::{MUST_FINISH, Player, WAITS, player, players, settled, timeout};

/// One write of the table, its output dropped.
type Write<'t> = Pin<Box<dyn Future<Output = Result<(), TableError>> + Send + 't>>;

/// A write made by another task, given the table.
type Increment = fn(Arc<WorkTable<Player>>) -> Write<'static>;

/// Every kind of table write that touches row 2 (which exists: nick `p2`, team 2),
/// named. The range and query writes and `lock_all` select rows 1 to 3, so they have
/// locked row 1 when they reach row 2.
fn writes_of_row_2(table: &WorkTable<Player>) -> Vec<(&'static str, Write<'_>)> {
    let changed = Player {
        score: -1,
        ..player(2)
    };
    vec![
        (
            "insert",
            Box::pin(table.insert(changed.clone()).map(|r| r.map(drop))),
        ),
        (
            "update",
            Box::pin(table.update(changed.clone()).map(|r| r.map(drop))),
        ),
        (
            "upsert",
            Box::pin(table.upsert(changed).map(|r| r.map(drop))),
        ),
        ("delete", Box::pin(table.delete(&2).map(|r| r.map(drop)))),
        (
            "delete_by",
            Box::pin(table.delete_by(Player::NICK, "p2").map(|r| r.map(drop))),
        ),
        (
            "update_with",
            Box::pin(table.update_with(&2, |p| p.score = -1)),
        ),
        (
            "set_field",
            Box::pin(table.set_field(&2, Player::SCORE, -1).map(|r| r.map(drop))),
        ),
        (
            "update_all_by",
            Box::pin(
                table
                    .update_all_by(Player::TEAM, &2, |p| p.score = -1)
                    .map(|r| r.map(drop)),
            ),
        ),
        (
            "update_range",
            Box::pin(
                table
                    .update_range(1..=3, |p| p.score = -1)
                    .map(|r| r.map(drop)),
            ),
        ),
        (
            "delete_all_by",
            Box::pin(table.delete_all_by(Player::TEAM, &2).map(|r| r.map(drop))),
        ),
        (
            "delete_range",
            Box::pin(table.delete_range(1..=3).map(|r| r.map(drop))),
        ),
        (
            "query update_with",
            Box::pin(async move {
                let query = table.query().filter(|p| p.id <= 3);
                query.update_with(|p| p.score = -1).await.map(drop)
            }),
        ),
        (
            "query delete",
            Box::pin(async move {
                let query = table.query().filter(|p| p.id <= 3);
                query.delete().await.map(drop)
            }),
        ),
        ("lock", Box::pin(table.lock(&2).map(|r| r.map(drop)))),
        (
            "lock_all",
            Box::pin(table.lock_all([3, 2, 1]).map(|r| r.map(drop))),
        ),
    ]
}

/// Asserts that `result` is the refusal of a write of row `pk` of the players table.
fn assert_refused(what: &str, result: Result<(), TableError>, pk: u32) {
    match result {
        Err(TableError::LockedBySameTask {
            table: "players",
            pk: refused,
        }) if refused == pk.to_string() => {}
        other => panic!("{what}: expected LockedBySameTask for row {pk}, got {other:?}"),
    }
}

/// Takes row 2's guard, checks that every write kind of row 2 by this same task is
/// refused promptly while the table stays as it was, then that the guard still holds
/// the row and writes through it.
async fn every_write_of_its_guarded_row_is_refused(table: Arc<WorkTable<Player>>) {
    let before = settled(&table);
    let mut guard = table.lock(&2).await.unwrap();
    for (what, write) in writes_of_row_2(&table) {
        let result = timeout(MUST_FINISH, write)
            .await
            .unwrap_or_else(|_| panic!("{what} waited for its own task's guard"));
        assert_refused(what, result, 2);
        assert_eq!(table.stats().locked_rows, 1, "{what} left a lock behind");
    }
    assert_eq!(guard.get(), Some(player(2)));
    guard.update_with(|p| p.score = 7).await.unwrap();
    drop(guard);
    assert_eq!(table.get(&2).unwrap().score, 7);
    // With the guard gone, the same task's writes go through again.
    table.update_with(&2, |p| p.score = 20).await.unwrap();
    assert_eq!(
        settled(&table),
        before,
        "only the guard's own writes changed the table"
    );
}

#[tokio::test]
async fn every_write_of_a_row_its_own_guard_holds_is_refused_on_a_current_thread_runtime() {
    let table = players().await;
    // The body of `block_on`: not a task, one per thread.
    every_write_of_its_guarded_row_is_refused(Arc::clone(&table)).await;
    // A spawned task.
    tokio::spawn(every_write_of_its_guarded_row_is_refused(table))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_of_a_row_its_own_guard_holds_is_refused_on_a_multi_thread_runtime() {
    let table = players().await;
    every_write_of_its_guarded_row_is_refused(Arc::clone(&table)).await;
    tokio::spawn(every_write_of_its_guarded_row_is_refused(table))
        .await
        .unwrap();
}

#[tokio::test]
async fn inserting_or_upserting_the_key_of_its_own_guard_of_an_absent_row_is_refused() {
    let table = players().await;
    let before = settled(&table);
    let mut guard = table.lock(&100).await.unwrap();
    let insert = timeout(MUST_FINISH, table.insert(player(100)))
        .await
        .unwrap();
    assert_refused("insert", insert.map(drop), 100);
    let upsert = timeout(MUST_FINISH, table.upsert(player(100)))
        .await
        .unwrap();
    assert_refused("upsert", upsert.map(drop), 100);
    assert_eq!(guard.get(), None);
    assert_eq!(guard.upsert(player(100)).await.unwrap(), None);
    drop(guard);
    assert_eq!(table.get(&100), Some(player(100)));
    table.delete(&100).await.unwrap();
    assert_eq!(settled(&table), before);
}

#[tokio::test]
async fn lock_all_refused_for_one_row_leaves_the_others_unlocked() {
    let table = players().await;
    let guard = table.lock(&5).await.unwrap();
    let refused = timeout(MUST_FINISH, table.lock_all([1, 9, 5, 3])).await;
    assert_refused("lock_all", refused.unwrap().map(drop), 5);
    assert_eq!(
        table.stats().locked_rows,
        1,
        "rows 1 and 3 were unlocked again"
    );
    // Another task takes the rows lock_all had taken without waiting.
    let other = tokio::spawn({
        let table = Arc::clone(&table);
        async move { table.lock_all([1, 3]).await.map(|guards| guards.len()) }
    });
    assert_eq!(
        timeout(MUST_FINISH, other).await.unwrap().unwrap().unwrap(),
        2
    );
    drop(guard);
    settled(&table);
}

#[tokio::test]
async fn the_refusal_names_the_row_and_says_to_write_through_the_guard_or_drop_it() {
    let table = players().await;
    let guard = table.lock(&2).await.unwrap();
    let error = table.delete(&2).await.unwrap_err();
    drop(guard);
    let message = error.to_string();
    for part in [
        "table `players`",
        "primary key 2 ",
        "RowGuard",
        "same task",
        "RowGuard::update",
        "drop the guard",
    ] {
        assert!(
            message.contains(part),
            "{part:?} is missing from: {message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_tasks_writes_of_a_guarded_row_wait_for_the_guard_and_then_succeed() {
    let table = players().await;
    let mut guard = table.lock(&2).await.unwrap();
    // Each adds one to row 2's score, each through another kind of write.
    let increments: Vec<Increment> = vec![
        |table| Box::pin(async move { table.update_with(&2, |p| p.score += 1).await }),
        |table| {
            Box::pin(async move {
                let mut guard = table.lock(&2).await?;
                guard.update_with(|p| p.score += 1).await
            })
        },
        |table| {
            Box::pin(async move {
                let mut guards = table.lock_all([2, 1]).await?;
                guards[1].update_with(|p| p.score += 1).await
            })
        },
        |table| {
            Box::pin(async move { table.update_range(2..=2, |p| p.score += 1).await.map(drop) })
        },
        |table| {
            Box::pin(async move {
                let query = table.query().filter(|p| p.id == 2);
                query.update_with(|p| p.score += 1).await.map(drop)
            })
        },
    ];
    let count = i64::try_from(increments.len()).unwrap();
    let mut writers: Vec<_> = increments
        .into_iter()
        .map(|write| tokio::spawn(write(Arc::clone(&table))))
        .collect();
    for writer in &mut writers {
        assert!(
            timeout(WAITS, writer).await.is_err(),
            "another task's write finished while the guard held the row"
        );
    }
    // The guard writes through itself while the others wait.
    guard.update_with(|p| p.score = 100).await.unwrap();
    drop(guard);
    for writer in writers {
        let written = timeout(MUST_FINISH, writer).await;
        written
            .expect("a waiting write never finished")
            .unwrap()
            .unwrap();
    }
    assert_eq!(table.get(&2).unwrap().score, 100 + count);
    settled(&table);
}

#[tokio::test]
async fn a_guard_moved_to_another_task_still_names_the_task_that_took_it() {
    // A guard borrows its table: with a `'static` one it can move into a spawned task.
    let table: &'static WorkTable<Player> = Box::leak(Box::new(WorkTable::new()));
    table.insert(player(2)).await.unwrap();
    let guard = table.lock(&2).await.unwrap();
    let (moved, is_moved) = tokio::sync::oneshot::channel();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let holder = tokio::spawn(async move {
        let mut guard = guard;
        // The new holder's own table write of the row is not detected: it waits.
        assert!(
            table
                .update_with(&2, |p| p.score = 0)
                .now_or_never()
                .is_none()
        );
        guard.update_with(|p| p.score = 1).await.unwrap();
        moved.send(()).unwrap();
        released.await.unwrap();
    });
    is_moved.await.unwrap();
    // This task took the guard: its write is refused, although waiting would end
    // once the holder drops the guard.
    let refused = timeout(MUST_FINISH, table.update_with(&2, |p| p.score = 2)).await;
    assert_refused("update_with", refused.unwrap(), 2);
    release.send(()).unwrap();
    holder.await.unwrap();
    assert_eq!(table.get(&2).unwrap().score, 1);
    table.update_with(&2, |p| p.score = 2).await.unwrap();
    settled(table);
}

#[test]
fn outside_a_tokio_runtime_a_write_of_a_guarded_row_waits() {
    futures::executor::block_on(async {
        let table = WorkTable::<Player>::new();
        table.insert(player(2)).await.unwrap();
        let guard = table.lock(&2).await.unwrap();
        // Nothing to compare without a runtime: the write waits, as it always did.
        assert!(
            table
                .update_with(&2, |p| p.score = -1)
                .now_or_never()
                .is_none()
        );
        drop(guard);
        table.update_with(&2, |p| p.score = -1).await.unwrap();
        assert_eq!(table.get(&2).unwrap().score, -1);
        settled(&table);
    });
}
