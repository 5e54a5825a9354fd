//! A replica follows a primary through a real `nats-server`: it equals the
//! primary, rows and indexes, at every `wait_for`; a replica started later
//! loads a snapshot; the replica refuses writes.

mod common;

use std::sync::Arc;

use common::{Rng, Shop, compare, options, within, workload};
use worktable_core::prelude::*;
use worktable_persist::DurableDatabase;
use worktable_replica::local_server::LocalServer;
use worktable_replica::{PublisherOptions, ReplicaOptions, SnapshotStore, StreamConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_equals_the_primary_at_every_wait_for() {
    let server = LocalServer::start().unwrap();
    let client = common::connect(&server.url()).await;
    let js = async_nats::jetstream::new(client.clone());
    let snapshots = SnapshotStore::jetstream(&js, "shop-snapshots", 1)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let primary = Arc::new(DurableDatabase::<Shop>::open(dir.path(), options()).unwrap());
    let stream = StreamConfig::new("shop");
    let publisher = common::publish(
        &primary,
        &client,
        PublisherOptions::new(stream.clone()).snapshots(snapshots.clone()),
    )
    .await;
    let first = common::follow(
        &client,
        ReplicaOptions::new(stream.clone()).snapshots(snapshots.clone()),
    )
    .await;

    let mut rng = Rng::new(7);
    let mut late = None;
    let mut committed = 0;
    for round in 0..12 {
        committed += workload(&primary, &mut rng, 80).await;
        let at = primary.last_commit();
        within("the first replica", first.wait_for(at))
            .await
            .unwrap();
        // Nothing after `at` was written: the replica holds exactly it.
        compare(&primary, &first.db()).unwrap_or_else(|e| panic!("round {round}: {e}"));
        if round == 4 {
            let snapshot = within("a snapshot", publisher.snapshot()).await.unwrap();
            assert_eq!(snapshot.commit, at);
            let replica = common::follow(
                &client,
                ReplicaOptions::new(stream.clone()).snapshots(snapshots.clone()),
            )
            .await;
            assert!(
                replica.applied_seq() >= at,
                "the late replica starts at the snapshot"
            );
            late = Some(replica);
        }
        if let Some(late) = &late {
            within("the late replica", late.wait_for(at)).await.unwrap();
            compare(&primary, &late.db()).unwrap_or_else(|e| panic!("late, round {round}: {e}"));
        }
    }
    // A workload that wrote much, and left rows in both tables.
    assert!(committed > 400, "{committed} writes committed");
    assert!(!primary.accounts.is_empty() && !primary.ledger.is_empty());
    eprintln!(
        "{committed} writes, commit {}, {} accounts, {} entries",
        primary.last_commit(),
        primary.accounts.len(),
        primary.ledger.len()
    );
    assert!(first.status().stopped.is_none());
    assert_eq!(first.status().reseeds, 0);

    // Read-only to its users.
    let db = first.db();
    let refused = db
        .ledger
        .insert(common::Entry {
            id: 0,
            account: 1,
            amount: 1,
        })
        .await;
    assert!(
        matches!(refused, Err(TableError::WriteRefused { .. })),
        "{refused:?}"
    );
    compare(&primary, &db).unwrap();

    first.stop().await.unwrap();
    late.unwrap().stop().await.unwrap();
    let state = publisher.state();
    assert_eq!(state.published, primary.last_commit());
    publisher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_queries_and_subscriptions_work_on_a_replica() {
    use futures::StreamExt;
    use worktable_core::ChangeKind;

    let server = LocalServer::start().unwrap();
    let client = common::connect(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let primary = Arc::new(DurableDatabase::<Shop>::open(dir.path(), options()).unwrap());
    let stream = StreamConfig::new("shop");
    let publisher = common::publish(&primary, &client, PublisherOptions::new(stream.clone())).await;
    let replica = common::follow(&client, ReplicaOptions::new(stream)).await;
    let db = replica.db();
    let mut changes = db.accounts.subscribe();

    for id in 0..10 {
        primary
            .accounts
            .insert(common::Account {
                id,
                email: format!("a{id}@shop.test"),
                branch: (id % 2) as u8,
                balance: 10,
            })
            .await
            .unwrap();
    }
    within("the replica", replica.wait_for(primary.last_commit()))
        .await
        .unwrap();
    // A snapshot of the replica holds still while commits are applied.
    let before = db.snapshot();
    assert!(common::transfer(&primary, 1, 2, 5).await);
    within("the replica", replica.wait_for(primary.last_commit()))
        .await
        .unwrap();
    assert_eq!(before.accounts.get(&1).unwrap().balance, 10);
    assert_eq!(db.accounts.get(&1).unwrap().balance, 5);
    // Queries and ranges, as on the primary.
    assert_eq!(db.accounts.range(3..6).count(), 3);
    assert_eq!(
        db.accounts.find_by(common::Account::BRANCH, &1).len(),
        primary.accounts.find_by(common::Account::BRANCH, &1).len()
    );
    // Every applied change reaches the replica's subscribers, in order.
    let mut kinds = Vec::new();
    for _ in 0..12 {
        let event = within("an event", changes.next()).await.unwrap().unwrap();
        kinds.push(event.kind());
    }
    assert_eq!(kinds[..10], [ChangeKind::Insert; 10]);
    assert_eq!(kinds[10..], [ChangeKind::Update; 2]);
    replica.stop().await.unwrap();
    publisher.stop().await.unwrap();
}
