// The generated code names everything by absolute path: module-level items
// named like prelude items, traits, or crates cannot capture its paths. This
// file's own code therefore spells out full paths too. (`Sized` is not
// shadowed: rkyv's derives name it unqualified.)
#![allow(dead_code, non_camel_case_types, unused_macros)]

type Result = ();
type Option = ();
struct Ok;
struct Err;
struct Some;
struct None;
struct Clone;
struct Copy;
struct Debug;
struct Default;
struct PartialEq;
struct Eq;
struct PartialOrd;
struct Ord;
struct Ordering;
struct Hash;
struct Borrow;
struct Send;
struct Sync;
struct Vec;
struct String;
struct Box;
struct Row;
struct Index;
struct UniqueIndex;
struct IndexPrefix;
struct Key;
struct PkGenerator;
struct AutoIncrement;
struct WorkTable;
macro_rules! panic {
    ($($t:tt)*) => {
        compile_error!("the generated code used a `panic!` in scope")
    };
}
mod core {}
mod std {}
mod worktable_core {}
mod __private {}

/// Hands out (1, 1), (1, 2), ... as keys.
#[derive(::core::default::Default)]
struct Slots(::core::sync::atomic::AtomicU32);

impl ::worktable_core::PkGenerator<(u32, u32)> for Slots {
    fn next_pk(&self) -> ::core::option::Option<(u32, u32)> {
        let n = self.0.fetch_add(1, ::core::sync::atomic::Ordering::Relaxed);
        ::core::option::Option::Some((1 + n / 100, 1 + n % 100))
    }
}

#[derive(
    ::worktable_core::Table,
    ::worktable_core::Archive,
    ::worktable_core::Serialize,
    ::worktable_core::Deserialize,
    ::core::clone::Clone,
    ::core::fmt::Debug,
    ::core::cmp::PartialEq,
)]
#[rkyv(crate = ::worktable_core::rkyv)]
#[table(
    index(name = "by_shelf_code", fields(shelf, code)),
    index(name = "by_aisle_shelf", fields(aisle, shelf), unique)
)]
struct Bin {
    #[pk(generator = Slots)]
    aisle: u32,
    #[pk]
    number: u32,
    #[index(unique)]
    code: ::std::string::String,
    #[index]
    shelf: u16,
}

fn bin(code: &str, shelf: u16) -> Bin {
    Bin {
        aisle: 0,
        number: 0,
        code: ::std::string::ToString::to_string(code),
        shelf,
    }
}

fn main() {
    ::tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(async {
            let bins = ::worktable_core::WorkTable::<Bin>::new();
            assert_eq!(bins.insert(bin("a", 3)).await.unwrap(), (1, 1));
            assert_eq!(bins.insert(bin("b", 4)).await.unwrap(), (1, 2));
            let clash = bins.insert(bin("a", 5)).await;
            assert!(
                matches!(
                    clash,
                    ::core::result::Result::Err(::worktable_core::TableError::DuplicateKey {
                        index: "code",
                        ..
                    })
                ),
                "{clash:?}"
            );

            assert_eq!(bins.get(&(1, 2)).unwrap().code, "b");
            assert_eq!(bins.get_by(Bin::CODE, "a").unwrap().number, 1);
            assert_eq!(bins.find_by(Bin::SHELF, &4).len(), 1);
            assert_eq!(bins.prefix_by(Bin::BY_SHELF_CODE, 3u16).count(), 1);
            assert_eq!(bins.get_by(Bin::BY_AISLE_SHELF, &(1, 4)).unwrap().code, "b");
            bins.check_integrity().unwrap();
        });
}
