//! The burndown chart of the HTML report, as inline SVG: stacked areas of
//! the targets per state at the end of each day, the remaining matches as
//! a dashed line on a second axis when scans exist, dated axes and a
//! legend, with no script and no external resource.
//!
//! Colours follow the ones GitHub gives pull requests (merged purple, open
//! green), and are written as attributes so the SVG keeps them when it is
//! copied out of the page.

use std::fmt::Write as _;

use jiff::civil::Date;

use super::campaign::DayPoint;
use super::html::esc;

/// A series of the chart: its label, colour, and value on a day.
pub struct Series {
    pub key: &'static str,
    pub label: &'static str,
    /// The label inside a sentence ("3 merged, 1 no PR needed").
    pub noun: &'static str,
    pub color: &'static str,
    pub value: fn(&DayPoint) -> usize,
}

/// The stacked series, bottom up: the settled ones first (the purple band
/// is merged or needing no change, the grey-brown one declined, opted out
/// or closed), so the top of the two is "settled".
pub const SERIES: [Series; 8] = [
    Series {
        key: "merged",
        label: "Merged",
        noun: "merged",
        color: "#8250df",
        value: |d| d.merged,
    },
    Series {
        key: "not-needed",
        label: "No change needed",
        noun: "no change needed",
        color: "#c8b3f0",
        value: |d| d.not_needed,
    },
    Series {
        key: "declined",
        label: "Declined",
        noun: "declined",
        color: "#8c959f",
        value: |d| d.declined,
    },
    Series {
        key: "opted-out",
        label: "Opted out",
        noun: "opted out",
        color: "#c4a56a",
        value: |d| d.opted_out,
    },
    Series {
        key: "closed",
        label: "Closed by the platform team",
        noun: "closed by the platform team",
        color: "#57606a",
        value: |d| d.closed_by_platform_team,
    },
    Series {
        key: "open",
        label: "Open",
        noun: "open",
        color: "#2da44e",
        value: |d| d.open,
    },
    Series {
        key: "failed",
        label: "Failed / needs a person",
        noun: "failed",
        color: "#cf222e",
        value: |d| d.other,
    },
    Series {
        key: "not-started",
        label: "Not started",
        noun: "not started",
        color: "#d8dee4",
        value: |d| d.not_started,
    },
];

/// The colour of the remaining-matches line.
pub const MATCHES_COLOR: &str = "#bc4c00";

const W: f64 = 960.0;
const H: f64 = 360.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = 52.0;
const LEFT: f64 = 56.0;
const AXIS_TEXT: &str = "#57606a";
const GRID: &str = "#d0d7de";

/// Render `days` as an SVG element with `id="burndown"`.
pub fn burndown(days: &[DayPoint]) -> String {
    let has_matches = days.iter().any(|d| d.remaining_matches.is_some());
    let right = if has_matches { 64.0 } else { 24.0 };
    let (x0, x1, y0, y1) = (LEFT, W - right, TOP, H - BOTTOM);
    let total = days
        .iter()
        .map(|d| SERIES.iter().map(|s| (s.value)(d)).sum::<usize>())
        .max()
        .unwrap_or(0);
    let (ymax, ystep) = nice_axis(total.max(1) as f64);
    let y = |v: f64| y1 - (v / ymax) * (y1 - y0);
    let n = days.len();
    let x = |i: usize| {
        if n <= 1 {
            (x0 + x1) / 2.0
        } else {
            x0 + (i as f64) * (x1 - x0) / ((n - 1) as f64)
        }
    };

    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg id="burndown" class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="burndown-title burndown-desc" xmlns="http://www.w3.org/2000/svg" font-family="inherit" font-size="12">"##
    );
    let first = days.first().map_or("", |d| d.date.as_str());
    let last = days.last().map_or("", |d| d.date.as_str());
    let _ = write!(
        svg,
        r#"<title id="burndown-title">Burndown: repositories by state at the end of each day</title><desc id="burndown-desc">From {} to {}, {} {}.</desc>"#,
        esc(first),
        esc(last),
        n,
        if n == 1 { "day" } else { "days" }
    );

    // Legend, on the chart itself, in rows of what fits. A series that is
    // 0 every day (no pull request closed by the platform team) is left out.
    let (mut lx, mut ly) = (x0, 12.0);
    let mut place = |width: f64| {
        if lx > x0 && lx + width > W - 8.0 {
            lx = x0;
            ly += 18.0;
        }
        let at = (lx, ly);
        lx += width;
        at
    };
    for s in SERIES
        .iter()
        .filter(|s| s.key != "closed" || days.iter().any(|d| (s.value)(d) > 0))
    {
        let (x, y) = place(17.0 + text_width(s.label) + 16.0);
        let _ = write!(
            svg,
            r#"<g class="legend-item"><rect x="{x:.1}" y="{y:.1}" width="12" height="12" rx="2" fill="{}"/><text x="{:.1}" y="{:.1}" fill="{AXIS_TEXT}">{}</text></g>"#,
            s.color,
            x + 17.0,
            y + 10.5,
            esc(s.label)
        );
    }
    if has_matches {
        const LABEL: &str = "Places to migrate (right axis)";
        let (x, y) = place(23.0 + text_width(LABEL));
        let _ = write!(
            svg,
            r#"<g class="legend-item"><line x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{MATCHES_COLOR}" stroke-width="2.5" stroke-dasharray="5 3"/><text x="{:.1}" y="{:.1}" fill="{AXIS_TEXT}">{LABEL}</text></g>"#,
            y + 6.0,
            x + 18.0,
            y + 6.0,
            x + 23.0,
            y + 10.5
        );
    }

    // Horizontal grid and the left axis.
    let mut v = 0.0;
    while v <= ymax + 1e-9 {
        let yy = y(v);
        let _ = write!(
            svg,
            r#"<line x1="{x0}" y1="{yy:.1}" x2="{x1}" y2="{yy:.1}" stroke="{GRID}" stroke-width="1"{}/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{AXIS_TEXT}">{}</text>"#,
            if v == 0.0 {
                ""
            } else {
                r#" stroke-dasharray="2 3""#
            },
            x0 - 8.0,
            yy + 4.0,
            v as i64
        );
        v += ystep;
    }
    let _ = write!(
        svg,
        r#"<text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle" fill="{AXIS_TEXT}">repositories</text>"#,
        (y0 + y1) / 2.0
    );

    // The stacked areas (or one stacked column for a campaign's first day).
    if n == 1 {
        let d = &days[0];
        let mut base = 0.0;
        let cx = x(0);
        for s in &SERIES {
            let v = (s.value)(d) as f64;
            if v > 0.0 {
                let _ = write!(
                    svg,
                    r#"<rect class="series-{}" x="{:.1}" y="{:.1}" width="64" height="{:.1}" fill="{}"/>"#,
                    s.key,
                    cx - 32.0,
                    y(base + v),
                    y(base) - y(base + v),
                    s.color
                );
            }
            base += v;
        }
    } else if n > 1 {
        let mut lower = vec![0.0; n];
        for s in &SERIES {
            let upper: Vec<f64> = days
                .iter()
                .zip(&lower)
                .map(|(d, l)| l + (s.value)(d) as f64)
                .collect();
            if upper.iter().zip(&lower).any(|(u, l)| u > l) {
                let mut points = String::new();
                for (i, u) in upper.iter().enumerate() {
                    let _ = write!(points, "{:.1},{:.1} ", x(i), y(*u));
                }
                for (i, l) in lower.iter().enumerate().rev() {
                    let _ = write!(points, "{:.1},{:.1} ", x(i), y(*l));
                }
                let _ = write!(
                    svg,
                    r#"<polygon class="series-{}" points="{}" fill="{}" stroke="{}" stroke-width="0.5" stroke-linejoin="round"/>"#,
                    s.key,
                    points.trim_end(),
                    s.color,
                    s.color
                );
            }
            lower = upper;
        }
    }

    // The remaining matches, on the right axis.
    if has_matches {
        let mmax = days
            .iter()
            .filter_map(|d| d.remaining_matches)
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let (mmax, mstep) = nice_axis(mmax);
        let my = |v: f64| y1 - (v / mmax) * (y1 - y0);
        let mut v = 0.0;
        while v <= mmax + 1e-9 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" fill="{MATCHES_COLOR}">{}</text>"#,
                x1 + 8.0,
                my(v) + 4.0,
                v as i64
            );
            v += mstep;
        }
        let _ = write!(
            svg,
            r#"<text transform="translate({:.1} {:.1}) rotate(90)" text-anchor="middle" fill="{MATCHES_COLOR}">places to migrate</text>"#,
            W - 12.0,
            (y0 + y1) / 2.0
        );
        // One polyline per run of scanned days.
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut runs = Vec::new();
        for (i, d) in days.iter().enumerate() {
            match d.remaining_matches {
                Some(m) => run.push((x(i), my(m as f64))),
                None if !run.is_empty() => runs.push(std::mem::take(&mut run)),
                None => {}
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        for run in runs {
            if run.len() > 1 {
                let points: Vec<String> =
                    run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
                let _ = write!(
                    svg,
                    r#"<polyline class="series-matches" points="{}" fill="none" stroke="{MATCHES_COLOR}" stroke-width="2.5" stroke-dasharray="5 3" stroke-linejoin="round"/>"#,
                    points.join(" ")
                );
            }
            if run.len() == 1 || n <= 31 {
                for (x, y) in &run {
                    let _ = write!(
                        svg,
                        r#"<circle class="series-matches" cx="{x:.1}" cy="{y:.1}" r="3" fill="{MATCHES_COLOR}"/>"#
                    );
                }
            }
        }
    }

    // Dated x axis: at most eight labels, the last day always.
    let _ = write!(
        svg,
        r#"<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y1}" stroke="{AXIS_TEXT}" stroke-width="1"/>"#
    );
    let every = n.div_ceil(8).max(1);
    for (i, d) in days.iter().enumerate() {
        // Every `every`-th day, and the last one, with room for its label.
        if i == n - 1 || (i % every == 0 && x(n - 1) - x(i) >= 84.0) {
            let xx = x(i);
            let anchor = if n > 1 && i == n - 1 {
                "end"
            } else if n > 1 && i == 0 {
                "start"
            } else {
                "middle"
            };
            let _ = write!(
                svg,
                r#"<line x1="{xx:.1}" y1="{y1}" x2="{xx:.1}" y2="{:.1}" stroke="{AXIS_TEXT}" stroke-width="1"/><text x="{xx:.1}" y="{:.1}" text-anchor="{anchor}" fill="{AXIS_TEXT}">{}</text>"#,
                y1 + 5.0,
                y1 + 18.0,
                esc(&short_date(&d.date))
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{AXIS_TEXT}">end of day (UTC){}</text>"#,
        (x0 + x1) / 2.0,
        H - 10.0,
        if n == 1 {
            " · the campaign's first day: the chart grows a point a day"
        } else {
            ""
        }
    );

    // A hover title per day, over the whole height.
    let slot = if n <= 1 {
        x1 - x0
    } else {
        (x1 - x0) / ((n - 1) as f64)
    };
    for (i, d) in days.iter().enumerate() {
        let left = (x(i) - slot / 2.0).max(x0);
        let right = (x(i) + slot / 2.0).min(x1);
        let _ = write!(
            svg,
            r#"<rect class="day" x="{left:.1}" y="{y0}" width="{:.1}" height="{:.1}" fill="transparent"><title>{}</title></rect>"#,
            (right - left).max(0.0),
            y1 - y0,
            esc(&day_title(d))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// "2025-06-02: 5 merged, 3 open, …" for a day's hover title.
fn day_title(d: &DayPoint) -> String {
    let mut parts: Vec<String> = SERIES
        .iter()
        .map(|s| format!("{} {}", (s.value)(d), s.noun))
        .collect();
    if let Some(m) = d.remaining_matches {
        parts.push(format!("{m} places to migrate"));
    }
    format!("{}: {}", d.date, parts.join(", "))
}

/// `2025-06-02` → `Jun 2`.
fn short_date(date: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    match date.parse::<Date>() {
        Ok(d) => format!(
            "{} {}",
            MONTHS[usize::try_from(d.month() - 1).unwrap_or(0).min(11)],
            d.day()
        ),
        Err(_) => date.to_string(),
    }
}

/// A rough width of `text` at 12px, for laying out the legend.
fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * 5.9
}

/// An axis from 0 to at least `max`, with at most about five steps of 1,
/// 2 or 5 times a power of ten (never below 1: counts are whole).
fn nice_axis(max: f64) -> (f64, f64) {
    let raw = (max / 5.0).max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_round() {
        assert_eq!(nice_axis(1.0), (1.0, 1.0));
        assert_eq!(nice_axis(4.0), (4.0, 1.0));
        assert_eq!(nice_axis(7.0), (8.0, 2.0));
        assert_eq!(nice_axis(24.0), (25.0, 5.0));
        assert_eq!(nice_axis(130.0), (150.0, 50.0));
    }

    #[test]
    fn dates_are_short() {
        assert_eq!(short_date("2025-06-02"), "Jun 2");
        assert_eq!(short_date("soon"), "soon");
    }
}
