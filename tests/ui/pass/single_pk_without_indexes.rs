// The smallest table: one #[pk] field and no secondary index.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Setting {
    #[pk]
    key: String,
    value: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> worktable_core::Result<()> {
    let settings = WorkTable::<Setting>::new();
    let pk = settings
        .insert(Setting {
            key: "theme".into(),
            value: "dark".into(),
        })
        .await?;
    assert_eq!(pk, "theme");
    settings
        .insert(Setting {
            key: "lang".into(),
            value: "en".into(),
        })
        .await?;
    assert_eq!(settings.get("theme").unwrap().value, "dark");
    let previous = settings
        .update(Setting {
            key: "theme".into(),
            value: "light".into(),
        })
        .await?;
    assert_eq!(previous.value, "dark");
    let keys: Vec<String> = settings.iter().map(|s| s.key).collect();
    assert_eq!(keys, ["lang", "theme"]);
    assert!(settings.stats().indexes.is_empty());
    settings.check_integrity().unwrap();
    Ok(())
}
