//! Loom model of the row-lock protocol: join → take → give back → leave,
//! with holders, waiters and cancelled waiters interleaved every possible
//! way.
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
//! simultaneous writers), that every waiter eventually gets the lock, and
//! that no entry is left once every user is gone.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use loom::cell::UnsafeCell;
use loom::sync::{Arc, Mutex};
use loom::thread;

use super::Locks;
use super::entries::loom_map::LoomEntries;
use super::gate::Gate;

/// A one-permit gate on a loom mutex, created taken; waiters park on
/// their wakers.
struct LoomGate {
    state: Mutex<(bool, Vec<Waker>)>,
}

impl Gate for LoomGate {
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

fn increment_under_lock(locks: &ModelLocks, data: &Guarded) {
    loom::future::block_on(async {
        let _lock = locks.lock(&1).await;
        // SAFETY: the row lock of key 1 is held; loom checks that no other
        // access overlaps this one.
        data.0.with_mut(|value| unsafe { *value += 1 });
    });
}

#[test]
fn two_lockers_of_one_key_exclude_each_other_and_clean_up() {
    loom::model(|| {
        let locks = Arc::new(ModelLocks::default());
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
        let locks = Arc::new(ModelLocks::default());
        let data = Arc::new(Guarded(UnsafeCell::new(0)));
        let holder = {
            let (locks, data) = (Arc::clone(&locks), Arc::clone(&data));
            thread::spawn(move || increment_under_lock(&locks, &data))
        };
        // Poll a lock future once, then drop it: a waiter cancelled at
        // whatever point the holder has reached.
        {
            let mut waiting = pin!(locks.lock(&1));
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
        let locks = Arc::new(ModelLocks::default());
        let other = {
            let locks = Arc::clone(&locks);
            thread::spawn(move || {
                loom::future::block_on(async {
                    let _two = locks.lock(&2).await;
                });
            })
        };
        loom::future::block_on(async {
            let _one = locks.lock(&1).await;
        });
        other.join().unwrap();
        assert_eq!(locks.len(), 0);
    });
}

#[test]
fn a_permit_left_by_a_cancelled_waiter_goes_to_the_next_waiter() {
    loom::model(|| {
        let locks = Arc::new(ModelLocks::default());
        let data = Arc::new(Guarded(UnsafeCell::new(0)));
        loom::future::block_on(async {
            let held = locks.lock(&1).await;
            // SAFETY: the row lock of key 1 is held.
            data.0.with_mut(|value| unsafe { *value += 1 });
            // A waiter that joins behind the holder and is dropped without
            // looking again, while another locker joins at any point: the
            // permit the holder gives on leaving must reach that locker.
            let mut waiting = Box::pin(locks.lock(&1));
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
