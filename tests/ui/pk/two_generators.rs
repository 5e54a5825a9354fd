// A composite key has one generator, named on one of its fields.
use worktable_core::prelude::*;

#[derive(Default)]
struct Pairs(std::sync::atomic::AtomicU32);

impl worktable_core::PkGenerator<(u32, u32)> for Pairs {
    fn next_pk(&self) -> Option<(u32, u32)> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some((n / 100, n % 100))
    }
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Cell {
    #[pk(generator = Pairs)]
    row: u32,
    #[pk(generator = Pairs)]
    column: u32,
    value: i64,
}

fn main() {}
