//! The NATS server restarts while the primary writes: the publisher and
//! the replica resume; nothing is lost or applied twice.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Rng, Shop, compare, options, within, workload};
use worktable_core::prelude::*;
use worktable_persist::DurableDatabase;
use worktable_replica::local_server::LocalServer;
use worktable_replica::{PublisherOptions, ReplicaOptions, SnapshotStore, StreamConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publisher_and_replica_resume_after_the_server_restarts() {
    let mut server = LocalServer::start().unwrap();
    let client = common::connect(&server.url()).await;
    let js = async_nats::jetstream::new(client.clone());
    let snapshots = SnapshotStore::jetstream(&js, "snapshots", 1).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let primary = Arc::new(DurableDatabase::<Shop>::open(dir.path(), options()).unwrap());
    let stream = StreamConfig::new("shop");
    let publisher = common::publish(
        &primary,
        &client,
        PublisherOptions::new(stream.clone()).snapshots(snapshots.clone()),
    )
    .await;
    let replica = common::follow(&client, ReplicaOptions::new(stream).snapshots(snapshots)).await;

    let mut rng = Rng::new(11);
    for round in 0..3 {
        workload(&primary, &mut rng, 100).await;
        // Down while the primary writes: its commits wait in its log.
        server.kill();
        let during = workload(&primary, &mut rng, 100).await;
        assert!(during > 0);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(publisher.published() < primary.last_commit());
        server.restart().unwrap();
        workload(&primary, &mut rng, 50).await;
        let at = primary.last_commit();
        within("the publisher", publisher.wait_published(at))
            .await
            .unwrap();
        within("the replica", replica.wait_for(at)).await.unwrap();
        compare(&primary, &replica.db()).unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    let status = replica.status();
    assert_eq!(status.reseeds, 0, "the log kept every commit: no reload");
    assert!(status.stopped.is_none());
    replica.stop().await.unwrap();
    assert_eq!(publisher.state().reseeds, 0);
    publisher.stop().await.unwrap();
}
