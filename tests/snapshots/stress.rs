//! Snapshots under concurrent writers: every read through a snapshot, by
//! every kind of look-up, equals the table as it was after exactly the
//! changes numbered up to the snapshot's commit point, rebuilt from the
//! change stream; and reading the same snapshot again later gives the
//! same answers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use worktable_core::prelude::*;
use worktable_core::{TableSnapshot, Watch};

use super::basics::{User, user};
use crate::concurrent::{Rng, bounded, scaled, settle};

/// Few keys, teams and emails, so that changes collide.
const KEYS: u32 = 48;
const TEAMS: u32 = 4;
const EMAILS: u32 = 64;

/// Everything one snapshot answered.
#[derive(Debug, PartialEq)]
struct Seen {
    rows: Vec<User>,
    reversed: Vec<User>,
    len: usize,
    by_key: Vec<Option<User>>,
    by_team: Vec<Vec<User>>,
    team_range: Vec<User>,
    by_prefix: Vec<Vec<User>>,
    by_email: Vec<Option<u32>>,
    pk_range: Vec<User>,
    query: Vec<User>,
    query_count: usize,
}

fn look(snap: &TableSnapshot<'_, User>) -> Seen {
    let mut reversed: Vec<User> = snap.iter().rev().collect();
    reversed.reverse();
    Seen {
        rows: snap.iter().collect(),
        reversed,
        len: snap.len(),
        by_key: (0..KEYS).map(|id| snap.get(&id)).collect(),
        by_team: (0..TEAMS).map(|t| snap.find_by(User::TEAM, &t)).collect(),
        team_range: snap.range_by(User::TEAM, 1..3).collect(),
        by_prefix: (0..TEAMS)
            .map(|t| snap.prefix_by(User::BY_TEAM_SCORE, t).collect())
            .collect(),
        by_email: (0..EMAILS)
            .map(|e| snap.get_by(User::EMAIL, &email(e)).map(|u| u.id))
            .collect(),
        pk_range: snap.range(KEYS / 4..KEYS / 2).collect(),
        query: snap
            .query()
            .range_by(User::TEAM, 1..3)
            .filter(|u| u.score >= 20)
            .order_by_desc(User::SCORE)
            .limit(10)
            .to_vec(),
        query_count: snap.query().filter(|u| u.score < 50).count(),
    }
}

/// What `look` must answer for a table holding `model`.
fn expected(model: &BTreeMap<u32, User>) -> Seen {
    let rows: Vec<User> = model.values().cloned().collect();
    let of_team = |t: u32| -> Vec<User> { rows.iter().filter(|u| u.team == t).cloned().collect() };
    let mut team_range: Vec<User> = rows
        .iter()
        .filter(|u| (1..3).contains(&u.team))
        .cloned()
        .collect();
    team_range.sort_by_key(|u| (u.team, u.id));
    Seen {
        reversed: rows.clone(),
        len: rows.len(),
        by_key: (0..KEYS).map(|id| model.get(&id).cloned()).collect(),
        by_team: (0..TEAMS).map(of_team).collect(),
        team_range,
        by_prefix: (0..TEAMS)
            .map(|t| {
                let mut of = of_team(t);
                of.sort_by_key(|u| (u.score, u.id));
                of
            })
            .collect(),
        by_email: (0..EMAILS)
            .map(|e| rows.iter().find(|u| u.email == email(e)).map(|u| u.id))
            .collect(),
        pk_range: model
            .range(KEYS / 4..KEYS / 2)
            .map(|(_, u)| u.clone())
            .collect(),
        query: {
            let mut picked: Vec<User> = rows
                .iter()
                .filter(|u| (1..3).contains(&u.team) && u.score >= 20)
                .cloned()
                .collect();
            picked.sort_by(|a, b| b.score.cmp(&a.score).then(a.id.cmp(&b.id)));
            picked.truncate(10);
            picked
        },
        query_count: rows.iter().filter(|u| u.score < 50).count(),
        rows,
    }
}

fn email(n: u32) -> String {
    format!("e{n}@example.com")
}

/// One random write; refusals (a duplicate key, a missing row) are part of
/// the mix.
async fn write(users: &WorkTable<User>, rng: &mut Rng) {
    let id = rng.below(KEYS);
    match rng.below(4) {
        0 => {
            let mut row = user(id, rng.below(TEAMS), i64::from(rng.below(100)));
            row.email = email(rng.below(EMAILS));
            let _ = users.insert(row).await;
        }
        1 => {
            let team = rng.below(TEAMS);
            let _ = users.update_with(&id, |u| u.team = team).await;
        }
        2 => {
            let (score, mail) = (i64::from(rng.below(100)), email(rng.below(EMAILS)));
            let _ = users
                .update_with(&id, |u| {
                    u.score = score;
                    u.email = mail;
                })
                .await;
        }
        _ => {
            let _ = users.delete(&id).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_snapshot_read_equals_the_table_at_its_commit_point() {
    const WRITERS: u64 = 3;
    const WRITES: usize = scaled(3_000);
    const READERS: u64 = 2;
    let users = Arc::new(WorkTable::<User>::new());
    let mut changes = users.subscribe_to(Watch::all().capacity(1 << 20));
    let done = Arc::new(AtomicBool::new(false));

    let seen = bounded(async {
        let writers: Vec<_> = (0..WRITERS)
            .map(|task| {
                let users = Arc::clone(&users);
                tokio::spawn(async move {
                    let mut rng = Rng::new(700 + task);
                    for _ in 0..WRITES {
                        write(&users, &mut rng).await;
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                let (users, done) = (Arc::clone(&users), Arc::clone(&done));
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    while !done.load(Ordering::Acquire) {
                        let snap = users.snapshot();
                        let first = look(&snap);
                        // Let writers run, then the same snapshot again.
                        for _ in 0..4 {
                            tokio::task::yield_now().await;
                        }
                        assert_eq!(look(&snap), first, "a snapshot changed under writers");
                        seen.push((snap.commit(), first));
                    }
                    seen
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        done.store(true, Ordering::Release);
        let mut seen = Vec::new();
        for reader in readers {
            seen.extend(reader.await.unwrap());
        }
        seen
    })
    .await;
    settle(&users);
    assert_eq!(
        users.stats().versions_held,
        0,
        "versions outlived every snapshot"
    );

    // Rebuild the table after each commit from the change stream and
    // compare every snapshot with it.
    let mut seen = seen;
    seen.sort_by_key(|(commit, _)| *commit);
    assert!(seen.len() >= 2, "the readers took {} snapshots", seen.len());
    let mut model = BTreeMap::new();
    let mut applied = 0;
    let mut checked = 0;
    for (commit, view) in seen {
        while applied < commit {
            let event = changes
                .try_next()
                .expect("every change is streamed")
                .unwrap();
            assert_eq!(event.seq(), applied + 1);
            applied = event.seq();
            match event.after() {
                Some(after) => model.insert(*event.pk(), after.get()),
                None => model.remove(event.pk()),
            };
        }
        assert_eq!(view, expected(&model), "snapshot at commit {commit}");
        checked += 1;
    }
    eprintln!("checked {checked} snapshots over {applied} changes");
    assert!(checked >= 2);
}
