use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Account {
    #[pk]
    id: u32,
}

mod other {
    /// Not the crate's table, whatever its name.
    pub struct WorkTable<R>(pub Vec<R>);
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

#[derive(Database)]
struct Impostor {
    accounts: other::WorkTable<Account>,
}

fn main() {}
