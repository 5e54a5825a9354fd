//! The `worktable` binary run as a user runs it, on real durable
//! directories: what each command prints, its exit code, and that only
//! `backup` writes, and only to its destination.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use worktable_core::prelude::*;
use worktable_persist::{Durability, DurableDatabase, Options, PersistentTable};

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Order {
    #[pk]
    id: u64,
    #[index(unique)]
    code: String,
    lines: Vec<u32>,
    note: Option<String>,
    price: f64,
}

#[derive(Table, Archive, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[rkyv(crate = worktable_core::rkyv)]
struct Customer {
    #[pk]
    id: u32,
    name: String,
}

#[derive(Database)]
struct Shop {
    orders: WorkTable<Order>,
    customers: WorkTable<Customer>,
}

fn order(id: u64) -> Order {
    Order {
        id,
        code: format!("o-{id}"),
        lines: vec![id as u32; (id % 3) as usize],
        note: id.is_multiple_of(2).then(|| "rush \"now\"".to_owned()),
        price: id as f64 / 4.0,
    }
}

fn run_async<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// 30 orders, a checkpoint, then 2 more and a delete left in the log.
fn orders_dir(dir: &Path) {
    run_async(async {
        let orders = PersistentTable::<Order>::open(dir, Options::durability(Durability::Sync))
            .expect("opens");
        for id in 1..=30 {
            orders.insert(order(id)).await.expect("inserts");
        }
        orders.checkpoint().await.expect("checkpoints");
        orders.insert(order(31)).await.expect("inserts");
        orders.insert(order(32)).await.expect("inserts");
        orders.delete(&5).await.expect("deletes");
        drop(orders);
    });
}

fn worktable(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_worktable"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            out.extend(
                files(&path)
                    .into_iter()
                    .map(|(k, v)| (format!("{name}/{k}"), v)),
            );
        } else {
            out.insert(name, fs::read(&path).unwrap());
        }
    }
    out
}

#[test]
fn inspect_shows_the_schema_checkpoint_log_and_page_fill() {
    let dir = tempfile::tempdir().unwrap();
    orders_dir(dir.path());
    let path = dir.path().to_str().unwrap();
    let before = files(dir.path());

    let out = worktable(&["inspect", path, "--pages"]);
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for expected in [
        "table directory",
        "table `order`",
        "id: u64  [primary key]",
        "lines: Vec<u32>",
        "unique index code on (code)",
        "30 rows in 1 page",
        "page fill:",
        "rows now (checkpoint and log): 31",
        "log: ",
    ] {
        assert!(
            shown.contains(expected),
            "missing {expected:?} in:\n{shown}"
        );
    }

    let out = worktable(&["inspect", path, "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["kind"], "table");
    assert_eq!(json["tables"][0]["rows"], 31);
    assert_eq!(json["tables"][0]["checkpoint"]["rows"], 30);
    assert_eq!(json["tables"][0]["primary_key"][0], "id");
    assert_eq!(files(dir.path()), before, "inspect wrote nothing");
}

#[test]
fn dump_prints_the_rows_as_json_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    orders_dir(dir.path());
    let out = worktable(&["dump", dir.path().to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let expected: Vec<serde_json::Value> = (1..=32)
        .filter(|&id| id != 5)
        .map(|id| {
            let o = order(id);
            serde_json::json!({
                "id": o.id, "code": o.code, "lines": o.lines, "note": o.note, "price": o.price,
            })
        })
        .collect();
    assert_eq!(rows, expected);

    let plain = text(&worktable(&["dump", dir.path().to_str().unwrap()]).stdout);
    assert!(
        plain.starts_with("id=1 code=\"o-1\" lines=[1] note=null price=0.25\n"),
        "{plain}"
    );
}

#[test]
fn verify_passes_a_sound_directory_and_fails_a_damaged_one() {
    let dir = tempfile::tempdir().unwrap();
    orders_dir(dir.path());
    let path = dir.path().to_str().unwrap();
    let before = files(dir.path());
    let out = worktable(&["verify", path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("no problem found"));
    assert_eq!(files(dir.path()), before, "verify wrote nothing");

    let pages = dir.path().join("pages");
    let mut bytes = fs::read(&pages).unwrap();
    bytes[4096 + 7] ^= 0x10;
    fs::write(&pages, bytes).unwrap();
    let out = worktable(&["verify", path]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("problem:") && shown.contains("pages"),
        "{shown}"
    );
    assert!(shown.contains("1 problem found"), "{shown}");

    fs::write(dir.path().join("meta"), b"not a metadata file").unwrap();
    let out = worktable(&["verify", path]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
}

#[test]
fn backup_copies_a_closed_database_that_dumps_the_same() {
    let dir = tempfile::tempdir().unwrap();
    run_async(async {
        let shop = DurableDatabase::<Shop>::open(dir.path(), Options::default()).unwrap();
        shop.orders.insert(order(1)).await.unwrap();
        shop.customers
            .insert(Customer {
                id: 7,
                name: "ada".into(),
            })
            .await
            .unwrap();
        shop.close().await.unwrap();
    });
    let path = dir.path().to_str().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let dest = copy.path().join("copy");
    let dest = dest.to_str().unwrap();

    let out = worktable(&["backup", path, dest]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("the copy verifies"));
    for table in ["orders", "customers"] {
        let original = worktable(&["dump", path, "--table", table, "--json"]);
        let copied = worktable(&["dump", dest, "--table", table, "--json"]);
        assert!(original.status.success() && !original.stdout.is_empty());
        assert_eq!(original.stdout, copied.stdout);
    }

    let out = worktable(&["dump", path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("orders, customers"),
        "{}",
        text(&out.stderr)
    );
    let out = worktable(&["backup", path, dest]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not empty"));
}

#[test]
fn a_directory_that_is_not_durable_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = worktable(&["inspect", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a durable directory"));
}
