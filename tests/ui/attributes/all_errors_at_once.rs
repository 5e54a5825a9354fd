// Several mistakes in one struct, some found while parsing attributes and
// some while checking them: every one is reported in a single compilation,
// each on its own token.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "ByDaySymbol", fields(day, symbl)))]
struct Quote {
    // No #[pk] anywhere.
    id: u64,
    #[index(uniq)]
    symbol: String,
    #[index]
    price: f64,
    day: u16,
}

fn main() {}
