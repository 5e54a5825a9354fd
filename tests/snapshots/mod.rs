//! Snapshots of a table and of a database: one commit point, whatever is
//! written meanwhile.

mod basics;
mod stress;
