// A key comes from autoincrement or from a generator, not both.
use worktable_core::prelude::*;

#[derive(Default)]
struct EvenIds(std::sync::atomic::AtomicU64);

impl worktable_core::PkGenerator<u64> for EvenIds {
    fn next_pk(&self) -> Option<u64> {
        Some(self.0.fetch_add(2, std::sync::atomic::Ordering::Relaxed) + 2)
    }
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct User {
    #[pk(autoincrement, generator = EvenIds)]
    id: u64,
    name: String,
}

fn main() {}
