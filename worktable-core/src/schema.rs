//! [`Schema`]: what `#[derive(Table)]` knows about a row type — its table
//! name, fields, key and indexes — as a `'static` value, and the schema
//! fingerprint durable tables store.
//!
//! Every row type has one, [`Row::SCHEMA`](crate::Row::SCHEMA):
//!
//! ```
//! use worktable_core::prelude::*;
//! use worktable_core::{KeySource, Schema};
//!
//! #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
//! #[rkyv(crate = worktable_core::rkyv)]
//! struct Order {
//!     #[pk(autoincrement)]
//!     id: u64,
//!     #[index(unique)]
//!     client_ref: std::string::String,
//!     lines: Vec<(u32, [u8; 0x10])>,
//! }
//!
//! let schema: Schema = Order::SCHEMA;
//! assert_eq!(schema.table_name(), "order");
//! let fields: Vec<(&str, &str)> = schema.fields().iter().map(|f| (f.name(), f.ty())).collect();
//! assert_eq!(
//!     fields,
//!     [("id", "u64"), ("client_ref", "String"), ("lines", "Vec<(u32, [u8; 16])>")],
//! );
//! assert_eq!(schema.key_fields(), ["id"]);
//! assert_eq!(schema.key_source(), KeySource::AutoIncrement);
//! assert_eq!(schema.indexes()[0].name(), "client_ref");
//! assert!(schema.indexes()[0].is_unique());
//! assert_eq!(schema.fingerprint(), Order::SCHEMA_FINGERPRINT);
//! ```
//!
//! # Normalised types
//!
//! A field's type (and a key generator's path) is recorded as the derive
//! reads it from the syntax tree, in one canonical spelling, so that the
//! same source gives the same text whatever compiler prints it:
//!
//! * paths: segments joined with `::`, without a leading `::`, generic
//!   arguments as `<A, B>` (lifetimes `'a`, associated types `Item = T`,
//!   integer constants in base 10), `r#` dropped from identifiers;
//! * `String`, `Vec`, `Box`, `Option` and `Result` by their short names when
//!   written as `std::string::String`, `alloc::vec::Vec`,
//!   `core::option::Option`, … (any of `std`, `alloc`, `core` followed by
//!   the type's module), and primitive types by their short names when
//!   written as `std::primitive::u32` or `core::primitive::u32`;
//! * tuples `(A, B)`, `()`, `(A,)`; arrays `[T; 4]`, whose length, when an
//!   integer literal, is written in base 10 without suffix (`4`, `4usize`
//!   and `0x4` agree); slices `[T]`; references `&T`, `&'a mut T`;
//!   parentheses and invisible groups left out;
//! * any other type (function pointers, trait objects, raw pointers,
//!   qualified paths, macros) and a non-literal array length: its tokens,
//!   each separated from the next by one space, except after punctuation
//!   joined to the next token (`->`, `::`, `'a`), and groups as
//!   `(...)`, `[...]`, `{...}` without spaces inside the delimiters.
//!
//! The derive sees the type as written, not what it names: a `String` of
//! your own is recorded as `String` too, and a type alias by the alias.
//!
//! # The fingerprint
//!
//! [`Schema::fingerprint`] is FNV-1a, 64 bits (offset basis
//! `0xcbf29ce484222325`, prime `0x100000001b3`; for each byte `b`:
//! `hash = (hash ^ b) * prime`, wrapping), over these bytes, integers
//! little-endian, strings as their length in bytes (`u64`) followed by their
//! UTF-8 bytes:
//!
//! | Bytes               | Content                                                                  |
//! | ------------------- | ------------------------------------------------------------------------ |
//! | 8 + name            | the table name                                                           |
//! | 4                   | `schema_version` (`u32`)                                                 |
//! | 8                   | the number of fields (`u64`)                                             |
//! | per field, in order | its name (without `r#`), then its normalised type                        |
//! | 8                   | the number of primary-key fields (`u64`)                                 |
//! | per key field       | its name, in key order                                                   |
//! | 1                   | how keys are made: `0` caller, `1` autoincrement, `2` generator          |
//! | 8 + path            | for a generator only: its normalised path                                |
//!
//! Indexes are not hashed: a durable table rebuilds them from the rows when
//! it opens, so adding, removing or changing an index leaves the fingerprint
//! alone. The struct's Rust name counts only through the table name, which
//! it gives unless `#[table(name = "...")]` does.
//!
//! For a table `t` with one field `id: u64`, its key:
//!
//! ```text
//! 01 00 00 00 00 00 00 00  74                         table name "t"
//! 00 00 00 00                                         schema_version 0
//! 01 00 00 00 00 00 00 00                             1 field
//! 02 00 00 00 00 00 00 00  69 64                      "id"
//! 03 00 00 00 00 00 00 00  75 36 34                   "u64"
//! 01 00 00 00 00 00 00 00                             1 key field
//! 02 00 00 00 00 00 00 00  69 64                      "id"
//! 00                                                  keys from the caller
//! ```
//!
//! ```
//! use worktable_core::prelude::*;
//!
//! #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
//! #[rkyv(crate = worktable_core::rkyv)]
//! #[table(name = "t")]
//! struct T {
//!     #[pk]
//!     id: u64,
//! }
//!
//! let bytes: &[u8] = &[
//!     1, 0, 0, 0, 0, 0, 0, 0, b't',
//!     0, 0, 0, 0,
//!     1, 0, 0, 0, 0, 0, 0, 0,
//!     2, 0, 0, 0, 0, 0, 0, 0, b'i', b'd',
//!     3, 0, 0, 0, 0, 0, 0, 0, b'u', b'6', b'4',
//!     1, 0, 0, 0, 0, 0, 0, 0,
//!     2, 0, 0, 0, 0, 0, 0, 0, b'i', b'd',
//!     0,
//! ];
//! let fnv1a = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
//!     (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
//! });
//! assert_eq!(T::SCHEMA_FINGERPRINT, fnv1a);
//! assert_eq!(fnv1a, 0x0157_d285_4da1_3214);
//! ```
//!
//! Durable tables store the fingerprint in their files and refuse to open
//! files written with another one, so both this encoding and the
//! normalisation of types are part of the on-disk format: changing either
//! changes the fingerprint of existing row types.
//!
//! Depends on nothing else in core.

/// A row type's schema: [`Row::SCHEMA`](crate::Row::SCHEMA), made by
/// `#[derive(Table)]`. See the [module docs](self) for an example and for
/// how types are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Schema {
    table_name: &'static str,
    schema_version: u32,
    fields: &'static [SchemaField],
    key_fields: &'static [&'static str],
    key_source: KeySource,
    indexes: &'static [SchemaIndex],
}

/// One field of a [`Schema`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SchemaField {
    name: &'static str,
    ty: &'static str,
}

/// One secondary index of a [`Schema`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SchemaIndex {
    name: &'static str,
    fields: &'static [&'static str],
    unique: bool,
}

/// How the primary keys of inserted rows are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeySource {
    /// Plain `#[pk]`: the caller puts the key in the row.
    Caller,
    /// `#[pk(autoincrement)]`: the table counts 1, 2, 3, ….
    AutoIncrement,
    /// `#[pk(generator = path)]`: the generator's path, normalised like a
    /// field's type.
    Generator(&'static str),
}

impl Schema {
    /// Made by `#[derive(Table)]` through `__private::schema`.
    pub(crate) const fn new(
        table_name: &'static str,
        schema_version: u32,
        fields: &'static [SchemaField],
        key_fields: &'static [&'static str],
        key_source: KeySource,
        indexes: &'static [SchemaIndex],
    ) -> Self {
        Self {
            table_name,
            schema_version,
            fields,
            key_fields,
            key_source,
            indexes,
        }
    }

    /// The table's name: `#[table(name = "...")]`, or the struct name in
    /// snake case ([`Row::TABLE_NAME`](crate::Row::TABLE_NAME)).
    pub const fn table_name(&self) -> &'static str {
        self.table_name
    }

    /// `#[table(schema_version = N)]`, 0 when not given.
    pub const fn schema_version(&self) -> u32 {
        self.schema_version
    }

    /// The fields, in declaration order.
    pub const fn fields(&self) -> &'static [SchemaField] {
        self.fields
    }

    /// The names of the primary-key fields, in key order
    /// ([`Row::PK_FIELDS`](crate::Row::PK_FIELDS)).
    pub const fn key_fields(&self) -> &'static [&'static str] {
        self.key_fields
    }

    /// How the keys of inserted rows are made.
    pub const fn key_source(&self) -> KeySource {
        self.key_source
    }

    /// The secondary indexes: those of fields with `#[index]` in field
    /// order, then the composite indexes in the order declared.
    pub const fn indexes(&self) -> &'static [SchemaIndex] {
        self.indexes
    }

    /// FNV-1a (64 bits) of the table name, the schema version, the fields'
    /// names and normalised types, the key fields and the key source,
    /// encoded as the [module docs](self#the-fingerprint) show byte by byte;
    /// not of the indexes. This is
    /// [`Row::SCHEMA_FINGERPRINT`](crate::Row::SCHEMA_FINGERPRINT).
    pub const fn fingerprint(&self) -> u64 {
        let mut hash = Fnv1a::new()
            .str(self.table_name)
            .bytes(&self.schema_version.to_le_bytes())
            .len(self.fields.len());
        let mut i = 0;
        while i < self.fields.len() {
            hash = hash.str(self.fields[i].name).str(self.fields[i].ty);
            i += 1;
        }
        hash = hash.len(self.key_fields.len());
        let mut i = 0;
        while i < self.key_fields.len() {
            hash = hash.str(self.key_fields[i]);
            i += 1;
        }
        hash = match self.key_source {
            KeySource::Caller => hash.bytes(&[0]),
            KeySource::AutoIncrement => hash.bytes(&[1]),
            KeySource::Generator(path) => hash.bytes(&[2]).str(path),
        };
        hash.finish()
    }
}

impl SchemaField {
    /// Made by `#[derive(Table)]` through `__private::schema_field`.
    pub(crate) const fn new(name: &'static str, ty: &'static str) -> Self {
        Self { name, ty }
    }

    /// The field's name, without `r#`.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The field's type, normalised (see the [module docs](self#normalised-types)).
    pub const fn ty(&self) -> &'static str {
        self.ty
    }
}

impl SchemaIndex {
    /// Made by `#[derive(Table)]` through `__private::schema_index`.
    pub(crate) const fn new(
        name: &'static str,
        fields: &'static [&'static str],
        unique: bool,
    ) -> Self {
        Self {
            name,
            fields,
            unique,
        }
    }

    /// The index's name: its field's name for `#[index]`, the declared name
    /// of a composite index ([`Index::NAME`](crate::Index::NAME)).
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The names of the key fields, in key order.
    pub const fn fields(&self) -> &'static [&'static str] {
        self.fields
    }

    /// Whether the index holds each key at most once.
    pub const fn is_unique(&self) -> bool {
        self.unique
    }
}

/// FNV-1a, 64 bits, in a form `const fn` can drive.
#[derive(Clone, Copy)]
struct Fnv1a(u64);

impl Fnv1a {
    const fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    const fn bytes(self, bytes: &[u8]) -> Self {
        let mut hash = self.0;
        let mut i = 0;
        while i < bytes.len() {
            hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
            i += 1;
        }
        Self(hash)
    }

    /// A length or count, as a `u64`.
    const fn len(self, len: usize) -> Self {
        self.bytes(&(len as u64).to_le_bytes())
    }

    /// A string: its length, then its bytes.
    const fn str(self, s: &str) -> Self {
        self.len(s.len()).bytes(s.as_bytes())
    }

    const fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEMS: Schema = Schema::new(
        "items",
        0,
        &[
            SchemaField::new("id", "u64"),
            SchemaField::new("label", "String"),
        ],
        &["id"],
        KeySource::Caller,
        &[SchemaIndex::new("label", &["label"], true)],
    );

    /// The encoding the module docs describe, built the slow way.
    fn encode(schema: &Schema) -> Vec<u8> {
        fn str(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        let mut out = Vec::new();
        str(&mut out, schema.table_name());
        out.extend_from_slice(&schema.schema_version().to_le_bytes());
        out.extend_from_slice(&(schema.fields().len() as u64).to_le_bytes());
        for field in schema.fields() {
            str(&mut out, field.name());
            str(&mut out, field.ty());
        }
        out.extend_from_slice(&(schema.key_fields().len() as u64).to_le_bytes());
        for key in schema.key_fields() {
            str(&mut out, key);
        }
        match schema.key_source() {
            KeySource::Caller => out.push(0),
            KeySource::AutoIncrement => out.push(1),
            KeySource::Generator(path) => {
                out.push(2);
                str(&mut out, path);
            }
        }
        out
    }

    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    #[test]
    fn fnv1a_matches_its_reference_values() {
        // From the FNV reference test suite.
        assert_eq!(Fnv1a::new().finish(), 0xcbf2_9ce4_8422_2325);
        assert_eq!(Fnv1a::new().bytes(b"a").finish(), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(
            Fnv1a::new().bytes(b"foobar").finish(),
            0x8594_4171_f739_67e8
        );
    }

    #[test]
    fn the_fingerprint_hashes_the_documented_encoding() {
        let generated = Schema {
            key_source: KeySource::Generator("ids::Even"),
            ..ITEMS
        };
        for schema in [
            ITEMS,
            generated,
            Schema {
                key_source: KeySource::AutoIncrement,
                schema_version: 7,
                ..ITEMS
            },
        ] {
            assert_eq!(schema.fingerprint(), fnv1a(&encode(&schema)));
        }
    }

    #[test]
    fn the_fingerprint_is_computed_at_compile_time() {
        const FINGERPRINT: u64 = ITEMS.fingerprint();
        assert_eq!(FINGERPRINT, ITEMS.fingerprint());
    }

    #[test]
    fn indexes_are_not_hashed() {
        let without = Schema {
            indexes: &[],
            ..ITEMS
        };
        assert_eq!(without.fingerprint(), ITEMS.fingerprint());
    }

    #[test]
    fn lengths_keep_neighbouring_strings_apart() {
        // "ab" + "c" and "a" + "bc" are the same bytes without the lengths.
        const AB_C: &[SchemaField] = &[SchemaField::new("ab", "c")];
        const A_BC: &[SchemaField] = &[SchemaField::new("a", "bc")];
        let ab_c = Schema {
            fields: AB_C,
            ..ITEMS
        };
        let a_bc = Schema {
            fields: A_BC,
            ..ITEMS
        };
        assert_ne!(ab_c.fingerprint(), a_bc.fingerprint());
    }
}
