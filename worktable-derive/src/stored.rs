//! `#[row]` and `#[column]`: the derives a stored type needs, added by
//! full path, so that a struct that already derives serde's `Serialize`
//! and `Deserialize` (imported by those names) gets rkyv's beside them
//! without a name clash.

use darling::FromMeta;
use darling::ast::NestedMeta;
use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{Attribute, DeriveInput, Path, Token};

/// What the attribute adds.
#[derive(Clone, Copy)]
pub(crate) enum Stored {
    /// A table's row: `Table` and rkyv's three derives.
    Row,
    /// A type stored inside rows: rkyv's three derives.
    Column,
}

impl Stored {
    fn name(self) -> &'static str {
        match self {
            Self::Row => "#[row]",
            Self::Column => "#[column]",
        }
    }
}

/// `#[row(crate = path)]`: where `worktable_core` is, when renamed.
#[derive(FromMeta, Default)]
struct StoredArgs {
    #[darling(rename = "crate")]
    krate: Option<Path>,
}

/// The item with the derives it lacks added in front of its attributes.
/// A derive it would add that the item already lists is reported, and the
/// item is still expanded as if it had been written right (without a
/// second `Table`; with the item's own rkyv derives instead of ours), so
/// that the report is the only error.
pub(crate) fn expand(kind: Stored, args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = darling::Error::accumulator();
    let args = errors
        .handle(NestedMeta::parse_meta_list(args).map_err(darling::Error::from))
        .and_then(|list| errors.handle(StoredArgs::from_list(&list)))
        .unwrap_or_default();
    let output = match syn::parse2::<DeriveInput>(item.clone()) {
        Ok(input) => add_derives(kind, &args, input, &mut errors),
        Err(error) => {
            errors.push(error.into());
            item
        }
    };
    let mut out = errors
        .finish()
        .err()
        .map_or_else(TokenStream::new, darling::Error::write_errors);
    out.extend(output);
    out
}

/// The item with the derives `kind` adds; clashes go to `errors`.
fn add_derives(
    kind: Stored,
    args: &StoredArgs,
    mut input: DeriveInput,
    errors: &mut darling::error::Accumulator,
) -> TokenStream {
    let mut derives_rkyv = false;
    for attr in input
        .attrs
        .iter_mut()
        .filter(|attr| attr.path().is_ident("derive"))
    {
        let Some(paths) = errors.handle(derived_paths(attr)) else {
            continue;
        };
        let mut kept: Punctuated<Path, Token![,]> = Punctuated::new();
        for path in paths {
            match clash(kind, &path) {
                Some(Clash::Rkyv(message)) => {
                    errors.push(darling::Error::custom(message).with_span(&path));
                    derives_rkyv = true;
                    kept.push(path);
                }
                Some(Clash::Table(message)) => {
                    errors.push(darling::Error::custom(message).with_span(&path));
                }
                None => kept.push(path),
            }
        }
        *attr = syn::parse_quote!(#[derive(#kept)]);
    }
    let krate = args
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::worktable_core));
    let mut derives: Punctuated<Path, Token![,]> = Punctuated::new();
    if let Stored::Row = kind {
        derives.push(syn::parse_quote!(#krate::Table));
    }
    if !derives_rkyv {
        derives.push(syn::parse_quote!(#krate::rkyv::Archive));
        derives.push(syn::parse_quote!(#krate::rkyv::Serialize));
        derives.push(syn::parse_quote!(#krate::rkyv::Deserialize));
    }
    // Helper attributes go after every derive that introduces them (ours
    // comes first; a hand-written `Archive` may come anywhere before).
    if !input.attrs.iter().any(names_rkyv_crate) {
        input
            .attrs
            .push(syn::parse_quote!(#[rkyv(crate = #krate::rkyv)]));
    }
    if let (Stored::Row, Some(path)) = (kind, &args.krate) {
        input.attrs.push(syn::parse_quote!(#[table(crate = #path)]));
    }
    quote! {
        #[derive(#derives)]
        #input
    }
}

/// The paths a `#[derive(...)]` attribute lists.
fn derived_paths(attr: &Attribute) -> darling::Result<Punctuated<Path, Token![,]>> {
    Ok(attr.parse_args_with(Punctuated::parse_terminated)?)
}

/// A derive the item lists that `#[row]` / `#[column]` adds as well.
enum Clash {
    /// rkyv's `Archive`: the item derives rkyv's traits by hand.
    Rkyv(String),
    /// `Table`, under `#[row]`.
    Table(String),
}

/// Whether deriving `path` by hand clashes with what `kind` adds.
/// `Serialize` and `Deserialize` are left alone: by name they are serde's
/// as often as rkyv's, and the attribute exists for serde's.
fn clash(kind: Stored, path: &Path) -> Option<Clash> {
    let last = path.segments.last()?.ident.to_string();
    let name = kind.name();
    match (kind, last.as_str()) {
        (_, "Archive") => Some(Clash::Rkyv(format!(
            "{name} derives rkyv's `Archive`, `Serialize` and `Deserialize` itself: \
             remove this `Archive` (and rkyv's `Serialize` and `Deserialize`, if they are \
             listed), or remove {name} and derive them by hand"
        ))),
        (Stored::Row, "Table") => Some(Clash::Table(format!(
            "{name} derives `Table` itself: remove this one"
        ))),
        _ => None,
    }
}

/// Whether `attr` is `#[rkyv(...)]` with a `crate = ...` in it.
fn names_rkyv_crate(attr: &Attribute) -> bool {
    let Ok(list) = attr.meta.require_list() else {
        return false;
    };
    if !attr.path().is_ident("rkyv") {
        return false;
    }
    let tokens: Vec<TokenTree> = list.tokens.clone().into_iter().collect();
    tokens.windows(2).any(|pair| {
        matches!(&pair[0], TokenTree::Ident(ident) if ident == "crate")
            && matches!(&pair[1], TokenTree::Punct(punct) if punct.as_char() == '=')
    })
}
