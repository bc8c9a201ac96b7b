//! The INCI list parser: label text as printed, to ingredient names with their positions.
//!
//! What it accepts: separators `,` `;` bullets and line breaks (a line break inside a
//! comma-separated list that continues a name, such as a hyphenated wrap, joins the lines);
//! "Ingredients:" headers in several languages (text before the first header is dropped, later
//! section headers such as "Inactive ingredients:" separate, "Directions:" or "Warnings:" after
//! the list end it); parentheses and slashes kept inside a name (`Aqua/Water/Eau`); percentages
//! (`Niacinamide 5%`, `(0,5 %)`), taken out into [`ParsedIngredient::percent`]; "may contain" /
//! `+/-` tails with CI numbers, marked [`ParsedIngredient::may_contain`]; trademark signs (TM,
//! (R), (TM)) removed; branded blends `Blend (A, B)` expanded into their parts with the blend
//! name kept; `(and)` trade mixtures split; numbering and footnote stars removed.
//!
//! The parser never fails and never panics: any UTF-8 text gives a (possibly empty) list, in
//! time linear in the length of the text.

use crate::normalize::{clean_text, key, tidy_spaces};

/// One ingredient as printed, in list order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedIngredient {
    /// 1-based position in the list (the order of the label, which by INCI rules is by
    /// decreasing concentration above 1%).
    pub position: usize,
    /// The name as printed, tidied (trademark signs, percentages and numbering removed).
    pub name: String,
    /// The lookup key of the name (lower case, accents and plurals folded).
    pub key: String,
    /// A percentage printed with the name, if any.
    pub percent: Option<f64>,
    /// True for ingredients after a "may contain" or `+/-` marker (colourants of shade ranges).
    pub may_contain: bool,
    /// The branded blend this ingredient was listed under (`Blend (A, B)`), if any.
    pub blend: Option<String>,
}

/// Words that head an ingredient list (compared by lookup key, so case, accents and plural do
/// not matter).
const HEADER_WORDS: &[&str] = &[
    "ingredient",
    "inci",
    "composition",
    "ingrediente",
    "ingredienti",
    "inhaltsstoffe",
    "bestandteile",
    "zutaten",
    "ingredienser",
    "skladniki",
    "성분",
    "전성분",
    "成分",
    "全成分",
    "全成分表示",
];

/// First words of sections that follow an ingredient list and end it.
const TRAILER_WORDS: &[&str] = &[
    "direction",
    "how",
    "usage",
    "use",
    "warning",
    "caution",
    "storage",
    "store",
    "made",
    "manufactured",
    "distributed",
    "net",
    "exp",
    "expiry",
    "expiration",
    "lot",
    "batch",
    "keep",
    "disclaimer",
    "contact",
    "mode",
    "precaution",
    "note",
    "attention",
];

/// Markers that start the "may contain" part of a list.
const MAY_CONTAIN: &[&str] = &[
    "may contain",
    "peut contenir",
    "kann enthalten",
    "puede contener",
    "puo contenere",
    "+/-",
    "+ / -",
];

/// Parse label text into ingredients. Never fails; an empty result means no ingredient names
/// were found.
pub fn parse(text: &str) -> Vec<ParsedIngredient> {
    let cleaned = remove_marks(&clean_text(text));
    let body = strip_headers(&cleaned);
    let comma_style = count_separators(&body) >= 2;
    let mut out = Vec::new();
    let mut may_contain = false;
    // Work list of (segment, blend) in reverse order; iterative so that no input can make the
    // parser recurse deeply.
    let mut stack: Vec<Item> = Vec::new();
    push_segments(&body, comma_style, None, 0, &mut stack);
    while let Some((seg, blend, level)) = stack.pop() {
        // "May contain" / +/- markers: what comes before is a normal ingredient, what comes
        // after is may-contain.
        if let Some((at, len)) = find_marker(&seg) {
            // Every later marker in the segment is removed at once (linear time).
            let after = remove_markers(&seg[at + len..]);
            let before = seg[..at].to_string();
            push_segments(&after, true, blend.clone(), level, &mut stack);
            // A marker with nothing after it still switches the mode.
            stack.push((String::from(MODE_SWITCH), None, level));
            if before.chars().any(|c| c.is_alphanumeric()) {
                stack.push((before, blend, level));
            }
            continue;
        }
        if seg == MODE_SWITCH {
            may_contain = true;
            continue;
        }
        // A branded blend with a list in parentheses: expand it.
        let blend_found = if level < MAX_BLEND_LEVEL {
            blend_parts(&seg)
        } else {
            None
        };
        if let Some((name, inner)) = blend_found {
            let blend_name = tidy_name(&name);
            let blend = if blend_name.chars().any(|c| c.is_alphanumeric()) {
                Some(blend_name)
            } else {
                blend
            };
            push_segments(&inner, true, blend, level + 1, &mut stack);
            continue;
        }
        // Trade mixtures "A (and) B".
        if seg.contains('(') && seg.to_ascii_lowercase().contains("(and)") {
            let lower = seg.to_ascii_lowercase();
            let mut parts = Vec::new();
            let mut rest = seg.as_str();
            let mut rest_lower = lower.as_str();
            while let Some(i) = rest_lower.find("(and)") {
                parts.push(rest[..i].to_string());
                rest = &rest[i + 5..];
                rest_lower = &rest_lower[i + 5..];
            }
            parts.push(rest.to_string());
            for p in parts.into_iter().rev() {
                stack.push((p, blend.clone(), level));
            }
            continue;
        }
        if let Some(ing) = finish(&seg, may_contain, blend) {
            out.push(ing);
        }
    }
    for (i, ing) in out.iter_mut().enumerate() {
        ing.position = i + 1;
    }
    out
}

/// A sentinel segment that switches the parser into may-contain mode (cannot occur in text:
/// it holds a control character, which [`clean_text`] removes).
const MODE_SWITCH: &str = "\u{1}may-contain\u{1}";

/// A segment still to parse: text, the blend it belongs to, how deep in blends it is.
type Item = (String, Option<String>, u8);

/// Blends inside blends are expanded this deep, no deeper (keeps the parser linear).
const MAX_BLEND_LEVEL: u8 = 3;

/// Replace every may-contain marker with a space.
fn remove_markers(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if let Some(m) = MAY_CONTAIN.iter().find(|m| lower[i..].starts_with(*m)) {
            out.push(' ');
            i += m.len();
        } else {
            let n = s[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&s[i..i + n]);
            i += n;
        }
    }
    out
}

/// The first may-contain marker in a segment: (byte offset, length). One pass over the bytes.
fn find_marker(seg: &str) -> Option<(usize, usize)> {
    let b = seg.as_bytes();
    (0..b.len())
        .filter(|&i| matches!(b[i], b'+' | b'm' | b'M' | b'p' | b'P' | b'k' | b'K'))
        .find_map(|i| {
            MAY_CONTAIN
                .iter()
                .find(|m| {
                    b.len() - i >= m.len() && b[i..i + m.len()].eq_ignore_ascii_case(m.as_bytes())
                })
                .map(|m| (i, m.len()))
        })
}

/// Remove `(TM)`, `(R)` and `(C)`-style marks written with letters.
fn remove_marks(s: &str) -> String {
    if !s.contains('(') {
        return s.to_string();
    }
    let lower = s.to_ascii_lowercase();
    if !lower.contains("(tm)") && !lower.contains("(r)") && !lower.contains("(sm)") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let bytes = lower.as_bytes();
    while i < s.len() {
        let rest = &bytes[i..];
        let skip = [&b"(tm)"[..], &b"(r)"[..], &b"(sm)"[..]]
            .iter()
            .find(|m| rest.starts_with(m))
            .map(|m| m.len());
        if let Some(n) = skip {
            out.push(' ');
            i += n;
        } else {
            // Copy one whole character.
            let ch_len = s[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&s[i..i + ch_len]);
            i += ch_len;
        }
    }
    out
}

fn is_header_phrase(k: &str) -> bool {
    let words: Vec<&str> = k.split(' ').collect();
    !k.is_empty() && words.len() <= 4 && words.iter().any(|w| HEADER_WORDS.contains(w))
}

/// A short label of letters only ("Powder", "Part A", "Phase 2" is not: it has a digit).
fn is_part_label(k: &str) -> bool {
    !k.is_empty()
        && k.split(' ').count() <= 3
        && k.chars().all(|c| c == ' ' || c.is_alphabetic())
        && !["contain", "contenir", "enthalten", "contener", "contenere"]
            .iter()
            .any(|w| k.contains(w))
}

fn is_trailer_phrase(k: &str) -> bool {
    let first = k.split(' ').next().unwrap_or("");
    k.split(' ').count() <= 4 && TRAILER_WORDS.contains(&first)
}

/// Drop text before the first "Ingredients:"-style header, turn later headers into line
/// breaks, and cut the text at a trailing section ("Directions:") after the list.
fn strip_headers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut copied_from = 0usize; // bytes of `s` already handled
    let mut seen_header = false;
    let mut seen_text = false; // any letter or digit before the current colon
    let mut scanned_to = 0usize;
    for (i, c) in s.char_indices() {
        if c != ':' {
            continue;
        }
        // The phrase before the colon, back to the previous separator.
        let start = s[..i]
            .rfind([',', ';', '\n', '.', ':', '(', ')'])
            .map_or(0, |p| p + 1)
            .max(copied_from);
        if !seen_text {
            seen_text = s[scanned_to..start].chars().any(char::is_alphanumeric);
            scanned_to = start;
        }
        let phrase_key = key(&s[start..i]);
        if is_header_phrase(&phrase_key) {
            if seen_header {
                out.push_str(&s[copied_from..start]);
                out.push('\n');
            } else {
                out.clear();
            }
            seen_header = true;
            copied_from = i + 1;
        } else if is_trailer_phrase(&phrase_key) && (seen_header || seen_text) {
            out.push_str(&s[copied_from..start]);
            return out;
        } else if is_part_label(&phrase_key) {
            // "Powder:", "Phase B:": a part of a kit or formula; a separator.
            out.push_str(&s[copied_from..start]);
            out.push('\n');
            copied_from = i + 1;
        }
    }
    out.push_str(&s[copied_from..]);
    out
}

fn count_separators(s: &str) -> usize {
    let b = s.as_bytes();
    (0..b.len())
        .filter(|&i| {
            b[i] == b';'
                || (b[i] == b','
                    && !(i > 0
                        && b[i - 1].is_ascii_digit()
                        && i + 1 < b.len()
                        && b[i + 1].is_ascii_digit()))
        })
        .count()
}

/// Split text into segments at top-level separators and push them (reversed) on the stack.
/// A segment whose parentheses never close is split again with parentheses ignored.
fn push_segments(
    text: &str,
    comma_style: bool,
    blend: Option<String>,
    level: u8,
    stack: &mut Vec<Item>,
) {
    let mut segs = Vec::new();
    for (seg, unbalanced) in split(text, comma_style, true) {
        if unbalanced {
            segs.extend(split(&seg, comma_style, false).into_iter().map(|(s, _)| s));
        } else {
            segs.push(seg);
        }
    }
    for s in segs.into_iter().rev() {
        stack.push((s, blend.clone(), level));
    }
}

/// Split at separators outside parentheses (when `parens`). Returns (segment, unbalanced).
fn split(text: &str, comma_style: bool, parens: bool) -> Vec<(String, bool)> {
    let cs: Vec<char> = text.chars().collect();
    let n = cs.len();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    let flush = |cur: &mut String, depth: &mut usize, out: &mut Vec<(String, bool)>| {
        if cur.chars().any(|c| c.is_alphanumeric()) {
            out.push((std::mem::take(cur), *depth > 0));
        } else {
            cur.clear();
        }
        *depth = 0;
    };
    let next_visible = |from: usize| cs[from..].iter().copied().find(|c| *c != ' ' && *c != '\n');
    for i in 0..n {
        let c = cs[i];
        match c {
            '(' if parens => {
                depth += 1;
                cur.push(c);
            }
            ')' if parens => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            ',' | ';' if depth == 0 => {
                let digits = c == ','
                    && i > 0
                    && cs[i - 1].is_ascii_digit()
                    && i + 1 < n
                    && cs[i + 1].is_ascii_digit();
                if digits {
                    cur.push(c);
                } else {
                    flush(&mut cur, &mut depth, &mut out);
                }
            }
            '.' if depth == 0 && sentence_break(&cs, i) => flush(&mut cur, &mut depth, &mut out),
            '\n' => {
                if !comma_style {
                    flush(&mut cur, &mut depth, &mut out);
                    continue;
                }
                if depth > 0 {
                    cur.push(' ');
                    continue;
                }
                let prev = cur.trim_end().chars().last();
                let next = next_visible(i + 1);
                match (prev, next) {
                    (Some('-'), Some(nx)) if nx.is_lowercase() => {
                        // Hyphenated wrap: "Hyalu-\nronate".
                        let t = cur.trim_end().len();
                        cur.truncate(t);
                        let before_dash = cur[..cur.len() - 1].chars().last();
                        if !before_dash.is_some_and(|b| b.is_ascii_digit()) {
                            cur.pop();
                        }
                    }
                    (Some(p), Some(nx)) if nx.is_lowercase() && p != ',' && p != ';' => {
                        cur.push(' ');
                    }
                    _ => flush(&mut cur, &mut depth, &mut out),
                }
            }
            _ => cur.push(c),
        }
    }
    flush(&mut cur, &mut depth, &mut out);
    out
}

/// A full stop ends an item when a letter comes before it and a capital or the end after it.
fn sentence_break(cs: &[char], i: usize) -> bool {
    let prev_letter = i > 0 && cs[i - 1].is_alphabetic();
    let next_space = i + 1 >= cs.len() || cs[i + 1] == ' ' || cs[i + 1] == '\n';
    if !prev_letter || !next_space {
        return false;
    }
    match cs[i + 1..].iter().find(|c| **c != ' ' && **c != '\n') {
        None => true,
        Some(c) => c.is_uppercase() || !c.is_alphabetic(),
    }
}

/// `Blend (A, B, C)`: the blend name and the inner list, when the parentheses hold a list.
fn blend_parts(seg: &str) -> Option<(String, String)> {
    let open = seg.find('(')?;
    let mut depth = 0usize;
    let mut close = None;
    let mut has_list = false;
    let bytes = seg.as_bytes();
    for (i, c) in seg.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            ';' if depth == 1 => has_list = true,
            ',' if depth == 1 => {
                let digits = i > 0
                    && bytes[i - 1].is_ascii_digit()
                    && i + 1 < bytes.len()
                    && bytes[i + 1].is_ascii_digit();
                has_list |= !digits;
            }
            _ => {}
        }
    }
    let close = close?;
    if !has_list {
        return None;
    }
    let mut name = seg[..open].to_string();
    let tail = seg[close + 1..].trim();
    if !tail.is_empty() {
        name.push(' ');
        name.push_str(tail);
    }
    Some((name, seg[open + 1..close].to_string()))
}

/// Take a printed percentage out of a name: `Niacinamide 5%`, `(0,5 %)`, `- <1%`.
fn take_percent(s: &str) -> (String, Option<f64>) {
    let Some(pct) = s.find('%') else {
        return (s.to_string(), None);
    };
    let b = s.as_bytes();
    let mut j = pct;
    while j > 0 && b[j - 1] == b' ' {
        j -= 1;
    }
    let num_end = j;
    while j > 0 && (b[j - 1].is_ascii_digit() || b[j - 1] == b'.' || b[j - 1] == b',') {
        j -= 1;
    }
    let num_start = j;
    let value = s[num_start..num_end]
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && (0.0..=100.0).contains(v));
    while j > 0 && matches!(b[j - 1], b' ' | b'<' | b'>' | b'~' | b'=') {
        j -= 1;
    }
    let mut start = j;
    let mut end = pct + 1;
    // Enclosing parentheses "(5%)" or a lead-in "- 5%" / ": 5%".
    let mut k = end;
    while k < b.len() && b[k] == b' ' {
        k += 1;
    }
    if start > 0 && b[start - 1] == b'(' && k < b.len() && b[k] == b')' {
        start -= 1;
        end = k + 1;
    } else if start > 0 && matches!(b[start - 1], b'-' | b':') {
        start -= 1;
    }
    let mut name = String::with_capacity(s.len());
    name.push_str(&s[..start]);
    name.push(' ');
    name.push_str(&s[end..]);
    (name, value)
}

/// Strip bullets, numbering, stars and stray punctuation around a name; tidy its spaces.
fn tidy_name(s: &str) -> String {
    let mut t = s.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '-' | '*' | '+' | '>' | '#' | '~' | ':' | '"' | '\'')
    });
    // "1. Aqua", "2) Glycerin"
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && digits <= 3 {
        let rest = &t[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            t = r;
        }
    }
    let t = t.trim_matches(|c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '.' | ','
                    | ';'
                    | ':'
                    | '*'
                    | '-'
                    | '"'
                    | '\''
                    | '\u{B9}'
                    | '\u{B2}'
                    | '\u{B3}'
                    | '\u{2020}'
                    | '\u{2021}'
            )
    });
    let mut name = tidy_spaces(t);
    if name.contains('(') || name.contains(')') {
        // Empty or unbalanced parentheses left by removals.
        name = name.replace("()", "");
        let opens = name.matches('(').count();
        let closes = name.matches(')').count();
        if opens != closes {
            name = name.replace(['(', ')'], " ");
        }
        name = tidy_spaces(name.trim_matches(|c: char| c == ' ' || c == '-' || c == ':'));
    }
    name
}

/// Words of footnotes that labels attach with a star ("*Certified organic ingredient").
const FOOTNOTE_WORDS: &[&str] = &[
    "organic",
    "certified",
    "natural origin",
    "farming",
    "agriculture",
];

/// Turn one segment into an ingredient, or drop it (headers, footnotes, punctuation only).
fn finish(seg: &str, may_contain: bool, blend: Option<String>) -> Option<ParsedIngredient> {
    let trimmed = seg.trim();
    if trimmed.starts_with('*') {
        let lower = trimmed.to_ascii_lowercase();
        if FOOTNOTE_WORDS.iter().any(|w| lower.contains(w)) {
            return None;
        }
    }
    let (without_pct, percent) = take_percent(trimmed);
    let name = tidy_name(&without_pct);
    if !name.chars().any(|c| c.is_alphanumeric()) {
        return None;
    }
    let k = key(&name);
    if is_header_phrase(&k)
        && k.split(' ')
            .all(|w| HEADER_WORDS.contains(&w) || w == "list")
    {
        return None;
    }
    Some(ParsedIngredient {
        position: 0,
        key: k,
        name,
        percent,
        may_contain,
        blend,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        parse(text).into_iter().map(|i| i.name).collect()
    }

    #[test]
    fn commas_header_and_positions() {
        let p = parse("Ingredients: Aqua/Water/Eau, Glycerin, Niacinamide.");
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].name, "Aqua/Water/Eau");
        assert_eq!(p[2].name, "Niacinamide");
        assert_eq!(p[2].position, 3);
    }

    #[test]
    fn text_before_header_is_dropped_and_trailer_cut() {
        assert_eq!(
            names("Exo Serum 30 ml\nINGREDIENTS: Aqua, Glycerin\nDirections: apply daily."),
            ["Aqua", "Glycerin"]
        );
    }

    #[test]
    fn newline_list_and_bullets() {
        assert_eq!(
            names("• Aqua\n• Glycerin\n• Human Exosomes"),
            ["Aqua", "Glycerin", "Human Exosomes"]
        );
        assert_eq!(
            names("aqua\nglycerin\nbutylene glycol"),
            ["aqua", "glycerin", "butylene glycol"]
        );
    }

    #[test]
    fn wrapped_lines_join_in_comma_lists() {
        assert_eq!(
            names("Aqua, Sodium Hyalu-\nronate, Rosa Damascena\nflower water, Glycerin"),
            [
                "Aqua",
                "Sodium Hyaluronate",
                "Rosa Damascena flower water",
                "Glycerin"
            ]
        );
    }

    #[test]
    fn percentages_and_decimal_commas() {
        let p = parse("Niacinamide 5%, Retinol (0,5 %), 1,2-Hexanediol, Adenosine - <1%");
        assert_eq!(p[0].name, "Niacinamide");
        assert_eq!(p[0].percent, Some(5.0));
        assert_eq!(p[1].name, "Retinol");
        assert_eq!(p[1].percent, Some(0.5));
        assert_eq!(p[2].name, "1,2-Hexanediol");
        assert_eq!(p[3].name, "Adenosine");
        assert_eq!(p[3].percent, Some(1.0));
    }

    #[test]
    fn may_contain_tail() {
        let p = parse("Aqua, Mica. May contain (+/-): CI 77891, CI 77491.");
        assert_eq!(p.len(), 4);
        assert!(!p[1].may_contain);
        assert_eq!(p[2].name, "CI 77891");
        assert!(p[2].may_contain && p[3].may_contain);
        let q = parse("Aqua, Talc [+/- CI 77891, CI 77492]");
        assert_eq!(q.len(), 4);
        assert_eq!(q[3].name, "CI 77492");
        assert!(q[3].may_contain);
    }

    #[test]
    fn trademarks_and_blends() {
        let p = parse("Aqua, ExoGlow\u{2122} EV Complex (Rosa Damascena Callus Exosomes, Glycerin), Lecithin (and) Cholesterol");
        let n: Vec<&str> = p.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            n,
            [
                "Aqua",
                "Rosa Damascena Callus Exosomes",
                "Glycerin",
                "Lecithin",
                "Cholesterol"
            ]
        );
        assert_eq!(p[1].blend.as_deref(), Some("ExoGlow EV Complex"));
        assert_eq!(names("Exocell(TM) Serum Base(R)"), ["Exocell Serum Base"]);
    }

    #[test]
    fn unbalanced_parentheses_do_not_swallow_the_list() {
        assert_eq!(
            names("Aqua (Water, Glycerin, Niacinamide"),
            ["Aqua Water", "Glycerin", "Niacinamide"]
        );
    }

    #[test]
    fn numbering_and_footnotes() {
        assert_eq!(
            names("1. Aqua\n2. Aloe Barbadensis Leaf Juice*\n*Certified organic"),
            ["Aqua", "Aloe Barbadensis Leaf Juice"]
        );
    }

    #[test]
    fn empty_and_punctuation_only() {
        assert!(parse("").is_empty());
        assert!(parse(" ,;\n\u{2022} . ").is_empty());
        assert!(parse("Ingredients:").is_empty());
    }
}
