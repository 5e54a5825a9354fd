//! Stage 3: the generated code, as small pieces.
//!
//! Everything lands in one `const _: () = { ... };` block, so the helper
//! types (index storage, handles) add no names to the user's module. Paths
//! are fully qualified (`::core::...`, the core crate through its configured
//! path) so that user items named `Result`, `Option`, `Clone`, ... cannot
//! capture them.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, Index as TupleIndex, Type};

use crate::model::{IndexDef, PkSource, Table};
use crate::{canonical, each, prefix};

pub(crate) fn expand(table: &Table) -> TokenStream {
    let row_impl = row_impl(table);
    let index_set = index_set(table);
    let fields = (0..table.fields.len()).map(|i| field_handle(table, i));
    let handles = table
        .indexes
        .iter()
        .enumerate()
        .map(|(position, index)| handle(table, position, index));
    let constants = constants(table);
    let pk_prefixes = prefix::pk_prefix_impls(table);
    quote! {
        #[allow(
            non_camel_case_types,
            reason = "the helper types' names are built from the row type's, which may not be camel case"
        )]
        const _: () = {
            #row_impl
            #index_set
            #(#fields)*
            #(#handles)*
            #constants
            #pk_prefixes
        };
    }
}

/// Name of the generated index-set struct (underscored, so that it does not
/// shadow a user type used as a column type).
fn index_set_ident(table: &Table) -> Ident {
    format_ident!("__{}Indexes", table.ident.unraw())
}

/// `a` for one field, `(a, b)` for several: a type or value built from the
/// fields at `positions`, each turned into tokens by `each`.
fn one_or_tuple(positions: &[usize], each: impl Fn(usize) -> TokenStream) -> TokenStream {
    match positions {
        [single] => each(*single),
        several => {
            let parts = several.iter().map(|&i| each(i));
            quote!((#(#parts),*))
        }
    }
}

pub(crate) fn field_type(table: &Table, i: usize) -> &Type {
    &table.fields[i].ty
}

/// The type of the fields at `positions`: the field's type for one, a
/// tuple of them for several (a key, or a prefix of one).
pub(crate) fn fields_type(table: &Table, positions: &[usize]) -> TokenStream {
    one_or_tuple(positions, |i| {
        let ty = field_type(table, i);
        quote!(#ty)
    })
}

/// A clone of the fields at `positions` of `row` (tokens naming a row): one
/// value, or a tuple of them.
fn fields_value(table: &Table, positions: &[usize], row: &TokenStream) -> TokenStream {
    one_or_tuple(positions, |i| {
        let field = &table.fields[i].ident;
        quote!(::core::clone::Clone::clone(&#row.#field))
    })
}

/// The fields at `positions` of the archived row `__archived`, deserialized:
/// one value, or a tuple of them.
fn archived_fields_value(table: &Table, positions: &[usize]) -> TokenStream {
    let krate = &table.krate;
    one_or_tuple(positions, |i| {
        let (field, ty) = (&table.fields[i].ident, field_type(table, i));
        quote!(#krate::__private::deserialize_field::<#ty>(&__archived.#field))
    })
}

/// The storage type of `index` for rows of the table, as the index handle
/// `handle` sees it.
fn store_type(table: &Table, index: &IndexDef, handle: &TokenStream) -> TokenStream {
    let Table { ident, krate, .. } = table;
    if index.each.is_some() {
        quote!(#krate::__private::EachStore<#ident, #handle>)
    } else if index.hash {
        quote!(#krate::__private::HashUniqueStore<#ident, #handle>)
    } else if index.unique {
        quote!(#krate::__private::UniqueStore<#ident, #handle>)
    } else {
        quote!(#krate::__private::MultiStore<#ident, #handle>)
    }
}

/// Whether `ty` is spelled `String` (or a path ending in `string::String`).
pub(crate) fn is_string(ty: &Type) -> bool {
    matches!(ty, Type::Path(path)
        if path.qself.is_none()
            && path.path.segments.last().is_some_and(|last| last.ident == "String" && last.arguments.is_empty()))
}

fn row_impl(table: &Table) -> TokenStream {
    let Table {
        ident,
        krate,
        name,
        pk,
        ..
    } = table;
    let pk_ty = fields_type(table, &pk.fields);
    let pk_value = fields_value(table, &pk.fields, &quote!(self));
    let set_pk = set_pk_body(table);
    let source = pk_source_type(table);
    let indexes = index_set_ident(table);
    let schema = schema(table);
    let pk_names = pk.fields.iter().map(|&i| table.fields[i].name());
    let pk_of_archived = archived_fields_value(table, &pk.fields);
    let pk_prefix = prefix_probe(krate, &pk_ty);
    let ordered_pk = !pk.hash;
    quote! {
        #[automatically_derived]
        impl #krate::Row for #ident {
            type Pk = #pk_ty;
            type PkSource = #source;
            type Indexes = #indexes;
            const TABLE_NAME: &'static ::core::primitive::str = #name;
            const PK_FIELDS: &'static [&'static ::core::primitive::str] = &[#(#pk_names),*];
            const SCHEMA: #krate::Schema = #schema;
            const ORDERED_PK: ::core::primitive::bool = #ordered_pk;

            #[inline]
            fn pk(&self) -> Self::Pk {
                #pk_value
            }

            #[inline]
            fn set_pk(&mut self, __pk: Self::Pk) {
                #set_pk
            }

            #[inline]
            fn pk_of_archived(__archived: &#krate::rkyv::Archived<#ident>) -> Self::Pk {
                #pk_of_archived
            }

            fn encode_pk(
                __pk: &Self::Pk,
            ) -> ::core::result::Result<::std::vec::Vec<::core::primitive::u8>, #krate::rkyv::rancor::Error> {
                #krate::__private::encode_key::<Self::Pk>(__pk)
            }

            fn decode_pk(
                __bytes: &[::core::primitive::u8],
            ) -> ::core::result::Result<Self::Pk, #krate::rkyv::rancor::Error> {
                #krate::__private::decode_key::<Self::Pk>(__bytes)
            }

            fn pk_prefix() -> ::core::option::Option<#krate::__private::KeyPrefix<Self::Pk>> {
                #pk_prefix
            }
        }
    }
}

/// The body of `Row::set_pk`: `__pk` into the key field, or each part of
/// the tuple into its field.
fn set_pk_body(table: &Table) -> TokenStream {
    match table.pk.fields.as_slice() {
        [single] => {
            let field = &table.fields[*single].ident;
            quote!(self.#field = __pk;)
        }
        several => {
            let parts: Vec<Ident> = (0..several.len())
                .map(|n| format_ident!("__part{}", n))
                .collect();
            let fields = several.iter().map(|&i| &table.fields[i].ident);
            quote! {
                let (#(#parts),*) = __pk;
                #(self.#fields = #parts;)*
            }
        }
    }
}

/// `Row::PkSource`: keys from the rows, or from a generator (spanned on the
/// key type or the generator path, where a missing impl is reported).
fn pk_source_type(table: &Table) -> TokenStream {
    let Table { krate, pk, .. } = table;
    match &pk.source {
        PkSource::Caller => quote!(#krate::__private::CallerPk),
        PkSource::AutoIncrement => {
            let ty = field_type(table, pk.fields[0]);
            quote_spanned!(ty.span()=> #krate::__private::Generated<#krate::AutoIncrement<#ty>>)
        }
        PkSource::Generator(generator) => {
            quote_spanned!(generator.span()=> #krate::__private::Generated<#generator>)
        }
    }
}

/// The prefix function of key type `ty`, if it has one: chosen where the
/// type is known by name (see `worktable_core::__private::PrefixProbe`).
fn prefix_probe(krate: &syn::Path, ty: &TokenStream) -> TokenStream {
    quote! {{
        #[allow(unused_imports, reason = "the probe's method comes from one trait or the other, by the key type")]
        use #krate::__private::{WithPrefix as _, WithoutPrefix as _};
        (&#krate::__private::PrefixProbe::<#ty>::NEW).key_prefix()
    }}
}

fn index_set(table: &Table) -> TokenStream {
    let Table {
        ident, krate, vis, ..
    } = table;
    let set = index_set_ident(table);
    let stores = table.indexes.iter().map(|index| {
        let handle = index.handle_ident(table);
        store_type(table, index, &quote!(#handle))
    });
    let count = table.indexes.len();
    let defaults = table
        .indexes
        .iter()
        .map(|_| quote!(::core::default::Default::default()));
    let arms = (0..count).map(|i| {
        let position = TupleIndex::from(i);
        quote!(#i => &self.#position,)
    });
    quote! {
        #[doc(hidden)]
        #vis struct #set(#(#stores),*);

        #[automatically_derived]
        impl ::core::default::Default for #set {
            fn default() -> Self {
                Self(#(#defaults),*)
            }
        }

        #[automatically_derived]
        impl #krate::__private::IndexSet<#ident> for #set {
            const COUNT: ::core::primitive::usize = #count;

            fn index(
                &self,
                __position: ::core::primitive::usize,
            ) -> &dyn #krate::__private::IndexMaintenance<#ident> {
                match __position {
                    #(#arms)*
                    _ => ::core::panic!("index number {} out of range", __position),
                }
            }
        }
    }
}

/// The handle of field `i`: a zero-sized type implementing `Field`, with the
/// field's visibility (a handle reads the field).
fn field_handle(table: &Table, i: usize) -> TokenStream {
    let Table { ident, krate, .. } = table;
    let field = &table.fields[i];
    let (field_ident, vis, ty) = (&field.ident, &field.vis, &field.ty);
    let handle = field.handle_ident(ident);
    let name = field.name();
    let keyed =
        table.pk.fields.contains(&i) || table.indexes.iter().any(|index| index.fields.contains(&i));
    let doc = format!("Handle of the field `{name}` of [`{ident}`].");
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
        #vis struct #handle;

        #[automatically_derived]
        impl #krate::Field<#ident> for #handle {
            type Value = #ty;
            const NAME: &'static ::core::primitive::str = #name;

            const KEYED: ::core::primitive::bool = #keyed;

            #[inline]
            fn get(__row: &#ident) -> &#ty {
                &__row.#field_ident
            }

            #[inline]
            fn get_mut(__row: &mut #ident) -> &mut #ty {
                &mut __row.#field_ident
            }

            #[inline]
            fn get_archived(
                __row: &#krate::rkyv::Archived<#ident>,
            ) -> &#krate::rkyv::Archived<#ty> {
                &__row.#field_ident
            }
        }
    }
}

/// The visibility of a composite index's handle: that of its fields when
/// they all share one, else private (the handle reads every key field).
fn composite_vis(table: &Table, index: &IndexDef) -> TokenStream {
    let mut visibilities = index
        .fields
        .iter()
        .map(|&i| table.fields[i].vis.to_token_stream().to_string());
    let first = visibilities.next().unwrap_or_default();
    if visibilities.all(|vis| vis == first) {
        table.fields[index.fields[0]].vis.to_token_stream()
    } else {
        TokenStream::new()
    }
}

/// Everything generated for one index: the handle type of a composite
/// index, its `Index` impl, `UniqueIndex` for a unique one, and for an
/// ordered one (not `hash`) `OrderedIndex` and `IndexPrefix` for each
/// leading part of a composite key.
fn handle(table: &Table, position: usize, index: &IndexDef) -> TokenStream {
    let Table { ident, krate, .. } = table;
    let handle = index.handle_ident(table);
    // A field's `#[index]` reuses the field's handle type; a composite index
    // gets its own.
    let handle_type = index
        .composite
        .then(|| composite_handle_type(table, index, &handle));
    let index_impl = index_impl(table, position, index, &handle);
    let unique_impl = index.unique.then(|| {
        quote! {
            #[automatically_derived]
            impl #krate::UniqueIndex<#ident> for #handle {}
        }
    });
    // A hash index keeps no order; an element index meets a row once per
    // element, so it offers whole-element look-ups only.
    let ordered_impl = (!index.hash && index.each.is_none()).then(|| {
        quote! {
            #[automatically_derived]
            impl #krate::OrderedIndex<#ident> for #handle {}
        }
    });
    // A hash index keeps no order, so it has no prefix searches.
    let prefix_lens = if index.hash {
        1..1
    } else {
        1..index.fields.len()
    };
    let prefixes = prefix_lens.map(|len| prefix::index_prefix_impl(table, index, &handle, len));
    quote! {
        #handle_type
        #index_impl
        #unique_impl
        #ordered_impl
        #(#prefixes)*
    }
}

/// The handle type of a composite index, with the visibility of its fields.
fn composite_handle_type(table: &Table, index: &IndexDef, handle: &Ident) -> TokenStream {
    let vis = composite_vis(table, index);
    let doc = format!(
        "Handle of the {} composite index `{}` of [`{}`].",
        match (index.unique, index.hash) {
            (true, true) => "unique hash",
            (true, false) => "unique",
            _ => "non-unique",
        },
        index.name,
        table.ident
    );
    quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
        #vis struct #handle;
    }
}

/// `Index` for the handle of the index at `position` in the index set.
fn index_impl(table: &Table, position: usize, index: &IndexDef, handle: &Ident) -> TokenStream {
    let Table { ident, krate, .. } = table;
    let set = index_set_ident(table);
    let name = &index.name;
    let unique = index.unique;
    let position = TupleIndex::from(position);
    // An element index is keyed by the elements of its `Vec` field.
    let key_ty = match &index.each {
        Some(element) => quote!(#element),
        None => fields_type(table, &index.fields),
    };
    // Spanned on the field types, so that a key type that is not `Key`
    // (not `Ord`, not `Hash`, ...) is reported on the field.
    let key_span = match &index.each {
        Some(element) => element.span(),
        None => index
            .fields
            .iter()
            .map(|&i| field_type(table, i).span())
            .reduce(|a, b| a.join(b).unwrap_or(a))
            .unwrap_or_else(Span::call_site),
    };
    let key_ty_spanned = quote_spanned!(key_span=> #key_ty);
    let store = store_type(table, index, &quote!(Self));
    let field_names = index.fields.iter().map(|&i| table.fields[i].name());
    let key_reads = key_reads(table, index);
    let key_prefix = prefix_probe(krate, &key_ty);
    quote! {
        #[automatically_derived]
        impl #krate::Index<#ident> for #handle {
            type Key = #key_ty_spanned;
            type Store = #store;
            const NAME: &'static ::core::primitive::str = #name;
            const UNIQUE: ::core::primitive::bool = #unique;
            const FIELDS: &'static [&'static ::core::primitive::str] = &[#(#field_names),*];

            #key_reads

            #[inline]
            fn store(__indexes: &#set) -> &Self::Store {
                &__indexes.#position
            }

            fn key_prefix() -> ::core::option::Option<#krate::__private::KeyPrefix<Self::Key>> {
                #key_prefix
            }
        }
    }
}

/// The methods of `Index` that read an index's key out of a row:
/// `key_of_archived`, `key`, `same_key` and `key_is`.
fn key_reads(table: &Table, index: &IndexDef) -> TokenStream {
    if let Some(element) = &index.each {
        return each::key_reads(table, index, element);
    }
    let Table { ident, krate, .. } = table;
    let archived_key = archived_fields_value(table, &index.fields);
    let key_value = fields_value(table, &index.fields, &quote!(__row));
    let same_key = index.fields.iter().map(|&i| {
        let field = &table.fields[i].ident;
        quote!(::core::cmp::PartialEq::eq(&__a.#field, &__b.#field))
    });
    let key_is = match index.fields.as_slice() {
        [single] => {
            let field = &table.fields[*single].ident;
            quote!(#krate::LookupKey::<Self::Key>::eq_key(__key, &__row.#field))
        }
        _ => quote! {
            #krate::LookupKey::<Self::Key>::eq_key(
                __key,
                &<Self as #krate::Index<#ident>>::key(__row),
            )
        },
    };
    quote! {
        #[inline]
        fn key_of_archived(
            __archived: &#krate::rkyv::Archived<#ident>,
        ) -> Self::Key {
            #archived_key
        }

        #[inline]
        fn key(__row: &#ident) -> Self::Key {
            #key_value
        }

        #[inline]
        fn same_key(__a: &#ident, __b: &#ident) -> ::core::primitive::bool {
            #(#same_key)&&*
        }

        #[inline]
        fn key_is<__Q>(__row: &#ident, __key: &__Q) -> ::core::primitive::bool
        where
            __Q: #krate::LookupKey<Self::Key> + ?::core::marker::Sized,
        {
            #key_is
        }
    }
}

fn constants(table: &Table) -> TokenStream {
    let Table { ident, .. } = table;
    let fields = table.fields.iter().map(|field| {
        let (constant, handle, vis) = (field.const_ident(), field.handle_ident(ident), &field.vis);
        let doc = format!("The field `{}`.", field.name());
        quote! {
            #[doc = #doc]
            #vis const #constant: #handle = #handle;
        }
    });
    let composites = table
        .indexes
        .iter()
        .filter(|index| index.composite)
        .map(|index| {
            let (constant, handle) = (index.const_ident(), index.handle_ident(table));
            let vis = composite_vis(table, index);
            let doc = format!("The composite index `{}`.", index.name);
            quote! {
                #[doc = #doc]
                #vis const #constant: #handle = #handle;
            }
        });
    quote! {
        #[automatically_derived]
        impl #ident {
            #(#fields)*
            #(#composites)*
        }
    }
}

/// `Row::SCHEMA`: the table as the model holds it, with types and the key
/// generator's path in their canonical spelling. The slices are items of
/// their own so that they are `'static`.
fn schema(table: &Table) -> TokenStream {
    let Table {
        krate,
        schema_version,
        ..
    } = table;
    let fields = table.fields.iter().map(|field| {
        let (name, ty) = (field.name(), canonical::type_string(&field.ty));
        quote!(#krate::__private::schema_field(#name, #ty))
    });
    let key_source = match &table.pk.source {
        PkSource::Caller => quote!(#krate::KeySource::Caller),
        PkSource::AutoIncrement => quote!(#krate::KeySource::AutoIncrement),
        PkSource::Generator(path) => {
            let path = canonical::path_string(path);
            quote!(#krate::KeySource::Generator(#path))
        }
    };
    let indexes = table.indexes.iter().map(|index| {
        let name = &index.name;
        let fields = index.fields.iter().map(|&i| table.fields[i].name());
        let unique = index.unique;
        quote!(#krate::__private::schema_index(#name, &[#(#fields),*], #unique))
    });
    quote! {{
        const __FIELDS: &[#krate::SchemaField] = &[#(#fields),*];
        const __INDEXES: &[#krate::SchemaIndex] = &[#(#indexes),*];
        #krate::__private::schema(
            <Self as #krate::Row>::TABLE_NAME,
            #schema_version,
            __FIELDS,
            <Self as #krate::Row>::PK_FIELDS,
            #key_source,
            __INDEXES,
        )
    }}
}
