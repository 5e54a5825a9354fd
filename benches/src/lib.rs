//! Shared workload of the benchmarks: one row type, deterministic data, and
//! the hand-rolled baseline the table is measured against.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use worktable_core::prelude::*;

/// The benchmark row: a `u64` key, a unique `email`, a non-unique `age` (100
/// distinct values), a ~16-byte `name` and a `balance`.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub struct User {
    /// Primary key.
    #[pk]
    pub id: u64,
    /// Unique.
    #[index(unique)]
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

/// `n` users with random distinct keys, generated from `seed`.
pub fn users(n: usize, seed: u64) -> Vec<User> {
    (0..n as u64)
        .map(|i| {
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
        })
        .collect()
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

/// A table holding `rows`.
pub fn filled_table(rows: &[User]) -> WorkTable<User> {
    let table = WorkTable::new();
    for row in rows {
        now(table.insert(row.clone())).expect("generated rows are valid");
    }
    table
}

/// What a careful user would hand-roll: one `RwLock` around the rows and
/// their index maps, kept in step by hand.
#[derive(Debug, Default)]
pub struct Baseline {
    inner: RwLock<BaselineMaps>,
}

#[derive(Debug, Default)]
struct BaselineMaps {
    rows: HashMap<u64, User>,
    by_email: HashMap<String, u64>,
    by_age: BTreeMap<(u32, u64), ()>,
}

impl Baseline {
    /// Inserts `user` unless its key or email is taken.
    pub fn insert(&self, user: User) -> bool {
        let mut maps = self.inner.write().expect("not poisoned");
        if maps.rows.contains_key(&user.id) || maps.by_email.contains_key(&user.email) {
            return false;
        }
        maps.by_email.insert(user.email.clone(), user.id);
        maps.by_age.insert((user.age, user.id), ());
        maps.rows.insert(user.id, user);
        true
    }

    /// The user with key `id`, cloned.
    pub fn get(&self, id: u64) -> Option<User> {
        self.inner
            .read()
            .expect("not poisoned")
            .rows
            .get(&id)
            .cloned()
    }

    /// The user with `email`, cloned.
    pub fn get_by_email(&self, email: &str) -> Option<User> {
        let maps = self.inner.read().expect("not poisoned");
        let id = maps.by_email.get(email)?;
        maps.rows.get(id).cloned()
    }

    /// Sets the balance of user `id`.
    pub fn set_balance(&self, id: u64, balance: i64) -> bool {
        let mut maps = self.inner.write().expect("not poisoned");
        match maps.rows.get_mut(&id) {
            Some(user) => {
                user.balance = balance;
                true
            }
            None => false,
        }
    }
}
