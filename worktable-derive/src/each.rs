//! Stage 3, element indexes: the methods of `Index` that read the keys of
//! an `#[index(each)]` index out of a row — one per distinct element of its
//! `Vec<T>` field.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Type;

use crate::model::{IndexDef, Table};

/// `key_of_archived`, `key` (which have no single answer and panic, as
/// `Index::key` documents), `keys`, `keys_of_archived`, `archived_has`,
/// `same_key` and `key_is` of the element index `index`, whose elements
/// are of type `element`.
pub(crate) fn key_reads(table: &Table, index: &IndexDef, element: &Type) -> TokenStream {
    let Table { ident, krate, .. } = table;
    let field = &table.fields[index.fields[0]];
    let (field_ident, field_ty) = (&field.ident, &field.ty);
    let no_single_key = format!(
        "`{}::{}` is an `#[index(each)]` index: a row has one key per element; read `Index::keys`",
        ident,
        index.name.to_uppercase()
    );
    let sorted_unique = quote! {
        <[#element]>::sort_unstable(&mut __keys);
        ::std::vec::Vec::dedup(&mut __keys);
        __keys
    };
    quote! {
        fn key_of_archived(
            __archived: &#krate::rkyv::Archived<#ident>,
        ) -> Self::Key {
            let _ = __archived;
            ::core::panic!(#no_single_key)
        }

        fn key(__row: &#ident) -> Self::Key {
            let _ = __row;
            ::core::panic!(#no_single_key)
        }

        fn keys(__row: &#ident) -> ::std::vec::Vec<Self::Key> {
            let mut __keys = ::core::clone::Clone::clone(&__row.#field_ident);
            #sorted_unique
        }

        fn keys_of_archived(
            __archived: &#krate::rkyv::Archived<#ident>,
        ) -> ::std::vec::Vec<Self::Key> {
            let mut __keys = #krate::__private::deserialize_field::<#field_ty>(&__archived.#field_ident);
            #sorted_unique
        }

        fn archived_has<__Q>(
            __archived: &#krate::rkyv::Archived<#ident>,
            __key: &__Q,
        ) -> ::core::primitive::bool
        where
            __Q: #krate::LookupKey<Self::Key> + ?::core::marker::Sized,
        {
            ::core::iter::Iterator::any(&mut __archived.#field_ident.iter(), |__element| {
                #krate::LookupKey::<Self::Key>::eq_key(
                    __key,
                    &#krate::__private::deserialize_field::<#element>(__element),
                )
            })
        }

        #[inline]
        fn same_key(__a: &#ident, __b: &#ident) -> ::core::primitive::bool {
            ::core::cmp::PartialEq::eq(&__a.#field_ident, &__b.#field_ident)
        }

        #[inline]
        fn key_is<__Q>(__row: &#ident, __key: &__Q) -> ::core::primitive::bool
        where
            __Q: #krate::LookupKey<Self::Key> + ?::core::marker::Sized,
        {
            ::core::iter::Iterator::any(&mut __row.#field_ident.iter(), |__element| {
                #krate::LookupKey::<Self::Key>::eq_key(__key, __element)
            })
        }
    }
}
