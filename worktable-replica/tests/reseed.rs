//! When the primary's log no longer holds the commit after the stream's
//! last, the publisher stores a snapshot and publishes a re-seed message;
//! replicas behind it reload from the snapshot, say so, and converge.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Rng, Shop, compare, connect, options, within, workload};
use worktable_core::prelude::*;
use worktable_persist::DurableDatabase;
use worktable_replica::local_server::LocalServer;
use worktable_replica::{PublisherOptions, Replica, ReplicaOptions, SnapshotStore, StreamConfig};

struct Setup {
    server: LocalServer,
    client: async_nats::Client,
    snapshots: SnapshotStore,
    stream: StreamConfig,
    _dir: tempfile::TempDir,
    primary: Arc<DurableDatabase<Shop>>,
}

async fn setup() -> Setup {
    let server = LocalServer::start().unwrap();
    let client = connect(&server.url()).await;
    let js = async_nats::jetstream::new(client.clone());
    let snapshots = SnapshotStore::jetstream(&js, "snapshots", 1).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Checkpoints only when the test asks.
    let options = options()
        .checkpoint_after_log_bytes(u64::MAX)
        .checkpoint_interval(None);
    let primary = Arc::new(DurableDatabase::<Shop>::open(dir.path(), options).unwrap());
    Setup {
        server,
        client,
        snapshots,
        stream: StreamConfig::new("shop"),
        _dir: dir,
        primary,
    }
}

impl Setup {
    fn publishing(&self) -> PublisherOptions {
        PublisherOptions::new(self.stream.clone()).snapshots(self.snapshots.clone())
    }

    async fn replica(&self) -> Replica<Shop> {
        common::follow(
            &self.client,
            ReplicaOptions::new(self.stream.clone()).snapshots(self.snapshots.clone()),
        )
        .await
    }

    fn log_bytes(&self) -> u64 {
        std::fs::read_dir(self.primary.dir())
            .unwrap()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("log-"))
            .map(|entry| entry.metadata().unwrap().len())
            .sum()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_restarted_after_a_checkpoint_reseeds_the_replicas() {
    let setup = setup().await;
    let primary = &setup.primary;
    let publisher = common::publish(primary, &setup.client, setup.publishing()).await;
    let replica = setup.replica().await;
    let mut rng = Rng::new(31);
    workload(primary, &mut rng, 100).await;
    within(
        "publishing",
        publisher.wait_published(primary.last_commit()),
    )
    .await
    .unwrap();
    publisher.stop().await.unwrap();

    // Written while nothing publishes, then checkpointed: the log no
    // longer holds these commits.
    workload(primary, &mut rng, 100).await;
    primary.checkpoint().await.unwrap();
    let publisher = common::publish(primary, &setup.client, setup.publishing()).await;
    workload(primary, &mut rng, 50).await;
    let at = primary.last_commit();
    within("publishing", publisher.wait_published(at))
        .await
        .unwrap();
    assert_eq!(publisher.state().reseeds, 1);
    within("the replica", replica.wait_for(at)).await.unwrap();
    compare(primary, &replica.db()).unwrap();
    let status = replica.status();
    assert_eq!(
        status.reseeds, 1,
        "the replica says it reloaded: {status:?}"
    );
    assert!(status.stopped.is_none());
    replica.stop().await.unwrap();
    publisher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_retained_log_limit_the_publisher_lets_the_log_go_and_reseeds() {
    let mut setup = setup().await;
    let primary = Arc::clone(&setup.primary);
    let limit = 256 << 10;
    let publisher = common::publish(
        &primary,
        &setup.client,
        setup.publishing().max_retained_log(limit),
    )
    .await;
    let replica = setup.replica().await;
    let mut rng = Rng::new(32);
    workload(&primary, &mut rng, 100).await;
    within("the replica", replica.wait_for(primary.last_commit()))
        .await
        .unwrap();

    // The server away, the log grows past the limit.
    setup.server.kill();
    while setup.log_bytes() <= 2 * limit {
        workload(&primary, &mut rng, 200).await;
    }
    // The publisher notices at its next retry, and lets the log go: a
    // checkpoint then removes it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    primary.checkpoint().await.unwrap();
    assert!(
        setup.log_bytes() < limit,
        "the log was kept: {} bytes",
        setup.log_bytes()
    );
    setup.server.restart().unwrap();
    workload(&primary, &mut rng, 50).await;
    let at = primary.last_commit();
    if within("publishing", publisher.wait_published(at))
        .await
        .is_err()
    {
        panic!("{:?}", publisher.stop().await);
    }
    assert_eq!(publisher.state().reseeds, 1, "{:?}", publisher.state());
    within("the replica", replica.wait_for(at)).await.unwrap();
    compare(&primary, &replica.db()).unwrap();
    assert_eq!(replica.status().reseeds, 1, "{:?}", replica.status());
    replica.stop().await.unwrap();
    publisher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_limit_the_log_is_kept_while_the_server_is_away() {
    let mut setup = setup().await;
    let primary = Arc::clone(&setup.primary);
    let publisher = common::publish(&primary, &setup.client, setup.publishing()).await;
    let replica = setup.replica().await;
    let mut rng = Rng::new(33);
    workload(&primary, &mut rng, 100).await;
    within("the replica", replica.wait_for(primary.last_commit()))
        .await
        .unwrap();
    setup.server.kill();
    workload(&primary, &mut rng, 300).await;
    // A checkpoint while the stream lags keeps the commits it lacks.
    primary.checkpoint().await.unwrap();
    setup.server.restart().unwrap();
    let at = primary.last_commit();
    within("publishing", publisher.wait_published(at))
        .await
        .unwrap();
    within("the replica", replica.wait_for(at)).await.unwrap();
    compare(&primary, &replica.db()).unwrap();
    assert_eq!(publisher.state().reseeds, 0);
    assert_eq!(replica.status().reseeds, 0);
    replica.stop().await.unwrap();
    publisher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_with_limits_gets_snapshots_before_it_drops_messages() {
    let setup = setup().await;
    let primary = &setup.primary;
    let stream = StreamConfig::new("limited").max_messages(30);
    // No `snapshot_every`: the limit alone decides.
    let publisher = common::publish(
        primary,
        &setup.client,
        PublisherOptions::new(stream.clone()).snapshots(setup.snapshots.clone()),
    )
    .await;
    let mut rng = Rng::new(34);
    for _ in 0..60 {
        // One commit a message.
        while workload(primary, &mut rng, 1).await == 0 {}
        within(
            "publishing",
            publisher.wait_published(primary.last_commit()),
        )
        .await
        .unwrap();
    }
    let state = publisher.state();
    assert!(state.messages >= 60);
    let snapshot = state.last_snapshot.expect("a snapshot after 15 messages");
    // The stream dropped its first messages; a new replica starts from the
    // snapshot and reads the rest.
    let js = async_nats::jetstream::new(setup.client.clone());
    let first = js
        .get_stream("limited")
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .state
        .first_sequence;
    assert!(first > 1, "the stream kept everything: nothing tested");
    let replica = common::follow(
        &setup.client,
        ReplicaOptions::new(stream).snapshots(setup.snapshots.clone()),
    )
    .await;
    assert!(replica.applied_seq() >= snapshot);
    within("the replica", replica.wait_for(primary.last_commit()))
        .await
        .unwrap();
    compare(primary, &replica.db()).unwrap();
    replica.stop().await.unwrap();
    publisher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purged_stream_is_filled_again_and_replicas_go_on() {
    let setup = setup().await;
    let primary = &setup.primary;
    let publisher = common::publish(primary, &setup.client, setup.publishing()).await;
    let replica = setup.replica().await;
    let mut rng = Rng::new(35);
    workload(primary, &mut rng, 100).await;
    within("the replica", replica.wait_for(primary.last_commit()))
        .await
        .unwrap();
    publisher.stop().await.unwrap();
    // An operator empties the stream; its sequence numbers go on.
    let js = async_nats::jetstream::new(setup.client.clone());
    js.get_stream("shop").await.unwrap().purge().await.unwrap();
    workload(primary, &mut rng, 50).await;
    let publisher = common::publish(primary, &setup.client, setup.publishing()).await;
    let at = primary.last_commit();
    within("publishing", publisher.wait_published(at))
        .await
        .unwrap();
    within("the replica", replica.wait_for(at)).await.unwrap();
    compare(primary, &replica.db()).unwrap();
    // The log still held everything: no snapshot was needed.
    assert_eq!(replica.status().reseeds, 0);
    // A new replica reads the refilled stream from its start.
    let late = setup.replica().await;
    within("a late replica", late.wait_for(at)).await.unwrap();
    compare(primary, &late.db()).unwrap();
    late.stop().await.unwrap();
    replica.stop().await.unwrap();
    publisher.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_closed_while_its_publisher_lagged_resumes_from_its_log() {
    let mut setup = setup().await;
    let dir = setup._dir.path().to_owned();
    let publisher = common::publish(&setup.primary, &setup.client, setup.publishing()).await;
    let replica = setup.replica().await;
    let mut rng = Rng::new(36);
    workload(&setup.primary, &mut rng, 100).await;
    within("the replica", replica.wait_for(setup.primary.last_commit()))
        .await
        .unwrap();
    // The server away, the primary writes and shuts down cleanly (its
    // close checkpoints): the commits the stream lacks stay in the log.
    setup.server.kill();
    workload(&setup.primary, &mut rng, 100).await;
    setup.primary.close().await.unwrap();
    publisher.stop().await.unwrap();
    setup.primary = Arc::new(
        DurableDatabase::<Shop>::open(&dir, options())
            .unwrap_or_else(|error| panic!("the first handle is still open somewhere: {error}")),
    );
    setup.server.restart().unwrap();
    let primary = &setup.primary;
    let publisher = common::publish(primary, &setup.client, setup.publishing()).await;
    workload(primary, &mut rng, 20).await;
    let at = primary.last_commit();
    within("publishing", publisher.wait_published(at))
        .await
        .unwrap();
    within("the replica", replica.wait_for(at)).await.unwrap();
    compare(primary, &replica.db()).unwrap();
    assert_eq!(publisher.state().reseeds, 0, "the log had the commits");
    assert_eq!(replica.status().reseeds, 0);
    replica.stop().await.unwrap();
    publisher.stop().await.unwrap();
}
