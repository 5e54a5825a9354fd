//! A three-server JetStream cluster on loopback, the stream and the
//! snapshot bucket kept in three copies: one server killed while the
//! primary writes loses nothing.

mod common;

use std::sync::Arc;

use common::{Rng, Shop, compare, connect, options, within, workload};
use worktable_core::prelude::*;
use worktable_persist::DurableDatabase;
use worktable_replica::local_server::LocalCluster;
use worktable_replica::{PublisherOptions, Replica, ReplicaOptions, SnapshotStore, StreamConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_one_of_three_servers_loses_nothing() {
    let mut cluster = LocalCluster::start(3).unwrap();
    let client = connect(cluster.urls()).await;
    let js = async_nats::jetstream::new(client.clone());
    let snapshots = SnapshotStore::jetstream(&js, "snapshots", 3).await.unwrap();
    let stream = StreamConfig::new("shop").replicas(3);
    let dir = tempfile::tempdir().unwrap();
    let primary = Arc::new(DurableDatabase::<Shop>::open(dir.path(), options()).unwrap());
    let publisher = common::publish(
        &primary,
        &client,
        PublisherOptions::new(stream.clone())
            .snapshots(snapshots.clone())
            .snapshot_every(300),
    )
    .await;
    let replica = Replica::<Shop>::follow(
        connect(cluster.urls()).await,
        ReplicaOptions::new(stream.clone()).snapshots(snapshots.clone()),
    )
    .await
    .unwrap();

    let mut rng = Rng::new(21);
    workload(&primary, &mut rng, 200).await;
    // The stream leader is as likely as any: kill server 0 mid-workload.
    let writer = async {
        workload(&primary, &mut rng, 400).await;
    };
    let killer = async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        cluster.kill(0);
    };
    tokio::join!(writer, killer);
    workload(&primary, &mut Rng::new(22), 100).await;
    let at = primary.last_commit();
    within("publishing with two servers", publisher.wait_published(at))
        .await
        .unwrap();
    within("the replica", replica.wait_for(at)).await.unwrap();
    compare(&primary, &replica.db()).unwrap();

    // A snapshot stored by the two servers left (the bucket's leader may
    // still be moving: tried until it lands).
    let snapshot = within("a snapshot", async {
        loop {
            match publisher.snapshot().await {
                Ok(snapshot) => break snapshot,
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
    })
    .await;
    assert_eq!(snapshot.commit, at);

    // A replica started now, on the two servers left, from the snapshot:
    // the same.
    let late = Replica::<Shop>::follow(
        connect(cluster.urls()).await,
        ReplicaOptions::new(stream).snapshots(snapshots),
    )
    .await
    .unwrap();
    assert_eq!(
        late.applied_seq(),
        at,
        "the late replica loaded the snapshot"
    );
    compare(&primary, &late.db()).unwrap();
    late.stop().await.unwrap();
    replica.stop().await.unwrap();
    publisher.stop().await.unwrap();
}
