//! `[monitoring]`: how often the connector samples the hardware (CC-36; the sampler is
//! [`crate::monitor::sampler`]) and sends the hub its health report ([`crate::health`]).

use std::time::Duration;

use serde::Deserialize;

use super::{field, ConfigError};

/// The default CPU and memory sampling interval (SAP's: 15 s).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);
/// The default disk sampling interval (SAP's: 60 s).
pub const DEFAULT_DISK_INTERVAL: Duration = Duration::from_secs(60);
/// How often a health report goes to the hub by default.
pub const DEFAULT_REPORT_INTERVAL: Duration = Duration::from_secs(60);
/// Shortest interval accepted (intervals below a second are for tests).
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// Longest interval accepted.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// `[monitoring]`: how often the hardware is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitoringConfig {
    /// CPU and memory (`hardware_interval_ms`, default 15000).
    pub interval: Duration,
    /// Disk (`disk_interval_ms`, default 60000).
    pub disk_interval: Duration,
    /// Health reports to the hub (`report_interval_ms`, default 60000).
    pub report_interval: Duration,
    /// Whether health reports carry each entry's internal `host:port` and the probe's
    /// words (`report_internal_details`, default false): the hub otherwise learns only the
    /// virtual side of the network, and by default it stays so.
    pub report_internal_details: bool,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        MonitoringConfig {
            interval: DEFAULT_INTERVAL,
            disk_interval: DEFAULT_DISK_INTERVAL,
            report_interval: DEFAULT_REPORT_INTERVAL,
            report_internal_details: false,
        }
    }
}

/// `[monitoring]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMonitoring {
    #[serde(default)]
    hardware_interval_ms: Option<u64>,
    #[serde(default)]
    disk_interval_ms: Option<u64>,
    #[serde(default)]
    report_interval_ms: Option<u64>,
    #[serde(default)]
    report_internal_details: Option<bool>,
}

impl TryFrom<RawMonitoring> for MonitoringConfig {
    type Error = ConfigError;

    fn try_from(raw: RawMonitoring) -> Result<Self, ConfigError> {
        let check = |name: &'static str, ms: Option<u64>, default: Duration| {
            let d = ms.map_or(default, Duration::from_millis);
            if d < MIN_INTERVAL || d > MAX_INTERVAL {
                return Err(field(
                    name,
                    format!(
                        "{} ms is outside {}..={} ms",
                        d.as_millis(),
                        MIN_INTERVAL.as_millis(),
                        MAX_INTERVAL.as_millis()
                    ),
                ));
            }
            Ok(d)
        };
        Ok(MonitoringConfig {
            interval: check(
                "monitoring.hardware_interval_ms",
                raw.hardware_interval_ms,
                DEFAULT_INTERVAL,
            )?,
            disk_interval: check(
                "monitoring.disk_interval_ms",
                raw.disk_interval_ms,
                DEFAULT_DISK_INTERVAL,
            )?,
            report_interval: check(
                "monitoring.report_interval_ms",
                raw.report_interval_ms,
                DEFAULT_REPORT_INTERVAL,
            )?,
            report_internal_details: raw.report_internal_details.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_default_to_sap_and_are_bounded() {
        let c = MonitoringConfig::try_from(RawMonitoring::default()).unwrap();
        assert_eq!(c, MonitoringConfig::default());
        assert_eq!(c.interval, Duration::from_secs(15));
        assert_eq!(c.disk_interval, Duration::from_secs(60));
        assert_eq!(c.report_interval, Duration::from_secs(60));
        let raw = |h, d| RawMonitoring {
            hardware_interval_ms: h,
            disk_interval_ms: d,
            report_interval_ms: None,
            report_internal_details: None,
        };
        let fast = MonitoringConfig::try_from(raw(Some(200), Some(400))).unwrap();
        assert_eq!(fast.interval, Duration::from_millis(200));
        let e = MonitoringConfig::try_from(raw(Some(99), None)).unwrap_err();
        assert!(
            e.to_string().contains("monitoring.hardware_interval_ms"),
            "{e}"
        );
        assert!(MonitoringConfig::try_from(raw(None, Some(3_600_001))).is_err());
    }
}
