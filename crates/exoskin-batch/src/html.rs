//! HTML escaping and the resolver's phone-friendly certificate page.
use crate::cert::Verified;
use serde_json::Value;
use std::fmt::Write;

/// Escape text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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

fn row(out: &mut String, k: &str, v: &str) {
    let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v));
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
        Some(x) if x != 0.0 && (x.abs() >= 1e5 || x.abs() < 1e-3) => format!("{x:.2e}"),
        Some(x) => format!("{x}"),
        None => String::new(),
    }
}

/// Status of a resolved certificate, as the page and the JSON show it.
pub enum Status<'a> {
    Valid,
    Revoked { reason: &'a str, at: &'a str },
    Expired,
    NotYetValid,
    Invalid(String),
}

impl Status<'_> {
    pub fn code(&self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Revoked { .. } => "revoked",
            Status::Expired => "expired",
            Status::NotYetValid => "not_yet_valid",
            Status::Invalid(_) => "invalid",
        }
    }
}

/// The certificate page a shopper sees after scanning the QR code.
pub fn certificate_page(cert: &Value, v: &Verified, status: &Status) -> String {
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
    };
    let _ = write!(b, "<div class=\"status {class}\">{}</div>", escape(&text));
    let _ = write!(
        b,
        "<h1>{}</h1><p>{}</p>",
        escape(s(rec, &["product", "name"])),
        escape(s(rec, &["product", "brand"]))
    );
    b.push_str("<table>");
    row(&mut b, "Lot", &v.lot);
    row(&mut b, "GTIN", &v.gtin);
    row(&mut b, "Manufactured", s(rec, &["batch", "manufactured"]));
    row(&mut b, "Expires", s(subj, &["expiry"]));
    row(
        &mut b,
        "Made by",
        &format!(
            "{}, {}",
            s(rec, &["manufacturing", "manufacturer"]),
            s(rec, &["manufacturing", "site"])
        ),
    );
    row(
        &mut b,
        "GMP certificate",
        s(rec, &["manufacturing", "gmp_certificate"]),
    );
    row(&mut b, "Certified by", &v.issuer_name);
    b.push_str("</table><h2>Where the vesicles came from</h2><table>");
    row(
        &mut b,
        "Source",
        &format!(
            "{} ({})",
            s(rec, &["source", "cell_type"]),
            s(rec, &["source", "kind"])
        ),
    );
    let screening: Vec<&str> = rec["source"]["donor_screening"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    row(
        &mut b,
        "Donor screening",
        &if screening.is_empty() {
            "not applicable".to_string()
        } else {
            screening.join(", ")
        },
    );
    row(
        &mut b,
        "Isolation",
        s(rec, &["manufacturing", "isolation_method"]),
    );
    b.push_str("</table><h2>Purity and identity</h2><table>");
    let c = &rec["characterization"];
    row(
        &mut b,
        "Particles",
        &format!(
            "{} /mL ({})",
            n(c, &["particle_concentration_per_ml"]),
            s(c, &["concentration_method"])
        ),
    );
    row(
        &mut b,
        "Size (mode; D10/D50/D90)",
        &format!(
            "{} nm; {}/{}/{} nm",
            n(c, &["size_mode_nm"]),
            n(c, &["size_d10_nm"]),
            n(c, &["size_d50_nm"]),
            n(c, &["size_d90_nm"])
        ),
    );
    row(
        &mut b,
        "Particles per µg protein",
        &n(c, &["particles_per_ug_protein"]),
    );
    b.push_str("</table><h2>Safety</h2><table>");
    let sf = &rec["safety"];
    row(
        &mut b,
        "Viable cells",
        &format!("{} /mL", n(sf, &["viable_cells_per_ml"])),
    );
    row(
        &mut b,
        "Residual DNA",
        &format!("{} ng/mL", n(sf, &["residual_dna_ng_per_ml"])),
    );
    row(
        &mut b,
        "Endotoxin",
        &format!("{} EU/mL", n(sf, &["endotoxin_eu_per_ml"])),
    );
    row(&mut b, "Sterility", s(sf, &["sterility"]));
    row(&mut b, "Mycoplasma", s(sf, &["mycoplasma"]));
    let st = &rec["storage"];
    row(
        &mut b,
        "Storage",
        &format!(
            "{} to {} °C, {}",
            n(st, &["temperature_min_c"]),
            n(st, &["temperature_max_c"]),
            s(st, &["form"])
        ),
    );
    let _ = write!(
        b,
        "</table><h2>All checks ({}, {})</h2><table><tr><th>Check</th><td><b>Result / limit</b></td></tr>",
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
