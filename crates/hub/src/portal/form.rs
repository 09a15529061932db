//! Reading what a form sends and writing what a form shows: times in UTC (the value of a
//! `datetime-local` field, `2026-12-07T15:04`), whole hours, comma-separated names. Parsing
//! only: what a value means for a window or a list is the operation's business.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::ops::OpError;

/// A time typed as `YYYY-MM-DDTHH:MM` (or with a space for the `T`, or with seconds), read as
/// UTC; empty is `None`.
pub fn utc_time(field: &str, s: &str) -> Result<Option<OffsetDateTime>, OpError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || {
        OpError::invalid(format!(
            "{field}: a date and time in UTC as YYYY-MM-DD HH:MM, e.g. 2026-12-24 08:00"
        ))
    };
    let (d, t) = s.split_once(['T', ' ']).ok_or_else(bad)?;
    let num = |x: &str| -> Result<i64, OpError> {
        if x.is_empty() || x.len() > 4 || !x.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        x.parse::<i64>().map_err(|_| bad())
    };
    let dp: Vec<&str> = d.split('-').collect();
    let tp: Vec<&str> = t.trim().split(':').collect();
    if dp.len() != 3 || !(2..=3).contains(&tp.len()) {
        return Err(bad());
    }
    let month =
        Month::try_from(u8::try_from(num(dp[1])?).map_err(|_| bad())?).map_err(|_| bad())?;
    let date = Date::from_calendar_date(
        i32::try_from(num(dp[0])?).map_err(|_| bad())?,
        month,
        u8::try_from(num(dp[2])?).map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    let sec = match tp.get(2) {
        Some(x) => num(x)?,
        None => 0,
    };
    let time = Time::from_hms(
        u8::try_from(num(tp[0])?).map_err(|_| bad())?,
        u8::try_from(num(tp[1])?).map_err(|_| bad())?,
        u8::try_from(sec).map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    Ok(Some(PrimitiveDateTime::new(date, time).assume_utc()))
}

/// The value a `datetime-local` field shows for `t`, in UTC: `2026-12-07T15:04`.
pub fn input_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// A whole number of hours; empty is `None`.
pub fn hours(field: &str, s: &str) -> Result<Option<u32>, OpError> {
    match s.trim() {
        "" => Ok(None),
        h => h
            .parse::<u32>()
            .map(Some)
            .map_err(|_| OpError::invalid(format!("{field}: a whole number of hours, e.g. 8"))),
    }
}

/// Names separated by commas (or spaces), without empty ones.
pub fn names(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_as_utc_and_shown_back_the_same() {
        let t = utc_time("end", "2026-12-24T08:30").unwrap().unwrap();
        assert_eq!(input_time(t), "2026-12-24T08:30");
        assert_eq!(t.offset(), time::UtcOffset::UTC);
        assert_eq!(
            utc_time("end", "2026-12-24 08:30:15")
                .unwrap()
                .unwrap()
                .second(),
            15
        );
        assert_eq!(utc_time("end", "  ").unwrap(), None);
        for bad in [
            "2026-12-24",
            "2026-13-01T00:00",
            "2026-02-30T00:00",
            "x-1-1T1:1",
            "2026-1-1T25:00",
        ] {
            let e = utc_time("end", bad).unwrap_err();
            assert!(
                e.to_string().contains("end: a date and time in UTC"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn names_and_hours() {
        assert_eq!(names(" ed, eva ,,bo x"), ["ed", "eva", "bo", "x"]);
        assert!(names(" , ").is_empty());
        assert_eq!(hours("hours", " 12 ").unwrap(), Some(12));
        assert_eq!(hours("hours", "").unwrap(), None);
        assert!(hours("hours", "-1").is_err());
    }
}
