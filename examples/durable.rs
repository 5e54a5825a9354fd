//! A durable table: writes that survive a crash, a checkpoint, recovery, a
//! change feed resumed from a saved sequence number, and a migration to a
//! changed row type.
//!
//! `cargo run --example durable` (the table lives in a temporary directory).

use futures::StreamExt;
use worktable_core::prelude::*;
use worktable_persist::{Durability, Health, Options, PersistentTable, ReadOnlyTable};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "accounts")]
struct Account {
    #[pk(autoincrement)]
    id: u64,
    #[index(unique)]
    owner: String,
    balance: i64,
}

/// The next version of the row type: one more field.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "accounts")]
struct AccountV2 {
    #[pk(autoincrement)]
    id: u64,
    #[index(unique)]
    owner: String,
    balance: i64,
    #[index]
    currency: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let options = Options::durability(Durability::Sync);

    // Every write returns once its change is synced to the log; writers
    // running at the same time share one sync.
    let accounts = PersistentTable::<Account>::open(dir.path(), options)?;
    let ada = accounts
        .insert(Account {
            id: 0,
            owner: "ada".into(),
            balance: 100,
        })
        .await?;
    let bob = accounts
        .insert(Account {
            id: 0,
            owner: "bob".into(),
            balance: 50,
        })
        .await?;
    let report = accounts.checkpoint().await?;
    println!(
        "checkpoint at change {}: {} rows in {} pages",
        report.seq, report.rows, report.pages
    );

    // A consumer of the change feed saves the number of the last change it
    // processed.
    let saved_seq = accounts.last_seq();
    // Changes after the checkpoint live in the log until the next one.
    accounts.update_with(&ada, |a| a.balance -= 30).await?;
    accounts.delete(&bob).await?;
    // Dropped without `close`, as a crash would: nothing acknowledged is
    // lost.
    drop(accounts);

    let accounts = PersistentTable::<Account>::open(dir.path(), options)?;
    assert!(matches!(accounts.health(), Health::Healthy));
    let recovered = accounts
        .get_by(Account::OWNER, "ada")
        .expect("ada survived");
    println!("after reopening: {recovered:?}, {} row(s)", accounts.len());
    assert_eq!(recovered.balance, 70);
    assert!(accounts.get(&bob).is_none());

    // The numbering continues across the reopen, and the consumer resumes
    // where it stopped: the log's changes after its number, then live ones.
    let mut feed = accounts.subscribe_from(saved_seq).await?;
    for _ in 0..2 {
        let event = feed.next().await.expect("the feed is open")?;
        println!(
            "resumed feed: change {} is a {:?} of account {}",
            event.seq(),
            event.kind(),
            event.pk()
        );
    }
    drop(feed);
    // `close` syncs the log and takes a checkpoint: the next open replays
    // nothing.
    accounts.close().await?;

    // Read without writing anything (a backup, a read-only mount): every
    // write is refused.
    let copy = ReadOnlyTable::<Account>::open(dir.path())?;
    println!("read-only: {} accounts", copy.len());
    assert!(copy.delete(&1).await.is_err());
    drop(copy);

    // A changed row type does not open the old files by accident...
    assert!(PersistentTable::<AccountV2>::open(dir.path(), options).is_err());
    // ...but a migration converts every row once, atomically.
    let accounts =
        PersistentTable::<AccountV2>::open_migrating::<Account>(dir.path(), options, |old| {
            AccountV2 {
                id: old.id,
                owner: old.owner,
                balance: old.balance,
                currency: "EUR".into(),
            }
        })?;
    println!(
        "migrated: {:?}",
        accounts.find_by(AccountV2::CURRENCY, "EUR")
    );
    // Keys of deleted rows are never handed out again.
    let carol = accounts
        .insert(AccountV2 {
            id: 0,
            owner: "carol".into(),
            balance: 0,
            currency: "EUR".into(),
        })
        .await?;
    println!("carol gets key {carol} (bob's {bob} stays retired)");
    assert!(carol > bob);
    accounts.close().await?;
    Ok(())
}
