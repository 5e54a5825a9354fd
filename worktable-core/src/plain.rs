//! [`Plain`]: field types that [`WorkTable::set_field`](crate::WorkTable::set_field)
//! can write into a copy of the archived row, without deserializing and
//! re-serializing the rest of it.
//!
//! Depends on: `float`.

use rkyv::api::low::LowSerializer;
use rkyv::rancor::Error;
use rkyv::ser::allocator::SubAllocator;
use rkyv::util::AlignedVec;
use rkyv::{Archive, Serialize};

use crate::float::{OrderedF32, OrderedF64};

mod sealed {
    pub trait Sealed {}
}

/// A field type whose archived form has a fixed size, holds no pointer and
/// is valid at any properly aligned place: the primitive numbers, `bool`,
/// `char`, [`OrderedF32`] and [`OrderedF64`]. Sealed: the in-place write
/// relies on exactly these properties. They serialize without an allocator
/// (rkyv's low-level serializer with an empty one), so writing one costs no
/// thread-local arena.
pub trait Plain:
    Archive
    + Copy
    + for<'a> Serialize<LowSerializer<AlignedVec, SubAllocator<'a>, Error>>
    + sealed::Sealed
{
}

macro_rules! plain {
    ($($ty:ty),* $(,)?) => {
        $(
            impl sealed::Sealed for $ty {}
            impl Plain for $ty {}
        )*
    };
}

plain!(
    bool, char, u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64, OrderedF32, OrderedF64,
);

#[cfg(test)]
mod tests {
    use rkyv::rancor::Error;

    use super::*;

    /// What `stage_with_field` relies on: rkyv's low-level serializer with
    /// an empty allocator writes a plain value as exactly its archived form,
    /// no more bytes, and needs no scratch space.
    fn archived_alone<T: Plain>(value: T) {
        let bytes = rkyv::api::low::to_bytes_in_with_alloc::<_, _, Error>(
            &value,
            AlignedVec::<16>::new(),
            SubAllocator::empty(),
        )
        .unwrap();
        assert_eq!(bytes.len(), std::mem::size_of::<T::Archived>());
    }

    #[test]
    fn plain_values_archive_to_their_archived_form_alone() {
        archived_alone(true);
        archived_alone('é');
        archived_alone(7u8);
        archived_alone(7u16);
        archived_alone(7u32);
        archived_alone(u64::MAX);
        archived_alone(u128::MAX);
        archived_alone(-7i8);
        archived_alone(-7i16);
        archived_alone(-7i32);
        archived_alone(i64::MIN);
        archived_alone(i128::MIN);
        archived_alone(1.5f32);
        archived_alone(f64::NAN);
        archived_alone(OrderedF32::from(2.5));
        archived_alone(OrderedF64::from(-0.0));
    }
}
