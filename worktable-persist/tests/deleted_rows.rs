//! What a durable table's files keep of a deleted row (the crate docs'
//! "Deleted rows" section): the metadata file and the manifests never hold
//! row bytes; every frame a checkpoint writes holds zeros where no live row
//! is; a frame the current checkpoint stopped using keeps old bytes only
//! until a later checkpoint reuses it; and with `Options::secure_delete` no
//! file of the directory holds the row once a checkpoint after the delete
//! has returned.

use std::path::Path;

use worktable_core::prelude::*;
use worktable_persist::testing::meta;
use worktable_persist::testing::pages::{self, FRAME_LEN, PAGE_FILE_NAME};
use worktable_persist::testing::vfs::RealFs;
use worktable_persist::{Durability, Options, PersistentTable};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Entry {
    #[pk(autoincrement)]
    id: u64,
    #[index(unique)]
    name: String,
    text: String,
}

const SECRET: &str = "SECRET-7f3a9c1e-must-not-stay-on-disk";

/// Rows 1..=20 of filler, then row 21 holding the secret: all on page 0.
async fn fill(entries: &PersistentTable<Entry>) -> u64 {
    for i in 1..=20 {
        entries
            .insert(Entry {
                id: 0,
                name: format!("filler-{i}"),
                text: "nothing to see".into(),
            })
            .await
            .unwrap();
    }
    entries
        .insert(Entry {
            id: 0,
            name: "holder".into(),
            text: SECRET.into(),
        })
        .await
        .unwrap()
}

/// The files of `dir` that hold the secret's bytes.
fn files_with_secret(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let bytes = std::fs::read(entry.path()).unwrap();
        if bytes
            .windows(SECRET.len())
            .any(|window| window == SECRET.as_bytes())
        {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found.sort();
    found
}

/// Whether any frame the current checkpoint uses holds the secret.
fn used_frames_hold_secret(dir: &Path) -> bool {
    let stored = meta::read(&RealFs, dir, meta::FILE_NAME).unwrap();
    let manifest = std::fs::read(dir.join(pages::manifest_name(stored.page_file_generation)))
        .map(|bytes| pages::decode_manifest(&bytes).unwrap())
        .unwrap();
    let file = std::fs::read(dir.join(PAGE_FILE_NAME)).unwrap();
    manifest.pages.iter().any(|page| {
        let start = pages::frame_offset(page.frame) as usize;
        file[start..start + FRAME_LEN]
            .windows(SECRET.len())
            .any(|window| window == SECRET.as_bytes())
    })
}

fn options() -> Options {
    Options::durability(Durability::Sync)
        .checkpoint_after_log_bytes(u64::MAX)
        .checkpoint_interval(None)
}

#[tokio::test]
async fn checkpoints_write_no_deleted_row_and_reuse_the_frames_that_held_one() {
    let dir = tempfile::tempdir().unwrap();
    let entries = PersistentTable::<Entry>::open(dir.path(), options()).unwrap();
    let holder = fill(&entries).await;
    entries.checkpoint().await.unwrap();
    assert_eq!(files_with_secret(dir.path()), ["pages"]);

    entries.delete(&holder).await.unwrap();
    // Until a checkpoint after the delete, the log holds the row (the
    // delete's record carries its image).
    assert!(!files_with_secret(dir.path()).contains(&"meta".to_owned()));
    entries.checkpoint().await.unwrap();
    // The frame written for page 0 has zeros where the row was, the
    // metadata file and the manifest hold no row bytes, and the log before
    // the checkpoint is gone; the frame the previous checkpoint used may
    // still hold the row until it is reused.
    assert!(!used_frames_hold_secret(dir.path()));
    assert!(
        files_with_secret(dir.path())
            .iter()
            .all(|name| name == "pages"),
        "{:?}",
        files_with_secret(dir.path())
    );

    // The next checkpoint that rewrites page 0 reuses that frame.
    entries
        .update_with(&1, |entry| entry.text = "changed".into())
        .await
        .unwrap();
    entries.checkpoint().await.unwrap();
    assert_eq!(files_with_secret(dir.path()), Vec::<String>::new());
    entries.close().await.unwrap();
    assert_eq!(files_with_secret(dir.path()), Vec::<String>::new());

    // Nothing needed was cleared: the rows and the key generator survive.
    let entries = PersistentTable::<Entry>::open(dir.path(), options()).unwrap();
    assert_eq!(entries.len(), 20);
    let next = entries
        .insert(Entry {
            id: 0,
            name: "next".into(),
            text: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(next, holder + 1, "a deleted key is never handed out again");
    entries.close().await.unwrap();
}

#[tokio::test]
async fn with_secure_delete_no_file_holds_a_deleted_row_after_the_next_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let options = options().secure_delete(true);
    let entries = PersistentTable::<Entry>::open(dir.path(), options).unwrap();
    let holder = fill(&entries).await;
    entries.checkpoint().await.unwrap();
    entries.delete(&holder).await.unwrap();
    entries.checkpoint().await.unwrap();
    assert_eq!(files_with_secret(dir.path()), Vec::<String>::new());

    // The same through close(), whose checkpoint is the one after the
    // delete, and with rows deleted from a page that then holds none.
    let holder = entries
        .insert(Entry {
            id: 0,
            name: "again".into(),
            text: SECRET.into(),
        })
        .await
        .unwrap();
    entries.checkpoint().await.unwrap();
    entries.delete(&holder).await.unwrap();
    entries.close().await.unwrap();
    assert_eq!(files_with_secret(dir.path()), Vec::<String>::new());

    let entries = PersistentTable::<Entry>::open(dir.path(), options).unwrap();
    assert_eq!(entries.len(), 20);
    entries.close().await.unwrap();
}
