//! The plan as an iCalendar file (RFC 5545): one VEVENT per morning or evening session, its
//! steps (patch tests included) listed in order in the description with their waits;
//! mornings at 07:00 and evenings at 21:00 local (floating) time, each lasting one minute per
//! step plus the waits. Lines end in CRLF and are folded at 75 octets; text is escaped.

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

/// One session's event: its steps in order in the description; returns its minutes.
fn session(
    out: &mut String,
    date: &str,
    slot: &str,
    start_min: u32,
    steps: &[Step],
    dtstamp: &str,
) -> u32 {
    let wait_s: f64 = steps.iter().map(|s| s.wait_s).sum();
    let dur = steps.len() as u32 + (wait_s / 60.0).ceil() as u32;
    line(out, "BEGIN:VEVENT");
    line(
        out,
        &format!("UID:{}-{slot}@exoskin-routine", date.replace('-', "")),
    );
    line(out, &format!("DTSTAMP:{dtstamp}"));
    line(out, &format!("DTSTART:{}", stamp(date, start_min)));
    line(out, &format!("DURATION:PT{dur}M"));
    let names: Vec<&str> = steps.iter().map(|s| s.product.as_str()).collect();
    let patch = steps.iter().any(|s| s.kind == "patch_test");
    line(
        out,
        &format!(
            "SUMMARY:{}",
            escape(&format!(
                "{slot} routine{}: {}",
                if patch { " (with a patch test)" } else { "" },
                names.join(", ")
            ))
        ),
    );
    let mut text = String::new();
    for (i, s) in steps.iter().enumerate() {
        let wait = if s.wait_s > 0.0 {
            format!(" Wait {} s.", s.wait_s)
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "{}. {}: {}.{wait} {} (source: {})",
            i + 1,
            s.product,
            s.action,
            s.reason,
            s.source
        );
    }
    line(out, &format!("DESCRIPTION:{}", escape(text.trim_end())));
    let mut kinds: Vec<&str> = steps.iter().map(|s| s.kind.as_str()).collect();
    kinds.sort();
    kinds.dedup();
    line(out, &format!("CATEGORIES:{}", escape(&kinds.join(","))));
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
        if !d.am.is_empty() {
            session(&mut out, &d.date, "AM", 7 * 60, &d.am, &dtstamp);
        }
        if !d.pm.is_empty() {
            session(&mut out, &d.date, "PM", 21 * 60, &d.pm, &dtstamp);
        }
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// Number of events [`to_ics`] writes: one per morning or evening with steps.
pub fn event_count(plan: &Plan) -> usize {
    plan.days
        .iter()
        .map(|d| usize::from(!d.am.is_empty()) + usize::from(!d.pm.is_empty()))
        .sum()
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
