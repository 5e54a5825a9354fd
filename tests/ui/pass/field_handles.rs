// Every field gets a handle; an indexed field's handle is also its index's;
// queries order by handles, also in code generic over the row type.
use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Item {
    #[pk]
    id: u32,
    #[index]
    shelf: u8,
    name: String,
    weight: OrderedF64,
}

fn largest_first<R: Row, F: Field<R>>(table: &WorkTable<R>, field: F) -> Vec<R>
where
    F::Value: Ord,
{
    table.query().order_by_desc(field).to_vec()
}

fn name_of<R: Row, F: Field<R>>(_field: F) -> &'static str {
    F::NAME
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let items = WorkTable::<Item>::new();
    for (id, shelf, name, weight) in [(1, 2, "b", 1.5), (2, 1, "a", 3.0), (3, 2, "c", 0.5)] {
        let name = name.to_owned();
        let weight = OrderedF64(weight);
        items.insert(Item { id, shelf, name, weight }).await.unwrap();
    }
    assert_eq!(name_of(Item::NAME), "name");
    let ids: Vec<u32> = largest_first(&items, Item::WEIGHT).iter().map(|i| i.id).collect();
    assert_eq!(ids, [2, 1, 3]);
    // The same constant is the index on `shelf` and the field `shelf`.
    assert_eq!(items.find_by(Item::SHELF, &2).len(), 2);
    let by_shelf: Vec<u32> = items.query().order_by(Item::SHELF).iter().map(|i| i.id).collect();
    assert_eq!(by_shelf, [2, 1, 3]);
}
