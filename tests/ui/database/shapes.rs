use worktable_core::prelude::*;

#[derive(Database)]
struct Empty {}

#[derive(Database)]
struct Tuple(u32);

#[derive(Database)]
enum Choice {
    A,
}

fn main() {}
