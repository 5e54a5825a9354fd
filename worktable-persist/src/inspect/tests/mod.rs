//! Tests of the generic view: shapes and decoding against rkyv's own
//! archives (`decoding`), and whole directories against what opening them
//! with their types gives (`directories`).

mod decoding;
mod directories;
