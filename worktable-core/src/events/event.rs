//! Change events: what one committed write did to one row.
//!
//! Depends on: `page` (row images), `row`.

use std::fmt;
use std::sync::Arc;

use rkyv::{Archive, Deserialize, Serialize, rancor};

use crate::page::RowImage;
use crate::row::Row;

/// What a change did to its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The row was inserted (or, for a filtered subscription, moved into the
    /// watched rows).
    Insert,
    /// The row was replaced.
    Update,
    /// The row was deleted (or, for a filtered subscription, moved out of
    /// the watched rows).
    Delete,
}

/// The committed change, shared by every subscriber that receives it.
struct Committed<R: Row> {
    seq: u64,
    /// The commit the change belongs to (see [`ChangeEvent::commit`]).
    commit: Commit,
    pk: R::Pk,
    kind: ChangeKind,
    old: Option<RowImage<R>>,
    new: Option<RowImage<R>>,
}

/// One committed write to one row: its sequence number, what it did, the
/// row's primary key, and the row images — the new row for an insert, old
/// and new for an update, the old row for a delete.
///
/// Sequence numbers are table-wide, strictly increasing, without gaps, in
/// the order the changes became visible to readers.
///
/// A filtered subscription may see an update as an insert (the row moved
/// into the watched rows) or as a delete (moved out): [`kind`](Self::kind)
/// says how this subscriber sees it, [`moved`](Self::moved) whether that
/// differs from what was committed. Cloning is cheap (the images are shared).
pub struct ChangeEvent<R: Row> {
    committed: Arc<Committed<R>>,
    kind: ChangeKind,
}

impl<R: Row> Clone for ChangeEvent<R> {
    fn clone(&self) -> Self {
        Self {
            committed: Arc::clone(&self.committed),
            kind: self.kind,
        }
    }
}

impl<R: Row> fmt::Debug for ChangeEvent<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeEvent")
            .field("seq", &self.seq())
            .field("kind", &self.kind)
            .field("pk", self.pk())
            .field("moved", &self.moved())
            .finish()
    }
}

/// Where a change stands in its commit: a single write's change is a
/// commit of its own; a transaction's changes share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Commit {
    /// The commit's number: the sequence number of its last change.
    pub(crate) number: u64,
    /// Whether this is the commit's last change to the table.
    pub(crate) last_in_table: bool,
}

impl<R: Row> ChangeEvent<R> {
    /// The change of a single write: a commit of its own.
    pub(crate) fn new(
        seq: u64,
        pk: R::Pk,
        kind: ChangeKind,
        old: Option<RowImage<R>>,
        new: Option<RowImage<R>>,
    ) -> Self {
        let commit = Commit {
            number: seq,
            last_in_table: true,
        };
        Self::in_commit(seq, commit, pk, kind, old, new)
    }

    /// A change of `commit`.
    pub(crate) fn in_commit(
        seq: u64,
        commit: Commit,
        pk: R::Pk,
        kind: ChangeKind,
        old: Option<RowImage<R>>,
        new: Option<RowImage<R>>,
    ) -> Self {
        Self {
            committed: Arc::new(Committed {
                seq,
                commit,
                pk,
                kind,
                old,
                new,
            }),
            kind,
        }
    }

    /// The same change as a filtered subscriber sees it.
    pub(crate) fn seen_as(&self, kind: ChangeKind) -> Self {
        Self {
            committed: Arc::clone(&self.committed),
            kind,
        }
    }

    /// The table-wide sequence number of the change.
    pub fn seq(&self) -> u64 {
        self.committed.seq
    }

    /// The number of the commit the change belongs to, shared by every
    /// change of one transaction (the sequence number of its last change,
    /// in any table); a single write's change is a commit of its own, so
    /// this is then [`seq`](Self::seq).
    pub fn commit(&self) -> u64 {
        self.committed.commit.number
    }

    /// Whether this is the last change of its commit to this table: a
    /// subscriber of the table has then received the whole transaction's
    /// changes to it (they come together, in commit order, nothing in
    /// between). Always `true` for a single write.
    pub fn last_in_commit(&self) -> bool {
        self.committed.commit.last_in_table
    }

    /// What the change did, as this subscriber sees it.
    pub fn kind(&self) -> ChangeKind {
        self.kind
    }

    /// What the change did to the table.
    pub fn committed_kind(&self) -> ChangeKind {
        self.committed.kind
    }

    /// Whether a filtered subscription sees this update as an insert or a
    /// delete because the row moved into or out of the watched rows.
    pub fn moved(&self) -> bool {
        self.kind != self.committed.kind
    }

    /// The row's primary key.
    pub fn pk(&self) -> &R::Pk {
        &self.committed.pk
    }

    /// The row before the change: `Some` for updates and deletes (and for
    /// an update seen as a delete).
    pub fn before(&self) -> Option<&RowImage<R>> {
        match self.kind {
            ChangeKind::Insert => None,
            ChangeKind::Update | ChangeKind::Delete => self.committed.old.as_ref(),
        }
    }

    /// The row after the change: `Some` for inserts and updates (and for an
    /// update seen as an insert).
    pub fn after(&self) -> Option<&RowImage<R>> {
        match self.kind {
            ChangeKind::Delete => None,
            ChangeKind::Insert | ChangeKind::Update => self.committed.new.as_ref(),
        }
    }

    /// Both images as committed, whatever this subscriber's view.
    pub(crate) fn images(&self) -> (Option<&RowImage<R>>, Option<&RowImage<R>>) {
        (self.committed.old.as_ref(), self.committed.new.as_ref())
    }

    /// Rebuilds the change numbered `seq` from its row images (e.g. read
    /// back from a write-ahead log): `after` for an insert, `before` and
    /// `after` for an update, `before` for a delete. The key is read from
    /// an image.
    ///
    /// # Errors
    ///
    /// [`EventDecodeError::Shape`] when the images do not fit the kind.
    ///
    /// ```
    /// use worktable_core::prelude::*;
    /// use worktable_core::{ChangeEvent, ChangeKind, RowImage};
    ///
    /// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    /// #[rkyv(crate = worktable_core::rkyv)]
    /// struct Note {
    ///     #[pk]
    ///     id: u32,
    ///     text: String,
    /// }
    ///
    /// let bytes = worktable_core::rkyv::to_bytes::<worktable_core::rkyv::rancor::Error>(
    ///     &Note { id: 7, text: "hi".into() },
    /// )?;
    /// let image = RowImage::<Note>::from_bytes(&bytes)?;
    /// let event = ChangeEvent::from_images(12, ChangeKind::Insert, None, Some(image))?;
    /// assert_eq!((event.seq(), *event.pk()), (12, 7));
    /// assert_eq!(event.after().unwrap().get().text, "hi");
    /// assert!(ChangeEvent::<Note>::from_images(13, ChangeKind::Delete, None, None).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_images(
        seq: u64,
        kind: ChangeKind,
        before: Option<RowImage<R>>,
        after: Option<RowImage<R>>,
    ) -> Result<Self, EventDecodeError> {
        let pk = match (kind, &before, &after) {
            (ChangeKind::Insert, None, Some(image))
            | (ChangeKind::Update, Some(image), Some(_))
            | (ChangeKind::Delete, Some(image), None) => R::pk_of_archived(image.archived()),
            (kind, before, after) => {
                return Err(EventDecodeError::Shape {
                    kind: kind_code(kind),
                    old: before.is_some(),
                    new: after.is_some(),
                });
            }
        };
        Ok(Self::new(seq, pk, kind, before, after))
    }

    /// The change as a record that rkyv can serialize: the row images go in
    /// as the archived bytes the table already holds, never re-serialized.
    pub fn to_record(&self) -> EventRecord {
        EventRecord {
            seq: self.seq(),
            kind: kind_code(self.committed.kind),
            old: self
                .committed
                .old
                .as_ref()
                .map(|image| image.bytes().to_vec()),
            new: self
                .committed
                .new
                .as_ref()
                .map(|image| image.bytes().to_vec()),
        }
    }

    /// Rebuilds a change from a record, checking that every image is a
    /// valid archived `R` and that the images fit the kind.
    ///
    /// # Errors
    ///
    /// [`EventDecodeError`] naming what is wrong.
    pub fn from_record(record: &ArchivedEventRecord) -> Result<Self, EventDecodeError> {
        let image = |bytes: &rkyv::option::ArchivedOption<rkyv::vec::ArchivedVec<u8>>| {
            bytes
                .as_ref()
                .map(|bytes| RowImage::<R>::from_bytes(bytes).map_err(EventDecodeError::Image))
                .transpose()
        };
        let (old, new) = (image(&record.old)?, image(&record.new)?);
        let (kind, pk) = match (record.kind, &old, &new) {
            (0, None, Some(new)) => (ChangeKind::Insert, R::pk_of_archived(new.archived())),
            (1, Some(old), Some(_)) => (ChangeKind::Update, R::pk_of_archived(old.archived())),
            (2, Some(old), None) => (ChangeKind::Delete, R::pk_of_archived(old.archived())),
            (kind, old, new) => {
                return Err(EventDecodeError::Shape {
                    kind,
                    old: old.is_some(),
                    new: new.is_some(),
                });
            }
        };
        Ok(Self::new(record.seq.to_native(), pk, kind, old, new))
    }
}

/// The kind's code in an [`EventRecord`].
fn kind_code(kind: ChangeKind) -> u8 {
    match kind {
        ChangeKind::Insert => 0,
        ChangeKind::Update => 1,
        ChangeKind::Delete => 2,
    }
}

/// A change event as a plain value that rkyv serializes: the sequence
/// number, the kind (0 insert, 1 update, 2 delete) and the archived bytes of
/// the row images. Made by [`ChangeEvent::to_record`], read back by
/// [`ChangeEvent::from_record`]: for keeping or sending changes outside the
/// table (a queue, another process) in a form that needs no row type to
/// store.
///
/// `worktable-persist` does not use it: its log has a record format of its
/// own (`docs/format.md`), read back with [`ChangeEvent::from_images`].
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[rkyv(crate = crate::rkyv)]
#[non_exhaustive]
pub struct EventRecord {
    /// Sequence number.
    pub seq: u64,
    /// 0 insert, 1 update, 2 delete.
    pub kind: u8,
    /// Archived bytes of the row before the change.
    pub old: Option<Vec<u8>>,
    /// Archived bytes of the row after the change.
    pub new: Option<Vec<u8>>,
}

/// Why a change of this row type could not be rebuilt from an
/// [`EventRecord`] ([`ChangeEvent::from_record`]) or from row images
/// ([`ChangeEvent::from_images`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventDecodeError {
    /// A row image is not a valid archived row of this type.
    #[error("a row image in the change record is not a valid row of this table")]
    Image(#[source] rancor::Error),
    /// The images do not fit the kind (e.g. an insert without a new row).
    #[error("change record of kind {kind} has old image: {old}, new image: {new}")]
    Shape {
        /// The kind byte.
        kind: u8,
        /// Whether an old image was present.
        old: bool,
        /// Whether a new image was present.
        new: bool,
    },
}
