//! Shared workload of the benchmarks: one row type, deterministic data, the
//! hand-rolled baselines the table is measured against and the peers it is
//! compared with.
//!
//! - [`System`] is the workload, written once: every system in [`systems`]
//!   implements it the way its own users would.
//! - `benches/peers.rs` drives it with criterion; [`Mode`] (from the
//!   `WORKTABLE_BENCH` environment variable) picks the size and precision.
//! - The `report` binary turns criterion's output into the README's table and
//!   measures resident memory per row, each system in a fresh process
//!   ([`memory`]).
//! - [`durable`] is the workload of `benches/durable.rs`: durable single-row
//!   inserts into `worktable-persist` and its peers on the disk, and the
//!   time to reopen a table.
//! - [`durable_db`] is the workload of `benches/durable_db.rs`: durable
//!   transfers through a `DurableDatabase` and SQLite, and the time to
//!   reopen a database of three tables.

// The crate of the same name on crates.io (version 1.13), measured as a peer.
// Its `worktable!` macro expands to paths that start with `worktable::`, so
// the dependency, renamed in Cargo.toml to keep it apart from this project,
// is given that name back here.
extern crate worktable_1_13 as worktable;

pub mod chart;
pub mod durable;
pub mod durable_db;
pub mod memory;
mod mode;
pub mod replica;
pub mod results;
mod system;
pub mod systems;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use worktable_core::prelude::*;

/// The benchmark row: a `u64` key, a unique `email`, a non-unique `age` (100
/// distinct values), a ~16-byte `name` and a `balance`. The key and the
/// email are only ever looked up whole, so they are declared `hash`: the
/// table keeps them in hash maps only, as the baselines do; `age` is
/// ordered.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub struct User {
    /// Primary key, only looked up whole (the workloads never range over
    /// it): a hash primary key, as the baselines' `HashMap`s.
    #[pk(hash)]
    pub id: u64,
    /// Unique, only looked up by a whole key: a hash index.
    #[index(unique, hash)]
    pub email: String,
    /// Non-unique, 100 distinct values.
    #[index]
    pub age: u32,
    /// About 16 bytes.
    pub name: String,
    /// Not indexed; the field updates change.
    pub balance: i64,
}

/// splitmix64: a bijection on `u64`, so distinct inputs give distinct keys.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

pub use mode::{Mode, SystemFilter};
pub use system::{SCAN_BALANCE_BELOW, SharedSystem, System, SystemVisitor};
pub use systems::rwlock_hashmap::RwLockHashMap as Baseline;

/// The `i`-th user generated from `seed`: a random key (distinct for
/// distinct `i`), the email derived from it, an age in `0..100`, a 16-letter
/// name and a balance in `0..1,000,000`.
pub fn user(i: u64, seed: u64) -> User {
    let id = mix(seed ^ mix(i));
    let r = mix(id);
    let name: String = (0..16)
        .map(|k| char::from(b'a' + ((r >> (k * 4)) & 15) as u8))
        .collect();
    User {
        id,
        email: format!("user{id:016x}@example.com"),
        age: (r % 100) as u32,
        name,
        balance: (r >> 8) as i64 % 1_000_000,
    }
}

/// `n` users with random distinct keys, generated from `seed` ([`user`]
/// `0..n`).
pub fn users(n: usize, seed: u64) -> Vec<User> {
    (0..n as u64).map(|i| user(i, seed)).collect()
}

/// A random permutation of `0..n` (Fisher–Yates with [`mix`]), for visiting
/// rows in random order.
pub fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (mix(seed ^ i as u64) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Runs a future that completes without waiting. Uncontended table writes
/// never wait, so single-threaded benchmarks need no runtime.
///
/// # Panics
///
/// If the future is not ready at the first poll.
pub fn now<F: Future>(future: F) -> F::Output {
    let mut context = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a benchmark future had to wait"),
    }
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on this thread, parking while it waits (for
/// multi-threaded benchmarks, where a row lock may be contended).
pub fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}

/// Runs `work(thread, iteration)` on `threads` threads at once, `iters`
/// times, and returns the wall-clock time of the runs (for criterion's
/// `iter_custom`).
pub fn timed_on_threads(
    threads: u64,
    iters: u64,
    work: impl Fn(u64, u64) + Sync,
) -> std::time::Duration {
    let mut total = std::time::Duration::ZERO;
    for iteration in 0..iters {
        let start = std::time::Instant::now();
        thread::scope(|scope| {
            for thread in 0..threads {
                let work = &work;
                scope.spawn(move || work(thread, iteration));
            }
        });
        total += start.elapsed();
    }
    total
}

/// A table holding `rows`.
pub fn filled_table(rows: &[User]) -> WorkTable<User> {
    let table = WorkTable::new();
    for row in rows {
        now(table.insert(row.clone())).expect("generated rows are valid");
    }
    table
}
