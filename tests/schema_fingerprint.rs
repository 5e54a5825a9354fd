//! `Row::SCHEMA_FINGERPRINT` changes exactly when what a row's stored bytes
//! depend on changes: field names, types and order, the table name, the key
//! and how keys are made, `#[table(schema_version = N)]` — and not when only
//! indexes, the Rust struct's name or the spelling of a type's path
//! (`std::string::String` for `String`) change. `Row::SCHEMA` records what
//! the derive read, types in their canonical spelling.

use std::sync::atomic::{AtomicU32, Ordering};

use worktable_core::prelude::*;
use worktable_core::{KeySource, PkGenerator, Row};

/// The reference shape every variant below is compared with.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
struct Base {
    #[pk]
    id: u64,
    label: String,
    count: u32,
}

/// Same table name, fields and key; another struct name and other indexes.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items", index(name = "by_label_count", fields(label, count)))]
struct SameShapeOtherIndexes {
    #[pk]
    id: u64,
    #[index(unique)]
    label: String,
    #[index]
    count: u32,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
struct WiderCount {
    #[pk]
    id: u64,
    label: String,
    count: u64,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
struct Reordered {
    #[pk]
    id: u64,
    count: u32,
    label: String,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
struct Renamed {
    #[pk]
    id: u64,
    title: String,
    count: u32,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
struct ExtraField {
    #[pk]
    id: u64,
    label: String,
    count: u32,
    note: Option<String>,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "things")]
struct OtherTable {
    #[pk]
    id: u64,
    label: String,
    count: u32,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
struct AutoKeys {
    #[pk(autoincrement)]
    id: u64,
    label: String,
    count: u32,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
struct CompositeKey {
    #[pk]
    id: u64,
    #[pk]
    label: String,
    count: u32,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items", schema_version = 2)]
struct NextVersion {
    #[pk]
    id: u64,
    label: String,
    count: u32,
}

/// `Base` with every type written by its full path.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
struct LongPaths {
    #[pk]
    id: ::core::primitive::u64,
    label: std::string::String,
    count: std::primitive::u32,
}

/// A nested column type, reached through a module path.
mod money {
    use worktable_core::{Archive, Deserialize, Serialize};

    #[derive(
        Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
    )]
    #[rkyv(crate = worktable_core::rkyv)]
    pub(crate) struct Cents(pub(crate) i64);
}

/// Column types built from `Option`, `Vec`, arrays, tuples and paths.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "columns", index(name = "by_day_total", fields(day, total)))]
struct Columns {
    #[pk(autoincrement)]
    id: u32,
    note: Option<String>,
    #[index]
    tags: std::vec::Vec<String>,
    digest: [u8; 0x10],
    #[index(unique)]
    pair: (u16, i64),
    single: (u8,),
    nested: Vec<Option<(u8, [u16; 2usize])>>,
    total: money::Cents,
    day: core::option::Option<u16>,
}

/// Gives out `(1, "auto")`, `(2, "auto")`, ...
#[derive(Default)]
struct Sequenced(AtomicU32);

impl PkGenerator<(u32, String)> for Sequenced {
    fn next_pk(&self) -> Option<(u32, String)> {
        let next = self.0.fetch_add(1, Ordering::Relaxed).checked_add(1)?;
        Some((next, "auto".to_owned()))
    }
}

/// A composite key made by a generator; another schema version.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "entries", schema_version = 3)]
struct GeneratedKeys {
    #[pk(generator = self::Sequenced)]
    shard: u32,
    #[pk]
    name: String,
    body: Vec<u8>,
}

/// `GeneratedKeys` without the generator.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "entries", schema_version = 3)]
struct CallerKeys {
    #[pk]
    shard: u32,
    #[pk]
    name: String,
    body: Vec<u8>,
}

/// `Base` keyed by `label` instead of `id`.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
struct OtherKey {
    id: u64,
    #[pk]
    label: String,
    count: u32,
}

/// A field whose handle constant shares the name of `Row::SCHEMA`.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug)]
#[rkyv(crate = worktable_core::rkyv)]
struct Document {
    #[pk]
    id: u64,
    schema: String,
}

#[test]
fn a_field_named_schema_leaves_the_row_schema_reachable() {
    let schema = <Document as Row>::SCHEMA;
    assert_eq!(schema.fields()[1].name(), "schema");
    assert_eq!(<Document as Row>::SCHEMA_FINGERPRINT, schema.fingerprint());
    fn field_name<F: worktable_core::Field<Document>>(_handle: F) -> &'static str {
        F::NAME
    }
    assert_eq!(field_name(Document::SCHEMA), "schema");
}

#[test]
fn indexes_and_the_struct_name_leave_the_fingerprint_alone() {
    assert_eq!(
        Base::SCHEMA_FINGERPRINT,
        SameShapeOtherIndexes::SCHEMA_FINGERPRINT
    );
    assert_eq!(Base::SCHEMA.indexes(), []);
    assert_eq!(SameShapeOtherIndexes::SCHEMA.indexes().len(), 3);
}

#[test]
fn spelling_a_type_by_its_full_path_leaves_the_fingerprint_alone() {
    assert_eq!(Base::SCHEMA_FINGERPRINT, LongPaths::SCHEMA_FINGERPRINT);
    assert_eq!(Base::SCHEMA.fields(), LongPaths::SCHEMA.fields());
}

#[test]
fn every_change_to_the_stored_shape_changes_the_fingerprint() {
    let variants = [
        ("base", Base::SCHEMA_FINGERPRINT),
        ("wider count", WiderCount::SCHEMA_FINGERPRINT),
        ("reordered", Reordered::SCHEMA_FINGERPRINT),
        ("renamed field", Renamed::SCHEMA_FINGERPRINT),
        ("extra field", ExtraField::SCHEMA_FINGERPRINT),
        ("other table name", OtherTable::SCHEMA_FINGERPRINT),
        ("autoincrement key", AutoKeys::SCHEMA_FINGERPRINT),
        ("composite key", CompositeKey::SCHEMA_FINGERPRINT),
        ("other key field", OtherKey::SCHEMA_FINGERPRINT),
        ("schema_version = 2", NextVersion::SCHEMA_FINGERPRINT),
        ("generated keys", GeneratedKeys::SCHEMA_FINGERPRINT),
        ("caller keys", CallerKeys::SCHEMA_FINGERPRINT),
    ];
    for (i, (a, fa)) in variants.iter().enumerate() {
        for (b, fb) in &variants[i + 1..] {
            assert_ne!(fa, fb, "{a} and {b} share a fingerprint");
        }
    }
}

#[test]
fn the_schema_records_fields_keys_and_indexes() {
    let schema = Columns::SCHEMA;
    assert_eq!(schema.table_name(), "columns");
    assert_eq!(schema.schema_version(), 0);
    let fields: Vec<(&str, &str)> = schema
        .fields()
        .iter()
        .map(|field| (field.name(), field.ty()))
        .collect();
    assert_eq!(
        fields,
        [
            ("id", "u32"),
            ("note", "Option<String>"),
            ("tags", "Vec<String>"),
            ("digest", "[u8; 16]"),
            ("pair", "(u16, i64)"),
            ("single", "(u8,)"),
            ("nested", "Vec<Option<(u8, [u16; 2])>>"),
            ("total", "money::Cents"),
            ("day", "Option<u16>"),
        ]
    );
    assert_eq!(schema.key_fields(), ["id"]);
    assert_eq!(schema.key_source(), KeySource::AutoIncrement);
    let indexes: Vec<(&str, &[&str], bool)> = schema
        .indexes()
        .iter()
        .map(|index| (index.name(), index.fields(), index.is_unique()))
        .collect();
    assert_eq!(
        indexes,
        [
            ("tags", &["tags"][..], false),
            ("pair", &["pair"][..], true),
            ("by_day_total", &["day", "total"][..], false),
        ]
    );

    let schema = GeneratedKeys::SCHEMA;
    assert_eq!(schema.schema_version(), 3);
    assert_eq!(schema.key_fields(), ["shard", "name"]);
    assert_eq!(schema.key_source(), KeySource::Generator("self::Sequenced"));
    assert_eq!(CallerKeys::SCHEMA.key_source(), KeySource::Caller);
    assert_eq!(<GeneratedKeys as Row>::PK_FIELDS, schema.key_fields());
    assert_eq!(<GeneratedKeys as Row>::TABLE_NAME, schema.table_name());
}

#[test]
fn the_fingerprint_is_the_schemas() {
    assert_eq!(Columns::SCHEMA.fingerprint(), Columns::SCHEMA_FINGERPRINT);
    assert_eq!(
        GeneratedKeys::SCHEMA.fingerprint(),
        GeneratedKeys::SCHEMA_FINGERPRINT
    );
}

/// Durable tables store these numbers in their files and refuse to open
/// files whose number differs from their row type's. Changing one of them
/// makes every durable table written before refuse to open, so only change
/// them together with a format decision. Each is FNV-1a over the encoding
/// `worktable_core::schema` documents (checked independently of the crate's
/// code when pinned).
#[test]
fn the_fingerprints_are_stable_across_builds() {
    // items v0: id u64, label String, count u32; key (id) from the caller.
    assert_eq!(Base::SCHEMA_FINGERPRINT, 0xbcd7_fb56_308b_3ac9);
    // The same, keys by autoincrement.
    assert_eq!(AutoKeys::SCHEMA_FINGERPRINT, 0xbcd7_fa56_308b_3916);
    // The same as `Base` with schema_version 2.
    assert_eq!(NextVersion::SCHEMA_FINGERPRINT, 0x151d_689e_7f7a_e66b);
    // columns v0: the fields `the_schema_records_fields_keys_and_indexes`
    // lists; key (id) by autoincrement.
    assert_eq!(Columns::SCHEMA_FINGERPRINT, 0xba77_dc6a_2e90_de03);
    // entries v3: shard u32, name String, body Vec<u8>; key (shard, name)
    // from the generator `self::Sequenced`.
    assert_eq!(GeneratedKeys::SCHEMA_FINGERPRINT, 0x8d9d_13f9_0154_9c9a);
}
