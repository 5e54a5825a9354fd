//! Stage 2: checks the parsed attributes and builds the model codegen works
//! from. Every check runs; all errors are reported together.

use darling::util::SpannedValue;
use proc_macro2::Span;
use quote::format_ident;
use syn::ext::IdentExt;
use syn::{Ident, Path, Type, Visibility, parse_quote};

use crate::attr::{CompositeIndexInput, Parsed, ParsedField};
use crate::types::{
    camel_case, find_float, find_pointer_sized, is_snake_identifier, primitive_integer, snake_case,
    vec_element,
};

/// At most this many indexes per table (the write path tracks changed
/// indexes in a 64-bit mask).
const MAX_INDEXES: usize = 64;

/// A checked table definition.
pub(crate) struct Table {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    pub(crate) name: String,
    /// Path of `worktable_core`.
    pub(crate) krate: Path,
    /// `#[table(schema_version = N)]`, 0 by default.
    pub(crate) schema_version: u32,
    pub(crate) fields: Vec<Field>,
    pub(crate) pk: Pk,
    pub(crate) indexes: Vec<IndexDef>,
}

pub(crate) struct Field {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    pub(crate) ty: Type,
}

impl Field {
    /// The field's name without `r#`.
    pub(crate) fn name(&self) -> String {
        self.ident.unraw().to_string()
    }

    /// The associated constant holding the field's handle: `CLIENT_REF`.
    pub(crate) fn const_ident(&self) -> Ident {
        Ident::new(&self.name().to_uppercase(), self.ident.span())
    }

    /// The field's handle type: `__OrderClientRef`. For a field with
    /// `#[index]` it is also the index's handle.
    pub(crate) fn handle_ident(&self, table: &Ident) -> Ident {
        format_ident!(
            "__{}{}",
            table.unraw(),
            camel_case(&self.name()),
            span = self.ident.span()
        )
    }
}

/// The primary key: fields (in declaration order) and where keys come from.
pub(crate) struct Pk {
    pub(crate) fields: Vec<usize>,
    pub(crate) source: PkSource,
    /// `#[pk(hash)]` on any key field: the primary index keeps no ordered
    /// copy of the keys.
    pub(crate) hash: bool,
}

pub(crate) enum PkSource {
    /// Plain `#[pk]`: the row carries its key.
    Caller,
    /// `#[pk(autoincrement)]` on the single key field.
    AutoIncrement,
    /// `#[pk(generator = path)]`.
    Generator(Path),
}

/// One secondary index.
pub(crate) struct IndexDef {
    /// The index name: the field name, or the composite index's `name`.
    pub(crate) name: String,
    /// Where the index is declared.
    pub(crate) span: Span,
    /// Key fields, in key order.
    pub(crate) fields: Vec<usize>,
    pub(crate) unique: bool,
    /// `hash`: a hash map from key to primary key, without order (only
    /// with `unique`).
    pub(crate) hash: bool,
    /// `each` on a `Vec<T>` field: the element type `T`, which keys one
    /// entry per distinct element of a row's field (never unique, never
    /// `hash`, never composite).
    pub(crate) each: Option<Type>,
    /// Declared at struct level (`#[table(index(...))]`) rather than with
    /// `#[index]` on a field; only composite indexes have their own handle
    /// type and constant.
    pub(crate) composite: bool,
}

impl IndexDef {
    /// The associated constant holding a composite index's handle:
    /// `BY_ACCOUNT_DAY`.
    pub(crate) fn const_ident(&self) -> Ident {
        Ident::new(&self.name.to_uppercase(), self.span)
    }

    /// The handle type: the field's handle for `#[index]`,
    /// `__OrderByAccountDayIndex` for a composite index. The leading
    /// underscores keep it from shadowing a user type used as a column type.
    pub(crate) fn handle_ident(&self, table: &Table) -> Ident {
        if self.composite {
            format_ident!(
                "__{}{}Index",
                table.ident.unraw(),
                camel_case(&self.name),
                span = self.span
            )
        } else {
            table.fields[self.fields[0]].handle_ident(&table.ident)
        }
    }
}

impl Table {
    /// Checks `parsed`, pushing every problem into `errors`. The model is
    /// only used when `errors` stays empty.
    pub(crate) fn build(parsed: Parsed, errors: &mut darling::error::Accumulator) -> Self {
        let Parsed {
            table: input,
            fields: parsed_fields,
        } = parsed;

        let name = match input.name {
            Some(name) if name.trim().is_empty() => {
                errors.push(error_at(name.span(), "the table name must not be empty"));
                String::new()
            }
            Some(name) => name.into_inner(),
            None => snake_case(&input.ident.unraw().to_string()),
        };
        let krate = input
            .krate
            .unwrap_or_else(|| parse_quote!(::worktable_core));

        for field in &parsed_fields {
            if let Some(pointer_sized) = find_pointer_sized(&field.ty) {
                errors.push(
                    darling::Error::custom(format!(
                        "`{pointer_sized}` columns are not supported: rkyv archives `{pointer_sized}` \
                         as 32 bits and would silently cut larger values; use `{}64` (or `{}32`)",
                        &pointer_sized.to_string()[..1],
                        &pointer_sized.to_string()[..1],
                    ))
                    .with_span(pointer_sized),
                );
            }
        }
        let pk = build_pk(&input.ident, &parsed_fields, errors);
        let mut indexes = field_indexes(&parsed_fields, errors);
        for composite in input.indexes {
            if let Some(index) = composite_index(composite, &parsed_fields, errors) {
                indexes.push(index);
            }
        }
        check_constant_names(&parsed_fields, &indexes, errors);
        if indexes.len() > MAX_INDEXES {
            errors.push(error_at(
                indexes[MAX_INDEXES].span,
                format!("a table can have at most {MAX_INDEXES} indexes"),
            ));
        }

        let fields = parsed_fields
            .into_iter()
            .map(|field| Field {
                ident: field.ident,
                vis: field.vis,
                ty: field.ty,
            })
            .collect();
        Table {
            ident: input.ident,
            vis: input.vis,
            name,
            krate,
            schema_version: input.schema_version.unwrap_or(0),
            fields,
            pk,
            indexes,
        }
    }
}

fn build_pk(table: &Ident, fields: &[ParsedField], errors: &mut darling::error::Accumulator) -> Pk {
    let key_fields: Vec<usize> = (0..fields.len())
        .filter(|&i| fields[i].pk.is_some())
        .collect();
    if key_fields.is_empty() {
        errors.push(
            darling::Error::custom(
                "no primary key: mark a field with #[pk] (or several fields, for a composite key)",
            )
            .with_span(table),
        );
    }
    let mut source = PkSource::Caller;
    for &i in &key_fields {
        let field = &fields[i];
        let (_, attr) = field.pk.as_ref().expect("key fields have #[pk]");
        if attr.autoincrement.is_present() {
            let span = attr.autoincrement.span();
            if key_fields.len() > 1 {
                errors.push(error_at(
                    span,
                    "autoincrement needs a single #[pk] field; give a composite key a \
                     #[pk(generator = ...)] instead",
                ));
            } else if primitive_integer(&field.ty).is_none() {
                errors.push(
                    darling::Error::custom(
                        "autoincrement needs a primitive integer key (u8, u16, u32, u64, i8, i16, \
                         i32, i64); use #[pk(generator = ...)] for other key types",
                    )
                    .with_span(&field.ty),
                );
            }
            if attr.generator.is_some() {
                errors.push(error_at(
                    span,
                    "choose one of `autoincrement` and `generator`, not both",
                ));
            }
            source = PkSource::AutoIncrement;
        }
        if let Some(generator) = &attr.generator {
            if matches!(source, PkSource::Generator(_)) {
                errors.push(
                    darling::Error::custom("only one #[pk] field can name the key generator")
                        .with_span(generator),
                );
            } else if !attr.autoincrement.is_present() {
                source = PkSource::Generator(generator.clone());
            }
        }
    }
    let hash = key_fields.iter().any(|&i| {
        fields[i]
            .pk
            .as_ref()
            .is_some_and(|(_, attr)| attr.hash.is_present())
    });
    Pk {
        fields: key_fields,
        source,
        hash,
    }
}

fn field_indexes(
    fields: &[ParsedField],
    errors: &mut darling::error::Accumulator,
) -> Vec<IndexDef> {
    let mut indexes = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        let Some((_, attr)) = &field.index else {
            continue;
        };
        if let Some(float) = find_float(&field.ty) {
            errors.push(float_key_error(float));
        }
        let each = attr
            .each
            .is_present()
            .then(|| each_element(field, attr, errors))
            .flatten();
        if !attr.each.is_present() {
            check_hash(&attr.hash, attr.unique.is_present(), errors);
        }
        indexes.push(IndexDef {
            name: field.ident.unraw().to_string(),
            span: field.ident.span(),
            fields: vec![i],
            unique: attr.unique.is_present(),
            hash: attr.hash.is_present(),
            each,
            composite: false,
        });
    }
    indexes
}

fn composite_index(
    input: CompositeIndexInput,
    fields: &[ParsedField],
    errors: &mut darling::error::Accumulator,
) -> Option<IndexDef> {
    let name: SpannedValue<String> = input.name;
    let mut ok = true;
    if !is_snake_identifier(&name) {
        errors.push(error_at(
            name.span(),
            format!(
                "index name `{}` must be a snake_case identifier, like `{}`",
                *name,
                snake_case(&name)
            ),
        ));
        ok = false;
    }
    let mut key_fields = Vec::new();
    for path in input.fields.iter() {
        let found = path.get_ident().and_then(|ident| {
            fields
                .iter()
                .position(|field| field.ident.unraw() == ident.unraw())
        });
        match found {
            None => {
                let alternates: Vec<String> = fields
                    .iter()
                    .map(|field| field.ident.unraw().to_string())
                    .collect();
                errors.push(
                    darling::Error::unknown_field_with_alts(
                        &darling::util::path_to_string(path),
                        &alternates,
                    )
                    .with_span(path),
                );
                ok = false;
            }
            Some(i) if key_fields.contains(&i) => {
                errors.push(
                    darling::Error::custom("this field is already part of the index")
                        .with_span(path),
                );
                ok = false;
            }
            Some(i) => {
                if let Some(float) = find_float(&fields[i].ty) {
                    errors.push(float_key_error(float));
                    ok = false;
                }
                key_fields.push(i);
            }
        }
    }
    if input.fields.len() < 2 {
        errors.push(error_at(
            name.span(),
            "a composite index needs at least two fields; for one field put #[index] on it",
        ));
        ok = false;
    }
    check_hash(&input.hash, input.unique.is_present(), errors);
    if input.each.is_present() {
        errors.push(error_at(
            input.each.span(),
            "`each` indexes the elements of one `Vec<T>` field: put `#[index(each)]` on that field \
             (a composite index keys each row once, by the whole values of its fields)",
        ));
        ok = false;
    }
    ok.then(|| IndexDef {
        name: name.as_str().to_owned(),
        span: name.span(),
        fields: key_fields,
        unique: input.unique.is_present(),
        hash: input.hash.is_present(),
        each: None,
        composite: true,
    })
}

/// The element type of an `#[index(each)]` field, after the checks `each`
/// needs: a `Vec<T>` field, neither `unique` (elements repeat across rows)
/// nor `hash` (the entries are ordered).
fn each_element(
    field: &ParsedField,
    attr: &crate::attr::IndexAttr,
    errors: &mut darling::error::Accumulator,
) -> Option<Type> {
    if attr.unique.is_present() {
        errors.push(error_at(
            attr.unique.span(),
            "`each` cannot be `unique`: an element index has one entry per element, and rows \
             may share elements; drop `unique`",
        ));
    }
    if attr.hash.is_present() {
        errors.push(error_at(
            attr.hash.span(),
            "`each` cannot be `hash`: an element index keeps its entries in order; drop `hash`",
        ));
    }
    let element = vec_element(&field.ty);
    if element.is_none() {
        errors.push(
            darling::Error::custom(
                "`each` indexes the elements of a `Vec<T>` field, and this field is not a `Vec`; \
                 for the whole value use `#[index]`",
            )
            .with_span(&field.ty),
        );
    }
    element.cloned()
}

/// `hash` is for unique indexes only: a non-unique index finds the rows of
/// a key in its ordered entries.
fn check_hash(hash: &darling::util::Flag, unique: bool, errors: &mut darling::error::Accumulator) {
    if hash.is_present() && !unique {
        errors.push(error_at(
            hash.span(),
            "`hash` needs `unique`: write `#[index(unique, hash)]` (a non-unique index keeps its keys in order)",
        ));
    }
}

/// Every field and every composite index gets an associated constant named
/// in upper case; two of them must not share a name.
fn check_constant_names(
    fields: &[ParsedField],
    indexes: &[IndexDef],
    errors: &mut darling::error::Accumulator,
) {
    let mut seen: Vec<String> = Vec::new();
    let named = fields
        .iter()
        .map(|field| (field.ident.unraw().to_string(), field.ident.span()))
        .chain(
            indexes
                .iter()
                .filter(|index| index.composite)
                .map(|index| (index.name.clone(), index.span)),
        );
    for (name, span) in named {
        let constant = name.to_uppercase();
        if seen.contains(&constant) {
            errors.push(error_at(
                span,
                format!(
                    "another field or index is already named `{name}` (each gets a handle \
                     constant, here `{constant}`); rename one of them"
                ),
            ));
        } else {
            seen.push(constant);
        }
    }
}

fn float_key_error(float: &Ident) -> darling::Error {
    darling::Error::custom(format!(
        "`{float}` has no total order, so it cannot be part of an index key; \
         use `worktable_core::Ordered{}` (ordered by `total_cmp`) as the field type",
        float.to_string().to_uppercase()
    ))
    .with_span(float)
}

fn error_at(span: Span, message: impl std::fmt::Display) -> darling::Error {
    darling::Error::from(syn::Error::new(span, message))
}
