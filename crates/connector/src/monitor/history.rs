//! The hardware history: two series of timestamped samples (CPU and memory every
//! `hardware_interval_ms`, disk every `disk_interval_ms`), trimmed to [`KEEP`] and at most
//! [`MAX_POINTS`] points each.
//!
//! **The gap rule.** Downtime carries no points. A reader finds a gap before a point when the
//! point starts a run of the connector ([`Point::run_start`]: the first sample after a start)
//! or when it is more than two intervals after the point before it (samples missed while the
//! machine was suspended or the sampler could not read). Views carry the result of that rule
//! per point ([`HardwarePoint::gap_before`], [`DiskPoint::gap_before`]), so no reader applies
//! it twice; a gap is never a zero.

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How much history is kept: 24 hours.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);
/// Most points kept per series (24 hours at 15 s is 5760); a shorter interval keeps less
/// than 24 hours.
pub const MAX_POINTS: usize = 6000;

/// One sample of CPU and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuMemory {
    /// CPU busy since the sample before, in tenths of a percent (0..=1000), all cores.
    pub cpu_permille: u16,
    /// Physical memory, bytes.
    pub memory_total: u64,
    /// Memory available to new work without swapping (`MemAvailable`), bytes.
    pub memory_available: u64,
}

/// One sample of the data directory's file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    /// Size, bytes.
    pub disk_total: u64,
    /// Free for the connector's user, bytes.
    pub disk_free: u64,
}

/// A sample and when it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point<T> {
    /// Unix time, milliseconds.
    pub t_ms: i64,
    /// The first sample of a run of the connector (a gap lies before it).
    pub run_start: bool,
    /// The values.
    pub value: T,
}

/// A series of samples, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series<T> {
    points: VecDeque<Point<T>>,
}

impl<T> Default for Series<T> {
    fn default() -> Self {
        Series {
            points: VecDeque::new(),
        }
    }
}

impl<T: Copy> Series<T> {
    /// A series of `points` as read from the file: sorted, trimmed to [`KEEP`] before
    /// `now_ms` and to [`MAX_POINTS`]; points in the future (a clock set back) are dropped.
    pub fn from_points(mut points: Vec<Point<T>>, now_ms: i64) -> Self {
        points.retain(|p| p.t_ms <= now_ms);
        points.sort_by_key(|p| p.t_ms);
        let mut s = Series {
            points: points.into(),
        };
        s.trim(now_ms);
        s
    }

    /// Appends a sample taken at `t_ms` (ignored when not after the last one) and trims.
    pub fn push(&mut self, t_ms: i64, run_start: bool, value: T) {
        if self.points.back().is_some_and(|p| p.t_ms >= t_ms) {
            return;
        }
        self.points.push_back(Point {
            t_ms,
            run_start,
            value,
        });
        self.trim(t_ms);
    }

    fn trim(&mut self, now_ms: i64) {
        let oldest = now_ms.saturating_sub(KEEP.as_millis() as i64);
        while self.points.front().is_some_and(|p| p.t_ms < oldest) {
            self.points.pop_front();
        }
        while self.points.len() > MAX_POINTS {
            self.points.pop_front();
        }
    }

    /// Every point, oldest first.
    pub fn points(&self) -> impl Iterator<Item = &Point<T>> {
        self.points.iter()
    }

    /// The newest point.
    pub fn last(&self) -> Option<&Point<T>> {
        self.points.back()
    }

    /// The points at or after `since_ms`, each with whether a gap lies before it (the rule
    /// above, with `interval`). The first point returned has a gap before it only by the rule.
    pub fn since(&self, since_ms: i64, interval: Duration) -> Vec<(bool, Point<T>)> {
        let max_step = 2 * interval.as_millis() as i64;
        let mut prev: Option<i64> = None;
        let mut out = Vec::new();
        for p in &self.points {
            let gap = p.run_start || prev.is_some_and(|t| p.t_ms - t > max_step);
            prev = Some(p.t_ms);
            if p.t_ms >= since_ms {
                out.push((gap, *p));
            }
        }
        out
    }
}

/// A point of the CPU and memory series, as views show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HardwarePoint {
    /// Unix time, milliseconds.
    pub t_ms: i64,
    /// A gap (downtime, missed samples) lies before this point: do not join it to the one
    /// before.
    pub gap_before: bool,
    /// CPU busy, tenths of a percent (0..=1000).
    pub cpu_permille: u16,
    /// Physical memory, bytes.
    pub memory_total: u64,
    /// Available memory, bytes.
    pub memory_available: u64,
    /// `memory_total - memory_available`, bytes.
    pub memory_used: u64,
}

/// A point of the disk series, as views show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DiskPoint {
    /// Unix time, milliseconds.
    pub t_ms: i64,
    /// A gap lies before this point.
    pub gap_before: bool,
    /// Size of the data directory's file system, bytes.
    pub disk_total: u64,
    /// Free for the connector's user, bytes.
    pub disk_free: u64,
}

/// What `portcullis connector monitor hardware` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HardwareView {
    /// When the view was made, unix milliseconds.
    pub now_ms: i64,
    /// The start of the span shown, unix milliseconds.
    pub since_ms: i64,
    /// The CPU and memory sampling interval in force, milliseconds.
    pub interval_ms: u64,
    /// The disk sampling interval in force, milliseconds.
    pub disk_interval_ms: u64,
    /// CPU and memory, oldest first.
    pub cpu_memory: Vec<HardwarePoint>,
    /// Disk, oldest first.
    pub disk: Vec<DiskPoint>,
}

/// Both series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// CPU and memory.
    pub cpu_memory: Series<CpuMemory>,
    /// Disk.
    pub disk: Series<Disk>,
}

impl History {
    /// The view of the span since `since_ms`.
    pub fn view(
        &self,
        now_ms: i64,
        since_ms: i64,
        interval: Duration,
        disk_interval: Duration,
    ) -> HardwareView {
        HardwareView {
            now_ms,
            since_ms,
            interval_ms: interval.as_millis() as u64,
            disk_interval_ms: disk_interval.as_millis() as u64,
            cpu_memory: self
                .cpu_memory
                .since(since_ms, interval)
                .into_iter()
                .map(|(gap_before, p)| HardwarePoint {
                    t_ms: p.t_ms,
                    gap_before,
                    cpu_permille: p.value.cpu_permille,
                    memory_total: p.value.memory_total,
                    memory_available: p.value.memory_available,
                    memory_used: p
                        .value
                        .memory_total
                        .saturating_sub(p.value.memory_available),
                })
                .collect(),
            disk: self
                .disk
                .since(since_ms, disk_interval)
                .into_iter()
                .map(|(gap_before, p)| DiskPoint {
                    t_ms: p.t_ms,
                    gap_before,
                    disk_total: p.value.disk_total,
                    disk_free: p.value.disk_free,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn cm(cpu: u16) -> CpuMemory {
        CpuMemory {
            cpu_permille: cpu,
            memory_total: 100,
            memory_available: 40,
        }
    }

    #[test]
    fn keeps_24_hours_and_at_most_max_points() {
        let mut s = Series::default();
        s.push(0, true, cm(1));
        s.push(H, false, cm(2));
        s.push(24 * H, false, cm(3));
        assert_eq!(s.points().count(), 3, "exactly 24 h old stays");
        s.push(24 * H + 1, false, cm(4));
        assert_eq!(s.points().count(), 3, "older than 24 h goes");
        assert_eq!(s.points().next().map(|p| p.t_ms), Some(H));
        for i in 0..(MAX_POINTS as i64 + 10) {
            s.push(25 * H + i, false, cm(5));
        }
        assert_eq!(s.points().count(), MAX_POINTS);
        // Not after the last: ignored.
        s.push(0, false, cm(9));
        assert_eq!(s.last().map(|p| p.value.cpu_permille), Some(5));
    }

    #[test]
    fn from_points_sorts_trims_and_drops_the_future() {
        let pts = vec![
            Point {
                t_ms: 30 * H,
                run_start: false,
                value: cm(1),
            },
            Point {
                t_ms: 20 * H,
                run_start: true,
                value: cm(2),
            },
            Point {
                t_ms: H,
                run_start: true,
                value: cm(3),
            },
        ];
        let s = Series::from_points(pts, 26 * H);
        let kept: Vec<i64> = s.points().map(|p| p.t_ms).collect();
        assert_eq!(kept, vec![20 * H]);
    }

    #[test]
    fn a_gap_is_a_run_start_or_more_than_two_intervals() {
        let i = Duration::from_secs(15);
        let mut s = Series::default();
        s.push(0, true, cm(1));
        s.push(15_000, false, cm(1));
        s.push(45_000, false, cm(1)); // exactly 2 intervals: no gap
        s.push(75_001, false, cm(1)); // more than 2: a gap
        s.push(80_000, true, cm(1)); // a restart, however soon
        s.push(95_000, false, cm(1));
        let gaps: Vec<bool> = s.since(0, i).into_iter().map(|(g, _)| g).collect();
        assert_eq!(gaps, vec![true, false, false, true, true, false]);
        // A later start keeps what the rule says about the points it shows.
        let late: Vec<(bool, i64)> = s
            .since(45_000, i)
            .into_iter()
            .map(|(g, p)| (g, p.t_ms))
            .collect();
        assert_eq!(
            late,
            vec![
                (false, 45_000),
                (true, 75_001),
                (true, 80_000),
                (false, 95_000)
            ]
        );
    }

    #[test]
    fn a_view_tells_used_memory_and_gaps() {
        let mut h = History::default();
        h.cpu_memory.push(1000, true, cm(250));
        h.disk.push(
            1000,
            true,
            Disk {
                disk_total: 10,
                disk_free: 4,
            },
        );
        let v = h.view(2000, 0, Duration::from_secs(15), Duration::from_secs(60));
        assert_eq!(v.cpu_memory.len(), 1);
        assert_eq!(v.cpu_memory[0].memory_used, 60);
        assert!(v.cpu_memory[0].gap_before);
        assert_eq!(v.disk[0].disk_free, 4);
        assert_eq!((v.interval_ms, v.disk_interval_ms), (15_000, 60_000));
    }
}
