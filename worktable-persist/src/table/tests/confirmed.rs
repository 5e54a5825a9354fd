//! The confirmed change stream delivers a change only once it is durable,
//! in order, resumes from a number across reopen, and says so when a
//! change can no longer become durable.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::{Order, insert_n, open, order, sync};
use crate::vfs::{Fault, SimFs};
use crate::{ConfirmedError, Durability, Options, PersistentTable, WriteError};

/// No sync of its own for an hour, no background checkpoint: records are
/// synced only by an explicit checkpoint or close.
fn unsynced() -> Options {
    Options::durability(Durability::Periodic(Duration::from_secs(3600)))
        .checkpoint_after_log_bytes(u64::MAX)
        .checkpoint_interval(None)
}

/// Whether the stream yields an item within a short wait.
async fn yields<S: futures::Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    tokio::time::timeout(Duration::from_millis(100), stream.next())
        .await
        .ok()
        .flatten()
}

#[tokio::test]
async fn a_change_is_delivered_only_once_its_record_is_synced() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), unsynced());
    let mut live = table.subscribe();
    let mut confirmed = table.subscribe_confirmed(0).await.unwrap();
    let keys = insert_n(&table, 3).await;
    // Visible and delivered to a plain subscriber at once...
    assert_eq!(live.next().await.unwrap().unwrap().seq(), 1);
    // ...but not durable: the confirmed stream holds it back.
    assert!(yields(&mut confirmed).await.is_none());
    // A checkpoint syncs the log: all three come, in order.
    table.checkpoint().await.unwrap();
    for (seq, key) in (1..).zip(&keys) {
        let change = confirmed.next().await.unwrap().unwrap();
        assert_eq!((change.seq(), change.pk()), (seq, key));
    }
    table.wait_durable(3).await.unwrap();
    assert!(yields(&mut confirmed).await.is_none());
    drop(confirmed);
    table.close().await.unwrap();
}

#[tokio::test]
async fn a_confirmed_feed_resumes_after_a_saved_number_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let table = open(dir.path(), sync());
    insert_n(&table, 5).await;
    drop(table);
    let table = open(dir.path(), sync());
    let mut confirmed = table.subscribe_confirmed(2).await.unwrap();
    let pk = table.insert(order("live", 1, 1, 1)).await.unwrap();
    let mut seqs = Vec::new();
    for _ in 0..4 {
        seqs.push(confirmed.next().await.unwrap().unwrap().seq());
    }
    assert_eq!(seqs, [3, 4, 5, 6]);
    assert_eq!(table.get(&pk).unwrap().client_ref, "live");
    drop(confirmed);
    table.close().await.unwrap();
}

async fn on_disk(disk: &SimFs, dir: &Path, options: Options) -> PersistentTable<Order> {
    PersistentTable::<Order>::open_in(Arc::new(disk.clone()), dir, options).unwrap()
}

#[tokio::test]
async fn a_change_the_log_cannot_sync_ends_the_stream_with_an_error() {
    let disk = SimFs::new();
    let dir = Path::new("/t");
    let table = on_disk(&disk, dir, sync()).await;
    insert_n(&table, 2).await;
    let mut confirmed = table.subscribe_confirmed(0).await.unwrap();
    disk.fail(Fault::Sync { nth: 1 });
    assert!(table.insert(order("lost", 1, 1, 1)).await.is_err());
    // What was synced comes; the change whose sync failed does not.
    assert_eq!(confirmed.next().await.unwrap().unwrap().seq(), 1);
    assert_eq!(confirmed.next().await.unwrap().unwrap().seq(), 2);
    match confirmed.next().await {
        Some(Err(ConfirmedError::NotDurable(WriteError::LogWrite { .. }))) => {}
        other => panic!("expected the log's failure, got {other:?}"),
    }
    assert!(confirmed.next().await.is_none(), "the stream ends");
    assert!(matches!(
        table.wait_durable(3).await,
        Err(WriteError::LogWrite { .. })
    ));
    drop(confirmed);
    let _ = table.close().await;
}
