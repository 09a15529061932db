//! A time series drawn as an SVG string, for pages that show the hardware history (CC-36):
//! a pure function of its input ([`render`]), no I/O, no clock.
//!
//! The SVG is meant to be embedded in a page with a strict content security policy and read
//! by assistive technology:
//! - `role="img"` with `aria-labelledby` naming its `<title>` and `<desc>`; the description
//!   says the span (UTC), how many samples and gaps it has, and the latest value;
//! - axis labels: times in UTC (`HH:MM`, the axis titled "Time (UTC)") and values with
//!   their unit;
//! - a gap (see the `history` module's rule, carried as [`ChartPoint::gap_before`]) breaks
//!   the line: each run of points is its own `<polyline class="chart-line">`, a run of one
//!   point a `<circle class="chart-dot">`; a gap is never drawn as a zero;
//! - no `style` attribute, no `<style>`, no script, no presentation attributes: every element
//!   has a class (`chart`, `chart-grid`, `chart-axis`, `chart-label`, `chart-line`,
//!   `chart-dot`, `chart-empty`), so the page's stylesheet draws it;
//! - every text from the caller is escaped.

use std::fmt::Write as _;

use time::OffsetDateTime;

/// Width of the drawing, in SVG units.
pub const WIDTH: f64 = 640.0;
/// Height of the drawing.
pub const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 40.0;

/// One value at one time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartPoint {
    /// Unix time, milliseconds.
    pub t_ms: i64,
    /// The value, in the chart's unit.
    pub value: f64,
    /// A gap lies before this point: the line breaks here.
    pub gap_before: bool,
}

/// What to draw.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    /// Makes the ids of `<title>` and `<desc>` unique on a page (letters, digits, `-` and
    /// `_` are kept, the rest dropped).
    pub id: &'a str,
    /// The chart's name (`CPU`).
    pub title: &'a str,
    /// What it shows, a sentence; the span, samples, gaps and latest value are added.
    pub desc: &'a str,
    /// The values' unit (`%`, `GiB`).
    pub unit: &'a str,
    /// The span shown, unix milliseconds.
    pub from_ms: i64,
    /// Its end.
    pub to_ms: i64,
    /// The top of the value axis (the bottom is 0); at least the largest value is used.
    pub y_max: f64,
    /// Oldest first.
    pub points: &'a [ChartPoint],
}

/// Escapes text for SVG content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `HH:MM` of a unix-millisecond time, UTC.
pub fn hh_mm(t_ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(t_ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// A value with at most one decimal.
fn number(v: f64) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// The runs of points between gaps (and points outside the span left out).
pub fn segments(points: &[ChartPoint], from_ms: i64, to_ms: i64) -> Vec<Vec<&ChartPoint>> {
    let mut runs: Vec<Vec<&ChartPoint>> = Vec::new();
    for p in points
        .iter()
        .filter(|p| p.t_ms >= from_ms && p.t_ms <= to_ms)
    {
        match runs.last_mut() {
            Some(run) if !p.gap_before => run.push(p),
            _ => runs.push(vec![p]),
        }
    }
    runs
}

/// A tick step, in milliseconds, that gives about four to eight labels over `span_ms`.
fn tick_step(span_ms: i64) -> i64 {
    const MIN: i64 = 60_000;
    let steps = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440];
    steps
        .iter()
        .map(|m| m * MIN)
        .find(|s| span_ms / s <= 8)
        .unwrap_or(1440 * MIN)
}

/// Renders `chart` as an SVG element.
pub fn render(chart: &Chart<'_>) -> String {
    let id: String = chart
        .id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let (from, to) = (chart.from_ms, chart.to_ms.max(chart.from_ms + 1));
    let largest = chart.points.iter().map(|p| p.value).fold(0.0, f64::max);
    let y_max = if chart.y_max > 0.0 {
        chart.y_max.max(largest)
    } else {
        largest.max(1.0)
    };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: i64| LEFT + (t - from) as f64 / (to - from) as f64 * plot_w;
    let y = |v: f64| TOP + plot_h - (v.max(0.0) / y_max) * plot_h;
    let runs = segments(chart.points, from, to);
    let shown: usize = runs.iter().map(Vec::len).sum();
    let gaps = runs.len().saturating_sub(1);
    let unit = escape(chart.unit);

    let mut desc = format!(
        "{} From {} to {} UTC: {shown} samples, {gaps} {}.",
        chart.desc,
        hh_mm(from),
        hh_mm(to),
        if gaps == 1 { "gap" } else { "gaps" }
    );
    if let Some(last) = runs.last().and_then(|r| r.last()) {
        let _ = write!(
            desc,
            " Latest at {} UTC: {} {}.",
            hh_mm(last.t_ms),
            number(last.value),
            chart.unit
        );
    }

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc">"#
    );
    let _ = write!(
        s,
        r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(chart.title),
        escape(&desc)
    );
    // Value axis: 0, half, top, with grid lines.
    s.push_str(r#"<g class="chart-grid" aria-hidden="true">"#);
    for f in [0.0, 0.5, 1.0] {
        let yy = y(y_max * f);
        let _ = write!(
            s,
            r#"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}"/>"#,
            WIDTH - RIGHT
        );
    }
    s.push_str("</g>");
    s.push_str(r#"<g class="chart-axis chart-axis-y">"#);
    for f in [0.0, 0.5, 1.0] {
        let _ = write!(
            s,
            r#"<text class="chart-label" x="{:.1}" y="{:.1}">{} {unit}</text>"#,
            LEFT - 6.0,
            y(y_max * f) + 4.0,
            number(y_max * f)
        );
    }
    s.push_str("</g>");
    // Time axis: round UTC times.
    s.push_str(r#"<g class="chart-axis chart-axis-x">"#);
    let step = tick_step(to - from);
    let mut t = from.div_euclid(step) * step;
    if t < from {
        t += step;
    }
    while t <= to {
        let _ = write!(
            s,
            r#"<text class="chart-label" x="{:.1}" y="{:.1}">{}</text>"#,
            x(t),
            HEIGHT - BOTTOM + 16.0,
            hh_mm(t)
        );
        t += step;
    }
    let _ = write!(
        s,
        r#"<text class="chart-label chart-axis-title" x="{:.1}" y="{:.1}">Time (UTC)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 4.0
    );
    s.push_str("</g>");
    // The series: one line per run between gaps.
    s.push_str(r#"<g class="chart-series">"#);
    for run in &runs {
        if let [only] = run.as_slice() {
            let _ = write!(
                s,
                r#"<circle class="chart-dot" cx="{:.1}" cy="{:.1}" r="2"/>"#,
                x(only.t_ms),
                y(only.value)
            );
            continue;
        }
        let coords: Vec<String> = run
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.t_ms), y(p.value)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline class="chart-line" points="{}"/>"#,
            coords.join(" ")
        );
    }
    s.push_str("</g>");
    if runs.is_empty() {
        let _ = write!(
            s,
            r#"<text class="chart-empty" x="{:.1}" y="{:.1}">No samples in this span</text>"#,
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full hour (1_800_000_000_000 is a multiple of 3_600_000).
    const T0: i64 = 1_800_000_000_000;

    fn p(min: i64, value: f64, gap_before: bool) -> ChartPoint {
        ChartPoint {
            t_ms: T0 + min * 60_000,
            value,
            gap_before,
        }
    }

    fn chart<'a>(points: &'a [ChartPoint]) -> Chart<'a> {
        Chart {
            id: "cpu",
            title: "CPU",
            desc: "CPU use of the connector's machine.",
            unit: "%",
            from_ms: T0,
            to_ms: T0 + 3_600_000,
            y_max: 100.0,
            points,
        }
    }

    fn count(s: &str, what: &str) -> usize {
        s.matches(what).count()
    }

    #[test]
    fn gaps_break_the_line() {
        let pts = [
            p(0, 10.0, true),
            p(1, 20.0, false),
            p(2, 30.0, false),
            p(10, 40.0, true),
            p(11, 50.0, false),
            p(30, 60.0, true),
        ];
        let svg = render(&chart(&pts));
        assert_eq!(count(&svg, "<polyline"), 2, "{svg}");
        assert_eq!(count(&svg, "<circle"), 1, "a run of one point is a dot");
        let coords: usize = svg
            .split("points=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().split(' ').count())
            .sum();
        assert_eq!(coords + 1, pts.len(), "every point drawn once");
        assert!(svg.contains("6 samples, 2 gaps."), "{svg}");
        assert!(svg.contains("Latest at "), "{svg}");
        assert!(svg.contains(": 60 %."), "{svg}");
        // A gap is no zero: no point sits on the zero line.
        let zero_y = format!(",{:.1}", HEIGHT - BOTTOM);
        assert!(!svg.contains(&zero_y), "{svg}");
    }

    #[test]
    fn it_is_accessible_and_needs_no_style() {
        let pts = [p(0, 1.0, true), p(1, 2.0, false)];
        let svg = render(&chart(&pts));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\""));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"cpu-title cpu-desc\""));
        assert!(svg.contains("<title id=\"cpu-title\">CPU</title>"));
        assert!(svg.contains("<desc id=\"cpu-desc\">CPU use of the connector&#39;s machine. From "));
        assert!(svg.contains(">Time (UTC)</text>"));
        let hour = hh_mm(T0);
        assert!(svg.contains(&format!(">{hour}</text>")), "{svg}");
        assert!(svg.contains(">100 %</text>") && svg.contains(">0 %</text>"));
        for banned in [
            "style", "<script", " fill=", " stroke=", " onload", " onclick",
        ] {
            assert!(!svg.contains(banned), "{banned} in {svg}");
        }
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn caller_text_is_escaped() {
        let mut c = chart(&[]);
        c.id = "a\"b<c>d";
        c.title = "<script>alert(1)</script>";
        c.desc = "R&D \"lab\"";
        c.unit = "<b>";
        let svg = render(&c);
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains("R&amp;D &quot;lab&quot;"));
        assert!(svg.contains("0 &lt;b&gt;</text>"));
        assert!(
            svg.contains("id=\"abcd-title\""),
            "ids keep safe characters only"
        );
        assert!(svg.contains("No samples in this span"));
        assert_eq!(count(&svg, "<polyline"), 0);
    }

    #[test]
    fn points_outside_the_span_are_left_out_and_labels_are_round() {
        let pts = [
            p(-5, 1.0, true),
            p(5, 2.0, false),
            p(6, 3.0, false),
            p(70, 4.0, false),
        ];
        let runs = segments(&pts, T0, T0 + 3_600_000);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].len(), 2);
        assert_eq!(tick_step(3_600_000), 10 * 60_000);
        assert_eq!(tick_step(24 * 3_600_000), 180 * 60_000);
        let svg = render(&chart(&pts));
        // 00, 10, …, 60 minutes past the hour: seven labels.
        assert_eq!(count(&svg, "chart-axis-x"), 1);
        let x_labels = svg
            .split("<g class=\"chart-axis chart-axis-x\">")
            .nth(1)
            .unwrap()
            .split("</g>")
            .next()
            .unwrap()
            .matches("<text")
            .count();
        assert_eq!(x_labels, 7 + 1, "seven times and the axis title");
    }
}
