//! Transactions over the tables of a database: atomic, serializable, and
//! leaving nothing behind when they do not commit.

mod basics;
mod failures;
mod serializable;
