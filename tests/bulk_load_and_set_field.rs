//! `WorkTable::from_rows` builds the same table as inserting the rows one by one (on the
//! calling thread for a few rows, on threads of its own for many), refuses duplicate keys
//! with typed errors, and leaves a table every write works on; `set_field` changes exactly
//! one field (copying the row's bytes for a field in no index, re-indexing an indexed one),
//! reports like any update, and never shows a reader a torn row.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use worktable_core::prelude::*;
use worktable_core::{ChangeKind, OrderedF64};
use worktable_persist::{Options, PersistentTable};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_team_level", fields(team, level)))]
struct Player {
    #[pk]
    id: u64,
    #[index(unique)]
    handle: String,
    #[index]
    team: u16,
    level: u8,
    score: i64,
    ratio: OrderedF64,
    active: bool,
    mark: char,
    /// Short names are stored inline in the archive, long ones out of line.
    bio: String,
}

fn player(id: u64) -> Player {
    Player {
        id,
        handle: format!("p{:05}", (id * 7_919) % 100_003),
        team: (id % 13) as u16,
        level: (id % 5) as u8,
        score: id as i64 * 10 - 500,
        ratio: OrderedF64::from(id as f64 / 3.0),
        active: id.is_multiple_of(2),
        mark: char::from(b'a' + (id % 26) as u8),
        bio: "x".repeat((id % 40) as usize),
    }
}

fn players(n: u64) -> Vec<Player> {
    // Out of key order, so that the load sorts.
    (0..n).map(|i| (i * 7_907) % n + 1).map(player).collect()
}

async fn inserted_one_by_one(rows: &[Player]) -> WorkTable<Player> {
    let table = WorkTable::new();
    for row in rows {
        table.insert(row.clone()).await.unwrap();
    }
    table
}

fn assert_same_tables(loaded: &WorkTable<Player>, inserted: &WorkTable<Player>) {
    loaded.check_integrity().unwrap();
    assert_eq!(loaded.len(), inserted.len());
    assert_eq!(
        loaded.iter().collect::<Vec<_>>(),
        inserted.iter().collect::<Vec<_>>()
    );
    for row in inserted.iter() {
        assert_eq!(loaded.get(&row.id).as_ref(), Some(&row));
        assert_eq!(
            loaded.get_by(Player::HANDLE, &row.handle).as_ref(),
            Some(&row)
        );
    }
    for team in 0..13 {
        assert_eq!(
            loaded.find_by(Player::TEAM, &team),
            inserted.find_by(Player::TEAM, &team)
        );
        assert_eq!(
            loaded.find_by(Player::BY_TEAM_LEVEL, &(team, 2)),
            inserted.find_by(Player::BY_TEAM_LEVEL, &(team, 2))
        );
    }
}

#[tokio::test]
async fn from_rows_builds_the_table_inserts_build() {
    // 300 rows build on the calling thread, 9,000 on threads of their own.
    for n in [0, 1, 300, 9_000] {
        let rows = players(n);
        let loaded = WorkTable::from_rows(rows.clone()).unwrap();
        assert_same_tables(&loaded, &inserted_one_by_one(&rows).await);
        assert_eq!(loaded.last_seq(), 0);
    }
}

#[tokio::test]
async fn a_loaded_table_takes_every_write() {
    let loaded = WorkTable::from_rows(players(5_000)).unwrap();
    let mut changes = loaded.subscribe();
    loaded.insert(player(5_001)).await.unwrap();
    let duplicate = loaded
        .insert(Player {
            id: 6_000,
            ..player(10)
        })
        .await;
    assert!(matches!(
        duplicate,
        Err(TableError::DuplicateKey {
            index: "handle",
            ..
        })
    ));
    loaded.update_with(&7, |p| p.team = 12).await.unwrap();
    loaded.delete(&8).await.unwrap();
    assert!(loaded.find_by(Player::TEAM, &12).iter().any(|p| p.id == 7));
    assert!(loaded.get(&8).is_none());
    let kinds: Vec<ChangeKind> = std::iter::from_fn(|| changes.try_next())
        .map(|event| event.unwrap().kind())
        .collect();
    assert_eq!(
        kinds,
        [ChangeKind::Insert, ChangeKind::Update, ChangeKind::Delete]
    );
    loaded.check_integrity().unwrap();
}

#[test]
fn from_rows_refuses_duplicate_keys() {
    for n in [50, 6_000] {
        let mut rows = players(n);
        rows.push(Player {
            handle: "fresh".into(),
            ..player(n / 2)
        });
        match WorkTable::from_rows(rows) {
            Err(TableError::DuplicatePk {
                table: "player",
                pk,
            }) => assert_eq!(pk, format!("{}", n / 2)),
            other => panic!("expected DuplicatePk, got {other:?}"),
        }
        let mut rows = players(n);
        rows.push(Player {
            id: n + 1,
            ..player(3)
        });
        match WorkTable::from_rows(rows) {
            Err(TableError::DuplicateKey { index, key, .. }) => {
                assert_eq!((index, key), ("handle", format!("{:?}", player(3).handle)))
            }
            other => panic!("expected DuplicateKey, got {other:?}"),
        }
    }
}

#[test]
fn from_rows_refuses_a_row_too_large() {
    let mut rows = players(10);
    rows[4].bio = "y".repeat(worktable_core::MAX_ROW_BYTES + 1);
    assert!(matches!(
        WorkTable::from_rows(rows),
        Err(TableError::RowTooLarge { .. })
    ));
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Note {
    #[pk(autoincrement)]
    id: u64,
    text: String,
}

#[tokio::test]
async fn from_rows_assigns_generated_keys() {
    let notes = (0..5_000).map(|i| Note {
        id: 0,
        text: format!("note {i}"),
    });
    let table = WorkTable::from_rows(notes).unwrap();
    let keys: Vec<u64> = table.iter().map(|note| note.id).collect();
    assert_eq!(keys, (1..=5_000).collect::<Vec<_>>());
    assert_eq!(table.get(&1).unwrap().text, "note 0");
    let next = table
        .insert(Note {
            id: 0,
            text: "next".into(),
        })
        .await
        .unwrap();
    assert_eq!(next, 5_001);
}

#[tokio::test]
async fn set_field_changes_one_field_and_reports_an_update() {
    let table = WorkTable::from_rows(players(200)).unwrap();
    let mut changes = table.subscribe();
    for id in 1..=200 {
        let before = player(id);
        assert_eq!(
            table.set_field(&id, Player::SCORE, -1).await.unwrap(),
            before.score
        );
        assert_eq!(
            table
                .set_field(&id, Player::ACTIVE, !before.active)
                .await
                .unwrap(),
            before.active
        );
        assert_eq!(
            table.set_field(&id, Player::MARK, 'Ω').await.unwrap(),
            before.mark
        );
        let ratio = OrderedF64::from(f64::NAN);
        assert_eq!(
            table.set_field(&id, Player::RATIO, ratio).await.unwrap(),
            before.ratio
        );
        let expected = Player {
            score: -1,
            active: !before.active,
            mark: 'Ω',
            ratio,
            ..before
        };
        assert_eq!(table.get(&id).unwrap(), expected);
        assert_eq!(table.read(&id, |p| p.score.to_native()), Some(-1));
    }
    let first = changes.try_next().unwrap().unwrap();
    assert_eq!((first.kind(), *first.pk()), (ChangeKind::Update, 1));
    assert_eq!(first.before().unwrap().get().score, player(1).score);
    assert_eq!(first.after().unwrap().get().score, -1);
    assert_eq!(table.last_seq(), 800);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn set_field_on_an_indexed_field_reindexes() {
    let table = WorkTable::from_rows(players(100)).unwrap();
    assert_eq!(
        table.set_field(&5, Player::TEAM, 40).await.unwrap(),
        player(5).team
    );
    assert_eq!(
        table
            .find_by(Player::TEAM, &40)
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        [5]
    );
    // `level` is only in the composite index.
    table.set_field(&5, Player::LEVEL, 9).await.unwrap();
    assert_eq!(table.find_by(Player::BY_TEAM_LEVEL, &(40, 9)).len(), 1);
    assert!(
        table
            .find_by(Player::BY_TEAM_LEVEL, &(40, player(5).level))
            .is_empty()
    );
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn set_field_errors_leave_the_row_alone() {
    let table = WorkTable::from_rows(players(10)).unwrap();
    let missing = table.set_field(&99, Player::SCORE, 1).await;
    assert!(matches!(missing, Err(TableError::NotFound { .. })));
    let pk = table.set_field(&3, Player::ID, 4_000).await;
    assert!(matches!(pk, Err(TableError::PkChanged { .. })));
    assert_eq!(table.get(&3).unwrap(), player(3));
    assert!(table.get(&4_000).is_none());
    assert_eq!(table.last_seq(), 0);
    table.check_integrity().unwrap();
}

#[test]
fn readers_never_see_a_torn_row_while_fields_are_set() {
    const ROWS: u64 = 64;
    let table = Arc::new(WorkTable::from_rows(players(ROWS)).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (table, stop) = (table.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Acquire) {
                for id in 1..=ROWS {
                    let row = table.get(&id).unwrap();
                    // Every field but `score` is as loaded; `score` is one the writers wrote.
                    assert_eq!(
                        Player {
                            score: player(id).score,
                            ..row.clone()
                        },
                        player(id)
                    );
                    assert!(row.score == player(id).score || row.score % 1_000 == id as i64);
                    reads += 1;
                }
            }
            reads
        })
    };
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let table = table.clone();
            std::thread::spawn(move || {
                futures::executor::block_on(async {
                    for round in 0..300i64 {
                        for id in 1..=ROWS {
                            let score = (round * 2 + w) * 1_000 + id as i64;
                            table.set_field(&id, Player::SCORE, score).await.unwrap();
                        }
                    }
                })
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    stop.store(true, Ordering::Release);
    assert!(reader.join().unwrap() > 0);
    table.check_integrity().unwrap();
    for id in 1..=ROWS {
        let score = table.get(&id).unwrap().score;
        assert!(
            score / 1_000 >= 598,
            "row {id}: the last round's write, got {score}"
        );
    }
}

#[tokio::test]
async fn set_field_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::default();
    let table = PersistentTable::<Player>::open(dir.path(), options).unwrap();
    for id in 1..=20 {
        table.insert(player(id)).await.unwrap();
    }
    table.checkpoint().await.unwrap();
    table.set_field(&4, Player::SCORE, 77).await.unwrap();
    table.set_field(&6, Player::TEAM, 30).await.unwrap();
    drop(table);
    let table = PersistentTable::<Player>::open(dir.path(), options).unwrap();
    assert_eq!(
        table.get(&4).unwrap(),
        Player {
            score: 77,
            ..player(4)
        }
    );
    assert_eq!(
        table
            .find_by(Player::TEAM, &30)
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        [6]
    );
    table.check_integrity().unwrap();
    table.close().await.unwrap();
}
