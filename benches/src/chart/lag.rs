//! The replica benchmark's lag, per run (server sync × offered rate). The
//! benchmark keeps a run's lag only as a summary (p50, p99 and max of
//! every round), not as a series over time, so that is what is drawn.

use super::bars::{self, BarGroup, Chart};
use crate::replica::summary::{LagFigures, RoundFigures};
use crate::results::{format_nanos, with_separators};

/// The bars of each run, in order.
const SERIES: [&str; 3] = ["p50", "p99", "max"];

/// An SVG chart of `runs` (as
/// [`lag_runs`](crate::replica::summary::lag_runs) reads them): one group
/// per run, with the median over its rounds of the rounds' p50, p99 and
/// max lag. A run without rounds has its label and no bars.
pub fn lag_chart(runs: &[LagFigures]) -> String {
    let groups: Vec<BarGroup> = runs
        .iter()
        .map(|run| {
            let median = |figure: fn(&RoundFigures) -> u64| {
                Some(run.median(|round| figure(round) as f64)).filter(|lag| lag.is_finite())
            };
            let achieved = Some(run.median(|round| round.achieved))
                .filter(|rate| rate.is_finite())
                .map_or(String::new(), |rate| {
                    format!(" ({}/s achieved)", with_separators(rate.round() as u64))
                });
            BarGroup {
                label: format!(
                    "{}, {}/s offered{achieved}",
                    run.variant,
                    with_separators(run.rate)
                ),
                values: vec![
                    median(|round| round.p50_nanos),
                    median(|round| round.p99_nanos),
                    median(|round| round.max_nanos),
                ],
                mark: None,
            }
        })
        .collect();
    let chart = Chart {
        title: "Replication lag, by server sync and offered rate of single-row changes",
        caption: &[
            "From a change's write returning (durable) on the primary to the replica applying \
             it; primary, nats-server and replica on one machine.",
            "Median over the rounds of each run's p50, p99 and max (kept per run, not over \
             time); log scale, shorter is better.",
        ],
        series: &SERIES,
        value: format_nanos,
        tick: decade,
    };
    bars::draw(&chart, &groups)
}

/// A power of ten of nanoseconds in the largest unit it is a whole number
/// of: `100 µs`, `1 ms`, `10 s`.
fn decade(nanos: f64) -> String {
    let (scale, unit) = [(1e9, "s"), (1e6, "ms"), (1e3, "µs")]
        .into_iter()
        .find(|(scale, _)| nanos >= *scale)
        .unwrap_or((1.0, "ns"));
    format!("{:.0} {unit}", nanos / scale)
}

#[cfg(test)]
mod tests {
    use super::super::bars::tests::bar_width;
    use super::*;

    fn round(p50: u64, p99: u64, max: u64, achieved: f64) -> RoundFigures {
        RoundFigures {
            offered: 0,
            achieved,
            samples: 1_000,
            p50_nanos: p50,
            p99_nanos: p99,
            max_nanos: max,
            changes: 1_000,
            messages: 100,
            bytes: 100_000,
        }
    }

    #[test]
    fn a_bar_per_figure_of_each_measured_run() {
        let mut slow = LagFigures::new("default_sync", 50_000);
        slow.rounds = vec![
            round(1_400_000, 11_600_000, 18_500_000, 46_000.0),
            round(3_100_000, 21_900_000, 31_500_000, 36_000.0),
            round(2_200_000, 15_900_000, 28_600_000, 42_000.0),
        ];
        let mut fast = LagFigures::new("sync_always", 1_000);
        fast.rounds = vec![round(320_000, 880_000, 4_600_000, 1_000.0)];
        let never = LagFigures::new("default_sync", 10_000);
        let svg = lag_chart(&[slow, fast, never]);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches(r#"class="bar""#).count(), 6);
        assert!(svg.contains(">default_sync, 50,000/s offered (42,000/s achieved)<"));
        assert!(svg.contains(">sync_always, 1,000/s offered (1,000/s achieved)<"));
        // The run without rounds keeps its label, without an achieved rate.
        assert!(svg.contains(">default_sync, 10,000/s offered<"));
        // The median round of each figure, not one round's figures.
        let label = "default_sync, 50,000/s offered (42,000/s achieved)";
        let width = |title: String| bar_width(&svg, &title).unwrap_or_else(|| panic!("{title}"));
        let p50 = width(format!("p50, {label}: 2.20 ms"));
        let p99 = width(format!("p99, {label}: 15.90 ms"));
        let max = width(format!("max, {label}: 28.60 ms"));
        assert!(p50 < p99 && p99 < max, "{p50} {p99} {max}");
        assert!(
            width("p50, sync_always, 1,000/s offered (1,000/s achieved): 320.0 µs".into()) < p50
        );
        // Ticks on whole decades from 100 µs to 100 ms.
        for tick in [">100 µs<", ">1 ms<", ">10 ms<", ">100 ms<"] {
            assert!(svg.contains(tick), "{tick}");
        }
        assert!(!svg.contains(">1 s<"));
    }

    #[test]
    fn decades_in_whole_units() {
        assert_eq!(decade(100.0), "100 ns");
        assert_eq!(decade(1e5), "100 µs");
        assert_eq!(decade(1e6), "1 ms");
        assert_eq!(decade(1e10), "10 s");
    }
}
