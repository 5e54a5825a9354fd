//! Databases: tables of different row types that share one commit order.
//!
//! Depends on: nothing else in core (the trait only; the derive builds the
//! tables through `__private`).

/// Tables of different row types grouped so that their changes share one
/// commit order: one sequence of numbers, taken under one commit lock
/// whenever somebody listens. Derive it with `#[derive(Database)]` on a
/// struct whose every field is a [`WorkTable`](crate::WorkTable); the
/// derive also gives the struct `new()` and `Default`.
///
/// Each table keeps working exactly as a table on its own: the only
/// differences are its numbering and [`snapshot`](Self::snapshot), which
/// views every table at one point. Its [`last_seq`](crate::WorkTable::last_seq)
/// and its change events' [`seq`](crate::ChangeEvent::seq) are numbers of
/// the database's sequence, so a table's own events skip the numbers of
/// the other tables' changes, and a change to one table numbered below a
/// change to another became visible before it.
///
/// ```
/// use worktable_core::prelude::*; // `Database`, the derive and the trait, among them
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Account {
///     #[pk]
///     id: u32,
///     balance: i64,
/// }
///
/// #[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
/// #[rkyv(crate = worktable_core::rkyv)]
/// struct Entry {
///     #[pk(autoincrement)]
///     id: u64,
///     account: u32,
///     amount: i64,
/// }
///
/// #[derive(Database)]
/// struct Bank {
///     accounts: WorkTable<Account>,
///     ledger: WorkTable<Entry>,
/// }
///
/// futures::executor::block_on(async {
///     let bank = Bank::new();
///     bank.accounts.insert(Account { id: 1, balance: 100 }).await?;
///     bank.ledger.insert(Entry { id: 0, account: 1, amount: 100 }).await?;
///     // One numbering across both tables.
///     assert_eq!(bank.accounts.last_seq(), 2);
///     assert_eq!(bank.last_commit(), 2);
///
///     // One state of both tables, whatever is written meanwhile.
///     let before = bank.snapshot();
///     bank.accounts.update(Account { id: 1, balance: 60 }).await?;
///     bank.ledger.insert(Entry { id: 0, account: 1, amount: -40 }).await?;
///     assert_eq!(before.commit(), 2);
///     assert_eq!(before.accounts.get(&1).unwrap().balance, 100);
///     assert_eq!(before.ledger.iter().map(|e| e.amount).sum::<i64>(), 100);
///     assert_eq!(bank.ledger.iter().map(|e| e.amount).sum::<i64>(), 60);
///     Ok::<(), TableError>(())
/// })?;
/// # Ok::<(), TableError>(())
/// ```
pub trait Database {
    /// A read-only view of every table at one commit point: a struct with
    /// one [`TableSnapshot`](crate::TableSnapshot) per table, under the
    /// tables' names (`BankSnapshot` for `Bank`).
    type Snapshot<'a>
    where
        Self: 'a;

    /// The number of the last change committed to any table of the
    /// database (0 before any).
    fn last_commit(&self) -> u64;

    /// A view of every table as it is now, however long it is held: reads
    /// through it, across tables, see the changes numbered up to one
    /// commit and none after. Taking one is O(1). See
    /// [`TableSnapshot`](crate::TableSnapshot).
    fn snapshot(&self) -> Self::Snapshot<'_>;
}
