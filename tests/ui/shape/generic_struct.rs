// A row type must be concrete: the derive does not support type parameters.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Tagged<T> {
    #[pk]
    id: u64,
    value: T,
}

fn main() {}
