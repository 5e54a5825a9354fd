//! Criterion's results as the reports read them, and how the reports write
//! numbers.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The 2-thread mix runs in this many rounds, each round on every system in
/// turn: the speed of passing a cache line between the two cores of a
/// virtual machine can change several-fold within seconds (the host moves
/// the cores), and a system whose whole measurement fell in a slow spell
/// would otherwise lose to one that had a fast one. The report takes the
/// median of a system's rounds.
pub const MIX_ROUNDS: usize = 5;

/// The benchmark parameter of round `round` of the mix at `rows` rows.
pub fn mix_round(rows: usize, round: usize) -> String {
    format!("{rows}-round{round}")
}

/// Where criterion writes its results: `$CRITERION_HOME`,
/// `$CARGO_TARGET_DIR/criterion`, or `target/criterion` of the workspace
/// (criterion's own order, short of asking `cargo metadata`).
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criterion")
}

/// The latest run of benchmark `id` (`group/function/parameter`) in
/// `criterion`: median time per iteration, and the elements an iteration
/// counts if the benchmark has an element throughput.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Median time of one iteration, in nanoseconds.
    pub median_nanos: f64,
    /// Elements per iteration (`Throughput::Elements`), if set.
    pub elements: Option<f64>,
}

impl Estimate {
    /// Reads benchmark `id`'s latest run; `None` if it has none.
    pub fn read(criterion: &Path, id: &str) -> Option<Self> {
        let dir = criterion.join(id).join("new");
        let read = |file: &str| -> Option<Value> {
            let text = std::fs::read_to_string(dir.join(file)).ok()?;
            serde_json::from_str(&text).ok()
        };
        let median_nanos = read("estimates.json")?["median"]["point_estimate"].as_f64()?;
        let elements = read("benchmark.json")
            .and_then(|benchmark| benchmark["throughput"]["Elements"].as_f64());
        Some(Self {
            median_nanos,
            elements,
        })
    }

    /// Median time of one element (of one iteration if there is no
    /// element throughput), in nanoseconds.
    pub fn nanos_per_element(self) -> f64 {
        self.median_nanos / self.elements.unwrap_or(1.0)
    }

    /// Elements per second at the median time.
    pub fn elements_per_second(self) -> f64 {
        1e9 / self.nanos_per_element()
    }
}

/// A duration in nanoseconds, with a unit that keeps 2–3 digits.
pub fn format_nanos(nanos: f64) -> String {
    if nanos < 10.0 {
        format!("{nanos:.1} ns")
    } else if nanos < 1_000.0 {
        format!("{nanos:.0} ns")
    } else if nanos < 1_000_000.0 {
        format!("{:.1} µs", nanos / 1_000.0)
    } else if nanos < 1_000_000_000.0 {
        format!("{:.2} ms", nanos / 1_000_000.0)
    } else {
        format!("{:.2} s", nanos / 1_000_000_000.0)
    }
}

/// A ratio with a precision that suits its size, e.g. `1.25×`.
pub fn format_ratio(ratio: f64) -> String {
    if ratio < 0.1 {
        format!("{ratio:.3}×")
    } else if ratio < 10.0 {
        format!("{ratio:.2}×")
    } else {
        format!("{ratio:.0}×")
    }
}

/// `n` with thousands separators: `1,000,000`.
pub fn with_separators(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `model name` of the first processor in `/proc/cpuinfo`.
fn cpu_model() -> Option<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
}

fn total_memory_gib() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: f64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / (1024.0 * 1024.0))
}

fn rustc_version() -> Option<String> {
    let output = Command::new("rustc").arg("--version").output().ok()?;
    Some(String::from_utf8(output.stdout).ok()?.trim().to_owned())
}

/// The machine, for the reader of the figures: CPU, cores, memory and
/// compiler.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{}, {cores} cores, {:.0} GiB; {}",
        cpu_model().unwrap_or_else(|| "unknown CPU".into()),
        total_memory_gib().unwrap_or(0.0),
        rustc_version().unwrap_or_else(|| "unknown rustc".into()),
    )
}
