//! Time windows in which a service connection is open (sap-reference §2.2, §2.4).
//!
//! A window is a stored interval `[start, end)` plus an optional early close. Its state is
//! computed from the clock, never stored, so a reservation opens by itself at its start and a
//! window closes by itself at its end without anyone having to flip a flag (the hub's
//! scheduler only announces those moments and cuts live sessions). The rules:
//!
//! * **open** now, until an end time: the end defaults to now + [`DEFAULT_DURATION`] (8 h)
//!   and may be at most [`MAX_DURATION`] (20 days) away; anything longer is refused;
//! * **reserve** a future `[start, end)`: same limits, measured from `start`;
//! * **edit** an open window's end (extend or shorten): the new end must be in the future and
//!   at most 20 days from now; a reserved window's start and end may move under the reserve
//!   rules;
//! * **close**: an open or reserved window ends at once;
//! * windows of one service connection never overlap (open and reserved ones count;
//!   closed ones do not).
//!
//! All functions take `now` as an argument: no clock is read here.

use time::{Duration, OffsetDateTime};

/// How long a window stays open when the customer names no end.
pub const DEFAULT_DURATION: Duration = Duration::hours(8);
/// The longest a window may be open.
pub const MAX_DURATION: Duration = Duration::days(20);

/// A window's state at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowState {
    /// Starts in the future.
    Reserved,
    /// Engineers may connect.
    Open,
    /// Ended (by its end time or closed early).
    Closed,
}

impl WindowState {
    /// The serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowState::Reserved => "reserved",
            WindowState::Open => "open",
            WindowState::Closed => "closed",
        }
    }
}

/// The times that decide a window's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// When it opens (for a window opened at once: the moment it was opened).
    pub start: OffsetDateTime,
    /// When it closes by itself.
    pub end: OffsetDateTime,
    /// When it was closed early, if it was.
    pub closed_at: Option<OffsetDateTime>,
}

impl Span {
    /// The state at `now`.
    pub fn state(&self, now: OffsetDateTime) -> WindowState {
        if self.closed_at.is_some_and(|c| c <= now) || now >= self.end {
            WindowState::Closed
        } else if now < self.start {
            WindowState::Reserved
        } else {
            WindowState::Open
        }
    }

    /// When the window actually stops being usable: the early close or the end.
    pub fn effective_end(&self) -> OffsetDateTime {
        match self.closed_at {
            Some(c) if c < self.end => c,
            _ => self.end,
        }
    }

    /// Whether two windows share any instant (both treated as `[start, effective end)`).
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.effective_end() && other.start < self.effective_end()
    }
}

/// Why a window operation was refused. Each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WindowError {
    /// The end is not after the start (or not in the future).
    #[error("the end ({end}) must be after {after}")]
    EndNotAfter {
        /// The end asked for.
        end: String,
        /// What it must follow (now or the start).
        after: String,
    },
    /// Longer than [`MAX_DURATION`].
    #[error("a window may be open for at most 20 days; {asked} was asked for (until {end})")]
    TooLong {
        /// The asked-for length, e.g. `20d 0h 1m`.
        asked: String,
        /// The end asked for.
        end: String,
    },
    /// A reservation must start in the future.
    #[error("a reservation must start in the future ({start} is not after now); open the window instead")]
    StartNotInFuture {
        /// The start asked for.
        start: String,
    },
    /// Another open or reserved window covers part of the time.
    #[error("window {other} ({other_start} to {other_end}) already covers part of that time; edit or close it first")]
    Overlap {
        /// The other window's id.
        other: i64,
        /// Its start.
        other_start: String,
        /// Its end.
        other_end: String,
    },
    /// The operation needs a window in another state.
    #[error("window {id} is {state}; this needs an {needed} window")]
    WrongState {
        /// The window's id.
        id: i64,
        /// Its state now.
        state: &'static str,
        /// What it must be: "open", "open or reserved", "reserved".
        needed: &'static str,
    },
}

/// Formats an instant the way errors show it (RFC 3339, UTC).
pub fn show(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// Formats a length as `Nd Nh Nm`.
pub fn show_duration(d: Duration) -> String {
    let m = d.whole_minutes();
    format!("{}d {}h {}m", m / (24 * 60), (m / 60) % 24, m % 60)
}

fn check_length(from: OffsetDateTime, end: OffsetDateTime) -> Result<(), WindowError> {
    if end <= from {
        return Err(WindowError::EndNotAfter {
            end: show(end),
            after: show(from),
        });
    }
    if end - from > MAX_DURATION {
        return Err(WindowError::TooLong {
            asked: show_duration(end - from),
            end: show(end),
        });
    }
    Ok(())
}

/// Another window of the same service connection, as the overlap check needs it.
#[derive(Debug, Clone, Copy)]
pub struct Existing {
    /// Its id.
    pub id: i64,
    /// Its times.
    pub span: Span,
}

fn check_overlap(span: &Span, others: &[Existing], now: OffsetDateTime) -> Result<(), WindowError> {
    for o in others {
        if o.span.state(now) != WindowState::Closed && span.overlaps(&o.span) {
            return Err(WindowError::Overlap {
                other: o.id,
                other_start: show(o.span.start),
                other_end: show(o.span.effective_end()),
            });
        }
    }
    Ok(())
}

/// The span of a window opened now, until `end` (default: now + 8 h). `others` are the
/// service connection's other windows.
pub fn open(
    now: OffsetDateTime,
    end: Option<OffsetDateTime>,
    others: &[Existing],
) -> Result<Span, WindowError> {
    let end = end.unwrap_or(now + DEFAULT_DURATION);
    check_length(now, end)?;
    let span = Span {
        start: now,
        end,
        closed_at: None,
    };
    check_overlap(&span, others, now)?;
    Ok(span)
}

/// The span of a reservation `[start, end)` (end default: start + 8 h).
pub fn reserve(
    now: OffsetDateTime,
    start: OffsetDateTime,
    end: Option<OffsetDateTime>,
    others: &[Existing],
) -> Result<Span, WindowError> {
    if start <= now {
        return Err(WindowError::StartNotInFuture { start: show(start) });
    }
    let end = end.unwrap_or(start + DEFAULT_DURATION);
    check_length(start, end)?;
    let span = Span {
        start,
        end,
        closed_at: None,
    };
    check_overlap(&span, others, now)?;
    Ok(span)
}

/// A changed window: a new end for an open window (from now, at most 20 days ahead), or a
/// new start and/or end for a reserved one (reserve rules). `others` must not include the
/// window itself.
pub fn edit(
    now: OffsetDateTime,
    id: i64,
    current: &Span,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
    others: &[Existing],
) -> Result<Span, WindowError> {
    let span = match current.state(now) {
        WindowState::Open => {
            if start.is_some() {
                return Err(WindowError::WrongState {
                    id,
                    state: "open",
                    needed: "reserved",
                });
            }
            let end = end.unwrap_or(current.end);
            check_length(now, end)?;
            Span { end, ..*current }
        }
        WindowState::Reserved => {
            let start = start.unwrap_or(current.start);
            // Moving only the start keeps the length the customer chose.
            let end = end.unwrap_or(start + (current.end - current.start));
            reserve(now, start, Some(end), &[])?
        }
        WindowState::Closed => {
            return Err(WindowError::WrongState {
                id,
                state: "closed",
                needed: "open or reserved",
            })
        }
    };
    check_overlap(&span, others, now)?;
    Ok(span)
}

/// The span of a window closed now.
pub fn close(now: OffsetDateTime, id: i64, current: &Span) -> Result<Span, WindowError> {
    match current.state(now) {
        WindowState::Closed => Err(WindowError::WrongState {
            id,
            state: "closed",
            needed: "open or reserved",
        }),
        _ => Ok(Span {
            closed_at: Some(now),
            ..*current
        }),
    }
}

/// Whether a window that names `engineers` lets `user` in (an empty list names nobody in
/// particular, so any support engineer may use it). Names compare exactly.
pub fn admits(engineers: &[String], user: &str) -> bool {
    engineers.is_empty() || engineers.iter().any(|e| e == user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 12:00 UTC);

    #[test]
    fn open_defaults_to_eight_hours_and_allows_twenty_days() {
        let s = open(NOW, None, &[]).unwrap();
        assert_eq!(s.end - s.start, Duration::hours(8));
        assert_eq!(s.state(NOW), WindowState::Open);
        assert!(open(NOW, Some(NOW + Duration::days(20)), &[]).is_ok());
        let e = open(
            NOW,
            Some(NOW + Duration::days(20) + Duration::minutes(1)),
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "a window may be open for at most 20 days; 20d 0h 1m was asked for (until 2026-12-12T12:01:00Z)"
        );
        assert!(matches!(
            open(NOW, Some(NOW), &[]),
            Err(WindowError::EndNotAfter { .. })
        ));
    }

    #[test]
    fn state_follows_the_clock() {
        let s = reserve(NOW, NOW + Duration::hours(1), None, &[]).unwrap();
        assert_eq!(s.state(NOW), WindowState::Reserved);
        assert_eq!(s.state(NOW + Duration::hours(1)), WindowState::Open);
        assert_eq!(
            s.state(NOW + Duration::hours(9) - Duration::milliseconds(1)),
            WindowState::Open
        );
        assert_eq!(s.state(NOW + Duration::hours(9)), WindowState::Closed);
        let c = close(NOW + Duration::hours(2), 1, &s).unwrap();
        assert_eq!(c.state(NOW + Duration::hours(2)), WindowState::Closed);
        assert_eq!(c.effective_end(), NOW + Duration::hours(2));
        assert!(matches!(
            close(NOW + Duration::hours(3), 1, &c),
            Err(WindowError::WrongState {
                state: "closed",
                ..
            })
        ));
    }

    #[test]
    fn reservations_start_in_the_future_and_keep_the_limit() {
        assert!(matches!(
            reserve(NOW, NOW, None, &[]),
            Err(WindowError::StartNotInFuture { .. })
        ));
        let start = NOW + Duration::days(3);
        assert!(reserve(NOW, start, Some(start + Duration::days(20)), &[]).is_ok());
        assert!(matches!(
            reserve(
                NOW,
                start,
                Some(start + Duration::days(20) + Duration::minutes(1)),
                &[]
            ),
            Err(WindowError::TooLong { .. })
        ));
    }

    #[test]
    fn windows_of_one_connection_do_not_overlap() {
        let a = Existing {
            id: 1,
            span: open(NOW, None, &[]).unwrap(),
        };
        let e = open(NOW, None, &[a]).unwrap_err();
        assert!(matches!(e, WindowError::Overlap { other: 1, .. }), "{e}");
        // Back to back is fine: [start, end) intervals.
        assert!(reserve(NOW, NOW + Duration::hours(8), None, &[a]).is_ok());
        assert!(reserve(NOW, NOW + Duration::hours(7), None, &[a]).is_err());
        // A closed window no longer blocks.
        let closed = Existing {
            id: 1,
            span: close(NOW, 1, &a.span).unwrap(),
        };
        assert!(open(NOW, None, &[closed]).is_ok());
    }

    #[test]
    fn editing_extends_shortens_and_moves() {
        let s = open(NOW, None, &[]).unwrap();
        let later = NOW + Duration::hours(5);
        let ext = edit(later, 1, &s, None, Some(later + Duration::days(20)), &[]).unwrap();
        assert_eq!(ext.start, NOW);
        assert!(edit(later, 1, &s, None, Some(later + Duration::days(21)), &[]).is_err());
        assert!(matches!(
            edit(later, 1, &s, None, Some(later - Duration::minutes(1)), &[]),
            Err(WindowError::EndNotAfter { .. })
        ));
        assert!(matches!(
            edit(later, 1, &s, Some(later), None, &[]),
            Err(WindowError::WrongState {
                needed: "reserved",
                ..
            })
        ));
        let r = reserve(NOW, NOW + Duration::days(1), None, &[]).unwrap();
        let moved = edit(NOW, 2, &r, Some(NOW + Duration::days(2)), None, &[]).unwrap();
        assert_eq!(moved.end - moved.start, Duration::hours(8));
        let done = close(NOW, 3, &s).unwrap();
        assert!(edit(NOW, 3, &done, None, Some(NOW + Duration::hours(1)), &[]).is_err());
    }

    #[test]
    fn named_engineers() {
        assert!(admits(&[], "anyone"));
        let named = vec!["alice".to_string()];
        assert!(admits(&named, "alice"));
        assert!(!admits(&named, "Alice"));
        assert!(!admits(&named, "bob"));
    }
}
