//! The durable benchmark's inserts per second, by number of concurrent
//! writers.

use super::bars::{self, BarGroup, Chart};
use crate::results::with_separators;

/// An SVG chart of durable single-row inserts per second: one group per
/// writer count of `writers`, one bar per system of `systems` measured
/// with it. `rates[s][k]` is system `s` with `writers[k]` writers (as
/// [`insert_rates`](crate::durable::summary::insert_rates) reads them);
/// `targets` are worktable's, `(writers, inserts per second)`, drawn as a
/// dashed line in their group. Systems with no figure at all are left out
/// of the legend.
pub fn durable_chart(
    systems: &[&str],
    writers: &[usize],
    rates: &[Vec<Option<f64>>],
    targets: &[(usize, f64)],
) -> String {
    let rate = |s: usize, k: usize| rates.get(s).and_then(|row| row.get(k).copied().flatten());
    let shown: Vec<usize> = (0..systems.len())
        .filter(|&s| (0..writers.len()).any(|k| rate(s, k).is_some()))
        .collect();
    let series: Vec<&str> = shown.iter().map(|&s| systems[s]).collect();
    let groups: Vec<BarGroup> = writers
        .iter()
        .enumerate()
        .map(|(k, &count)| BarGroup {
            label: format!("{count} writer{}", if count == 1 { "" } else { "s" }),
            values: shown.iter().map(|&s| rate(s, k)).collect(),
            mark: targets
                .iter()
                .find(|(target_writers, _)| *target_writers == count)
                .map(|&(_, bound)| (bound, "worktable's target".to_owned())),
        })
        .collect();
    let chart = Chart {
        title: "Durable single-row inserts per second, by number of concurrent writers",
        caption: &[
            "Median inserts/s, each insert its own durable transaction; log scale, longer is \
             faster.",
            "Dashed: worktable's targets. Systems measured with one writer only (the disk \
             floors) have a bar in the first group only.",
        ],
        series: &series,
        value: per_second,
        tick: per_second,
    };
    bars::draw(&chart, &groups)
}

/// `12,345/s`.
fn per_second(rate: f64) -> String {
    format!("{}/s", with_separators(rate.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::super::bars::tests::bar_width;
    use super::*;

    #[test]
    fn a_bar_per_measured_system_and_writer_count() {
        let systems = ["worktable", "sqlite", "redb", "floor"];
        let rates = vec![
            vec![Some(4_500.0), Some(18_000.0), Some(52_000.0)],
            vec![Some(3_200.0), Some(3_700.0), None],
            vec![None, None, None],
            vec![Some(4_700.0), None, None],
        ];
        let svg = durable_chart(
            &systems,
            &[1, 4, 16],
            &rates,
            &[(1, 8_000.0), (16, 60_000.0)],
        );
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches(r#"class="bar""#).count(), 6);
        assert_eq!(svg.matches(r#"class="mark""#).count(), 2);
        for label in [">1 writer<", ">4 writers<", ">16 writers<"] {
            assert!(svg.contains(label), "{label}");
        }
        // redb has no figure: no legend entry, no bar.
        assert!(svg.contains(">worktable<") && svg.contains(">floor<"));
        assert!(!svg.contains("redb"));
        assert!(svg.contains("<title>worktable's target: 60,000/s</title>"));
        // Longer is faster, on one axis for every group.
        let width = |title: &str| bar_width(&svg, title).unwrap_or_else(|| panic!("{title}"));
        let one = width("worktable, 1 writer: 4,500/s");
        let sixteen = width("worktable, 16 writers: 52,000/s");
        let sqlite = width("sqlite, 1 writer: 3,200/s");
        assert!(sqlite < one && one < sixteen, "{sqlite} {one} {sixteen}");
        assert!(width("floor, 1 writer: 4,700/s") > one);
    }
}
