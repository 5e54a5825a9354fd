//! An error message prints a key's `Debug` text whole when it is short, and only its
//! first 100 characters, then `… (N bytes)` with the whole text's length, when it is
//! long: a 60 KB key gives a message of a few hundred bytes. The error's field keeps
//! the whole key.

use std::sync::Arc;

use worktable_core::prelude::*;
use worktable_core::storage::RestoreError;

/// A note keyed by a string, with a unique title: both can be huge.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "notes")]
struct Note {
    #[pk]
    key: String,
    #[index(unique)]
    title: String,
}

fn note(key: &str, title: &str) -> Note {
    Note {
        key: key.to_owned(),
        title: title.to_owned(),
    }
}

/// A key of 60,000 characters `c`.
fn huge(c: char) -> String {
    c.to_string().repeat(60_000)
}

/// The most characters of a key a message shows.
const SHOWN: usize = 100;

/// Asserts that `message` is short and shows the start of `debug`, a key's `Debug`
/// text, cut after [`SHOWN`] characters and followed by the text's length in bytes.
#[track_caller]
fn assert_shortened(message: &str, debug: &str) {
    assert!(
        message.len() < 600,
        "a message of {} bytes: {}…",
        message.len(),
        message.chars().take(300).collect::<String>()
    );
    let shown: String = debug.chars().take(SHOWN).collect();
    let expected = format!("{shown}… ({} bytes)", debug.len());
    assert!(
        message.contains(&expected),
        "{expected:?} is not in {message:?}"
    );
}

#[tokio::test]
async fn a_huge_primary_key_is_shortened_in_every_message_that_names_it() {
    let table = WorkTable::<Note>::new();
    let key = huge('k');
    let debug = format!("{key:?}");
    table.insert(note(&key, "t")).await.unwrap();

    let error = table.insert(note(&key, "u")).await.unwrap_err();
    assert_shortened(&error.to_string(), &debug);
    let TableError::DuplicatePk { pk, .. } = error else {
        panic!("{error:?}")
    };
    assert_eq!(pk, debug, "the field holds the whole key");

    // Two bytes per character: the cut falls on a character boundary.
    let missing = huge('é');
    let error = table.delete(&missing).await.unwrap_err();
    assert_shortened(&error.to_string(), &format!("primary key {missing:?}"));
    let TableError::NotFound {
        key: looked_for, ..
    } = error
    else {
        panic!("{error:?}")
    };
    assert_eq!(looked_for, format!("primary key {missing:?}"));

    let other = huge('m');
    let error = table
        .update_with(&key, |n| n.key = other.clone())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert_shortened(&message, &debug);
    assert_shortened(&message, &format!("{other:?}"));
    let TableError::PkChanged { pk, new_pk, .. } = error else {
        panic!("{error:?}")
    };
    assert_eq!((pk, new_pk), (debug.clone(), format!("{other:?}")));

    let table = Arc::new(table);
    let guard = table.lock(&key).await.unwrap();
    let error = table.delete(&key).await.unwrap_err();
    drop(guard);
    assert_shortened(&error.to_string(), &debug);
    let TableError::LockedBySameTask { pk, .. } = error else {
        panic!("{error:?}")
    };
    assert_eq!(pk, debug);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn a_huge_unique_key_is_shortened_in_duplicate_key_and_not_found() {
    let table = WorkTable::<Note>::new();
    let title = huge('t');
    let debug = format!("{title:?}");
    table.insert(note("a", &title)).await.unwrap();

    let error = table.insert(note("b", &title)).await.unwrap_err();
    assert_shortened(&error.to_string(), &debug);
    let TableError::DuplicateKey { index, key, .. } = error else {
        panic!("{error:?}")
    };
    assert_eq!((index, key), ("title", debug));

    let missing = huge('u');
    let error = table.delete_by(Note::TITLE, &missing).await.unwrap_err();
    assert_shortened(&error.to_string(), &format!("title = {missing:?}"));
    assert_eq!(table.len(), 1);
}

#[tokio::test]
async fn short_keys_print_whole() {
    let table = WorkTable::<Note>::new();
    table.insert(note("k1", "first")).await.unwrap();
    let duplicate_pk = table.insert(note("k1", "other")).await.unwrap_err();
    assert_eq!(
        duplicate_pk.to_string(),
        r#"table `notes`: a row with primary key "k1" already exists"#
    );
    let duplicate_key = table.insert(note("k2", "first")).await.unwrap_err();
    assert_eq!(
        duplicate_key.to_string(),
        r#"table `notes`: unique index `title` already has the key "first""#
    );
    let not_found = table.delete(&"k9".to_owned()).await.unwrap_err();
    assert_eq!(
        not_found.to_string(),
        r#"table `notes`: no row with primary key "k9""#
    );

    // A `Debug` text of exactly the most a message shows is still whole; one
    // character more and it is shortened.
    let longest = "x".repeat(SHOWN - 2);
    table.insert(note(&longest, "l")).await.unwrap();
    let duplicate_pk = table.insert(note(&longest, "m")).await.unwrap_err();
    assert_eq!(
        duplicate_pk.to_string(),
        format!("table `notes`: a row with primary key {longest:?} already exists")
    );
    let too_long = "x".repeat(SHOWN - 1);
    table.insert(note(&too_long, "n")).await.unwrap();
    let duplicate_pk = table.insert(note(&too_long, "o")).await.unwrap_err();
    assert_eq!(
        duplicate_pk.to_string(),
        format!(
            "table `notes`: a row with primary key \"{}… (101 bytes) already exists",
            "x".repeat(SHOWN - 1)
        )
    );
}

#[test]
fn a_huge_key_is_shortened_in_a_restore_error() {
    let key = format!("{:?}", huge('r'));
    let error = RestoreError::DuplicateKey {
        index: "title",
        key: key.clone(),
    };
    assert_shortened(&error.to_string(), &key);
    let RestoreError::DuplicateKey { key: whole, .. } = error else {
        unreachable!()
    };
    assert_eq!(whole, key);
}
