//! The Prometheus exposition formats the hub's and the connector's `/metrics` answer in:
//! OpenMetrics (what `prometheus-client` writes, and what Prometheus asks for) or, for every
//! other client, Prometheus' classic text format 0.0.4 (promtool, older scrapers, curl).

use axum::http::{header, HeaderMap};

/// The content type of OpenMetrics text.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The content type of the classic text format.
pub const CLASSIC: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Whether the request asks for OpenMetrics (`Accept: application/openmetrics-text…`).
pub fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"))
}

/// The body and its content type for a request with `headers`, from OpenMetrics text.
pub fn negotiate(headers: &HeaderMap, openmetrics: String) -> (&'static str, String) {
    if wants_openmetrics(headers) {
        (OPENMETRICS, openmetrics)
    } else {
        (CLASSIC, to_classic(&openmetrics))
    }
}

/// OpenMetrics text as Prometheus' classic text format (0.0.4), for scrapers and tools that
/// do not ask for OpenMetrics (promtool, older Prometheus, curl): a counter's `HELP` and
/// `TYPE` name its `_total` samples, and `# UNIT` and `# EOF` go. Samples are the same.
pub fn to_classic(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| Some((p, line.strip_prefix(p)?)));
        match meta {
            Some((prefix, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                let total = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                out.push_str(&format!("{prefix}{name}{total} {tail}"));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_format_names_counters_by_their_samples_and_drops_openmetrics_lines() {
        let om =
            "# HELP a_x Things.\n# TYPE a_x counter\n# UNIT a_y seconds\na_x_total{k=\"v\"} 3\n\
                  # HELP a_y Time.\n# TYPE a_y gauge\na_y 1\n# EOF\n";
        assert_eq!(
            to_classic(om),
            "# HELP a_x_total Things.\n# TYPE a_x_total counter\na_x_total{k=\"v\"} 3\n\
             # HELP a_y Time.\n# TYPE a_y gauge\na_y 1\n"
        );
    }
}
