//! The resolver's pages (the phone-friendly certificate page, message pages), as `maud`
//! templates checked at compile time. Text from certificates and requests is escaped, with
//! bidirectional and other control characters removed, when a template renders it.
use exoskin_batch::cert::Verified;
use maud::{html, Markup, PreEscaped, Render, DOCTYPE};
use serde_json::Value;

/// Unicode bidirectional controls (embeddings, overrides, isolates, marks): they can make
/// text read in another order than it is stored ("Trojan Source"), so pages drop them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// Text without bidirectional controls and other control characters (tab, newline kept).
pub fn clean_text(s: &str) -> String {
    s.chars()
        .filter(|&c| !is_bidi_control(c) && (!c.is_control() || c == '\t' || c == '\n'))
        .collect()
}

/// Escape text for HTML element content and quoted attribute values, after dropping
/// bidirectional and other control characters.
pub fn escape(s: &str) -> String {
    exoskin_io::escape::xml(&clean_text(s))
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,sans-serif;margin:0;padding:1rem;max-width:40rem;margin:auto;line-height:1.4;color:#222}\
.status{padding:1rem;border-radius:.5rem;font-size:1.3rem;font-weight:700;margin-bottom:1rem}\
.valid{background:#dcfce7;color:#14532d}.bad{background:#fee2e2;color:#7f1d1d}.warn{background:#fef3c7;color:#78350f}\
table{border-collapse:collapse;width:100%;margin-bottom:1rem}td,th{padding:.35rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}\
th{width:40%;font-weight:600}.pass{color:#166534}.fail{color:#991b1b;font-weight:700}small{color:#555;word-break:break-all}h2{font-size:1.1rem;margin:1.2rem 0 .4rem}";

/// Page text: `escape`d when rendered. Every value from a certificate or a request enters a
/// template through this, so none reaches the page with a control character or unescaped.
struct T<'a>(&'a str);

impl Render for T<'_> {
    fn render_to(&self, buffer: &mut String) {
        buffer.push_str(&escape(self.0));
    }
}

/// A whole page: the shared head (charset, viewport, style) and `body`.
pub(crate) fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (T(title)) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
    .into_string()
}

/// A page with one message (not found, bad request).
pub fn message_page(title: &str, message: &str) -> String {
    page(
        title,
        html! {
            h1 { (T(title)) }
            p { (T(message)) }
        },
    )
}

fn list(v: &Value) -> String {
    let items: Vec<&str> = v
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// `2.4e10` as `2.4 × 10¹⁰`: what a phone screen reads well.
fn sci(x: f64) -> String {
    const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let e = format!("{x:.2e}");
    let (m, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let m = m.trim_end_matches('0').trim_end_matches('.');
    let sup: String = exp
        .chars()
        .map(|c| {
            if c == '-' {
                '⁻'
            } else {
                SUP[c.to_digit(10).unwrap_or(0) as usize]
            }
        })
        .collect();
    format!("{m} × 10{sup}")
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or("")
}

fn n(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    match cur.as_f64() {
        Some(x) if x != 0.0 && (x.abs() >= 1e5 || x.abs() < 1e-3) => sci(x),
        Some(x) => format!("{x}"),
        None => String::new(),
    }
}

/// Status of a resolved certificate, as the page and the JSON show it.
pub enum Status<'a> {
    Valid,
    Revoked {
        reason: &'a str,
        at: &'a str,
    },
    Expired,
    NotYetValid,
    Invalid(String),
    /// The certificate is valid, but the link's expiry (AI 17) is not the certificate's:
    /// the label and the certificate disagree.
    ExpiryMismatch {
        link: String,
        certificate: String,
    },
}

impl Status<'_> {
    pub fn code(&self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Revoked { .. } => "revoked",
            Status::Expired => "expired",
            Status::NotYetValid => "not_yet_valid",
            Status::Invalid(_) => "invalid",
            Status::ExpiryMismatch { .. } => "expiry_mismatch",
        }
    }
}

/// The certificate page a shopper sees after scanning the QR code.
/// "Certified by" shows `issuer_name`, the registry's own name for the issuer.
pub fn certificate_page(cert: &Value, v: &Verified, status: &Status, issuer_name: &str) -> String {
    let subj = &cert["credentialSubject"];
    let rec = &subj["qcRecord"];
    let a = &subj["assessment"];
    let (class, text) = status_banner(status, v, subj);
    let checks = check_results(a);
    let sections: [Section; 4] = [
        batch_rows(subj, v, issuer_name),
        source_rows(rec),
        purity_rows(&rec["characterization"]),
        safety_rows(&rec["safety"], &rec["storage"]),
    ];
    let body = html! {
        div class={ "status " (class) } { (T(&text)) }
        h1 { (T(s(rec, &["product", "name"]))) }
        p { (T(s(rec, &["product", "brand"]))) }
        @if matches!(status, Status::Valid) {
            (simulate_link(v))
        }
        (section_tables(&sections, &checks))
        (all_checks_table(a))
        (certificate_footer(cert, v))
    };
    page(
        &format!("{} lot {}", s(rec, &["product", "name"]), v.lot),
        body,
    )
}

/// A section of the certificate page: its heading (none for the first) and its rows of
/// (label, value, the ids of the checks that turn the row red, `a|b`).
type Section<'a> = (&'a str, Vec<(&'a str, String, &'a str)>);

/// The status banner: its CSS class and its text.
fn status_banner(status: &Status, v: &Verified, subj: &Value) -> (&'static str, String) {
    match status {
        Status::Valid if v.assessment_pass => (
            "valid",
            "✔ Valid certificate: batch passed its quality checks".to_string(),
        ),
        Status::Valid => (
            "warn",
            "⚠ Valid certificate, but the batch FAILED its acceptance profile".to_string(),
        ),
        Status::Revoked { reason, at } => ("bad", format!("✖ REVOKED on {at}: {reason}")),
        Status::Expired => ("bad", format!("✖ EXPIRED on {}", s(subj, &["expiry"]))),
        Status::NotYetValid => ("warn", "⚠ Certificate not yet valid".to_string()),
        Status::Invalid(why) => ("bad", format!("✖ INVALID: {why}")),
        Status::ExpiryMismatch { link, certificate } => (
            "bad",
            format!("✖ The label's expiry ({link}) does not match the certificate's ({certificate}): this link does not belong to this certificate"),
        ),
    }
}

/// Each check of the assessment: its id and whether it passed.
fn check_results(a: &Value) -> Vec<(&str, bool)> {
    a["checks"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["id"].as_str().unwrap_or(""),
                        c["pass"].as_bool().unwrap_or(false),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether one of the named checks (`a|b`) failed: its row is red with a cross.
fn failed(checks: &[(&str, bool)], check: &str) -> bool {
    checks
        .iter()
        .any(|(id, pass)| !pass && check.split('|').any(|c| c == *id))
}

/// The batch: lot, GTIN, dates, maker, GMP certificate and certifier (no heading).
fn batch_rows(subj: &Value, v: &Verified, issuer_name: &str) -> Section<'static> {
    let rec = &subj["qcRecord"];
    (
        "",
        vec![
            ("Lot", v.lot.clone(), ""),
            ("GTIN", v.gtin.clone(), ""),
            (
                "Manufactured",
                s(rec, &["batch", "manufactured"]).into(),
                "",
            ),
            (
                "Expires",
                s(subj, &["expiry"]).into(),
                "stability.shelf_life",
            ),
            (
                "Made by",
                format!(
                    "{}, {}",
                    s(rec, &["manufacturing", "manufacturer"]),
                    s(rec, &["manufacturing", "site"])
                ),
                "",
            ),
            (
                "GMP certificate",
                s(rec, &["manufacturing", "gmp_certificate"]).into(),
                "manufacturing.gmp",
            ),
            ("Certified by", issuer_name.to_string(), ""),
        ],
    )
}

/// Where the vesicles came from: source cells, donor screening, isolation.
fn source_rows(rec: &Value) -> Section<'static> {
    let screening: Vec<&str> = rec["source"]["donor_screening"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    (
        "Where the vesicles came from",
        vec![
            (
                "Source",
                format!(
                    "{} ({})",
                    s(rec, &["source", "cell_type"]),
                    s(rec, &["source", "kind"])
                ),
                "",
            ),
            (
                "Donor screening",
                if screening.is_empty() {
                    "not applicable".into()
                } else {
                    screening.join(", ")
                },
                "source.donor_screening",
            ),
            (
                "Isolation",
                s(rec, &["manufacturing", "isolation_method"]).into(),
                "",
            ),
        ],
    )
}

/// Purity and identity, from the record's characterization `c`: particles, sizes, markers.
fn purity_rows(c: &Value) -> Section<'static> {
    (
        "Purity and identity",
        vec![
            (
                "Particles",
                format!(
                    "{} per mL ({})",
                    n(c, &["particle_concentration_per_ml"]),
                    s(c, &["concentration_method"])
                ),
                "concentration",
            ),
            (
                "Size (mode; D10/D50/D90)",
                format!(
                    "{} nm; {}/{}/{} nm",
                    n(c, &["size_mode_nm"]),
                    n(c, &["size_d10_nm"]),
                    n(c, &["size_d50_nm"]),
                    n(c, &["size_d90_nm"])
                ),
                "size.mode",
            ),
            (
                "Within 30-150 nm",
                format!(
                    "{:.0}%",
                    c["fraction_30_150_nm"].as_f64().unwrap_or(0.0) * 100.0
                ),
                "size.fraction_30_150_nm",
            ),
            (
                "Particles per µg protein",
                n(c, &["particles_per_ug_protein"]),
                "purity.particles_per_ug_protein",
            ),
            (
                "EV markers found",
                list(&c["markers_present"]),
                "markers.negative",
            ),
            (
                "Tested absent",
                list(&c["markers_absent"]),
                "markers.negative",
            ),
        ],
    )
}

/// Safety, from the record's safety `sf` and storage `st` tables.
fn safety_rows(sf: &Value, st: &Value) -> Section<'static> {
    (
        "Safety",
        vec![
            (
                "Viable cells",
                format!("{} per mL", n(sf, &["viable_cells_per_ml"])),
                "safety.viable_cells",
            ),
            (
                "Residual DNA",
                format!("{} ng/mL", n(sf, &["residual_dna_ng_per_ml"])),
                "safety.residual_dna",
            ),
            (
                "Endotoxin",
                format!("{} EU/mL", n(sf, &["endotoxin_eu_per_ml"])),
                "safety.endotoxin",
            ),
            (
                "Sterility",
                s(sf, &["sterility"]).into(),
                "safety.sterility",
            ),
            (
                "Mycoplasma",
                s(sf, &["mycoplasma"]).replace('_', " "),
                "safety.mycoplasma",
            ),
            (
                "Storage",
                format!(
                    "{} to {} °C, {}",
                    n(st, &["temperature_min_c"]),
                    n(st, &["temperature_max_c"]),
                    s(st, &["form"])
                ),
                "",
            ),
        ],
    )
}

/// The link to the registry's simulation of this batch (`/01/<gtin>/10/<lot>/simulate`,
/// JSON).
fn simulate_link(v: &Verified) -> Markup {
    html! {
        p.simulate {
            a href=(format!("/01/{}/10/{}/simulate", v.gtin, exoskin_batch::gs1::percent_encode(&v.lot))) {
                "Simulate this batch"
            }
            " (what it does on skin after microneedling, from the measured values in this certificate)"
        }
    }
}

/// The sections as tables, a row red with a cross where one of its checks failed.
fn section_tables(sections: &[Section], checks: &[(&str, bool)]) -> Markup {
    html! {
        @for (title, rows) in sections {
            @if !title.is_empty() {
                h2 { (T(title)) }
            }
            table {
                @for (k, val, check) in rows {
                    tr {
                        th { (T(k)) }
                        @if failed(checks, check) {
                            td.fail { "✖ " (T(val)) }
                        } @else {
                            td { (T(val)) }
                        }
                    }
                }
            }
        }
    }
}

/// Every check of the assessment `a` with its result, limit and source.
fn all_checks_table(a: &Value) -> Markup {
    html! {
        h2 { "All checks (" (T(s(a, &["profile"]))) ", " (T(s(a, &["profileVersion"]))) ")" }
        table {
            tr { th { "Check" } td { b { "Result / limit" } } }
            @for ch in a["checks"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                @let pass = ch["pass"].as_bool().unwrap_or(false);
                tr {
                    th { (T(s(ch, &["description"]))) }
                    td class=(if pass { "pass" } else { "fail" }) {
                        (if pass { "✔" } else { "✖" }) " " (T(s(ch, &["value"])))
                        br;
                        small { "limit " (T(s(ch, &["limit"]))) " · " (T(s(ch, &["source"]))) }
                    }
                }
            }
        }
    }
}

/// The certificate's id, issuer, signing time and end of validity.
fn certificate_footer(cert: &Value, v: &Verified) -> Markup {
    html! {
        p {
            small {
                "Certificate " (T(&v.id)) " · issuer " (T(&v.issuer_did))
                " · signed " (T(s(cert, &["proof", "created"])))
                " · valid until " (T(&v.valid_until.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_escape_text_and_drop_controls() {
        let p = message_page("<b>Not found</b>", "lot A\u{202E}B'\"&\u{0}");
        assert!(p.starts_with("<!DOCTYPE html><html lang=\"en\">"), "{p}");
        assert!(
            p.contains("<title>&lt;b&gt;Not found&lt;/b&gt;</title>"),
            "{p}"
        );
        assert!(p.contains("<p>lot AB&#39;&quot;&amp;</p>"), "{p}");
        assert!(!p.contains('\u{202E}') && !p.contains('\u{0}'));
        assert!(p.contains("name=\"viewport\" content=\"width=device-width,initial-scale=1\""));
    }
}
