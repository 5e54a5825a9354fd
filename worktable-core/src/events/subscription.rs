//! Subscriptions: the `Stream` a subscriber reads its change events from.
//!
//! Depends on: `events::hub` (to subscribe and unsubscribe),
//! `events::queue`, `events::watch`, `events::event`, `row`.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::event::ChangeEvent;
use super::hub::EventHub;
use super::queue::{Lagged, SubscriberQueue};
use super::watch::Watch;
use crate::row::Row;

/// A stream of the change events a [`Watch`] selects, from the moment of
/// subscribing, in sequence order: `Ok(event)`, or `Err(Lagged)` where the
/// subscriber fell behind its queue's capacity. It ends when the table is
/// dropped. Dropping it unsubscribes and frees its queue.
///
/// A slow subscriber never slows writers down: its queue is bounded (by
/// [`Watch::capacity`], default [`DEFAULT_CAPACITY`](super::DEFAULT_CAPACITY)
/// = 65,536 events) and events that do not fit are dropped for it (and
/// counted).
pub struct Subscription<R: Row> {
    hub: Arc<EventHub<R>>,
    queue: Arc<SubscriberQueue<R>>,
    /// Earlier changes delivered before the queue's (a resumed feed: see
    /// [`with_history`]), already filtered.
    history: VecDeque<ChangeEvent<R>>,
}

impl<R: Row> fmt::Debug for Subscription<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("table", &R::TABLE_NAME)
            .field("queued", &self.queued())
            .finish()
    }
}

impl<R: Row> Subscription<R> {
    /// Subscribes to every change committed from now on that `watch`
    /// selects; returns the subscription and the sequence number of the last
    /// change committed before it (see [`EventHub::subscribe`]).
    pub(crate) fn start(hub: &Arc<EventHub<R>>, watch: Watch<R>) -> (Self, u64) {
        let (queue, last_seq) = hub.subscribe(watch);
        let subscription = Self {
            hub: Arc::clone(hub),
            queue,
            history: VecDeque::new(),
        };
        (subscription, last_seq)
    }

    /// Items waiting (events, plus at most one `Lagged`).
    pub fn queued(&self) -> usize {
        self.history.len() + self.queue.len()
    }

    /// The next item, without waiting: `None` when the queue is empty.
    pub fn try_next(&mut self) -> Option<Result<ChangeEvent<R>, Lagged>> {
        if let Some(event) = self.history.pop_front() {
            return Some(Ok(event));
        }
        self.queue.try_pop()
    }
}

/// Puts `events`, changes committed before `subscription` started (e.g.
/// read back from a write-ahead log), in front of the ones it receives:
/// they are delivered first, in the order given, as the subscription's
/// watch sees them. For `worktable-persist`'s resumed feeds (see
/// [`crate::storage`]); the caller makes the numbering continue without a
/// gap into the live changes.
#[must_use]
pub fn with_history<R: Row>(
    mut subscription: Subscription<R>,
    events: impl IntoIterator<Item = ChangeEvent<R>>,
) -> Subscription<R> {
    let watch = subscription.queue.watch();
    subscription
        .history
        .extend(events.into_iter().filter_map(|event| watch.view(&event)));
    subscription
}

impl<R: Row> Stream for Subscription<R> {
    type Item = Result<ChangeEvent<R>, Lagged>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(event) = self.history.pop_front() {
            return Poll::Ready(Some(Ok(event)));
        }
        self.queue.poll_pop(cx)
    }
}

impl<R: Row> Drop for Subscription<R> {
    fn drop(&mut self) {
        self.hub.unsubscribe(&self.queue);
    }
}
