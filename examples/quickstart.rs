//! The README's quick start: a table of orders with a unique, a non-unique
//! and a composite index.
//!
//! Run it with `cargo run --example quickstart`.

use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_account_day", fields(account, day)))]
struct Order {
    #[pk(autoincrement)]
    id: u64,
    #[index(unique)]
    client_ref: String,
    #[index]
    account: u32,
    day: u16,
    price: i64,
    note: Option<String>,
}

fn order(client_ref: &str, account: u32, day: u16, price: i64) -> Order {
    Order {
        id: 0, // assigned by the table
        client_ref: client_ref.to_owned(),
        account,
        day,
        price,
        note: None,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), TableError> {
    let orders = WorkTable::<Order>::new();

    for (client_ref, account, day, price) in [
        ("A-100", 7, 1, 1_250),
        ("A-101", 7, 2, 990),
        ("B-200", 8, 1, 5_000),
        ("A-102", 7, 2, 120),
    ] {
        let id = orders
            .insert(order(client_ref, account, day, price))
            .await?;
        println!("inserted {client_ref} as id {id}");
    }

    // Point look-ups: by primary key and by the unique index.
    let first = orders.get(&1).expect("order 1 exists");
    println!("order 1: {} for {} cents", first.client_ref, first.price);
    let b200 = orders
        .get_by(Order::CLIENT_REF, "B-200")
        .expect("B-200 exists");
    println!("B-200 is order {}", b200.id);

    // A unique key cannot be taken twice; the table is unchanged afterwards.
    match orders.insert(order("A-100", 9, 9, 1)).await {
        Err(error) => println!("second A-100 refused: {error}"),
        Ok(id) => unreachable!("A-100 was inserted twice, as {id}"),
    }

    // All orders of account 7 in primary-key order; the same orders by day
    // through a prefix of the composite index; and one (account, day) pair.
    let account_7: Vec<u64> = orders
        .find_by(Order::ACCOUNT, &7)
        .iter()
        .map(|o| o.id)
        .collect();
    println!("account 7 has orders {account_7:?}");
    let by_day: Vec<(u16, String)> = orders
        .prefix_by(Order::BY_ACCOUNT_DAY, 7)
        .map(|o| (o.day, o.client_ref))
        .collect();
    println!("account 7 by day: {by_day:?}");
    let day_2: Vec<String> = orders
        .find_by(Order::BY_ACCOUNT_DAY, &(7, 2))
        .into_iter()
        .map(|o| o.client_ref)
        .collect();
    println!("account 7 on day 2: {day_2:?}");

    // Update one field; the indexes stay as they are.
    let old = orders
        .update(Order {
            price: 1_000,
            note: Some("discounted".into()),
            ..first
        })
        .await?;
    let new = orders.get(&1).expect("order 1 exists");
    println!(
        "order 1 price {} -> {} ({:?})",
        old.price, new.price, new.note
    );

    // Delete every order of account 7.
    let removed = orders.delete_all_by(Order::ACCOUNT, &7).await?;
    println!(
        "deleted {} orders of account 7; {} left",
        removed.len(),
        orders.len()
    );
    for o in orders.iter() {
        println!("left: {} {} {}", o.id, o.client_ref, o.price);
    }
    print!("{}", orders.stats());
    Ok(())
}
