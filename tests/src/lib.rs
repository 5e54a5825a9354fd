//! Integration tests live beside this file; see `integration.rs`.
