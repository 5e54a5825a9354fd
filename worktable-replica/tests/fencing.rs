//! One stream, one primary: a second primary is refused with a typed
//! error and stops; a promoted replica fences the old primary.

mod common;

use std::sync::Arc;

use common::{Proxy, Rng, Shop, compare, connect, options, within, workload};
use worktable_core::prelude::*;
use worktable_persist::DurableDatabase;
use worktable_replica::local_server::LocalServer;
use worktable_replica::{
    PromoteError, PublishError, Publisher, PublisherOptions, Replica, ReplicaOptions,
    SnapshotStore, StreamConfig,
};

fn open(dir: &tempfile::TempDir) -> Arc<DurableDatabase<Shop>> {
    Arc::new(DurableDatabase::<Shop>::open(dir.path(), options()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_primaries_on_one_stream_exactly_one_is_refused() {
    let server = LocalServer::start().unwrap();
    let stream = StreamConfig::new("shop");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (open(&dir_a), open(&dir_b));
    // Both start on the empty stream at once, and both write.
    let (client_a, client_b) = (connect(&server.url()).await, connect(&server.url()).await);
    let (started_a, started_b) = tokio::join!(
        Publisher::start(
            Arc::clone(&a),
            client_a,
            PublisherOptions::new(stream.clone())
        ),
        Publisher::start(
            Arc::clone(&b),
            client_b,
            PublisherOptions::new(stream.clone())
        ),
    );
    let (publisher_a, publisher_b) = (started_a.unwrap(), started_b.unwrap());
    let (mut rng_a, mut rng_b) = (Rng::new(1), Rng::new(2));
    tokio::join!(workload(&a, &mut rng_a, 100), workload(&b, &mut rng_b, 100),);
    // Each either publishes everything it wrote or stops.
    let settled = |publisher: &Publisher, db: &DurableDatabase<Shop>| {
        let state = publisher.state();
        state.stopped || state.published == db.last_commit()
    };
    within("both publishers to settle", async {
        while !(settled(&publisher_a, &a) && settled(&publisher_b, &b)) {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    let (result_a, result_b) = (publisher_a.stop().await, publisher_b.stop().await);
    let fenced =
        |result: &Result<(), PublishError>| matches!(result, Err(PublishError::Fenced { .. }));
    assert!(
        fenced(&result_a) ^ fenced(&result_b),
        "exactly one refused: {result_a:?} / {result_b:?}"
    );
    let (winner, loser) = if fenced(&result_a) {
        (&b, &a)
    } else {
        (&a, &b)
    };
    // The stream holds the winner's history alone: a replica equals it.
    let client = connect(&server.url()).await;
    let replica = common::follow(&client, ReplicaOptions::new(stream.clone())).await;
    within("the replica", replica.wait_for(winner.last_commit()))
        .await
        .unwrap();
    compare(winner, &replica.db()).unwrap();
    // The loser cannot start again either.
    let again = Publisher::start(Arc::clone(loser), client, PublisherOptions::new(stream)).await;
    assert!(
        matches!(again, Err(PublishError::Fenced { .. })),
        "{again:?}"
    );
    replica.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_the_primary_opened_as_a_second_primary_is_refused() {
    let server = LocalServer::start().unwrap();
    let client = connect(&server.url()).await;
    let stream = StreamConfig::new("shop");
    let dir = tempfile::tempdir().unwrap();
    let primary = open(&dir);
    workload(&primary, &mut Rng::new(5), 60).await;
    // A copy with the same id, taken before the primary publishes more.
    let copy_dir = tempfile::tempdir().unwrap();
    primary.backup_to(copy_dir.path()).await.unwrap();
    let publisher = common::publish(&primary, &client, PublisherOptions::new(stream.clone())).await;
    workload(&primary, &mut Rng::new(6), 60).await;
    within(
        "publishing",
        publisher.wait_published(primary.last_commit()),
    )
    .await
    .unwrap();
    // The copy writes other commits under the same numbers, and more.
    let copy = open(&copy_dir);
    workload(&copy, &mut Rng::new(7), 300).await;
    assert!(copy.last_commit() > primary.last_commit());
    let refused = Publisher::start(Arc::clone(&copy), client, PublisherOptions::new(stream)).await;
    assert!(
        matches!(refused, Err(PublishError::Forked { .. })),
        "{refused:?}"
    );
    publisher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoted_replica_fences_the_old_primary_and_others_follow_it() {
    let server = LocalServer::start().unwrap();
    let client = connect(&server.url()).await;
    let js = async_nats::jetstream::new(client.clone());
    let snapshots = SnapshotStore::jetstream(&js, "snapshots", 1).await.unwrap();
    let stream = StreamConfig::new("shop");
    let publishing = PublisherOptions::new(stream.clone()).snapshots(snapshots.clone());
    let following = ReplicaOptions::new(stream.clone()).snapshots(snapshots.clone());
    let dir = tempfile::tempdir().unwrap();
    let old = open(&dir);
    let old_publisher = common::publish(&old, &client, publishing.clone()).await;
    let (standby, other) = (
        common::follow(&client, following.clone()).await,
        common::follow(&client, following.clone()).await,
    );
    workload(&old, &mut Rng::new(9), 200).await;
    let at = old.last_commit();
    within("standby", standby.wait_for(at)).await.unwrap();

    let new_dir = tempfile::tempdir().unwrap();
    let (new, new_publisher) = standby
        .promote(
            new_dir.path(),
            options(),
            client.clone(),
            publishing.clone(),
        )
        .await
        .unwrap();
    compare(&old, &new).unwrap();
    assert_eq!(new.last_commit(), at);

    // The old primary goes on writing: its publisher is refused.
    workload(&old, &mut Rng::new(10), 20).await;
    let old_result = within("the old publisher", async {
        loop {
            if old_publisher.state().stopped {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    let _: () = old_result;
    let refused = old_publisher.stop().await;
    assert!(
        matches!(refused, Err(PublishError::Fenced { .. })),
        "{refused:?}"
    );

    // The new primary's writes reach the other replica, without a reload.
    workload(&new, &mut Rng::new(11), 200).await;
    within("the other replica", other.wait_for(new.last_commit()))
        .await
        .unwrap();
    compare(&new, &other.db()).unwrap();
    assert_eq!(other.status().reseeds, 0);
    // A replica started now loads the new primary's history.
    let late = common::follow(&client, following).await;
    within("a late replica", late.wait_for(new.last_commit()))
        .await
        .unwrap();
    compare(&new, &late.db()).unwrap();
    let followed = other.db();
    other.stop().await.unwrap();
    late.stop().await.unwrap();
    new_publisher.stop().await.unwrap();

    // The promoted database is a durable database like any: reopened, it
    // holds every commit it made, numbered on from the replica's.
    let last = new.last_commit();
    new.close().await.unwrap();
    drop(new);
    let reopened = DurableDatabase::<Shop>::open(new_dir.path(), options()).unwrap();
    assert_eq!(reopened.last_commit(), last);
    compare(&reopened, &followed).unwrap();
    reopened.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_behind_the_stream_is_not_promoted() {
    let server = LocalServer::start().unwrap();
    let client = connect(&server.url()).await;
    let stream = StreamConfig::new("shop");
    let dir = tempfile::tempdir().unwrap();
    let primary = open(&dir);
    let publisher = common::publish(&primary, &client, PublisherOptions::new(stream.clone())).await;
    // The replica reads through a link the test can stall.
    let proxy = Proxy::start(server.port()).await;
    let replica = Replica::<Shop>::follow(
        connect(proxy.url()).await,
        ReplicaOptions::new(stream.clone()),
    )
    .await
    .unwrap();
    let mut rng = Rng::new(12);
    workload(&primary, &mut rng, 50).await;
    within("the replica", replica.wait_for(primary.last_commit()))
        .await
        .unwrap();
    let applied = replica.applied_seq();

    // Its link stalls; the primary publishes more.
    proxy.pause(true);
    workload(&primary, &mut rng, 50).await;
    within(
        "publishing",
        publisher.wait_published(primary.last_commit()),
    )
    .await
    .unwrap();
    assert!(primary.last_commit() > applied);

    // Promoted through a healthy connection, it would fork the history:
    // refused, and the directory is left empty.
    let promoted_dir = tempfile::tempdir().unwrap();
    let refused = within(
        "the promotion",
        replica.promote(
            promoted_dir.path(),
            options(),
            client.clone(),
            PublisherOptions::new(stream.clone()),
        ),
    )
    .await;
    assert!(
        matches!(refused, Err(PromoteError::NotCaughtUp { .. })),
        "{refused:?}"
    );
    assert_eq!(
        std::fs::read_dir(promoted_dir.path()).unwrap().count(),
        0,
        "the refused promotion left files behind"
    );
    // The primary was not fenced: it goes on publishing.
    workload(&primary, &mut rng, 20).await;
    within(
        "publishing",
        publisher.wait_published(primary.last_commit()),
    )
    .await
    .unwrap();
    publisher.stop().await.unwrap();
}
