//! Transactions over the tables of a database: atomic, serializable, and
//! leaving nothing behind when they do not commit.

mod bank;
mod basics;
mod failures;
mod hook;
mod publication;
mod serializable;
