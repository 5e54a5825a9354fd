// `#[row]` adds rkyv's derives itself: deriving `Archive` by hand as well
// is refused with one error that says what to remove.
use worktable_core::prelude::*;

#[row]
#[derive(Archive, Serialize, Deserialize, Clone, Debug)]
struct Order {
    #[pk]
    id: u64,
}

fn main() {}
