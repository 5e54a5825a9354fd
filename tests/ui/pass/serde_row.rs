// A struct that already derives serde's `Serialize` and `Deserialize`,
// imported by those names beside the prelude's glob (which they hide), made
// a row with one added line; an enum column and a nested struct with
// `#[column]`; serde and the table both work on the same values.
use serde::{Deserialize, Serialize};
use worktable_core::prelude::*;

#[row]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[table(name = "orders", index(name = "by_account_day", fields = [account, day]))]
struct Order {
    #[pk(autoincrement)]
    order_id: u64,
    #[index(unique)]
    client_ref: String,
    #[index]
    account: u32,
    day: u16,
    status: Status,
    shipping: Option<Address>,
}

#[column]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
enum Status {
    Open,
    Shipped { day: u16 },
    Cancelled(String),
}

#[column]
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Address {
    city: String,
    zip: u32,
}

fn main() {
    futures::executor::block_on(async {
        let orders = WorkTable::<Order>::new();
        let json = r#"{"orderId":0,"clientRef":"A-1","account":7,"day":3,
            "status":{"Shipped":{"day":4}},"shipping":{"city":"Oslo","zip":150}}"#;
        let order: Order = serde_json::from_str(json).unwrap();
        let inserted = orders.insert(order.clone()).await.unwrap();
        let stored = orders.get(&inserted).unwrap();
        assert_eq!(stored.status, Status::Shipped { day: 4 });
        assert_eq!(orders.get_by(Order::CLIENT_REF, "A-1"), Some(stored.clone()));
        assert_eq!(orders.find_by(Order::BY_ACCOUNT_DAY, &(7, 3)).len(), 1);
        let back: Order = serde_json::from_str(&serde_json::to_string(&stored).unwrap()).unwrap();
        assert_eq!(back, stored);
        assert_eq!(Order::TABLE_NAME, "orders");
    });
}
