//! Damaged, foreign or mismatched messages on the stream: the replica
//! stops with a typed error before applying any of it, and what it had
//! applied stays as it was.

mod common;

use std::sync::Arc;

use common::{Rng, Shop, compare, options, within, workload};
use worktable_core::prelude::*;
use worktable_persist::DurableDatabase;
use worktable_replica::local_server::LocalServer;
use worktable_replica::{
    MessageError, Publisher, PublisherOptions, Replica, ReplicaError, ReplicaOptions, StreamConfig,
};

/// Another database's tables: messages of its primary are foreign to a
/// replica of `Shop`.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Note {
    #[pk]
    id: u64,
    text: String,
}

#[derive(Database)]
struct Notes {
    notes: WorkTable<Note>,
}

/// A primary that published some commits, and a replica that applied
/// them; returns the replica and the stream's last message's payload.
async fn followed(
    server: &LocalServer,
    stream: &StreamConfig,
) -> (
    Arc<DurableDatabase<Shop>>,
    Replica<Shop>,
    tempfile::TempDir,
    Vec<u8>,
) {
    let client = common::connect(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let primary = Arc::new(DurableDatabase::<Shop>::open(dir.path(), options()).unwrap());
    let publisher = common::publish(&primary, &client, PublisherOptions::new(stream.clone())).await;
    workload(&primary, &mut Rng::new(3), 120).await;
    let at = primary.last_commit();
    within("publishing", publisher.wait_published(at))
        .await
        .unwrap();
    publisher.stop().await.unwrap();
    let replica = common::follow(&client, ReplicaOptions::new(stream.clone())).await;
    within("the replica", replica.wait_for(at)).await.unwrap();
    compare(&primary, &replica.db()).unwrap();
    let js = async_nats::jetstream::new(client);
    let mut handle = js.get_stream(stream.name()).await.unwrap();
    let last = handle.info().await.unwrap().state.last_sequence;
    let payload = handle.get_raw_message(last).await.unwrap().payload.to_vec();
    (primary, replica, dir, payload)
}

/// Publishes `payload` on the stream's subject as a raw message.
async fn inject(server: &LocalServer, stream: &StreamConfig, payload: Vec<u8>) {
    let client = common::connect(&server.url()).await;
    let js = async_nats::jetstream::new(client);
    js.publish(format!("worktable.{}", stream.name()), payload.into())
        .await
        .unwrap()
        .await
        .unwrap();
}

/// Waits until the replica has stopped, and returns why.
async fn stopped_reason(replica: &Replica<Shop>) -> String {
    within("the replica to stop", async {
        loop {
            if let Some(reason) = replica.status().stopped {
                return reason;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
}

async fn refused_after(payload: Vec<u8>, expect: impl Fn(&ReplicaError) -> bool) {
    let server = LocalServer::start().unwrap();
    let stream = StreamConfig::new("shop");
    let (primary, replica, _dir, _) = followed(&server, &stream).await;
    let applied = replica.applied_seq();
    inject(&server, &stream, payload).await;
    let reason = stopped_reason(&replica).await;
    assert_eq!(replica.applied_seq(), applied, "nothing of it was applied");
    compare(&primary, &replica.db()).unwrap();
    assert!(replica.wait_for(applied + 1).await.is_err());
    match replica.stop().await {
        Err(error) => {
            assert!(expect(&error), "unexpected error {error:?}");
            assert_eq!(error.to_string(), reason);
        }
        Ok(()) => panic!("stop after a refused message gave Ok"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_message_stops_the_replica() {
    refused_after(b"{\"hello\":\"not a commit\"}".to_vec(), |error| {
        matches!(
            error,
            ReplicaError::Message {
                source: MessageError::Foreign,
                ..
            }
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_copy_of_a_real_message_stops_the_replica() {
    let server = LocalServer::start().unwrap();
    let stream = StreamConfig::new("shop");
    let (primary, replica, _dir, mut payload) = followed(&server, &stream).await;
    let applied = replica.applied_seq();
    // A real message, one bit flipped in the middle of its commits.
    let middle = payload.len() / 2;
    payload[middle] ^= 0x10;
    inject(&server, &stream, payload).await;
    stopped_reason(&replica).await;
    assert_eq!(replica.applied_seq(), applied);
    compare(&primary, &replica.db()).unwrap();
    let error = replica.stop().await.unwrap_err();
    assert!(
        matches!(
            error,
            ReplicaError::Message {
                source: MessageError::Checksum,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_databases_commits_stop_the_replica() {
    let server = LocalServer::start().unwrap();
    let stream = StreamConfig::new("shop");
    let (primary, replica, _dir, _) = followed(&server, &stream).await;
    let applied = replica.applied_seq();
    // A primary of other tables publishes to a stream of its own; its
    // message is copied onto this one.
    let client = common::connect(&server.url()).await;
    let notes_dir = tempfile::tempdir().unwrap();
    let notes = Arc::new(DurableDatabase::<Notes>::open(notes_dir.path(), options()).unwrap());
    let notes_stream = StreamConfig::new("notes");
    let publisher = Publisher::start(
        Arc::clone(&notes),
        client.clone(),
        PublisherOptions::new(notes_stream),
    )
    .await
    .unwrap();
    notes
        .notes
        .insert(Note {
            id: applied + 1,
            text: "elsewhere".into(),
        })
        .await
        .unwrap();
    within("notes", publisher.wait_published(notes.last_commit()))
        .await
        .unwrap();
    publisher.stop().await.unwrap();
    let js = async_nats::jetstream::new(client);
    let foreign = js
        .get_stream("notes")
        .await
        .unwrap()
        .get_raw_message(1)
        .await
        .unwrap()
        .payload
        .to_vec();
    inject(&server, &stream, foreign).await;
    stopped_reason(&replica).await;
    assert_eq!(replica.applied_seq(), applied);
    compare(&primary, &replica.db()).unwrap();
    let error = replica.stop().await.unwrap_err();
    assert!(matches!(error, ReplicaError::Schema { .. }), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_does_not_apply_stops_the_replica_with_nothing_applied() {
    let server = LocalServer::start().unwrap();
    let client = common::connect(&server.url()).await;
    let account = |id: u32| common::Account {
        id,
        email: format!("a{id}@shop.test"),
        branch: 0,
        balance: 1,
    };
    // Primary A holds account 1 (commit 1); its replica applied it.
    let dir_a = tempfile::tempdir().unwrap();
    let a = Arc::new(DurableDatabase::<Shop>::open(dir_a.path(), options()).unwrap());
    let stream = StreamConfig::new("shop");
    let publisher = common::publish(&a, &client, PublisherOptions::new(stream.clone())).await;
    a.accounts.insert(account(1)).await.unwrap();
    within("publishing", publisher.wait_published(1))
        .await
        .unwrap();
    publisher.stop().await.unwrap();
    let replica = common::follow(&client, ReplicaOptions::new(stream.clone())).await;
    within("the replica", replica.wait_for(1)).await.unwrap();

    // Database B, same tables: commit 1 inserts account 5, commit 2
    // account 1, each in a message of its own on B's stream.
    let dir_b = tempfile::tempdir().unwrap();
    let b = Arc::new(DurableDatabase::<Shop>::open(dir_b.path(), options()).unwrap());
    let other = StreamConfig::new("other");
    let publisher = common::publish(&b, &client, PublisherOptions::new(other)).await;
    for (id, commit) in [(5, 1), (1, 2)] {
        b.accounts.insert(account(id)).await.unwrap();
        within("publishing", publisher.wait_published(commit))
            .await
            .unwrap();
    }
    publisher.stop().await.unwrap();
    let js = async_nats::jetstream::new(client.clone());
    let second = js
        .get_stream("other")
        .await
        .unwrap()
        .get_raw_message(2)
        .await
        .unwrap()
        .payload
        .to_vec();
    // On A's stream it follows on from commit 1, numbered right, and
    // inserts an account the replica holds.
    inject(&server, &stream, second).await;
    stopped_reason(&replica).await;
    assert_eq!(replica.applied_seq(), 1);
    compare(&a, &replica.db()).unwrap();
    let error = replica.stop().await.unwrap_err();
    assert!(
        matches!(&error, ReplicaError::Diverged { commit: 2, reason } if reason.contains("found a row")),
        "{error:?}"
    );
}
