// Module-level items named like the primitive types, and statics named like
// the parameters and bindings a hand-written impl would use, cannot capture
// the generated code: it spells primitives as `::core::primitive::*` and
// names its own parameters with a `__` prefix. Column types named like the
// generated helper types (`BinIndexes`, `BinCodeIndex`) stay the user's.
#![allow(dead_code, non_camel_case_types, non_upper_case_globals)]

struct str;
struct usize;
struct bool;

static row: u8 = 0;
static key: u8 = 0;
static a: u8 = 0;
static b: u8 = 0;
static pk: u8 = 0;
static prefix: u8 = 0;
static indexes: u8 = 0;
static unequal: u8 = 0;
static position: u8 = 0;
static i: u8 = 0;

use worktable_core::{Archive, Deserialize, Serialize, Table, WorkTable};

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct BinIndexes(u8);

#[derive(Archive, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rkyv(crate = worktable_core::rkyv)]
struct BinCodeIndex(u32);

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_aisle_code", fields(aisle, code)))]
struct Bin {
    #[pk]
    aisle: u32,
    #[pk]
    number: u32,
    #[index(unique)]
    code: BinCodeIndex,
    extra: BinIndexes,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bins = WorkTable::<Bin>::new();
    let bin = Bin {
        aisle: 1,
        number: 2,
        code: BinCodeIndex(7),
        extra: BinIndexes(3),
    };
    bins.insert(bin.clone()).await.unwrap();
    assert_eq!(bins.get_by(Bin::CODE, &BinCodeIndex(7)), Some(bin.clone()));
    assert_eq!(bins.prefix_by(Bin::BY_AISLE_CODE, 1).count(), 1);
    assert_eq!(bins.name().len(), 3);
}
