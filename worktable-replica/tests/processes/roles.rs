//! The child's side: the roles this test binary runs when started by a
//! test (see `harness::ChildProcess`).
//!
//! - `replica`: follows the stream (snapshots from the bucket) and
//!   answers `wait <commit>` and `status` on stdin with a report line.
//! - `primary`: opens the database directory, publishes it (snapshots to
//!   the bucket every [`PRIMARY_SNAPSHOT_EVERY`] commits) and runs the
//!   seeded workload forever, `acked <last commit>` after every 20 steps.
//!
//! Any failure prints `error <text>` and exits with status 1.

use std::error::Error;
use std::io::{BufRead, Write};
use std::sync::Arc;

use tokio::sync::mpsc;
use worktable_core::prelude::*;
use worktable_persist::DurableDatabase;
use worktable_replica::{
    Publisher, PublisherOptions, Replica, ReplicaOptions, SnapshotStore, StreamConfig,
};

use crate::common::{Rng, Shop, connect, options, workload};
use crate::harness::{
    BUCKET_ENV, DIR_ENV, Message, ROLE_ENV, Report, SEED_ENV, STREAM_ENV, URL_ENV, digest,
};

/// The primary role's `snapshot_every`.
pub(crate) const PRIMARY_SNAPSHOT_EVERY: u64 = 200;

/// Runs the role named by [`ROLE_ENV`], and never returns then; returns at
/// once when it is not set.
pub(crate) fn run_if_child() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let result = runtime.block_on(async {
        match role.as_str() {
            "replica" => replica().await,
            "primary" => primary().await,
            other => Err(format!("unknown role {other:?}")),
        }
    });
    match result {
        Ok(()) => std::process::exit(0),
        Err(error) => {
            say(&Message::Error(error));
            std::process::exit(1)
        }
    }
}

async fn replica() -> Result<(), String> {
    let client = connect(env(URL_ENV)?).await;
    let js = async_nats::jetstream::new(client.clone());
    let store = SnapshotStore::jetstream(&js, &env(BUCKET_ENV)?, 1)
        .await
        .map_err(|e| chain("the snapshot store", &e))?;
    let stream = StreamConfig::new(&env(STREAM_ENV)?);
    let replica = Replica::<Shop>::follow(client, ReplicaOptions::new(stream).snapshots(store))
        .await
        .map_err(|e| chain("follow", &e))?;
    say(&Message::Ready {
        at: replica.applied_seq(),
    });
    let mut commands = stdin_lines();
    while let Some(line) = commands.recv().await {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["wait", commit] => {
                let commit = commit
                    .parse()
                    .map_err(|_| format!("not a commit: {line:?}"))?;
                replica.wait_for(commit).await.map_err(|e| {
                    format!(
                        "{}; status {:?}",
                        chain(&format!("wait_for({commit})"), &e),
                        replica.status()
                    )
                })?;
            }
            ["status"] => {}
            _ => return Err(format!("unknown command {line:?}")),
        }
        let status = replica.status();
        if let Some(reason) = &status.stopped {
            return Err(format!("the replica stopped: {reason}; status {status:?}"));
        }
        say(&Message::Report(Report {
            at: status.applied,
            seq: status.stream_seq,
            reseeds: status.reseeds,
            digest: digest(&replica.db()),
        }));
    }
    // Stdin closed: the parent is gone.
    Ok(())
}

async fn primary() -> Result<(), String> {
    let seed: u64 = env(SEED_ENV)?
        .parse()
        .map_err(|_| format!("{SEED_ENV} is not a number"))?;
    let db = Arc::new(
        DurableDatabase::<Shop>::open(env(DIR_ENV)?, options()).map_err(|e| chain("open", &e))?,
    );
    let client = connect(env(URL_ENV)?).await;
    let js = async_nats::jetstream::new(client.clone());
    let store = SnapshotStore::jetstream(&js, &env(BUCKET_ENV)?, 1)
        .await
        .map_err(|e| chain("the snapshot store", &e))?;
    let publisher = Publisher::start(
        Arc::clone(&db),
        client,
        PublisherOptions::new(StreamConfig::new(&env(STREAM_ENV)?))
            .snapshots(store)
            .snapshot_every(PRIMARY_SNAPSHOT_EVERY),
    )
    .await
    .map_err(|e| chain("start the publisher", &e))?;
    say(&Message::Ready {
        at: db.last_commit(),
    });
    let mut rng = Rng::new(seed);
    loop {
        workload(&db, &mut rng, 20).await;
        // Every commit of the steps returned: with `Durability::Sync`, all
        // are durable.
        say(&Message::Acked(db.last_commit()));
        if publisher.state().stopped {
            let why = publisher.stop().await;
            return Err(format!("the publisher stopped: {why:?}"));
        }
    }
}

/// Prints `message` as one line, flushed at once.
fn say(message: &Message) {
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{message}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        // The parent is gone.
        std::process::exit(2);
    }
}

/// The lines of stdin, read on a thread; ends when stdin closes.
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

/// `what` failed with `error` and its sources, on one line.
fn chain(what: &str, error: &dyn Error) -> String {
    let mut text = format!("{what}: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
