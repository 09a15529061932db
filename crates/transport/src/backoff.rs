//! Jittered exponential reconnect back-off that resets after a stable period.
//!
//! A connector that loses the hub retries with delays growing geometrically from
//! [`BackoffConfig::initial`] up to [`BackoffConfig::max`]. Jitter spreads the retries of many
//! connectors so a hub restart does not get a synchronised reconnect storm.
//!
//! The attempt counter is reset only when a connection stayed up for at least
//! [`BackoffConfig::stable_after`]. A hub that accepts and immediately drops connections
//! (overload, bad certificate, crash loop) therefore keeps its connectors backing off instead
//! of being hit every `initial` interval.
//!
//! # Jitter
//!
//! With nominal delay `d = min(max, initial × multiplierⁿ)` and jitter fraction `j`, the delay
//! drawn is uniform in `[(1 − j)·d, d]`. `j = 1` is AWS's "full jitter", `j = 0.5` (the
//! default) is "equal jitter": it keeps a floor of half the nominal delay so a flapping hub is
//! never retried in a tight loop, while still spreading a fleet over half the window.
//! Jitter only ever shortens the delay, so `max` is a hard cap.
//!
//! The type is sans-IO: callers pass `now` and sleep themselves; tests pass a seeded RNG.

use std::time::{Duration, Instant};

use rand::Rng;

/// Back-off parameters. `Default` gives 100 ms → 30 s, ×2, equal jitter, stable after 60 s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffConfig {
    /// Nominal delay before the first retry.
    pub initial: Duration,
    /// Cap on any delay. Also bounds how long a connector stays away after the hub recovers.
    pub max: Duration,
    /// Growth factor per failed attempt; must be ≥ 1.
    pub multiplier: f64,
    /// Fraction of the nominal delay that is randomised away, in `0.0..=1.0`
    /// (see the module docs).
    pub jitter: f64,
    /// How long a connection must stay up before it counts as healthy and the attempt
    /// counter is reset.
    pub stable_after: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.5,
            stable_after: Duration::from_secs(60),
        }
    }
}

/// A rejected [`BackoffConfig`] field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BackoffConfigError {
    /// `initial` is zero: reconnects would spin.
    #[error("initial back-off must be greater than zero")]
    ZeroInitial,
    /// `max` is smaller than `initial`.
    #[error("maximum back-off {max:?} is smaller than the initial back-off {initial:?}")]
    MaxBelowInitial {
        /// The configured initial delay.
        initial: Duration,
        /// The configured maximum.
        max: Duration,
    },
    /// `multiplier` is below 1 or not finite: delays would shrink or be undefined.
    #[error("back-off multiplier must be a finite number >= 1, got {0}")]
    Multiplier(f64),
    /// `jitter` is outside `0.0..=1.0` or not a number.
    #[error("back-off jitter must be within 0.0..=1.0, got {0}")]
    Jitter(f64),
}

impl BackoffConfig {
    /// Checks the configuration; call it when parsing configuration so mistakes are reported
    /// before anything runs. [`Backoff::new`] does not fail: it clamps instead.
    pub fn validate(&self) -> Result<(), BackoffConfigError> {
        if self.initial.is_zero() {
            return Err(BackoffConfigError::ZeroInitial);
        }
        if self.max < self.initial {
            return Err(BackoffConfigError::MaxBelowInitial {
                initial: self.initial,
                max: self.max,
            });
        }
        if !self.multiplier.is_finite() || self.multiplier < 1.0 {
            return Err(BackoffConfigError::Multiplier(self.multiplier));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(BackoffConfigError::Jitter(self.jitter));
        }
        Ok(())
    }

    /// The configuration with every field forced into its valid range.
    fn clamped(self) -> Self {
        let initial = self.initial.max(Duration::from_millis(1));
        let multiplier = if self.multiplier.is_finite() {
            self.multiplier.max(1.0)
        } else {
            1.0
        };
        let jitter = if self.jitter.is_nan() {
            0.0
        } else {
            self.jitter.clamp(0.0, 1.0)
        };
        Self {
            initial,
            max: self.max.max(initial),
            multiplier,
            jitter,
            stable_after: self.stable_after,
        }
    }
}

/// Reconnect back-off state for one connection.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    /// Failed attempts since the last reset; the exponent of the next nominal delay.
    attempt: u32,
    /// When the current connection came up, if one is up.
    connected_since: Option<Instant>,
}

impl Backoff {
    /// Creates the back-off. Out-of-range fields are clamped (zero `initial` → 1 ms,
    /// `max < initial` → `initial`, `multiplier < 1` → 1, `jitter` into `0..=1`); use
    /// [`BackoffConfig::validate`] to reject them instead.
    pub fn new(config: BackoffConfig) -> Self {
        Self {
            config: config.clamped(),
            attempt: 0,
            connected_since: None,
        }
    }

    /// The effective (clamped) configuration.
    pub fn config(&self) -> &BackoffConfig {
        &self.config
    }

    /// Failed attempts since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The un-jittered delay the next call to [`next_delay`](Self::next_delay) is based on.
    pub fn nominal_delay(&self) -> Duration {
        let c = &self.config;
        let exponent = i32::try_from(self.attempt).unwrap_or(i32::MAX);
        // In nanoseconds so the usual values (100 ms × 2ⁿ) are exact in f64. Overflow goes
        // to +inf and is caught by the comparison with the cap.
        let nanos = c.initial.as_nanos() as f64 * c.multiplier.powi(exponent);
        if nanos.is_finite() && nanos < c.max.as_nanos() as f64 {
            // Below the cap, so it fits; `as` saturates anyway.
            Duration::from_nanos(nanos as u64)
        } else {
            c.max
        }
    }

    /// The delay to wait before the next attempt, drawn with the thread-local RNG.
    pub fn next_delay(&mut self) -> Duration {
        self.next_delay_with(&mut rand::thread_rng())
    }

    /// The delay to wait before the next attempt, drawn from `rng`; counts one attempt.
    pub fn next_delay_with<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Duration {
        let nominal = self.nominal_delay();
        self.attempt = self.attempt.saturating_add(1);
        let u: f64 = rng.gen(); // uniform in [0, 1)
        let factor = (1.0 - self.config.jitter * u).clamp(0.0, 1.0); // in (1 - jitter, 1]
        if factor >= 1.0 {
            return nominal;
        }
        // `as` saturates and factor < 1, so the result never exceeds `nominal`.
        Duration::from_nanos((nominal.as_nanos() as f64 * factor) as u64)
    }

    /// Records that a connection came up at `now`.
    pub fn on_connected(&mut self, now: Instant) {
        self.connected_since = Some(now);
    }

    /// Records that the connection went down at `now`. If it had been up for at least
    /// `stable_after`, the attempt counter resets and the next delay is short again.
    pub fn on_disconnected(&mut self, now: Instant) {
        if let Some(since) = self.connected_since.take() {
            if now.saturating_duration_since(since) >= self.config.stable_after {
                self.attempt = 0;
            }
        }
    }

    /// Forgets all failed attempts.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(BackoffConfig::default())
    }
}
