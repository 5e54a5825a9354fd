//! Compile-time checks of `#[derive(Table)]` and `#[derive(Database)]` (trybuild): see `tests/ui/`.
//!
//! Each file under `ui/<category>/` holds one mistake and, next to it, the
//! `.stderr` the compiler must print for it; `ui/pass/` holds definitions
//! that must compile and run. Paths are relative to this package's directory
//! (cargo runs tests from there). After a deliberate change to a diagnostic,
//! regenerate the expectations with
//! `TRYBUILD=overwrite cargo test -p worktable-tests --test ui` and read them.

#[test]
fn derive_table() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/shape/*.rs");
    t.compile_fail("ui/columns/*.rs");
    t.compile_fail("ui/pk/*.rs");
    t.compile_fail("ui/attributes/*.rs");
    t.compile_fail("ui/index/*.rs");
    t.compile_fail("ui/lookup/*.rs");
    t.compile_fail("ui/query/*.rs");
    t.compile_fail("ui/database/*.rs");
    t.compile_fail("ui/serde/*.rs");
}
