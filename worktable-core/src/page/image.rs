//! Row images: an owned, aligned copy of one archived row version, as change
//! events carry them.

use std::fmt;
use std::marker::PhantomData;

use rkyv::rancor;
use rkyv::util::AlignedVec;

use super::store::deserialize;
use crate::row::Row;

/// One version of a row, as archived bytes: typed access without a table.
///
/// Invariant: `bytes` is a valid archive of an `R` at the root position, in
/// a 16-aligned buffer — either copied from a table's page slot (which only
/// ever holds what `R`'s serializer produced) or checked by
/// [`from_bytes`](Self::from_bytes).
pub struct RowImage<R> {
    bytes: AlignedVec,
    _row: PhantomData<fn() -> R>,
}

impl<R> Clone for RowImage<R> {
    fn clone(&self) -> Self {
        Self {
            bytes: copy(&self.bytes),
            _row: PhantomData,
        }
    }
}

impl<R: Row> fmt::Debug for RowImage<R>
where
    R: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RowImage").field(&self.get()).finish()
    }
}

fn copy(bytes: &[u8]) -> AlignedVec {
    let mut aligned = AlignedVec::with_capacity(bytes.len());
    aligned.extend_from_slice(bytes);
    aligned
}

impl<R: Row> RowImage<R> {
    /// A copy of bytes read from a page slot of a table of `R`s.
    pub(crate) fn from_slot(bytes: &[u8]) -> Self {
        Self {
            bytes: copy(bytes),
            _row: PhantomData,
        }
    }

    /// The image of `row`, serialized.
    ///
    /// # Errors
    ///
    /// What `R`'s serializer reports.
    pub(crate) fn of(row: &R) -> Result<Self, rancor::Error> {
        let bytes = rkyv::api::high::to_bytes_in::<_, rancor::Error>(row, AlignedVec::new())?;
        Ok(Self {
            bytes,
            _row: PhantomData,
        })
    }

    /// An image of archived bytes from elsewhere (a log, the network),
    /// checked to be a valid archive of an `R` first.
    ///
    /// # Errors
    ///
    /// What rkyv's validation reports when `bytes` is not a valid `R`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, rancor::Error> {
        let bytes = copy(bytes);
        rkyv::access::<R::Archived, rancor::Error>(&bytes)?;
        Ok(Self {
            bytes,
            _row: PhantomData,
        })
    }

    /// The archived bytes, exactly as a table stores them.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The archived row, read in place.
    pub fn archived(&self) -> &R::Archived {
        // SAFETY: by the type's invariant, `bytes` holds a valid archive of
        // an `R` at the root position in a 16-aligned buffer.
        unsafe { rkyv::access_unchecked::<R::Archived>(&self.bytes) }
    }

    /// The row, deserialized.
    pub fn get(&self) -> R {
        deserialize::<R>(self.archived())
    }
}
