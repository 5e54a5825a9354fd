//! Every write error (`DuplicatePk`, `DuplicateKey`, `NotFound`, `RowTooLarge`,
//! `KeysExhausted`, `Serialize`) is returned as a typed error with a readable message, and
//! the failed write leaves no residue: no index entry, no row, no count change. Also the
//! `upsert` and autoincrement semantics around those errors.

use std::error::Error as _;
use std::fmt;

use worktable_core::prelude::*;
use worktable_core::rkyv::rancor::{Fallible, Source};
use worktable_core::{IndexStats, MAX_ROW_BYTES, PAGE_SIZE};

/// An account with a non-unique index declared before three unique ones, so that a
/// conflict on the third unique index has three entries to undo.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(
    name = "accounts",
    index(name = "by_team_role", fields(team, role), unique)
)]
struct Account {
    #[pk]
    id: u64,
    #[index]
    team: u32,
    #[index(unique)]
    email: String,
    #[index(unique)]
    handle: String,
    #[index(unique)]
    phone: u64,
    role: u8,
    balance: i64,
}

fn account(id: u64) -> Account {
    Account {
        id,
        team: (id % 3) as u32,
        email: format!("user{id}@example.com"),
        handle: format!("@user{id}"),
        phone: 5_550_000 + id,
        role: id as u8,
        balance: id as i64 * 10,
    }
}

async fn accounts() -> WorkTable<Account> {
    let table = WorkTable::new();
    for id in 1..=10 {
        table.insert(account(id)).await.unwrap();
    }
    table
}

/// Everything observable about a table: its rows in order and its statistics that do
/// not depend on slot reuse.
#[derive(Debug, PartialEq)]
struct Snapshot<R> {
    rows: Vec<R>,
    len: usize,
    /// Name, uniqueness and entry count of each index (its memory estimate
    /// follows hash-map capacity, which a rolled-back write may have grown).
    indexes: Vec<(&'static str, bool, usize)>,
    locked_rows: usize,
}

fn snapshot<R: Row + Clone>(table: &WorkTable<R>) -> Snapshot<R> {
    table.check_integrity().unwrap();
    let stats = table.stats();
    assert_eq!(stats.rows, table.len());
    Snapshot {
        rows: table.iter().collect(),
        len: table.len(),
        indexes: index_counts(&stats.indexes),
        locked_rows: stats.locked_rows,
    }
}

/// Asserts that `table` looks exactly as `before` and is internally consistent.
fn assert_unchanged<R: Row + Clone + PartialEq + fmt::Debug>(
    table: &WorkTable<R>,
    before: &Snapshot<R>,
) {
    let after = snapshot(table);
    assert_eq!(&after, before);
    assert_eq!(
        after.locked_rows, 0,
        "a failed write left a row lock behind"
    );
}

#[tokio::test]
async fn duplicate_pk_is_refused_and_changes_nothing() {
    let table = accounts().await;
    let before = snapshot(&table);
    let clash = Account {
        email: "new@example.com".to_owned(),
        handle: "@new".to_owned(),
        phone: 1,
        team: 99,
        ..account(4)
    };
    let error = table.insert(clash).await.unwrap_err();
    assert!(
        matches!(&error, TableError::DuplicatePk { table: "accounts", pk } if pk == "4"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "table `accounts`: a row with primary key 4 already exists"
    );
    assert_unchanged(&table, &before);
    assert_eq!(table.get(&4), Some(account(4)));
    assert_eq!(table.get_by(Account::EMAIL, "new@example.com"), None);
    assert!(table.find_by(Account::TEAM, &99).is_empty());
}

#[tokio::test]
async fn duplicate_key_in_the_third_unique_index_undoes_the_first_two() {
    let table = accounts().await;
    let before = snapshot(&table);
    let pages_before = table.stats().pages;

    // New team, email, handle and team/role pair; the phone is account 7's.
    let clash = Account {
        id: 100,
        team: 42,
        email: "fresh@example.com".to_owned(),
        handle: "@fresh".to_owned(),
        phone: account(7).phone,
        role: 1,
        balance: 0,
    };
    let error = table.insert(clash.clone()).await.unwrap_err();
    match &error {
        TableError::DuplicateKey { table, index, key } => {
            assert_eq!((*table, *index), ("accounts", "phone"));
            assert_eq!(key, "5550007");
        }
        other => panic!("expected DuplicateKey, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "table `accounts`: unique index `phone` already has the key 5550007"
    );

    assert_unchanged(&table, &before);
    assert_eq!(table.stats().pages, pages_before);
    assert!(!table.contains(&100));
    assert_eq!(table.get(&100), None);
    assert!(table.find_by(Account::TEAM, &42).is_empty());
    assert_eq!(table.get_by(Account::EMAIL, "fresh@example.com"), None);
    assert_eq!(table.get_by(Account::HANDLE, "@fresh"), None);
    assert_eq!(
        table.get_by(Account::PHONE, &account(7).phone),
        Some(account(7))
    );
    assert!(table.find_by(Account::BY_TEAM_ROLE, &(42, 1)).is_empty());

    // The keys the failed insert touched first are free: a row using them goes in.
    let retry = Account {
        phone: 1234,
        ..clash.clone()
    };
    assert_eq!(table.insert(retry.clone()).await.unwrap(), 100);
    assert_eq!(
        table.get_by(Account::EMAIL, "fresh@example.com"),
        Some(retry.clone())
    );
    assert_eq!(table.get_by(Account::HANDLE, "@fresh"), Some(retry.clone()));
    assert_eq!(table.find_by(Account::TEAM, &42), vec![retry.clone()]);
    assert_eq!(table.get_by(Account::BY_TEAM_ROLE, &(42, 1)), Some(retry));
    table.check_integrity().unwrap();
    assert!(
        table
            .stats()
            .indexes
            .iter()
            .all(|index| index.entries == 11)
    );
}

#[tokio::test]
async fn duplicate_key_in_a_composite_unique_index_names_the_tuple() {
    let table = accounts().await;
    let before = snapshot(&table);
    let existing = account(5);
    let clash = Account {
        id: 50,
        email: "x@example.com".to_owned(),
        handle: "@x".to_owned(),
        phone: 1,
        ..existing.clone()
    };
    let error = table.insert(clash).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "table `accounts`: unique index `by_team_role` already has the key ({}, {})",
            existing.team, existing.role
        )
    );
    // The composite index comes last: the team entry and the three unique keys the
    // insert reserved before it are all undone.
    assert_unchanged(&table, &before);
    assert_eq!(table.get_by(Account::PHONE, &1), None);
    assert_eq!(table.get_by(Account::EMAIL, "x@example.com"), None);
    assert_eq!(table.get_by(Account::HANDLE, "@x"), None);
    assert_eq!(table.find_by(Account::TEAM, &existing.team).len(), 3);
    let retry = Account {
        id: 50,
        email: "x@example.com".to_owned(),
        handle: "@x".to_owned(),
        phone: 1,
        role: 250,
        ..existing
    };
    table.insert(retry.clone()).await.unwrap();
    assert_eq!(table.get_by(Account::PHONE, &1), Some(retry));
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn duplicate_key_on_update_keeps_the_old_version_and_its_keys() {
    let table = accounts().await;
    let before = snapshot(&table);
    let old = account(3);
    // Changes the non-unique team, the first two unique keys and the composite key, and
    // takes account 8's phone.
    let clash = Account {
        team: 77,
        email: "changed@example.com".to_owned(),
        handle: "@changed".to_owned(),
        phone: account(8).phone,
        role: 200,
        balance: -5,
        ..old.clone()
    };
    let error = table.update(clash).await.unwrap_err();
    assert!(
        matches!(&error, TableError::DuplicateKey { index: "phone", key, .. } if key == "5550008"),
        "{error:?}"
    );
    assert_unchanged(&table, &before);
    assert_eq!(table.get(&3), Some(old.clone()));
    assert_eq!(
        table.get_by(Account::EMAIL, old.email.as_str()),
        Some(old.clone())
    );
    assert_eq!(
        table.get_by(Account::HANDLE, old.handle.as_str()),
        Some(old.clone())
    );
    assert_eq!(table.get_by(Account::PHONE, &old.phone), Some(old.clone()));
    assert_eq!(
        table.get_by(Account::PHONE, &account(8).phone),
        Some(account(8))
    );
    assert_eq!(table.get_by(Account::EMAIL, "changed@example.com"), None);
    assert_eq!(table.get_by(Account::HANDLE, "@changed"), None);
    assert!(table.find_by(Account::TEAM, &77).is_empty());
    assert!(table.find_by(Account::TEAM, &old.team).contains(&old));
    assert_eq!(table.get_by(Account::BY_TEAM_ROLE, &(77, 200)), None);

    // The new keys are free for another row.
    let other = Account {
        email: "changed@example.com".to_owned(),
        handle: "@changed".to_owned(),
        ..account(11)
    };
    table.insert(other).await.unwrap();
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn a_row_can_keep_its_own_unique_keys_on_update() {
    let table = accounts().await;
    let old = account(2);
    let richer = Account {
        balance: 1_000_000,
        ..old.clone()
    };
    assert_eq!(table.update(richer.clone()).await.unwrap(), old);
    assert_eq!(table.get_by(Account::PHONE, &old.phone), Some(richer));
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn missing_rows_give_not_found_naming_the_key() {
    let table = accounts().await;
    let before = snapshot(&table);

    let error = table.update(account(42)).await.unwrap_err();
    assert!(matches!(
        &error,
        TableError::NotFound { table: "accounts", key } if key == "primary key 42"
    ));
    assert_eq!(
        error.to_string(),
        "table `accounts`: no row with primary key 42"
    );

    let error = table.delete(&42).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "table `accounts`: no row with primary key 42"
    );

    let error = table
        .delete_by(Account::EMAIL, "nobody@example.com")
        .await
        .unwrap_err();
    assert!(matches!(error, TableError::NotFound { .. }));
    assert_eq!(
        error.to_string(),
        r#"table `accounts`: no row with email = "nobody@example.com""#
    );

    let error = table
        .delete_by(Account::BY_TEAM_ROLE, &(9, 9))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "table `accounts`: no row with by_team_role = (9, 9)"
    );

    // A deleted row is not found either.
    table.delete(&5).await.unwrap();
    let before_second = snapshot(&table);
    assert!(matches!(
        table.delete(&5).await,
        Err(TableError::NotFound { .. })
    ));
    assert!(matches!(
        table.update(account(5)).await,
        Err(TableError::NotFound { .. })
    ));
    assert_unchanged(&table, &before_second);
    assert_eq!(before.len, 10);
}

/// A row that is mostly one string.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "blobs")]
struct Blob {
    #[pk]
    id: u32,
    #[index(unique)]
    tag: u16,
    body: String,
}

fn blob(id: u32, body_len: usize) -> Blob {
    Blob {
        id,
        tag: id as u16,
        body: "x".repeat(body_len),
    }
}

/// The size rkyv gives the row; the table serializes with the same serializer.
fn archived_size(row: &Blob) -> usize {
    worktable_core::rkyv::to_bytes::<worktable_core::rkyv::rancor::Error>(row)
        .unwrap()
        .len()
}

/// The longest body whose row still fits in `MAX_ROW_BYTES` when archived.
fn longest_fitting_body() -> usize {
    let (mut fits, mut too_long) = (0, PAGE_SIZE);
    assert!(archived_size(&blob(0, fits)) <= MAX_ROW_BYTES);
    assert!(archived_size(&blob(0, too_long)) > MAX_ROW_BYTES);
    while too_long - fits > 1 {
        let mid = (fits + too_long) / 2;
        if archived_size(&blob(0, mid)) <= MAX_ROW_BYTES {
            fits = mid;
        } else {
            too_long = mid;
        }
    }
    fits
}

#[tokio::test]
async fn a_row_over_the_size_limit_is_refused_with_its_size() {
    let table = WorkTable::<Blob>::new();
    table.insert(blob(1, 10)).await.unwrap();
    let before = snapshot(&table);
    let pages = table.stats().pages;

    let huge = blob(2, 70_000);
    let size = archived_size(&huge);
    let error = table.insert(huge).await.unwrap_err();
    match &error {
        TableError::RowTooLarge {
            table: "blobs",
            size: reported,
            max,
        } => {
            assert_eq!(*reported, size);
            assert!(*reported > 70_000);
            assert_eq!(*max, MAX_ROW_BYTES);
        }
        other => panic!("expected RowTooLarge, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        format!(
            "table `blobs`: the row takes {size} bytes when archived, and a row can take at most 65535 bytes"
        )
    );
    assert_unchanged(&table, &before);
    assert_eq!(table.get_by(Blob::TAG, &2), None);
    assert_eq!(table.stats().pages, pages);

    // An update to an oversized version keeps the old one.
    let error = table.update(blob(1, 70_000)).await.unwrap_err();
    assert!(matches!(error, TableError::RowTooLarge { .. }));
    assert_unchanged(&table, &before);
    assert_eq!(table.get(&1), Some(blob(1, 10)));
}

#[tokio::test]
async fn the_size_limit_is_exact_to_the_byte() {
    let table = WorkTable::<Blob>::new();
    let longest = longest_fitting_body();
    let fitting = blob(1, longest);
    let over = blob(2, longest + 1);
    assert!(archived_size(&fitting) <= MAX_ROW_BYTES);
    assert!(archived_size(&over) > MAX_ROW_BYTES);

    table.insert(fitting.clone()).await.unwrap();
    assert_eq!(table.get(&1), Some(fitting.clone()));
    let error = table.insert(over.clone()).await.unwrap_err();
    assert!(
        matches!(error, TableError::RowTooLarge { size, max, .. }
            if size == archived_size(&over) && max == MAX_ROW_BYTES),
        "{error:?}"
    );

    // Two rows of the largest size each take a page; both read back whole.
    table.insert(blob(3, longest)).await.unwrap();
    assert_eq!(table.get(&3), Some(blob(3, longest)));
    assert_eq!(table.get(&1), Some(fitting));
    assert_eq!(table.len(), 2);
    assert!(table.stats().pages >= 2);
    table.check_integrity().unwrap();
}

/// A tiny table: a `u8` key runs out after 255 rows.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "tiny")]
struct Tiny {
    #[pk(autoincrement)]
    id: u8,
    #[index(unique)]
    label: String,
}

fn tiny(label: &str) -> Tiny {
    Tiny {
        id: 0,
        label: label.to_owned(),
    }
}

#[tokio::test]
async fn an_autoincrement_key_reports_exhaustion_and_stores_nothing() {
    let table = WorkTable::<Tiny>::new();
    for n in 1..=255u8 {
        assert_eq!(table.insert(tiny(&format!("t{n}"))).await.unwrap(), n);
    }
    assert_eq!(table.len(), 255);
    let before = snapshot(&table);

    for attempt in 0..3 {
        let error = table.insert(tiny("one too many")).await.unwrap_err();
        assert!(
            matches!(error, TableError::KeysExhausted { table: "tiny" }),
            "attempt {attempt}: {error:?}"
        );
        assert_eq!(
            error.to_string(),
            "table `tiny`: the primary-key generator has no keys left"
        );
        assert_unchanged(&table, &before);
        assert_eq!(table.get_by(Tiny::LABEL, "one too many"), None);
    }
    assert_eq!(table.len(), 255);

    // A deleted key is not handed out again, but upsert can still store it.
    table.delete(&7).await.unwrap();
    assert!(matches!(
        table.insert(tiny("again")).await,
        Err(TableError::KeysExhausted { .. })
    ));
    assert_eq!(
        table
            .upsert(Tiny {
                id: 7,
                label: "back".to_owned()
            })
            .await
            .unwrap(),
        None
    );
    assert_eq!(table.len(), 255);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn upsert_inserts_or_replaces_and_returns_the_replaced_row() {
    let table = accounts().await;
    assert_eq!(table.upsert(account(11)).await.unwrap(), None);
    assert_eq!(table.get(&11), Some(account(11)));
    assert_eq!(table.len(), 11);

    let changed = Account {
        email: "eleven@example.com".to_owned(),
        team: 50,
        ..account(11)
    };
    assert_eq!(
        table.upsert(changed.clone()).await.unwrap(),
        Some(account(11))
    );
    assert_eq!(table.get(&11), Some(changed.clone()));
    assert_eq!(
        table.get_by(Account::EMAIL, account(11).email.as_str()),
        None
    );
    assert_eq!(
        table.get_by(Account::EMAIL, "eleven@example.com"),
        Some(changed.clone())
    );
    assert_eq!(table.find_by(Account::TEAM, &50), vec![changed]);
    assert_eq!(table.len(), 11);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn upsert_with_a_taken_unique_key_fails_on_both_paths_and_changes_nothing() {
    let table = accounts().await;
    let before = snapshot(&table);

    // Insert path: a new primary key with account 2's handle.
    let new_row = Account {
        handle: account(2).handle,
        ..account(20)
    };
    let error = table.upsert(new_row).await.unwrap_err();
    assert!(
        matches!(
            &error,
            TableError::DuplicateKey {
                index: "handle",
                ..
            }
        ),
        "{error:?}"
    );
    assert_unchanged(&table, &before);
    assert!(!table.contains(&20));
    assert_eq!(
        table.get_by(Account::EMAIL, account(20).email.as_str()),
        None
    );

    // Update path: account 3 takes account 2's email.
    let existing = Account {
        email: account(2).email,
        team: 60,
        ..account(3)
    };
    let error = table.upsert(existing).await.unwrap_err();
    assert!(
        matches!(&error, TableError::DuplicateKey { index: "email", .. }),
        "{error:?}"
    );
    assert_unchanged(&table, &before);
    assert_eq!(table.get(&3), Some(account(3)));
    assert!(table.find_by(Account::TEAM, &60).is_empty());
}

/// Rows with a table-assigned key.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Ticket {
    #[pk(autoincrement)]
    id: u64,
    #[index(unique)]
    title: String,
}

fn ticket(id: u64, title: &str) -> Ticket {
    Ticket {
        id,
        title: title.to_owned(),
    }
}

#[tokio::test]
async fn autoincrement_ignores_the_given_key_and_skips_upserted_ones() {
    let table = WorkTable::<Ticket>::new();
    assert_eq!(table.insert(ticket(555, "a")).await.unwrap(), 1);
    assert_eq!(table.insert(ticket(1, "b")).await.unwrap(), 2);
    assert_eq!(table.get(&1), Some(ticket(1, "a")));
    assert!(!table.contains(&555));

    assert_eq!(table.upsert(ticket(100, "c")).await.unwrap(), None);
    assert_eq!(table.get(&100), Some(ticket(100, "c")));
    assert_eq!(table.insert(ticket(0, "d")).await.unwrap(), 101);

    // An upsert below the counter does not move it back.
    assert_eq!(table.upsert(ticket(50, "e")).await.unwrap(), None);
    assert_eq!(table.insert(ticket(0, "f")).await.unwrap(), 102);

    // A failed insert burns its key (documented) but stores nothing.
    let before = snapshot(&table);
    assert!(matches!(
        table.insert(ticket(0, "a")).await,
        Err(TableError::DuplicateKey { index: "title", .. })
    ));
    assert_unchanged(&table, &before);
    assert_eq!(table.insert(ticket(0, "g")).await.unwrap(), 104);
    assert_eq!(
        table.iter().map(|t| t.id).collect::<Vec<_>>(),
        [1, 2, 50, 100, 101, 102, 104]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_inserts_of_one_unique_key_have_exactly_one_winner() {
    let table = std::sync::Arc::new(WorkTable::<Ticket>::new());
    for round in 0..20 {
        let title = format!("race {round}");
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let table = table.clone();
                let title = title.clone();
                tokio::spawn(async move { table.insert(ticket(0, &title)).await })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => winners += 1,
                Err(TableError::DuplicateKey { index: "title", .. }) => {}
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        assert_eq!(winners, 1, "round {round}");
        assert_eq!(table.find_by(Ticket::TITLE, title.as_str()).len(), 1);
    }
    assert_eq!(table.len(), 20);
    table.check_integrity().unwrap();
}

/// A `u32` whose rkyv serialization refuses `u32::MAX`, to make a row fail to serialize.
/// `Archive` and `Deserialize` are derived; only `Serialize` is written by hand.
#[derive(Archive, Deserialize, Clone, Copy, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Refusing(u32);

#[derive(Debug)]
struct RefusedValue;

impl fmt::Display for RefusedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("u32::MAX is refused")
    }
}

impl std::error::Error for RefusedValue {}

impl<S: Fallible + ?Sized> Serialize<S> for Refusing
where
    S::Error: Source,
{
    fn serialize(&self, _: &mut S) -> Result<Self::Resolver, S::Error> {
        if self.0 == u32::MAX {
            Err(S::Error::new(RefusedValue))
        } else {
            Ok(RefusingResolver(()))
        }
    }
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "meters")]
struct Meter {
    #[pk]
    id: u32,
    #[index(unique)]
    serial: String,
    reading: Refusing,
}

#[tokio::test]
async fn a_serialization_failure_is_a_typed_error_with_its_source() {
    let table = WorkTable::<Meter>::new();
    let good = Meter {
        id: 1,
        serial: "M-1".to_owned(),
        reading: Refusing(5),
    };
    table.insert(good.clone()).await.unwrap();
    assert_eq!(table.get(&1), Some(good.clone()));
    let before = snapshot(&table);

    let bad = Meter {
        id: 2,
        serial: "M-2".to_owned(),
        reading: Refusing(u32::MAX),
    };
    let error = table.insert(bad).await.unwrap_err();
    assert!(
        matches!(
            error,
            TableError::Serialize {
                table: "meters",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "table `meters`: the row could not be serialized"
    );
    let source = error.source().expect("Serialize errors chain rkyv's error");
    assert!(
        source.to_string().contains("u32::MAX is refused"),
        "source: {source}"
    );
    assert_unchanged(&table, &before);
    assert_eq!(table.get_by(Meter::SERIAL, "M-2"), None);

    // On update the old version stays.
    let error = table
        .update(Meter {
            reading: Refusing(u32::MAX),
            serial: "M-1b".to_owned(),
            ..good.clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(error, TableError::Serialize { .. }));
    assert_unchanged(&table, &before);
    assert_eq!(table.get_by(Meter::SERIAL, "M-1"), Some(good));
    assert_eq!(table.get_by(Meter::SERIAL, "M-1b"), None);
}

#[test]
fn errors_are_std_errors_that_are_send_and_sync() {
    fn check<E: std::error::Error + Send + Sync + 'static>() {}
    check::<TableError>();
    let boxed: Box<dyn std::error::Error + Send + Sync> =
        Box::new(TableError::KeysExhausted { table: "t" });
    assert!(boxed.source().is_none());
}

fn index_counts(indexes: &[IndexStats]) -> Vec<(&'static str, bool, usize)> {
    indexes
        .iter()
        .map(|index| (index.name, index.unique, index.entries))
        .collect()
}
