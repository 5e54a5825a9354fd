//! `#[derive(Table)]` and `#[derive(Database)]` for
//! [`worktable-core`](https://docs.rs/worktable-core).
//! Use it through `worktable_core::Table`; the attributes are documented
//! there.
//!
//! The derive runs in three stages: `attr` parses the attributes with
//! darling, `model` checks them and builds a typed model that keeps the
//! spans of the user's tokens, and `codegen` turns the model into trait
//! impls and index handles. Every mistake found is reported, each spanned on
//! the offending token.

#![forbid(unsafe_code)]

mod attr;
mod canonical;
mod codegen;
mod database;
mod each;
mod model;
mod prefix;
mod shape;
mod stored;
mod types;

use proc_macro::TokenStream;

/// Derives `worktable_core::Row` and the typed index handles of a table.
#[proc_macro_derive(Table, attributes(pk, index, table))]
pub fn derive_table(input: TokenStream) -> TokenStream {
    expand(syn::parse_macro_input!(input as syn::DeriveInput))
        .unwrap_or_else(darling::Error::write_errors)
        .into()
}

/// Derives `new()`, `Default` and `worktable_core::Database` for a struct
/// whose every field is a `WorkTable`: the tables share one commit order.
#[proc_macro_derive(Database, attributes(database))]
pub fn derive_database(input: TokenStream) -> TokenStream {
    database::expand(&syn::parse_macro_input!(input as syn::DeriveInput))
        .unwrap_or_else(darling::Error::write_errors)
        .into()
}

/// Makes a struct a table's row: adds `#[derive(Table)]` and rkyv's
/// `Archive`, `Serialize` and `Deserialize`, by full path, beside the
/// derives it has (serde's among them). `#[row(crate = path)]` when
/// `worktable_core` is renamed.
#[proc_macro_attribute]
pub fn row(args: TokenStream, item: TokenStream) -> TokenStream {
    stored::expand(stored::Stored::Row, args.into(), item.into()).into()
}

/// Makes a type storable inside rows (a nested struct or an enum column):
/// adds rkyv's `Archive`, `Serialize` and `Deserialize`, by full path.
/// `#[column(crate = path)]` when `worktable_core` is renamed.
#[proc_macro_attribute]
pub fn column(args: TokenStream, item: TokenStream) -> TokenStream {
    stored::expand(stored::Stored::Column, args.into(), item.into()).into()
}

/// Parses, checks and generates. Parse errors do not stop the checks: every
/// mistake in the input is reported in one compilation.
fn expand(input: syn::DeriveInput) -> darling::Result<proc_macro2::TokenStream> {
    let mut errors = darling::Error::accumulator();
    let parsed = attr::parse(&input, &mut errors);
    let table = parsed.map(|parsed| model::Table::build(parsed, &mut errors));
    errors.finish()?;
    Ok(codegen::expand(
        &table.expect("no errors, so the model was built"),
    ))
}
