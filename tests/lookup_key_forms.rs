//! Index look-ups take a key as a user has it at hand: `&Some("x")` and
//! `&None::<&str>` on an `Option<String>` index, `&Some(&v[..])` on an
//! `Option<Vec<T>>` index, `"x"` and `&"x"` on a `String` index, and the
//! owned key everywhere; on ordered and hash indexes, on a table, a
//! snapshot, a query and in a transaction, and in the multi-row writes.

use worktable_core::prelude::*;

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Ticket {
    #[pk]
    id: u32,
    #[index]
    assignee: Option<String>,
    #[index(unique, hash)]
    handle: Option<String>,
    #[index(unique)]
    code: String,
    #[index]
    labels: Option<Vec<u16>>,
}

#[derive(Database)]
struct Desk {
    tickets: WorkTable<Ticket>,
}

fn ticket(id: u32, assignee: Option<&str>) -> Ticket {
    Ticket {
        id,
        assignee: assignee.map(str::to_owned),
        handle: (id != 3).then(|| format!("h{id}")),
        code: format!("C-{id}"),
        labels: (!id.is_multiple_of(3)).then(|| vec![1, id as u16 % 3]),
    }
}

fn ids(rows: &[Ticket]) -> Vec<u32> {
    rows.iter().map(|t| t.id).collect()
}

async fn filled(tickets: &WorkTable<Ticket>) {
    for (id, who) in [
        (1, Some("ana")),
        (2, None),
        (3, Some("bo")),
        (4, Some("ana")),
    ] {
        tickets.insert(ticket(id, who)).await.unwrap();
    }
}

#[tokio::test]
async fn optional_string_keys_are_looked_up_with_str_forms() {
    let tickets = WorkTable::<Ticket>::new();
    filled(&tickets).await;
    assert_eq!(
        ids(&tickets.find_by(Ticket::ASSIGNEE, &Some("ana"))),
        [1, 4]
    );
    assert_eq!(ids(&tickets.find_by(Ticket::ASSIGNEE, &None::<&str>)), [2]);
    assert_eq!(
        ids(&tickets.find_by(Ticket::ASSIGNEE, &None::<String>)),
        [2]
    );
    assert!(tickets.find_by(Ticket::ASSIGNEE, &Some("cy")).is_empty());
    // The owned key and a reference to an owned value, as before.
    let bo = Some(String::from("bo"));
    assert_eq!(ids(&tickets.find_by(Ticket::ASSIGNEE, &bo)), [3]);
    assert_eq!(ids(&tickets.find_by(Ticket::ASSIGNEE, &bo.as_ref())), [3]);
    let first = tickets.get(&1).unwrap();
    assert_eq!(tickets.find_by(Ticket::ASSIGNEE, &first.assignee).len(), 2);
    // A hash index: `&Some("h2")` builds the key to search its map.
    assert_eq!(tickets.get_by(Ticket::HANDLE, &Some("h2")).unwrap().id, 2);
    assert_eq!(tickets.get_by(Ticket::HANDLE, &None::<&str>).unwrap().id, 3);
    assert_eq!(ids(&tickets.find_by(Ticket::HANDLE, &Some("h4"))), [4]);
    // `String` keys: `"x"`, `&"x"` and `&String`.
    assert_eq!(tickets.get_by(Ticket::CODE, "C-3").unwrap().id, 3);
    assert_eq!(tickets.get_by(Ticket::CODE, &"C-3").unwrap().id, 3);
    assert_eq!(tickets.get_by(Ticket::CODE, &first.code).unwrap().id, 1);
    // `Option<Vec<T>>` keys: a slice inside.
    assert_eq!(
        ids(&tickets.find_by(Ticket::LABELS, &Some(&[1u16, 1][..]))),
        [1, 4]
    );
    assert_eq!(ids(&tickets.find_by(Ticket::LABELS, &None::<&[u16]>)), [3]);
    assert_eq!(
        ids(&tickets.query().by(Ticket::ASSIGNEE, &Some("ana")).to_vec()),
        [1, 4]
    );
    tickets.check_integrity().unwrap();
}

#[tokio::test]
async fn writes_by_key_take_the_same_forms() {
    let tickets = WorkTable::<Ticket>::new();
    filled(&tickets).await;
    let changed = tickets
        .update_all_by(Ticket::ASSIGNEE, &Some("ana"), |t| t.code.push('!'))
        .await
        .unwrap();
    assert_eq!(changed, 2);
    assert_eq!(tickets.get_by(Ticket::CODE, "C-4!").unwrap().id, 4);
    assert_eq!(
        tickets
            .delete_by(Ticket::HANDLE, &Some("h2"))
            .await
            .unwrap()
            .id,
        2
    );
    let gone = tickets
        .delete_all_by(Ticket::ASSIGNEE, &Some("ana"))
        .await
        .unwrap();
    assert_eq!(ids(&gone), [1, 4]);
    assert_eq!(ids(&tickets.iter().collect::<Vec<_>>()), [3]);
    let missing = tickets.delete_by(Ticket::HANDLE, &Some("h9")).await;
    assert!(matches!(missing, Err(TableError::NotFound { .. })));
    tickets.check_integrity().unwrap();
}

#[tokio::test]
async fn snapshots_and_transactions_take_the_same_forms() {
    let desk = Desk::new();
    filled(&desk.tickets).await;
    let before = desk.tickets.snapshot();
    desk.tickets.delete(&4).await.unwrap();
    assert_eq!(ids(&before.find_by(Ticket::ASSIGNEE, &Some("ana"))), [1, 4]);
    assert_eq!(before.get_by(Ticket::HANDLE, &Some("h4")).unwrap().id, 4);
    // A table of a database reads through an implicit snapshot.
    assert_eq!(
        ids(&desk.tickets.find_by(Ticket::ASSIGNEE, &Some("ana"))),
        [1]
    );

    let tx = desk.begin();
    tx.tickets.insert(ticket(7, Some("ana"))).unwrap();
    assert_eq!(
        ids(&tx.tickets.find_by(Ticket::ASSIGNEE, &Some("ana"))),
        [1, 7]
    );
    assert_eq!(
        ids(&tx.tickets.find_by(Ticket::ASSIGNEE, &None::<&str>)),
        [2]
    );
    assert_eq!(
        tx.tickets.get_by(Ticket::HANDLE, &Some("h2")).unwrap().id,
        2
    );
    tx.commit().await.unwrap();
    assert_eq!(
        ids(&desk.tickets.find_by(Ticket::ASSIGNEE, &Some("ana"))),
        [1, 7]
    );
}
