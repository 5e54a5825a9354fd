//! Turns the `peers` benchmark's criterion output into markdown tables: time
//! per operation for each workload × system with its ratio to worktable,
//! resident memory per row (each system measured in a fresh process), and
//! worktable's ratios to the baselines against the targets.
//!
//! ```text
//! cargo run --profile bench -p worktable-benches --bin report [-- OPTIONS]
//!     --rows N          rows of the run to report (default: from WORKTABLE_BENCH)
//!     --criterion DIR   criterion's output (default: $CARGO_TARGET_DIR/criterion
//!                       or target/criterion of the workspace)
//!     --no-memory       skip the memory measurement
//!     --chart FILE      also draw the times as an SVG chart into FILE (each
//!                       system's ratio to worktable, per workload)
//! cargo run --profile bench -p worktable-benches --bin report -- memory SYSTEM [ROWS]
//!                       one system's resident bytes per row, in this process
//! cargo run --profile bench -p worktable-benches --bin report -- durable [--criterion DIR] [--chart FILE]
//!                       the `durable` benchmark's tables (reopen sizes from WORKTABLE_BENCH);
//!                       --chart also draws inserts per second by number of
//!                       writers, per system, as an SVG chart into FILE
//! cargo run --profile bench -p worktable-benches --bin report -- replica [--criterion DIR] [--chart FILE]
//!                       the `replica` benchmark's tables (catch-up sizes from WORKTABLE_BENCH);
//!                       --chart also draws each lag run's p50, p99 and max
//!                       lag as an SVG chart into FILE
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use worktable_benches::chart::{Group, durable_chart, lag_chart, ratio_chart};
use worktable_benches::durable;
use worktable_benches::replica::{self, Scale};
use worktable_benches::results::{
    self, Estimate, MIX_ROUNDS, format_nanos, format_ratio, machine, mix_round, with_separators,
};
use worktable_benches::systems::{self, NAMES};
use worktable_benches::{Mode, System, SystemVisitor, memory};

/// A benchmarked workload: its criterion group (without the `peers_`
/// prefix) and what a row of the table says about it.
struct Workload {
    group: &'static str,
    label: &'static str,
}

const WORKLOADS: [Workload; 13] = [
    Workload {
        group: "insert",
        label: "bulk insert into an empty table, per row",
    },
    Workload {
        group: "insert_each",
        label: "insert one row at a time into an empty table, per row",
    },
    Workload {
        group: "insert_each_ascending",
        label: "insert one row at a time, ascending keys, per row",
    },
    Workload {
        group: "get_pk",
        label: "get by primary key (owned row)",
    },
    Workload {
        group: "read_pk",
        label: "read one field by primary key (zero-copy where the system has it)",
    },
    Workload {
        group: "get_unique",
        label: "get by unique index (owned row)",
    },
    Workload {
        group: "find_non_unique",
        label: "all rows of one non-unique key, per returned row",
    },
    Workload {
        group: "scan_filter",
        label: "filtered scan, 1% of the rows kept (whole scan)",
    },
    Workload {
        group: "update_balance",
        label: "update a non-indexed field by primary key",
    },
    Workload {
        group: "update_with",
        label: "update a non-indexed field through a closure (`update_with`)",
    },
    Workload {
        group: "update_age",
        label: "update an indexed field by primary key",
    },
    Workload {
        group: "delete_reinsert",
        label: "delete + re-insert by primary key",
    },
    Workload {
        group: "mixed_2_threads",
        label: "2 threads, 90% get / 10% update, per operation (wall time)",
    },
];

/// A target of the issue: worktable's ratio to a baseline.
struct Target {
    /// The workload group, or `None` for memory.
    group: Option<&'static str>,
    label: &'static str,
    /// The system the ratio is taken to.
    baseline: &'static str,
    /// For time ratios: the most allowed; for the throughput ratio: the
    /// least allowed.
    bound: f64,
    /// `true` if the ratio is of throughput (higher is better).
    throughput: bool,
}

const TARGETS: [Target; 13] = [
    Target {
        group: Some("get_pk"),
        label: "PK get",
        baseline: "rwlock_hashmap",
        bound: 1.3,
        throughput: false,
    },
    Target {
        group: Some("get_unique"),
        label: "unique-index get",
        baseline: "rwlock_hashmap",
        bound: 1.3,
        throughput: false,
    },
    Target {
        group: Some("find_non_unique"),
        label: "non-unique look-up, per row",
        baseline: "rwlock_hashmap",
        bound: 1.3,
        throughput: false,
    },
    Target {
        group: Some("insert"),
        label: "bulk insert",
        baseline: "rwlock_hashmap",
        bound: 1.5,
        throughput: false,
    },
    Target {
        group: Some("insert_each"),
        label: "insert one row at a time",
        baseline: "rwlock_hashmap",
        bound: 1.5,
        throughput: false,
    },
    Target {
        group: Some("insert_each_ascending"),
        label: "insert one row at a time, ascending keys",
        baseline: "rwlock_hashmap",
        bound: 1.5,
        throughput: false,
    },
    Target {
        group: Some("update_balance"),
        label: "update of a non-indexed field (`set_field`)",
        baseline: "rwlock_hashmap",
        bound: 3.0,
        throughput: false,
    },
    Target {
        group: Some("update_with"),
        label: "update of a non-indexed field through a closure (`update_with`)",
        baseline: "rwlock_hashmap",
        bound: 4.0,
        throughput: false,
    },
    Target {
        group: Some("update_age"),
        label: "update of an indexed field",
        baseline: "rwlock_hashmap",
        bound: 3.0,
        throughput: false,
    },
    Target {
        group: Some("delete_reinsert"),
        label: "delete + re-insert",
        baseline: "rwlock_hashmap",
        bound: 2.0,
        throughput: false,
    },
    Target {
        group: Some("scan_filter"),
        label: "filtered scan, 1% kept",
        baseline: "rwlock_hashmap",
        bound: 2.0,
        throughput: false,
    },
    Target {
        group: None,
        label: "resident memory per row",
        baseline: "rwlock_hashmap",
        bound: 1.2,
        throughput: false,
    },
    Target {
        group: Some("mixed_2_threads"),
        label: "2-thread 90/10 mix, throughput",
        baseline: "dashmap",
        bound: 1.0,
        throughput: true,
    },
];

/// The peer the targets say worktable must beat on every line.
const PREVIOUS: &str = "worktable_1_13";

struct Options {
    rows: usize,
    criterion: PathBuf,
    memory: bool,
    chart: Option<PathBuf>,
}

fn parse_options(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        rows: Mode::from_env().rows(),
        criterion: results::criterion_dir(),
        memory: true,
        chart: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rows" => {
                let value = args.next().ok_or("--rows needs a number")?;
                options.rows = value
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("--rows {value}: not a number"))?;
            }
            "--criterion" => {
                options.criterion = args.next().ok_or("--criterion needs a directory")?.into();
            }
            "--no-memory" => options.memory = false,
            "--chart" => options.chart = Some(args.next().ok_or("--chart needs a file")?.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

/// Median time of one operation in nanoseconds: criterion's median time per
/// iteration divided by the benchmark's element throughput, if it has one.
/// For the mix, the median over its rounds of that figure.
fn nanos_per_op(criterion: &Path, group: &str, system: &str, rows: usize) -> Option<f64> {
    let read = |parameter: &str| {
        Estimate::read(criterion, &format!("peers_{group}/{system}/{parameter}"))
            .map(Estimate::nanos_per_element)
    };
    if group != "mixed_2_threads" {
        return read(&rows.to_string());
    }
    let mut rounds: Vec<f64> = (0..MIX_ROUNDS)
        .filter_map(|round| read(&mix_round(rows, round)))
        .collect();
    rounds.sort_by(f64::total_cmp);
    match rounds.len() {
        0 => None,
        n if n % 2 == 1 => Some(rounds[n / 2]),
        n => Some((rounds[n / 2 - 1] + rounds[n / 2]) / 2.0),
    }
}

/// Runs this program as `memory SYSTEM ROWS` in a fresh process.
fn memory_in_child(system: &str, rows: usize) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let output = Command::new(exe)
        .args(["memory", system, &rows.to_string()])
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "memory {system}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return None;
    }
    String::from_utf8(output.stdout).ok()?.trim().parse().ok()
}

/// One system's measurement, found by name among the systems.
struct MeasureMemory<'a> {
    name: &'a str,
    rows: usize,
    bytes_per_row: Option<f64>,
}

impl SystemVisitor for MeasureMemory<'_> {
    fn visit<S: System>(&mut self) {
        if S::NAME == self.name {
            self.bytes_per_row = Some(memory::bytes_per_row::<S>(self.rows));
        }
    }
}

fn report(options: &Options) {
    let times: Vec<Vec<Option<f64>>> = WORKLOADS
        .iter()
        .map(|workload| {
            NAMES
                .iter()
                .map(|system| {
                    nanos_per_op(&options.criterion, workload.group, system, options.rows)
                })
                .collect()
        })
        .collect();
    let memory: Vec<Option<f64>> = NAMES
        .iter()
        .map(|system| {
            if options.memory {
                memory_in_child(system, options.rows)
            } else {
                None
            }
        })
        .collect();
    let column = |name: &str| NAMES.iter().position(|n| *n == name).expect("known system");
    let ours = column("worktable");
    if let Some(path) = &options.chart {
        write_chart(path, options.rows, &times, &memory, ours);
    }

    println!(
        "{} rows; median time per operation and, in brackets, its ratio to worktable's \
         (above 1: slower than worktable). Machine: {}.",
        with_separators(options.rows as u64),
        machine()
    );
    println!();
    println!("| workload | {} |", NAMES.join(" | "));
    println!("|---|{}", "---:|".repeat(NAMES.len()));
    let cells = |values: &[Option<f64>], format: &dyn Fn(f64) -> String| -> String {
        values
            .iter()
            .enumerate()
            .map(|(i, value)| match (value, values[ours]) {
                (Some(value), _) if i == ours => format(*value),
                (Some(value), Some(reference)) => {
                    format!("{} ({})", format(*value), format_ratio(value / reference))
                }
                (Some(value), None) => format(*value),
                (None, _) => "—".to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" | ")
    };
    for (workload, values) in WORKLOADS.iter().zip(&times) {
        println!("| {} | {} |", workload.label, cells(values, &format_nanos));
    }
    println!(
        "| resident memory per row after bulk insert | {} |",
        cells(&memory, &|bytes| format!("{bytes:.0} B"))
    );

    println!();
    println!(
        "Targets: worktable's ratio to the baseline (time ratios: at most the bound; \
         throughput ratio: at least the bound), and the same ratio for `{PREVIOUS}`."
    );
    println!();
    println!("| target | baseline | bound | worktable | met | {PREVIOUS} | worktable better |");
    println!("|---|---|---:|---:|:---:|---:|:---:|");
    for target in &TARGETS {
        let values: &[Option<f64>] = match target.group {
            Some(group) => {
                let row = WORKLOADS
                    .iter()
                    .position(|workload| workload.group == group)
                    .expect("known workload");
                &times[row]
            }
            None => &memory,
        };
        let baseline = values[column(target.baseline)];
        // Time ratios are system / baseline; throughput ratios the inverse.
        let ratio = |system: &str| -> Option<f64> {
            let (value, baseline) = (values[column(system)]?, baseline?);
            Some(if target.throughput {
                baseline / value
            } else {
                value / baseline
            })
        };
        let (ours, previous) = (ratio("worktable"), ratio(PREVIOUS));
        let met = ours.map(|ratio| {
            if target.throughput {
                ratio >= target.bound
            } else {
                ratio <= target.bound
            }
        });
        let better = match (ours, previous) {
            (Some(ours), Some(previous)) => Some(if target.throughput {
                ours > previous
            } else {
                ours < previous
            }),
            _ => None,
        };
        let yes_no = |answer: Option<bool>| match answer {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let show = |ratio: Option<f64>| ratio.map_or("—".to_owned(), format_ratio);
        println!(
            "| {} | {} | {}{} | {} | {} | {} | {} |",
            target.label,
            target.baseline,
            if target.throughput { "≥ " } else { "≤ " },
            format_ratio(target.bound),
            show(ours),
            yes_no(met),
            show(previous),
            yes_no(better),
        );
    }
}

/// Draws `times` (and `memory`, if measured) as each system's ratio to
/// worktable's (column `ours`) into `path`.
fn write_chart(
    path: &Path,
    rows: usize,
    times: &[Vec<Option<f64>>],
    memory: &[Option<f64>],
    ours: usize,
) {
    let others: Vec<&str> = NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != ours)
        .map(|(_, name)| *name)
        .collect();
    let group = |label: &str, values: &[Option<f64>]| Group {
        label: label.to_owned(),
        ratios: (0..NAMES.len())
            .filter(|i| *i != ours)
            .map(|i| Some(values[i]? / values[ours]?))
            .collect(),
    };
    let mut groups: Vec<Group> = WORKLOADS
        .iter()
        .zip(times)
        .map(|(workload, values)| group(workload.label, values))
        .collect();
    if memory.iter().any(Option::is_some) {
        groups.push(group("resident memory per row after bulk insert", memory));
    }
    let title = format!(
        "peers suite, {} rows: each system's time as a ratio to worktable's",
        with_separators(rows as u64),
    );
    write_svg(path, &ratio_chart(&title, &others, &groups));
}

fn write_svg(path: &Path, svg: &str) {
    if let Err(error) = std::fs::write(path, svg) {
        eprintln!("could not write the chart to {}: {error}", path.display());
    }
}

/// The options of `report durable` and `report replica`: criterion's
/// directory, and where to draw the chart, if anywhere.
struct SuiteOptions {
    criterion: PathBuf,
    chart: Option<PathBuf>,
}

fn parse_suite_options(mut args: impl Iterator<Item = String>) -> Result<SuiteOptions, String> {
    let mut options = SuiteOptions {
        criterion: results::criterion_dir(),
        chart: None,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--criterion" => {
                options.criterion = args.next().ok_or("--criterion needs a directory")?.into();
            }
            "--chart" => options.chart = Some(args.next().ok_or("--chart needs a file")?.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if let Some(suite @ ("durable" | "replica")) = args.peek().map(String::as_str) {
        let suite = suite.to_owned();
        args.next();
        let options = match parse_suite_options(args) {
            Ok(options) => options,
            Err(message) => {
                eprintln!("{message}; usage: report {suite} [--criterion DIR] [--chart FILE]");
                return ExitCode::FAILURE;
            }
        };
        let criterion = &options.criterion;
        if suite == "durable" {
            durable::summary::print_summary(criterion, Mode::from_env());
            if let Some(path) = &options.chart {
                let rates = durable::summary::insert_rates(criterion);
                let targets = durable::summary::TARGETS;
                let svg = durable_chart(&durable::NAMES, &durable::WRITER_COUNTS, &rates, &targets);
                write_svg(path, &svg);
            }
        } else {
            replica::summary::print_summary(criterion, &Scale::of(Mode::from_env(), false));
            if let Some(path) = &options.chart {
                write_svg(path, &lag_chart(&replica::summary::lag_runs(criterion)));
            }
        }
        return ExitCode::SUCCESS;
    }
    if args.peek().map(String::as_str) == Some("memory") {
        args.next();
        let Some(name) = args.next() else {
            eprintln!(
                "usage: report memory SYSTEM [ROWS]; systems: {}",
                NAMES.join(", ")
            );
            return ExitCode::FAILURE;
        };
        let rows = match args.next().map(|rows| rows.replace('_', "").parse()) {
            None => Mode::from_env().rows(),
            Some(Ok(rows)) => rows,
            Some(Err(_)) => {
                eprintln!("ROWS must be a number");
                return ExitCode::FAILURE;
            }
        };
        let mut measure = MeasureMemory {
            name: &name,
            rows,
            bytes_per_row: None,
        };
        systems::visit_all(&mut measure);
        return match measure.bytes_per_row {
            Some(bytes) => {
                println!("{bytes:.1}");
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("unknown system {name}; systems: {}", NAMES.join(", "));
                ExitCode::FAILURE
            }
        };
    }
    match parse_options(args) {
        Ok(options) => {
            report(&options);
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
