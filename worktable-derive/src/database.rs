//! `#[derive(Database)]`: `new()`, `Default` and `worktable_core::Database`
//! for a struct whose every field is a `WorkTable`, built so that the
//! tables share one commit order.

use darling::FromDeriveInput;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, FieldsNamed, Path, parse_quote};

use crate::shape::{self, Refusals};

/// `#[database(...)]` on the struct.
#[derive(FromDeriveInput)]
#[darling(attributes(database), supports(any))]
struct DatabaseInput {
    /// The path of `worktable_core`, for a renamed dependency.
    #[darling(rename = "crate")]
    krate: Option<Path>,
}

/// Parses, checks and generates; every mistake is reported at once.
pub(crate) fn expand(input: &DeriveInput) -> darling::Result<TokenStream> {
    let mut errors = darling::Error::accumulator();
    let krate = errors
        .handle(DatabaseInput::from_derive_input(input))
        .and_then(|parsed| parsed.krate)
        .unwrap_or_else(|| parse_quote!(::worktable_core));
    if let Some(param) = input.generics.params.first() {
        errors.push(
            darling::Error::custom("#[derive(Database)] does not support generic structs")
                .with_span(param),
        );
    }
    let fields = named_fields(input, &mut errors);
    errors.finish()?;
    let fields = fields.expect("no errors, so the fields were found");
    Ok(generate(input, &krate, fields))
}

/// What `#[derive(Database)]` says about the shapes it does not take.
const REFUSALS: Refusals = Refusals {
    tuple: "#[derive(Database)] needs named fields, each a `WorkTable<_>`",
    unit: "#[derive(Database)] needs a struct with named fields, each a `WorkTable<_>`",
    enumeration: "#[derive(Database)] works on structs whose fields are tables, not enums",
    union: "#[derive(Database)] works on structs whose fields are tables, not unions",
};

/// The struct's named fields, at least one; any other shape is reported.
fn named_fields<'a>(
    input: &'a DeriveInput,
    errors: &mut darling::error::Accumulator,
) -> Option<&'a FieldsNamed> {
    let named = shape::named_fields(input, &REFUSALS, errors)?;
    if named.named.is_empty() {
        errors.push(
            darling::Error::custom(
                "#[derive(Database)] needs at least one field, a `WorkTable<_>`",
            )
            .with_span(&named.brace_token.span.join()),
        );
        return None;
    }
    Some(named)
}

fn generate(input: &DeriveInput, krate: &Path, fields: &FieldsNamed) -> TokenStream {
    let name = &input.ident;
    // Each field is built through a trait only tables implement: a field
    // of another type is an error on that field's type.
    let inits = fields.named.iter().map(|field| {
        let ident = field.ident.as_ref().expect("named fields");
        let ty = &field.ty;
        let build = quote_spanned! {ty.span()=>
            <#ty as #krate::__private::TableField>::in_order(&order)
        };
        quote! { #ident: #build }
    });
    let first = fields.named[0].ident.as_ref().expect("named fields");
    let doc_new = format!(
        "An empty `{name}`: every table empty, all of them numbering their \
         changes in one commit order."
    );
    quote! {
        impl #name {
            #[doc = #doc_new]
            pub fn new() -> Self {
                let order = #krate::__private::CommitOrder::shared();
                Self { #(#inits,)* }
            }
        }

        impl ::core::default::Default for #name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl #krate::Database for #name {
            fn last_commit(&self) -> u64 {
                self.#first.last_seq()
            }
        }
    }
}
