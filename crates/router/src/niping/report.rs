//! What a niping test measured, and niping's way of printing it.

use std::fmt;
use std::time::Duration;

/// Bytes in niping's kB.
const KB: f64 = 1024.0;

/// The round-trip times of one test.
///
/// Throughput follows niping: a round trip moves the buffer twice (there and back), so
/// `tr = 2 × len × messages / 1024 / Σ times` in kB/s (1 kB = 1024 bytes), which is the same as
/// `2 × len / 1024 / avg`. Only payload bytes count, not the 4-byte NI length headers.
/// With a sample niping output of `avg 0.495 ms` for 1000-byte buffers this gives the
/// `tr 3945 kB/s` printed beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Messages sent (and echoed).
    pub loops: u32,
    /// Bytes per message.
    pub len: usize,
    /// Round-trip time of each message, in order: from just before sending to just after
    /// the echo was read and checked.
    pub times: Vec<Duration>,
}

impl Report {
    /// The shortest round trip (zero for a report without times).
    pub fn min(&self) -> Duration {
        self.times.iter().min().copied().unwrap_or_default()
    }

    /// The longest round trip (zero for a report without times).
    pub fn max(&self) -> Duration {
        self.times.iter().max().copied().unwrap_or_default()
    }

    /// The sum of all round trips.
    pub fn total(&self) -> Duration {
        sum(&self.times)
    }

    /// The mean round trip (zero for a report without times).
    pub fn avg(&self) -> Duration {
        mean(self.total(), self.times.len())
    }

    /// The mean without one longest and one shortest round trip, which niping prints to
    /// discount a first message that paid for a cold cache or a slow start. `None` for fewer
    /// than three messages, where nothing would remain.
    pub fn av2(&self) -> Option<Duration> {
        let n = self.times.len().checked_sub(2).filter(|n| *n > 0)?;
        Some(mean(self.total_without_extremes(), n))
    }

    /// Throughput in kB/s over all messages (see the type's documentation); zero without
    /// messages, infinite if the clock measured no time at all.
    pub fn tr(&self) -> f64 {
        throughput(self.len, self.times.len(), self.total())
    }

    /// Throughput in kB/s without one longest and one shortest round trip; `None` like
    /// [`Report::av2`].
    pub fn tr2(&self) -> Option<f64> {
        let n = self.times.len().checked_sub(2).filter(|n| *n > 0)?;
        Some(throughput(self.len, n, self.total_without_extremes()))
    }

    fn total_without_extremes(&self) -> Duration {
        self.total()
            .saturating_sub(self.max())
            .saturating_sub(self.min())
    }
}

fn sum(times: &[Duration]) -> Duration {
    times
        .iter()
        .fold(Duration::ZERO, |acc, t| acc.saturating_add(*t))
}

fn mean(total: Duration, n: usize) -> Duration {
    match u32::try_from(n) {
        Ok(0) => Duration::ZERO,
        Ok(n) => total / n,
        Err(_) => Duration::from_secs_f64(total.as_secs_f64() / n as f64),
    }
}

fn throughput(len: usize, messages: usize, total: Duration) -> f64 {
    if messages == 0 {
        return 0.0;
    }
    2.0 * len as f64 * messages as f64 / KB / total.as_secs_f64()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// niping's summary:
///
/// ```text
/// ------- times -----
/// avg  0.123 ms
/// max  0.456 ms
/// min  0.089 ms
/// tr   15879.065 kB/s
/// excluding max and min:
/// av2  0.110 ms
/// tr2  17755.682 kB/s
/// ```
///
/// The last three lines only with more than two messages.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "------- times -----")?;
        writeln!(f, "avg  {:.3} ms", ms(self.avg()))?;
        writeln!(f, "max  {:.3} ms", ms(self.max()))?;
        writeln!(f, "min  {:.3} ms", ms(self.min()))?;
        writeln!(f, "tr   {:.3} kB/s", self.tr())?;
        if let (Some(av2), Some(tr2)) = (self.av2(), self.tr2()) {
            writeln!(f, "excluding max and min:")?;
            writeln!(f, "av2  {:.3} ms", ms(av2))?;
            writeln!(f, "tr2  {:.3} kB/s", tr2)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|u| Duration::from_micros(*u)).collect()
    }

    #[test]
    fn statistics_follow_niping() {
        let r = Report {
            loops: 4,
            len: 1000,
            times: us(&[400, 100, 250, 250]),
        };
        assert_eq!(r.min(), Duration::from_micros(100));
        assert_eq!(r.max(), Duration::from_micros(400));
        assert_eq!(r.avg(), Duration::from_micros(250));
        assert_eq!(r.av2(), Some(Duration::from_micros(250)));
        // 2 × 1000 bytes × 4 / 1024 / 0.001 s
        assert!((r.tr() - 7812.5).abs() < 1e-6, "{}", r.tr());
        // 2 × 1000 bytes × 2 / 1024 / 0.0005 s
        assert!((r.tr2().unwrap() - 7812.5).abs() < 1e-6);
    }

    #[test]
    fn the_sample_output_matches_niping() {
        // niping: avg 0.495 ms for 1000-byte buffers, tr 3945 kB/s.
        let r = Report {
            loops: 1,
            len: 1000,
            times: us(&[495]),
        };
        assert_eq!(r.tr().round(), 3946.0);
    }

    #[test]
    fn prints_like_niping() {
        let r = Report {
            loops: 3,
            len: 1000,
            times: us(&[100, 200, 600]),
        };
        assert_eq!(
            r.to_string(),
            "------- times -----\n\
             avg  0.300 ms\n\
             max  0.600 ms\n\
             min  0.100 ms\n\
             tr   6510.417 kB/s\n\
             excluding max and min:\n\
             av2  0.200 ms\n\
             tr2  9765.625 kB/s\n"
        );
    }

    #[test]
    fn few_or_no_messages() {
        let two = Report {
            loops: 2,
            len: 10,
            times: us(&[1, 3]),
        };
        assert_eq!(two.av2(), None);
        assert_eq!(two.tr2(), None);
        assert!(!two.to_string().contains("av2"));
        let none = Report {
            loops: 0,
            len: 10,
            times: Vec::new(),
        };
        assert_eq!(none.avg(), Duration::ZERO);
        assert_eq!(none.min(), Duration::ZERO);
        assert_eq!(none.tr(), 0.0);
    }
}
