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

/// The same through `#[row(crate = wt)]`, with an enum column through
/// `#[column(crate = wt)]`: every path they add goes through `wt`.
#[wt::row(crate = wt)]
#[derive(Clone, Debug, PartialEq)]
pub struct Tagged {
    /// Key.
    #[pk]
    pub id: u32,
    /// Indexed enum column.
    #[index]
    pub color: Color,
}

/// A stored enum.
#[wt::column(crate = wt)]
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Color {
    /// One.
    Red,
    /// Another.
    Blue,
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

    #[tokio::test]
    async fn row_and_column_attributes_work_through_the_renamed_crate() {
        let rows = WorkTable::<Tagged>::new();
        for (id, color) in [(1, Color::Red), (2, Color::Blue), (3, Color::Red)] {
            rows.insert(Tagged { id, color }).await.unwrap();
        }
        let red: Vec<u32> = rows
            .find_by(Tagged::COLOR, &Color::Red)
            .iter()
            .map(|row| row.id)
            .collect();
        assert_eq!(red, [1, 3]);
        assert_eq!(rows.name(), "tagged");
    }
}
