//! The durable database benchmark's figures as markdown tables: transfers
//! per second per system × writers and worktable ÷ SQLite, single-row
//! inserts per second through a database, a table and SQLite, and the
//! reopen times. Read from criterion's output.

use std::path::Path;

use super::store::reopen_rows;
use super::{NAMES, TRANSFERS_PER_ITERATION, WRITER_COUNTS};
use crate::Mode;
use crate::durable::{
    self, CHECKPOINTED, CHECKPOINTED_PLUS_REPLAY, DurableSystem, replayed_changes,
};
use crate::results::{Estimate, format_ratio, machine, with_separators};

/// Criterion group of the transfer benchmarks: IDs
/// `durable_transfers/<system>/<writers>`.
pub const TRANSFER_GROUP: &str = "durable_transfers";

/// Criterion group of the single-row insert benchmarks: IDs
/// `durable_db_insert/<system>/1`.
pub const INSERT_GROUP: &str = "durable_db_insert";

/// Criterion group of the reopen benchmarks: IDs
/// `durable_db_reopen/checkpointed/<rows>` and
/// `durable_db_reopen/checkpointed_plus_replay/<rows>`.
pub const REOPEN_GROUP: &str = "durable_db_reopen";

/// Criterion group of the bulk loads.
pub const BULK_GROUP: &str = "durable_db_bulk_load";

/// The systems of the bulk loads, worktable first.
pub const BULK_SYSTEMS: [&str; 2] = ["worktable", "sqlite"];

/// The durable systems of the insert benchmarks, from the `durable`
/// suite: the one-table database first, then the table and SQLite.
pub const INSERT_SYSTEMS: [&str; 3] = [
    durable::worktable_db::WorktableDb::NAME,
    durable::worktable::Worktable::NAME,
    durable::sqlite::SqliteWal::NAME,
];

/// Writers of the insert benchmarks.
pub const INSERT_WRITERS: usize = 1;

/// The target for opening 1,000,000 rows, in seconds.
pub const REOPEN_TARGET_SECONDS: f64 = 1.0;

fn per_second(criterion: &Path, id: &str) -> Option<f64> {
    Estimate::read(criterion, id).map(Estimate::elements_per_second)
}

fn rate(value: Option<f64>) -> String {
    value.map_or("—".to_owned(), |value| {
        format!("{}/s", with_separators(value.round() as u64))
    })
}

fn ratio(value: Option<f64>) -> String {
    value.map_or("—".to_owned(), format_ratio)
}

/// Prints the summary of the latest durable database run in `criterion`,
/// for `mode`'s reopen sizes.
pub fn print_summary(criterion: &Path, mode: Mode) {
    // rates[system][k]: transfers/s with WRITER_COUNTS[k] writers.
    let rates: Vec<Vec<Option<f64>>> = NAMES
        .iter()
        .map(|system| {
            WRITER_COUNTS
                .iter()
                .map(|writers| {
                    per_second(criterion, &format!("{TRANSFER_GROUP}/{system}/{writers}"))
                })
                .collect()
        })
        .collect();
    let heading: Vec<String> = WRITER_COUNTS
        .iter()
        .map(|count| format!("{count} writer{}", if *count == 1 { "" } else { "s" }))
        .collect();
    let last = WRITER_COUNTS.len() - 1;

    println!(
        "Durable transfers (two balance updates and a ledger insert, one transaction each, \
         returned once durable): median transfers per second over runs of {} transfers dealt \
         to the writers, each writer between its own two accounts. Machine: {}.",
        with_separators(TRANSFERS_PER_ITERATION as u64),
        machine()
    );
    println!();
    println!(
        "| system | {} | {} ÷ 1 writer |",
        heading.join(" | "),
        heading[last]
    );
    println!("|---|{}---:|", "---:|".repeat(WRITER_COUNTS.len()));
    for (system, values) in NAMES.iter().zip(&rates) {
        let speedup = values[last].zip(values[0]).map(|(many, one)| many / one);
        let cells: Vec<String> = values.iter().map(|value| rate(*value)).collect();
        println!("| {system} | {} | {} |", cells.join(" | "), ratio(speedup));
    }
    let cells: Vec<String> = (0..WRITER_COUNTS.len())
        .map(|k| {
            ratio(
                rates[0][k]
                    .zip(rates[1][k])
                    .map(|(ours, theirs)| ours / theirs),
            )
        })
        .collect();
    println!("| {} ÷ {} | {} | |", NAMES[0], NAMES[1], cells.join(" | "));

    println!();
    println!(
        "Durable single-row inserts from one writer (the `durable` suite's rows and systems; \
         `worktable_db` is a one-table `DurableDatabase`, `worktable` a `PersistentTable`), \
         median inserts per second."
    );
    println!();
    println!("| system | inserts/s | worktable_db ÷ system |");
    println!("|---|---:|---:|");
    let inserts: Vec<Option<f64>> = INSERT_SYSTEMS
        .iter()
        .map(|system| {
            per_second(
                criterion,
                &format!("{INSERT_GROUP}/{system}/{INSERT_WRITERS}"),
            )
        })
        .collect();
    for (system, value) in INSERT_SYSTEMS.iter().zip(&inserts) {
        let versus = inserts[0].zip(*value).map(|(ours, theirs)| ours / theirs);
        println!("| {system} | {} | {} |", rate(*value), ratio(versus));
    }

    println!();
    println!(
        "Reopen (`DurableDatabase::open` of three tables: read the checkpoints, replay the log \
         after them, build the indexes), median. Target: under {REOPEN_TARGET_SECONDS:.0} s \
         for 1,000,000 rows."
    );
    println!();
    println!("| rows | log records replayed | open | rows/s |");
    println!("|---:|---:|---:|---:|");
    for rows in reopen_rows(mode) {
        for (case, logged) in [
            (CHECKPOINTED, 0),
            (CHECKPOINTED_PLUS_REPLAY, replayed_changes(rows)),
        ] {
            let estimate = Estimate::read(criterion, &format!("{REOPEN_GROUP}/{case}/{rows}"));
            let (time, speed) = estimate.map_or(("—".to_owned(), "—".to_owned()), |estimate| {
                (
                    format!("{:.3} s", estimate.median_nanos / 1e9),
                    rate(Some(estimate.elements_per_second())),
                )
            });
            println!(
                "| {} | {} | {time} | {speed} |",
                with_separators(rows as u64),
                with_separators(logged as u64)
            );
        }
    }

    println!();
    println!(
        "Bulk load (accounts written durably in one step: `create_loaded`, a checkpoint, \
         against SQLite's `BEGIN`, an `INSERT` per row, `COMMIT`), median rows per second. \
         Target: worktable at least SQLite's rate."
    );
    println!();
    println!("| rows | system | rows/s | worktable ÷ system |");
    println!("|---:|---|---:|---:|");
    let rows = super::bulk::bulk_rows(mode);
    let loads: Vec<Option<f64>> = BULK_SYSTEMS
        .iter()
        .map(|system| per_second(criterion, &format!("{BULK_GROUP}/{system}/{rows}")))
        .collect();
    for (system, value) in BULK_SYSTEMS.iter().zip(&loads) {
        let versus = loads[0].zip(*value).map(|(ours, theirs)| ours / theirs);
        println!(
            "| {} | {system} | {} | {} |",
            with_separators(rows as u64),
            rate(*value),
            ratio(versus)
        );
    }
}
