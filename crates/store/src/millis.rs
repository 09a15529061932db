//! Timestamps as unix milliseconds.
//!
//! Every backend stores time as a 64-bit count of milliseconds since the unix epoch (UTC):
//! it sorts and compares as a plain integer in SQL, means the same in SQLite and PostgreSQL,
//! and is what the audit hash covers (`at_ms`). The price is that sub-millisecond precision
//! is dropped on the way in, so a value read back equals [`truncate`] of the value written.

use time::OffsetDateTime;

use crate::StoreError;

/// Milliseconds since the unix epoch, rounded towards negative infinity (so an instant
/// before 1970 with a fractional millisecond maps to the earlier millisecond, matching
/// [`from_unix_millis`]).
pub fn to_unix_millis(t: OffsetDateTime) -> i64 {
    // `OffsetDateTime` spans at most ±999_999 years (~3.2e16 ms), far inside i64, so the
    // narrowing cannot truncate.
    t.unix_timestamp_nanos().div_euclid(1_000_000) as i64
}

/// The UTC instant `ms` milliseconds after the unix epoch, or `None` if it lies outside
/// the range `OffsetDateTime` can represent.
pub fn from_unix_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// `t` as the store will hand it back: in UTC, with sub-millisecond precision dropped.
pub fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    from_unix_millis(to_unix_millis(t)).unwrap_or(t)
}

/// Decodes a stored column, naming the column if the value is out of range.
pub(crate) fn decode(ms: i64, column: &'static str) -> Result<OffsetDateTime, StoreError> {
    from_unix_millis(ms).ok_or_else(|| StoreError::Corrupt {
        column,
        reason: format!("timestamp {ms} ms is out of range"),
    })
}

/// [`decode`] for nullable columns.
pub(crate) fn decode_opt(
    ms: Option<i64>,
    column: &'static str,
) -> Result<Option<OffsetDateTime>, StoreError> {
    ms.map(|ms| decode(ms, column)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::UtcOffset;

    fn at_nanos(n: i128) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(n).unwrap()
    }

    #[test]
    fn round_trip_drops_sub_millisecond_part() {
        // 2024-05-06T07:08:09.123456789Z
        let t = at_nanos(1_714_979_289_123_456_789);
        assert_eq!(to_unix_millis(t), 1_714_979_289_123);
        assert_eq!(truncate(t), at_nanos(1_714_979_289_123_000_000));
    }

    #[test]
    fn before_epoch_rounds_down() {
        let t = at_nanos(-500_000); // 1969-12-31T23:59:59.9995Z
        assert_eq!(to_unix_millis(t), -1);
        assert_eq!(from_unix_millis(-1), Some(at_nanos(-1_000_000)));
    }

    #[test]
    fn non_utc_offsets_normalise_to_utc() {
        let t = at_nanos(3_600_000_000_000).to_offset(UtcOffset::from_hms(1, 0, 0).unwrap());
        assert_eq!(truncate(t).offset(), UtcOffset::UTC);
        assert_eq!(to_unix_millis(t), 3_600_000);
    }

    #[test]
    fn out_of_range_is_none() {
        assert_eq!(from_unix_millis(i64::MAX), None);
        assert!(matches!(
            decode(i64::MIN, "t.c"),
            Err(StoreError::Corrupt { column: "t.c", .. })
        ));
    }
}
