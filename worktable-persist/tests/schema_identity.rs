//! Which row type a directory belongs to, and what an open says when it is
//! not this one: another table's directory is named by its table; a changed
//! row type gets the list of what differs and the way to convert its rows;
//! a directory written by an older format is refused as such.

mod common;

use common::{Item, item, manual};
use worktable_core::prelude::*;
use worktable_persist::file_error::{FileError, FileKind};
use worktable_persist::{OpenError, PersistentTable, SchemaDifference};

/// Another table's row type.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "customers")]
struct Customer {
    #[pk]
    id: u64,
    name: String,
}

/// `Item` (table `items`) with `version` widened and a field added.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "items")]
struct ItemChanged {
    #[pk]
    id: u64,
    #[index(unique)]
    tag: String,
    #[index]
    group: u32,
    version: u64,
    payload: Vec<u8>,
    label: Option<String>,
}

async fn items_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let items = PersistentTable::<Item>::open(dir.path(), manual()).unwrap();
    items.insert(item(1, 1)).await.unwrap();
    items.close().await.unwrap();
    dir
}

#[tokio::test]
async fn another_tables_directory_is_named_by_its_table() {
    let dir = items_dir().await;
    match PersistentTable::<Customer>::open(dir.path(), manual()) {
        Err(error @ OpenError::TableNameMismatch { .. }) => {
            let message = error.to_string();
            assert!(
                message.contains("belongs to table `items`, not to `customers`"),
                "{message}"
            );
        }
        other => panic!("expected TableNameMismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn a_changed_row_type_gets_what_differs_and_how_to_convert() {
    let dir = items_dir().await;
    let error = PersistentTable::<ItemChanged>::open(dir.path(), manual()).unwrap_err();
    let message = error.to_string();
    let OpenError::SchemaMismatch { differences, .. } = error else {
        panic!("expected SchemaMismatch, got {error:?}");
    };
    assert_eq!(
        differences,
        [
            SchemaDifference::FieldType {
                name: "version".into(),
                stored: "u32".into(),
                current: "u64".into(),
            },
            SchemaDifference::FieldAdded {
                name: "label".into(),
                ty: "Option<String>".into(),
            },
        ]
    );
    for part in [
        "table `items`",
        "field `version` changed type from `u32` to `u64`",
        "field `label: Option<String>` added",
        "open_migrating",
    ] {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
    // Refused, nothing changed: the old row type still opens it.
    let items = PersistentTable::<Item>::open(dir.path(), manual()).unwrap();
    assert_eq!(items.get(&1), Some(item(1, 1)));
    items.close().await.unwrap();
}

/// The metadata file of a version 1 directory (the example of the version 1
/// format: table `orders`, checkpoint 41, generation 3).
const VERSION_1_META: [u8; 62] = [
    0x57, 0x54, 0x4d, 0x45, 0x54, 0x41, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, 0x06, 0x00, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x73,
    0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xaf, 0xa0, 0x21, 0x8b,
];

#[test]
fn a_directory_of_an_older_format_is_refused_as_such() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("meta"), VERSION_1_META).unwrap();
    let error = PersistentTable::<Item>::open(dir.path(), manual()).unwrap_err();
    let message = error.to_string();
    match &error {
        OpenError::Meta {
            source:
                FileError::UnsupportedVersion {
                    file: FileKind::Metadata,
                    found,
                    supported,
                },
            ..
        } => assert_eq!((*found, *supported), (1, 2)),
        other => panic!("expected an unsupported version, got {other:?}"),
    }
    assert!(
        message.contains("older worktable format (version 1)") && message.contains("re-create"),
        "{message}"
    );
    // Refused before anything was written.
    assert_eq!(
        std::fs::read(dir.path().join("meta")).unwrap(),
        VERSION_1_META
    );
}
