//! Replication lag at an offered rate of changes.
//!
//! A run offers `rate` changes per second for a while: a pacer task adds
//! permits to a semaphore on a token schedule (every millisecond, as many
//! as `rate × elapsed` says are due, so a late tick is made up at the
//! next one and the offered rate does not drift), and [`WRITERS`] writer
//! tasks each take a permit and make one change ([`Changes::make`]),
//! which returns its commit number once durable on the primary. The
//! writer then stamps the time and sends `(commit, time)` to the
//! observer.
//!
//! The observer is one task: it keeps the changes not yet seen on the
//! replica in a heap by commit, and waits with `Replica::wait_for` for the
//! smallest (waking also when a new change comes in); once woken it reads
//! `applied_seq()` and the clock, and takes every change at or below the
//! applied commit out of the heap, its lag being the time since its write
//! returned. One waiter on the replica's status, woken once per status
//! update at most, no polling: its own work per wake-up is a status read,
//! a clock read and heap pops.
//!
//! A change whose write returned in the warm-up counts in neither the lag
//! nor the achieved rate; the achieved rate is the changes whose write
//! returned in the measured part of the run, per second of it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};
use worktable_core::Database as _;
use worktable_replica::Replica;

use super::summary::{LagFigures, RoundFigures, SYNC_ALWAYS, SYNC_DEFAULT};
use super::{Changes, Inventory, ROWS_PER_WRITER, Scale, Site, WRITERS, wait_applied};
use crate::durable::Runner;

/// The offered rates, in changes per second.
pub const RATES: [u64; 3] = [1_000, 10_000, 50_000];

/// The rates also measured against a server that syncs every write
/// (`sync_interval: always`).
pub const SYNC_ALWAYS_RATES: [u64; 1] = [1_000];

/// The lag of each change of a run, in nanoseconds, sorted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lags(Vec<u64>);

impl Lags {
    /// Sorts `lags` (nanoseconds).
    pub fn new(mut lags: Vec<u64>) -> Self {
        lags.sort_unstable();
        Self(lags)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `q`-quantile (`0.0..=1.0`, nearest rank); 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.0.is_empty() {
            return 0;
        }
        let rank = (q * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }

    /// The largest; 0 when empty.
    pub fn max(&self) -> u64 {
        self.0.last().copied().unwrap_or(0)
    }
}

/// One measured run: its lags and the achieved rate.
#[derive(Clone, Debug)]
pub struct Run {
    /// The lag of every change whose write returned after the warm-up.
    pub lags: Lags,
    /// Changes whose write returned in the measured part, per second.
    pub achieved: f64,
}

/// Offers `rate` changes per second to `changes` for `scale.run_length`,
/// and measures each change's lag to `replica`. Returns once the replica
/// holds every change.
///
/// # Panics
///
/// If a change fails or the replica stops.
pub async fn run(
    changes: &Changes,
    replica: Arc<Replica<Inventory>>,
    rate: u64,
    scale: &Scale,
) -> Run {
    let start = Instant::now();
    let measured_from = start + scale.warm_up;
    let end = start + scale.run_length;
    let permits = Arc::new(Semaphore::new(0));
    let pacer = tokio::spawn(pace(Arc::clone(&permits), rate, start, scale.run_length));
    let (returns, observed) = mpsc::unbounded_channel();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (changes, permits, returns) =
                (changes.clone(), Arc::clone(&permits), returns.clone());
            tokio::spawn(async move {
                let mut k = 0;
                while let Ok(permit) = permits.acquire().await {
                    permit.forget();
                    let commit = changes.make(writer, k).await;
                    let _ = returns.send((commit, Instant::now()));
                    k += 1;
                }
            })
        })
        .collect();
    drop(returns);
    let observer = tokio::spawn(observe(replica, observed, measured_from, end));
    pacer.await.expect("the pacer ran");
    for writer in writers {
        writer.await.expect("a writer task panicked");
    }
    let (lags, in_window) = observer.await.expect("the observer ran");
    let measured = end.saturating_duration_since(measured_from).as_secs_f64();
    Run {
        lags,
        achieved: in_window as f64 / measured,
    }
}

/// Adds the permits due at `rate` per second since `start`, every
/// millisecond, for `length`; then closes the semaphore (the writers
/// stop; permits not taken by then were offered but not written).
async fn pace(permits: Arc<Semaphore>, rate: u64, start: Instant, length: Duration) {
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut issued = 0u64;
    loop {
        tick.tick().await;
        let elapsed = start.elapsed().min(length);
        let due = (rate as f64 * elapsed.as_secs_f64()) as u64;
        permits.add_permits((due - issued) as usize);
        issued = due;
        if elapsed >= length {
            permits.close();
            return;
        }
    }
}

/// Takes `(commit, returned)` from the writers until they are done, and
/// the lag of each (see the module docs) until the replica holds them
/// all. Returns the lags of changes returned at or after `from`, and how
/// many of those returned before `end` (a write under way at the end
/// returns after it).
async fn observe(
    replica: Arc<Replica<Inventory>>,
    mut returns: mpsc::UnboundedReceiver<(u64, Instant)>,
    from: Instant,
    end: Instant,
) -> (Lags, usize) {
    let mut pending: BinaryHeap<Reverse<(u64, Instant)>> = BinaryHeap::new();
    let mut lags = Vec::new();
    let mut in_window = 0;
    let mut open = true;
    loop {
        let applied = replica.applied_seq();
        let now = Instant::now();
        while let Some(&Reverse((commit, returned))) = pending.peek() {
            if commit > applied {
                break;
            }
            pending.pop();
            if returned >= from {
                in_window += usize::from(returned <= end);
                lags.push(now.saturating_duration_since(returned).as_nanos() as u64);
            }
        }
        let next = pending.peek().map(|Reverse((commit, _))| *commit);
        match (next, open) {
            (None, false) => break,
            (None, true) => match returns.recv().await {
                Some(change) => pending.push(Reverse(change)),
                None => open = false,
            },
            (Some(commit), true) => tokio::select! {
                biased;
                change = returns.recv() => match change {
                    Some(change) => pending.push(Reverse(change)),
                    None => open = false,
                },
                applied = replica.wait_for(commit) => applied.expect("the replica runs"),
            },
            (Some(commit), false) => wait_applied(&replica, commit).await,
        }
    }
    (Lags::new(lags), in_window)
}

/// A site measured at some rates, and its replica.
struct Variant {
    name: &'static str,
    rates: &'static [u64],
    site: Site,
    replica: Arc<Replica<Inventory>>,
}

/// Runs every variant's rates, interleaved: `scale.rounds` rounds, each
/// offering every rate of the default server ([`RATES`]) and then of the
/// server that syncs always ([`SYNC_ALWAYS_RATES`]) once. Prints each run
/// as it ends.
///
/// # Panics
///
/// If a server, a primary, a change or a replica fails.
pub fn measure(
    runner: &Runner,
    runtime: &tokio::runtime::Runtime,
    scale: &Scale,
) -> Vec<LagFigures> {
    let rows = ROWS_PER_WRITER * WRITERS as u64;
    let variants: Vec<Variant> = [
        (SYNC_DEFAULT, &RATES[..], false),
        (SYNC_ALWAYS, &SYNC_ALWAYS_RATES[..], true),
    ]
    .into_iter()
    .map(|(name, rates, sync_always)| {
        let site = Site::open(runner, runtime, &format!("lag-{name}"), sync_always, rows);
        let replica = runtime.block_on(async {
            let replica = site.follow().await;
            wait_applied(&replica, site.changes().db().last_commit()).await;
            Arc::new(replica)
        });
        Variant {
            name,
            rates,
            site,
            replica,
        }
    })
    .collect();
    let mut figures: Vec<LagFigures> = variants
        .iter()
        .flat_map(|variant| {
            variant
                .rates
                .iter()
                .map(|&rate| LagFigures::new(variant.name, rate))
        })
        .collect();
    for round in 0..scale.rounds {
        for variant in &variants {
            for &rate in variant.rates {
                let figure = runtime.block_on(run_once(variant, rate, scale));
                eprintln!(
                    "replica_lag/{}/{rate} round {}: {}",
                    variant.name,
                    round + 1,
                    figure.describe()
                );
                figures
                    .iter_mut()
                    .find(|f| f.variant == variant.name && f.rate == rate)
                    .expect("a figure per variant and rate")
                    .rounds
                    .push(figure);
            }
        }
    }
    for mut variant in variants {
        runtime.block_on(async {
            variant.site.stop_publisher().await;
            if let Some(replica) = Arc::into_inner(variant.replica) {
                replica.stop().await.expect("the replica ran");
            }
        });
    }
    figures
}

/// One run at `rate` on `variant`, after the replica caught up, with the
/// publisher's bytes and messages over it.
async fn run_once(variant: &Variant, rate: u64, scale: &Scale) -> RoundFigures {
    let changes = variant.site.changes();
    variant.site.wait_published().await;
    wait_applied(&variant.replica, changes.db().last_commit()).await;
    let before = variant.site.published();
    let measured = run(changes, Arc::clone(&variant.replica), rate, scale).await;
    variant.site.wait_published().await;
    let after = variant.site.published();
    RoundFigures {
        offered: rate,
        achieved: measured.achieved,
        samples: measured.lags.len() as u64,
        p50_nanos: measured.lags.quantile(0.50),
        p99_nanos: measured.lags.quantile(0.99),
        max_nanos: measured.lags.max(),
        changes: after.published - before.published,
        messages: after.messages - before.messages,
        bytes: after.bytes - before.bytes,
    }
}
