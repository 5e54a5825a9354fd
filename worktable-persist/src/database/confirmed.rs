//! The confirmed commit stream of a durable database
//! ([`DurableDatabase::subscribe_confirmed`]): every commit, whole, in
//! commit order, each delivered only once it is durable — read back from
//! the log itself, which is what makes it durable.
//!
//! A commit is durable once the flusher has synced the log through its
//! last record. The stream keeps a cursor in the log (a segment and a byte
//! offset at a commit boundary); whenever the flusher's synced mark passes
//! the cursor, it reads the segment's new bytes from the cursor on, and
//! yields the commits whose last record is synced. Records past the mark
//! may be half written; the stream never reads beyond it. A commit never
//! spans segments, and rotation creates the next segment before writing
//! to it, so at the end of a segment whose records are all synced the
//! next one is `log-<next number>`.
//!
//! Resuming: the cursor starts at the segment holding the first number
//! after `after`, skipping whole commits numbered up to `after`. A
//! checkpoint removes the segments it covers, except those a stream still
//! reads (from the oldest such segment on: see `checkpoint::LogHolds`), so
//! a slow stream never loses its place; the log grows while it lags. A
//! number older than every segment left is [`ResumeError::TooOld`]
//! (re-read the database from a copy at a commit and resume from there).
//!
//! The reads are small positioned reads of bytes the flusher just wrote
//! (in the page cache); they run inside `poll_next`, at most 1 MiB per
//! poll.
//!
//! Depends on: `log` (frames, records), `table::writer` (the flusher's
//! progress), `table::error`.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::watch;
use worktable_core::events::EventDecodeError;
use worktable_core::rkyv::{Archive, Deserialize, Serialize};
use worktable_core::{ChangeEvent, ChangeKind, Row, RowImage};

use super::checkpoint::{DbCheckpointer, LogHold};
use crate::log::{self, Frame, HEADER_LEN, RecordKind, SegmentHeader};
use crate::table::files::{parse_segment_name, segment_name};
use crate::table::writer::Progress;
use crate::table::{ResumeError, WriteError};
use crate::vfs::{Vfs, VfsFile};

/// The most bytes one poll reads from a segment.
const READ_CHUNK: u64 = 1 << 20;

/// One durable commit of a database: its number and every change of it,
/// across tables, as the log holds them. A plain value rkyv serializes
/// (for sending commits elsewhere: a replica, a queue).
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(crate = worktable_core::rkyv)]
pub struct ConfirmedCommit {
    /// The commit number: the sequence number of its last change.
    pub number: u64,
    /// The changes, numbered consecutively up to `number`.
    pub changes: Vec<ConfirmedChange>,
}

/// One change of a [`ConfirmedCommit`].
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(crate = worktable_core::rkyv)]
pub struct ConfirmedChange {
    /// The table's slot: its position among the database's fields, from 0.
    pub table: u16,
    /// The change's sequence number.
    pub seq: u64,
    /// 1 insert, 2 update, 3 delete (as the log stores it).
    pub kind: u8,
    /// The archived row before the change (update, delete).
    pub before: Option<Vec<u8>>,
    /// The archived row after the change (insert, update).
    pub after: Option<Vec<u8>>,
}

impl ConfirmedChange {
    /// What the change did.
    pub fn change_kind(&self) -> Option<ChangeKind> {
        match RecordKind::from_byte(self.kind)? {
            RecordKind::Insert => Some(ChangeKind::Insert),
            RecordKind::Update => Some(ChangeKind::Update),
            RecordKind::Delete => Some(ChangeKind::Delete),
            RecordKind::Skip => None,
        }
    }

    /// The typed change, for the table whose rows are `R` (the table at
    /// slot [`table`](Self::table) of the database's type); every image
    /// is validated.
    ///
    /// # Errors
    ///
    /// [`EventDecodeError`]: an image is not a valid archived `R`, or the
    /// images do not fit the kind.
    pub fn event<R: Row>(&self) -> Result<ChangeEvent<R>, EventDecodeError> {
        let image = |bytes: &Option<Vec<u8>>| {
            bytes
                .as_deref()
                .map(|bytes| RowImage::<R>::from_bytes(bytes).map_err(EventDecodeError::Image))
                .transpose()
        };
        let kind = self.change_kind().ok_or(EventDecodeError::Shape {
            kind: self.kind,
            old: self.before.is_some(),
            new: self.after.is_some(),
        })?;
        ChangeEvent::from_images(self.seq, kind, image(&self.before)?, image(&self.after)?)
    }
}

/// The stream of [`DurableDatabase::subscribe_confirmed`]: every commit
/// numbered after the number it was asked for, whole and in order, each
/// once it is durable.
///
/// [`DurableDatabase::subscribe_confirmed`]: super::DurableDatabase::subscribe_confirmed
pub struct ConfirmedCommits {
    /// Keeps the log from the segment read on.
    hold: LogHold,
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    progress: watch::Receiver<Progress>,
    /// Commits numbered up to this one are not delivered.
    after: u64,
    /// The segment being read, and where.
    cursor: Cursor,
    /// Commits read and not yet delivered.
    ready: std::collections::VecDeque<ConfirmedCommit>,
    /// Waiting for the synced mark to move past `synced`.
    waiting: Option<Pin<Box<dyn Future<Output = WaitOutcome> + Send>>>,
    ended: bool,
}

impl fmt::Debug for ConfirmedCommits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfirmedCommits")
            .field("dir", &self.dir)
            .field("next_seq", &self.cursor.next_seq)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// Where the stream reads: a segment, its open file, the offset of the
/// first record not yet read (a commit boundary), the number it must have.
struct Cursor {
    first: u64,
    file: Option<(Box<dyn VfsFile>, SegmentHeader)>,
    offset: u64,
    next_seq: u64,
}

/// What waiting for the synced mark found.
enum WaitOutcome {
    /// Synced through this number.
    Synced(u64),
    /// The log failed or the database closed first.
    Ended(WriteError),
}

impl ConfirmedCommits {
    /// A stream from the first commit numbered after `after`, reading the
    /// log of `dir`, whose last record is `last`; the segments it reads are
    /// held in `checkpointer`.
    pub(crate) fn new(
        vfs: Arc<dyn Vfs>,
        dir: PathBuf,
        progress: watch::Receiver<Progress>,
        checkpointer: &DbCheckpointer,
        after: u64,
        last: u64,
    ) -> Result<Self, ResumeError> {
        if after > last {
            return Err(ResumeError::Ahead { dir, after, last });
        }
        // The segments present, looked for and held under the checkpoint
        // lock: none of them is removed from then on until the stream
        // moves past it.
        let (first, hold) = checkpointer.with_log(|| -> Result<_, ResumeError> {
            let names = vfs
                .list(&dir)
                .map_err(|source| ResumeError::io(&dir, source))?;
            let mut segments: Vec<u64> = names
                .iter()
                .filter_map(|name| parse_segment_name(name))
                .collect();
            segments.sort_unstable();
            let oldest = segments.first().copied().unwrap_or(last + 1);
            if after.saturating_add(1) < oldest {
                return Err(ResumeError::TooOld {
                    dir: dir.clone(),
                    after,
                    oldest,
                });
            }
            Ok(segments
                .iter()
                .copied()
                .filter(|&first| first <= after + 1)
                .max()
                .unwrap_or(oldest))
        })?;
        Ok(Self {
            hold,
            vfs,
            dir,
            progress,
            after,
            cursor: Cursor {
                first,
                file: None,
                offset: HEADER_LEN as u64,
                next_seq: first,
            },
            ready: std::collections::VecDeque::new(),
            waiting: None,
            ended: false,
        })
    }

    /// Reads the commits synced through `synced` after the cursor (at most
    /// [`READ_CHUNK`] bytes); moves to the next segment at the end of one.
    fn read(&mut self, synced: u64) -> Result<(), ResumeError> {
        while self.cursor.next_seq <= synced && self.ready.is_empty() {
            let path = self.dir.join(segment_name(self.cursor.first));
            if self.cursor.file.is_none() {
                let file = match self.vfs.open(&path, false) {
                    Ok(file) => file,
                    Err(source) if source.kind() == std::io::ErrorKind::NotFound => {
                        // A checkpoint removed it before the stream got
                        // there: the stream fell behind.
                        return Err(ResumeError::TooOld {
                            dir: self.dir.clone(),
                            after: self.cursor.next_seq.saturating_sub(1),
                            oldest: self.oldest_kept(),
                        });
                    }
                    Err(source) => return Err(ResumeError::io(&path, source)),
                };
                let mut header = [0u8; HEADER_LEN];
                file.read_at(0, &mut header)
                    .map_err(|source| ResumeError::io(&path, source))?;
                let header = log::decode_header(&header).map_err(|source| ResumeError::Log {
                    path: path.clone(),
                    source,
                })?;
                self.cursor.file = Some((file, header));
            }
            let (file, header) = self.cursor.file.as_ref().expect("opened above");
            let len = file
                .len()
                .map_err(|source| ResumeError::io(&path, source))?;
            let want = (len.saturating_sub(self.cursor.offset)).min(READ_CHUNK);
            let mut bytes = vec![0u8; usize::try_from(want).unwrap_or(usize::MAX)];
            file.read_at(self.cursor.offset, &mut bytes)
                .map_err(|source| ResumeError::io(&path, source))?;
            let consumed = self.parse(&bytes, *header, synced, &path)?;
            self.cursor.offset += consumed as u64;
            let at_end = self.cursor.offset >= len;
            if self.ready.is_empty() && (consumed == 0 || at_end) {
                if self.cursor.next_seq <= synced && at_end {
                    // Every record of this segment is read and later ones
                    // are synced: they are in the next segment.
                    self.hold.move_to(self.cursor.next_seq);
                    self.cursor = Cursor {
                        first: self.cursor.next_seq,
                        file: None,
                        offset: HEADER_LEN as u64,
                        next_seq: self.cursor.next_seq,
                    };
                    continue;
                }
                if consumed == 0 && want == READ_CHUNK {
                    // A commit larger than one chunk: read it whole.
                    return self.read_whole(synced);
                }
                break;
            }
        }
        Ok(())
    }

    /// The first number of the oldest segment in the directory now.
    fn oldest_kept(&self) -> u64 {
        self.vfs
            .list(&self.dir)
            .unwrap_or_default()
            .iter()
            .filter_map(|name| parse_segment_name(name))
            .min()
            .unwrap_or(self.cursor.next_seq)
    }

    /// Reads the rest of the current segment at once (a commit longer
    /// than [`READ_CHUNK`]).
    fn read_whole(&mut self, synced: u64) -> Result<(), ResumeError> {
        let path = self.dir.join(segment_name(self.cursor.first));
        let (file, header) = self.cursor.file.as_ref().expect("open");
        let len = file
            .len()
            .map_err(|source| ResumeError::io(&path, source))?;
        let mut bytes = vec![0u8; usize::try_from(len - self.cursor.offset).unwrap_or(0)];
        file.read_at(self.cursor.offset, &mut bytes)
            .map_err(|source| ResumeError::io(&path, source))?;
        let consumed = self.parse(&bytes, *header, synced, &path)?;
        self.cursor.offset += consumed as u64;
        Ok(())
    }

    /// Parses the whole commits of `bytes` (from the cursor on) whose last
    /// record is numbered up to `synced`; returns the bytes they took.
    fn parse(
        &mut self,
        bytes: &[u8],
        header: SegmentHeader,
        synced: u64,
        path: &std::path::Path,
    ) -> Result<usize, ResumeError> {
        let seed = header.checksum();
        let mut at = 0;
        let mut commit = Vec::new();
        let mut consumed = 0;
        while let Some(rest) = bytes.get(at..) {
            let Ok(frame) = Frame::read(rest) else { break };
            let offset = usize::try_from(self.cursor.offset).unwrap_or(0) + at;
            let fault = |reason| ResumeError::Log {
                path: path.to_owned(),
                source: crate::file_error::FileError::Log(log::LogFault::Malformed {
                    offset,
                    reason,
                }),
            };
            let record = frame
                .verify(seed)
                .and_then(|()| frame.parse(offset, header.database))
                .map_err(fault)?;
            let expected = self.cursor.next_seq + commit.len() as u64;
            if record.seq != expected {
                return Err(fault(crate::file_error::RecordFault::SeqMismatch {
                    expected,
                    found: record.seq,
                }));
            }
            if record.seq > synced {
                break;
            }
            if record.kind == RecordKind::Skip {
                // A bulk load's numbers: its rows are in a checkpoint, not
                // in the log. A stream cannot go past them.
                return Err(ResumeError::TooOld {
                    dir: self.dir.clone(),
                    after: record.seq - 1,
                    oldest: record.last_number() + 1,
                });
            }
            at += frame.len();
            commit.push(ConfirmedChange {
                table: record.table,
                seq: record.seq,
                kind: record.kind as u8,
                before: (!record.before.is_empty()).then(|| record.before.to_vec()),
                after: (!record.after.is_empty()).then(|| record.after.to_vec()),
            });
            if !record.continues {
                self.cursor.next_seq = record.seq + 1;
                consumed = at;
                let changes = std::mem::take(&mut commit);
                if record.seq > self.after {
                    self.ready.push_back(ConfirmedCommit {
                        number: record.seq,
                        changes,
                    });
                }
            }
        }
        Ok(consumed)
    }
}

impl Stream for ConfirmedCommits {
    type Item = Result<ConfirmedCommit, ResumeError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(commit) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(commit)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            let next = this.cursor.next_seq;
            let synced = match &mut this.waiting {
                Some(wait) => {
                    let outcome = std::task::ready!(wait.as_mut().poll(cx));
                    this.waiting = None;
                    match outcome {
                        WaitOutcome::Synced(synced) => synced,
                        WaitOutcome::Ended(error) => {
                            this.ended = true;
                            return Poll::Ready(Some(Err(ResumeError::LogFailed(error))));
                        }
                    }
                }
                None => {
                    let synced = this.progress.borrow().synced_through;
                    if synced < next {
                        this.waiting =
                            Some(wait_past(this.progress.clone(), next, this.dir.clone()));
                        continue;
                    }
                    synced
                }
            };
            if let Err(error) = this.read(synced) {
                this.ended = true;
                return Poll::Ready(Some(Err(error)));
            }
            if this.ready.is_empty() && this.cursor.next_seq <= synced {
                // Nothing whole could be read although it is synced: the
                // commit is longer than what is on disk, which cannot be.
                this.ended = true;
                return Poll::Ready(Some(Err(ResumeError::LogMissing {
                    path: this.dir.join(segment_name(this.cursor.first)),
                })));
            }
        }
    }
}

/// Resolves once the log is synced through `seq`, or the log ends first.
fn wait_past(
    mut progress: watch::Receiver<Progress>,
    seq: u64,
    dir: PathBuf,
) -> Pin<Box<dyn Future<Output = WaitOutcome> + Send>> {
    Box::pin(async move {
        let seen = progress
            .wait_for(|p| p.synced_through >= seq || p.failed.is_some() || p.stopped)
            .await;
        match seen {
            Ok(p) if p.synced_through >= seq => WaitOutcome::Synced(p.synced_through),
            Ok(p) => WaitOutcome::Ended(match &p.failed {
                Some(source) => WriteError::LogWrite {
                    path: dir,
                    source: Arc::clone(source),
                },
                None => WriteError::Closed { path: dir },
            }),
            Err(_) => WaitOutcome::Ended(WriteError::Closed { path: dir }),
        }
    })
}
