// A query can only be ordered by a field whose type is totally ordered.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Reading {
    #[pk]
    id: u64,
    celsius: f64,
}

fn main() {
    let readings = WorkTable::<Reading>::new();
    let _ = readings.query().order_by(Reading::CELSIUS).to_vec();
}
