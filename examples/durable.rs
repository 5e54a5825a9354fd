//! A durable table: writes that survive a crash, a checkpoint, recovery, a
//! change feed resumed from a saved sequence number, and a migration to a
//! changed row type. Then a durable database: two tables in one directory
//! and one log, and a transaction over both that survives a crash whole.
//!
//! `cargo run --example durable` (the table lives in a temporary directory).
//! `cargo run --example durable -- DIR` keeps the database in `DIR` (new or
//! empty), to look at with `cargo run -p worktable-cli -- inspect DIR`.

use futures::StreamExt;
use worktable_core::prelude::*;
use worktable_persist::{
    Durability, DurableDatabase, Health, Options, PersistentTable, ReadOnlyTable,
};

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

/// A ledger entry, for the database part.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Entry {
    #[pk(autoincrement)]
    id: u64,
    #[index]
    account: u64,
    amount: i64,
}

/// Two tables kept together: one directory, one log, one checkpoint.
#[derive(Database)]
struct Bank {
    accounts: WorkTable<Account>,
    ledger: WorkTable<Entry>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    table().await?;
    database().await
}

/// A durable database: a transaction over two tables is one unit of the
/// log, applied whole or not at all after a crash.
async fn database() -> Result<(), Box<dyn std::error::Error>> {
    let temporary = tempfile::tempdir()?;
    let kept = std::env::args_os().nth(1).map(std::path::PathBuf::from);
    if let Some(dir) = &kept
        && dir
            .read_dir()
            .is_ok_and(|mut entries| entries.next().is_some())
    {
        return Err(format!(
            "{} is not empty: give a new or empty directory",
            dir.display()
        )
        .into());
    }
    let dir = kept.as_deref().unwrap_or(temporary.path());
    let options = Options::durability(Durability::Sync);
    let bank = DurableDatabase::<Bank>::open(dir, options)?;
    let ada = bank
        .accounts
        .insert(Account {
            id: 0,
            owner: "ada".into(),
            balance: 100,
        })
        .await?;
    let bob = bank
        .accounts
        .insert(Account {
            id: 0,
            owner: "bob".into(),
            balance: 0,
        })
        .await?;
    // Returns once the whole transaction is synced to the one log.
    bank.transaction(|tx| async move {
        tx.accounts.update_with(&ada, |a| a.balance -= 25)?;
        tx.accounts.update_with(&bob, |a| a.balance += 25)?;
        tx.ledger.insert(Entry {
            id: 0,
            account: ada,
            amount: -25,
        })?;
        Ok::<_, TableError>(())
    })
    .await?;
    println!(
        "database: transfer committed as change {}",
        bank.last_commit()
    );
    // As a crash would: the transaction is in the log, whole.
    drop(bank);

    let bank = DurableDatabase::<Bank>::open(dir, options)?;
    let balances: Vec<(String, i64)> = bank.accounts.iter().map(|a| (a.owner, a.balance)).collect();
    println!(
        "database after reopening: {balances:?}, {} ledger entr{}",
        bank.ledger.len(),
        if bank.ledger.len() == 1 { "y" } else { "ies" }
    );
    assert_eq!(balances, [("ada".to_owned(), 75), ("bob".to_owned(), 25)]);
    assert_eq!(bank.ledger.find_by(Entry::ACCOUNT, &ada).len(), 1);
    // One checkpoint covers both tables at one commit number.
    let report = bank.checkpoint().await?;
    println!(
        "database checkpoint at change {}: {} rows over both tables",
        report.seq, report.rows
    );
    bank.close().await?;
    if let Some(dir) = kept {
        println!(
            "the database stays in {0}: cargo run -p worktable-cli -- inspect {0}",
            dir.display()
        );
    }
    Ok(())
}

/// A durable table on its own.
async fn table() -> Result<(), Box<dyn std::error::Error>> {
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
