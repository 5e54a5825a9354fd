//! The row type's schema as the metadata file stores it, and what differs
//! between a stored schema and a row type's: [`SchemaDifference`].

use std::fmt;

use worktable_core::{KeySource, Schema};

use crate::meta::{StoredField, StoredIndex, StoredKeySource, StoredSchema};

/// `schema` as the metadata file stores it.
pub(crate) fn stored(schema: &Schema) -> StoredSchema {
    StoredSchema {
        version: schema.schema_version(),
        fields: schema
            .fields()
            .iter()
            .map(|field| StoredField {
                name: field.name().to_owned(),
                ty: field.ty().to_owned(),
            })
            .collect(),
        pk: schema
            .key_fields()
            .iter()
            .map(|name| (*name).to_owned())
            .collect(),
        key_source: match schema.key_source() {
            KeySource::AutoIncrement => StoredKeySource::AutoIncrement,
            KeySource::Generator(path) => StoredKeySource::Generator(path.to_owned()),
            // `Caller`, and any source a later core adds: described as the
            // caller's, the fingerprint still tells them apart.
            _ => StoredKeySource::Caller,
        },
        indexes: schema
            .indexes()
            .iter()
            .map(|index| StoredIndex {
                name: index.name().to_owned(),
                fields: index
                    .fields()
                    .iter()
                    .map(|name| (*name).to_owned())
                    .collect(),
                unique: index.is_unique(),
            })
            .collect(),
    }
}

/// One way a stored schema differs from a row type's, as a
/// [`OpenError::SchemaMismatch`](super::OpenError::SchemaMismatch)
/// lists it: what the files were written with, then what the row type
/// says.
///
/// Index differences are listed for information: indexes are rebuilt from
/// the rows when a table opens, so they alone never refuse an open.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaDifference {
    /// `#[table(schema_version = N)]` differs.
    Version {
        /// The stored version.
        stored: u32,
        /// The row type's.
        current: u32,
    },
    /// The row type has a field the files do not.
    FieldAdded {
        /// The field.
        name: String,
        /// Its type.
        ty: String,
    },
    /// The files have a field the row type does not.
    FieldRemoved {
        /// The field.
        name: String,
        /// Its stored type.
        ty: String,
    },
    /// A field's type changed.
    FieldType {
        /// The field.
        name: String,
        /// The stored type.
        stored: String,
        /// The row type's.
        current: String,
    },
    /// The same fields, in another order (rkyv lays fields out in order).
    FieldOrder {
        /// The stored order.
        stored: Vec<String>,
        /// The row type's.
        current: Vec<String>,
    },
    /// The primary key's fields changed.
    Key {
        /// The stored key fields.
        stored: Vec<String>,
        /// The row type's.
        current: Vec<String>,
    },
    /// Where keys come from changed.
    KeySource {
        /// The stored source.
        stored: String,
        /// The row type's.
        current: String,
    },
    /// The row type has an index the files were not written with.
    IndexAdded {
        /// The index.
        name: String,
    },
    /// The files were written with an index the row type does not have.
    IndexRemoved {
        /// The index.
        name: String,
    },
    /// An index covers other fields, or changed uniqueness.
    IndexChanged {
        /// The index.
        name: String,
    },
}

impl fmt::Display for SchemaDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Version { stored, current } => {
                write!(f, "schema_version changed from {stored} to {current}")
            }
            Self::FieldAdded { name, ty } => write!(f, "field `{name}: {ty}` added"),
            Self::FieldRemoved { name, ty } => write!(f, "field `{name}: {ty}` removed"),
            Self::FieldType {
                name,
                stored,
                current,
            } => write!(
                f,
                "field `{name}` changed type from `{stored}` to `{current}`"
            ),
            Self::FieldOrder { stored, current } => write!(
                f,
                "fields reordered from ({}) to ({})",
                stored.join(", "),
                current.join(", ")
            ),
            Self::Key { stored, current } => write!(
                f,
                "primary key changed from ({}) to ({})",
                stored.join(", "),
                current.join(", ")
            ),
            Self::KeySource { stored, current } => {
                write!(f, "keys made by {current} instead of {stored}")
            }
            Self::IndexAdded { name } => write!(f, "index `{name}` added"),
            Self::IndexRemoved { name } => write!(f, "index `{name}` removed"),
            Self::IndexChanged { name } => write!(f, "index `{name}` changed"),
        }
    }
}

/// A list of differences, as one message: `a; b; c`.
pub(crate) struct Listed<'a>(pub(crate) &'a [SchemaDifference]);

impl fmt::Display for Listed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("the stored description of the schema shows no difference");
        }
        for (i, difference) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{difference}")?;
        }
        Ok(())
    }
}

fn describe_source(source: &StoredKeySource) -> String {
    match source {
        StoredKeySource::Caller => "the caller".to_owned(),
        StoredKeySource::AutoIncrement => "autoincrement".to_owned(),
        StoredKeySource::Generator(path) => format!("generator `{path}`"),
    }
}

/// What differs between the stored schema and the row type's, in the order
/// of the fields and then of the indexes.
pub(crate) fn differences(stored: &StoredSchema, current: &StoredSchema) -> Vec<SchemaDifference> {
    let mut found = Vec::new();
    if stored.version != current.version {
        found.push(SchemaDifference::Version {
            stored: stored.version,
            current: current.version,
        });
    }
    field_differences(stored, current, &mut found);
    if stored.pk != current.pk {
        found.push(SchemaDifference::Key {
            stored: stored.pk.clone(),
            current: current.pk.clone(),
        });
    }
    if stored.key_source != current.key_source {
        found.push(SchemaDifference::KeySource {
            stored: describe_source(&stored.key_source),
            current: describe_source(&current.key_source),
        });
    }
    index_differences(stored, current, &mut found);
    found
}

/// Adds to `found` the fields added, removed or changed in type, in the
/// row type's order and then the stored one's; or, when the fields are the
/// same (`found` holds nothing but a version change), their reordering.
fn field_differences(
    stored: &StoredSchema,
    current: &StoredSchema,
    found: &mut Vec<SchemaDifference>,
) {
    let find = |fields: &[StoredField], name: &str| -> Option<String> {
        fields
            .iter()
            .find(|field| field.name == name)
            .map(|field| field.ty.clone())
    };
    for field in &current.fields {
        match find(&stored.fields, &field.name) {
            None => found.push(SchemaDifference::FieldAdded {
                name: field.name.clone(),
                ty: field.ty.clone(),
            }),
            Some(ty) if ty != field.ty => found.push(SchemaDifference::FieldType {
                name: field.name.clone(),
                stored: ty,
                current: field.ty.clone(),
            }),
            Some(_) => {}
        }
    }
    for field in &stored.fields {
        if find(&current.fields, &field.name).is_none() {
            found.push(SchemaDifference::FieldRemoved {
                name: field.name.clone(),
                ty: field.ty.clone(),
            });
        }
    }
    let names = |schema: &StoredSchema| -> Vec<String> {
        schema
            .fields
            .iter()
            .map(|field| field.name.clone())
            .collect()
    };
    let fields_match = found
        .iter()
        .all(|difference| matches!(difference, SchemaDifference::Version { .. }));
    if fields_match && names(stored) != names(current) {
        found.push(SchemaDifference::FieldOrder {
            stored: names(stored),
            current: names(current),
        });
    }
}

/// Adds to `found` the indexes added or changed, in the row type's order,
/// then those removed.
fn index_differences(
    stored: &StoredSchema,
    current: &StoredSchema,
    found: &mut Vec<SchemaDifference>,
) {
    for index in &current.indexes {
        match stored.indexes.iter().find(|old| old.name == index.name) {
            None => found.push(SchemaDifference::IndexAdded {
                name: index.name.clone(),
            }),
            Some(old) if old != index => found.push(SchemaDifference::IndexChanged {
                name: index.name.clone(),
            }),
            Some(_) => {}
        }
    }
    for index in &stored.indexes {
        if !current.indexes.iter().any(|new| new.name == index.name) {
            found.push(SchemaDifference::IndexRemoved {
                name: index.name.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(fields: &[(&str, &str)], pk: &[&str]) -> StoredSchema {
        StoredSchema {
            version: 0,
            fields: fields
                .iter()
                .map(|(name, ty)| StoredField {
                    name: (*name).into(),
                    ty: (*ty).into(),
                })
                .collect(),
            pk: pk.iter().map(|name| (*name).into()).collect(),
            key_source: StoredKeySource::Caller,
            indexes: Vec::new(),
        }
    }

    #[test]
    fn every_kind_of_difference_is_listed_in_order() {
        let old = schema(&[("id", "u64"), ("name", "String"), ("age", "u8")], &["id"]);
        let mut new = schema(
            &[
                ("id", "u64"),
                ("name", "Option<String>"),
                ("email", "String"),
            ],
            &["id", "name"],
        );
        new.version = 2;
        new.key_source = StoredKeySource::AutoIncrement;
        new.indexes.push(StoredIndex {
            name: "email".into(),
            fields: vec!["email".into()],
            unique: true,
        });
        let listed = Listed(&differences(&old, &new)).to_string();
        assert_eq!(
            listed,
            "schema_version changed from 0 to 2; field `name` changed type from `String` to \
             `Option<String>`; field `email: String` added; field `age: u8` removed; primary \
             key changed from (id) to (id, name); keys made by autoincrement instead of the \
             caller; index `email` added"
        );
    }

    #[test]
    fn a_reorder_is_named_only_when_the_fields_are_the_same() {
        let old = schema(&[("a", "u8"), ("b", "u16")], &["a"]);
        let new = schema(&[("b", "u16"), ("a", "u8")], &["a"]);
        assert_eq!(
            differences(&old, &new),
            [SchemaDifference::FieldOrder {
                stored: vec!["a".into(), "b".into()],
                current: vec!["b".into(), "a".into()],
            }]
        );
        assert!(differences(&old, &old).is_empty());
    }
}
