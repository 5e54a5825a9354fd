//! Read replicas through NATS JetStream, the workload of
//! `benches/replica.rs`: a primary [`DurableDatabase`] of [`Inventory`]
//! (`Durability::Sync`), a `worktable_replica::Publisher` sending its
//! durable commits to a stream on a `nats-server` started on loopback
//! ([`LocalServer`]), and `Replica`s following it, all in one process.
//!
//! - [`Site`] is one server, one primary and its publisher, and the
//!   snapshot store (a JetStream object-store bucket on the same server);
//!   [`Changes`] makes single-row changes on the primary and returns each
//!   one's commit number once it is durable.
//! - [`lag`] measures replication lag at an offered rate of changes;
//!   [`catch_up`] builds a stream of changes after a snapshot and times a
//!   new replica through it; [`summary`] writes and reads their figures
//!   and prints the tables.
//!
//! Directories (the primary's, the server's store) are made by the
//! durable benchmarks' [`Runner`]: in `$WORKTABLE_BENCH_DIR`, memory file
//! systems refused.

pub mod catch_up;
pub mod lag;
pub mod summary;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tempfile::TempDir;
use worktable_core::TxError;
use worktable_core::prelude::*;
use worktable_persist::{Durability, DurableDatabase, Options};
use worktable_replica::local_server::{LocalServer, LocalServerOptions};
use worktable_replica::{
    Publisher, PublisherOptions, PublisherState, Replica, ReplicaOptions, SnapshotStore,
    StreamConfig,
};

use crate::Mode;
use crate::durable::Runner;

/// Concurrent writers on the primary: enough for group commit to reach
/// tens of thousands of single-row changes per second.
pub const WRITERS: usize = 64;

/// Rows of each writer in the lag benchmark's primary: writer `w` updates
/// rows `w`, `w + WRITERS`, … of its own, so writers never conflict.
pub const ROWS_PER_WRITER: u64 = 64;

/// Rows per transaction while a primary is filled (about 60 KiB of
/// commits: well under a message's limit).
const FILL_BATCH: u64 = 1_000;

/// One row of the replicated table.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub struct Item {
    /// Primary key.
    #[pk]
    pub id: u64,
    /// The writer that owns the row; non-unique index.
    #[index]
    pub writer: u32,
    /// Changed by every update.
    pub balance: i64,
    /// 16 bytes.
    pub name: String,
}

/// The replicated database: one table.
#[derive(Database, Debug)]
pub struct Inventory {
    /// [`Item`]s.
    pub items: WorkTable<Item>,
}

/// Row `id`, owned by writer `id % WRITERS`.
pub fn item(id: u64) -> Item {
    Item {
        id,
        writer: (id % WRITERS as u64) as u32,
        balance: 0,
        name: format!("item-{id:011}"),
    }
}

/// How much a run measures: from `WORKTABLE_BENCH` and whether criterion
/// runs in test mode (`-- --test`: everything once, as small as it gets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    /// Offered load per measured run, warm-up included.
    pub run_length: Duration,
    /// The first part of a run, whose changes are not counted.
    pub warm_up: Duration,
    /// Rounds of the lag runs (each round runs every rate once).
    pub rounds: usize,
    /// Rows of the primary when the catch-up benchmark's snapshot is taken.
    pub snapshot_rows: u64,
    /// Changes on the stream after that snapshot.
    pub catch_up_changes: u64,
}

impl Scale {
    /// The scale of `mode`; `test`: criterion's test mode.
    pub fn of(mode: Mode, test: bool) -> Self {
        match (mode, test) {
            (_, true) => Self {
                run_length: Duration::from_millis(300),
                warm_up: Duration::from_millis(50),
                rounds: 1,
                snapshot_rows: 2_000,
                catch_up_changes: 5_000,
            },
            (Mode::Quick, false) => Self {
                run_length: Duration::from_millis(1_500),
                warm_up: Duration::from_millis(250),
                rounds: 3,
                snapshot_rows: 100_000,
                catch_up_changes: 100_000,
            },
            (Mode::Default | Mode::Large, false) => Self {
                run_length: Duration::from_secs(4),
                warm_up: Duration::from_millis(500),
                rounds: 3,
                snapshot_rows: 100_000,
                catch_up_changes: 1_000_000,
            },
        }
    }
}

/// A multi-threaded tokio runtime with timers and I/O, for the NATS
/// clients, the publisher, the replicas and the writers.
///
/// # Panics
///
/// If it cannot start.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
}

/// Single-row changes on a primary, each its own durable transaction:
/// three updates of a row of the writer's, then an insert of a new row.
#[derive(Clone, Debug)]
pub struct Changes {
    db: Arc<DurableDatabase<Inventory>>,
    /// Rows the primary was filled with (`0..rows`).
    rows: u64,
    /// The key of the next inserted row.
    next_id: Arc<AtomicU64>,
}

impl Changes {
    /// Writer `writer`'s change number `k`; returns its commit number once
    /// it is durable.
    ///
    /// # Panics
    ///
    /// If the change fails.
    pub async fn make(&self, writer: usize, k: u64) -> u64 {
        let own = (self.rows / WRITERS as u64).max(1);
        let id = writer as u64 + WRITERS as u64 * (k % own);
        loop {
            let tx = self.db.begin();
            if k % 4 == 3 {
                let new = self.next_id.fetch_add(1, Ordering::Relaxed);
                tx.items.insert(item(new)).expect("a new key");
            } else {
                tx.items
                    .update_with(&id, |row| row.balance += 1)
                    .expect("the writer's row exists");
            }
            match tx.commit().await {
                Ok(commit) => return commit,
                // Writers own their rows: not expected, but harmless.
                Err(TableError::Conflict { .. }) => continue,
                Err(error) => panic!("a change failed: {error:?}"),
            }
        }
    }

    /// The primary.
    pub fn db(&self) -> &DurableDatabase<Inventory> {
        &self.db
    }
}

/// One `nats-server` (its store in a directory of the runner), a primary
/// in another, its publisher, and the snapshot store. Fields drop in
/// order: the server before its directory is removed.
#[derive(Debug)]
pub struct Site {
    stream: StreamConfig,
    snapshots: SnapshotStore,
    publisher: Option<Publisher>,
    changes: Changes,
    replica_client: async_nats::Client,
    _primary_dir: TempDir,
    server: LocalServer,
    _store_dir: TempDir,
}

impl Site {
    /// Starts a server (`sync_always`: JetStream syncs every write before
    /// acknowledging it), opens an empty primary, starts its publisher on
    /// stream `name`, and fills the primary with `rows` rows in
    /// transactions of 1,000 (published; not timed by anyone).
    ///
    /// # Panics
    ///
    /// If any of it fails (`nats-server` not installed, say).
    pub fn open(
        runner: &Runner,
        runtime: &tokio::runtime::Runtime,
        name: &str,
        sync_always: bool,
        rows: u64,
    ) -> Self {
        let store_dir = runner.fresh_dir();
        let server = LocalServer::start_with(
            LocalServerOptions::new()
                .store_dir(store_dir.path().join("nats"))
                .sync_always(sync_always),
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let primary_dir = runner.fresh_dir();
        let options = Options::durability(Durability::Sync);
        let db = Arc::new(DurableDatabase::open(primary_dir.path(), options).expect("opens"));
        let stream = StreamConfig::new(name);
        let url = server.url();
        let (snapshots, publisher, replica_client) = runtime.block_on(async {
            let client = connect(&url).await;
            let js = async_nats::jetstream::new(client.clone());
            let snapshots = SnapshotStore::jetstream(&js, &format!("{name}-snapshots"), 1)
                .await
                .expect("the snapshot bucket");
            let options = PublisherOptions::new(stream.clone()).snapshots(snapshots.clone());
            let publisher = Publisher::start(Arc::clone(&db), client, options)
                .await
                .expect("the publisher starts");
            (snapshots, publisher, connect(&url).await)
        });
        let site = Self {
            stream,
            snapshots,
            publisher: Some(publisher),
            changes: Changes {
                db,
                rows,
                next_id: Arc::new(AtomicU64::new(rows)),
            },
            replica_client,
            _primary_dir: primary_dir,
            server,
            _store_dir: store_dir,
        };
        runtime.block_on(async {
            site.fill(rows).await;
            site.wait_published().await;
        });
        site
    }

    async fn fill(&self, rows: u64) {
        for start in (0..rows).step_by(FILL_BATCH as usize) {
            let end = (start + FILL_BATCH).min(rows);
            self.changes
                .db
                .transaction(|tx| async move {
                    for id in start..end {
                        tx.items.insert(item(id))?;
                    }
                    Ok::<_, TableError>(())
                })
                .await
                .unwrap_or_else(|error: TxError<TableError>| panic!("filling: {error:?}"));
        }
    }

    /// The changes to make on the primary.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// The publisher.
    pub fn publisher(&self) -> &Publisher {
        self.publisher.as_ref().expect("running until shut down")
    }

    /// Where the publisher is.
    pub fn published(&self) -> PublisherState {
        self.publisher().state()
    }

    /// Waits until the stream holds the primary's last commit.
    ///
    /// # Panics
    ///
    /// If the publisher stopped.
    pub async fn wait_published(&self) {
        let last = self.changes.db.last_commit();
        self.publisher()
            .wait_published(last)
            .await
            .expect("the publisher runs");
    }

    /// A new replica of the stream (its own client connection), loading
    /// the latest snapshot if there is one.
    ///
    /// # Panics
    ///
    /// If it cannot start.
    pub async fn follow(&self) -> Replica<Inventory> {
        let options = ReplicaOptions::new(self.stream.clone()).snapshots(self.snapshots.clone());
        Replica::follow(self.replica_client.clone(), options)
            .await
            .expect("the replica starts")
    }

    /// What the server's store directory is on.
    pub fn server_dir(&self) -> &std::path::Path {
        self.server.store_dir()
    }

    /// Stops the publisher (the server and directories go when dropped).
    ///
    /// # Panics
    ///
    /// If the publisher had stopped on an error.
    pub async fn stop_publisher(&mut self) {
        if let Some(publisher) = self.publisher.take() {
            publisher.stop().await.expect("the publisher ran");
        }
    }
}

/// A client of the server at `url`, with the default options.
///
/// # Panics
///
/// If it cannot connect.
pub async fn connect(url: &str) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .connect(url)
        .await
        .expect("the server accepts a client")
}

/// Waits until `replica` holds commit `commit`.
///
/// # Panics
///
/// If the replica stopped first, or did not get there in two minutes.
pub async fn wait_applied(replica: &Replica<Inventory>, commit: u64) {
    tokio::time::timeout(Duration::from_secs(120), replica.wait_for(commit))
        .await
        .unwrap_or_else(|_| panic!("the replica is stuck: {:?}", replica.status()))
        .unwrap_or_else(|error| panic!("the replica stopped: {error} ({:?})", replica.status()));
}
