//! Snapshots in an `object_store` backend (the local file system here):
//! a replica starts from one; a damaged file is refused; a snapshot
//! without its manifest is never read; old ones are pruned.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Rng, Shop, compare, connect, options, within, workload};
use object_store::local::LocalFileSystem;
use worktable_core::prelude::*;
use worktable_persist::DurableDatabase;
use worktable_replica::local_server::LocalServer;
use worktable_replica::{
    Publisher, PublisherOptions, Replica, ReplicaError, ReplicaOptions, SnapshotError,
    SnapshotStore, StreamConfig,
};

struct Setup {
    _server: LocalServer,
    client: async_nats::Client,
    store_dir: tempfile::TempDir,
    snapshots: SnapshotStore,
    _dir: tempfile::TempDir,
    primary: Arc<DurableDatabase<Shop>>,
    publisher: Publisher,
    stream: StreamConfig,
}

async fn setup() -> Setup {
    let server = LocalServer::start().unwrap();
    let client = connect(&server.url()).await;
    let store_dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalFileSystem::new_with_prefix(store_dir.path()).unwrap());
    let snapshots = SnapshotStore::object_store(store, "replicas/shop".into());
    let dir = tempfile::tempdir().unwrap();
    let primary = Arc::new(DurableDatabase::<Shop>::open(dir.path(), options()).unwrap());
    let stream = StreamConfig::new("shop");
    let publisher = common::publish(
        &primary,
        &client,
        PublisherOptions::new(stream.clone())
            .snapshots(snapshots.clone())
            .keep_snapshots(2),
    )
    .await;
    Setup {
        _server: server,
        client,
        store_dir,
        snapshots,
        _dir: dir,
        primary,
        publisher,
        stream,
    }
}

impl Setup {
    fn following(&self) -> ReplicaOptions {
        ReplicaOptions::new(self.stream.clone())
            .snapshots(self.snapshots.clone())
            .snapshot_wait(Duration::from_millis(500))
    }

    /// The files of the snapshot at `commit`, on disk.
    fn files_of(&self, commit: u64) -> std::path::PathBuf {
        self.store_dir
            .path()
            .join("replicas/shop")
            .join(format!("{commit:020}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_starts_from_a_snapshot_in_an_object_store() {
    let setup = setup().await;
    let mut rng = Rng::new(41);
    workload(&setup.primary, &mut rng, 200).await;
    let snapshot = within("a snapshot", setup.publisher.snapshot())
        .await
        .unwrap();
    assert_eq!(
        setup.snapshots.latest().await.unwrap(),
        Some(snapshot.commit)
    );
    workload(&setup.primary, &mut rng, 100).await;
    let replica = common::follow(&setup.client, setup.following()).await;
    assert!(replica.applied_seq() >= snapshot.commit);
    within("the replica", replica.wait_for(setup.primary.last_commit()))
        .await
        .unwrap();
    compare(&setup.primary, &replica.db()).unwrap();
    replica.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_snapshot_file_is_refused() {
    let setup = setup().await;
    workload(&setup.primary, &mut Rng::new(42), 200).await;
    let snapshot = within("a snapshot", setup.publisher.snapshot())
        .await
        .unwrap();
    let db_file = setup.files_of(snapshot.commit).join("db");
    let mut bytes = std::fs::read(&db_file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&db_file, bytes).unwrap();

    let target = tempfile::tempdir().unwrap();
    let fetched = setup.snapshots.fetch(snapshot.commit, target.path()).await;
    assert!(
        matches!(fetched, Err(SnapshotError::Damaged { commit, .. }) if commit == snapshot.commit),
        "{fetched:?}"
    );
    let followed = Replica::<Shop>::follow(setup.client.clone(), setup.following()).await;
    assert!(
        matches!(
            followed,
            Err(ReplicaError::Snapshot(SnapshotError::Damaged { .. }))
        ),
        "{followed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_without_its_manifest_is_never_read_and_old_ones_are_pruned() {
    let setup = setup().await;
    let mut rng = Rng::new(43);
    let mut taken = Vec::new();
    for _ in 0..3 {
        workload(&setup.primary, &mut rng, 60).await;
        taken.push(
            within("a snapshot", setup.publisher.snapshot())
                .await
                .unwrap()
                .commit,
        );
    }
    // Two kept, the oldest removed.
    // (The local file system keeps the emptied directory.)
    let oldest = setup.files_of(taken[0]);
    assert!(!oldest.join("MANIFEST").exists() && !oldest.join("db").exists());
    assert!(setup.files_of(taken[1]).join("MANIFEST").exists());
    assert_eq!(setup.snapshots.latest().await.unwrap(), Some(taken[2]));

    // A later snapshot cut short (its files, no manifest) is not the latest.
    let partial = setup.files_of(taken[2] + 1_000);
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::copy(setup.files_of(taken[2]).join("db"), partial.join("db")).unwrap();
    assert_eq!(setup.snapshots.latest().await.unwrap(), Some(taken[2]));
    let replica = common::follow(&setup.client, setup.following()).await;
    assert_eq!(replica.applied_seq(), taken[2]);
    within("the replica", replica.wait_for(setup.primary.last_commit()))
        .await
        .unwrap();
    compare(&setup.primary, &replica.db()).unwrap();
    replica.stop().await.unwrap();
}
