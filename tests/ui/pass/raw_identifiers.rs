// Fields named with raw identifiers: indexes and handles drop the `r#`.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
#[table(index(name = "by_type_match", fields(r#type, r#match)))]
struct Item {
    #[pk]
    r#ref: u64,
    #[index]
    r#type: String,
    r#match: u32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> worktable_core::Result<()> {
    let items = WorkTable::<Item>::new();
    items
        .insert(Item {
            r#ref: 1,
            r#type: "bolt".into(),
            r#match: 2,
        })
        .await?;
    items
        .insert(Item {
            r#ref: 2,
            r#type: "nut".into(),
            r#match: 1,
        })
        .await?;
    items
        .insert(Item {
            r#ref: 3,
            r#type: "bolt".into(),
            r#match: 1,
        })
        .await?;
    let bolts: Vec<u64> = items
        .find_by(Item::TYPE, "bolt")
        .iter()
        .map(|i| i.r#ref)
        .collect();
    assert_eq!(bolts, [1, 3]);
    let ordered: Vec<u64> = items
        .prefix_by(Item::BY_TYPE_MATCH, "bolt".to_string())
        .map(|i| i.r#ref)
        .collect();
    assert_eq!(ordered, [3, 1]);
    let names: Vec<&str> = items.stats().indexes.iter().map(|i| i.name).collect();
    assert_eq!(names, ["type", "by_type_match"]);
    items.check_integrity().unwrap();
    Ok(())
}
