//! One subscriber's bounded queue of change events: the hub pushes what the
//! subscriber's [`Watch`] selects, the [`Subscription`](super::Subscription)
//! pops.
//!
//! Depends on: `events::event`, `events::watch`, `row`.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::event::ChangeEvent;
use super::watch::Watch;
use crate::row::Row;

/// The subscriber fell behind: `missed` events were dropped for it.
///
/// The events before the gap were delivered, the ones after it follow. To
/// resync, re-read what the subscriber tracks (e.g. `table.iter()`, or the
/// rows of the watched key), then keep applying events: each carries whole
/// row images, so applying an event again to a re-read row is harmless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the subscriber fell behind and missed {missed} change events")]
pub struct Lagged {
    /// How many events were dropped.
    pub missed: u64,
}

/// One item in a subscriber's queue.
enum Item<R: Row> {
    Event(ChangeEvent<R>),
    Lagged(u64),
}

/// What a [`SubscriberQueue`]'s lock guards.
#[derive(Default)]
struct QueueState<R: Row> {
    items: VecDeque<Item<R>>,
    waker: Option<Waker>,
    closed: bool,
}

/// One subscriber's bounded queue of change events, with the [`Watch`] that
/// selects what enters it.
pub(crate) struct SubscriberQueue<R: Row> {
    watch: Watch<R>,
    state: Mutex<QueueState<R>>,
}

impl<R: Row> SubscriberQueue<R> {
    pub(crate) fn new(watch: Watch<R>) -> Self {
        Self {
            watch,
            state: Mutex::new(QueueState {
                items: VecDeque::new(),
                waker: None,
                closed: false,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState<R>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `event` if the watch selects it; a full queue counts it as
    /// missed instead (one `Lagged` item at most past the capacity).
    pub(crate) fn offer(&self, event: &ChangeEvent<R>) {
        let Some(view) = self.watch.view(event) else {
            return;
        };
        let waker = {
            let mut state = self.lock();
            if state.items.len() < self.watch.capacity {
                state.items.push_back(Item::Event(view));
            } else if let Some(Item::Lagged(missed)) = state.items.back_mut() {
                *missed += 1;
            } else {
                state.items.push_back(Item::Lagged(1));
            }
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Items waiting (events, plus at most one `Lagged`).
    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// The next item, without waiting: `None` when the queue is empty.
    pub(crate) fn try_pop(&self) -> Option<Result<ChangeEvent<R>, Lagged>> {
        self.lock().items.pop_front().map(into_result)
    }

    /// The next item; `Ready(None)` once the queue is closed and empty,
    /// else `Pending`, with `cx`'s waker woken by the next
    /// [`offer`](Self::offer) or [`close`](Self::close).
    pub(crate) fn poll_pop(
        &self,
        cx: &Context<'_>,
    ) -> Poll<Option<Result<ChangeEvent<R>, Lagged>>> {
        let mut state = self.lock();
        match state.items.pop_front() {
            Some(item) => Poll::Ready(Some(into_result(item))),
            None if state.closed => Poll::Ready(None),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// The watch that selects what enters the queue.
    pub(crate) fn watch(&self) -> &Watch<R> {
        &self.watch
    }

    /// Ends the stream after the queued items.
    pub(crate) fn close(&self) {
        let waker = {
            let mut state = self.lock();
            state.closed = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

fn into_result<R: Row>(item: Item<R>) -> Result<ChangeEvent<R>, Lagged> {
    match item {
        Item::Event(event) => Ok(event),
        Item::Lagged(missed) => Err(Lagged { missed }),
    }
}
