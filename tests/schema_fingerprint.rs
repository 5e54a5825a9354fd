//! `Row::SCHEMA_FINGERPRINT` changes exactly when what a row's stored bytes
//! depend on changes: field names, types and order, the table name, the key
//! and how keys are made, `#[table(schema_version = N)]` — and not when only
//! indexes or the Rust struct's name change.

use worktable_core::Row;
use worktable_core::prelude::*;

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

#[test]
fn indexes_and_the_struct_name_leave_the_fingerprint_alone() {
    assert_eq!(
        Base::SCHEMA_FINGERPRINT,
        SameShapeOtherIndexes::SCHEMA_FINGERPRINT
    );
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
        ("schema_version = 2", NextVersion::SCHEMA_FINGERPRINT),
    ];
    for (i, (a, fa)) in variants.iter().enumerate() {
        for (b, fb) in &variants[i + 1..] {
            assert_ne!(fa, fb, "{a} and {b} share a fingerprint");
        }
    }
}

#[test]
fn the_fingerprint_is_stable_across_builds() {
    // FNV-1a of the encoding `worktable_core::schema` documents, for `items` v0 with
    // `id: u64`, `label: String`, `count: u32`, key `id` from the caller. Changing it
    // makes every durable table written before refuse to open, so only change it
    // together with a format decision.
    assert_eq!(Base::SCHEMA_FINGERPRINT, 0xbcd7_fb56_308b_3ac9);
}
