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
    /// Grows as events wait (up to the watch's capacity, plus one `Lagged`)
    /// and is freed whenever it is drained with more than
    /// [`KEPT_SLOTS`] slots, so a queue's memory follows what waits in it.
    items: VecDeque<Item<R>>,
    waker: Option<Waker>,
    closed: bool,
}

/// The slots a drained queue keeps: a subscriber that keeps up reuses them
/// without allocating; a larger buffer, left by a burst, is freed.
const KEPT_SLOTS: usize = 64;

impl<R: Row> QueueState<R> {
    /// Frees the buffer of a drained queue that a burst left large.
    fn give_back(&mut self) {
        if self.items.is_empty() && self.items.capacity() > KEPT_SLOTS {
            self.items = VecDeque::new();
        }
    }
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
        let mut state = self.lock();
        let item = state.items.pop_front();
        state.give_back();
        item.map(into_result)
    }

    /// The next item; `Ready(None)` once the queue is closed and empty,
    /// else `Pending`, with `cx`'s waker woken by the next
    /// [`offer`](Self::offer) or [`close`](Self::close).
    pub(crate) fn poll_pop(
        &self,
        cx: &Context<'_>,
    ) -> Poll<Option<Result<ChangeEvent<R>, Lagged>>> {
        let mut state = self.lock();
        let item = state.items.pop_front();
        state.give_back();
        match item {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Table;
    use crate::events::ChangeKind;
    use crate::rkyv::{Archive, Deserialize, Serialize};

    #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    #[rkyv(crate = crate::rkyv)]
    #[table(crate = "crate")]
    struct Probe {
        #[pk]
        id: u32,
    }

    fn event(seq: u64) -> ChangeEvent<Probe> {
        ChangeEvent::new(seq, seq as u32, ChangeKind::Delete, None, None)
    }

    fn slots(queue: &SubscriberQueue<Probe>) -> usize {
        queue.lock().items.capacity()
    }

    #[test]
    fn a_queue_holds_memory_only_while_events_wait() {
        let queue = SubscriberQueue::new(Watch::all());
        assert_eq!(slots(&queue), 0, "an idle queue allocates nothing");
        // A subscriber that keeps up reuses a few slots.
        for seq in 1..=1_000 {
            queue.offer(&event(seq));
            assert_eq!(queue.try_pop().unwrap().unwrap().seq(), seq);
        }
        assert!(slots(&queue) <= KEPT_SLOTS, "{} slots", slots(&queue));
        // A burst grows the queue; draining it gives the memory back.
        for seq in 1..=10_000 {
            queue.offer(&event(seq));
        }
        assert!(slots(&queue) >= 10_000);
        for seq in 1..=10_000 {
            assert_eq!(queue.try_pop().unwrap().unwrap().seq(), seq);
        }
        assert_eq!(slots(&queue), 0);
    }

    #[test]
    fn a_full_queue_counts_one_lag_past_its_capacity() {
        let queue = SubscriberQueue::new(Watch::all().capacity(3));
        for seq in 1..=10 {
            queue.offer(&event(seq));
        }
        assert_eq!(queue.len(), 4);
        let seqs: Vec<_> = (0..3)
            .map(|_| queue.try_pop().unwrap().unwrap().seq())
            .collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(queue.try_pop().unwrap().unwrap_err(), Lagged { missed: 7 });
        assert!(queue.try_pop().is_none());
    }
}
