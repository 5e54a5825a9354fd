//! What the replica tests share: the database they replicate, a seeded
//! workload of single writes and transactions, and the comparison of two
//! databases row by row and index by index.
#![allow(dead_code, unreachable_pub)] // each test file uses its own part

use std::collections::BTreeSet;
use std::time::Duration;

use std::sync::Arc;
use worktable_core::TxError;
use worktable_core::prelude::*;

use worktable_persist::{Durability, DurableDatabase, Options};
use worktable_replica::{Publisher, PublisherOptions, Replica, ReplicaOptions};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub struct Account {
    #[pk]
    pub id: u32,
    #[index(unique)]
    pub email: String,
    #[index]
    pub branch: u8,
    pub balance: i64,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub struct Entry {
    #[pk(autoincrement)]
    pub id: u64,
    #[index]
    pub account: u32,
    pub amount: i64,
}

#[derive(Database)]
pub struct Shop {
    pub accounts: WorkTable<Account>,
    pub ledger: WorkTable<Entry>,
}

/// Synced commits; checkpoints only when asked.
pub fn options() -> Options {
    Options::durability(Durability::Sync)
}

/// A bound on every wait of a test.
pub const WAIT: Duration = Duration::from_secs(60);

/// A small seeded generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const IDS: u64 = 64;

/// Runs `steps` random operations on `shop`: inserts, updates of plain and
/// indexed fields, deletes, and transactions across both tables. Returns
/// how many operations committed.
pub async fn workload(shop: &Shop, rng: &mut Rng, steps: usize) -> usize {
    let mut committed = 0;
    for _ in 0..steps {
        let id = rng.below(IDS) as u32;
        let other = rng.below(IDS) as u32;
        let amount = rng.below(100) as i64 + 1;
        let done = match rng.below(10) {
            0 | 1 => shop
                .accounts
                .insert(Account {
                    id,
                    email: format!("a{id}-{}@shop.test", rng.below(4)),
                    branch: rng.below(4) as u8,
                    balance: 100,
                })
                .await
                .is_ok(),
            2 => shop
                .accounts
                .update_with(&id, |a| a.balance += amount)
                .await
                .is_ok(),
            3 => shop
                .accounts
                .update_with(&id, |a| {
                    a.branch = (a.branch + 1) % 4;
                    a.email = format!("a{}-{amount}@shop.test", a.id);
                })
                .await
                .is_ok(),
            4 => shop.accounts.delete(&id).await.is_ok(),
            5 => shop
                .ledger
                .insert(Entry {
                    id: 0,
                    account: id,
                    amount,
                })
                .await
                .is_ok(),
            6 => {
                let old = shop.ledger.iter().next().map(|entry| entry.id);
                match old {
                    Some(entry) => shop.ledger.delete(&entry).await.is_ok(),
                    None => false,
                }
            }
            _ => transfer(shop, id, other, amount).await,
        };
        committed += usize::from(done);
    }
    committed
}

/// Moves `amount` between two accounts and books it, in one transaction;
/// `false` when an account is missing.
pub async fn transfer(shop: &Shop, from: u32, to: u32, amount: i64) -> bool {
    if from == to {
        return false;
    }
    let result = shop
        .transaction(|tx| async move {
            tx.accounts.update_with(&from, |a| a.balance -= amount)?;
            tx.accounts.update_with(&to, |a| a.balance += amount)?;
            tx.ledger.insert(Entry {
                id: 0,
                account: from,
                amount: -amount,
            })?;
            tx.ledger.insert(Entry {
                id: 0,
                account: to,
                amount,
            })?;
            Ok::<_, TableError>(())
        })
        .await;
    match result {
        Ok(()) => true,
        Err(TxError::Table(TableError::NotFound { .. }) | TxError::Aborted(_)) => false,
        Err(error) => panic!("transfer failed: {error:?}"),
    }
}

/// Every row of both tables, and every index of them, agree between
/// `primary` and `replica`; an error says where they differ.
pub fn compare(primary: &Shop, replica: &Shop) -> Result<(), String> {
    let rows = |shop: &Shop| shop.accounts.iter().collect::<Vec<_>>();
    let (mine, theirs) = (rows(primary), rows(replica));
    if mine != theirs {
        return Err(format!(
            "accounts differ:\n primary {mine:?}\n replica {theirs:?}"
        ));
    }
    let entries = |shop: &Shop| shop.ledger.iter().collect::<Vec<_>>();
    if entries(primary) != entries(replica) {
        return Err("ledger rows differ".into());
    }
    for account in &mine {
        let found = replica
            .accounts
            .get_by(Account::EMAIL, account.email.as_str());
        if found.as_ref() != Some(account) {
            return Err(format!("get_by(EMAIL, {}) gives {found:?}", account.email));
        }
    }
    for branch in 0..4u8 {
        let ids = |shop: &Shop| {
            shop.accounts
                .find_by(Account::BRANCH, &branch)
                .into_iter()
                .map(|a| a.id)
                .collect::<BTreeSet<_>>()
        };
        if ids(primary) != ids(replica) {
            return Err(format!("find_by(BRANCH, {branch}) differs"));
        }
    }
    for account in 0..IDS as u32 {
        let ids = |shop: &Shop| {
            shop.ledger
                .find_by(Entry::ACCOUNT, &account)
                .into_iter()
                .map(|e| e.id)
                .collect::<BTreeSet<_>>()
        };
        if ids(primary) != ids(replica) {
            return Err(format!("find_by(ACCOUNT, {account}) differs"));
        }
    }
    if primary.last_commit() != replica.last_commit() {
        return Err(format!(
            "last commit {} on the primary, {} on the replica",
            primary.last_commit(),
            replica.last_commit()
        ));
    }
    Ok(())
}

/// `future`, failing the test when it takes longer than [`WAIT`].
pub async fn within<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {WAIT:?}"))
}

/// A client of the server(s) at `url` that reconnects within half a
/// second (the default backs off to four seconds).
pub async fn connect(url: impl async_nats::ToServerAddrs) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .reconnect_delay_callback(|attempts| Duration::from_millis(50 * attempts.min(10) as u64))
        .connect(url)
        .await
        .unwrap()
}

/// A TCP forwarder on loopback in front of a server, whose forwarding can
/// be paused: a client connected through it then neither sends nor
/// receives, as if its network stalled, while the server goes on.
pub struct Proxy {
    pub port: u16,
    paused: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: u16) -> Self {
        use std::sync::atomic::AtomicBool;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let paused = std::sync::Arc::new(AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&paused);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(("127.0.0.1", target))
                    .await
                    .unwrap();
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(forward(
                    client_read,
                    server_write,
                    std::sync::Arc::clone(&flag),
                ));
                tokio::spawn(forward(
                    server_read,
                    client_write,
                    std::sync::Arc::clone(&flag),
                ));
            }
        });
        Self { port, paused, task }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn pause(&self, paused: bool) {
        self.paused
            .store(paused, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    paused: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        while paused.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        while paused.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

/// Starts publishing `db` with `options`.
pub async fn publish(
    db: &Arc<DurableDatabase<Shop>>,
    client: &async_nats::Client,
    options: PublisherOptions,
) -> Publisher {
    Publisher::start(Arc::clone(db), client.clone(), options)
        .await
        .unwrap()
}

/// Starts a replica of `Shop` with `options`.
pub async fn follow(client: &async_nats::Client, options: ReplicaOptions) -> Replica<Shop> {
    Replica::<Shop>::follow(client.clone(), options)
        .await
        .unwrap()
}
