//! Civil dates and UTC timestamps on `jiff`.
//!
//! Dates are [`jiff::civil::Date`], the date type the label checker uses too, read from the
//! strict form `YYYY-MM-DD`; timestamps are RFC 3339 in UTC with a `Z` suffix and whole
//! seconds (`2026-11-23T19:00:00Z`), the form Verifiable Credentials use for `validFrom`.
use crate::error::{BatchError, Result};
pub use jiff::civil::Date;
use jiff::civil::{DateTime, Time};
use jiff::tz::Offset;
use std::fmt;

/// A date in years 1..=9999, or an error naming the day range of that month.
pub fn new(year: i32, month: u32, day: u32) -> Result<Date> {
    let input = format!("{year:04}-{month:02}-{day:02}");
    if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
        return Err(BatchError::DateRange {
            input,
            reason: "year must be 1..=9999 and month 1..=12".into(),
        });
    }
    // Year and month are in range, so the casts are exact; a bad day is jiff's to reject.
    let first = Date::new(year as i16, month as i8, 1).map_err(|e| BatchError::DateRange {
        input: input.clone(),
        reason: e.to_string(),
    })?;
    let last = first.days_in_month() as u32;
    if day == 0 || day > last {
        return Err(BatchError::DateRange {
            input,
            reason: format!("day must be 1..={last}"),
        });
    }
    Ok(first.with().day(day as i8).build().expect("day checked"))
}

/// Parse `YYYY-MM-DD` (exactly: four, two and two ASCII digits).
pub fn parse(s: &str) -> Result<Date> {
    let b = s.as_bytes();
    let bad = || BatchError::DateSyntax {
        input: crate::gs1::truncate_for_message(s),
        expected: "date of the form YYYY-MM-DD",
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32> {
        let t = &b[r];
        if !t.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(t.iter().fold(0, |n, d| n * 10 + (d - b'0') as u32))
    };
    new(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// The GS1 `YYMMDD` form (application identifiers 11, 17).
pub fn yymmdd(d: Date) -> String {
    format!(
        "{:02}{:02}{:02}",
        i32::from(d.year()).rem_euclid(100),
        d.month(),
        d.day()
    )
}

/// Whole months from `from` to `later`: the month difference, less one when `later`'s day of
/// month is before `from`'s (a shelf life of 24 months from 2026-01-31 ends on 2028-01-31).
pub fn months_until(from: Date, later: Date) -> i64 {
    let mut m = (i64::from(later.year()) - i64::from(from.year())) * 12 + i64::from(later.month())
        - i64::from(from.month());
    if later.day() < from.day() {
        m -= 1;
    }
    m
}

/// A UTC instant with whole-second resolution, as seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp(jiff::Timestamp::now().as_second())
    }

    pub fn from_date_time(date: Date, h: u32, m: u32, s: u32) -> Timestamp {
        let t = Time::new(h as i8, m as i8, s as i8, 0).unwrap_or(Time::midnight());
        let ts = Offset::UTC
            .to_timestamp(DateTime::from_parts(date, t))
            .expect("years 1..=9999 are in jiff's range");
        Timestamp(ts.as_second())
    }

    /// Start of a day (00:00:00Z).
    pub fn start_of(date: Date) -> Timestamp {
        Self::from_date_time(date, 0, 0, 0)
    }

    /// End of a day (23:59:59Z).
    pub fn end_of(date: Date) -> Timestamp {
        Self::from_date_time(date, 23, 59, 59)
    }

    fn datetime(self) -> DateTime {
        let ts = jiff::Timestamp::from_second(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        Offset::UTC.to_datetime(ts)
    }

    pub fn date(self) -> Date {
        self.datetime().date()
    }

    /// Parse RFC 3339 UTC `YYYY-MM-DDTHH:MM:SSZ` (fractional seconds are accepted and
    /// truncated), or a bare date `YYYY-MM-DD` meaning its start.
    pub fn parse(s: &str) -> Result<Timestamp> {
        let bad = || BatchError::DateSyntax {
            input: crate::gs1::truncate_for_message(s),
            expected: "UTC timestamp of the form YYYY-MM-DDTHH:MM:SSZ or a date YYYY-MM-DD",
        };
        if s.len() == 10 {
            return parse(s).map(Timestamp::start_of);
        }
        let b = s.as_bytes();
        if s.len() < 20 || !(b[10] == b'T' || b[10] == b't') || !s.ends_with(['Z', 'z']) {
            return Err(bad());
        }
        let date = parse(&s[..10]).map_err(|_| bad())?;
        let t = &s[11..s.len() - 1];
        let (hms, frac) = t.split_once('.').unwrap_or((t, "0"));
        if !frac.bytes().all(|c| c.is_ascii_digit()) || frac.is_empty() {
            return Err(bad());
        }
        let parts: Vec<&str> = hms.split(':').collect();
        if parts.len() != 3
            || parts
                .iter()
                .any(|p| p.len() != 2 || !p.bytes().all(|c| c.is_ascii_digit()))
        {
            return Err(bad());
        }
        let h: u32 = parts[0].parse().map_err(|_| bad())?;
        let m: u32 = parts[1].parse().map_err(|_| bad())?;
        let sec: u32 = parts[2].parse().map_err(|_| bad())?;
        if h > 23 || m > 59 || sec > 60 {
            return Err(bad());
        }
        Ok(Timestamp::from_date_time(date, h, m, sec.min(59)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = self.datetime();
        write!(
            f,
            "{}T{:02}:{:02}:{:02}Z",
            dt.date(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_days_since_epoch() {
        // 2000-03-01 is day 11017 of the Unix epoch (30 years of 365 days, 7 leap days,
        // 31 + 29 days of 2000).
        assert_eq!(Timestamp::start_of(parse("1970-01-01").unwrap()).0, 0);
        assert_eq!(
            Timestamp::start_of(parse("2000-03-01").unwrap()).0,
            11017 * 86400
        );
        for days in (-700_000i64..2_000_000).step_by(997) {
            let t = Timestamp(days * 86400 + 3661);
            assert_eq!(Timestamp::from_date_time(t.date(), 1, 1, 1), t);
        }
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(parse("2027-02-29").is_err());
        assert!(parse("2028-02-29").is_ok());
        assert!(parse("2026-13-01").is_err());
        assert!(parse("2026-1-01").is_err());
        assert!(parse("２026-01-01").is_err());
        assert!(parse("0000-01-01").is_err());
        let e = parse("2027-02-30").unwrap_err().to_string();
        assert!(e.contains("day must be 1..=28"), "{e}");
    }

    #[test]
    fn months() {
        let d = |s| parse(s).unwrap();
        assert_eq!(months_until(d("2026-01-31"), d("2028-01-31")), 24);
        assert_eq!(months_until(d("2026-01-31"), d("2028-01-30")), 23);
        assert_eq!(months_until(d("2026-01-30"), d("2026-02-28")), 0);
        assert_eq!(months_until(d("2026-05-15"), d("2026-05-15")), 0);
    }

    #[test]
    fn timestamps() {
        let t = Timestamp::parse("2026-11-23T19:05:07Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-23T19:05:07Z");
        assert_eq!(Timestamp::parse("2026-11-23T19:05:07.123Z").unwrap(), t);
        assert_eq!(
            Timestamp::parse("2026-11-23").unwrap().to_string(),
            "2026-11-23T00:00:00Z"
        );
        assert!(Timestamp::parse("2026-11-23T19:05:07+01:00").is_err());
        assert_eq!(yymmdd(parse("2028-04-11").unwrap()), "280411");
    }
}
