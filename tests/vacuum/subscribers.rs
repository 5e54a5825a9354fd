//! Moving rows is not a change: subscribers of every kind receive nothing from a vacuum,
//! the commit hook is not called, no sequence number is taken, and the next real change
//! carries the row as it was before the move.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use worktable_core::events::{CommitHook, Durable, Refusal};
use worktable_core::prelude::*;
use worktable_core::{ChangeEvent, ChangeKind, Subscription, Watch};

use super::{Doc, contents, doc, payload_for_slot, reclaim, vacuum_now};

/// Counts the changes handed to it.
#[derive(Default)]
struct Counter(AtomicUsize);

impl CommitHook<Doc> for Counter {
    fn on_commit(&self, _event: &ChangeEvent<Doc>) -> Result<Option<Durable>, Refusal> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(None)
    }
}

fn assert_silent(sub: &mut Subscription<Doc>, what: &str) {
    assert_eq!(sub.queued(), 0, "{what}");
    if let Some(item) = sub.try_next() {
        panic!("{what} received {item:?} from a vacuum");
    }
}

#[tokio::test]
async fn moves_reach_no_subscriber_and_no_commit_hook_and_take_no_sequence_number() {
    const ROWS: u32 = 2_000;
    let payload = payload_for_slot(512);
    let hook = Arc::new(Counter::default());
    let table = Arc::new(WorkTable::<Doc>::with_commit_hook(
        Arc::clone(&hook) as Arc<dyn CommitHook<Doc>>
    ));
    for id in 0..ROWS {
        table.insert(doc(id, 0, payload)).await.unwrap();
    }
    for id in (0..ROWS).filter(|id| id % 4 != 0) {
        table.delete(&id).await.unwrap();
    }
    let sparse = reclaim(&table);
    let before = contents(&table);
    let seq = table.last_seq();
    assert_eq!(seq, u64::from(ROWS + ROWS * 3 / 4));
    assert_eq!(hook.0.load(Ordering::Relaxed), seq as usize);

    // A row near the end of the table: its page is emptied, so it moves.
    let watched = ROWS - 4;
    let mut all = table.subscribe();
    let mut key = table.subscribe_to(Watch::key(watched));
    let mut range = table.subscribe_to(Watch::range(ROWS / 2..));
    let mut shelf = table.subscribe_to(Watch::index(Doc::SHELF, before[&watched].shelf));

    let report = vacuum_now(&table);
    let packed = reclaim(&table);
    assert!(report.rows_moved > 0, "{report:?}");
    assert!(packed.pages < sparse.pages, "{packed}");
    assert_eq!(contents(&table), before);

    assert_silent(&mut all, "a subscriber to every change");
    assert_silent(&mut key, "a subscriber to one key");
    assert_silent(&mut range, "a subscriber to a key range");
    assert_silent(&mut shelf, "a subscriber to an index key");
    assert_eq!(table.last_seq(), seq);
    assert_eq!(hook.0.load(Ordering::Relaxed), seq as usize);

    // The next change is numbered right after the last one, and shows the row as it was
    // written, not as the vacuum left it.
    let next = doc(watched, 2, payload / 2);
    table.update(next.clone()).await.unwrap();
    for (sub, what) in [(&mut all, "all"), (&mut key, "key"), (&mut range, "range")] {
        let event = sub.try_next().expect(what).expect(what);
        assert_eq!(event.seq(), seq + 1, "{what}");
        assert_eq!(event.kind(), ChangeKind::Update, "{what}");
        assert_eq!(event.before().unwrap().get(), before[&watched], "{what}");
        assert_eq!(event.after().unwrap().get(), next, "{what}");
        assert_silent(sub, what);
    }
    // The update moved the row off the watched shelf (the shelf changes every other
    // version): the shelf's subscriber sees it leave.
    assert_ne!(next.shelf, before[&watched].shelf);
    let left = shelf.try_next().unwrap().unwrap();
    assert_eq!(
        (left.seq(), left.kind(), left.moved()),
        (seq + 1, ChangeKind::Delete, true)
    );
    assert_eq!(hook.0.load(Ordering::Relaxed), seq as usize + 1);
    table.check_integrity().unwrap();
}
