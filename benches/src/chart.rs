//! The report's tables drawn as SVG, by hand: no fonts or native libraries
//! to build.
//!
//! - [`ratio_chart`], the peers suite: for each workload, one bar per
//!   system showing its time as a ratio to worktable's on a logarithmic
//!   axis (bars to the left of 1× are faster than worktable, to the right
//!   slower).
//! - [`durable_chart`], the durable suite: inserts per second of each
//!   system, grouped by number of concurrent writers.
//! - [`lag_chart`], the replica suite: the p50, p99 and max lag of each
//!   run (server sync × offered rate).

mod bars;
mod durable;
mod lag;

use std::fmt::Write;

pub use durable::durable_chart;
pub use lag::lag_chart;

/// One group of bars: a workload and each system's ratio to worktable
/// (`None` when the system has no figure).
#[derive(Clone, Debug)]
pub struct Group {
    /// The workload, as the table's row says it.
    pub label: String,
    /// One ratio per system, in the order of [`ratio_chart`]'s `systems`.
    pub ratios: Vec<Option<f64>>,
}

/// Smallest and largest ratio the axis shows (beyond: drawn at the edge,
/// with the true figure printed).
const AXIS: (f64, f64) = (0.01, 100.0);
/// Colours of the systems' bars, in order (worktable has no bar: it is 1×).
const COLOURS: [&str; 6] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#b07aa1",
];
const WIDTH: f64 = 980.0;
const LABEL_WIDTH: f64 = 440.0;
const PLOT_WIDTH: f64 = 450.0;
const BAR: f64 = 9.0;
const GROUP_GAP: f64 = 14.0;
const TOP: f64 = 70.0;

/// An SVG chart of `groups`, titled `title`; `systems` names the bars
/// (the systems other than worktable).
pub fn ratio_chart(title: &str, systems: &[&str], groups: &[Group]) -> String {
    let group_height = systems.len() as f64 * BAR + GROUP_GAP;
    let height = TOP + groups.len() as f64 * group_height + 40.0;
    let mut svg = open_svg(WIDTH, height, title);
    for (i, system) in systems.iter().enumerate() {
        let x = 10.0 + i as f64 * 150.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{x}" y="32" width="12" height="12" fill="{}"/><text x="{}" y="43">{}</text>"#,
            COLOURS[i % COLOURS.len()],
            x + 16.0,
            escape(system)
        );
    }
    let plot_bottom = height - 30.0;
    for tick in [0.01, 0.1, 1.0, 10.0, 100.0] {
        let x = x_of(tick);
        let (stroke, width) = if tick == 1.0 {
            ("#000", 1.5)
        } else {
            ("#ccc", 1.0)
        };
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{plot_bottom}" stroke="{stroke}" stroke-width="{width}"/><text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
            plot_bottom + 15.0,
            tick_label(tick)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{}" text-anchor="middle" fill="dimgray">← faster than worktable · time as a ratio to worktable's · slower →</text>"#,
        x_of(1.0),
        TOP - 8.0
    );
    for (g, group) in groups.iter().enumerate() {
        let top = TOP + g as f64 * group_height;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LABEL_WIDTH - 8.0,
            top + (systems.len() as f64 * BAR) / 2.0 + 4.0,
            escape(&group.label)
        );
        for (i, ratio) in group.ratios.iter().enumerate() {
            let Some(ratio) = ratio.filter(|ratio| ratio.is_finite() && *ratio > 0.0) else {
                continue;
            };
            let y = top + i as f64 * BAR;
            let (one, end) = (x_of(1.0), x_of(ratio));
            let (x, width) = if end < one {
                (end, one - end)
            } else {
                (one, end - one)
            };
            let _ = writeln!(
                svg,
                r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{}" fill="{}"><title>{}: {}</title></rect>"#,
                width.max(0.5),
                BAR - 1.0,
                COLOURS[i % COLOURS.len()],
                escape(systems.get(i).copied().unwrap_or("?")),
                ratio_label(ratio)
            );
            let (text_x, anchor) = if end < one {
                (x - 3.0, "end")
            } else {
                (x + width + 3.0, "start")
            };
            let _ = writeln!(
                svg,
                r#"<text x="{text_x:.1}" y="{:.1}" font-size="8" text-anchor="{anchor}">{}</text>"#,
                y + BAR - 1.5,
                ratio_label(ratio)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// Where `ratio` lies on the logarithmic axis, clamped to [`AXIS`].
/// The start of an SVG chart `width` × `height`: the root element, a white
/// background and `title`.
fn open_svg(width: f64, height: f64, title: &str) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="10" y="20" font-size="15" font-weight="bold">{}</text>"#,
        escape(title)
    );
    svg
}

fn x_of(ratio: f64) -> f64 {
    let (low, high) = (AXIS.0.log10(), AXIS.1.log10());
    let at = ratio.clamp(AXIS.0, AXIS.1).log10();
    LABEL_WIDTH + (at - low) / (high - low) * PLOT_WIDTH
}

fn tick_label(tick: f64) -> String {
    if tick < 1.0 {
        format!("{tick}×")
    } else {
        format!("{tick:.0}×")
    }
}

/// A ratio as the chart prints it, XML-escaped.
fn ratio_label(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{ratio:.0}×")
    } else if ratio >= 0.01 {
        format!("{ratio:.2}×")
    } else {
        "&lt;0.01×".to_owned()
    }
}

/// `text` with XML's special characters escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_per_figure_on_the_right_side_of_one() {
        let groups = [
            Group {
                label: "get <by> key & more".into(),
                ratios: vec![Some(0.5), Some(2.0), None],
            },
            Group {
                label: "scan".into(),
                ratios: vec![Some(1000.0), Some(f64::NAN), Some(0.001)],
            },
        ];
        let svg = ratio_chart("t", &["a", "b", "c"], &groups);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        // Background and three legend boxes, then one bar per finite ratio.
        let bars = svg.matches("<rect").count() - 1 - 3;
        assert_eq!(bars, 4);
        assert!(svg.contains("get &lt;by&gt; key &amp; more"));
        assert!(!svg.contains("<by>"));
        // 0.5× ends left of the 1× line, 2× right of it; out-of-axis
        // figures are drawn at the edge with their true value.
        let one = x_of(1.0);
        assert!(x_of(0.5) < one && x_of(2.0) > one);
        assert_eq!(x_of(1000.0), LABEL_WIDTH + PLOT_WIDTH);
        assert_eq!(x_of(0.001), LABEL_WIDTH);
        assert!(svg.contains(">1000×<") && svg.contains(">&lt;0.01×<"));
    }
}
