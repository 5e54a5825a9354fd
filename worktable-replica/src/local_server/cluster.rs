//! [`LocalCluster`]: several [`LocalServer`]s routed to each other.

use std::thread;
use std::time::{Duration, Instant};

use super::{
    ClusterMember, FRESH_PORT_ATTEMPTS, LocalServer, LocalServerOptions, POLL, Ports, ServerError,
    find_binary, free_ports,
};

/// The `cluster { name }` of every local cluster.
const CLUSTER_NAME: &str = "local";

/// `n` `nats-server` processes forming one JetStream cluster on loopback.
///
/// Server `i` is named `n<i>`, has its own client, route and monitoring
/// ports and its own store directory, and has routes to all the others.
/// Three servers is the usual size: a stream with `num_replicas: 3` then
/// survives one of them being down.
///
/// Dropping it kills (SIGKILL) and reaps every process.
#[derive(Debug)]
pub struct LocalCluster {
    servers: Vec<LocalServer>,
    ready_timeout: Duration,
}

impl LocalCluster {
    /// Starts `n` servers with the default options and waits until the
    /// cluster is ready (see [`wait_ready`](Self::wait_ready)).
    ///
    /// # Panics
    ///
    /// If `n` is less than 2 (nats-server refuses to run a JetStream
    /// cluster without routes; use a [`LocalServer`] instead).
    pub fn start(n: usize) -> Result<LocalCluster, ServerError> {
        Self::start_with(n, LocalServerOptions::default())
    }

    /// Starts `n` servers, each with `options` (a
    /// [`store_dir`](LocalServerOptions::store_dir) is the parent of their
    /// directories `n0`, `n1`, …), and waits until the cluster is ready. If a
    /// freshly picked port was taken in the meantime, starts over with new
    /// ports.
    ///
    /// # Panics
    ///
    /// If `n` is less than 2.
    pub fn start_with(n: usize, options: LocalServerOptions) -> Result<LocalCluster, ServerError> {
        assert!(
            n >= 2,
            "a JetStream cluster needs at least two servers; use LocalServer for one"
        );
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut cluster = Self::prepare(n, &options)?;
            let started = cluster.spawn_all().and_then(|()| cluster.wait_ready());
            match started {
                Err(e) if e.is_port_clash() && attempt < FRESH_PORT_ATTEMPTS => continue,
                Err(e) => return Err(e),
                Ok(()) => return Ok(cluster),
            }
        }
    }

    /// Picks the ports and writes every server's config.
    fn prepare(n: usize, options: &LocalServerOptions) -> Result<LocalCluster, ServerError> {
        let bin = find_binary()?;
        // client, monitoring and route port of each server
        let ports = free_ports(3 * n)?;
        let route_port = |i: usize| ports[3 * i + 2];
        let mut servers = Vec::with_capacity(n);
        for i in 0..n {
            let member = ClusterMember {
                cluster_name: CLUSTER_NAME.into(),
                route_port: route_port(i),
                peer_route_ports: (0..n).filter(|&j| j != i).map(route_port).collect(),
            };
            let mut own = options.clone();
            own.store_dir = options.store_dir.as_ref().map(|d| d.join(format!("n{i}")));
            let server_ports = Ports {
                client: ports[3 * i],
                monitor: ports[3 * i + 1],
            };
            servers.push(LocalServer::prepare(
                bin.clone(),
                format!("n{i}"),
                server_ports,
                Some(member),
                &own,
            )?);
        }
        Ok(LocalCluster {
            servers,
            ready_timeout: options.ready_timeout,
        })
    }

    fn spawn_all(&mut self) -> Result<(), ServerError> {
        self.servers.iter_mut().try_for_each(LocalServer::spawn)
    }

    /// Waits until the cluster is ready: every running server answers
    /// `GET /healthz` with 200 (for a clustered server that already means
    /// it is in contact with a JetStream meta leader), they all name the
    /// same meta leader in `/jsz`, and that leader sees all other running
    /// servers as current. Fails with [`ServerError::Exited`] if a server
    /// exits, and with [`ServerError::NotReady`] after the ready timeout
    /// (the servers are left running).
    ///
    /// After [`kill`](Self::kill)ing the meta leader, this waits for the
    /// election of a new one.
    pub fn wait_ready(&mut self) -> Result<(), ServerError> {
        let started = Instant::now();
        loop {
            for server in &mut self.servers {
                server.check_exited()?;
            }
            let reason = match self.probe() {
                Ok(_) => return Ok(()),
                Err(reason) => reason,
            };
            if started.elapsed() >= self.ready_timeout {
                return Err(ServerError::NotReady {
                    url: self.url(),
                    waited: started.elapsed(),
                    reason,
                    log: self.log_tails(),
                });
            }
            thread::sleep(POLL);
        }
    }

    /// `Ok(index of the meta leader)` if the cluster is ready, else why not.
    fn probe(&self) -> Result<usize, String> {
        let running: Vec<&LocalServer> = self.running().collect();
        let mut leader: Option<String> = None;
        for server in &running {
            server.health()?;
            let seen = meta_leader_in(&server.jsz_compact()?)
                .ok_or_else(|| format!("{}: no JetStream meta leader yet", server.name))?;
            match &leader {
                Some(l) if *l != seen => {
                    return Err(format!(
                        "servers disagree on the meta leader: {l} and {seen}"
                    ));
                }
                _ => leader = Some(seen),
            }
        }
        let leader = leader.ok_or("no server is running")?;
        let index = self
            .servers
            .iter()
            .position(|s| s.name == leader && s.child.is_some())
            .ok_or_else(|| format!("meta leader {leader} is not running"))?;
        let current = self.servers[index]
            .jsz_compact()?
            .matches("\"current\":true")
            .count();
        if current + 1 < running.len() {
            return Err(format!(
                "meta leader {leader} sees {current} of {} other servers current",
                running.len() - 1
            ));
        }
        Ok(index)
    }

    /// The servers started and not killed or stopped.
    fn running(&self) -> impl Iterator<Item = &LocalServer> {
        self.servers.iter().filter(|s| s.child.is_some())
    }

    /// The index of the JetStream meta leader, if the cluster is ready right
    /// now (one probe, no waiting).
    pub fn meta_leader(&self) -> Option<usize> {
        self.probe().ok()
    }

    /// The client URLs of all servers, running or not. A `Vec<String>` is
    /// what `async_nats::connect` takes for several servers.
    pub fn urls(&self) -> Vec<String> {
        self.servers.iter().map(LocalServer::url).collect()
    }

    /// The client URLs of all servers joined with commas, the form the
    /// `nats` CLI and most NATS clients accept. async-nats 0.52 does not
    /// split it: pass [`urls`](Self::urls) to `async_nats::connect` instead.
    pub fn url(&self) -> String {
        self.urls().join(",")
    }

    /// Server `i`.
    ///
    /// # Panics
    ///
    /// If there is no server `i`.
    pub fn server(&self, i: usize) -> &LocalServer {
        &self.servers[i]
    }

    /// Server `i`, to [`stop`](LocalServer::stop) it gracefully for
    /// instance.
    ///
    /// # Panics
    ///
    /// If there is no server `i`.
    pub fn server_mut(&mut self, i: usize) -> &mut LocalServer {
        &mut self.servers[i]
    }

    /// All servers, in order.
    pub fn servers(&self) -> &[LocalServer] {
        &self.servers
    }

    /// Kills server `i` with SIGKILL and reaps it; does not wait for the
    /// others to notice.
    ///
    /// # Panics
    ///
    /// If there is no server `i`.
    pub fn kill(&mut self, i: usize) {
        self.servers[i].kill();
    }

    /// Starts server `i` again (stopping it first if it runs) with the same
    /// ports, config and store, then waits until the whole cluster is ready
    /// again ([`wait_ready`](Self::wait_ready)).
    ///
    /// # Panics
    ///
    /// If there is no server `i`.
    pub fn restart(&mut self, i: usize) -> Result<(), ServerError> {
        self.servers[i].restart()?;
        self.wait_ready()
    }

    /// The end of every server's log, each under a header line.
    fn log_tails(&self) -> String {
        let mut all = String::new();
        for server in &self.servers {
            all.push_str(&format!("---- {} ({})\n", server.name, server.url()));
            all.push_str(&server.run_log_tail());
            all.push('\n');
        }
        all
    }
}

/// The meta leader's name in a whitespace-free `/jsz` body.
fn meta_leader_in(jsz: &str) -> Option<String> {
    let meta = &jsz[jsz.find("\"meta_cluster\":{")?..];
    let rest = &meta[meta.find("\"leader\":\"")? + "\"leader\":\"".len()..];
    let name = &rest[..rest.find('"')?];
    (!name.is_empty()).then(|| name.to_owned())
}
