//! With the `metrics` feature, a user's own recorder sees a replica's lag
//! (seconds and stream messages behind), the last commit it applied, and
//! what the publisher sent, each labelled by stream (the names are in
//! docs/observability.md). Against a real `nats-server` the test starts.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Rng, Shop, options, within, workload};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use worktable_core::Database;
use worktable_persist::DurableDatabase;
use worktable_replica::local_server::LocalServer;
use worktable_replica::{PublisherOptions, ReplicaOptions, StreamConfig};

/// Every value the recorder showed for each metric labelled
/// `stream="observed"`, over the snapshots taken so far (a snapshot drains
/// counters and resets gauges).
#[derive(Default)]
struct Seen(BTreeMap<String, Vec<f64>>);

impl Seen {
    fn take(&mut self, snapshotter: &Snapshotter) {
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let ours = key
                .key()
                .labels()
                .any(|label| label.key() == "stream" && label.value() == "observed");
            if !ours {
                continue;
            }
            let values = self.0.entry(key.key().name().to_owned()).or_default();
            match value {
                DebugValue::Counter(count) => values.push(count as f64),
                DebugValue::Gauge(value) => values.push(value.into_inner()),
                DebugValue::Histogram(samples) => {
                    values.extend(samples.iter().map(|sample| sample.into_inner()));
                }
            }
        }
    }

    fn values(&self, name: &str) -> &[f64] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_reports_its_lag_and_the_publisher_what_it_sent() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this binary");

    let server = LocalServer::start().unwrap();
    let client = common::connect(&server.url()).await;
    let dir = tempfile::tempdir().unwrap();
    let primary = Arc::new(DurableDatabase::<Shop>::open(dir.path(), options()).unwrap());
    let stream = StreamConfig::new("observed");
    let publisher = common::publish(&primary, &client, PublisherOptions::new(stream.clone())).await;
    let replica = common::follow(&client, ReplicaOptions::new(stream)).await;

    let committed = workload(&primary, &mut Rng::new(11), 60).await;
    assert!(committed > 0);
    let last = primary.last_commit();
    within("the replica", replica.wait_for(last)).await.unwrap();

    // The gauges are set just after the replica says it applied the
    // message: look until a snapshot shows the last commit.
    let mut seen = Seen::default();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen
        .values("worktable_replica_applied_commit")
        .contains(&(last as f64))
    {
        assert!(Instant::now() < deadline, "the applied commit never showed");
        tokio::time::sleep(Duration::from_millis(20)).await;
        seen.take(&snapshotter);
    }
    let lags = seen.values("worktable_replica_lag_seconds");
    assert!(!lags.is_empty());
    assert!(
        lags.iter().all(|&lag| (0.0..60.0).contains(&lag)),
        "lag on one machine, in seconds: {lags:?}"
    );
    // The last message applied was the stream's last: nothing pending.
    assert!(seen.values("worktable_replica_lag_messages").contains(&0.0));
    // Stopped, the publisher has recorded every message it sent.
    let published = publisher.state().messages;
    assert!(published > 0);
    publisher.stop().await.unwrap();
    seen.take(&snapshotter);
    assert_eq!(
        seen.values("worktable_replica_published_messages_total")
            .iter()
            .sum::<f64>(),
        published as f64
    );
    assert!(
        seen.values("worktable_replica_published_bytes_total")
            .iter()
            .sum::<f64>()
            > 0.0
    );

    drop(replica);
    drop(server);
}
