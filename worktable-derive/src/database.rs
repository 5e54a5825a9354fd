//! `#[derive(Database)]`: `new()`, `Default` and `worktable_core::Database`
//! for a struct whose every field is a `WorkTable`, built so that the
//! tables share one commit order.

use darling::FromDeriveInput;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    DeriveInput, Field, FieldsNamed, GenericArgument, Ident, Path, PathArguments, Type, parse_quote,
};

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
    let tables = named_fields(input, &mut errors).map(|fields| {
        fields
            .named
            .iter()
            .filter_map(|field| errors.handle(table_of(field)))
            .collect::<Vec<_>>()
    });
    errors.finish()?;
    let tables = tables.expect("no errors, so the fields were found");
    Ok(generate(input, &krate, &tables))
}

/// One table of the database: its field and its row type.
struct TableOf<'a> {
    field: &'a Field,
    row: &'a Type,
}

impl TableOf<'_> {
    fn ident(&self) -> &Ident {
        self.field.ident.as_ref().expect("named fields")
    }
}

/// The row type of a field written `WorkTable<Row>` (under any path).
fn table_of(field: &Field) -> darling::Result<TableOf<'_>> {
    let row = match &field.ty {
        Type::Path(path) if path.qself.is_none() => {
            path.path
                .segments
                .last()
                .and_then(|last| match &last.arguments {
                    PathArguments::AngleBracketed(args)
                        if last.ident == "WorkTable" && args.args.len() == 1 =>
                    {
                        match &args.args[0] {
                            GenericArgument::Type(row) => Some(row),
                            _ => None,
                        }
                    }
                    _ => None,
                })
        }
        _ => None,
    };
    row.map(|row| TableOf { field, row }).ok_or_else(|| {
        darling::Error::custom(
            "every field of a `#[derive(Database)]` struct is a table, written \
             `WorkTable<RowType>` (the derive reads the row type from it, so a type \
             alias does not do)",
        )
        .with_span(&field.ty)
    })
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

fn generate(input: &DeriveInput, krate: &Path, tables: &[TableOf<'_>]) -> TokenStream {
    let name = &input.ident;
    let vis = &input.vis;
    // Each table is built through a trait only tables implement: a field
    // of another type named `WorkTable` is an error on that field's type.
    let inits = tables.iter().map(|table| {
        let (ident, ty) = (table.ident(), &table.field.ty);
        let build = quote_spanned! {ty.span()=>
            <#ty as #krate::__private::TableField>::in_order(&order)
        };
        quote! { #ident: #build }
    });
    let inits2 = inits.clone();
    let views = tables.iter().map(|table| {
        let ident = table.ident();
        quote! { #ident: #krate::__private::snapshot_at(&self.#ident, &point) }
    });
    let view_fields = tables.iter().map(|table| {
        let (ident, row, field_vis) = (table.ident(), table.row, &table.field.vis);
        let doc = format!("The `{ident}` table at the snapshot's commit point.");
        quote! {
            #[doc = #doc]
            #field_vis #ident: #krate::TableSnapshot<'a, #row>
        }
    });
    let tx_fields = tables.iter().map(|table| {
        let (ident, row, field_vis) = (table.ident(), table.row, &table.field.vis);
        let doc = format!("The `{ident}` table inside the transaction.");
        quote! {
            #[doc = #doc]
            #field_vis #ident: #krate::TxTable<'a, #row>
        }
    });
    let tx_parts = tables.iter().map(|table| {
        let ident = table.ident();
        quote! { #ident: #krate::TxTable::new(&self.#ident, &tx) }
    });
    let storage_impl = storage_tables(name, krate, tables);
    let first = tables[0].ident();
    let snapshot = format_ident!("{name}Snapshot");
    let tx_view = format_ident!("{name}Tx");
    let doc_tx = format!(
        "A transaction over every table of [`{name}`], from [`{name}::begin`] \
         or given to the closure of [`{name}::transaction`]: reads through \
         its fields see the database at one commit point and the \
         transaction's own writes; writes are buffered and made visible \
         together by [`commit`](Self::commit). Dropping it uncommitted \
         writes nothing. Cloning shares it."
    );
    let doc_begin = format!(
        "Starts a transaction over every table of this `{name}` (see \
         [`{tx_view}`]); commit it with [`{tx_view}::commit`]."
    );
    let doc_transaction = format!(
        "Runs `body` in a transaction over every table of this `{name}` and \
         commits it; if the commit conflicts with others, runs `body` again \
         in a new transaction, at most 10 times (see \
         [`transaction_with`](Self::transaction_with)). An `Err` from `body` \
         writes nothing and is returned as `TxError::Aborted`."
    );
    let doc_new = format!(
        "An empty `{name}`: every table empty, all of them numbering their \
         changes in one commit order."
    );
    let doc_hook = format!(
        "An empty `{name}` whose every commit — a single write, or a whole \
         transaction at once — is handed to `hook` at its commit point, \
         which may refuse it (see `DatabaseHook`)."
    );
    let doc_view = format!(
        "Every table of [`{name}`] at one commit point, from \
         [`{name}::snapshot`]: reads through its fields, across tables, see \
         the changes numbered up to [`commit`](Self::commit) and none after, \
         however long it is held."
    );
    let doc_snapshot = format!(
        "A read-only view of every table of this `{name}` as it is now (see \
         [`{snapshot}`]). Taking one is O(1)."
    );
    quote! {
        impl #name {
            #[doc = #doc_new]
            pub fn new() -> Self {
                let order = #krate::__private::CommitOrder::shared();
                Self { #(#inits,)* }
            }

            #[doc = #doc_hook]
            pub fn with_commit_hook(
                hook: ::std::sync::Arc<dyn #krate::events::DatabaseHook>,
            ) -> Self {
                let order = #krate::__private::CommitOrder::shared_with_hook(hook);
                Self { #(#inits2,)* }
            }

            #[doc = #doc_snapshot]
            pub fn snapshot(&self) -> #snapshot<'_> {
                let point = #krate::__private::read_point(&self.#first);
                #snapshot {
                    commit: point.commit(),
                    #(#views,)*
                }
            }
        }

        impl #name {
            #[doc = #doc_begin]
            pub fn begin(&self) -> #tx_view<'_> {
                let tx = #krate::Transaction::begin(&self.#first);
                #tx_view {
                    #(#tx_parts,)*
                    tx,
                }
            }

            #[doc = #doc_transaction]
            pub async fn transaction<'s, T, E, F, Fut>(
                &'s self,
                body: F,
            ) -> ::core::result::Result<T, #krate::TxError<E>>
            where
                F: FnMut(#tx_view<'s>) -> Fut,
                Fut: ::core::future::Future<Output = ::core::result::Result<T, E>>,
            {
                self.transaction_with(#krate::TxOptions::default(), body).await
            }

            /// [`transaction`](Self::transaction) with `options` (the
            /// number of attempts).
            pub async fn transaction_with<'s, T, E, F, Fut>(
                &'s self,
                options: #krate::TxOptions,
                body: F,
            ) -> ::core::result::Result<T, #krate::TxError<E>>
            where
                F: FnMut(#tx_view<'s>) -> Fut,
                Fut: ::core::future::Future<Output = ::core::result::Result<T, E>>,
            {
                #krate::__private::run_transaction(options, || self.begin(), body).await
            }
        }

        #[doc = #doc_tx]
        #[derive(Clone, Debug)]
        #vis struct #tx_view<'a> {
            #(#tx_fields,)*
            tx: #krate::Transaction<'a>,
        }

        impl<'a> #tx_view<'a> {
            /// Makes every write of the transaction visible at once, if
            /// nothing it read has changed since it began; returns the
            /// commit number (the read point if it wrote nothing).
            ///
            /// # Errors
            ///
            /// `TableError::Conflict` (run it again), a duplicate unique
            /// key, and the other errors of `Transaction::commit`: nothing
            /// was written.
            pub async fn commit(self) -> #krate::Result<u64> {
                self.tx.commit().await
            }

            /// The commit the transaction reads at.
            pub fn read_point(&self) -> u64 {
                self.tx.read_point()
            }
        }

        impl<'a> #krate::__private::TxView<'a> for #tx_view<'a> {
            fn transaction(&self) -> &#krate::Transaction<'a> {
                &self.tx
            }
        }

        #[doc = #doc_view]
        #[derive(Clone, Debug)]
        #vis struct #snapshot<'a> {
            commit: u64,
            #(#view_fields,)*
        }

        impl #snapshot<'_> {
            /// The commit point: the number of the last change the snapshot
            /// sees, of any table.
            pub fn commit(&self) -> u64 {
                self.commit
            }
        }

        impl ::core::default::Default for #name {
            fn default() -> Self {
                Self::new()
            }
        }

        #storage_impl

        impl #krate::Database for #name {
            type Snapshot<'a> = #snapshot<'a>;

            fn last_commit(&self) -> u64 {
                self.#first.last_seq()
            }

            fn snapshot(&self) -> #snapshot<'_> {
                #name::snapshot(self)
            }
        }
    }
}

/// `worktable_core::storage::DatabaseTables`: how a durable database
/// learns, builds and reaches the tables, each under its slot (its field's
/// position) and its field's name.
fn storage_tables(name: &Ident, krate: &Path, tables: &[TableOf<'_>]) -> TokenStream {
    let each = |f: &dyn Fn(usize, &Ident, &Type, String) -> TokenStream| -> Vec<TokenStream> {
        tables
            .iter()
            .enumerate()
            .map(|(slot, table)| f(slot, table.ident(), table.row, table.ident().to_string()))
            .collect()
    };
    let describe = each(&|slot, _, row, field| quote! { visitor.table::<#row>(#slot, #field); });
    let visit = each(&|slot, ident, row, field| {
        quote! { visitor.table::<#row>(#slot, #field, &self.#ident); }
    });
    let build = each(&|slot, ident, row, field| {
        quote! { #ident: builder.table::<#row>(#slot, #field)? }
    });
    quote! {
        impl #krate::storage::DatabaseTables for #name {
            fn describe<V: #krate::storage::DescribeTables>(visitor: &mut V) {
                #(#describe)*
            }

            fn visit<'db, V: #krate::storage::VisitTables<'db>>(&'db self, visitor: &mut V) {
                #(#visit)*
            }

            fn build<B: #krate::storage::BuildTables>(
                builder: &mut B,
            ) -> ::core::result::Result<Self, B::Error> {
                ::core::result::Result::Ok(Self { #(#build,)* })
            }
        }
    }
}
