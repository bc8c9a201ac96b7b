//! GTIN check digits and GS1 Digital Link URIs.
//!
//! A certificate's QR code carries `https://<resolver>/01/<GTIN-14>/10/<lot>?17=<YYMMDD>`
//! (GS1 Digital Link URI Syntax 1.4: AI 01 the GTIN, AI 10 the batch/lot, AI 17 the
//! expiry date). The lot is percent-encoded: every byte outside the URI unreserved set
//! `A-Z a-z 0-9 - . _ ~` becomes `%XX`.
use crate::date::Date;
use crate::error::{BatchError, Result};

/// GS1 modulo-10 check digit of the digits before it (any GTIN length).
pub fn check_digit(body: &[u8]) -> u8 {
    // Weights 3,1,3,1... from the rightmost digit of the body.
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| (d - b'0') as u32 * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Validate a GTIN-8, -12, -13 or -14 and return it as GTIN-14 (left-padded with zeros).
pub fn normalize_gtin(s: &str) -> Result<String> {
    let s = s.trim();
    if !matches!(s.len(), 8 | 12 | 13 | 14) || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(BatchError::Gtin {
            gtin: truncate_for_message(s),
            reason: "must be 8, 12, 13 or 14 digits".into(),
        });
    }
    let b = s.as_bytes();
    let (body, last) = b.split_at(b.len() - 1);
    let expected = check_digit(body);
    if last[0] - b'0' != expected {
        return Err(BatchError::Gtin {
            gtin: s.to_string(),
            reason: format!("has check digit {}, expected {expected}", last[0] as char),
        });
    }
    Ok(format!("{s:0>14}"))
}

/// GS1 AI encodable character set 82, the characters allowed in AI (10) batch/lot.
pub fn is_cset82(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c)
}

/// Maximum length of AI (10) batch/lot.
pub const LOT_MAX_LEN: usize = 20;

/// Validate a batch/lot number: 1 to 20 characters of GS1 character set 82.
pub fn validate_lot(lot: &str) -> Result<()> {
    let n = lot.chars().count();
    if n == 0 || n > LOT_MAX_LEN {
        return Err(BatchError::Lot {
            lot: truncate_for_message(lot),
            reason: format!("must be 1 to {LOT_MAX_LEN} characters long (it has {n})"),
        });
    }
    if let Some(c) = lot.chars().find(|&c| !is_cset82(c)) {
        return Err(BatchError::Lot {
            lot: truncate_for_message(lot),
            reason: format!(
                "contains {c:?}, which GS1 AI (10) does not allow (allowed: A-Z a-z 0-9 and !\"%&'()*+,-./:;<=>?_)"
            ),
        });
    }
    Ok(())
}

/// At most 40 characters of `s`, for error messages.
pub(crate) fn truncate_for_message(s: &str) -> String {
    let t: String = s.chars().take(40).collect();
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t
    }
}

/// Bytes that stay literal in a Digital Link path segment: the URI unreserved set
/// `A-Z a-z 0-9 - . _ ~` (RFC 3986, 2.3); every other byte is percent-encoded.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode everything outside the URI unreserved set.
pub fn percent_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

/// Decode `%XX` escapes. A `%` not followed by two hex digits (`%2`, `%+F`, `%G1`) and a
/// result that is not UTF-8 are errors.
pub fn percent_decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        let ok = b.len() >= i + 3 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
        if !ok {
            let escape: String = s[i..].chars().take(3).collect();
            return Err(BatchError::PercentEscape {
                input: truncate_for_message(s),
                offset: i,
                escape,
            });
        }
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| BatchError::NotUtf8 {
            input: truncate_for_message(s),
        })
}

/// The identifiers a Digital Link carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitalLink {
    /// GTIN-14.
    pub gtin: String,
    pub lot: String,
    pub expiry: Option<Date>,
}

impl DigitalLink {
    pub fn new(gtin: &str, lot: &str, expiry: Option<Date>) -> Result<DigitalLink> {
        validate_lot(lot)?;
        Ok(DigitalLink {
            gtin: normalize_gtin(gtin)?,
            lot: lot.to_string(),
            expiry,
        })
    }

    /// The path part: `/01/<gtin>/10/<lot>`.
    pub fn path(&self) -> String {
        format!("/01/{}/10/{}", self.gtin, percent_encode(&self.lot))
    }

    /// The full URI on `resolver`: a host (`id.example.com`, https is implied) or a base URL
    /// (`http://127.0.0.1:8080`).
    pub fn uri(&self, resolver: &str) -> String {
        let base = resolver_base(resolver);
        let mut u = format!("{base}{}", self.path());
        if let Some(d) = self.expiry {
            u.push_str("?17=");
            u.push_str(&crate::date::yymmdd(d));
        }
        u
    }

    /// Parse a Digital Link URI or path (`https://host/01/.../10/...?17=...` or `/01/...`).
    pub fn parse(uri: &str) -> Result<DigitalLink> {
        let rest = match uri.find("://") {
            Some(i) => {
                let after = &uri[i + 3..];
                &after[after.find('/').unwrap_or(after.len())..]
            }
            None => uri,
        };
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (gtin, lot) = parse_path(path)?.ok_or_else(|| {
            BatchError::invalid("not a GS1 Digital Link path /01/<GTIN>/10/<lot>")
        })?;
        let mut expiry = None;
        for kv in query.split('&').filter(|s| !s.is_empty()) {
            if let Some(v) = kv.strip_prefix("17=") {
                expiry = Some(parse_yymmdd(v)?);
            }
        }
        Ok(DigitalLink { gtin, lot, expiry })
    }
}

/// `/01/<gtin>/10/<lot>` → (GTIN-14, decoded lot); `Ok(None)` when the path has another shape.
pub fn parse_path(path: &str) -> Result<Option<(String, String)>> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if segs.len() != 4 || segs[0] != "01" || segs[2] != "10" {
        return Ok(None);
    }
    let gtin = normalize_gtin(&percent_decode(segs[1])?)?;
    let lot = percent_decode(segs[3])?;
    validate_lot(&lot)?;
    Ok(Some((gtin, lot)))
}

/// The key qualifiers GS1 Digital Link allows after AI (01), in the order they must appear:
/// AI (22) consumer product variant, AI (10) batch/lot, AI (21) serial number (GS1 Digital
/// Link URI Syntax 1.4, section 4.1, the `gtin-path` rule: `/01/{gtin}[/22/{cpv}][/10/{lot}][/21/{ser}]`).
const GTIN_QUALIFIERS: [&str; 3] = ["22", "10", "21"];

/// Maximum length of AI (21) serial number and AI (22) consumer product variant (GS1
/// General Specifications 24.0, 2024, section 3.2: both X..20).
pub const SERIAL_MAX_LEN: usize = 20;

/// A GS1 Digital Link path whose primary key is a GTIN, with its key qualifiers decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPath {
    /// GTIN-14 (a GTIN-8, -12 or -13 in the path is left-padded with zeros).
    pub gtin: String,
    /// AI (22), consumer product variant.
    pub variant: Option<String>,
    /// AI (10), batch/lot.
    pub lot: Option<String>,
    /// AI (21), serial number.
    pub serial: Option<String>,
}

impl KeyPath {
    /// The canonical path of this key: GTIN-14 and every qualifier percent-encoded.
    pub fn path(&self) -> String {
        let mut p = format!("/01/{}", self.gtin);
        for (ai, v) in [
            ("22", &self.variant),
            ("10", &self.lot),
            ("21", &self.serial),
        ] {
            if let Some(v) = v {
                p.push_str(&format!("/{ai}/{}", percent_encode(v)));
            }
        }
        p
    }

    /// The path down to the lot (no serial, no variant): where the lot's certificate lives.
    pub fn lot_path(&self) -> Option<String> {
        self.lot
            .as_ref()
            .map(|l| format!("/01/{}/10/{}", self.gtin, percent_encode(l)))
    }
}

/// Validate an AI (21) serial or AI (22) variant value: 1 to 20 characters of GS1 character
/// set 82.
fn validate_qualifier(path: &str, ai: &str, v: &str) -> Result<()> {
    let name = if ai == "21" {
        "serial (AI 21)"
    } else {
        "variant (AI 22)"
    };
    let n = v.chars().count();
    let bad = |reason: String| BatchError::DigitalLinkPath {
        path: truncate_for_message(path),
        reason: format!("{name} `{}` {reason}", truncate_for_message(v)),
    };
    if n == 0 || n > SERIAL_MAX_LEN {
        return Err(bad(format!(
            "must be 1 to {SERIAL_MAX_LEN} characters long (it has {n})"
        )));
    }
    if let Some(c) = v.chars().find(|&c| !is_cset82(c)) {
        return Err(bad(format!(
            "contains {c:?}, which GS1 does not allow (allowed: A-Z a-z 0-9 and !\"%&'()*+,-./:;<=>?_)"
        )));
    }
    Ok(())
}

/// Parse a GS1 Digital Link path with a GTIN as its primary key: `/01/<GTIN>`, optionally
/// followed by `/22/<variant>`, `/10/<lot>` and `/21/<serial>` in that order (values
/// percent-encoded). `Ok(None)` when the path does not start with `/01/` (another resolver
/// path); an error, naming the segment, for a bad GTIN (length, digits, check digit), a bad
/// escape, an unknown, repeated or misplaced AI, a missing value or trailing segments.
pub fn parse_key_path(path: &str) -> Result<Option<KeyPath>> {
    let Some(rest) = path.strip_prefix("/01/") else {
        return Ok(None);
    };
    let shown = || truncate_for_message(path);
    let segs: Vec<&str> = rest.split('/').collect();
    let gtin = normalize_gtin(&percent_decode(segs[0])?)?;
    let mut out = KeyPath {
        gtin,
        variant: None,
        lot: None,
        serial: None,
    };
    // Position in GTIN_QUALIFIERS of the next AI allowed.
    let mut next = 0;
    let mut i = 1;
    while i < segs.len() {
        let ai = segs[i];
        if ai.is_empty() {
            return Err(BatchError::DigitalLinkPath {
                path: shown(),
                reason: "an empty segment (a doubled or trailing `/`)".into(),
            });
        }
        let Some(pos) = GTIN_QUALIFIERS.iter().position(|q| *q == ai) else {
            let ai = truncate_for_message(ai);
            return Err(BatchError::DigitalLinkPath {
                path: shown(),
                reason: format!(
                    "`{ai}` is not a key qualifier of a GTIN (allowed after /01/: 22, 10, 21, in that order; other data go in the query, ?17=YYMMDD)"
                ),
            });
        };
        if pos < next {
            return Err(BatchError::DigitalLinkPath {
                path: shown(),
                reason: format!(
                    "AI ({ai}) is repeated or out of order: the qualifiers go 22, then 10, then 21"
                ),
            });
        }
        let Some(raw) = segs.get(i + 1).filter(|v| !v.is_empty()) else {
            return Err(BatchError::DigitalLinkPath {
                path: shown(),
                reason: format!("AI ({ai}) has no value"),
            });
        };
        let v = percent_decode(raw)?;
        match ai {
            "10" => {
                validate_lot(&v)?;
                out.lot = Some(v);
            }
            "21" => {
                validate_qualifier(path, ai, &v)?;
                out.serial = Some(v);
            }
            _ => {
                validate_qualifier(path, ai, &v)?;
                out.variant = Some(v);
            }
        }
        next = pos + 1;
        i += 2;
    }
    Ok(Some(out))
}

fn resolver_base(resolver: &str) -> String {
    let r = resolver.trim().trim_end_matches('/');
    if r.starts_with("http://") || r.starts_with("https://") {
        r.to_string()
    } else {
        format!("https://{r}")
    }
}

/// Validate a resolver given on the command line: a host[:port] or an http(s) base URL
/// without path, query or spaces.
pub fn validate_resolver(resolver: &str) -> Result<()> {
    let r = resolver.trim().trim_end_matches('/');
    let host = r
        .strip_prefix("https://")
        .or_else(|| r.strip_prefix("http://"))
        .unwrap_or(r);
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
    {
        return Err(BatchError::invalid(format!(
            "resolver `{resolver}` must be a host name (id.example.com, host:port) or an http(s) URL with no path"
        )));
    }
    Ok(())
}

/// GS1 `YYMMDD` (AI 17). Years 00-99 map into the 50-year window centred on 2026 is not
/// needed here: certificates are for current products, so YY means 20YY.
pub fn parse_yymmdd(s: &str) -> Result<Date> {
    if s.len() != 6 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(BatchError::invalid(format!("`{s}` is not a YYMMDD date")));
    }
    let y: i32 = s[0..2].parse().unwrap_or(0);
    let m: u32 = s[2..4].parse().unwrap_or(0);
    let d: u32 = s[4..6].parse().unwrap_or(0);
    crate::date::new(2000 + y, m, d)
}

// Link types of a Digital Link URI (`?linkType=`): GS1 Web Vocabulary terms (GS1-Conformant
// Resolver Standard, Release 1.2.0, GS1, ratified January 2026), as the registry's resolver
// answers them.

/// The GS1 Web Vocabulary namespace link types live in (the form GS1 resolvers answer
/// with; `gs1:` CURIEs and the `http://`, `https://ref.gs1.org/voc/` forms are accepted).
pub const VOC: &str = "https://gs1.org/voc/";

/// The link types the resolver answers, by their GS1 Web Vocabulary term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    CertificationInfo,
    Pip,
    RecallStatus,
    Leaflet,
}

impl LinkType {
    pub const ALL: [LinkType; 4] = [
        LinkType::CertificationInfo,
        LinkType::Pip,
        LinkType::RecallStatus,
        LinkType::Leaflet,
    ];

    /// The term in the GS1 Web Vocabulary.
    pub fn term(self) -> &'static str {
        match self {
            LinkType::CertificationInfo => "certificationInfo",
            LinkType::Pip => "pip",
            LinkType::RecallStatus => "recallStatus",
            LinkType::Leaflet => "leaflet",
        }
    }

    /// `https://gs1.org/voc/<term>`, the linkset's relation type.
    pub fn uri(self) -> String {
        format!("{VOC}{}", self.term())
    }

    /// `gs1:<term>`.
    pub fn curie(self) -> String {
        format!("gs1:{}", self.term())
    }

    fn from_term(t: &str) -> Option<LinkType> {
        LinkType::ALL.into_iter().find(|l| l.term() == t)
    }
}

/// What `?linkType=` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// No link type: the default link.
    Default,
    /// `all` or `linkset`: the linkset.
    Linkset,
    Named(LinkType),
    /// Something the resolver does not know (the value as given).
    Unknown(String),
}

/// Read a `linkType` value: `gs1:pip`, `https://gs1.org/voc/pip` (also `http://`, `www.`
/// and `ref.gs1.org`), `all` or `linkset`.
pub fn parse_link_type(v: &str) -> Wanted {
    if v == "all" || v == "linkset" {
        return Wanted::Linkset;
    }
    let term = v.strip_prefix("gs1:").or_else(|| {
        [
            "https://gs1.org/voc/",
            "http://gs1.org/voc/",
            "https://www.gs1.org/voc/",
            "http://www.gs1.org/voc/",
            "https://ref.gs1.org/voc/",
        ]
        .iter()
        .find_map(|p| v.strip_prefix(p))
    });
    match term.and_then(LinkType::from_term) {
        Some(l) => Wanted::Named(l),
        None => Wanted::Unknown(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_gtins() {
        // GS1's own example GTIN, a retail EAN-13, a UPC-A and an EAN-8.
        assert_eq!(normalize_gtin("09506000134352").unwrap(), "09506000134352");
        assert_eq!(normalize_gtin("4006381333931").unwrap(), "04006381333931");
        assert_eq!(normalize_gtin("036000291452").unwrap(), "00036000291452");
        assert_eq!(normalize_gtin("96385074").unwrap(), "00000096385074");
        assert!(normalize_gtin("4006381333932").is_err());
        assert!(normalize_gtin("40063813339a1").is_err());
        assert_eq!(check_digit(b"950600013435"), 2);
    }

    #[test]
    fn uri_and_parse_round_trip() {
        let dl = DigitalLink::new(
            "9506000134352",
            "AB/12",
            Some(crate::date::parse("2028-04-30").unwrap()),
        )
        .unwrap();
        let u = dl.uri("id.example.com");
        assert_eq!(
            u,
            "https://id.example.com/01/09506000134352/10/AB%2F12?17=280430"
        );
        assert_eq!(DigitalLink::parse(&u).unwrap(), dl);
    }

    #[test]
    fn percent_escapes() {
        for lot in ["AB/12", "a b", "%", "x?y#z", "'OR'1'='1", "é~._-"] {
            assert_eq!(percent_decode(&percent_encode(lot)).unwrap(), lot);
        }
        assert_eq!(percent_encode("AB/12 é"), "AB%2F12%20%C3%A9");
        assert_eq!(percent_decode("AB%2f12").unwrap(), "AB/12");
        for bad in ["%+F", "A%2", "%", "%G1", "AB%-1", "%%41"] {
            let e = percent_decode(bad).unwrap_err();
            assert!(matches!(e, BatchError::PercentEscape { .. }), "{bad}: {e}");
            assert!(e.to_string().contains("two hex digits"), "{e}");
        }
        assert!(matches!(
            percent_decode("%C3%28").unwrap_err(),
            BatchError::NotUtf8 { .. }
        ));
        let e =
            DigitalLink::parse("https://id.example.com/01/09506000134352/10/AB%+F").unwrap_err();
        assert!(e.to_string().contains("`%+F` at byte 2"), "{e}");
    }

    #[test]
    fn key_paths() {
        let p = parse_key_path("/01/9506000134352").unwrap().unwrap();
        assert_eq!(p.gtin, "09506000134352");
        assert_eq!((p.lot, p.serial), (None, None));
        let p = parse_key_path("/01/96385074/10/AB%2F12/21/S%2541")
            .unwrap()
            .unwrap();
        assert_eq!(p.gtin, "00000096385074");
        assert_eq!(p.lot.as_deref(), Some("AB/12"));
        assert_eq!(p.serial.as_deref(), Some("S%41"));
        assert_eq!(p.path(), "/01/00000096385074/10/AB%2F12/21/S%2541");
        assert_eq!(p.lot_path().unwrap(), "/01/00000096385074/10/AB%2F12");
        let p = parse_key_path("/01/09506000134352/22/V1/21/X")
            .unwrap()
            .unwrap();
        assert_eq!(
            (p.variant.as_deref(), p.lot, p.serial.as_deref()),
            (Some("V1"), None, Some("X"))
        );
        assert_eq!(parse_key_path("/api/v1/audit").unwrap(), None);
        for (bad, says) in [
            ("/01/09506000134353", "check digit"),
            ("/01/09506000134", "8, 12, 13 or 14 digits"),
            ("/01/09506000134352/21/S/10/L", "out of order"),
            ("/01/09506000134352/10/A/10/B", "out of order"),
            ("/01/09506000134352/99/X", "`99` is not a key qualifier"),
            (
                "/01/09506000134352/10/L/junk",
                "`junk` is not a key qualifier",
            ),
            ("/01/09506000134352/10", "has no value"),
            ("/01/09506000134352/10/", "has no value"),
            ("/01/09506000134352/", "empty segment"),
            (
                "/01/09506000134352/21/A%20B",
                "serial (AI 21) `A B` contains ' '",
            ),
            ("/01/09506000134352/21/ABCDEFGHIJKLMNOPQRSTU", "1 to 20"),
            ("/01/09506000134352/10/A~B", "contains '~'"),
            ("/01/09506000134352/10/A%G1", "two hex digits"),
        ] {
            let e = parse_key_path(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn lots() {
        assert!(validate_lot("'; DROP TABLE x;--").is_err()); // spaces are not CSET 82
        assert!(validate_lot("'OR'1'='1").is_ok());
        assert!(validate_lot("<script>").is_ok());
        assert!(validate_lot("").is_err());
        assert!(validate_lot("ABCDEFGHIJKLMNOPQRSTU").is_err());
        assert!(validate_lot("LOT\u{e9}").is_err());
    }

    #[test]
    fn link_types_are_read_in_every_form_the_resolver_accepts() {
        for v in [
            "gs1:pip",
            "https://gs1.org/voc/pip",
            "http://gs1.org/voc/pip",
            "https://www.gs1.org/voc/pip",
            "https://ref.gs1.org/voc/pip",
        ] {
            assert_eq!(parse_link_type(v), Wanted::Named(LinkType::Pip), "{v}");
        }
        assert_eq!(parse_link_type("all"), Wanted::Linkset);
        assert_eq!(parse_link_type("linkset"), Wanted::Linkset);
        for bad in ["gs1:PIP", "pip", "gs1:", "https://example.com/voc/pip"] {
            assert_eq!(parse_link_type(bad), Wanted::Unknown(bad.into()), "{bad}");
        }
        for l in LinkType::ALL {
            assert_eq!(parse_link_type(&l.curie()), Wanted::Named(l));
            assert_eq!(parse_link_type(&l.uri()), Wanted::Named(l));
        }
        assert_eq!(
            LinkType::RecallStatus.uri(),
            "https://gs1.org/voc/recallStatus"
        );
    }
}
