//! HTML escaping and the resolver's phone-friendly certificate page.
use exoskin_batch::cert::Verified;
use serde_json::Value;
use std::fmt::Write;

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
    exoskin_batch::qr::escape(&clean_text(s))
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,sans-serif;margin:0;padding:1rem;max-width:40rem;margin:auto;line-height:1.4;color:#222}\
.status{padding:1rem;border-radius:.5rem;font-size:1.3rem;font-weight:700;margin-bottom:1rem}\
.valid{background:#dcfce7;color:#14532d}.bad{background:#fee2e2;color:#7f1d1d}.warn{background:#fef3c7;color:#78350f}\
table{border-collapse:collapse;width:100%;margin-bottom:1rem}td,th{padding:.35rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}\
th{width:40%;font-weight:600}.pass{color:#166534}.fail{color:#991b1b;font-weight:700}small{color:#555;word-break:break-all}h2{font-size:1.1rem;margin:1.2rem 0 .4rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        escape(title)
    )
}

/// A page with one message (not found, bad request).
pub fn message_page(title: &str, message: &str) -> String {
    page(
        title,
        &format!("<h1>{}</h1><p>{}</p>", escape(title), escape(message)),
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
    let mut b = String::new();
    let (class, text) = match status {
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
    };
    let _ = write!(b, "<div class=\"status {class}\">{}</div>", escape(&text));
    let _ = write!(
        b,
        "<h1>{}</h1><p>{}</p>",
        escape(s(rec, &["product", "name"])),
        escape(s(rec, &["product", "brand"]))
    );
    let checks: Vec<(&str, bool)> = a["checks"]
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
        .unwrap_or_default();
    // A row; red with a cross when one of the named checks (`a|b`) failed.
    let row = |b: &mut String, k: &str, v: &str, check: &str| {
        let failed = checks
            .iter()
            .any(|(id, pass)| !pass && check.split('|').any(|c| c == *id));
        let _ = write!(
            b,
            "<tr><th>{}</th><td{}>{}{}</td></tr>",
            escape(k),
            if failed { " class=\"fail\"" } else { "" },
            if failed { "✖ " } else { "" },
            escape(v)
        );
    };
    let c = &rec["characterization"];
    let sf = &rec["safety"];
    let st = &rec["storage"];
    let screening: Vec<&str> = rec["source"]["donor_screening"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // (heading, rows of (label, value, check ids))
    type Section<'a> = (&'a str, Vec<(&'a str, String, &'a str)>);
    let sections: [Section; 4] = [
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
        ),
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
        ),
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
        ),
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
        ),
    ];
    for (title, rows) in &sections {
        if !title.is_empty() {
            let _ = write!(b, "<h2>{}</h2>", escape(title));
        }
        b.push_str("<table>");
        for (k, val, check) in rows {
            row(&mut b, k, val, check);
        }
        b.push_str("</table>");
    }
    let _ = write!(
        b,
        "<h2>All checks ({}, {})</h2><table><tr><th>Check</th><td><b>Result / limit</b></td></tr>",
        escape(s(a, &["profile"])),
        escape(s(a, &["profileVersion"]))
    );
    for ch in a["checks"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let pass = ch["pass"].as_bool().unwrap_or(false);
        let _ = write!(
            b,
            "<tr><th>{}</th><td class=\"{}\">{} {}<br><small>limit {} · {}</small></td></tr>",
            escape(s(ch, &["description"])),
            if pass { "pass" } else { "fail" },
            if pass { "✔" } else { "✖" },
            escape(s(ch, &["value"])),
            escape(s(ch, &["limit"])),
            escape(s(ch, &["source"]))
        );
    }
    let _ = write!(
        b,
        "</table><p><small>Certificate {} · issuer {} · signed {} · valid until {}</small></p>",
        escape(&v.id),
        escape(&v.issuer_did),
        escape(s(cert, &["proof", "created"])),
        escape(&v.valid_until.to_string())
    );
    page(
        &format!("{} lot {}", s(rec, &["product", "name"]), v.lot),
        &b,
    )
}
