//! The confirmed change stream: changes delivered only once they are
//! durable ([`PersistentTable::subscribe_confirmed`]), and
//! [`PersistentTable::wait_durable`].
//!
//! A change is visible to readers and ordinary subscribers at its commit
//! point, before its log record is synced. An external consumer (a copy
//! elsewhere, a replica) must not act on a change a crash can still take
//! back, so a confirmed subscription holds each change until the flusher
//! reports the log synced through its number. Changes are numbered in log
//! order and synced in that order, so holding the first one that is not
//! yet durable holds every later one too: the order is kept.
//!
//! Depends on: `history` (the resumed feed it gates), `writer` (the
//! flusher's progress), `error`.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::watch;
use worktable_core::events::Subscription;
use worktable_core::{ChangeEvent, Lagged, Row};

use super::PersistentTable;
use super::error::{ResumeError, WriteError};
use super::writer::Progress;

/// Why a [`Confirmed`] stream could not deliver a change.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfirmedError {
    /// The subscriber fell behind: its queue overflowed and `missed`
    /// changes were dropped (see [`Lagged`]). Resume with
    /// [`PersistentTable::subscribe_confirmed`] after the last change it
    /// processed.
    #[error(transparent)]
    Lagged(#[from] Lagged),
    /// The log failed, or the table was closed, before the change was
    /// durable: it may not survive a crash, and nothing after it will be
    /// delivered. The stream ends after this.
    #[error("a change was never made durable: {0}")]
    NotDurable(WriteError),
}

/// A stream of changes, each delivered once its log record is synced, from
/// [`PersistentTable::subscribe_confirmed`]. The same changes, in the same
/// order, as [`subscribe_from`](PersistentTable::subscribe_from) gives,
/// each held back until it is durable.
pub struct Confirmed<R: Row> {
    feed: Subscription<R>,
    progress: watch::Receiver<Progress>,
    dir: PathBuf,
    /// The change waiting to be durable, and the wait.
    waiting: Option<(ChangeEvent<R>, Durably)>,
    ended: bool,
}

/// Waiting until a number is durable.
type Durably = Pin<Box<dyn Future<Output = Result<(), WriteError>> + Send>>;

impl<R: Row> fmt::Debug for Confirmed<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Confirmed")
            .field("dir", &self.dir)
            .field(
                "waiting",
                &self.waiting.as_ref().map(|(event, _)| event.seq()),
            )
            .field("ended", &self.ended)
            .finish()
    }
}

/// Resolves once every record numbered up to `seq` is synced; fails if the
/// log fails or stops first.
fn durable(mut progress: watch::Receiver<Progress>, seq: u64, dir: PathBuf) -> Durably {
    Box::pin(async move {
        let seen = progress
            .wait_for(|p| p.synced_through >= seq || p.failed.is_some() || p.stopped)
            .await;
        match seen {
            Ok(p) if p.synced_through >= seq => Ok(()),
            Ok(p) => Err(match &p.failed {
                Some(source) => WriteError::LogWrite {
                    path: dir,
                    source: Arc::clone(source),
                },
                None => WriteError::Closed { path: dir },
            }),
            Err(_) => Err(WriteError::Closed { path: dir }),
        }
    })
}

impl<R: Row> Stream for Confirmed<R> {
    type Item = Result<ChangeEvent<R>, ConfirmedError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        if let Some((_, wait)) = &mut this.waiting {
            let outcome = std::task::ready!(wait.as_mut().poll(cx));
            let (event, _) = this.waiting.take().expect("waiting");
            return Poll::Ready(Some(match outcome {
                Ok(()) => Ok(event),
                Err(error) => {
                    this.ended = true;
                    Err(ConfirmedError::NotDurable(error))
                }
            }));
        }
        let event = match std::task::ready!(Pin::new(&mut this.feed).poll_next(cx)) {
            None => return Poll::Ready(None),
            Some(Err(lagged)) => return Poll::Ready(Some(Err(lagged.into()))),
            Some(Ok(event)) => event,
        };
        if this.progress.borrow().synced_through >= event.seq() {
            return Poll::Ready(Some(Ok(event)));
        }
        let wait = durable(this.progress.clone(), event.seq(), this.dir.clone());
        this.waiting = Some((event, wait));
        // Poll the wait once, so that it registers the waker.
        self.poll_next(cx)
    }
}

impl<R: Row> PersistentTable<R> {
    /// Resolves once every change numbered up to `seq` is durable: its log
    /// record, and every one before it, synced. Under
    /// [`Durability::Sync`](crate::Durability::Sync) a write's change is
    /// durable when the write returns; under `Periodic` at the next flush;
    /// under `None` at the next sync (a checkpoint or `close`). A number
    /// not yet given to a change waits until it is, and is durable.
    ///
    /// # Errors
    ///
    /// [`WriteError::LogWrite`] if the log fails first,
    /// [`WriteError::Closed`] if the table is closed first: changes above
    /// the last synced one may not survive a crash.
    pub async fn wait_durable(&self, seq: u64) -> Result<(), WriteError> {
        durable(self.inner.shared.watch(), seq, self.inner.dir.clone()).await
    }

    /// A stream of every change numbered after `after` (as
    /// [`subscribe_from`](Self::subscribe_from): first what the log still
    /// holds, then the live changes), each delivered only once it is
    /// durable — what an external consumer or a replica must read, so that
    /// it never acts on a change a crash takes back. Save the number of
    /// the last change processed and pass it again to resume, across
    /// reopens (numbers continue).
    ///
    /// ```
    /// use futures::StreamExt;
    /// use worktable_core::prelude::*;
    /// use worktable_persist::{Durability, Options, PersistentTable};
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Note {
    ///     #[pk]
    ///     id: u64,
    ///     text: String,
    /// }
    ///
    /// let dir = tempfile::tempdir()?;
    /// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    /// rt.block_on(async {
    ///     let options = Options::durability(Durability::Sync);
    ///     let notes = PersistentTable::<Note>::open(dir.path(), options)?;
    ///     let mut confirmed = notes.subscribe_confirmed(notes.last_seq()).await?;
    ///     notes.insert(Note { id: 1, text: "kept".into() }).await?;
    ///     let change = confirmed.next().await.unwrap()?;
    ///     assert_eq!((change.seq(), *change.pk()), (1, 1));
    ///     notes.wait_durable(change.seq()).await?; // already durable
    ///     drop(confirmed);
    ///     notes.close().await?;
    ///     Ok::<(), Box<dyn std::error::Error>>(())
    /// })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`subscribe_from`](Self::subscribe_from).
    pub async fn subscribe_confirmed(&self, after: u64) -> Result<Confirmed<R>, ResumeError> {
        let feed = self.subscribe_from(after).await?;
        Ok(Confirmed {
            feed,
            progress: self.inner.shared.watch(),
            dir: self.inner.dir.clone(),
            waiting: None,
            ended: false,
        })
    }
}
