//! The generic view reads exactly what rkyv wrote, and never panics on
//! damaged bytes.

use proptest::prelude::*;
use worktable_core::prelude::*;
use worktable_core::rkyv;

use super::super::decode::{RowShape, widen};
use super::super::shape::{Shape, UnknownType};
use super::super::value::Value;
use crate::format::ArchiveFormat;
use crate::table::schema::stored;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Wide {
    #[pk]
    id: u64,
    small: u8,
    short: i16,
    word: u32,
    long: i64,
    huge: u128,
    single: f32,
    double: f64,
    flag: bool,
    letter: char,
    name: String,
    nick: Option<String>,
    counts: Vec<u32>,
    words: Vec<String>,
    blob: Option<Vec<u8>>,
    pair: (u8, String),
    triple: [u16; 3],
    boxed_text: Box<str>,
    maybe: Option<u64>,
    boxed: Box<u32>,
    nothing: (),
}

fn text() -> impl Strategy<Value = String> {
    // Short and long, so both the inline and the out-of-line strings occur.
    prop_oneof![".{0,8}", ".{9,40}"]
}

prop_compose! {
    fn wide()(
        id: u64, small: u8, short: i16, word: u32, long: i64, huge: u128, single: f32,
        double: f64, flag: bool, letter: char, name in text(),
        nick in proptest::option::of(text()),
        counts in proptest::collection::vec(any::<u32>(), 0..5),
        words in proptest::collection::vec(text(), 0..4),
        blob in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
        pair in (any::<u8>(), text()), triple: [u16; 3], boxed_text in text(),
        maybe: Option<u64>, boxed: u32,
    ) -> Wide {
        Wide {
            id, small, short, word, long, huge, single, double, flag, letter, name, nick,
            counts, words, blob, pair, triple, boxed_text: boxed_text.into_boxed_str(),
            maybe, boxed: Box::new(boxed), nothing: (),
        }
    }
}

fn expected(row: &Wide) -> Vec<Value> {
    let text = |s: &str| Value::Text(s.to_owned());
    let uint = |u: u128| Value::UInt(u);
    vec![
        uint(row.id.into()),
        uint(row.small.into()),
        Value::Int(row.short.into()),
        uint(row.word.into()),
        Value::Int(row.long.into()),
        uint(row.huge),
        Value::Float(widen(row.single)),
        Value::Float(row.double),
        Value::Bool(row.flag),
        Value::Char(row.letter),
        text(&row.name),
        row.nick.as_deref().map_or(Value::Null, text),
        Value::List(row.counts.iter().map(|&c| uint(c.into())).collect()),
        Value::List(row.words.iter().map(|w| text(w)).collect()),
        row.blob.as_ref().map_or(Value::Null, |b| {
            Value::List(b.iter().map(|&x| uint(x.into())).collect())
        }),
        Value::List(vec![uint(row.pair.0.into()), text(&row.pair.1)]),
        Value::List(row.triple.iter().map(|&x| uint(x.into())).collect()),
        text(&row.boxed_text),
        row.maybe.map_or(Value::Null, |m| uint(m.into())),
        uint((*row.boxed).into()),
        Value::Null,
    ]
}

fn shape() -> RowShape {
    RowShape::new(&stored(&Wide::SCHEMA), ArchiveFormat::current()).expect("every type is read")
}

fn archive(row: &Wide) -> Vec<u8> {
    rkyv::to_bytes::<rkyv::rancor::Error>(row)
        .expect("archives")
        .to_vec()
}

proptest! {
    #[test]
    fn reads_what_rkyv_wrote(row in wide()) {
        let decoded = shape().decode(&archive(&row)).expect("reads");
        prop_assert_eq!(&decoded, &expected(&row));
        prop_assert_eq!(shape().key(&decoded), vec![Value::UInt(row.id.into())]);
    }

    #[test]
    fn damaged_bytes_give_an_error_or_a_value_never_a_panic(
        row in wide(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in 0usize..64,
    ) {
        let mut bytes = archive(&row);
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= byte;
        }
        let _ = shape().decode(&bytes);
        let _ = shape().decode(&bytes[..bytes.len().saturating_sub(cut)]);
    }
}

#[test]
fn shapes_of_the_types_the_view_reads() {
    let parse = |ty: &str| Shape::parse(ty);
    assert_eq!(
        parse("Option<String>"),
        Ok(Shape::Option(Box::new(Shape::String)))
    );
    assert_eq!(
        parse("Vec < (u8, bool) >"),
        Ok(Shape::List(Box::new(Shape::Tuple(vec![
            Shape::Int {
                bytes: 1,
                signed: false
            },
            Shape::Bool
        ]))))
    );
    assert_eq!(
        parse("[i32; 4]"),
        Ok(Shape::Array(
            Box::new(Shape::Int {
                bytes: 4,
                signed: true
            }),
            4
        ))
    );
    assert_eq!(
        parse("Box<[u8]>"),
        Ok(Shape::List(Box::new(Shape::Int {
            bytes: 1,
            signed: false
        })))
    );
    assert_eq!(parse("std::string::String"), Ok(Shape::String));
    assert_eq!(parse("()"), Ok(Shape::Unit));
}

#[test]
fn a_type_the_program_declares_is_named_in_the_error() {
    assert_eq!(Shape::parse("Address"), Err(UnknownType("Address".into())));
    assert_eq!(Shape::parse("Vec<Tag>"), Err(UnknownType("Tag".into())));
    assert_eq!(
        Shape::parse("Option<HashMap<String, u8>>"),
        Err(UnknownType("HashMap<String,u8>".into()))
    );
    assert!(Shape::parse("Vec<u8").is_err());
    assert!(Shape::parse("[u8; x]").is_err());
}

#[test]
fn a_row_shorter_than_its_struct_is_an_error() {
    let bytes = archive(&Wide {
        id: 1,
        small: 0,
        short: 0,
        word: 0,
        long: 0,
        huge: 0,
        single: 0.0,
        double: 0.0,
        flag: false,
        letter: 'a',
        name: String::new(),
        nick: None,
        counts: vec![],
        words: vec![],
        blob: None,
        pair: (0, String::new()),
        triple: [0; 3],
        boxed_text: "".into(),
        maybe: None,
        boxed: Box::new(0),
        nothing: (),
    });
    assert!(shape().decode(&bytes[..8]).is_err());
    assert!(shape().decode(&[]).is_err());
}
