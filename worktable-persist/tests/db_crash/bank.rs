//! The database of the crash test (accounts and a ledger), the transaction
//! ids and branch values the writers use, the seeded generator that drives
//! both processes, and the check of a database's indexes against its rows
//! (run by the child on what it recovered and by the parent on a reopen).

use std::collections::{BTreeMap, BTreeSet};

use worktable_core::prelude::*;

/// Accounts in the bank: ids `0..ACCOUNTS`.
pub(crate) const ACCOUNTS: u32 = 16;

/// The balance every account is seeded with.
pub(crate) const START_BALANCE: i64 = 1000;

/// Writer tasks in the child.
pub(crate) const WRITERS: u64 = 4;

/// Largest transferred amount (amounts are `1..=MAX_AMOUNT`).
pub(crate) const MAX_AMOUNT: i64 = 97;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub(crate) struct Account {
    #[pk]
    pub(crate) id: u32,
    #[index(unique)]
    pub(crate) owner: String,
    #[index]
    pub(crate) branch: u8,
    pub(crate) balance: i64,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub(crate) struct Entry {
    /// The id of the transaction that booked it.
    #[pk]
    pub(crate) id: u64,
    #[index]
    pub(crate) account: u32,
    pub(crate) amount: i64,
}

#[derive(Database)]
pub(crate) struct Bank {
    pub(crate) accounts: WorkTable<Account>,
    pub(crate) ledger: WorkTable<Entry>,
}

/// The owner of account `id` (never changes; no spaces).
pub(crate) fn owner(id: u32) -> String {
    format!("owner-{id}@bank.test")
}

/// The branch account `id` is seeded with.
pub(crate) fn initial_branch(id: u32) -> u8 {
    (id % 4) as u8
}

/// Account `id` as the seeding transaction inserts it.
pub(crate) fn seed_account(id: u32) -> Account {
    Account {
        id,
        owner: owner(id),
        branch: initial_branch(id),
        balance: START_BALANCE,
    }
}

/// The id of the `counter`-th transaction of writer `writer` in run `run`:
/// unique across the whole campaign.
pub(crate) fn txid(run: u64, writer: u64, counter: u64) -> u64 {
    assert!(
        run < 1 << 24 && writer < 1 << 8 && counter < 1 << 32,
        "transaction id space exhausted"
    );
    (run << 40) | (writer << 32) | counter
}

/// The run that began transaction `txid`.
pub(crate) fn run_of(txid: u64) -> u64 {
    txid >> 40
}

/// A transaction id as `<run>.<writer>.<counter>`, for failure messages.
pub(crate) fn show_txid(txid: u64) -> String {
    format!(
        "{}.{}.{}",
        txid >> 40,
        (txid >> 32) & 0xFF,
        txid & 0xFFFF_FFFF
    )
}

/// The branch a branch-changing transaction `txid` gives its `to` account.
pub(crate) fn branch_of(txid: u64) -> u8 {
    Rng::new(txid).next_u64() as u8
}

/// An account as the checks see it (the owner is checked on its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AccountState {
    pub(crate) balance: i64,
    pub(crate) branch: u8,
}

/// A ledger entry as the checks see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Booking {
    pub(crate) account: u32,
    pub(crate) amount: i64,
}

/// The whole content of a database: accounts by id, entries by txid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Contents {
    pub(crate) accounts: BTreeMap<u32, AccountState>,
    pub(crate) ledger: BTreeMap<u64, Booking>,
}

/// Checks a quiescent database on its own: integrity of both tables, every
/// account's owner, and every index against the rows (`get`, `get_by`
/// on the unique owner, `find_by` on every branch value and on every
/// account's entries). Returns its contents.
pub(crate) fn check_database(bank: &Bank) -> Result<Contents, String> {
    bank.accounts
        .check_integrity()
        .map_err(|err| format!("accounts.check_integrity: {err}"))?;
    bank.ledger
        .check_integrity()
        .map_err(|err| format!("ledger.check_integrity: {err}"))?;
    let accounts: Vec<Account> = bank.accounts.iter().collect();
    let entries: Vec<Entry> = bank.ledger.iter().collect();
    if bank.accounts.len() != accounts.len() || bank.ledger.len() != entries.len() {
        return Err(format!(
            "len() is {} accounts and {} entries, iter() gives {} and {}",
            bank.accounts.len(),
            bank.ledger.len(),
            accounts.len(),
            entries.len()
        ));
    }
    let mut contents = Contents::default();
    let mut by_branch: BTreeMap<u8, Vec<u32>> = BTreeMap::new();
    for account in &accounts {
        if account.id >= ACCOUNTS || account.owner != owner(account.id) {
            return Err(format!("account {account:?} is not one this test writes"));
        }
        let same = |found: Option<Account>| found.as_ref() == Some(account);
        if !same(bank.accounts.get(&account.id)) {
            return Err(format!("get({}) does not give {account:?}", account.id));
        }
        if !same(bank.accounts.get_by(Account::OWNER, account.owner.as_str())) {
            return Err(format!(
                "get_by(OWNER, {:?}) gives {:?}, iter() gives {account:?}",
                account.owner,
                bank.accounts.get_by(Account::OWNER, account.owner.as_str())
            ));
        }
        by_branch
            .entry(account.branch)
            .or_default()
            .push(account.id);
        contents.accounts.insert(
            account.id,
            AccountState {
                balance: account.balance,
                branch: account.branch,
            },
        );
    }
    for id in 0..ACCOUNTS {
        if !contents.accounts.contains_key(&id)
            && let Some(found) = bank.accounts.get_by(Account::OWNER, owner(id).as_str())
        {
            return Err(format!(
                "get_by(OWNER, {:?}) gives {found:?}, iter() has no account {id}",
                owner(id)
            ));
        }
    }
    for branch in 0..=u8::MAX {
        let expected = by_branch.remove(&branch).unwrap_or_default();
        let mut found: Vec<u32> = bank
            .accounts
            .find_by(Account::BRANCH, &branch)
            .into_iter()
            .map(|account| account.id)
            .collect();
        found.sort_unstable();
        if found != expected {
            return Err(format!(
                "find_by(BRANCH, {branch}) gives accounts {found:?}, the rows hold {expected:?}"
            ));
        }
    }
    let mut by_account: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for entry in &entries {
        if bank.ledger.get(&entry.id).as_ref() != Some(entry) {
            return Err(format!("get({}) does not give {entry:?}", entry.id));
        }
        by_account.entry(entry.account).or_default().push(entry.id);
        contents.ledger.insert(
            entry.id,
            Booking {
                account: entry.account,
                amount: entry.amount,
            },
        );
    }
    // Every account, and any other account an entry names.
    let mut looked_up: BTreeSet<u32> = by_account.keys().copied().collect();
    looked_up.extend(0..ACCOUNTS);
    for account in looked_up {
        let expected = by_account.remove(&account).unwrap_or_default();
        let mut found: Vec<u64> = bank
            .ledger
            .find_by(Entry::ACCOUNT, &account)
            .into_iter()
            .map(|entry| entry.id)
            .collect();
        found.sort_unstable();
        if found != expected {
            return Err(format!(
                "find_by(ACCOUNT, {account}) gives {} entries, the rows hold {} (first differences: {:?})",
                found.len(),
                expected.len(),
                symmetric_difference(&found, &expected)
            ));
        }
    }
    Ok(contents)
}

/// Up to 10 ids in one sorted list but not the other.
fn symmetric_difference(a: &[u64], b: &[u64]) -> Vec<String> {
    let a_set: BTreeSet<u64> = a.iter().copied().collect();
    let b_set: BTreeSet<u64> = b.iter().copied().collect();
    a_set
        .symmetric_difference(&b_set)
        .take(10)
        .map(|&txid| show_txid(txid))
        .collect()
}

/// The campaigns' seeded generator.
pub(crate) use crate::killed_child::Rng;
