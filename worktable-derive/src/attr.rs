//! Stage 1: the attributes as written, parsed by darling.

use darling::ast::NestedMeta;
use darling::util::{Flag, PathList, SpannedValue};
use darling::{FromDeriveInput, FromField, FromMeta};
use syn::{Attribute, DeriveInput, Expr, Ident, Meta, Path, Type, Visibility};

use crate::shape::{Refusals, named_fields};

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
    /// `schema_version = N`: bumped by hand when a nested column type's
    /// layout changes, which the derive cannot see.
    pub(crate) schema_version: Option<u32>,
    /// `index(name = "...", fields(a, b), unique)` (or `fields = [a, b]`),
    /// any number of times.
    #[darling(multiple, rename = "index")]
    pub(crate) indexes: Vec<CompositeIndexInput>,
}

/// One composite index declared at struct level.
#[derive(FromMeta)]
pub(crate) struct CompositeIndexInput {
    pub(crate) name: SpannedValue<String>,
    pub(crate) fields: FieldList,
    pub(crate) unique: Flag,
    /// Keys only looked up whole: a hash map, no order (needs `unique`).
    pub(crate) hash: Flag,
    /// Not allowed here (only on a `Vec<T>` field): read to say so.
    pub(crate) each: Flag,
}

/// The fields of a composite index, as `fields(a, b)` or `fields = [a, b]`.
/// The second spelling exists for clippy: its `duplicated_attributes` lint
/// reads two lists `fields(a, b)` and `fields(c, a, b)` in one attribute as
/// duplicated attributes, and leaves an array alone.
pub(crate) struct FieldList(Vec<Path>);

impl std::ops::Deref for FieldList {
    type Target = [Path];

    fn deref(&self) -> &[Path] {
        &self.0
    }
}

impl FromMeta for FieldList {
    fn from_list(items: &[NestedMeta]) -> darling::Result<Self> {
        PathList::from_list(items).map(|paths| Self(paths.to_vec()))
    }

    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match expr {
            Expr::Array(array) => array
                .elems
                .iter()
                .map(|elem| match elem {
                    Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => {
                        Ok(path.path.clone())
                    }
                    other => Err(darling::Error::custom(
                        "expected a field name: `fields = [a, b]` lists the struct's fields",
                    )
                    .with_span(other)),
                })
                .collect::<darling::Result<Vec<_>>>()
                .map(Self),
            Expr::Group(group) => Self::from_expr(&group.expr),
            other => Err(
                darling::Error::custom("expected `fields(a, b)` or `fields = [a, b]`")
                    .with_span(other),
            ),
        }
    }
}

/// A field with its `#[pk]` / `#[index]` attributes still unparsed.
#[derive(FromField)]
#[darling(forward_attrs(pk, index, table))]
pub(crate) struct FieldInput {
    pub(crate) ident: Option<Ident>,
    pub(crate) vis: Visibility,
    pub(crate) ty: Type,
    pub(crate) attrs: Vec<Attribute>,
}

/// `#[pk]`, `#[pk(autoincrement)]`, `#[pk(generator = path)]`, each with
/// `hash` beside it or alone (`#[pk(hash)]`).
#[derive(FromMeta, Default)]
pub(crate) struct PkAttr {
    pub(crate) autoincrement: Flag,
    pub(crate) generator: Option<Path>,
    /// Keys only looked up whole: no ordered copy of the keys.
    pub(crate) hash: Flag,
}

/// `#[index]`, `#[index(unique)]`, `#[index(unique, hash)]`,
/// `#[index(each)]`.
#[derive(FromMeta, Default)]
pub(crate) struct IndexAttr {
    pub(crate) unique: Flag,
    /// Keys only looked up whole: a hash map, no order (needs `unique`).
    pub(crate) hash: Flag,
    /// On a `Vec<T>` field: one entry per distinct element.
    pub(crate) each: Flag,
}

/// A field's parsed attributes, each with the attribute it came from.
pub(crate) struct ParsedField {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    pub(crate) ty: Type,
    pub(crate) pk: Option<(Attribute, PkAttr)>,
    pub(crate) index: Option<(Attribute, IndexAttr)>,
}

/// Everything stage 1 reads from the input.
pub(crate) struct Parsed {
    pub(crate) table: TableInput,
    pub(crate) fields: Vec<ParsedField>,
}

/// Parses the struct and its attributes into `errors`. Returns what could be
/// parsed, with defaults where an attribute was malformed, so that later
/// checks still run; `None` only when the input is not a struct with named
/// fields.
pub(crate) fn parse(
    input: &DeriveInput,
    errors: &mut darling::error::Accumulator,
) -> Option<Parsed> {
    let named = named_fields(input, &REFUSALS, errors);
    check_not_generic(input, errors);
    let table = parse_table_attr(input, errors);
    let mut fields = Vec::new();
    for field in named?.named.iter() {
        if let Some(field) = errors.handle(FieldInput::from_field(field)) {
            fields.push(parse_field(field, errors));
        }
    }
    Some(Parsed { table, fields })
}

/// What `#[derive(Table)]` says about the shapes it does not take.
const REFUSALS: Refusals = Refusals {
    tuple: "#[derive(Table)] needs named fields: a tuple struct has no field names to index by",
    unit: "#[derive(Table)] needs a struct with named fields, one of them the #[pk]",
    enumeration: "#[derive(Table)] works on structs with named fields, not enums; \
                  an enum can be a column of a row struct",
    union: "#[derive(Table)] works on structs with named fields, not unions",
};

/// Reports generic parameters or a where clause on the row type.
fn check_not_generic(input: &DeriveInput, errors: &mut darling::error::Accumulator) {
    if let Some(param) = input.generics.params.first() {
        errors.push(
            darling::Error::custom(
                "#[derive(Table)] does not support generic structs: a table's row type must be concrete",
            )
            .with_span(param),
        );
    } else if let Some(clause) = &input.generics.where_clause {
        errors.push(
            darling::Error::custom(
                "#[derive(Table)] does not support where clauses on the row type",
            )
            .with_span(&clause.where_token),
        );
    }
}

/// `#[table(...)]` (defaults when it is malformed), reporting `#[pk]` and
/// `#[index]` put on the struct instead of a field.
fn parse_table_attr(input: &DeriveInput, errors: &mut darling::error::Accumulator) -> TableInput {
    let table = errors
        .handle(TableInput::from_derive_input(input))
        .unwrap_or_else(|| TableInput {
            ident: input.ident.clone(),
            vis: input.vis.clone(),
            attrs: Vec::new(),
            name: None,
            krate: None,
            schema_version: None,
            indexes: Vec::new(),
        });
    for attr in &table.attrs {
        errors.push(
            darling::Error::custom(format!(
                "#[{}] goes on a field, not on the struct",
                attr_name(attr)
            ))
            .with_span(attr.path()),
        );
    }
    table
}

fn parse_field(field: FieldInput, errors: &mut darling::error::Accumulator) -> ParsedField {
    let mut parsed = ParsedField {
        ident: field.ident.expect("named fields have idents"),
        vis: field.vis,
        ty: field.ty,
        pk: None,
        index: None,
    };
    for attr in field.attrs {
        match attr_name(&attr).as_str() {
            "pk" => {
                if parsed.pk.is_some() {
                    errors.push(duplicate_attr(&attr));
                } else {
                    // A malformed #[pk(...)] still makes the field the key, so
                    // that no spurious "no primary key" error follows.
                    let pk = errors
                        .handle(parse_meta::<PkAttr>(&attr))
                        .unwrap_or_default();
                    parsed.pk = Some((attr, pk));
                }
            }
            "index" => {
                if parsed.index.is_some() {
                    errors.push(duplicate_attr(&attr));
                } else {
                    let index = errors
                        .handle(parse_meta::<IndexAttr>(&attr))
                        .unwrap_or_default();
                    parsed.index = Some((attr, index));
                }
            }
            _ => errors.push(
                darling::Error::custom(
                    "#[table(...)] goes on the struct; on a field use #[pk] or #[index]",
                )
                .with_span(attr.path()),
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
    .with_span(attr.path())
}

fn attr_name(attr: &Attribute) -> String {
    attr.path()
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default()
}
