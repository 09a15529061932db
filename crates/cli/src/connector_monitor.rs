//! `portcullis connector monitor hardware|usage|connections|reset`: the running connector's
//! monitoring (CC-36..43) through its admin socket. `portcullis connector monitor` without a
//! verb shows the HTTP records (most recent requests, top time consumers, duration buckets,
//! usage), as before.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use portcullis_connector::local::{Request, Response};
use portcullis_connector::monitor::chart::{self, Chart, ChartPoint};
use portcullis_connector::monitor::history::HardwareView;
use portcullis_connector::monitor::ResetWhat;

use crate::connector_socket::{data_dir, login_name, request};
use crate::output::{OutputArgs, Table};

/// `portcullis connector monitor …`
#[derive(Debug, clap::Subcommand)]
pub enum MonitorCmd {
    /// CPU, memory and disk of the connector's machine over the last SPAN (default 1h, at
    /// most 24h), with the gaps where the connector did not run.
    Hardware {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        /// How far back: `90s`, `30m`, `1h`, `24h` (a bare number is seconds).
        #[arg(long, default_value = "1h", value_parser = parse_span)]
        since: Duration,
        /// Also write the charts as SVG files (`cpu.svg`, `memory.svg`, `disk.svg`) into DIR.
        #[arg(long, value_name = "DIR")]
        svg: Option<PathBuf>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Usage per virtual host and resource: calls, bytes, last access (kept across
    /// restarts).
    Usage {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Alerts, newest first (active and resolved), and the e-mails and webhook calls not yet
    /// delivered. Exit status 0 whether or not alerts are active.
    Alerts {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Back-end connections per virtual host: open now, peak and opened since the last reset.
    Connections {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Empties monitoring records (audited as `monitoring.reset`): `usage`, `performance`
    /// (duration buckets, most recent requests, top time consumers), `top` (top time
    /// consumers only) or `connections` (peaks fall to what is open now).
    Reset {
        /// The running connector's configuration file.
        #[arg(long, env = "PORTCULLIS_CONNECTOR_CONFIG")]
        config: PathBuf,
        /// What to empty.
        #[arg(value_parser = parse_what)]
        what: ResetWhat,
        /// Who resets, for the audit log. Defaults to the login name.
        #[arg(long)]
        by: Option<String>,
    },
}

/// `90s`, `30m`, `1h`, `2d`, or seconds.
pub fn parse_span(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and s, m, h or d, e.g. 1h"))?;
    let secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    };
    if n == 0 {
        return Err("the span must be longer than 0".into());
    }
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
}

fn parse_what(s: &str) -> Result<ResetWhat, String> {
    match s {
        "usage" => Ok(ResetWhat::Usage),
        "performance" => Ok(ResetWhat::Performance),
        "top" | "top_time_consumers" => Ok(ResetWhat::TopTimeConsumers),
        "connections" => Ok(ResetWhat::Connections),
        _ => Err(format!(
            "{s:?}: expected usage, performance, top or connections"
        )),
    }
}

fn alerts_text(v: &portcullis_connector::alerts::AlertsView) -> String {
    use portcullis_connector::alerts::book::AlertStatus;
    let time = portcullis_connector::alerts::rfc3339;
    let mut out = Table::from_rows(v.alerts.iter().map(|a| {
        [
            ("ID", a.id.to_string()),
            (
                "STATUS",
                match a.status {
                    AlertStatus::Active => "active".to_owned(),
                    AlertStatus::Resolved => "resolved".to_owned(),
                },
            ),
            ("CATEGORY", a.category.name().to_owned()),
            ("RAISED", time(a.raised_ms)),
            ("RESOLVED", a.resolved_ms.map(time).unwrap_or_default()),
            ("MESSAGE", a.message.clone()),
        ]
    }))
    .empty("no alerts")
    .to_string();
    if v.channels.is_empty() {
        out.push_str("\nno channel configured: alerts are listed here only ([alerts.email], [[alerts.webhook]])\n");
    }
    if !v.pending.is_empty() {
        out.push_str(&format!("\n{} deliveries waiting:\n", v.pending.len()));
        for d in &v.pending {
            out.push_str(&format!(
                "  alert {} to {} after {} attempts: {}\n",
                d.alert.id,
                d.channel,
                d.attempts,
                d.last_error.as_deref().unwrap_or("not tried yet")
            ));
        }
    }
    out
}

/// Runs a `portcullis connector monitor` verb.
pub async fn run(cmd: &MonitorCmd) -> Result<()> {
    match cmd {
        MonitorCmd::Hardware {
            config,
            since,
            svg,
            out,
        } => {
            let req = Request::Hardware {
                span_secs: Some(since.as_secs()),
            };
            match request(&data_dir(config)?, &req).await? {
                Response::Hardware { view } => {
                    if let Some(dir) = svg {
                        write_charts(&view, dir)?;
                    }
                    out.print(&view, hardware_text)
                }
                other => bail!("unexpected answer from the connector: {other:?}"),
            }
        }
        MonitorCmd::Usage { config, out } => {
            match request(&data_dir(config)?, &Request::Usage).await? {
                Response::Usage { usage } => out.print(&usage, |u| {
                    Table::from_rows(u.iter().map(|u| {
                        [
                            ("VIRTUAL HOST", u.virtual_host.clone()),
                            ("RESOURCE", u.resource.clone()),
                            ("CALLS", u.calls.to_string()),
                            ("BYTES IN", u.bytes_received.to_string()),
                            ("BYTES OUT", u.bytes_sent.to_string()),
                            ("LAST ACCESS", u.last_access.clone()),
                        ]
                    }))
                    .empty("no usage recorded (since the last reset)")
                    .to_string()
                }),
                other => bail!("unexpected answer from the connector: {other:?}"),
            }
        }
        MonitorCmd::Alerts { config, out } => {
            match request(&data_dir(config)?, &Request::Alerts).await? {
                Response::Alerts { view } => out.print(&view, alerts_text),
                other => bail!("unexpected answer from the connector: {other:?}"),
            }
        }
        MonitorCmd::Connections { config, out } => {
            match request(&data_dir(config)?, &Request::Connections).await? {
                Response::Connections { connections } => out.print(&connections, |c| {
                    Table::from_rows(c.iter().map(|c| {
                        [
                            ("VIRTUAL HOST", c.virtual_host.clone()),
                            ("OPEN", c.open.to_string()),
                            ("PEAK", c.peak.to_string()),
                            ("OPENED", c.opened.to_string()),
                        ]
                    }))
                    .empty("no back-end connections (since the last reset)")
                    .to_string()
                }),
                other => bail!("unexpected answer from the connector: {other:?}"),
            }
        }
        MonitorCmd::Reset { config, what, by } => {
            let by = match by {
                Some(b) => b.clone(),
                None => {
                    login_name().context("cannot tell who you are; name yourself with --by NAME")?
                }
            };
            let req = Request::MonitorReset { what: *what, by };
            match request(&data_dir(config)?, &req).await? {
                Response::Reset { what } => {
                    println!("reset: {} (audited as monitoring.reset)", what.as_str());
                    Ok(())
                }
                other => bail!("unexpected answer from the connector: {other:?}"),
            }
        }
    }
}

const GIB: f64 = (1u64 << 30) as f64;

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / GIB)
}

/// The human summary of a hardware view: latest values, samples, gaps.
pub fn hardware_text(v: &HardwareView) -> String {
    let mut s = format!(
        "From {} to {} UTC; CPU and memory every {} ms, disk every {} ms.\n",
        chart::hh_mm(v.since_ms),
        chart::hh_mm(v.now_ms),
        v.interval_ms,
        v.disk_interval_ms
    );
    match v.cpu_memory.last() {
        Some(p) => s.push_str(&format!(
            "CPU {:.1} %, memory {} used of {} (at {} UTC); {} samples, {} gaps.\n",
            f64::from(p.cpu_permille) / 10.0,
            gib(p.memory_used),
            gib(p.memory_total),
            chart::hh_mm(p.t_ms),
            v.cpu_memory.len(),
            v.cpu_memory.iter().filter(|p| p.gap_before).count(),
        )),
        None => s.push_str("No CPU or memory samples in this span.\n"),
    }
    match v.disk.last() {
        Some(d) => s.push_str(&format!(
            "Disk of the data directory: {} free of {} (at {} UTC); {} samples.\n",
            gib(d.disk_free),
            gib(d.disk_total),
            chart::hh_mm(d.t_ms),
            v.disk.len()
        )),
        None => s.push_str("No disk samples in this span.\n"),
    }
    s
}

/// The three charts of a hardware view, as SVG text: `(file name, svg)`.
pub fn charts(v: &HardwareView) -> Vec<(&'static str, String)> {
    let cpu: Vec<ChartPoint> = v
        .cpu_memory
        .iter()
        .map(|p| ChartPoint {
            t_ms: p.t_ms,
            value: f64::from(p.cpu_permille) / 10.0,
            gap_before: p.gap_before,
        })
        .collect();
    let mem: Vec<ChartPoint> = v
        .cpu_memory
        .iter()
        .map(|p| ChartPoint {
            t_ms: p.t_ms,
            value: p.memory_used as f64 / GIB,
            gap_before: p.gap_before,
        })
        .collect();
    let disk: Vec<ChartPoint> = v
        .disk
        .iter()
        .map(|p| ChartPoint {
            t_ms: p.t_ms,
            value: p.disk_total.saturating_sub(p.disk_free) as f64 / GIB,
            gap_before: p.gap_before,
        })
        .collect();
    let mem_max = v
        .cpu_memory
        .iter()
        .map(|p| p.memory_total)
        .max()
        .unwrap_or(0) as f64
        / GIB;
    let disk_max = v.disk.iter().map(|p| p.disk_total).max().unwrap_or(0) as f64 / GIB;
    let base = |id, title, desc, unit, y_max, points| Chart {
        id,
        title,
        desc,
        unit,
        from_ms: v.since_ms,
        to_ms: v.now_ms,
        y_max,
        points,
    };
    vec![
        (
            "cpu.svg",
            chart::render(&base(
                "cpu",
                "CPU",
                "CPU use of the connector's machine, all cores.",
                "%",
                100.0,
                &cpu,
            )),
        ),
        (
            "memory.svg",
            chart::render(&base(
                "memory",
                "Memory",
                "Memory used on the connector's machine.",
                "GiB",
                mem_max,
                &mem,
            )),
        ),
        (
            "disk.svg",
            chart::render(&base(
                "disk",
                "Disk",
                "Space used on the file system of the connector's data directory.",
                "GiB",
                disk_max,
                &disk,
            )),
        ),
    ]
}

fn write_charts(v: &HardwareView, dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, svg) in charts(v) {
        let path = dir.join(name);
        std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_take_units() {
        assert_eq!(parse_span("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_span("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_span("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_span("45"), Ok(Duration::from_secs(45)));
        assert!(parse_span("1w").is_err());
        assert!(parse_span("h").is_err());
        assert!(parse_span("0h").is_err());
        assert!(parse_span("99999999999999999999d").is_err());
        assert_eq!(parse_what("top"), Ok(ResetWhat::TopTimeConsumers));
        assert!(parse_what("all").is_err());
    }
}
