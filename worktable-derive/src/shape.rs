//! The shape both derives need: a struct with named fields, and the error
//! each other shape of input gets.

use syn::{Data, DeriveInput, Fields, FieldsNamed};

/// What a derive says about each shape it does not take.
pub(crate) struct Refusals {
    /// A tuple struct.
    pub(crate) tuple: &'static str,
    /// A unit struct.
    pub(crate) unit: &'static str,
    /// An enum.
    pub(crate) enumeration: &'static str,
    /// A union.
    pub(crate) union: &'static str,
}

/// The fields of a struct with named fields; any other shape of input is
/// reported with its message from `refusals`, spanned on what is wrong.
pub(crate) fn named_fields<'a>(
    input: &'a DeriveInput,
    refusals: &Refusals,
    errors: &mut darling::error::Accumulator,
) -> Option<&'a FieldsNamed> {
    let error = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => return Some(named),
            Fields::Unnamed(fields) => darling::Error::custom(refusals.tuple).with_span(fields),
            Fields::Unit => darling::Error::custom(refusals.unit).with_span(&input.ident),
        },
        Data::Enum(data) => {
            darling::Error::custom(refusals.enumeration).with_span(&data.enum_token)
        }
        Data::Union(data) => darling::Error::custom(refusals.union).with_span(&data.union_token),
    };
    errors.push(error);
    None
}
