//! Event records: an event turned into an `EventRecord`, serialized with rkyv, accessed
//! and rebuilt with `ChangeEvent::from_record` is the same change (sequence number, kind,
//! key, images, byte for byte); a record whose image is not a valid row, or whose images
//! do not fit its kind, is refused with the matching `EventDecodeError`.

use worktable_core::ChangeKind::{Delete, Insert, Update};
use worktable_core::events::{ArchivedEventRecord, EventDecodeError, EventRecord};
use worktable_core::prelude::*;
use worktable_core::rkyv::{self, rancor};
use worktable_core::{ChangeEvent, ChangeKind, RowImage, Watch};

use super::{Account, account, assert_image, drain};

/// Serializes `record` with rkyv, the way a log would store it.
fn encode(record: &EventRecord) -> rkyv::util::AlignedVec {
    rkyv::to_bytes::<rancor::Error>(record).unwrap()
}

/// Rebuilds an event from stored bytes.
fn decode(bytes: &[u8]) -> Result<ChangeEvent<Account>, EventDecodeError> {
    let archived = rkyv::access::<ArchivedEventRecord, rancor::Error>(bytes).unwrap();
    ChangeEvent::from_record(archived)
}

/// A row whose strings do not fit inline in the archive.
fn wide(id: u32, balance: i64) -> Account {
    Account {
        note: "a note long enough to be stored out of line".repeat(3),
        ..account(
            id,
            &format!("code-{id}-long-enough-to-be-out-of-line"),
            3,
            balance,
        )
    }
}

/// Insert, update and delete events of a small table, and how one looks to a filtered
/// subscriber that sees it moved.
async fn events() -> (Vec<ChangeEvent<Account>>, ChangeEvent<Account>) {
    let table = WorkTable::<Account>::new();
    let mut all = table.subscribe();
    let mut team_4 = table.subscribe_to(Watch::index(Account::TEAM, 4));
    table.insert(account(1, "a", 0, 1)).await.unwrap();
    table.insert(wide(2, -5)).await.unwrap();
    table.update(wide(1, 7)).await.unwrap();
    table.update_with(&2, |row| row.team = 4).await.unwrap();
    table.delete(&1).await.unwrap();
    table.delete(&2).await.unwrap();
    let moved = drain(&mut team_4).remove(0);
    assert!(moved.moved());
    (drain(&mut all), moved)
}

fn image_bytes(image: Option<&RowImage<Account>>) -> Option<Vec<u8>> {
    image.map(|image| image.bytes().to_vec())
}

#[tokio::test]
async fn records_round_trip_through_rkyv_for_every_kind() {
    let (events, _) = events().await;
    let kinds: Vec<ChangeKind> = events.iter().map(ChangeEvent::kind).collect();
    assert_eq!(kinds, [Insert, Insert, Update, Update, Delete, Delete]);
    for event in &events {
        let record = event.to_record();
        assert_eq!(record.seq, event.seq());
        let kind_byte = match event.kind() {
            Insert => 0,
            Update => 1,
            Delete => 2,
        };
        assert_eq!(record.kind, kind_byte);
        assert_eq!(record.old, image_bytes(event.before()));
        assert_eq!(record.new, image_bytes(event.after()));

        let bytes = encode(&record);
        let archived = rkyv::access::<ArchivedEventRecord, rancor::Error>(&bytes).unwrap();
        let back = rkyv::deserialize::<EventRecord, rancor::Error>(archived).unwrap();
        assert_eq!(back, record);

        let decoded = decode(&bytes).unwrap();
        let what = format!("{event:?} decoded as {decoded:?}");
        assert_eq!(decoded.seq(), event.seq(), "{what}");
        assert_eq!(decoded.kind(), event.kind(), "{what}");
        assert_eq!(decoded.committed_kind(), event.kind(), "{what}");
        assert!(!decoded.moved(), "{what}");
        assert_eq!(decoded.pk(), event.pk(), "{what}");
        assert_eq!(image_bytes(decoded.before()), record.old, "{what}");
        assert_eq!(image_bytes(decoded.after()), record.new, "{what}");
        if let Some(before) = event.before() {
            assert_image(decoded.before().unwrap(), &before.get());
        }
        if let Some(after) = event.after() {
            assert_image(decoded.after().unwrap(), &after.get());
        }
        assert_eq!(decoded.to_record(), record);
    }
}

#[tokio::test]
async fn a_record_holds_the_change_as_committed_not_as_a_filter_saw_it() {
    let (events, moved) = events().await;
    // Seen by the team-4 watch as an insert; committed as an update.
    assert_eq!(
        (moved.kind(), moved.committed_kind()),
        (ChangeKind::Insert, ChangeKind::Update)
    );
    assert!(moved.before().is_none());
    let record = moved.to_record();
    let committed = events
        .iter()
        .find(|event| event.seq() == moved.seq())
        .unwrap();
    assert_eq!(record, committed.to_record());
    assert_eq!(record.kind, 1);
    assert!(record.old.is_some() && record.new.is_some());
    let decoded = decode(&encode(&record)).unwrap();
    assert_eq!(
        (decoded.kind(), decoded.moved()),
        (ChangeKind::Update, false)
    );
    assert_eq!(
        decoded.before().unwrap().get(),
        committed.before().unwrap().get()
    );
}

/// Decodes `record` and returns the error it must give.
fn refused(record: &EventRecord) -> EventDecodeError {
    match decode(&encode(record)) {
        Ok(event) => panic!("{record:?} decoded as {event:?}"),
        Err(error) => error,
    }
}

#[tokio::test]
async fn records_with_a_bad_image_are_refused() {
    let (events, _) = events().await;
    // The insert of the wide row 2: its image holds its code as UTF-8.
    let insert = events[1].to_record();
    let image = insert.new.clone().unwrap();
    let code = b"code-2-long-enough";
    let at = image
        .windows(code.len())
        .position(|window| window == code)
        .expect("the code is in the image");
    let mut not_utf8 = image.clone();
    not_utf8[at] = 0xFF;
    assert!(RowImage::<Account>::from_bytes(&not_utf8).is_err());

    for bad in [
        Vec::new(),
        vec![0xFF; 7],
        image[..image.len() / 2].to_vec(),
        not_utf8,
    ] {
        let mut record = insert.clone();
        record.new = Some(bad.clone());
        let error = refused(&record);
        assert!(
            matches!(error, EventDecodeError::Image(_)),
            "{bad:?}: {error:?}"
        );
        assert!(std::error::Error::source(&error).is_some());

        // A bad before image is found too, whatever the rest of the record.
        let mut record = events[4].to_record();
        record.old = Some(bad);
        assert!(matches!(refused(&record), EventDecodeError::Image(_)));
    }
}

#[tokio::test]
async fn records_whose_images_do_not_fit_their_kind_are_refused() {
    let (events, _) = events().await;
    let (insert, update, delete) = (
        events[0].to_record(),
        events[2].to_record(),
        events[4].to_record(),
    );
    let shape = |record: &EventRecord| match refused(record) {
        EventDecodeError::Shape { kind, old, new } => (kind, old, new),
        other => panic!("{record:?}: {other:?}"),
    };

    let mut record = insert.clone();
    record.new = None;
    assert_eq!(shape(&record), (0, false, false));
    assert_eq!(
        refused(&record).to_string(),
        "change record of kind 0 has old image: false, new image: false"
    );
    let mut record = insert.clone();
    record.old = update.old.clone();
    assert_eq!(shape(&record), (0, true, true));

    let mut record = update.clone();
    record.old = None;
    assert_eq!(shape(&record), (1, false, true));
    let mut record = update.clone();
    record.new = None;
    assert_eq!(shape(&record), (1, true, false));

    let mut record = delete.clone();
    record.new = insert.new.clone();
    assert_eq!(shape(&record), (2, true, true));
    let mut record = delete.clone();
    record.old = None;
    assert_eq!(shape(&record), (2, false, false));

    let mut record = update.clone();
    record.kind = 3;
    assert_eq!(shape(&record), (3, true, true));
}
