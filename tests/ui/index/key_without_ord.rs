// An index key must be `Ord + Hash + ...`; `Money` is neither. This is a type
// error found by rustc, reported on the field's type.
use worktable_core::prelude::*;

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Money {
    cents: i64,
    currency: String,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Invoice {
    #[pk]
    id: u64,
    #[index]
    total: Money,
}

fn main() {}
