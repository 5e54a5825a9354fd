//! What a snapshot sees, look-up by look-up, and what it keeps alive.

use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_team_score", fields(team, score)))]
pub(super) struct User {
    #[pk]
    pub(super) id: u32,
    #[index(unique)]
    pub(super) email: String,
    #[index]
    pub(super) team: u32,
    pub(super) score: i64,
}

pub(super) fn user(id: u32, team: u32, score: i64) -> User {
    User {
        id,
        email: format!("u{id}@example.com"),
        team,
        score,
    }
}

async fn three_users() -> WorkTable<User> {
    let users = WorkTable::new();
    for row in [user(1, 10, 5), user(2, 10, 7), user(3, 20, 1)] {
        users.insert(row).await.unwrap();
    }
    users
}

fn ids(rows: impl IntoIterator<Item = User>) -> Vec<u32> {
    rows.into_iter().map(|u| u.id).collect()
}

#[tokio::test]
async fn a_snapshot_sees_no_change_made_after_it() {
    let users = three_users().await;
    let snap = users.snapshot();
    assert_eq!(snap.commit(), 3);
    users.update_with(&1, |u| u.score = 50).await.unwrap();
    users.delete(&2).await.unwrap();
    users.insert(user(4, 10, 9)).await.unwrap();
    users.update_with(&3, |u| u.team = 10).await.unwrap();

    assert_eq!(snap.get(&1).unwrap().score, 5);
    assert_eq!(snap.get(&2).unwrap(), user(2, 10, 7));
    assert!(snap.get(&4).is_none() && !snap.contains(&4) && snap.contains(&2));
    assert_eq!(snap.read(&3, |u| u.team.to_native()), Some(20));
    assert_eq!(ids(snap.iter()), [1, 2, 3]);
    assert_eq!(ids(snap.iter().rev()), [3, 2, 1]);
    assert_eq!(ids(snap.range(2..)), [2, 3]);
    assert_eq!(snap.len(), 3);
    assert_eq!(ids(snap.find_by(User::TEAM, &10)), [1, 2]);
    assert_eq!(ids(snap.find_by(User::TEAM, &20)), [3]);
    assert_eq!(ids(snap.range_by(User::TEAM, 15..)), [3]);
    assert_eq!(ids(snap.prefix_by(User::BY_TEAM_SCORE, 10)), [1, 2]);
    assert_eq!(snap.get_by(User::EMAIL, "u2@example.com").unwrap().id, 2);
    assert!(snap.get_by(User::EMAIL, "u4@example.com").is_none());

    let query = snap.query().by(User::TEAM, &10).order_by_desc(User::SCORE);
    assert_eq!(ids(query.to_vec()), [2, 1]);
    assert_eq!(snap.query().filter(|u| u.score < 6).count(), 2);
    assert!(snap.query().range(2..=2).exists());
    // The table itself moved on.
    assert_eq!(ids(users.iter()), [1, 3, 4]);
    assert_eq!(ids(users.find_by(User::TEAM, &10)), [1, 3, 4]);
    // A new snapshot sees the new state.
    let now = users.snapshot();
    assert_eq!(now.commit(), 7);
    assert_eq!(ids(now.find_by(User::TEAM, &10)), [1, 3, 4]);
    assert_eq!(ids(now.prefix_by(User::BY_TEAM_SCORE, 10)), [3, 4, 1]);
    users.check_integrity().unwrap();
}

#[tokio::test]
async fn a_unique_key_freed_and_taken_again_is_found_where_it_was() {
    let users = three_users().await;
    let snap = users.snapshot();
    users
        .update_with(&1, |u| u.email = "moved@example.com".into())
        .await
        .unwrap();
    let mut taker = user(9, 30, 0);
    taker.email = "u1@example.com".into();
    users.insert(taker).await.unwrap();
    assert_eq!(snap.get_by(User::EMAIL, "u1@example.com").unwrap().id, 1);
    assert!(snap.get_by(User::EMAIL, "moved@example.com").is_none());
    assert_eq!(users.get_by(User::EMAIL, "u1@example.com").unwrap().id, 9);
    // Deleted and inserted again under the same key, twice.
    users.delete(&3).await.unwrap();
    users.insert(user(3, 99, 99)).await.unwrap();
    users.delete(&3).await.unwrap();
    assert_eq!(snap.get(&3).unwrap(), user(3, 20, 1));
    assert_eq!(ids(snap.range_by(User::TEAM, 20..=20)), [3]);
}

#[tokio::test]
async fn versions_are_kept_while_a_snapshot_can_see_them() {
    let users = three_users().await;
    assert_eq!(users.stats().versions_held, 0);
    let old = users.snapshot();
    users.update_with(&1, |u| u.score = 6).await.unwrap();
    let newer = users.snapshot();
    users.update_with(&1, |u| u.score = 7).await.unwrap();
    users.delete(&2).await.unwrap();
    let stats = users.stats();
    assert_eq!(stats.versions_held, 3);
    assert!(stats.versions_held_bytes > 0);
    assert!(format!("{stats}").contains("versions held for snapshots: 3"));

    // The newer snapshot goes first: the old one still needs everything.
    drop(newer);
    assert_eq!(users.stats().versions_held, 3);
    assert_eq!(old.get(&1).unwrap().score, 5);
    // A clone shares the read point.
    let twin = old.clone();
    drop(old);
    assert_eq!(twin.get(&1).unwrap().score, 5);
    drop(twin);
    assert_eq!(users.stats().versions_held, 0);
    assert_eq!(users.stats().versions_held_bytes, 0);

    // With no snapshot, writes keep nothing.
    users.update_with(&1, |u| u.score = 8).await.unwrap();
    assert_eq!(users.stats().versions_held, 0);
}

#[tokio::test]
async fn only_the_versions_an_older_snapshot_needs_stay() {
    let users = three_users().await;
    let first = users.snapshot();
    users.update_with(&1, |u| u.score = 6).await.unwrap();
    let second = users.snapshot();
    users.update_with(&1, |u| u.score = 7).await.unwrap();
    drop(first);
    // Only the change after `second` is needed now.
    assert_eq!(users.stats().versions_held, 1);
    assert_eq!(second.get(&1).unwrap().score, 6);
    assert_eq!(users.get(&1).unwrap().score, 7);
}

#[tokio::test]
async fn snapshots_and_subscribers_coexist() {
    let users = three_users().await;
    let mut changes = users.subscribe();
    let snap = users.snapshot();
    users.update_with(&2, |u| u.score = 70).await.unwrap();
    drop(snap);
    users.update_with(&2, |u| u.score = 71).await.unwrap();
    let seqs: Vec<u64> = (0..2)
        .map(|_| changes.try_next().unwrap().unwrap().seq())
        .collect();
    assert_eq!(seqs, [4, 5]);
    assert_eq!(users.stats().versions_held, 0);
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Post {
    #[pk(autoincrement)]
    id: u64,
    #[index]
    author: u32,
}

#[derive(Database)]
struct Site {
    users: WorkTable<User>,
    posts: WorkTable<Post>,
}

#[tokio::test]
async fn a_database_snapshot_sees_every_table_at_one_point() {
    let site = Site::new();
    site.users.insert(user(1, 1, 0)).await.unwrap();
    site.posts.insert(Post { id: 0, author: 1 }).await.unwrap();
    let snap = site.snapshot();
    assert_eq!(snap.commit(), 2);
    assert_eq!(snap.users.commit(), snap.posts.commit());
    site.posts.insert(Post { id: 0, author: 1 }).await.unwrap();
    site.users.delete(&1).await.unwrap();
    assert_eq!(snap.posts.find_by(Post::AUTHOR, &1).len(), 1);
    assert!(snap.users.contains(&1));
    assert_eq!(site.posts.find_by(Post::AUTHOR, &1).len(), 2);
    // Writes to either table keep versions while the snapshot is held.
    assert_eq!(site.users.stats().versions_held, 1);
    assert_eq!(site.posts.stats().versions_held, 1);
    // One table's view outlives the others.
    let posts = snap.posts.clone();
    drop(snap);
    assert_eq!(posts.len(), 1);
    drop(posts);
    assert_eq!(site.users.stats().versions_held, 0);
    assert_eq!(site.posts.stats().versions_held, 0);
    // Generic code reaches the snapshot through the trait.
    fn commit_of<D: Database>(db: &D) -> u64 {
        let _snapshot = db.snapshot();
        db.last_commit()
    }
    assert_eq!(commit_of(&site), 4);
}
