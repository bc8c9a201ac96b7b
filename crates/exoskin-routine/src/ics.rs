//! The plan as an iCalendar file (RFC 5545): one VEVENT per step (patch tests included),
//! mornings from 07:00 and evenings from 21:00 local (floating) time, each step lasting one
//! minute plus its wait. Lines end in CRLF and are folded at 75 octets; text is escaped.

use crate::planner::{Plan, Step};
use std::fmt::Write as _;

/// Escape a TEXT value (RFC 5545 section 3.3.11).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Append one content line, folded at 75 octets (never inside a UTF-8 character).
fn line(out: &mut String, content: &str) {
    let mut first = true;
    let mut rest = content;
    while !rest.is_empty() {
        let limit = if first { 75 } else { 74 };
        let mut cut = rest.len().min(limit);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if !first {
            out.push(' ');
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n");
        rest = &rest[cut..];
        first = false;
    }
}

fn stamp(date: &str, minutes: u32) -> String {
    format!(
        "{}T{:02}{:02}00",
        date.replace('-', ""),
        minutes / 60,
        minutes % 60
    )
}

fn event(
    out: &mut String,
    date: &str,
    slot: &str,
    i: usize,
    start_min: u32,
    s: &Step,
    dtstamp: &str,
) -> u32 {
    let dur = 1 + (s.wait_s / 60.0).ceil() as u32;
    line(out, "BEGIN:VEVENT");
    line(
        out,
        &format!("UID:{}-{slot}-{i}@exoskin-routine", date.replace('-', "")),
    );
    line(out, &format!("DTSTAMP:{dtstamp}"));
    line(out, &format!("DTSTART:{}", stamp(date, start_min)));
    line(out, &format!("DURATION:PT{dur}M"));
    line(
        out,
        &format!(
            "SUMMARY:{}",
            escape(&format!("{slot} {}: {} ({})", i + 1, s.product, s.action))
        ),
    );
    let wait = if s.wait_s > 0.0 {
        format!("Wait {} s after this step. ", s.wait_s)
    } else {
        String::new()
    };
    line(
        out,
        &format!(
            "DESCRIPTION:{}",
            escape(&format!("{wait}{} Source: {}", s.reason, s.source))
        ),
    );
    line(out, &format!("CATEGORIES:{}", escape(&s.kind)));
    line(out, "END:VEVENT");
    dur
}

/// The iCalendar text of a plan.
pub fn to_ics(plan: &Plan, name: &str) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//exoskin//routine planner//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    let dtstamp = plan
        .days
        .first()
        .map_or("19700101T000000Z".to_string(), |d| {
            format!("{}Z", stamp(&d.date, 0))
        });
    for d in &plan.days {
        let mut t = 7 * 60;
        for (i, s) in d.am.iter().enumerate() {
            t += event(&mut out, &d.date, "AM", i, t, s, &dtstamp);
        }
        let mut t = 21 * 60;
        for (i, s) in d.pm.iter().enumerate() {
            t += event(&mut out, &d.date, "PM", i, t, s, &dtstamp);
        }
    }
    line(&mut out, "END:VCALENDAR");
    let _ = write!(out, "");
    out
}

/// Number of events [`to_ics`] writes: one per step.
pub fn event_count(plan: &Plan) -> usize {
    plan.days.iter().map(|d| d.am.len() + d.pm.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_lines_within_75_octets_and_round_trips() {
        let long: String = "ä".repeat(100);
        let mut out = String::new();
        line(&mut out, &format!("SUMMARY:{long}"));
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        let unfolded = out.replace("\r\n ", "").replace("\r\n", "");
        assert_eq!(unfolded, format!("SUMMARY:{long}"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
