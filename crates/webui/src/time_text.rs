//! Times as both UIs show them to people: `2026-12-07 15:04 UTC`.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// `t` in UTC, to the minute.
pub fn when(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// An RFC 3339 time as [`when`] shows it; text that does not parse is shown as it is.
pub fn when_text(rfc3339: &str) -> String {
    OffsetDateTime::parse(rfc3339, &Rfc3339).map_or_else(|_| rfc3339.to_string(), when)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_utc_to_the_minute() {
        assert_eq!(
            when_text("2026-12-07T19:46:03.503Z"),
            "2026-12-07 19:46 UTC"
        );
        assert_eq!(
            when_text("2026-12-07T21:46:03+02:00"),
            "2026-12-07 19:46 UTC"
        );
        assert_eq!(when_text("not a time"), "not a time");
    }
}
