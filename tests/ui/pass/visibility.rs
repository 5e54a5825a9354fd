// A `pub` row type in a module, used from outside it, and a private one.
use worktable_core::prelude::*;

pub mod shop {
    use worktable_core::prelude::*;

    #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
    #[rkyv(crate = worktable_core::rkyv)]
    pub struct Product {
        #[pk]
        pub sku: u64,
        #[index(unique)]
        pub name: String,
        #[index]
        pub shelf: u16,
    }
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Note {
    #[pk]
    id: u32,
    #[index]
    sku: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> worktable_core::Result<()> {
    let products = WorkTable::<shop::Product>::new();
    products
        .insert(shop::Product {
            sku: 1,
            name: "lamp".into(),
            shelf: 4,
        })
        .await?;
    assert_eq!(products.get_by(shop::Product::NAME, "lamp").unwrap().sku, 1);
    assert_eq!(products.find_by(shop::Product::SHELF, &4).len(), 1);

    let notes = WorkTable::<Note>::new();
    notes.insert(Note { id: 1, sku: 1 }).await?;
    assert_eq!(notes.find_by(Note::SKU, &1)[0].id, 1);
    Ok(())
}
