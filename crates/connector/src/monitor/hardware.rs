//! Reading the machine's hardware figures (CC-36, sap-reference §3.9): CPU use from
//! `/proc/stat` (busy time between two readings over all time passed, all cores together),
//! memory from `/proc/meminfo` (`MemTotal`, `MemAvailable`), and the file system of the
//! connector's data directory (`statvfs`: size, and what is free for an unprivileged user).
//! Parsing is separate from reading, so the parsers are tested on fixture text.
//!
//! How often it is sampled is `[monitoring]` ([`crate::config::MonitoringConfig`]).

use std::path::Path;

use super::history::{CpuMemory, Disk};

/// Cumulative CPU time of all cores, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTimes {
    /// Time not idle and not waiting for I/O.
    pub busy: u64,
    /// All time (`guest` is counted in `user` already and left out).
    pub total: u64,
}

/// The `cpu` line of `/proc/stat`: `cpu user nice system idle iowait irq softirq steal …`.
pub fn parse_cpu(stat: &str) -> Option<CpuTimes> {
    let line = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some("cpu"))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    if fields.len() < 4 {
        return None;
    }
    let total = fields.iter().try_fold(0u64, |a, b| a.checked_add(*b))?;
    let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
    Some(CpuTimes {
        busy: total.saturating_sub(idle),
        total,
    })
}

/// CPU busy between two readings, in tenths of a percent; `None` when no time passed or the
/// counters went back (a new boot, a container moved).
pub fn cpu_permille(before: CpuTimes, after: CpuTimes) -> Option<u16> {
    let total = after.total.checked_sub(before.total)?;
    let busy = after.busy.checked_sub(before.busy)?;
    if total == 0 {
        return None;
    }
    let permille = (u128::from(busy.min(total)) * 1000 + u128::from(total) / 2) / u128::from(total);
    u16::try_from(permille).ok()
}

/// `MemTotal` and `MemAvailable` of `/proc/meminfo`, in bytes. Kernels older than 3.14 have
/// no `MemAvailable`; then `MemFree + Buffers + Cached` stands in.
pub fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    let kib = |key: &str| {
        text.lines().find_map(|l| {
            let (k, rest) = l.split_once(':')?;
            if k.trim() != key {
                return None;
            }
            let mut words = rest.split_whitespace();
            let n: u64 = words.next()?.parse().ok()?;
            match words.next() {
                Some("kB") | None => n.checked_mul(1024),
                Some(_) => None,
            }
        })
    };
    let total = kib("MemTotal")?;
    let available = kib("MemAvailable").or_else(|| {
        Some(kib("MemFree")? + kib("Buffers").unwrap_or(0) + kib("Cached").unwrap_or(0))
    })?;
    Some((total, available.min(total)))
}

/// Reads `/proc/stat`.
pub fn read_cpu() -> Option<CpuTimes> {
    parse_cpu(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// Reads `/proc/meminfo` and makes a sample with `cpu_permille`.
pub fn read_memory(cpu_permille: u16) -> Option<CpuMemory> {
    let (memory_total, memory_available) =
        parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?)?;
    Some(CpuMemory {
        cpu_permille,
        memory_total,
        memory_available,
    })
}

/// The file system holding `path`.
pub fn read_disk(path: &Path) -> std::io::Result<Disk> {
    let s = rustix::fs::statvfs(path)?;
    let unit = if s.f_frsize > 0 {
        s.f_frsize
    } else {
        s.f_bsize
    };
    Ok(Disk {
        disk_total: s.f_blocks.saturating_mul(unit),
        disk_free: s.f_bavail.saturating_mul(unit),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  4705 356 584 3699 23 23 0 0 0 0\n\
        cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0\n\
        intr 114930548 113199788 3 0 5 263 0 4 [... lots more numbers ...]\n\
        ctxt 1990473\nbtime 1062191376\n";

    #[test]
    fn cpu_counts_busy_time_between_readings() {
        let a = parse_cpu(STAT).expect("parses");
        // 4705+356+584+3699+23+23+0+0 (guest fields left out)
        assert_eq!(a.total, 9390);
        assert_eq!(a.busy, 9390 - 3699 - 23);
        let b = CpuTimes {
            busy: a.busy + 25,
            total: a.total + 100,
        };
        assert_eq!(cpu_permille(a, b), Some(250));
        assert_eq!(cpu_permille(a, a), None, "no time passed");
        assert_eq!(cpu_permille(b, a), None, "counters went back");
        let all = CpuTimes {
            busy: a.busy + 100,
            total: a.total + 100,
        };
        assert_eq!(cpu_permille(a, all), Some(1000));
    }

    #[test]
    fn cpu_refuses_what_is_not_a_cpu_line() {
        assert_eq!(parse_cpu(""), None);
        assert_eq!(
            parse_cpu("cpu0 1 2 3 4\n"),
            None,
            "only the sum line counts"
        );
        assert_eq!(parse_cpu("cpu 1 2 x 4\n"), None);
        assert_eq!(parse_cpu("cpu 1 2\n"), None);
        assert_eq!(
            parse_cpu("cpu 1 2 3 4\n"),
            Some(CpuTimes { busy: 6, total: 10 }),
            "old kernels have four fields"
        );
    }

    #[test]
    fn memory_reads_total_and_available() {
        let text = "MemTotal:       16318448 kB\nMemFree:         1234567 kB\n\
            MemAvailable:    8000000 kB\nBuffers:          100000 kB\nCached:          2000000 kB\n";
        assert_eq!(parse_meminfo(text), Some((16318448 * 1024, 8000000 * 1024)));
        let old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 10 kB\nCached: 200 kB\n";
        assert_eq!(parse_meminfo(old), Some((1000 * 1024, 310 * 1024)));
        assert_eq!(parse_meminfo("MemFree: 1 kB\n"), None, "no total");
        assert_eq!(parse_meminfo("MemTotal: 1 MB\nMemAvailable: 1 kB\n"), None);
        // Available never exceeds the total.
        assert_eq!(
            parse_meminfo("MemTotal: 10 kB\nMemAvailable: 20 kB\n"),
            Some((10240, 10240))
        );
    }

    #[test]
    fn this_machine_can_be_read() {
        assert!(read_cpu().is_some());
        let m = read_memory(0).expect("meminfo");
        assert!(m.memory_total > 0 && m.memory_available <= m.memory_total);
        let d = read_disk(Path::new("/")).expect("statvfs");
        assert!(d.disk_total > 0 && d.disk_free <= d.disk_total);
    }
}
