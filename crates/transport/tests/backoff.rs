//! Reconnect back-off scenarios, deterministic through a seeded RNG.

use std::time::{Duration, Instant};

use portcullis_transport::backoff::{Backoff, BackoffConfig, BackoffConfigError};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn rng() -> StdRng {
    StdRng::seed_from_u64(0x5eed)
}

fn no_jitter() -> BackoffConfig {
    BackoffConfig {
        jitter: 0.0,
        ..BackoffConfig::default()
    }
}

#[test]
fn defaults() {
    let c = BackoffConfig::default();
    assert_eq!(c.initial, Duration::from_millis(100));
    assert_eq!(c.max, Duration::from_secs(30));
    assert_eq!(c.stable_after, Duration::from_secs(60));
    assert_eq!(c.multiplier, 2.0);
    assert!(c.validate().is_ok());
}

#[test]
fn grows_geometrically_and_is_capped_at_max() {
    let mut b = Backoff::new(no_jitter());
    let mut rng = rng();
    let delays: Vec<_> = (0..30).map(|_| b.next_delay_with(&mut rng)).collect();
    assert_eq!(delays[0], Duration::from_millis(100));
    assert_eq!(delays[1], Duration::from_millis(200));
    assert_eq!(delays[2], Duration::from_millis(400));
    assert_eq!(delays[8], Duration::from_millis(25_600));
    assert_eq!(delays[9], Duration::from_secs(30));
    assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
    assert!(delays[9..].iter().all(|d| *d == Duration::from_secs(30)));

    // Thousands of failures later the cap still holds (no overflow).
    for _ in 0..5000 {
        assert!(b.next_delay_with(&mut rng) <= Duration::from_secs(30));
    }
}

#[test]
fn jitter_stays_within_bounds() {
    for jitter in [0.0, 0.25, 0.5, 1.0] {
        let config = BackoffConfig {
            jitter,
            ..BackoffConfig::default()
        };
        let mut b = Backoff::new(config);
        let mut rng = rng();
        let mut spread = false;
        for _ in 0..2000 {
            let nominal = b.nominal_delay();
            let delay = b.next_delay_with(&mut rng);
            // 1 ns of slack for float rounding.
            let low = nominal
                .mul_f64(1.0 - jitter)
                .saturating_sub(Duration::from_nanos(1));
            assert!(
                delay >= low && delay <= nominal,
                "jitter {jitter}: {delay:?} outside [{low:?}, {nominal:?}]"
            );
            assert!(delay <= config.max);
            spread |= delay != nominal;
            if b.attempt() > 12 {
                b.reset();
            }
        }
        // With jitter the draws actually vary.
        assert_eq!(spread, jitter > 0.0, "jitter {jitter}");
    }
}

#[test]
fn resets_after_a_stable_connection() {
    let config = BackoffConfig::default();
    let mut b = Backoff::new(config);
    let mut rng = rng();
    for _ in 0..10 {
        b.next_delay_with(&mut rng);
    }
    assert!(b.nominal_delay() > Duration::from_secs(10));

    let t0 = Instant::now();
    b.on_connected(t0);
    b.on_disconnected(t0 + config.stable_after);
    assert_eq!(b.attempt(), 0);
    let first = b.next_delay_with(&mut rng);
    assert!(
        first <= config.initial.mul_f64(1.0 + config.jitter),
        "first delay after a stable connection was {first:?}"
    );
}

#[test]
fn no_reset_after_a_short_connection() {
    let config = BackoffConfig::default();
    let mut b = Backoff::new(config);
    let mut rng = rng();
    for _ in 0..6 {
        b.next_delay_with(&mut rng);
    }
    let nominal = b.nominal_delay();

    let t0 = Instant::now();
    b.on_connected(t0);
    b.on_disconnected(t0 + config.stable_after - Duration::from_millis(1));
    assert_eq!(b.attempt(), 6);
    assert_eq!(b.nominal_delay(), nominal);

    // A disconnect without a prior connect (failed dial) does not reset either.
    b.on_disconnected(t0 + Duration::from_secs(3600));
    assert_eq!(b.attempt(), 6);
}

#[test]
fn invalid_configs_are_reported_and_clamped() {
    let bad = BackoffConfig {
        initial: Duration::ZERO,
        ..BackoffConfig::default()
    };
    assert_eq!(bad.validate(), Err(BackoffConfigError::ZeroInitial));

    let bad = BackoffConfig {
        max: Duration::from_millis(10),
        ..BackoffConfig::default()
    };
    assert!(matches!(
        bad.validate(),
        Err(BackoffConfigError::MaxBelowInitial { .. })
    ));

    for jitter in [-0.1, 1.5, f64::NAN] {
        let bad = BackoffConfig {
            jitter,
            ..BackoffConfig::default()
        };
        assert!(matches!(bad.validate(), Err(BackoffConfigError::Jitter(_))));
        // Clamped rather than panicking.
        let mut b = Backoff::new(bad);
        let d = b.next_delay_with(&mut rng());
        assert!(d <= bad.initial);
    }

    for multiplier in [0.5, f64::INFINITY, f64::NAN] {
        let bad = BackoffConfig {
            multiplier,
            ..BackoffConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(BackoffConfigError::Multiplier(_))
        ));
        let mut b = Backoff::new(bad);
        let mut rng = rng();
        for _ in 0..100 {
            assert!(b.next_delay_with(&mut rng) <= bad.max);
        }
    }
}

#[test]
fn thread_rng_variant_respects_bounds() {
    let mut b = Backoff::default();
    for _ in 0..100 {
        assert!(b.next_delay() <= Duration::from_secs(30));
    }
}
