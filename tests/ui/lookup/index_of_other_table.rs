// An index handle belongs to one row type; it cannot search another table.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Order {
    #[pk]
    id: u64,
    #[index]
    account: u32,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Invoice {
    #[pk]
    id: u64,
    #[index]
    account: u32,
}

fn main() {
    let invoices = WorkTable::<Invoice>::new();
    let _ = invoices.find_by(Order::ACCOUNT, &7);
}
