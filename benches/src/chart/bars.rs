//! Groups of horizontal bars of absolute figures (rates, durations) on a
//! logarithmic axis of whole decades around them: the drawing under the
//! durable throughput chart and the replica lag chart.

use std::fmt::Write;

use super::{COLOURS, escape, open_svg};

/// One group of bars: one figure per series (`None`: no bar), and a
/// reference figure drawn as a dashed line across the group.
#[derive(Clone, Debug)]
pub(super) struct BarGroup {
    /// What the group is, left of its bars.
    pub(super) label: String,
    /// One figure per series, in the order of [`Chart::series`].
    pub(super) values: Vec<Option<f64>>,
    /// A reference figure and what it is (a target), if any.
    pub(super) mark: Option<(f64, String)>,
}

/// What a chart shows and how it writes its figures.
#[derive(Clone, Copy, Debug)]
pub(super) struct Chart<'a> {
    pub(super) title: &'a str,
    /// Lines under the title: what the bars measure.
    pub(super) caption: &'a [&'a str],
    /// The bars of each group, in order.
    pub(super) series: &'a [&'a str],
    /// A bar's figure, as its label says it.
    pub(super) value: fn(f64) -> String,
    /// The figure of a tick (a power of ten).
    pub(super) tick: fn(f64) -> String,
}

const WIDTH: f64 = 980.0;
const LABEL_WIDTH: f64 = 330.0;
const PLOT_WIDTH: f64 = 540.0;
const BAR: f64 = 11.0;
const GROUP_GAP: f64 = 16.0;
/// Height of a line of the caption.
const LINE: f64 = 16.0;

/// The axis: powers of ten from `10^low` to `10^high`, `low < high`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Decades {
    low: i32,
    high: i32,
}

impl Decades {
    /// The smallest span of whole decades that holds every positive,
    /// finite figure of `figures` (one decade, 1 to 10, if there is none).
    fn around(figures: impl Iterator<Item = f64>) -> Self {
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for figure in figures.filter(|figure| figure.is_finite() && *figure > 0.0) {
            min = min.min(figure);
            max = max.max(figure);
        }
        if !min.is_finite() {
            return Self { low: 0, high: 1 };
        }
        let low = min.log10().floor() as i32;
        let high = (max.log10().ceil() as i32).max(low + 1);
        Self { low, high }
    }

    /// Where `figure` lies on the axis, clamped to its ends.
    fn x_of(self, figure: f64) -> f64 {
        let (low, high) = (f64::from(self.low), f64::from(self.high));
        let at = figure.log10().clamp(low, high);
        LABEL_WIDTH + (at - low) / (high - low) * PLOT_WIDTH
    }
}

/// The SVG of `chart` with `groups`: for each group, one bar per figure,
/// from the axis' left end to the figure, labelled with it.
pub(super) fn draw(chart: &Chart<'_>, groups: &[BarGroup]) -> String {
    let series = chart.series.len();
    let axis = Decades::around(groups.iter().flat_map(|group| {
        let mark = group.mark.as_ref().map(|(figure, _)| *figure);
        group.values.iter().flatten().copied().chain(mark)
    }));
    // Title, caption, legend, then the plot.
    let legend = 34.0 + chart.caption.len() as f64 * LINE;
    let top = legend + 34.0;
    let group_height = series as f64 * BAR + GROUP_GAP;
    let height = top + groups.len() as f64 * group_height + 40.0;
    let plot_bottom = height - 30.0;
    let mut svg = open_svg(WIDTH, height, chart.title);
    for (i, line) in chart.caption.iter().enumerate() {
        let _ = writeln!(
            svg,
            r#"<text x="10" y="{}" fill="dimgray">{}</text>"#,
            38.0 + i as f64 * LINE,
            escape(line)
        );
    }
    for (i, name) in chart.series.iter().enumerate() {
        let x = 10.0 + i as f64 * 150.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{x}" y="{legend}" width="12" height="12" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            COLOURS[i % COLOURS.len()],
            x + 16.0,
            legend + 11.0,
            escape(name)
        );
    }
    for power in axis.low..=axis.high {
        let tick = 10f64.powi(power);
        let x = axis.x_of(tick);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{plot_bottom}" stroke="#ccc"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"##,
            plot_bottom + 15.0,
            escape(&(chart.tick)(tick))
        );
    }
    for (g, group) in groups.iter().enumerate() {
        let top = top + g as f64 * group_height;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LABEL_WIDTH - 8.0,
            top + series as f64 * BAR / 2.0 + 4.0,
            escape(&group.label)
        );
        // Drawn first: the bars, and their labels with a white halo, cover it.
        if let Some((figure, what)) = &group.mark {
            let x = axis.x_of(*figure);
            let label = format!("{}: {}", escape(what), escape(&(chart.value)(*figure)));
            let _ = writeln!(
                svg,
                r##"<line class="mark" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#000" stroke-width="1.5" stroke-dasharray="4,2"><title>{label}</title></line><text x="{:.1}" y="{:.1}" font-size="9">{label}</text>"##,
                top - 3.0,
                top + series as f64 * BAR + 2.0,
                x + 3.0,
                top - 4.0,
            );
        }
        for (i, figure) in group.values.iter().enumerate() {
            let Some(figure) = figure.filter(|figure| figure.is_finite() && *figure > 0.0) else {
                continue;
            };
            let y = top + i as f64 * BAR;
            let width = (axis.x_of(figure) - LABEL_WIDTH).max(0.5);
            let label = escape(&(chart.value)(figure));
            let _ = writeln!(
                svg,
                r#"<rect class="bar" x="{LABEL_WIDTH}" y="{y:.1}" width="{width:.1}" height="{}" fill="{}"><title>{}, {}: {label}</title></rect>"#,
                BAR - 1.0,
                COLOURS[i % COLOURS.len()],
                escape(chart.series.get(i).copied().unwrap_or("?")),
                escape(&group.label),
            );
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" font-size="9" stroke="white" stroke-width="3" paint-order="stroke">{label}</text>"#,
                LABEL_WIDTH + width + 3.0,
                y + BAR - 2.0,
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The width of the bar whose tooltip is `title`, parsed from `svg`.
    pub(in crate::chart) fn bar_width(svg: &str, title: &str) -> Option<f64> {
        let line = svg
            .lines()
            .find(|line| line.contains(r#"class="bar""#) && line.contains(title))?;
        let (_, rest) = line.split_once(r#" width=""#)?;
        rest.split('"').next()?.parse().ok()
    }

    #[test]
    fn the_axis_spans_whole_decades_around_the_figures() {
        let axis = Decades::around([3_000.0, 52_000.0, f64::NAN, 0.0].into_iter());
        assert_eq!(axis, Decades { low: 3, high: 5 });
        assert_eq!(axis.x_of(1_000.0), LABEL_WIDTH);
        assert_eq!(axis.x_of(100_000.0), LABEL_WIDTH + PLOT_WIDTH);
        assert_eq!(axis.x_of(1.0), LABEL_WIDTH);
        let middle = axis.x_of(10_000.0);
        assert!((middle - (LABEL_WIDTH + PLOT_WIDTH / 2.0)).abs() < 1e-9);
        // A figure on a power of ten still gets a decade to be drawn in.
        assert_eq!(
            Decades::around([100.0].into_iter()),
            Decades { low: 2, high: 3 }
        );
        assert_eq!(
            Decades::around(std::iter::empty()),
            Decades { low: 0, high: 1 }
        );
    }
}
