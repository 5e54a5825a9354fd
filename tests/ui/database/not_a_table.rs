use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Account {
    #[pk]
    id: u32,
}

#[derive(Database)]
struct Bank {
    accounts: WorkTable<Account>,
    name: String,
}

type Accounts = WorkTable<Account>;

#[derive(Database)]
struct Aliased {
    accounts: Accounts,
}

fn main() {}
