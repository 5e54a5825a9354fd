//! Syntactic facts about types and names.

use syn::{GenericArgument, PathArguments, Type};

/// The name of a primitive integer type, if `ty` spells one.
pub(crate) fn primitive_integer(ty: &Type) -> Option<&'static str> {
    const INTEGERS: [&str; 8] = ["u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"];
    let Type::Path(path) = ungroup(ty) else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let ident = path.path.get_ident()?;
    INTEGERS.into_iter().find(|name| ident == name)
}

/// The element type `T` of a field spelled `Vec<T>` (or a path ending in
/// `vec::Vec<T>`): what an `#[index(each)]` index keys its entries by.
pub(crate) fn vec_element(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ungroup(ty) else {
        return None;
    };
    let last = path.path.segments.last()?;
    if path.qself.is_some() || last.ident != "Vec" {
        return None;
    }
    match &last.arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            GenericArgument::Type(element) => Some(element),
            _ => None,
        },
        _ => None,
    }
}

/// The first `f32` or `f64` anywhere inside `ty` (in generic arguments,
/// tuples, arrays): such a key has no total order.
pub(crate) fn find_float(ty: &Type) -> Option<&syn::Ident> {
    find_named(ty, &["f32", "f64"])
}

/// The first `usize` or `isize` anywhere inside `ty`: rkyv archives them as
/// 32-bit integers and silently cuts larger values.
pub(crate) fn find_pointer_sized(ty: &Type) -> Option<&syn::Ident> {
    find_named(ty, &["usize", "isize"])
}

/// The first single-segment type path named one of `names` anywhere inside
/// `ty` (in generic arguments, tuples, arrays, slices, references).
fn find_named<'t>(ty: &'t Type, names: &[&str]) -> Option<&'t syn::Ident> {
    match ungroup(ty) {
        Type::Path(path) => {
            if path.qself.is_none()
                && let Some(ident) = path.path.get_ident()
                && names.iter().any(|name| ident == name)
            {
                return Some(ident);
            }
            path.path
                .segments
                .iter()
                .find_map(|segment| match &segment.arguments {
                    PathArguments::AngleBracketed(args) => {
                        args.args.iter().find_map(|arg| match arg {
                            GenericArgument::Type(ty) => find_named(ty, names),
                            _ => None,
                        })
                    }
                    _ => None,
                })
        }
        Type::Tuple(tuple) => tuple.elems.iter().find_map(|ty| find_named(ty, names)),
        Type::Array(array) => find_named(&array.elem, names),
        Type::Slice(slice) => find_named(&slice.elem, names),
        Type::Reference(reference) => find_named(&reference.elem, names),
        _ => None,
    }
}

fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => ungroup(&group.elem),
        Type::Paren(paren) => ungroup(&paren.elem),
        ty => ty,
    }
}

/// `OrderItem` → `order_item`, `HTTPRequest` → `http_request`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `by_account_day` → `ByAccountDay`.
pub(crate) fn camel_case(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            let first = chars.next().expect("parts are not empty");
            first.to_uppercase().chain(chars).collect::<String>()
        })
        .collect()
}

/// Whether `name` can be an index name: a snake-case Rust identifier.
pub(crate) fn is_snake_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name != "_"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_convert() {
        assert_eq!(snake_case("Order"), "order");
        assert_eq!(snake_case("OrderItem"), "order_item");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("Table2Go"), "table2_go");
        assert_eq!(camel_case("by_account_day"), "ByAccountDay");
        assert_eq!(camel_case("email"), "Email");
        assert!(is_snake_identifier("by_day2"));
        assert!(!is_snake_identifier("ByDay"));
        assert!(!is_snake_identifier("2day"));
    }

    #[test]
    fn floats_are_found_inside_types() {
        for ty in [
            "f64",
            "Option<f32>",
            "(u32, f64)",
            "[f64; 3]",
            "Vec<Option<f64>>",
        ] {
            let ty: Type = syn::parse_str(ty).unwrap();
            assert!(find_float(&ty).is_some(), "{ty:?}");
        }
        for ty in ["u64", "String", "OrderedF64", "Option<u8>"] {
            let ty: Type = syn::parse_str(ty).unwrap();
            assert!(find_float(&ty).is_none());
        }
    }

    #[test]
    fn pointer_sized_integers_are_found_inside_types() {
        for ty in ["usize", "Vec<isize>", "(u8, usize)", "Option<[usize; 2]>"] {
            let ty: Type = syn::parse_str(ty).unwrap();
            assert!(find_pointer_sized(&ty).is_some(), "{ty:?}");
        }
        let ty: Type = syn::parse_str("u64").unwrap();
        assert!(find_pointer_sized(&ty).is_none());
    }

    #[test]
    fn integers_are_recognized() {
        let ty: Type = syn::parse_str("u32").unwrap();
        assert_eq!(primitive_integer(&ty), Some("u32"));
        let ty: Type = syn::parse_str("u128").unwrap();
        assert_eq!(primitive_integer(&ty), None);
        let ty: Type = syn::parse_str("usize").unwrap();
        assert_eq!(primitive_integer(&ty), None);
        let ty: Type = syn::parse_str("String").unwrap();
        assert_eq!(primitive_integer(&ty), None);
    }
}
