//! Stage 1: the attributes as written, parsed by darling.

use darling::util::{Flag, PathList, SpannedValue};
use darling::{FromDeriveInput, FromField, FromMeta};
use syn::{Attribute, Data, DeriveInput, Fields, Ident, Meta, Path, Type, Visibility};

/// `#[table(...)]` on the struct, and the struct itself.
#[derive(FromDeriveInput)]
#[darling(attributes(table), forward_attrs(pk, index))]
pub(crate) struct TableInput {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    pub(crate) attrs: Vec<Attribute>,
    /// `name = "..."`.
    pub(crate) name: Option<SpannedValue<String>>,
    /// `crate = "..."` or `crate = path`.
    #[darling(rename = "crate")]
    pub(crate) krate: Option<Path>,
    /// `index(name = "...", fields(a, b), unique)`, any number of times.
    #[darling(multiple, rename = "index")]
    pub(crate) indexes: Vec<CompositeIndexInput>,
}

/// One composite index declared at struct level.
#[derive(FromMeta)]
pub(crate) struct CompositeIndexInput {
    pub(crate) name: SpannedValue<String>,
    pub(crate) fields: PathList,
    pub(crate) unique: Flag,
}

/// A field with its `#[pk]` / `#[index]` attributes still unparsed.
#[derive(FromField)]
#[darling(forward_attrs(pk, index, table))]
pub(crate) struct FieldInput {
    pub(crate) ident: Option<Ident>,
    pub(crate) ty: Type,
    pub(crate) attrs: Vec<Attribute>,
}

/// `#[pk]`, `#[pk(autoincrement)]`, `#[pk(generator = path)]`.
#[derive(FromMeta, Default)]
pub(crate) struct PkAttr {
    pub(crate) autoincrement: Flag,
    pub(crate) generator: Option<Path>,
}

/// `#[index]`, `#[index(unique)]`.
#[derive(FromMeta, Default)]
pub(crate) struct IndexAttr {
    pub(crate) unique: Flag,
}

/// A field's parsed attributes, each with the attribute it came from.
pub(crate) struct ParsedField {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) pk: Option<(Attribute, PkAttr)>,
    pub(crate) index: Option<(Attribute, IndexAttr)>,
}

/// Everything stage 1 reads from the input.
pub(crate) struct Parsed {
    pub(crate) table: TableInput,
    pub(crate) fields: Vec<ParsedField>,
}

/// Parses the struct and its attributes, reporting every error found.
pub(crate) fn parse(input: &DeriveInput) -> darling::Result<Parsed> {
    let mut errors = darling::Error::accumulator();
    let named = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => Some(named),
            Fields::Unnamed(fields) => {
                errors.push(
                    darling::Error::custom(
                        "#[derive(Table)] needs named fields: a tuple struct has no field names to index by",
                    )
                    .with_span(fields),
                );
                None
            }
            Fields::Unit => {
                errors.push(
                    darling::Error::custom(
                        "#[derive(Table)] needs a struct with named fields, one of them the #[pk]",
                    )
                    .with_span(&input.ident),
                );
                None
            }
        },
        Data::Enum(data) => {
            errors.push(
                darling::Error::custom(
                    "#[derive(Table)] works on structs with named fields, not enums; \
                     an enum can be a column of a row struct",
                )
                .with_span(&data.enum_token),
            );
            None
        }
        Data::Union(data) => {
            errors.push(
                darling::Error::custom(
                    "#[derive(Table)] works on structs with named fields, not unions",
                )
                .with_span(&data.union_token),
            );
            None
        }
    };
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        errors.push(
            darling::Error::custom(
                "#[derive(Table)] does not support generic structs: a table's row type must be concrete",
            )
            .with_span(&input.generics),
        );
    }
    let table = errors.handle(TableInput::from_derive_input(input));
    if let Some(table) = &table {
        for attr in &table.attrs {
            errors.push(
                darling::Error::custom(format!(
                    "#[{}] goes on a field, not on the struct",
                    attr_name(attr)
                ))
                .with_span(attr),
            );
        }
    }
    let mut fields = Vec::new();
    for field in named.into_iter().flat_map(|named| &named.named) {
        if let Some(field) = errors.handle(FieldInput::from_field(field)) {
            fields.push(parse_field(field, &mut errors));
        }
    }
    errors.finish()?;
    Ok(Parsed {
        table: table.expect("no errors, so the table attributes parsed"),
        fields,
    })
}

fn parse_field(field: FieldInput, errors: &mut darling::error::Accumulator) -> ParsedField {
    let mut parsed = ParsedField {
        ident: field.ident.expect("named fields have idents"),
        ty: field.ty,
        pk: None,
        index: None,
    };
    for attr in field.attrs {
        match attr_name(&attr).as_str() {
            "pk" => {
                if parsed.pk.is_some() {
                    errors.push(duplicate_attr(&attr));
                } else if let Some(pk) = errors.handle(parse_meta::<PkAttr>(&attr)) {
                    parsed.pk = Some((attr, pk));
                }
            }
            "index" => {
                if parsed.index.is_some() {
                    errors.push(duplicate_attr(&attr));
                } else if let Some(index) = errors.handle(parse_meta::<IndexAttr>(&attr)) {
                    parsed.index = Some((attr, index));
                }
            }
            _ => errors.push(
                darling::Error::custom(
                    "#[table(...)] goes on the struct; on a field use #[pk] or #[index]",
                )
                .with_span(&attr),
            ),
        }
    }
    parsed
}

/// A bare `#[attr]` means all defaults; `#[attr(...)]` is parsed by darling.
fn parse_meta<T: FromMeta + Default>(attr: &Attribute) -> darling::Result<T> {
    match &attr.meta {
        Meta::Path(_) => Ok(T::default()),
        meta => T::from_meta(meta),
    }
}

fn duplicate_attr(attr: &Attribute) -> darling::Error {
    darling::Error::custom(format!(
        "duplicate #[{}] attribute: give each field at most one",
        attr_name(attr)
    ))
    .with_span(attr)
}

fn attr_name(attr: &Attribute) -> String {
    attr.path()
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default()
}
