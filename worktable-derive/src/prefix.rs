//! Stage 3, prefix searches: `IndexPrefix` for the leading parts of a
//! composite index's key, `PkPrefix` for those of a composite primary key.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Ident, Index as TupleIndex};

use crate::codegen::{field_type, fields_type, is_string};
use crate::model::{IndexDef, Table};

/// `IndexPrefix` for the first `len` fields of a composite index.
pub(crate) fn index_prefix_impl(
    table: &Table,
    index: &IndexDef,
    handle: &Ident,
    len: usize,
) -> TokenStream {
    let Table { ident, krate, .. } = table;
    let fields = &index.fields[..len];
    let prefix_ty = fields_type(table, fields);
    let key_ty = fields_type(table, &index.fields);
    let compare = compare_prefix(len);
    let borrowed = borrowed_str(table, fields).then(|| {
        quote! {
            #[automatically_derived]
            impl<'__q> #krate::IndexPrefix<#ident, &'__q ::core::primitive::str> for #handle {
                const LEN: ::core::primitive::usize = 1;

                #[inline]
                fn cmp_prefix(
                    __prefix: &&'__q ::core::primitive::str,
                    __key: &#key_ty,
                ) -> ::core::cmp::Ordering {
                    ::core::cmp::Ord::cmp(*__prefix, ::core::convert::AsRef::<::core::primitive::str>::as_ref(&__key.0))
                }
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #krate::IndexPrefix<#ident, #prefix_ty> for #handle {
            const LEN: ::core::primitive::usize = #len;

            #[inline]
            fn cmp_prefix(__prefix: &#prefix_ty, __key: &#key_ty) -> ::core::cmp::Ordering {
                #compare
            }
        }
        #borrowed
    }
}

/// `PkPrefix` for each proper leading part of a composite primary key;
/// nothing for a key of one field or a `#[pk(hash)]` key, which keeps no
/// order.
pub(crate) fn pk_prefix_impls(table: &Table) -> TokenStream {
    let Table {
        ident, krate, pk, ..
    } = table;
    if pk.hash {
        return TokenStream::new();
    }
    let key_ty = fields_type(table, &pk.fields);
    let impls = (1..pk.fields.len()).map(|len| {
        let fields = &pk.fields[..len];
        let prefix_ty = fields_type(table, fields);
        let compare = compare_prefix(len);
        let borrowed = borrowed_str(table, fields).then(|| {
            quote! {
                #[automatically_derived]
                impl<'__q> #krate::PkPrefix<&'__q ::core::primitive::str> for #ident {
                    const LEN: ::core::primitive::usize = 1;

                    #[inline]
                    fn cmp_prefix(
                        __prefix: &&'__q ::core::primitive::str,
                        __key: &#key_ty,
                    ) -> ::core::cmp::Ordering {
                        ::core::cmp::Ord::cmp(*__prefix, ::core::convert::AsRef::<::core::primitive::str>::as_ref(&__key.0))
                    }
                }
            }
        });
        quote! {
            #[automatically_derived]
            impl #krate::PkPrefix<#prefix_ty> for #ident {
                const LEN: ::core::primitive::usize = #len;

                #[inline]
                fn cmp_prefix(__prefix: &#prefix_ty, __key: &#key_ty) -> ::core::cmp::Ordering {
                    #compare
                }
            }
            #borrowed
        }
    });
    quote!(#(#impls)*)
}

/// Whether a one-field prefix is a `String`, which can also be given as
/// `&str`, like the keys of `get_by` and `find_by`. (Only for `String`: a
/// generic borrowed impl would turn every wrong-type prefix into an obscure
/// `Borrow` error.)
fn borrowed_str(table: &Table, fields: &[usize]) -> bool {
    matches!(fields, [only] if is_string(field_type(table, *only)))
}

/// Where `__prefix`, the first `len` parts of a key, sorts relative to the
/// tuple `__key`: lexicographic, the first unequal part decides.
fn compare_prefix(len: usize) -> TokenStream {
    if len == 1 {
        return quote!(::core::cmp::Ord::cmp(__prefix, &__key.0));
    }
    (0..len).rev().fold(TokenStream::new(), |inner, n| {
        let n = TupleIndex::from(n);
        let cmp = quote!(::core::cmp::Ord::cmp(&__prefix.#n, &__key.#n));
        if inner.is_empty() {
            cmp
        } else {
            quote! {
                match #cmp {
                    ::core::cmp::Ordering::Equal => #inner,
                    __unequal => __unequal,
                }
            }
        }
    })
}
