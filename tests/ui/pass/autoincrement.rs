// #[pk(autoincrement)] on integer types of different widths and signedness.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Tiny {
    #[pk(autoincrement)]
    id: u8,
    label: String,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Signed {
    #[pk(autoincrement)]
    id: i32,
    #[index]
    label: String,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Word {
    #[pk(autoincrement)]
    id: u64,
    label: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> worktable_core::Result<()> {
    let tiny = WorkTable::<Tiny>::new();
    // The key in the row is ignored: the table assigns 1, 2, ...
    assert_eq!(
        tiny.insert(Tiny {
            id: 99,
            label: "a".into()
        })
        .await?,
        1u8
    );
    assert_eq!(
        tiny.insert(Tiny {
            id: 99,
            label: "b".into()
        })
        .await?,
        2u8
    );
    assert_eq!(
        tiny.get(&2).unwrap(),
        Tiny {
            id: 2,
            label: "b".into()
        }
    );

    let signed = WorkTable::<Signed>::new();
    assert_eq!(
        signed
            .insert(Signed {
                id: -5,
                label: "a".into()
            })
            .await?,
        1i32
    );
    assert_eq!(
        signed
            .insert(Signed {
                id: 0,
                label: "a".into()
            })
            .await?,
        2i32
    );
    let ids: Vec<i32> = signed
        .find_by(Signed::LABEL, "a")
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [1, 2]);

    let sized = WorkTable::<Word>::new();
    assert_eq!(
        sized
            .insert(Word {
                id: 0,
                label: "a".into()
            })
            .await?,
        1u64
    );
    assert_eq!(sized.get(&1).unwrap().label, "a");
    tiny.check_integrity().unwrap();
    signed.check_integrity().unwrap();
    sized.check_integrity().unwrap();
    Ok(())
}
