//! Loom model of the row-lock protocol: join → take → give back → leave,
//! with holders, waiters and cancelled waiters interleaved every possible
//! way, and the self-deadlock check of guards (a model thread stands for a
//! task).
//!
//! Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p worktable-core --lib --release lock::loom_model
//! ```
//!
//! The model runs the real [`Locks`] and [`RowLock`] code over a loom-mutex
//! map (the same `join`/`leave` rules as the `DashMap` one) and a loom gate.
//! It checks mutual exclusion (loom's `UnsafeCell` tracking fails on two
//! simultaneous writers), that every waiter eventually gets the lock, that
//! no entry is left once every user is gone, and that a locker is refused
//! exactly when a guard of its own thread holds the key: always then, never
//! because of a guard that has left or belongs to another thread.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use loom::cell::UnsafeCell;
use loom::sync::{Arc, Mutex};
use loom::thread;

use super::entries::loom_map::LoomEntries;
use super::gate::Gate;
use super::{HeldBySameTask, Locker, Locks};

/// A one-permit gate on a loom mutex, created taken; waiters park on
/// their wakers.
struct LoomGate {
    state: Mutex<(bool, Vec<Waker>)>,
}

impl Gate for LoomGate {
    type Task = thread::ThreadId;

    fn current_task() -> Option<thread::ThreadId> {
        Some(thread::current().id())
    }

    fn closed() -> Self {
        Self {
            state: Mutex::new((true, Vec::new())),
        }
    }

    fn take(&self) -> impl Future<Output = ()> + Send + '_ {
        poll_fn(|cx| {
            let mut state = self.state.lock().unwrap();
            if state.0 {
                state.1.push(cx.waker().clone());
                Poll::Pending
            } else {
                state.0 = true;
                Poll::Ready(())
            }
        })
    }

    fn give_back(&self) {
        let waiters = {
            let mut state = self.state.lock().unwrap();
            state.0 = false;
            std::mem::take(&mut state.1)
        };
        for waiter in waiters {
            waiter.wake();
        }
    }
}

type ModelLocks = Locks<u8, LoomEntries<u8, LoomGate>, LoomGate>;

/// Data only a lock holder may touch.
struct Guarded(UnsafeCell<usize>);

// SAFETY: access goes through `UnsafeCell::with_mut` under the row lock;
// loom reports any access that the lock fails to serialize.
unsafe impl Sync for Guarded {}

const WRITE: Locker<thread::ThreadId> = Locker::Write;

/// A locker that records its thread, as a `RowGuard` does.
fn guard() -> Locker<thread::ThreadId> {
    Locker::Guard(LoomGate::current_task())
}

fn increment(data: &Guarded) {
    // SAFETY: the caller holds the row lock of key 1; loom checks that no
    // other access overlaps this one.
    data.0.with_mut(|value| unsafe { *value += 1 });
}

fn increment_under_lock(locks: &ModelLocks, data: &Guarded) {
    loom::future::block_on(async {
        let _lock = locks.lock(&1, WRITE).await.expect("no guard is taken");
        increment(data);
    });
}

/// Takes key 1 as a guard, checks that this thread's write and guard
/// lockers are refused while it holds it, and increments under it.
fn increment_under_guard(locks: &ModelLocks, data: &Guarded) {
    loom::future::block_on(async {
        let _guard = locks.lock(&1, guard()).await.expect("no guard of ours");
        for locker in [WRITE, guard()] {
            let refused = locks.lock(&1, locker).await.err();
            assert_eq!(refused, Some(HeldBySameTask));
        }
        increment(data);
    });
}

#[test]
fn two_lockers_of_one_key_exclude_each_other_and_clean_up() {
    loom::model(|| {
        let locks = Arc::new(ModelLocks::new("model"));
        let data = Arc::new(Guarded(UnsafeCell::new(0)));
        let other = {
            let (locks, data) = (Arc::clone(&locks), Arc::clone(&data));
            thread::spawn(move || increment_under_lock(&locks, &data))
        };
        increment_under_lock(&locks, &data);
        other.join().unwrap();
        // SAFETY: both lockers have finished.
        assert_eq!(data.0.with(|value| unsafe { *value }), 2);
        assert_eq!(locks.len(), 0);
    });
}

#[test]
fn a_cancelled_waiter_leaves_no_entry_and_blocks_nobody() {
    loom::model(|| {
        let locks = Arc::new(ModelLocks::new("model"));
        let data = Arc::new(Guarded(UnsafeCell::new(0)));
        let holder = {
            let (locks, data) = (Arc::clone(&locks), Arc::clone(&data));
            thread::spawn(move || increment_under_lock(&locks, &data))
        };
        // Poll a lock future once, then drop it: a waiter cancelled at
        // whatever point the holder has reached.
        {
            let mut waiting = pin!(locks.lock(&1, WRITE));
            let mut context = Context::from_waker(Waker::noop());
            let _ = waiting.as_mut().poll(&mut context);
        }
        holder.join().unwrap();
        // The key is free again: a new locker gets it.
        increment_under_lock(&locks, &data);
        assert_eq!(locks.len(), 0);
    });
}

#[test]
fn lockers_of_different_keys_do_not_share_an_entry() {
    loom::model(|| {
        let locks = Arc::new(ModelLocks::new("model"));
        let other = {
            let locks = Arc::clone(&locks);
            thread::spawn(move || {
                loom::future::block_on(async {
                    let _two = locks.lock(&2, WRITE).await.unwrap();
                });
            })
        };
        loom::future::block_on(async {
            let _one = locks.lock(&1, WRITE).await.unwrap();
        });
        other.join().unwrap();
        assert_eq!(locks.len(), 0);
    });
}

#[test]
fn a_permit_left_by_a_cancelled_waiter_goes_to_the_next_waiter() {
    loom::model(|| {
        let locks = Arc::new(ModelLocks::new("model"));
        let data = Arc::new(Guarded(UnsafeCell::new(0)));
        loom::future::block_on(async {
            let held = locks.lock(&1, WRITE).await.unwrap();
            increment(&data);
            // A waiter that joins behind the holder and is dropped without
            // looking again, while another locker joins at any point: the
            // permit the holder gives on leaving must reach that locker.
            let mut waiting = Box::pin(locks.lock(&1, WRITE));
            let mut context = Context::from_waker(Waker::noop());
            assert!(waiting.as_mut().poll(&mut context).is_pending());
            let locker = {
                let (locks, data) = (Arc::clone(&locks), Arc::clone(&data));
                thread::spawn(move || increment_under_lock(&locks, &data))
            };
            drop(held);
            drop(waiting);
            locker.join().unwrap();
        });
        // SAFETY: every locker has finished.
        assert_eq!(data.0.with(|value| unsafe { *value }), 2);
        assert_eq!(locks.len(), 0);
    });
}

#[test]
fn a_guard_refuses_its_own_thread_and_lets_another_thread_wait() {
    loom::model(|| {
        let locks = Arc::new(ModelLocks::new("model"));
        let data = Arc::new(Guarded(UnsafeCell::new(0)));
        let writer = {
            let (locks, data) = (Arc::clone(&locks), Arc::clone(&data));
            thread::spawn(move || increment_under_lock(&locks, &data))
        };
        increment_under_guard(&locks, &data);
        // The guard has left: this thread's write is never refused, also
        // when it has to wait for the other thread's.
        increment_under_lock(&locks, &data);
        writer.join().unwrap();
        // SAFETY: every locker has finished.
        assert_eq!(data.0.with(|value| unsafe { *value }), 3);
        assert_eq!(locks.len(), 0);
    });
}

#[test]
fn a_guard_that_waited_is_recorded_before_its_lock_returns() {
    loom::model(|| {
        let locks = Arc::new(ModelLocks::new("model"));
        let data = Arc::new(Guarded(UnsafeCell::new(0)));
        let other = {
            let (locks, data) = (Arc::clone(&locks), Arc::clone(&data));
            thread::spawn(move || increment_under_guard(&locks, &data))
        };
        increment_under_guard(&locks, &data);
        other.join().unwrap();
        // SAFETY: both guards have been dropped.
        assert_eq!(data.0.with(|value| unsafe { *value }), 2);
        assert_eq!(locks.len(), 0);
    });
}
