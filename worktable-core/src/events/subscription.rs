//! Subscriptions: a bounded queue of change events per subscriber, a filter
//! applied at the source, and the `Stream` the subscriber reads.

use std::collections::VecDeque;
use std::fmt;
use std::ops::{Bound, RangeBounds};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use super::event::{ChangeEvent, ChangeKind};
use super::hub::EventHub;
use crate::index::Index;
use crate::row::Row;

/// Events a subscriber may have waiting before it lags.
pub const DEFAULT_CAPACITY: usize = 4096;

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

/// Which rows a subscription watches.
type RowFilter<R> =
    Box<dyn Fn(&<R as Row>::Pk, &<R as rkyv::Archive>::Archived) -> bool + Send + Sync>;

/// What a subscription receives: which rows, and how many events it may
/// have waiting before it lags. See [`WorkTable::subscribe_to`](crate::WorkTable::subscribe_to).
///
/// A filtered subscription sees an update that moves a row into the watched
/// rows as an insert, and one that moves it out as a delete
/// ([`ChangeEvent::moved`] tells).
pub struct Watch<R: Row> {
    rows: Option<RowFilter<R>>,
    capacity: usize,
}

impl<R: Row> fmt::Debug for Watch<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("filtered", &self.rows.is_some())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<R: Row> Watch<R> {
    /// Every row.
    pub fn all() -> Self {
        Self {
            rows: None,
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// The row with primary key `pk`.
    pub fn key(pk: R::Pk) -> Self {
        Self::rows(move |row_pk, _| *row_pk == pk)
    }

    /// The rows whose primary key is in `range`.
    pub fn range(range: impl RangeBounds<R::Pk>) -> Self {
        let bounds: (Bound<R::Pk>, Bound<R::Pk>) =
            (range.start_bound().cloned(), range.end_bound().cloned());
        Self::rows(move |row_pk, _| bounds.contains(row_pk))
    }

    /// The rows whose key in `index` is `key` (e.g. `account == 7`).
    pub fn index<I: Index<R>>(index: I, key: I::Key) -> Self {
        let _ = index;
        Self::rows(move |_, row| I::key_of_archived(row) == key)
    }

    fn rows(keep: impl Fn(&R::Pk, &R::Archived) -> bool + Send + Sync + 'static) -> Self {
        Self {
            rows: Some(Box::new(keep)),
            capacity: DEFAULT_CAPACITY,
        }
    }

    /// At most `capacity` events (at least 1) wait for the subscriber; more
    /// are dropped and reported as [`Lagged`].
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// How this watch sees `event`, if it sees it at all.
    fn view(&self, event: &ChangeEvent<R>) -> Option<ChangeEvent<R>> {
        let Some(keep) = &self.rows else {
            return Some(event.clone());
        };
        let (before, after) = event.images();
        let watched = |image: Option<&crate::page::RowImage<R>>| {
            image.is_some_and(|image| keep(event.pk(), image.archived()))
        };
        let kind = match (watched(before), watched(after)) {
            (true, true) => ChangeKind::Update,
            (false, true) => ChangeKind::Insert,
            (true, false) => ChangeKind::Delete,
            (false, false) => return None,
        };
        Some(event.seen_as(kind))
    }
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
/// selects what enters it: the hub pushes, the [`Subscription`] pops.
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

/// A stream of the change events a [`Watch`] selects, from the moment of
/// subscribing, in sequence order: `Ok(event)`, or `Err(Lagged)` where the
/// subscriber fell behind its queue's capacity. It ends when the table is
/// dropped. Dropping it unsubscribes and frees its queue.
///
/// A slow subscriber never slows writers down: its queue is bounded and
/// events that do not fit are dropped for it (and counted).
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
    pub(crate) fn new(hub: Arc<EventHub<R>>, queue: Arc<SubscriberQueue<R>>) -> Self {
        Self {
            hub,
            queue,
            history: VecDeque::new(),
        }
    }

    /// Items waiting (events, plus at most one `Lagged`).
    pub fn queued(&self) -> usize {
        self.history.len() + self.queue.lock().items.len()
    }

    /// The next item, without waiting: `None` when the queue is empty.
    pub fn try_next(&mut self) -> Option<Result<ChangeEvent<R>, Lagged>> {
        if let Some(event) = self.history.pop_front() {
            return Some(Ok(event));
        }
        self.queue.lock().items.pop_front().map(into_result)
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
    let watch = &subscription.queue.watch;
    subscription
        .history
        .extend(events.into_iter().filter_map(|event| watch.view(&event)));
    subscription
}

fn into_result<R: Row>(item: Item<R>) -> Result<ChangeEvent<R>, Lagged> {
    match item {
        Item::Event(event) => Ok(event),
        Item::Lagged(missed) => Err(Lagged { missed }),
    }
}

impl<R: Row> Stream for Subscription<R> {
    type Item = Result<ChangeEvent<R>, Lagged>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(event) = self.history.pop_front() {
            return Poll::Ready(Some(Ok(event)));
        }
        let mut state = self.queue.lock();
        match state.items.pop_front() {
            Some(item) => Poll::Ready(Some(into_result(item))),
            None if state.closed => Poll::Ready(None),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<R: Row> Drop for Subscription<R> {
    fn drop(&mut self) {
        self.hub.unsubscribe(&self.queue);
    }
}
