//! A small table shared by the documentation examples. Not part of the
//! public API.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use crate::{Archive, Deserialize, Serialize, Table, WorkTable};

pub use crate::TableError;

/// The row type of the examples.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = crate::rkyv)]
#[table(index(name = "by_account_day", fields(account, day)))]
pub struct Order {
    /// Primary key.
    #[pk]
    pub id: u64,
    /// A unique reference.
    #[index(unique)]
    pub client_ref: String,
    /// The account the order belongs to.
    #[index]
    pub account: u32,
    /// Day number.
    pub day: u16,
    /// Price in cents.
    pub price: i64,
}

/// An order with a price of 100.
pub fn order(id: u64, client_ref: &str, account: u32, day: u16) -> Order {
    Order {
        id,
        client_ref: client_ref.to_owned(),
        account,
        day,
        price: 100,
    }
}

/// Orders 1 (`A-1`, account 7, day 1), 2 (`B-2`, account 8, day 1) and 3
/// (`C-3`, account 7, day 2).
pub async fn sample_orders() -> WorkTable<Order> {
    let orders = WorkTable::new();
    for row in [
        order(1, "A-1", 7, 1),
        order(2, "B-2", 8, 1),
        order(3, "C-3", 7, 2),
    ] {
        orders.insert(row).await.expect("sample rows are valid");
    }
    orders
}

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs a future to completion on the current thread.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}
