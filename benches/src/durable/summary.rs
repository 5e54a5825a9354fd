//! The durable benchmark's figures as markdown tables: inserts per second per
//! system × writers, worktable's ratios to each system, the targets, and
//! the reopen times. Read from criterion's output, so the `report` binary
//! can print them again without a run (`report durable`).

use std::path::Path;

use super::{
    CHECKPOINTED, CHECKPOINTED_PLUS_REPLAY, DurableSystem, DurableVisitor, NAMES, WRITER_COUNTS,
    reopen_rows, replayed_changes, visit_all,
};
use crate::Mode;
use crate::results::{Estimate, format_nanos, format_ratio, machine, with_separators};

/// Criterion group of the insert benchmarks: IDs `durable_insert/<system>/<writers>`.
pub const INSERT_GROUP: &str = "durable_insert";

/// Criterion group of the reopen benchmarks: IDs
/// `durable_reopen/checkpointed/<rows>` and
/// `durable_reopen/checkpointed_plus_replay/<rows>`.
pub const REOPEN_GROUP: &str = "durable_reopen";

/// The targets for worktable: inserts per second with this many
/// writers.
pub const TARGETS: [(usize, f64); 2] = [(1, 8_000.0), (16, 60_000.0)];

/// Median inserts per second of `system` with `writers` writers, if
/// measured.
fn inserts_per_second(criterion: &Path, system: &str, writers: usize) -> Option<f64> {
    Estimate::read(criterion, &format!("{INSERT_GROUP}/{system}/{writers}"))
        .map(Estimate::elements_per_second)
}

/// The writer counts each system is measured with, in the order of
/// [`NAMES`].
fn measured_writers() -> Vec<Vec<usize>> {
    struct Counts(Vec<Vec<usize>>);
    impl DurableVisitor for Counts {
        fn visit<S: DurableSystem>(&mut self) {
            self.0.push(super::writer_counts::<S>().collect());
        }
    }
    let mut counts = Counts(Vec::new());
    visit_all(&mut counts);
    counts.0
}

fn rate(value: Option<f64>) -> String {
    value.map_or("—".to_owned(), |value| {
        format!("{}/s", with_separators(value.round() as u64))
    })
}

fn ratio(value: Option<f64>) -> String {
    value.map_or("—".to_owned(), format_ratio)
}

/// Median inserts per second of the latest run in `criterion`:
/// `rates[s][k]` is system [`NAMES`]`[s]` with [`WRITER_COUNTS`]`[k]`
/// writers, `None` where it was not measured (the floors run one writer
/// only).
pub fn insert_rates(criterion: &Path) -> Vec<Vec<Option<f64>>> {
    NAMES
        .iter()
        .zip(measured_writers())
        .map(|(system, counts)| {
            WRITER_COUNTS
                .iter()
                .map(|count| {
                    counts
                        .contains(count)
                        .then(|| inserts_per_second(criterion, system, *count))
                        .flatten()
                })
                .collect()
        })
        .collect()
}

/// Prints the summary of the latest durable run in `criterion`, for
/// `mode`'s reopen sizes.
pub fn print_summary(criterion: &Path, mode: Mode) {
    let writers = measured_writers();
    let rates = insert_rates(criterion);
    let ours = &rates[0];
    let heading: Vec<String> = WRITER_COUNTS
        .iter()
        .map(|count| format!("{count} writer{}", if *count == 1 { "" } else { "s" }))
        .collect();
    let last = WRITER_COUNTS.len() - 1;

    println!(
        "Durable single-row inserts, one transaction each: median inserts per second over \
         runs of {} rows dealt to the writers, each run in a fresh directory. Machine: {}.",
        with_separators(super::ROWS_PER_ITERATION as u64),
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

    println!();
    println!(
        "worktable's inserts/s ÷ each system's with as many writers (above 1: worktable \
         faster). A system measured with one writer only (the floors) is compared with its \
         one-writer figure in every column."
    );
    println!();
    println!("| ÷ system | {} |", heading.join(" | "));
    println!("|---|{}", "---:|".repeat(WRITER_COUNTS.len()));
    for ((system, values), counts) in NAMES.iter().zip(&rates).zip(&writers).skip(1) {
        let cells: Vec<String> = (0..WRITER_COUNTS.len())
            .map(|k| {
                let theirs = if counts.len() == 1 {
                    values[0]
                } else {
                    values[k]
                };
                ratio(ours[k].zip(theirs).map(|(ours, theirs)| ours / theirs))
            })
            .collect();
        println!("| {system} | {} |", cells.join(" | "));
    }

    println!();
    println!("| target | bound | worktable | met |");
    println!("|---|---:|---:|:---:|");
    for (count, bound) in TARGETS {
        let k = WRITER_COUNTS
            .iter()
            .position(|c| *c == count)
            .expect("a target's writer count is measured");
        let met = ours[k].map_or("—", |value| if value >= bound { "yes" } else { "**no**" });
        println!(
            "| {count} writer{} | ≥ {} | {} | {met} |",
            if count == 1 { "" } else { "s" },
            rate(Some(bound)),
            rate(ours[k]),
        );
    }

    println!();
    println!(
        "Reopen (`PersistentTable::open`: read the checkpoint, replay the log after it, \
         build the indexes), median."
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
                    format_nanos(estimate.median_nanos),
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
}
