//! The canonical spelling of types and paths that `Row::SCHEMA` records and
//! the schema fingerprint hashes (the rules are listed for users in
//! `worktable_core::schema`).
//!
//! Everything here is printed from the syntax tree or, for the types it does
//! not take apart, from the identifier, literal and punctuation texts of the
//! tokens, never through `TokenStream`'s `Display`: that spacing is the
//! compiler's and may change between releases, and a changed spelling would
//! change the fingerprint stored in every durable table. So the output may
//! only depend on the tokens the user wrote.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{
    AngleBracketedGenericArguments, Expr, GenericArgument, Ident, Lifetime, Lit, Path,
    PathArguments, Type,
};

/// The modules and names of the prelude types recorded by their short
/// names when written with a path from `std`, `alloc` or `core`.
const PRELUDE_TYPES: [(&str, &str); 5] = [
    ("string", "String"),
    ("vec", "Vec"),
    ("boxed", "Box"),
    ("option", "Option"),
    ("result", "Result"),
];

/// The primitive types, recorded by their short names when written as
/// `std::primitive::T` or `core::primitive::T`.
const PRIMITIVES: [&str; 19] = [
    "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64",
    "i128", "isize", "f16", "f32", "f64", "f128",
];

/// `ty` in its canonical spelling.
pub(crate) fn type_string(ty: &Type) -> String {
    let mut out = String::new();
    write_type(&mut out, ty);
    out
}

/// `path` in its canonical spelling (a key generator's path).
pub(crate) fn path_string(path: &Path) -> String {
    let mut out = String::new();
    write_path(&mut out, path);
    out
}

fn write_type(out: &mut String, ty: &Type) {
    match ty {
        Type::Group(group) => write_type(out, &group.elem),
        Type::Paren(paren) => write_type(out, &paren.elem),
        Type::Path(path) if path.qself.is_none() => write_path(out, &path.path),
        Type::Tuple(tuple) => {
            out.push('(');
            for (i, elem) in tuple.elems.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_type(out, elem);
            }
            if tuple.elems.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Type::Array(array) => {
            out.push('[');
            write_type(out, &array.elem);
            out.push_str("; ");
            write_const(out, &array.len);
            out.push(']');
        }
        Type::Slice(slice) => {
            out.push('[');
            write_type(out, &slice.elem);
            out.push(']');
        }
        Type::Reference(reference) => {
            out.push('&');
            if let Some(lifetime) = &reference.lifetime {
                write_lifetime(out, lifetime);
                out.push(' ');
            }
            if reference.mutability.is_some() {
                out.push_str("mut ");
            }
            write_type(out, &reference.elem);
        }
        other => write_tokens(out, other.to_token_stream()),
    }
}

fn write_path(out: &mut String, path: &Path) {
    if let Some(short) = prelude_name(path) {
        out.push_str(short);
        let last = path.segments.last().expect("a prelude path has segments");
        write_arguments(out, &last.arguments);
        return;
    }
    for (i, segment) in path.segments.iter().enumerate() {
        if i > 0 {
            out.push_str("::");
        }
        write_ident(out, &segment.ident);
        write_arguments(out, &segment.arguments);
    }
}

/// The short name of `path` if it spells a prelude or primitive type by a
/// longer path: `std::string::String`, `alloc::vec::Vec<T>`,
/// `core::primitive::u32`. Only the last segment may have generic
/// arguments. (A leading `::` is never printed, so it does not matter.)
fn prelude_name(path: &Path) -> Option<&'static str> {
    let segments: Vec<&syn::PathSegment> = path.segments.iter().collect();
    let [root, module, name] = segments.as_slice() else {
        return None;
    };
    if !root.arguments.is_none() || !module.arguments.is_none() {
        return None;
    }
    let (root, module, name) = (
        root.ident.unraw().to_string(),
        module.ident.unraw().to_string(),
        name.ident.unraw().to_string(),
    );
    if !matches!(root.as_str(), "std" | "alloc" | "core") {
        return None;
    }
    if let Some((_, short)) = PRELUDE_TYPES
        .iter()
        .find(|(prelude_module, short)| module == *prelude_module && name == *short)
    {
        return Some(short);
    }
    if module == "primitive" && root != "alloc" {
        return PRIMITIVES.into_iter().find(|primitive| name == *primitive);
    }
    None
}

fn write_arguments(out: &mut String, arguments: &PathArguments) {
    match arguments {
        PathArguments::None => {}
        PathArguments::AngleBracketed(arguments) => write_angle_bracketed(out, arguments),
        // `Fn(A) -> B`: only in trait bounds, which are printed as tokens
        // anyway.
        PathArguments::Parenthesized(arguments) => {
            write_tokens(out, arguments.to_token_stream());
        }
    }
}

/// `<A, B>`, without the turbofish's `::`.
fn write_angle_bracketed(out: &mut String, arguments: &AngleBracketedGenericArguments) {
    out.push('<');
    for (i, argument) in arguments.args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match argument {
            GenericArgument::Lifetime(lifetime) => write_lifetime(out, lifetime),
            GenericArgument::Type(ty) => write_type(out, ty),
            GenericArgument::Const(value) => write_const(out, value),
            GenericArgument::AssocType(assoc) => {
                write_ident(out, &assoc.ident);
                if let Some(generics) = &assoc.generics {
                    write_angle_bracketed(out, generics);
                }
                out.push_str(" = ");
                write_type(out, &assoc.ty);
            }
            GenericArgument::AssocConst(assoc) => {
                write_ident(out, &assoc.ident);
                if let Some(generics) = &assoc.generics {
                    write_angle_bracketed(out, generics);
                }
                out.push_str(" = ");
                write_const(out, &assoc.value);
            }
            other => write_tokens(out, other.to_token_stream()),
        }
    }
    out.push('>');
}

/// An array length or const generic argument: an integer literal as its
/// value in base 10 (the suffix can only be the one the position requires),
/// a constant's path as a path, anything else as tokens.
fn write_const(out: &mut String, value: &Expr) {
    match value {
        Expr::Group(group) => write_const(out, &group.expr),
        Expr::Paren(paren) => write_const(out, &paren.expr),
        Expr::Path(path) if path.qself.is_none() => write_path(out, &path.path),
        Expr::Lit(literal) => match &literal.lit {
            Lit::Int(int) => out.push_str(int.base10_digits()),
            _ => write_tokens(out, value.to_token_stream()),
        },
        other => write_tokens(out, other.to_token_stream()),
    }
}

fn write_lifetime(out: &mut String, lifetime: &Lifetime) {
    out.push('\'');
    write_ident(out, &lifetime.ident);
}

fn write_ident(out: &mut String, ident: &Ident) {
    out.push_str(&ident.unraw().to_string());
}

/// The tokens' texts, one space between two tokens except after
/// punctuation joined to the next token (`->`, `::`, the `'` of a
/// lifetime); a group as its delimiters around its tokens, with no space
/// inside them; an invisible group as its tokens.
fn write_tokens(out: &mut String, tokens: TokenStream) {
    let mut glued = true;
    write_token_sequence(out, tokens, &mut glued);
}

/// `glued`: whether the next token follows the previous one without a space
/// (true at the start of a group and after joint punctuation).
fn write_token_sequence(out: &mut String, tokens: TokenStream, glued: &mut bool) {
    for token in tokens {
        if let TokenTree::Group(group) = &token
            && group.delimiter() == Delimiter::None
        {
            write_token_sequence(out, group.stream(), glued);
            continue;
        }
        if !*glued {
            out.push(' ');
        }
        *glued = false;
        match token {
            TokenTree::Ident(ident) => write_ident(out, &ident),
            TokenTree::Literal(literal) => out.push_str(&literal.to_string()),
            TokenTree::Punct(punct) => {
                out.push(punct.as_char());
                *glued = punct.spacing() == Spacing::Joint;
            }
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ('(', ')'),
                    Delimiter::Bracket => ('[', ']'),
                    Delimiter::Brace => ('{', '}'),
                    Delimiter::None => unreachable!("invisible groups are inlined above"),
                };
                out.push(open);
                let mut inner_glued = true;
                write_token_sequence(out, group.stream(), &mut inner_glued);
                out.push(close);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::Group;
    use quote::quote;

    use super::*;

    fn canonical(ty: &str) -> String {
        type_string(&syn::parse_str(ty).unwrap_or_else(|error| panic!("{ty}: {error}")))
    }

    /// Every spelling in `spellings` gives `expected`.
    fn all_give(expected: &str, spellings: &[&str]) {
        for ty in spellings {
            assert_eq!(canonical(ty), expected, "{ty}");
        }
    }

    #[test]
    fn paths_join_segments_without_a_leading_colon_pair() {
        all_give("u64", &["u64", " u64 "]);
        all_give("my::Money", &["my::Money", "::my::Money", "my :: Money"]);
        all_give("crate::types::Money", &["crate::types::Money"]);
        all_give("Type", &["r#Type"]);
        all_give(
            "std::collections::HashMap<u32, String>",
            &[
                "std::collections::HashMap<u32, String>",
                "std::collections::HashMap<u32,String>",
                "::std::collections::HashMap < u32 , std::string::String >",
            ],
        );
    }

    #[test]
    fn generic_arguments_are_printed_in_angle_brackets() {
        all_give("Vec<Vec<u8>>", &["Vec<Vec<u8>>", "Vec::<Vec<u8> >"]);
        all_give(
            "Cow<'static, str>",
            &["Cow<'static, str>", "Cow< 'static,str>"],
        );
        all_give("Bits<4>", &["Bits<4>", "Bits<0x4>", "Bits<4usize>"]);
        all_give(
            "Wrapper<Item = u8>",
            &["Wrapper<Item=u8>", "Wrapper<Item = u8>"],
        );
        all_give("Wrapper<Item<'a> = u8>", &["Wrapper<Item<'a> = u8>"]);
        all_give("Limited<MAX = 8>", &["Limited<MAX = 0o10>"]);
        all_give("Sized<N>", &["Sized<N>"]);
    }

    #[test]
    fn a_braced_const_argument_is_printed_as_tokens() {
        all_give("Bits<{N + 1}>", &["Bits<{ N + 1 }>", "Bits<{N+1}>"]);
    }

    #[test]
    fn prelude_types_get_their_short_names() {
        all_give(
            "String",
            &[
                "String",
                "std::string::String",
                "::std::string::String",
                "alloc::string::String",
                "core::string::String",
            ],
        );
        all_give(
            "Vec<u8>",
            &["Vec<u8>", "std::vec::Vec<u8>", "alloc::vec::Vec<u8>"],
        );
        all_give(
            "Option<String>",
            &[
                "Option<String>",
                "core::option::Option<std::string::String>",
                "::std::option::Option<String>",
            ],
        );
        all_give(
            "Box<str>",
            &["Box<str>", "alloc::boxed::Box<str>", "std::boxed::Box<str>"],
        );
        all_give("Result<u8, String>", &["core::result::Result<u8, String>"]);
    }

    #[test]
    fn primitive_types_get_their_short_names() {
        all_give(
            "u32",
            &["u32", "core::primitive::u32", "std::primitive::u32"],
        );
        all_give("Option<str>", &["Option<::core::primitive::str>"]);
        all_give("bool", &["std::primitive::bool"]);
    }

    #[test]
    fn other_paths_keep_their_segments() {
        all_give("mylib::string::String", &["mylib::string::String"]);
        all_give("alloc::primitive::u32", &["alloc::primitive::u32"]);
        all_give("core::primitive::Money", &["core::primitive::Money"]);
        all_give("std::vec::Vec<u8>::Inner", &["std::vec::Vec<u8>::Inner"]);
        all_give("std::prelude::v1::String", &["std::prelude::v1::String"]);
        all_give("string::String", &["string::String"]);
    }

    #[test]
    fn tuples_keep_their_arity() {
        all_give("()", &["()", "( )"]);
        all_give("(u8,)", &["(u8,)", "( u8 , )"]);
        all_give(
            "(u8, String)",
            &["(u8, String)", "(u8,std::string::String,)"],
        );
        all_give("((), (u8,), (u8, u16))", &["((),(u8,),(u8,u16))"]);
    }

    #[test]
    fn array_lengths_are_base_10_when_literal() {
        all_give(
            "[u8; 4]",
            &[
                "[u8; 4]",
                "[u8;4]",
                "[u8; 0x4]",
                "[u8; 4usize]",
                "[u8; 4_usize]",
                "[u8; 0b100]",
                "[u8; 0o4]",
                "[u8; 004]",
                "[u8; (4)]",
            ],
        );
        all_give("[[u8; 16]; 2]", &["[[u8; 0x10]; 2]"]);
        all_give("[u8; N]", &["[u8; N]", "[u8;N]"]);
        all_give("[u8; N * 2]", &["[u8; N * 2]", "[u8; N*2]"]);
        all_give(
            "[u8; consts::LEN]",
            &["[u8; consts :: LEN]", "[u8; ::consts::LEN]"],
        );
        all_give("[u8; size_of :: < u64 > ()]", &["[u8; size_of::<u64>()]"]);
    }

    #[test]
    fn slices_and_references() {
        all_give("[u8]", &["[u8]", "[ u8 ]"]);
        all_give("&str", &["&str", "& str", "&core::primitive::str"]);
        all_give("&'a mut [u8]", &["&'a mut [u8]", "& 'a mut[u8]"]);
        all_give("&mut String", &["&mut std::string::String"]);
        all_give("&'static str", &["&'static str"]);
    }

    #[test]
    fn parentheses_and_invisible_groups_are_left_out() {
        all_give("u8", &["(u8)", "((u8))"]);
        all_give("Vec<u8>", &["(Vec<(u8)>)"]);
        let grouped = |tokens: TokenStream| {
            TokenTree::Group(Group::new(Delimiter::None, tokens)).into_token_stream()
        };
        let inner = grouped(quote!(std::string::String));
        let ty: Type = syn::parse2(quote!(Option<#inner>)).unwrap();
        assert_eq!(type_string(&ty), "Option<String>");
        let ty: Type = syn::parse2(grouped(quote!([u8; 4]))).unwrap();
        assert_eq!(type_string(&ty), "[u8; 4]");
        let len = grouped(quote!(4));
        let ty: Type = syn::parse2(quote!([u8; #len])).unwrap();
        assert_eq!(type_string(&ty), "[u8; 4]");
    }

    #[test]
    fn other_types_are_printed_token_by_token() {
        all_give("fn (u8) -> u8", &["fn(u8) -> u8", "fn( u8 )->u8"]);
        all_give("* const u8", &["*const u8"]);
        all_give("dyn Fn (u8) -> u8 + Send", &["dyn Fn(u8) -> u8 + Send"]);
        all_give(
            "Box<dyn Iterator < Item = u8 >>",
            &["Box<dyn Iterator<Item=u8>>"],
        );
        all_give("< T as Trait > :: Assoc", &["<T as Trait>::Assoc"]);
        all_give("!", &["!"]);
        all_give(
            "m ! (a :: b , [1 , 2])",
            &["m!(a::b, [1, 2])", "m ! ( a :: b,[ 1,2 ] )"],
        );
    }

    #[test]
    fn printing_does_not_go_through_token_stream_display() {
        // What `to_string` gives (spaces around `<`) is not the output.
        let ty: Type = syn::parse_str("Vec<u8>").unwrap();
        assert_ne!(ty.to_token_stream().to_string(), type_string(&ty));
        assert_eq!(type_string(&ty), "Vec<u8>");
    }

    #[test]
    fn generator_paths_are_normalised() {
        let path: Path = syn::parse_str("::ids::EvenIds").unwrap();
        assert_eq!(path_string(&path), "ids::EvenIds");
        let path: Path = syn::parse_str("crate::ids::Counter<u64>").unwrap();
        assert_eq!(path_string(&path), "crate::ids::Counter<u64>");
        let path: Path = syn::parse_str("worktable_core::AutoIncrement::<u32>").unwrap();
        assert_eq!(path_string(&path), "worktable_core::AutoIncrement<u32>");
    }
}
