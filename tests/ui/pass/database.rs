//! The generated snapshot type is documented: no `missing_docs` warning.
#![deny(missing_docs)]

use worktable_core::prelude::*;

/// An account.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub struct Account {
    #[pk]
    id: u32,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Entry {
    #[pk(autoincrement)]
    id: u64,
}

/// Visibility and docs of the struct and its fields are the user's.
#[derive(Database)]
pub struct Bank {
    /// The accounts.
    pub accounts: WorkTable<Account>,
    ledger: WorkTable<Entry>,
}

fn main() {
    let bank = Bank::default();
    assert_eq!(bank.last_commit(), 0);
    assert!(bank.accounts.is_empty() && bank.ledger.is_empty());
    let snapshot: BankSnapshot<'_> = bank.snapshot();
    assert_eq!(snapshot.commit(), 0);
    assert!(snapshot.accounts.is_empty() && snapshot.ledger.is_empty());
    println!("{snapshot:?}");
}
