//! Every supported column type (all integers, `bool`, `char`, `String`, `Option`, `Vec`,
//! arrays, user enums and structs, floats, ordered floats, `Uuid`) is stored and returned
//! unchanged, and every orderable one works as an index key: point look-ups, ranges in
//! the key type's own order.

use std::fmt::Debug;
use std::ops::RangeBounds;

use uuid::Uuid;
use worktable_core::prelude::*;
use worktable_core::{OrderedF32, OrderedF64};

/// A user enum with data, used as a non-unique index key. Its order is the derived one:
/// variants in declaration order, then their fields.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rkyv(crate = worktable_core::rkyv)]
pub(crate) enum Status {
    Draft,
    Active { since: u32 },
    Closed(String),
}

/// A nested struct stored as a plain column.
#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
pub(crate) struct Dimensions {
    width: f32,
    height: f64,
    labels: Vec<String>,
    origin: Option<(i16, i16)>,
}

/// One column of every type; every orderable column is indexed.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(name = "everything")]
pub(crate) struct Everything {
    #[pk]
    pub(crate) id: Uuid,
    #[index(unique)]
    pub(crate) external: Uuid,
    #[index]
    pub(crate) a_u8: u8,
    #[index]
    pub(crate) a_u16: u16,
    #[index]
    pub(crate) a_u32: u32,
    #[index]
    pub(crate) a_u64: u64,
    #[index]
    pub(crate) a_u128: u128,
    #[index]
    pub(crate) an_i8: i8,
    #[index]
    pub(crate) an_i16: i16,
    #[index]
    pub(crate) an_i32: i32,
    #[index]
    pub(crate) an_i64: i64,
    #[index]
    pub(crate) an_i128: i128,
    #[index]
    pub(crate) flag: bool,
    #[index]
    pub(crate) letter: char,
    #[index(unique)]
    pub(crate) name: String,
    #[index]
    pub(crate) maybe: Option<u32>,
    #[index]
    pub(crate) digest: [u8; 16],
    #[index]
    pub(crate) status: Status,
    #[index]
    pub(crate) score: OrderedF64,
    #[index]
    pub(crate) score32: OrderedF32,
    #[index]
    pub(crate) path: Vec<u16>,
    pub(crate) list: Vec<u64>,
    pub(crate) dims: Dimensions,
    pub(crate) ratio: f64,
    pub(crate) ratio32: f32,
}

/// Row `n` of 0..5: row 0 has every minimum, row 1 every maximum, the others ordinary
/// values. (`usize`/`isize` columns are refused by the derive: rkyv archives them as
/// 32 bits; see `tests/ui/columns/`.)
pub(crate) fn everything(n: u8) -> Everything {
    let id = Uuid::from_u128(0x1000 + u128::from(n));
    let external = Uuid::from_u128(u128::MAX - u128::from(n));
    let dims = Dimensions {
        width: f32::from(n) * 1.5,
        height: -f64::from(n),
        labels: (0..n).map(|i| format!("label {i}")).collect(),
        origin: n.is_multiple_of(2).then_some((-i16::from(n), i16::from(n))),
    };
    match n {
        0 => Everything {
            id,
            external,
            a_u8: u8::MIN,
            a_u16: u16::MIN,
            a_u32: u32::MIN,
            a_u64: u64::MIN,
            a_u128: u128::MIN,
            an_i8: i8::MIN,
            an_i16: i16::MIN,
            an_i32: i32::MIN,
            an_i64: i64::MIN,
            an_i128: i128::MIN,
            flag: false,
            letter: '\0',
            name: String::new(),
            maybe: None,
            digest: [0; 16],
            status: Status::Draft,
            score: OrderedF64(f64::NEG_INFINITY),
            score32: OrderedF32(f32::MIN),
            path: Vec::new(),
            list: Vec::new(),
            dims,
            ratio: f64::MIN_POSITIVE,
            ratio32: -0.0,
        },
        1 => Everything {
            id,
            external,
            a_u8: u8::MAX,
            a_u16: u16::MAX,
            a_u32: u32::MAX,
            a_u64: u64::MAX,
            a_u128: u128::MAX,
            an_i8: i8::MAX,
            an_i16: i16::MAX,
            an_i32: i32::MAX,
            an_i64: i64::MAX,
            an_i128: i128::MAX,
            flag: true,
            letter: char::MAX,
            name: "ünïcödé ✓ 日本語 🦀".to_owned(),
            maybe: Some(u32::MAX),
            digest: [0xff; 16],
            status: Status::Closed("a long reason that does not fit inline".to_owned()),
            score: OrderedF64(f64::INFINITY),
            score32: OrderedF32(f32::MAX),
            path: vec![u16::MAX; 40],
            list: (0..1000).collect(),
            dims,
            ratio: f64::MAX,
            ratio32: f32::EPSILON,
        },
        n => {
            let i = i64::from(n);
            Everything {
                id,
                external,
                a_u8: n * 10,
                a_u16: u16::from(n) * 1000,
                a_u32: u32::from(n) * 100_000,
                a_u64: u64::from(n) << 40,
                a_u128: u128::from(n) << 100,
                an_i8: -(n as i8) * 10,
                an_i16: -(i16::from(n)) * 1000,
                an_i32: -(i32::from(n)) * 100_000,
                an_i64: -(i << 40),
                an_i128: -(i128::from(n) << 100),
                flag: n.is_multiple_of(2),
                letter: char::from(b'a' + n),
                name: format!("row {n}"),
                maybe: (n != 3).then_some(u32::from(n)),
                digest: [n; 16],
                status: if n == 2 {
                    Status::Active { since: 20 }
                } else {
                    Status::Active { since: 10 }
                },
                score: OrderedF64(f64::from(n) - 3.0),
                score32: OrderedF32(0.5 * f32::from(n)),
                path: vec![u16::from(n), 0, u16::from(n)],
                list: vec![u64::from(n); usize::from(n)],
                dims,
                ratio: 1.0 / f64::from(n),
                ratio32: f32::from(n).sqrt(),
            }
        }
    }
}

pub(crate) const ROWS: u8 = 5;

async fn filled() -> WorkTable<Everything> {
    let table = WorkTable::new();
    for n in 0..ROWS {
        let row = everything(n);
        assert_eq!(table.insert(row.clone()).await.unwrap(), row.id);
    }
    table.check_integrity().unwrap();
    table
}

/// The row numbers `range_by(index, range)` returns, checked against a sort of the
/// fixture by the index key (then by primary key), forward and reversed.
fn check_range<I, B>(table: &WorkTable<Everything>, index: I, range: B) -> Vec<u8>
where
    I: OrderedIndex<Everything>,
    B: RangeBounds<I::Key> + Clone + Debug,
{
    let mut model: Vec<(I::Key, Uuid, u8)> = (0..ROWS)
        .map(|n| (I::key(&everything(n)), everything(n).id, n))
        .filter(|(key, _, _)| range.contains(key))
        .collect();
    model.sort();
    let expected: Vec<u8> = model.into_iter().map(|(_, _, n)| n).collect();
    let number = |row: Everything| (row.id.as_u128() - 0x1000) as u8;
    let forward: Vec<u8> = table.range_by(index, range.clone()).map(number).collect();
    assert_eq!(forward, expected, "range_by({}, {range:?})", I::NAME);
    let mut reversed: Vec<u8> = table
        .range_by(index, range.clone())
        .rev()
        .map(number)
        .collect();
    reversed.reverse();
    assert_eq!(reversed, expected, "range_by({}, {range:?}).rev()", I::NAME);
    forward
}

/// Asserts that each fixture row is found, whole, under its own key in index `I`.
fn check_point_lookups<I: Index<Everything>>(table: &WorkTable<Everything>, index: I) {
    for n in 0..ROWS {
        let row = everything(n);
        let found = table.find_by(index, &I::key(&row));
        assert!(
            found.contains(&row),
            "find_by({}, {:?}) misses row {n}",
            I::NAME,
            I::key(&row)
        );
        assert!(found.iter().all(|other| I::key(other) == I::key(&row)));
    }
}

#[tokio::test]
async fn every_column_type_round_trips() {
    let table = filled().await;
    for n in 0..ROWS {
        let row = everything(n);
        assert_eq!(table.get(&row.id), Some(row.clone()), "row {n}");
        assert_eq!(
            table.get_by(Everything::EXTERNAL, &row.external),
            Some(row.clone())
        );
        assert_eq!(table.get_by(Everything::NAME, row.name.as_str()), Some(row));
    }
    // Zero-copy reads see the archived forms.
    let max = everything(1);
    table
        .read(&max.id, |row| {
            assert_eq!(row.a_u128.to_native(), u128::MAX);
            assert_eq!(row.an_i128.to_native(), i128::MAX);
            assert_eq!(row.letter.to_native(), char::MAX);
            assert_eq!(row.name.as_str(), max.name);
            assert_eq!(row.list.len(), 1000);
            assert_eq!(row.digest, [0xff; 16]);
            assert!(row.flag);
            assert_eq!(row.maybe.as_ref().map(|m| m.to_native()), Some(u32::MAX));
            assert_eq!(row.dims.labels.len(), 1);
        })
        .unwrap();
    assert_eq!(table.iter().count(), usize::from(ROWS));
}

#[tokio::test]
async fn every_orderable_column_works_as_an_index_key() {
    let table = filled().await;
    check_point_lookups(&table, Everything::A_U8);
    check_point_lookups(&table, Everything::A_U16);
    check_point_lookups(&table, Everything::A_U32);
    check_point_lookups(&table, Everything::A_U64);
    check_point_lookups(&table, Everything::A_U128);
    check_point_lookups(&table, Everything::AN_I8);
    check_point_lookups(&table, Everything::AN_I16);
    check_point_lookups(&table, Everything::AN_I32);
    check_point_lookups(&table, Everything::AN_I64);
    check_point_lookups(&table, Everything::AN_I128);
    check_point_lookups(&table, Everything::FLAG);
    check_point_lookups(&table, Everything::LETTER);
    check_point_lookups(&table, Everything::NAME);
    check_point_lookups(&table, Everything::MAYBE);
    check_point_lookups(&table, Everything::DIGEST);
    check_point_lookups(&table, Everything::STATUS);
    check_point_lookups(&table, Everything::SCORE);
    check_point_lookups(&table, Everything::SCORE32);
    check_point_lookups(&table, Everything::PATH);
    check_point_lookups(&table, Everything::EXTERNAL);

    // Ranges follow each type's own order: signed keys put negatives first, unsigned
    // extremes sort at the ends, etc.
    assert_eq!(check_range(&table, Everything::A_U8, ..), [0, 2, 3, 4, 1]);
    assert_eq!(check_range(&table, Everything::A_U128, 1..), [2, 3, 4, 1]);
    assert_eq!(
        check_range(&table, Everything::A_U64, ..=(3 << 40)),
        [0, 2, 3]
    );
    assert_eq!(check_range(&table, Everything::AN_I8, ..0), [0, 4, 3, 2]);
    assert_eq!(
        check_range(&table, Everything::AN_I16, -3000..=i16::MAX),
        [3, 2, 1]
    );
    assert_eq!(check_range(&table, Everything::AN_I32, -300_000..0), [3, 2]);
    assert_eq!(check_range(&table, Everything::AN_I64, ..), [0, 4, 3, 2, 1]);
    assert_eq!(
        check_range(&table, Everything::AN_I128, i128::MIN + 1..i128::MAX),
        [4, 3, 2]
    );
    assert_eq!(
        check_range(&table, Everything::A_U32, 1..u32::MAX),
        [2, 3, 4]
    );
    assert_eq!(check_range(&table, Everything::A_U16, 2000..=3000), [2, 3]);
    assert_eq!(check_range(&table, Everything::FLAG, true..), [1, 2, 4]);
    assert_eq!(check_range(&table, Everything::LETTER, 'a'..'e'), [2, 3]);
    assert_eq!(check_range(&table, Everything::LETTER, 'e'..), [4, 1]);
    assert_eq!(
        check_range(&table, Everything::NAME, "row".to_owned()..),
        [2, 3, 4, 1]
    );
    assert_eq!(
        check_range(&table, Everything::DIGEST, [1; 16]..[4; 16]),
        [2, 3]
    );
    assert_eq!(check_range(&table, Everything::PATH, vec![3]..), [3, 4, 1]);
    // `None` sorts before every `Some`.
    assert_eq!(check_range(&table, Everything::MAYBE, ..Some(3)), [0, 3, 2]);
    assert_eq!(
        check_range(&table, Everything::EXTERNAL, ..),
        [4, 3, 2, 1, 0]
    );
}

#[tokio::test]
async fn none_is_a_key_like_any_other() {
    let table = filled().await;
    let none_rows: Vec<Everything> = table.find_by(Everything::MAYBE, &None);
    // Rows 0 and 3 have `None`; they come back in primary-key order.
    assert_eq!(none_rows, vec![everything(0), everything(3)]);
    assert_eq!(
        table.find_by(Everything::MAYBE, &Some(4)),
        vec![everything(4)]
    );
    assert!(table.find_by(Everything::MAYBE, &Some(5)).is_empty());
    assert_eq!(table.range_by(Everything::MAYBE, None..=None).count(), 2);

    // Moving a row from `Some` to `None` and back.
    let row = everything(2);
    table
        .update(Everything {
            maybe: None,
            ..row.clone()
        })
        .await
        .unwrap();
    assert_eq!(table.find_by(Everything::MAYBE, &None).len(), 3);
    assert!(table.find_by(Everything::MAYBE, &Some(2)).is_empty());
    table.update(row.clone()).await.unwrap();
    assert_eq!(table.find_by(Everything::MAYBE, &Some(2)), vec![row]);

    let removed = table.delete_all_by(Everything::MAYBE, &None).await.unwrap();
    assert_eq!(removed, vec![everything(0), everything(3)]);
    assert_eq!(table.len(), 3);
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn a_user_enum_with_data_is_a_non_unique_key_in_derived_order() {
    let table = filled().await;
    // Derived order: Draft < Active { since: 10 } < Active { since: 20 } < Closed(_).
    assert_eq!(check_range(&table, Everything::STATUS, ..), [0, 3, 4, 2, 1]);
    assert_eq!(
        table.find_by(Everything::STATUS, &Status::Active { since: 10 }),
        vec![everything(3), everything(4)]
    );
    assert_eq!(
        check_range(
            &table,
            Everything::STATUS,
            Status::Active { since: 0 }..Status::Closed(String::new())
        ),
        [3, 4, 2]
    );
    assert_eq!(
        check_range(&table, Everything::STATUS, Status::Closed(String::new())..).len(),
        1
    );
    assert!(
        table
            .find_by(Everything::STATUS, &Status::Closed("other".to_owned()))
            .is_empty()
    );
}

#[tokio::test]
async fn u128_and_i128_columns_keep_their_alignment_across_many_rows() {
    // Rows of varying length so that 16-byte fields land at many page offsets.
    let table = WorkTable::<Everything>::new();
    let mut expected = Vec::new();
    for n in 0..200u16 {
        let mut row = everything((n % 3) as u8 + 2);
        row.id = Uuid::from_u128(0x10_0000 + u128::from(n));
        row.external = Uuid::from_u128(0x20_0000 + u128::from(n));
        row.name = "n".repeat(usize::from(n % 37));
        row.name.push_str(&n.to_string());
        row.a_u128 = u128::from(n) * 0x0123_4567_89ab_cdef_0123_4567_89ab;
        row.an_i128 = -(i128::from(n) << 90);
        table.insert(row.clone()).await.unwrap();
        expected.push(row);
    }
    for row in &expected {
        assert_eq!(table.get(&row.id).as_ref(), Some(row));
        assert_eq!(
            table.read(&row.id, |archived| archived.a_u128.to_native()),
            Some(row.a_u128)
        );
    }
    table.check_integrity().unwrap();
}

/// Float columns: plain `f32`/`f64` stored as is, `OrderedF64`/`OrderedF32` indexed.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Reading {
    #[pk]
    id: u32,
    #[index]
    value: OrderedF64,
    #[index(unique)]
    value32: OrderedF32,
    raw: f64,
    raw32: f32,
}

fn reading(id: u32, value: f64) -> Reading {
    Reading {
        id,
        value: OrderedF64(value),
        value32: OrderedF32(value as f32),
        raw: value,
        raw32: value as f32,
    }
}

/// Values in `total_cmp` order, each once, and distinct when cast to `f32` (the `f32`
/// index is unique).
const ORDERED_VALUES: [f64; 11] = [
    f64::NEG_INFINITY,
    -1e30,
    -2.5,
    -1.0,
    -1e-30,
    -0.0,
    0.0,
    1e-30,
    1.0,
    3.75,
    f64::INFINITY,
];

async fn readings() -> WorkTable<Reading> {
    let table = WorkTable::new();
    // Insert in reverse so that id order and value order disagree.
    for (i, value) in ORDERED_VALUES.iter().rev().enumerate() {
        table.insert(reading(i as u32 + 1, *value)).await.unwrap();
    }
    table
}

fn bits(rows: impl Iterator<Item = Reading>) -> Vec<u64> {
    rows.map(|row| row.value.0.to_bits()).collect()
}

#[tokio::test]
async fn ordered_floats_range_in_total_order() {
    let table = readings().await;
    let all: Vec<u64> = ORDERED_VALUES.iter().map(|v| v.to_bits()).collect();
    assert_eq!(bits(table.range_by(Reading::VALUE, ..)), all);
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(bits(table.range_by(Reading::VALUE, ..).rev()), reversed);

    // Negative values only: -0.0 is below +0.0 in total order.
    let negatives = bits(table.range_by(Reading::VALUE, ..OrderedF64(0.0)));
    assert_eq!(negatives, all[..6]);
    assert!(
        table
            .range_by(Reading::VALUE, ..OrderedF64(0.0))
            .all(|r| r.raw.is_sign_negative())
    );
    // [-1, 1]: -1, -1e-30, -0, +0, 1e-30, 1.
    assert_eq!(
        bits(table.range_by(Reading::VALUE, OrderedF64(-1.0)..=OrderedF64(1.0))),
        all[3..9]
    );
    assert_eq!(
        bits(table.range_by(Reading::VALUE, OrderedF64(0.0)..)),
        all[6..]
    );
    // -0.0 and +0.0 are different keys.
    assert_eq!(
        table.find_by(Reading::VALUE, &OrderedF64(-0.0))[0]
            .raw
            .to_bits(),
        (-0.0f64).to_bits()
    );
    assert_eq!(table.find_by(Reading::VALUE, &OrderedF64(0.0)).len(), 1);
    assert_eq!(
        table
            .get_by(Reading::VALUE32, &OrderedF32(-0.0))
            .unwrap()
            .raw32
            .to_bits(),
        (-0.0f32).to_bits()
    );

    // The f32 index orders the same way.
    let all32: Vec<u32> = ORDERED_VALUES
        .iter()
        .map(|v| (*v as f32).to_bits())
        .collect();
    let got32: Vec<u32> = table
        .range_by(Reading::VALUE32, ..)
        .map(|row| row.value32.0.to_bits())
        .collect();
    assert_eq!(got32, all32);
    assert_eq!(
        table
            .range_by(Reading::VALUE32, OrderedF32(-2.5)..OrderedF32(0.0))
            .count(),
        4
    );

    for value in ORDERED_VALUES {
        let row = table
            .find_by(Reading::VALUE, &OrderedF64(value))
            .pop()
            .unwrap();
        assert_eq!(row.raw.to_bits(), value.to_bits());
        assert_eq!(row, reading(row.id, value));
    }
    table.check_integrity().unwrap();
}

#[tokio::test]
async fn nan_survives_a_round_trip_bit_for_bit_and_sorts_by_sign() {
    let table = readings().await;
    let payload_nan = f64::from_bits(0x7ff8_0000_0000_1234);
    let negative_nan = f64::from_bits(0xfff8_0000_0000_0001);
    let nan32 = f32::from_bits(0x7fc0_0042);
    table
        .insert(Reading {
            id: 100,
            value: OrderedF64(payload_nan),
            value32: OrderedF32(nan32),
            raw: payload_nan,
            raw32: nan32,
        })
        .await
        .unwrap();
    table
        .insert(Reading {
            id: 101,
            value: OrderedF64(negative_nan),
            value32: OrderedF32(-nan32),
            raw: negative_nan,
            raw32: -nan32,
        })
        .await
        .unwrap();

    let row = table.get(&100).unwrap();
    assert_eq!(row.raw.to_bits(), payload_nan.to_bits());
    assert_eq!(row.raw32.to_bits(), nan32.to_bits());
    assert_eq!(row.value.0.to_bits(), payload_nan.to_bits());
    assert_eq!(row.value32.0.to_bits(), nan32.to_bits());
    assert_eq!(
        table.read(&100, |r| r.raw.to_native().to_bits()),
        Some(payload_nan.to_bits())
    );

    // Total order: -NaN first, +NaN last; both found by their exact bits.
    assert_eq!(table.range_by(Reading::VALUE, ..).next().unwrap().id, 101);
    assert_eq!(
        table.range_by(Reading::VALUE, ..).next_back().unwrap().id,
        100
    );
    assert_eq!(
        table
            .range_by(Reading::VALUE, OrderedF64(f64::INFINITY)..)
            .count(),
        2
    );
    assert_eq!(
        table
            .find_by(Reading::VALUE, &OrderedF64(payload_nan))
            .len(),
        1
    );
    assert!(
        table
            .find_by(Reading::VALUE, &OrderedF64(f64::NAN))
            .is_empty()
    );
    assert_eq!(
        table
            .get_by(Reading::VALUE32, &OrderedF32(nan32))
            .unwrap()
            .id,
        100
    );
    table.check_integrity().unwrap();
}

/// `Uuid` as the primary key and as a unique index.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Session {
    #[pk]
    id: Uuid,
    #[index(unique)]
    token: Uuid,
    #[index]
    user: Option<Uuid>,
}

#[tokio::test]
async fn uuid_keys_work_as_primary_and_unique_keys() {
    let table = WorkTable::<Session>::new();
    let user = Uuid::new_v4();
    let mut sessions = Vec::new();
    for i in 0..50 {
        let session = Session {
            id: Uuid::new_v4(),
            token: Uuid::new_v4(),
            user: (i % 2 == 0).then_some(user),
        };
        assert_eq!(table.insert(session.clone()).await.unwrap(), session.id);
        sessions.push(session);
    }
    for session in &sessions {
        assert_eq!(table.get(&session.id).as_ref(), Some(session));
        assert_eq!(
            table.get_by(Session::TOKEN, &session.token).as_ref(),
            Some(session)
        );
        assert_eq!(table.read(&session.id, |s| s.token), Some(session.token));
    }
    // Iteration follows `Uuid`'s order.
    let mut ids: Vec<Uuid> = sessions.iter().map(|s| s.id).collect();
    ids.sort();
    assert_eq!(table.iter().map(|s| s.id).collect::<Vec<_>>(), ids);
    assert_eq!(
        table
            .range(ids[10]..ids[20])
            .map(|s| s.id)
            .collect::<Vec<_>>(),
        ids[10..20]
    );
    // Rows of one user come back in primary-key order.
    let mine: Vec<Uuid> = table
        .find_by(Session::USER, &Some(user))
        .iter()
        .map(|s| s.id)
        .collect();
    let mut expected: Vec<Uuid> = sessions
        .iter()
        .filter(|s| s.user == Some(user))
        .map(|s| s.id)
        .collect();
    expected.sort();
    assert_eq!(mine, expected);
    assert_eq!(table.find_by(Session::USER, &None).len(), 25);

    // Duplicates are refused by both keys.
    let first = sessions[0].clone();
    assert!(matches!(
        table
            .insert(Session {
                token: Uuid::new_v4(),
                ..first.clone()
            })
            .await,
        Err(TableError::DuplicatePk { .. })
    ));
    let error = table
        .insert(Session {
            id: Uuid::nil(),
            ..first.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "table `session`: unique index `token` already has the key {:?}",
            first.token
        )
    );
    assert_eq!(
        table.delete_by(Session::TOKEN, &first.token).await.unwrap(),
        first
    );
    assert_eq!(table.len(), 49);
    table.check_integrity().unwrap();
}
