//! The replica benchmark's arithmetic and files (the servers are only
//! started by the benchmark itself).

use super::lag::Lags;
use super::summary::{LagFigures, RoundFigures, SetupFigures, lag_runs, median};
use super::{WRITERS, item};

#[test]
fn quantiles_take_the_nearest_rank() {
    let lags = Lags::new((1..=100).rev().collect());
    assert_eq!(lags.quantile(0.5), 50);
    assert_eq!(lags.quantile(0.99), 99);
    assert_eq!(lags.quantile(1.0), 100);
    assert_eq!(lags.quantile(0.0), 1);
    assert_eq!(lags.max(), 100);
    assert_eq!(Lags::new(vec![7]).quantile(0.99), 7);
    assert_eq!(Lags::default().quantile(0.5), 0);
}

#[test]
fn medians_of_odd_and_even_counts() {
    assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    assert!(median(Vec::new()).is_nan());
}

#[test]
fn rows_belong_to_their_writer() {
    let row = item(3 * WRITERS as u64 + 5);
    assert_eq!(row.writer, 5);
    assert_eq!(row.name.len(), 16);
}

#[test]
fn figures_round_trip_through_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut lag = LagFigures::new("default_sync", 1_000);
    for p50 in [30, 10, 20] {
        lag.rounds.push(RoundFigures {
            offered: 1_000,
            achieved: 999.5,
            samples: 1_250,
            p50_nanos: p50,
            p99_nanos: 5 * p50,
            max_nanos: 9 * p50,
            changes: 1_500,
            messages: 700,
            bytes: 150_000,
        });
    }
    lag.write(dir.path());
    let read = LagFigures::read(dir.path(), "default_sync", 1_000).unwrap();
    assert_eq!(read, lag);
    assert_eq!(read.median(|round| round.p50_nanos as f64), 20.0);
    assert_eq!(read.rounds[0].bytes_per_change(), 100.0);
    assert!(LagFigures::read(dir.path(), "sync_always", 1_000).is_none());

    let setup = SetupFigures {
        snapshot_rows: 100,
        snapshot_bytes: 4_096,
        changes: 1_000,
        messages: 10,
        bytes: 90_000,
        seconds: 0.5,
    };
    setup.write(dir.path());
    assert_eq!(SetupFigures::read(dir.path(), 1_000), Some(setup));
}

#[test]
fn lag_runs_come_in_table_order_without_the_unmeasured() {
    let dir = tempfile::tempdir().unwrap();
    assert!(lag_runs(dir.path()).is_empty());
    for (variant, rate) in [("sync_always", 1_000), ("default_sync", 50_000)] {
        let mut figures = LagFigures::new(variant, rate);
        figures.rounds.push(RoundFigures {
            offered: rate,
            achieved: rate as f64,
            samples: 10,
            p50_nanos: 1_000,
            p99_nanos: 2_000,
            max_nanos: 3_000,
            changes: 10,
            messages: 5,
            bytes: 1_000,
        });
        figures.write(dir.path());
    }
    let runs: Vec<(String, u64)> = lag_runs(dir.path())
        .into_iter()
        .map(|run| (run.variant, run.rate))
        .collect();
    assert_eq!(
        runs,
        [
            ("default_sync".to_owned(), 50_000),
            ("sync_always".to_owned(), 1_000)
        ]
    );
}
