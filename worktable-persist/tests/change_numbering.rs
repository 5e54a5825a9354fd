//! One numbering of a durable table's history: the sequence numbers of its
//! change events continue across a clean close, a drop without close and a
//! process kill (the kill is covered by `crash.rs`), as the log's do.

use futures::StreamExt;
use worktable_core::ChangeKind;
use worktable_core::prelude::*;
use worktable_persist::{Durability, Options, PersistentTable};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Note {
    #[pk(autoincrement)]
    id: u64,
    #[index]
    topic: u32,
    text: String,
}

fn note(topic: u32, text: &str) -> Note {
    Note {
        id: 0,
        topic,
        text: text.to_owned(),
    }
}

/// Writes 5 changes (3 inserts, an update, a delete) to a fresh table.
async fn five_changes(notes: &PersistentTable<Note>) {
    for topic in 1..=3 {
        notes.insert(note(topic, "first")).await.unwrap();
    }
    notes
        .update_with(&2, |n| n.text = "second".into())
        .await
        .unwrap();
    notes.delete(&3).await.unwrap();
    assert_eq!(notes.last_seq(), 5);
}

/// The next change after a reopen is numbered right after the last one
/// before it, and a subscriber sees that number.
async fn assert_numbering_continues(notes: &PersistentTable<Note>, last: u64) {
    assert_eq!(notes.last_seq(), last, "the reopened table's last number");
    let mut changes = notes.subscribe();
    notes.insert(note(9, "after")).await.unwrap();
    let event = changes.next().await.unwrap().unwrap();
    assert_eq!((event.seq(), event.kind()), (last + 1, ChangeKind::Insert));
    assert_eq!(notes.last_seq(), last + 1);
}

#[tokio::test]
async fn numbering_continues_after_a_clean_close() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::durability(Durability::Sync);
    let notes = PersistentTable::<Note>::open(dir.path(), options).unwrap();
    five_changes(&notes).await;
    notes.close().await.unwrap();

    let notes = PersistentTable::<Note>::open(dir.path(), options).unwrap();
    assert_numbering_continues(&notes, 5).await;
    notes.close().await.unwrap();
    // And again, across a checkpoint taken in between.
    let notes = PersistentTable::<Note>::open(dir.path(), options).unwrap();
    notes.checkpoint().await.unwrap();
    assert_numbering_continues(&notes, 6).await;
    notes.close().await.unwrap();
}

#[tokio::test]
async fn numbering_continues_after_a_drop_without_close() {
    for durability in [
        Durability::Sync,
        Durability::Periodic(std::time::Duration::from_secs(3600)),
        Durability::None,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let options = Options::durability(durability).checkpoint_interval(None);
        let notes = PersistentTable::<Note>::open(dir.path(), options).unwrap();
        five_changes(&notes).await;
        drop(notes);

        let notes = PersistentTable::<Note>::open(dir.path(), options).unwrap();
        assert_numbering_continues(&notes, 5).await;
        drop(notes);
        let notes = PersistentTable::<Note>::open(dir.path(), options).unwrap();
        assert_eq!(notes.last_seq(), 6, "{durability:?}");
        notes.close().await.unwrap();
    }
}
