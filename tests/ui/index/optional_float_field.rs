// A float inside another type is no more orderable than a bare one.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Reading {
    #[pk]
    id: u64,
    #[index]
    celsius: Option<f32>,
}

fn main() {}
