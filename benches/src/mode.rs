//! Size and precision of a run, from the `WORKTABLE_BENCH` environment
//! variable.

use std::time::Duration;

/// How much a benchmark run measures.
///
/// | `WORKTABLE_BENCH` | rows | per benchmark |
/// |---|---:|---|
/// | unset | 100,000 | 1 s warm-up, 3 s measurement, 50 samples |
/// | `quick` | 100,000 | 0.2 s warm-up, 0.6 s measurement, 10 samples |
/// | `large` | 1,000,000 | as unset |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 100,000 rows, full precision.
    Default,
    /// 100,000 rows, few short samples: the whole suite in a few minutes.
    Quick,
    /// 1,000,000 rows.
    Large,
}

impl Mode {
    /// The mode `WORKTABLE_BENCH` asks for.
    ///
    /// # Panics
    ///
    /// If the variable holds something other than `quick` or `large`.
    pub fn from_env() -> Self {
        match std::env::var("WORKTABLE_BENCH").as_deref() {
            Err(_) | Ok("") => Mode::Default,
            Ok("quick") => Mode::Quick,
            Ok("large") => Mode::Large,
            Ok(other) => panic!("WORKTABLE_BENCH={other}: expected `quick`, `large` or nothing"),
        }
    }

    /// Rows in the table.
    pub fn rows(self) -> usize {
        match self {
            Mode::Default | Mode::Quick => 100_000,
            Mode::Large => 1_000_000,
        }
    }

    /// Warm-up time of each benchmark.
    pub fn warm_up_time(self) -> Duration {
        match self {
            Mode::Quick => Duration::from_millis(200),
            Mode::Default | Mode::Large => Duration::from_secs(1),
        }
    }

    /// Measurement time of each benchmark.
    pub fn measurement_time(self) -> Duration {
        match self {
            Mode::Quick => Duration::from_millis(600),
            Mode::Default | Mode::Large => Duration::from_secs(3),
        }
    }

    /// Samples of each benchmark.
    pub fn sample_size(self) -> usize {
        match self {
            Mode::Quick => 10,
            Mode::Default | Mode::Large => 50,
        }
    }
}

/// The systems `WORKTABLE_BENCH_SYSTEMS` (comma-separated names) asks for;
/// every system when it is unset or empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemFilter(Option<Vec<String>>);

impl SystemFilter {
    /// The filter `WORKTABLE_BENCH_SYSTEMS` asks for.
    pub fn from_env() -> Self {
        Self(
            std::env::var("WORKTABLE_BENCH_SYSTEMS")
                .ok()
                .filter(|names| !names.is_empty())
                .map(|names| names.split(',').map(str::to_owned).collect()),
        )
    }

    /// Whether the system named `name` runs.
    pub fn selects(&self, name: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|names| names.iter().any(|wanted| wanted == name))
    }
}
