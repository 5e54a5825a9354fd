// Hash indexes (`unique, hash`, in either order, on a field or a composite
// index) answer every look-up by a whole key, also in code generic over the
// index; ordered indexes of the same table still range.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_team_seat", fields(team, seat), unique, hash))]
struct Player {
    #[pk]
    id: u64,
    #[index(unique, hash)]
    email: String,
    #[index(hash, unique)]
    handle: String,
    #[index]
    score: u32,
    team: u8,
    seat: u8,
}

#[derive(Database)]
struct League {
    players: WorkTable<Player>,
}

fn player(id: u64) -> Player {
    Player {
        id,
        email: format!("p{id}@example.com"),
        handle: format!("@p{id}"),
        score: (id * 10) as u32,
        team: (id % 2) as u8,
        seat: id as u8,
    }
}

/// Any unique index, hash or ordered.
fn holder<R: Row, I: UniqueIndex<R>>(
    table: &WorkTable<R>,
    index: I,
    key: &I::Key,
) -> Option<R::Pk> {
    table.get_by(index, key).map(|row| row.pk())
}

/// Ordered indexes only.
fn lowest<R: Row, I: OrderedIndex<R>>(table: &WorkTable<R>, index: I) -> Option<R> {
    table.range_by(index, ..).next()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> worktable_core::Result<()> {
    let players = WorkTable::from_rows((1..=4).map(player))?;
    players.insert(player(5)).await?;
    assert_eq!(
        players.get_by(Player::EMAIL, "p2@example.com").unwrap().id,
        2
    );
    assert_eq!(players.get_by(Player::HANDLE, "@p3").unwrap().id, 3);
    assert_eq!(players.get_by(Player::BY_TEAM_SEAT, &(1, 5)).unwrap().id, 5);
    assert_eq!(players.find_by(Player::EMAIL, "p4@example.com").len(), 1);
    assert!(players.query().by(Player::HANDLE, "@p1").exists());
    assert_eq!(
        holder(&players, Player::EMAIL, &"p1@example.com".to_owned()),
        Some(1)
    );
    assert_eq!(holder(&players, Player::BY_TEAM_SEAT, &(0, 4)), Some(4));
    assert_eq!(lowest(&players, Player::SCORE).unwrap().id, 1);
    assert_eq!(players.range_by(Player::SCORE, 30..).count(), 3);
    assert_eq!(players.delete_by(Player::HANDLE, "@p5").await?.id, 5);
    assert_eq!(
        players
            .update_all_by(Player::EMAIL, "p1@example.com", |p| p.score = 0)
            .await?,
        1
    );
    assert_eq!(
        players
            .delete_all_by(Player::BY_TEAM_SEAT, &(0, 2))
            .await?
            .len(),
        1
    );
    let snapshot = players.snapshot();
    assert_eq!(
        snapshot.get_by(Player::EMAIL, "p3@example.com").unwrap().id,
        3
    );
    players.check_integrity().unwrap();

    let league = League::new();
    let tx = league.begin();
    tx.players.insert(player(9))?;
    assert_eq!(
        tx.players
            .get_by(Player::EMAIL, "p9@example.com")
            .unwrap()
            .id,
        9
    );
    assert_eq!(tx.players.find_by(Player::BY_TEAM_SEAT, &(1, 9)).len(), 1);
    tx.commit().await?;
    assert_eq!(league.players.get_by(Player::HANDLE, "@p9").unwrap().id, 9);
    Ok(())
}
