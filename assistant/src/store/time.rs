//! Timestamps as stored: RFC 3339 in UTC with nine fractional digits, so that text order is time
//! order and the audit hash covers an exact string.

use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

const FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");

/// The current time in UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Formats a time the way it is stored.
pub fn fmt(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .expect("UTC time formats")
}

/// Parses a stored time, or any RFC 3339 time given by a user.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    time::PrimitiveDateTime::parse(s, FORMAT)
        .map(|t| t.assume_utc())
        .or_else(|_| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_order() {
        let a = now();
        let b = a + time::Duration::nanoseconds(1);
        assert_eq!(parse(&fmt(a)), Some(a));
        assert!(fmt(a) < fmt(b));
        assert!(fmt(a).ends_with('Z'));
        assert_eq!(
            parse("2026-11-21T10:00:00+08:00").map(fmt).as_deref(),
            Some("2026-11-21T02:00:00.000000000Z")
        );
        assert_eq!(parse("yesterday"), None);
    }
}
