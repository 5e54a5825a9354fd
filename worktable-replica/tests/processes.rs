//! Replicas and primaries as real processes, killed with SIGKILL or
//! stopped with SIGSTOP, against a real `nats-server`:
//!
//! - a replica killed while the primary writes restarts (from the latest
//!   snapshot) and catches up to exactly the primary's rows;
//! - a primary killed while it writes recovers to at least every commit it
//!   acknowledged and to at least what the replica applied, and a new
//!   publisher on the recovered database goes on with the same history;
//! - a replica stopped while the stream trims far past it reloads from a
//!   snapshot when it resumes, and catches up.
//!
//! The children are this test binary run again, executing only
//! [`child_process`] with the role in an environment variable (see
//! `processes/roles.rs`; the line protocol and the parent's handle on a
//! child are in `processes/harness.rs`). Every test is bounded by
//! [`TEST_LIMIT`], and a child is killed when its handle drops.
//!
//! Random choices (kill moments, workloads) come from a seed printed in
//! failure messages; `WORKTABLE_REPLICA_PROCESSES_SEED=<seed>` replays it.

mod common;

mod processes {
    pub(crate) mod harness;
    pub(crate) mod roles;
}

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Rng, Shop, WAIT, compare, connect, options, within, workload};
use processes::harness::{
    self, BUCKET_ENV, ChildProcess, DIR_ENV, Message, SEED_ENV, STREAM_ENV, URL_ENV, digest,
};
use worktable_core::prelude::*;
use worktable_persist::DurableDatabase;
use worktable_replica::local_server::LocalServer;
use worktable_replica::{
    Publisher, PublisherOptions, Replica, ReplicaOptions, SnapshotStore, StreamConfig,
};

/// The bound on a whole test.
const TEST_LIMIT: Duration = Duration::from_secs(90);
/// The stream and the snapshot bucket (each test has a server of its own).
const STREAM: &str = "shop";
const BUCKET: &str = "shop-snapshots";
const SEED_VAR: &str = "WORKTABLE_REPLICA_PROCESSES_SEED";

/// Not a test on its own: the child's entry when a test runs this binary
/// again with a role. Returns at once otherwise.
#[test]
fn child_process() {
    processes::roles::run_if_child();
}

/// Runs `test` with the seed it draws from, failing after [`TEST_LIMIT`]
/// and saying the seed on any failure.
async fn bounded<F: Future<Output = ()>>(name: &str, test: impl FnOnce(u64) -> F) {
    let seed = std::env::var(SEED_VAR).map_or_else(
        |_| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos() as u64);
            Rng::new(nanos ^ u64::from(std::process::id())).next()
        },
        |seed| seed.parse().expect("the seed is a number"),
    );
    let replay = ReplayHint { name, seed };
    tokio::time::timeout(TEST_LIMIT, test(seed))
        .await
        .unwrap_or_else(|_| panic!("{name} took longer than {TEST_LIMIT:?}"));
    std::mem::forget(replay);
}

/// Prints how to replay a test when it panics (dropped while unwinding).
struct ReplayHint<'a> {
    name: &'a str,
    seed: u64,
}

impl Drop for ReplayHint<'_> {
    fn drop(&mut self) {
        eprintln!(
            "{} failed with seed {} (replay with {SEED_VAR}={})",
            self.name, self.seed, self.seed
        );
    }
}

/// Random milliseconds in `range`.
fn millis(rng: &mut Rng, range: std::ops::Range<u64>) -> Duration {
    Duration::from_millis(range.start + rng.below(range.end - range.start))
}

/// A fresh server, a client of it and the snapshot store in it.
async fn server() -> (
    LocalServer,
    async_nats::Client,
    async_nats::jetstream::Context,
    SnapshotStore,
) {
    let server = tokio::task::block_in_place(LocalServer::start).expect("nats-server starts");
    let client = connect(server.url()).await;
    let js = async_nats::jetstream::new(client.clone());
    let store = SnapshotStore::jetstream(&js, BUCKET, 1)
        .await
        .expect("the snapshot bucket");
    (server, client, js, store)
}

/// The environment of a child role on `server`; `temp` is its TMPDIR (a
/// killed child leaves its staging directories there, which the test
/// removes).
fn child_env(server: &LocalServer, temp: &tempfile::TempDir) -> Vec<(&'static str, String)> {
    vec![
        (URL_ENV, server.url()),
        (STREAM_ENV, STREAM.to_owned()),
        (BUCKET_ENV, BUCKET.to_owned()),
        ("TMPDIR", temp.path().display().to_string()),
    ]
}

async fn start_replica(env: &[(&str, String)]) -> (ChildProcess, u64) {
    let mut child = ChildProcess::start("replica", env);
    let at = child.ready(WAIT).await.unwrap_or_else(|e| panic!("{e}"));
    (child, at)
}

/// A replica child is killed with SIGKILL at random moments while the
/// in-process primary writes, and restarted each time; at the end it holds
/// exactly the primary's last commit and rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_restarts_and_catches_up_exactly() {
    bounded(
        "a_killed_replica_restarts_and_catches_up_exactly",
        |seed| async move {
            let (server, client, _js, store) = server().await;
            let dir = tempfile::tempdir().unwrap();
            let temp = tempfile::tempdir().unwrap();
            let primary = Arc::new(DurableDatabase::<Shop>::open(dir.path(), options()).unwrap());
            let publisher = Publisher::start(
                Arc::clone(&primary),
                client.clone(),
                PublisherOptions::new(StreamConfig::new(STREAM))
                    .snapshots(store.clone())
                    .snapshot_every(200),
            )
            .await
            .unwrap();
            let mut rng = Rng::new(seed);
            // Enough for a snapshot: every start of the replica loads one.
            while publisher.state().last_snapshot.is_none() {
                workload(&primary, &mut rng, 50).await;
                within(
                    "publishing",
                    publisher.wait_published(primary.last_commit()),
                )
                .await
                .unwrap();
                assert!(
                    primary.last_commit() < 2_000,
                    "no snapshot: {:?}",
                    publisher.state()
                );
            }

            // Writes go on during the kills and restarts.
            let writing = Arc::new(AtomicBool::new(true));
            let writer = tokio::spawn({
                let (primary, writing) = (Arc::clone(&primary), Arc::clone(&writing));
                let mut rng = Rng::new(seed ^ 0x5eed);
                async move {
                    let mut committed = 0;
                    while writing.load(Ordering::Relaxed) {
                        committed += workload(&primary, &mut rng, 20).await;
                    }
                    committed
                }
            });

            let env = child_env(&server, &temp);
            let (mut replica, mut started_at) = start_replica(&env).await;
            let kills = 2 + rng.below(2);
            for kill in 0..kills {
                assert!(
                    started_at > 0,
                    "start {kill}: the replica loaded no snapshot"
                );
                // Caught up live once, then killed while it applies.
                let target = primary.last_commit();
                let report = replica
                    .ask(&format!("wait {target}"), WAIT)
                    .await
                    .unwrap_or_else(|e| panic!("before kill {kill}: {e}"));
                assert!(report.at >= target, "{report:?} < {target}");
                tokio::time::sleep(millis(&mut rng, 0..400)).await;
                replica
                    .kill()
                    .unwrap_or_else(|e| panic!("kill {kill}: {e}"));
                tokio::time::sleep(millis(&mut rng, 0..200)).await;
                (replica, started_at) = start_replica(&env).await;
            }
            tokio::time::sleep(millis(&mut rng, 100..400)).await;

            writing.store(false, Ordering::Relaxed);
            let committed = within("the writer", writer).await.unwrap();
            let last = primary.last_commit();
            assert!(
                committed > 0 && last > started_at,
                "{committed} commits, last {last}"
            );
            within("publishing", publisher.wait_published(last))
                .await
                .unwrap();
            let report = replica
                .ask(&format!("wait {last}"), WAIT)
                .await
                .unwrap_or_else(|e| panic!("at the end: {e}"));
            assert_eq!(report.at, last, "the replica's last applied commit");
            assert_eq!(
                report.digest,
                digest(&primary),
                "the replica's rows differ from the primary's at commit {last}"
            );
            publisher.stop().await.unwrap();
        },
    )
    .await;
}

/// A primary child is killed with SIGKILL while it writes; the database
/// recovered from its directory holds every acknowledged commit and every
/// commit the in-process replica applied; a new publisher on it goes on,
/// and the replica follows it to the same rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_primary_and_the_replica_share_one_history() {
    bounded("a_killed_primary_and_the_replica_share_one_history", |seed| async move {
        let (server, client, js, store) = server().await;
        let dir = tempfile::tempdir().unwrap();
        let temp = tempfile::tempdir().unwrap();
        let mut env = child_env(&server, &temp);
        env.push((DIR_ENV, dir.path().display().to_string()));
        env.push((SEED_ENV, seed.to_string()));
        let mut child = ChildProcess::start("primary", &env);
        child.ready(WAIT).await.unwrap_or_else(|e| panic!("{e}"));
        // The publisher created the stream.
        let replica = Replica::<Shop>::follow(
            client.clone(),
            ReplicaOptions::new(StreamConfig::new(STREAM)).snapshots(store.clone()),
        )
        .await
        .unwrap();

        let mut rng = Rng::new(seed);
        let kill_after = 300 + rng.below(600);
        let mut acked = 0;
        while acked < kill_after || replica.applied_seq() == 0 {
            match child.next("`acked`", WAIT).await {
                Ok(Message::Acked(commit)) => acked = commit,
                Ok(other) => panic!("the primary said {other}"),
                Err(e) => panic!("{e}"),
            }
        }
        tokio::time::sleep(millis(&mut rng, 0..60)).await;
        let lines = child.kill().unwrap_or_else(|e| panic!("{e}"));
        let last_acked = lines
            .iter()
            .filter_map(|line| match Message::parse(line) {
                Some(Message::Acked(commit)) => Some(commit),
                _ => None,
            })
            .max()
            .unwrap_or(0);

        // The replica applies whatever the stream holds.
        let mut stream = js.get_stream(STREAM).await.unwrap();
        let stream_last = stream.info().await.unwrap().state.last_sequence;
        within("the replica applying the stream", async {
            while replica.status().stream_seq < stream_last {
                assert_eq!(replica.status().stopped, None);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;

        let reopen = dir.path().to_owned();
        let recovered = tokio::task::spawn_blocking(move || {
            DurableDatabase::<Shop>::open(&reopen, options())
        })
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("reopening the killed primary: {e:?}"));
        let recovered = Arc::new(recovered);
        let recovered_last = recovered.last_commit();
        assert!(
            recovered_last >= last_acked,
            "commit {last_acked} was acknowledged, the recovered database ends at {recovered_last}"
        );
        let applied = replica.applied_seq();
        assert!(
            applied <= recovered_last,
            "the replica applied {applied}, the recovered database ends at {recovered_last}"
        );

        let publisher = Publisher::start(
            Arc::clone(&recovered),
            client.clone(),
            PublisherOptions::new(StreamConfig::new(STREAM))
                .snapshots(store.clone())
                .snapshot_every(200),
        )
        .await
        .unwrap_or_else(|e| panic!("a publisher on the recovered database: {e}"));
        let mut rng = Rng::new(seed ^ 0xdead);
        for round in 0..4 {
            workload(&recovered, &mut rng, 60).await;
            let last = recovered.last_commit();
            within("the replica", replica.wait_for(last))
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e}; {:?}", replica.status()));
            compare(&recovered, &replica.db()).unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        assert_eq!(replica.status().stopped, None);
        within("publishing", publisher.wait_published(recovered.last_commit()))
            .await
            .unwrap();
        publisher.stop().await.unwrap();
        replica.stop().await.unwrap();
    })
    .await;
}

/// Messages a stopped replica may have been sent before it stopped: an
/// ordered consumer keeps up to one and a half pull batches of 500 asked
/// for. The stream is trimmed past the replica by more than that.
const TRIMMED_PAST: u64 = 1_500;

/// The primary of the trimmed-stream test, written one commit at a time,
/// each published before the next: a message holds one commit, and
/// `commit_at` maps every message to it.
struct Trimmed {
    primary: Arc<DurableDatabase<Shop>>,
    publisher: Publisher,
    stream: async_nats::jetstream::stream::Stream,
    commit_at: BTreeMap<u64, u64>,
    rng: Rng,
    writes: u64,
}

/// Where the stream is after a write of [`Trimmed::write_until`].
#[derive(Clone, Copy, Debug)]
struct Trim {
    /// The stream's first sequence.
    first: u64,
    /// The commit a replica behind the stream's first message needs a
    /// snapshot of: the last commit of the message before it.
    needed: Option<u64>,
    /// The latest snapshot the publisher stored.
    snapshot: Option<u64>,
}

impl Trim {
    /// A snapshot a replica behind the stream's first message can reload
    /// from, later than `commit`.
    fn snapshot_covers(&self, commit: u64) -> bool {
        matches!((self.needed, self.snapshot), (Some(needed), Some(at)) if at >= needed && at > commit)
    }
}

impl Trimmed {
    /// Writes one committed workload step at a time until `done` says so.
    async fn write_until(&mut self, what: &str, done: impl Fn(&Trim) -> bool) {
        loop {
            while workload(&self.primary, &mut self.rng, 1).await == 0 {}
            self.writes += 1;
            within(
                "publishing",
                self.publisher.wait_published(self.primary.last_commit()),
            )
            .await
            .unwrap();
            let state = self.publisher.state();
            self.commit_at.insert(state.stream_seq, state.published);
            let first = self.stream.info().await.unwrap().state.first_sequence;
            let trim = Trim {
                first,
                needed: match first {
                    0 | 1 => Some(0),
                    _ => self.commit_at.get(&(first - 1)).copied(),
                },
                snapshot: state.last_snapshot,
            };
            if done(&trim) {
                return;
            }
            assert!(
                self.writes < 20_000,
                "{what}: not after {} writes: {trim:?}, {state:?}",
                self.writes
            );
        }
    }
}

/// A replica child is stopped (SIGSTOP) while the primary writes until the
/// stream (30 messages at most) has dropped far more than the replica had
/// read; resumed (SIGCONT), it reloads from a snapshot and catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_behind_a_trimmed_stream_reloads_from_a_snapshot() {
    bounded(
        "a_replica_behind_a_trimmed_stream_reloads_from_a_snapshot",
        |seed| async move {
            let (server, client, js, store) = server().await;
            let dir = tempfile::tempdir().unwrap();
            let temp = tempfile::tempdir().unwrap();
            let primary = Arc::new(DurableDatabase::<Shop>::open(dir.path(), options()).unwrap());
            let publisher = Publisher::start(
                Arc::clone(&primary),
                client.clone(),
                // No `snapshot_every`: the stream's limit alone makes the
                // publisher snapshot often enough (every 15 messages).
                PublisherOptions::new(StreamConfig::new(STREAM).max_messages(30))
                    .snapshots(store.clone()),
            )
            .await
            .unwrap();
            let mut primary = Trimmed {
                primary,
                publisher,
                stream: js.get_stream(STREAM).await.unwrap(),
                commit_at: BTreeMap::new(),
                rng: Rng::new(seed),
                writes: 0,
            };
            // A replica starts from the latest snapshot and goes on from the
            // stream: the snapshot must reach the stream's first message.
            primary
                .write_until("a snapshot a new replica can start from", |trim| {
                    trim.snapshot_covers(0)
                })
                .await;
            let last = primary.primary.last_commit();

            let (mut replica, _) = start_replica(&child_env(&server, &temp)).await;
            let before = replica
                .ask(&format!("wait {last}"), WAIT)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((before.at, before.digest), (last, digest(&primary.primary)));
            // The replica has read the whole stream (its own `seq` says the
            // last message it applied, none when it started from a snapshot at
            // the stream's last commit).
            let position = primary.publisher.state().stream_seq.max(before.seq);

            replica.signal("STOP");
            primary
                .write_until("the stream trimmed past the replica", |trim| {
                    trim.first > position + TRIMMED_PAST && trim.snapshot_covers(before.at)
                })
                .await;
            replica.signal("CONT");

            let last = primary.primary.last_commit();
            let after = replica
                .ask(&format!("wait {last}"), WAIT)
                .await
                .unwrap_or_else(|e| panic!("after {} writes: {e}", primary.writes));
            assert_eq!(after.at, last, "the replica's last applied commit");
            assert!(
                after.reseeds > before.reseeds,
                "the replica did not reload: {before:?} then {after:?}"
            );
            assert_eq!(
                after.digest,
                digest(&primary.primary),
                "the replica's rows differ from the primary's at commit {last}"
            );
            primary.publisher.stop().await.unwrap();
        },
    )
    .await;
}

#[test]
fn the_protocol_reads_what_it_writes() {
    let report = harness::Report {
        at: 7,
        seq: 3,
        reseeds: 1,
        digest: 0xfeed,
    };
    for message in [
        Message::Ready { at: 12 },
        Message::Report(report),
        Message::Acked(40),
        Message::Error("it broke".to_owned()),
    ] {
        // libtest's `test child_process ... ` may precede it on the line.
        let line = format!("test child_process ... {message}");
        assert_eq!(Message::parse(&line), Some(message));
    }
    assert_eq!(Message::parse("running 1 test"), None);
}
