// Unions cannot be rows. (rkyv's derives are left out: they reject unions
// too, and this case is about the message of #[derive(Table)].)
use worktable_core::prelude::*;

#[derive(Table)]
union Bits {
    int: u64,
    float: f64,
}

fn main() {}
