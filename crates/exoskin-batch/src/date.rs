//! Civil dates and UTC timestamps, hand-rolled (proleptic Gregorian calendar).
//!
//! Dates are `YYYY-MM-DD`; timestamps are RFC 3339 in UTC with a `Z` suffix and whole
//! seconds (`2026-11-23T19:00:00Z`), the form Verifiable Credentials use for `validFrom`.
use crate::error::{BatchError, Result};
use std::fmt;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    pub fn new(year: i32, month: u32, day: u32) -> Result<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return Err(BatchError::invalid(format!(
                "date {year:04}-{month:02}-{day:02} is out of range"
            )));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(BatchError::invalid(format!(
                "date {year:04}-{month:02}-{day:02} does not exist (day must be 1..={})",
                days_in_month(year, month)
            )));
        }
        Ok(Date { year, month, day })
    }

    /// Parse `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Date> {
        let b = s.as_bytes();
        let bad = || BatchError::invalid(format!("`{s}` is not a date of the form YYYY-MM-DD"));
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32> {
            let t = &s[r];
            if !t.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            t.parse().map_err(|_| bad())
        };
        Date::new(num(0..4)? as i32, num(5..7)?, num(8..10)?)
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    pub fn days_since_epoch(self) -> i64 {
        let y = if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        } as i64;
        let m = self.month as i64;
        let d = self.day as i64;
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    }

    /// Inverse of [`Date::days_since_epoch`].
    pub fn from_days(z: i64) -> Date {
        let z = z + 719468;
        let era = if z >= 0 { z } else { z - 146096 } / 146097;
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        Date {
            year: (if m <= 2 { y + 1 } else { y }) as i32,
            month: m,
            day: d,
        }
    }

    /// The GS1 `YYMMDD` form (application identifiers 11, 17).
    pub fn yymmdd(self) -> String {
        format!(
            "{:02}{:02}{:02}",
            self.year.rem_euclid(100),
            self.month,
            self.day
        )
    }

    /// Whole months from `self` to `later` (day of month respected).
    pub fn months_until(self, later: Date) -> i64 {
        let mut m = (later.year - self.year) as i64 * 12 + later.month as i64 - self.month as i64;
        if later.day < self.day {
            m -= 1;
        }
        m
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A UTC instant with whole-second resolution, as seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Timestamp(d)
    }

    pub fn from_date_time(date: Date, h: u32, m: u32, s: u32) -> Timestamp {
        Timestamp(date.days_since_epoch() * 86400 + (h * 3600 + m * 60 + s) as i64)
    }

    /// Start of a day (00:00:00Z).
    pub fn start_of(date: Date) -> Timestamp {
        Self::from_date_time(date, 0, 0, 0)
    }

    /// End of a day (23:59:59Z).
    pub fn end_of(date: Date) -> Timestamp {
        Self::from_date_time(date, 23, 59, 59)
    }

    pub fn date(self) -> Date {
        Date::from_days(self.0.div_euclid(86400))
    }

    /// Parse RFC 3339 UTC `YYYY-MM-DDTHH:MM:SSZ` (fractional seconds are accepted and
    /// truncated), or a bare date `YYYY-MM-DD` meaning its start.
    pub fn parse(s: &str) -> Result<Timestamp> {
        let bad = || {
            BatchError::invalid(format!(
                "`{s}` is not a UTC timestamp of the form YYYY-MM-DDTHH:MM:SSZ or a date YYYY-MM-DD"
            ))
        };
        if s.len() == 10 {
            return Date::parse(s).map(Timestamp::start_of);
        }
        let b = s.as_bytes();
        if s.len() < 20 || !(b[10] == b'T' || b[10] == b't') || !s.ends_with(['Z', 'z']) {
            return Err(bad());
        }
        let date = Date::parse(&s[..10]).map_err(|_| bad())?;
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
        let secs = self.0.rem_euclid(86400);
        write!(
            f,
            "{}T{:02}:{:02}:{:02}Z",
            self.date(),
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_known_days() {
        assert_eq!(Date::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        assert_eq!(Date::parse("2000-03-01").unwrap().days_since_epoch(), 11017);
        for z in (-800_000..800_000).step_by(997) {
            let d = Date::from_days(z);
            assert_eq!(d.days_since_epoch(), z);
        }
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(Date::parse("2027-02-29").is_err());
        assert!(Date::parse("2028-02-29").is_ok());
        assert!(Date::parse("2026-13-01").is_err());
        assert!(Date::parse("2026-1-01").is_err());
        assert!(Date::parse("２026-01-01").is_err());
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
        assert_eq!(Date::parse("2028-04-11").unwrap().yymmdd(), "280411");
    }
}
