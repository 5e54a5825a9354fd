use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Account {
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
}
