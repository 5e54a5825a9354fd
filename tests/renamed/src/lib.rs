//! A table defined through a renamed dependency on `worktable-core`.

use wt::{Archive, Deserialize, Serialize, Table};

/// A row whose derive reaches the core crate as `wt`.
#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = wt::rkyv)]
#[table(crate = "wt", name = "renamed_items")]
pub struct Item {
    /// Key.
    #[pk(autoincrement)]
    pub id: u32,
    /// Unique label.
    #[index(unique)]
    pub label: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use wt::WorkTable;

    #[tokio::test]
    async fn table_works_through_the_renamed_crate() {
        let items = WorkTable::<Item>::new();
        let id = items
            .insert(Item {
                id: 0,
                label: "first".into(),
            })
            .await
            .unwrap();
        assert_eq!(id, 1);
        assert_eq!(items.name(), "renamed_items");
        assert_eq!(items.get_by(Item::LABEL, "first").unwrap().id, 1);
    }
}
