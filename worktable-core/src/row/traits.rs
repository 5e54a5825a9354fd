//! The [`Row`] trait that `#[derive(Table)]` implements, and the typed
//! field handles ([`Field`]).

use rkyv::api::high::{HighDeserializer, HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor::Error;
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;
use rkyv::{Archive, Deserialize, Serialize};

use super::index_set::IndexSet;
use super::key::{Key, KeyPrefix, PkSource};
use crate::schema::Schema;

/// A struct that can be stored in a [`WorkTable`](crate::WorkTable).
///
/// Implement it with `#[derive(Table)]`, never by hand: the derive also
/// generates the index storage and the typed index handles. The rkyv bounds
/// are supertraits, so generic code needs nothing but `R: Row`:
///
/// ```
/// use worktable_core::{Row, WorkTable};
///
/// /// Copies every row of `from` into `to`, in primary-key order.
/// async fn copy_all<R: Row>(from: &WorkTable<R>, to: &WorkTable<R>) -> worktable_core::Result<usize> {
///     let mut copied = 0;
///     for row in from.iter() {
///         to.upsert(row).await?;
///         copied += 1;
///     }
///     Ok(copied)
/// }
/// ```
pub trait Row:
    Archive<
        Archived: Deserialize<Self, HighDeserializer<Error>>
                      + for<'a> CheckBytes<HighValidator<'a, Error>>,
    > + for<'a> Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, Error>>
    + Send
    + Sync
    + Sized
    + 'static
{
    /// The primary key: the `#[pk]` field's type, or a tuple of the `#[pk]`
    /// fields' types in field order.
    type Pk: Key;

    /// Where primary keys of inserted rows come from.
    #[doc(hidden)]
    type PkSource: PkSource<Self::Pk>;

    /// The secondary indexes of the table (generated).
    #[doc(hidden)]
    type Indexes: IndexSet<Self>;

    /// The table's name: `#[table(name = "...")]`, or the struct name in
    /// snake case.
    const TABLE_NAME: &'static str;

    /// Names of the primary-key fields, in key order.
    const PK_FIELDS: &'static [&'static str];

    /// The row type as `#[derive(Table)]` read it: table name, schema
    /// version, fields with their normalised types, key and indexes.
    ///
    /// A field named `schema` has a handle constant of the same name, which
    /// `Order::SCHEMA` finds first; `<Order as Row>::SCHEMA` is this one.
    const SCHEMA: Schema;

    /// A fingerprint of what the row's stored bytes depend on:
    /// [`Schema::fingerprint`] of [`SCHEMA`](Row::SCHEMA), which hashes the
    /// table name, each field's name and normalised type, in order, the key
    /// fields and how keys are made, and `#[table(schema_version = N)]`.
    /// Durable tables store it and refuse to open files written with another
    /// one.
    ///
    /// Changes inside a nested column type (a struct or enum used as a
    /// field) are invisible to the derive: bump `schema_version` when one
    /// changes. Indexes are not part of it; they are rebuilt on open. Types
    /// are hashed in a canonical spelling built from the syntax tree, not as
    /// the compiler prints them, so `String` and `std::string::String` give
    /// the same fingerprint, and so do builds with different compilers (see
    /// [the schema module](crate::schema#normalised-types)).
    const SCHEMA_FINGERPRINT: u64 = Self::SCHEMA.fingerprint();

    /// The row's primary key.
    fn pk(&self) -> Self::Pk;

    /// Overwrites the row's primary-key fields.
    fn set_pk(&mut self, pk: Self::Pk);

    /// The primary key of an archived row, without deserializing the rest.
    #[doc(hidden)]
    fn pk_of_archived(archived: &Self::Archived) -> Self::Pk;

    /// The primary key as rkyv bytes, e.g. the key generator's state that a
    /// durable table keeps (never a row's other fields).
    ///
    /// # Errors
    ///
    /// What the key's rkyv `Serialize` reported.
    #[doc(hidden)]
    fn encode_pk(pk: &Self::Pk) -> Result<Vec<u8>, Error>;

    /// A primary key from bytes [`encode_pk`](Row::encode_pk) made,
    /// checked by rkyv's validator.
    ///
    /// # Errors
    ///
    /// What the validator or the key's `Deserialize` reported.
    #[doc(hidden)]
    fn decode_pk(bytes: &[u8]) -> Result<Self::Pk, Error>;

    /// The primary key type's order-preserving prefix, which the ordered
    /// keys of the primary index keep beside each key (`#[derive(Table)]`
    /// gives it for `String` keys and composite keys that start with one).
    #[doc(hidden)]
    fn pk_prefix() -> Option<KeyPrefix<Self::Pk>> {
        None
    }

    /// Whether the primary index keeps the keys in order beside its hash
    /// map: `false` for `#[pk(hash)]`, whose ranges and ordered iteration
    /// sort the keys when asked.
    #[doc(hidden)]
    const ORDERED_PK: bool = true;
}

/// A field of rows of type `R`, as a typed handle: `#[derive(Table)]` adds one
/// associated constant per field, named after the field in upper case
/// (`Order::PRICE`). Queries order by fields through these handles, so
/// ordering by a field whose type is not [`Ord`] does not compile.
///
/// A field that carries `#[index]` shares its constant with the index: the
/// same handle is a [`Field`] and an [`Index`](crate::Index). A handle has the
/// visibility of its field.
pub trait Field<R: Row>: Copy + Send + Sync + 'static {
    /// The field's type.
    type Value: Archive<Archived: Deserialize<Self::Value, HighDeserializer<Error>>>;

    /// The field's name.
    const NAME: &'static str;

    /// The field's value in `row`.
    fn get(row: &R) -> &Self::Value;

    /// Whether the field is part of the primary key or of an index: a
    /// change of it must go through the indexes. `#[derive(Table)]` says
    /// exactly; the default (`true`) is the safe answer.
    const KEYED: bool = true;

    /// The field's value in `row`, to change it.
    fn get_mut(row: &mut R) -> &mut Self::Value;

    /// The field's archived value in an archived row.
    fn get_archived(row: &R::Archived) -> &<Self::Value as Archive>::Archived;
}
