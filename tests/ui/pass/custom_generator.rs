// #[pk(generator = ...)] with a user-defined PkGenerator.
use std::sync::atomic::{AtomicU64, Ordering};

use worktable_core::PkGenerator;
use worktable_core::prelude::*;

/// 10, 20, 30, ...
#[derive(Default)]
struct Tens(AtomicU64);

impl PkGenerator<u64> for Tens {
    fn next_pk(&self) -> Option<u64> {
        Some((self.0.fetch_add(1, Ordering::Relaxed) + 1) * 10)
    }
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Ticket {
    #[pk(generator = Tens)]
    id: u64,
    #[index(unique)]
    code: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> worktable_core::Result<()> {
    let tickets = WorkTable::<Ticket>::new();
    assert_eq!(
        tickets
            .insert(Ticket {
                id: 0,
                code: "a".into()
            })
            .await?,
        10
    );
    assert_eq!(
        tickets
            .insert(Ticket {
                id: 0,
                code: "b".into()
            })
            .await?,
        20
    );
    assert_eq!(tickets.get_by(Ticket::CODE, "b").unwrap().id, 20);
    tickets.check_integrity().unwrap();
    Ok(())
}
