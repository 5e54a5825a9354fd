//! Integration tests of the public API, one module per behaviour.

mod bulk_load_and_set_field;
mod change_events;
mod column_types;
mod concurrent;
mod database;
mod generic_rows;
mod hash_index;
mod hash_pk;
mod index_lookups;
mod long_keys_in_error_messages;
mod model_based;
mod persist_round_trip;
mod queries;
mod query_model;
mod row_locks;
mod row_sizes;
mod schema_fingerprint;
mod slot_reuse;
mod snapshots;
mod string_key_prefixes;
mod transactions;
mod vacuum;
mod write_errors_and_rollback;
mod writes_under_own_guard;
