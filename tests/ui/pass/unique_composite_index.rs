// A unique composite index: one row per (account, day).
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_account_day", fields(account, day), unique))]
struct Balance {
    #[pk(autoincrement)]
    id: u64,
    account: u32,
    day: u16,
    cents: i64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> worktable_core::Result<()> {
    let balances = WorkTable::<Balance>::new();
    let first = balances
        .insert(Balance {
            id: 0,
            account: 7,
            day: 1,
            cents: 5,
        })
        .await?;
    balances
        .insert(Balance {
            id: 0,
            account: 7,
            day: 2,
            cents: 6,
        })
        .await?;
    assert_eq!(
        balances
            .get_by(Balance::BY_ACCOUNT_DAY, &(7, 1))
            .unwrap()
            .id,
        first
    );

    let clash = balances
        .insert(Balance {
            id: 0,
            account: 7,
            day: 1,
            cents: 9,
        })
        .await;
    assert!(
        matches!(
            clash,
            Err(TableError::DuplicateKey {
                index: "by_account_day",
                ..
            })
        ),
        "{clash:?}"
    );
    assert_eq!(balances.len(), 2);

    let removed = balances.delete_by(Balance::BY_ACCOUNT_DAY, &(7, 2)).await?;
    assert_eq!(removed.cents, 6);
    assert_eq!(balances.prefix_by(Balance::BY_ACCOUNT_DAY, 7).count(), 1);
    balances.check_integrity().unwrap();
    Ok(())
}
