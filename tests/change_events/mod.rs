//! Change events, one promise at a time: every write produces exactly one event per
//! row it changed, with the right kind, key and row images, numbered without gaps, and
//! failed writes produce none; replaying the events of concurrent writers rebuilds the
//! table, for a subscriber as for a commit hook, and writes wait for the hook's
//! durability future; a subscriber that does not read holds at most its capacity and then
//! learns exactly how many events it missed; dropping a subscription or the table ends
//! delivery; filtered subscriptions see exactly the events their watch selects; event
//! records round-trip through rkyv and bad ones are refused; and subscribers that start
//! while writers run see an unbroken run of sequence numbers.

mod commit_hook;
mod content;
mod failures;
mod filters;
mod lagging;
mod queue_capacity;
mod records;
mod refused;
mod replay;
mod subscribe_midway;

use std::collections::BTreeMap;

use worktable_core::prelude::*;
use worktable_core::{ChangeEvent, ChangeKind, RowImage, Subscription};

use crate::concurrent::Rng;

/// A row with a unique and a non-unique index, and a free-form note (a long note makes
/// the row too large).
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "accounts")]
pub(super) struct Account {
    #[pk]
    pub(super) id: u32,
    #[index(unique)]
    pub(super) code: String,
    #[index]
    pub(super) team: u8,
    pub(super) balance: i64,
    pub(super) note: String,
}

pub(super) fn account(id: u32, code: &str, team: u8, balance: i64) -> Account {
    Account {
        id,
        code: code.to_owned(),
        team,
        balance,
        note: String::new(),
    }
}

/// Everything queued for `sub` now; a lag fails the test.
pub(super) fn drain(sub: &mut Subscription<Account>) -> Vec<ChangeEvent<Account>> {
    std::iter::from_fn(|| sub.try_next())
        .map(|item| item.expect("the subscriber never lags here"))
        .collect()
}

/// Checks that `image` holds `expected`: deserialized, read in place, and rebuilt from
/// its bytes.
pub(super) fn assert_image(image: &RowImage<Account>, expected: &Account) {
    assert_eq!(&image.get(), expected);
    let archived = image.archived();
    assert_eq!(archived.id.to_native(), expected.id);
    assert_eq!(archived.code.as_str(), expected.code);
    assert_eq!(archived.team, expected.team);
    assert_eq!(archived.balance.to_native(), expected.balance);
    assert_eq!(archived.note.as_str(), expected.note);
    let copy = RowImage::<Account>::from_bytes(image.bytes()).expect("a valid image");
    assert_eq!(copy.bytes(), image.bytes());
    assert_eq!(&copy.get(), expected);
}

/// Checks that `event` is the committed change `kind` of row `pk`, numbered `seq`, with
/// these images (and none where `None`).
pub(super) fn assert_event(
    event: &ChangeEvent<Account>,
    seq: u64,
    kind: ChangeKind,
    pk: u32,
    before: Option<&Account>,
    after: Option<&Account>,
) {
    let what = format!("{event:?}");
    assert_eq!(event.seq(), seq, "{what}");
    assert_eq!(event.kind(), kind, "{what}");
    assert_eq!(event.committed_kind(), kind, "{what}");
    assert!(!event.moved(), "{what}");
    assert_eq!(*event.pk(), pk, "{what}");
    match (event.before(), before) {
        (Some(image), Some(expected)) => assert_image(image, expected),
        (None, None) => {}
        (image, expected) => panic!("{what}: before image {image:?}, expected {expected:?}"),
    }
    match (event.after(), after) {
        (Some(image), Some(expected)) => assert_image(image, expected),
        (None, None) => {}
        (image, expected) => panic!("{what}: after image {image:?}, expected {expected:?}"),
    }
}

/// Checks that the sequence numbers of `events` follow each other without a gap.
pub(super) fn assert_contiguous(events: &[ChangeEvent<Account>]) {
    for pair in events.windows(2) {
        assert_eq!(
            pair[1].seq(),
            pair[0].seq() + 1,
            "gap or disorder between {:?} and {:?}",
            pair[0],
            pair[1]
        );
    }
}

/// Applies `events`, in the order given, to an empty map, checking each against it: an
/// insert is of an absent key, an update or a delete starts from the row the map holds.
pub(super) fn replay(events: &[ChangeEvent<Account>]) -> BTreeMap<u32, Account> {
    let mut rows = BTreeMap::new();
    for event in events {
        let pk = *event.pk();
        let before = event.before().map(RowImage::get);
        let after = event.after().map(RowImage::get);
        if let Some(row) = before.as_ref().or(after.as_ref()) {
            assert_eq!(row.id, pk, "{event:?}: image of another row");
        }
        match event.kind() {
            ChangeKind::Insert => {
                assert!(before.is_none(), "{event:?}");
                let row = after.expect("an insert has an after image");
                assert!(rows.insert(pk, row).is_none(), "{event:?}: key was live");
            }
            ChangeKind::Update => {
                let row = after.expect("an update has an after image");
                let old = rows.insert(pk, row);
                assert!(old.is_some(), "{event:?}: key was not live");
                assert_eq!(old, before, "{event:?}: before image is not the live row");
            }
            ChangeKind::Delete => {
                assert!(after.is_none(), "{event:?}");
                let old = rows.remove(&pk);
                assert!(old.is_some(), "{event:?}: key was not live");
                assert_eq!(old, before, "{event:?}: before image is not the live row");
            }
        }
    }
    rows
}

/// The table's rows by key.
pub(super) fn contents(table: &WorkTable<Account>) -> BTreeMap<u32, Account> {
    table.iter().map(|row| (row.id, row)).collect()
}

/// Keys, unique codes and teams of [`random_writes`]: few enough that writers collide.
pub(super) const PKS: u32 = 48;
pub(super) const CODES: u32 = 40;
pub(super) const TEAMS: u8 = 4;

/// `ops` random writes of overlapping keys and codes — inserts, updates, upserts,
/// `update_with` (also of the unique code and the team), deletes by key and by code,
/// `update_all_by` a team and `delete_range` — where duplicate keys and missing rows are
/// expected failures. Returns how many row changes the successful writes made.
pub(super) async fn random_writes(table: &WorkTable<Account>, seed: u64, ops: usize) -> usize {
    let mut rng = Rng::new(seed);
    let mut changed = 0;
    for _ in 0..ops {
        let pk = rng.below(PKS);
        let code = format!("c{}", rng.below(CODES));
        let team = rng.below(u32::from(TEAMS)) as u8;
        let amount = i64::from(rng.below(1000));
        let row = account(pk, &code, team, amount);
        changed += match rng.below(16) {
            0..=3 => match table.insert(row).await {
                Ok(_) => 1,
                Err(TableError::DuplicatePk { .. } | TableError::DuplicateKey { .. }) => 0,
                Err(error) => panic!("insert: {error}"),
            },
            4..=5 => match table.update(row).await {
                Ok(_) => 1,
                Err(TableError::NotFound { .. } | TableError::DuplicateKey { .. }) => 0,
                Err(error) => panic!("update: {error}"),
            },
            6..=7 => match table.delete(&pk).await {
                Ok(_) => 1,
                Err(TableError::NotFound { .. }) => 0,
                Err(error) => panic!("delete: {error}"),
            },
            8..=9 => match table.upsert(row).await {
                Ok(_) => 1,
                Err(TableError::DuplicateKey { .. }) => 0,
                Err(error) => panic!("upsert: {error}"),
            },
            10..=11 => {
                let changed = table
                    .update_with(&pk, |row| {
                        row.team = team;
                        row.balance += amount;
                    })
                    .await;
                match changed {
                    Ok(()) => 1,
                    Err(TableError::NotFound { .. }) => 0,
                    Err(error) => panic!("update_with: {error}"),
                }
            }
            12 => match table.update_with(&pk, |row| row.code = code).await {
                Ok(()) => 1,
                Err(TableError::NotFound { .. } | TableError::DuplicateKey { .. }) => 0,
                Err(error) => panic!("update_with: {error}"),
            },
            13 => match table.delete_by(Account::CODE, code.as_str()).await {
                Ok(_) => 1,
                Err(TableError::NotFound { .. }) => 0,
                Err(error) => panic!("delete_by: {error}"),
            },
            14 => table
                .update_all_by(Account::TEAM, &team, |row| row.balance -= 1)
                .await
                .expect("update_all_by of the balance cannot fail"),
            _ => table
                .delete_range(pk..pk + 2)
                .await
                .expect("delete_range cannot fail")
                .len(),
        };
    }
    changed
}

/// A subscriber to every change that checks the numbering as it reads: each write's
/// events follow the previous ones without a gap, and the last is the table's last.
pub(super) struct Observer {
    sub: Subscription<Account>,
    seq: u64,
}

impl Observer {
    pub(super) fn new(table: &WorkTable<Account>) -> Self {
        Self {
            sub: table.subscribe(),
            seq: table.last_seq(),
        }
    }

    /// The `n` events of the write that just returned.
    pub(super) fn events(
        &mut self,
        table: &WorkTable<Account>,
        n: usize,
    ) -> Vec<ChangeEvent<Account>> {
        let events = drain(&mut self.sub);
        assert_eq!(events.len(), n, "{events:?}");
        for event in &events {
            self.seq += 1;
            assert_eq!(event.seq(), self.seq, "{event:?}");
        }
        assert_eq!(table.last_seq(), self.seq);
        events
    }

    /// The one event of the write that just returned, checked as [`assert_event`] does.
    pub(super) fn one(
        &mut self,
        table: &WorkTable<Account>,
        kind: ChangeKind,
        before: Option<&Account>,
        after: Option<&Account>,
    ) {
        let pk = before.or(after).expect("an image").id;
        let event = self.events(table, 1).remove(0);
        assert_event(&event, self.seq, kind, pk, before, after);
    }

    /// Checks that the last write produced no event and took no sequence number.
    pub(super) fn nothing(&mut self, table: &WorkTable<Account>) {
        assert_eq!(self.sub.queued(), 0);
        assert!(self.sub.try_next().is_none());
        assert_eq!(table.last_seq(), self.seq);
    }
}
