//! The UNTP Digital Conformity Credential export: every bundled example, issued with a
//! throwaway key and exported, has the DCC's required members with the right types, and its
//! numbers, results, dates and links are the certificate's. The JSON Schema itself is
//! checked by scripts/check_untp.py.
mod common;
use common::*;
use exoskin_batch::cert::{self, IssueOptions, Issued};
use exoskin_batch::jcs::canonicalize;
use exoskin_batch::profile::Profile;
use exoskin_batch::untp::{self, ExportOptions};
use serde_json::Value;
use sha2::{Digest, Sha256};

const EXAMPLES: [&str; 6] = [
    "pass_msc_serum.toml",
    "pass_plant_mist.json",
    "fail_viable_cells.toml",
    "fail_markers_calnexin.toml",
    "fail_purity_endotoxin.toml",
    "fail_no_gmp_screening.toml",
];

fn issue_any(name: &str) -> Issued {
    let p = Profile::default_profile();
    cert::issue(
        &example(name),
        &key(7),
        &IssueOptions {
            profile: &p,
            resolver: "id.example.com",
            issued_at: t0(),
            allow_failing: true,
        },
    )
    .expect("issue")
}

fn export_with_default(c: &Value) -> untp::Export {
    let p = Profile::default_profile();
    untp::export(c, &ExportOptions { profile: Some(&p) }).expect("export")
}

fn s<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"))
}

fn arr<'a>(v: &'a Value, what: &str) -> &'a Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what} is not an array: {v}"))
}

/// The members the schema requires of an object, present and of the right JSON type.
fn has(v: &Value, what: &str, members: &[(&str, &str)]) {
    assert!(v.is_object(), "{what} is not an object: {v}");
    for (k, ty) in members {
        let m = v
            .get(*k)
            .unwrap_or_else(|| panic!("{what} lacks `{k}`: {v}"));
        let ok = match *ty {
            "string" => m.is_string(),
            "uri" => m.as_str().is_some_and(untp::is_absolute_uri),
            "bool" => m.is_boolean(),
            "number" => m.is_number(),
            "array" => m.is_array(),
            "object" => m.is_object(),
            other => panic!("type {other}"),
        };
        assert!(ok, "{what}.{k} is not a {ty}: {m}");
    }
}

fn metric(m: &Value, what: &str) {
    has(
        m,
        what,
        &[("metricName", "string"), ("metricValue", "object")],
    );
    has(
        &m["metricValue"],
        what,
        &[("value", "number"), ("unit", "string")],
    );
    let unit = s(&m["metricValue"]["unit"], what);
    assert!(
        ["C45", "H50", "H29", "C62", "MON"].contains(&unit),
        "{what}: unit {unit} is not one of the Rec 20 codes the export uses"
    );
}

fn criterion(c: &Value, what: &str) {
    has(
        c,
        what,
        &[
            ("id", "uri"),
            ("name", "string"),
            ("description", "string"),
            ("conformityTopic", "string"),
            ("status", "string"),
        ],
    );
    assert_eq!(c["type"], serde_json::json!(["Criterion"]));
    if let Some(t) = c.get("thresholdValue") {
        metric(t, &format!("{what}.thresholdValue"));
    }
    for (i, sub) in c
        .get("subCriterion")
        .map(|v| arr(v, "subCriterion").clone())
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        criterion(sub, &format!("{what}.subCriterion[{i}]"));
    }
}

/// The number a metric named `name` has in `metrics`.
fn value_of(metrics: &Value, name_starts: &str) -> f64 {
    arr(metrics, "metrics")
        .iter()
        .find(|m| s(&m["metricName"], "metricName").starts_with(name_starts))
        .unwrap_or_else(|| panic!("no metric {name_starts} in {metrics}"))["metricValue"]["value"]
        .as_f64()
        .unwrap()
}

#[test]
fn every_example_exports_with_the_dcc_shape_and_the_certificates_numbers() {
    for name in EXAMPLES {
        let issued = issue_any(name);
        let c = &issued.certificate;
        let subj = &c["credentialSubject"];
        let rec = &subj["qcRecord"];
        let checks = arr(&subj["assessment"]["checks"], "checks");
        let e = export_with_default(c);
        assert!(
            e.thresholds,
            "{name}: the default profile reproduces the assessment"
        );
        assert!(e.notes.is_empty(), "{name}: {:?}", e.notes);
        let d = &e.document;
        assert_eq!(serde_json::from_str::<Value>(&e.text).unwrap(), *d);

        // The credential.
        has(
            d,
            name,
            &[("@context", "array"), ("id", "uri"), ("issuer", "object")],
        );
        assert_eq!(
            d["@context"],
            serde_json::json!([
                "https://www.w3.org/ns/credentials/v2",
                "https://test.uncefact.org/vocabulary/untp/dcc/working/"
            ])
        );
        let types = arr(&d["type"], "type");
        assert!(types.contains(&"DigitalConformityCredential".into()));
        assert!(types.contains(&"VerifiableCredential".into()));
        assert_ne!(d["id"], c["id"], "{name}: the export is another document");
        assert_eq!(d["validFrom"], c["validFrom"]);
        assert_eq!(d["validUntil"], c["validUntil"]);
        assert!(d.get("proof").is_none(), "{name}: the export is unsigned");

        // The issuer: the certificate's DID and name, nothing the schema does not allow.
        let issuer = &d["issuer"];
        has(issuer, "issuer", &[("id", "uri"), ("name", "string")]);
        assert_eq!(issuer["id"], c["issuer"]["id"]);
        assert_eq!(issuer["name"], c["issuer"]["name"]);
        for k in issuer.as_object().unwrap().keys() {
            assert!(
                ["type", "id", "name", "issuerAlsoKnownAs"].contains(&k.as_str()),
                "issuer.{k}"
            );
        }

        // The attestation: the certificate itself.
        let a = &d["credentialSubject"];
        has(
            a,
            "credentialSubject",
            &[
                ("id", "uri"),
                ("assessorLevel", "string"),
                ("assessmentLevel", "string"),
                ("attestationType", "string"),
                ("issuedToParty", "object"),
                ("assessment", "array"),
            ],
        );
        assert_eq!(a["id"], c["id"]);
        has(
            &a["issuedToParty"],
            "issuedToParty",
            &[("id", "uri"), ("name", "string")],
        );
        assert_eq!(
            a["issuedToParty"]["name"],
            rec["manufacturing"]["manufacturer"]
        );
        let desc = s(&a["description"], "description");
        assert!(
            desc.contains("unsigned") && desc.contains(s(&c["id"], "id")),
            "{desc}"
        );
        let link = &a["conformityCertificate"];
        assert_eq!(link["linkURL"], subj["id"]);
        assert_eq!(link["hashMethod"], "SHA-256");
        let digest: String = Sha256::digest(canonicalize(c).unwrap().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(link["hashDigest"], digest.as_str());

        // One assessment for the batch's acceptance, then one per check, in order.
        let assessments = arr(&a["assessment"], "assessment");
        assert_eq!(assessments.len(), checks.len() + 1, "{name}");
        for (i, x) in assessments.iter().enumerate() {
            let what = format!("{name}: assessment[{i}]");
            has(
                x,
                &what,
                &[
                    ("id", "uri"),
                    ("conformityTopic", "string"),
                    ("conformance", "bool"),
                    ("assessmentDate", "string"),
                    ("assessmentCriteria", "array"),
                    ("assessedProduct", "array"),
                ],
            );
            assert_eq!(
                x["type"],
                serde_json::json!(["ConformityAssessment", "Declaration"])
            );
            assert_eq!(x["assessmentDate"], "2026-11-23");
            for (j, cr) in arr(&x["assessmentCriteria"], "criteria").iter().enumerate() {
                criterion(cr, &format!("{what}.assessmentCriteria[{j}]"));
            }
            for m in x
                .get("declaredValue")
                .map(|v| arr(v, "declaredValue").clone())
                .unwrap_or_default()
            {
                metric(&m, &format!("{what}.declaredValue"));
            }
            let p = &x["assessedProduct"][0]["product"];
            has(p, &what, &[("id", "uri"), ("name", "string")]);
            assert_eq!(p["id"], subj["id"]);
            assert_eq!(p["registeredId"], subj["gtin"]);
            assert_eq!(p["batchNumber"], subj["lot"]);
        }
        assert_eq!(assessments[0]["conformance"], subj["assessment"]["pass"]);
        assert!(assessments[0]["assessedFacility"][0]["facility"]["name"]
            .as_str()
            .unwrap()
            .starts_with(s(&rec["manufacturing"]["manufacturer"], "manufacturer")));
        for (check, x) in checks.iter().zip(&assessments[1..]) {
            let id = s(&check["id"], "check id");
            assert_eq!(x["conformance"], check["pass"], "{name} {id}");
            assert_eq!(x["id"], format!("{}#{id}", s(&c["id"], "id")).as_str());
            assert_eq!(x["name"], check["description"]);
            let cr = &x["assessmentCriteria"][0];
            assert!(s(&cr["description"], "criterion").contains(s(&check["limit"], "limit")));
            let text = s(&x["description"], "assessment description");
            assert!(text.contains(s(&check["value"], "value")), "{text}");
            let topic = if id.starts_with("safety.") || id == "source.donor_screening" {
                "social.safety"
            } else {
                "governance.compliance"
            };
            assert_eq!(x["conformityTopic"], topic, "{id}");
        }

        // The numbers are the certificate's, bit for bit.
        let by_id = |id: &str| -> &Value {
            let i = checks.iter().position(|c| c["id"] == id).unwrap();
            &assessments[i + 1]
        };
        let ch = &rec["characterization"];
        let sf = &rec["safety"];
        let size = &by_id("size.mode")["declaredValue"];
        for (metric, field) in [
            ("Modal", "size_mode_nm"),
            ("Particle diameter D10", "size_d10_nm"),
            ("Particle diameter D50", "size_d50_nm"),
            ("Particle diameter D90", "size_d90_nm"),
        ] {
            assert_eq!(
                value_of(size, metric),
                ch[field].as_f64().unwrap(),
                "{name} {field}"
            );
        }
        let eq = |id: &str, metric: &str, v: &Value| {
            assert_eq!(
                value_of(&by_id(id)["declaredValue"], metric),
                v.as_f64().unwrap(),
                "{name} {id}"
            )
        };
        eq(
            "size.fraction_30_150_nm",
            "Fraction",
            &ch["fraction_30_150_nm"],
        );
        eq(
            "concentration",
            "Particle concentration",
            &ch["particle_concentration_per_ml"],
        );
        eq(
            "safety.viable_cells",
            "Viable cells",
            &sf["viable_cells_per_ml"],
        );
        eq(
            "safety.residual_dna",
            "Residual host-cell DNA",
            &sf["residual_dna_ng_per_ml"],
        );
        eq(
            "stability.particle_retention",
            "Fraction of particles retained",
            &rec["stability"]["particle_retention_fraction"],
        );
        let shelf = by_id("stability.shelf_life");
        let claimed = value_of(&shelf["declaredValue"], "Shelf life claimed");
        assert_eq!(
            s(
                &checks
                    .iter()
                    .find(|c| c["id"] == "stability.shelf_life")
                    .unwrap()["value"],
                "v"
            ),
            format!("{claimed} months claimed")
        );
        assert_eq!(
            shelf["assessmentCriteria"][0]["thresholdValue"]["metricValue"]["value"]
                .as_f64()
                .unwrap(),
            rec["stability"]["supported_months"].as_f64().unwrap()
        );
        // Units: Rec 20 codes for what each quantity is.
        assert_eq!(size[0]["metricValue"]["unit"], "C45");
        assert_eq!(
            by_id("concentration")["declaredValue"][0]["metricValue"]["unit"],
            "H50"
        );
        assert_eq!(
            by_id("safety.residual_dna")["declaredValue"][0]["metricValue"]["unit"],
            "H29"
        );
        // No Rec 20 unit for EU/mL or particles per microgram: text only, never a metric.
        assert!(by_id("safety.endotoxin").get("declaredValue").is_none());
        assert!(by_id("purity.particles_per_ug_protein")
            .get("declaredValue")
            .is_none());
    }
}

#[test]
fn thresholds_are_the_profiles_numbers() {
    let issued = issue_any("pass_msc_serum.toml");
    let d = export_with_default(&issued.certificate).document;
    let p = Profile::default_profile();
    let a = arr(&d["credentialSubject"]["assessment"], "assessment");
    let crit = |id: &str| -> Value {
        a.iter()
            .find(|x| x["id"].as_str().unwrap().ends_with(&format!("#{id}")))
            .unwrap()["assessmentCriteria"][0]
            .clone()
    };
    let t = |id: &str| {
        crit(id)["thresholdValue"]["metricValue"]["value"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(
        t("safety.residual_dna"),
        p.safety.residual_dna_ng_per_ml_max
    );
    assert_eq!(t("safety.viable_cells"), p.safety.viable_cells_per_ml_max);
    assert_eq!(t("concentration"), p.concentration.min_per_ml);
    assert_eq!(t("size.fraction_30_150_nm"), p.size.fraction_30_150_nm_min);
    assert_eq!(
        t("stability.particle_retention"),
        p.stability.particle_retention_min
    );
    let mode = crit("size.mode");
    let subs = arr(&mode["subCriterion"], "subCriterion");
    assert_eq!(
        subs[0]["thresholdValue"]["metricValue"]["value"].as_f64(),
        Some(p.size.mode_nm_min)
    );
    assert_eq!(
        subs[1]["thresholdValue"]["metricValue"]["value"].as_f64(),
        Some(p.size.mode_nm_max)
    );
    // Criteria ids name the profile's check, the same in every certificate.
    let other = issue_any("fail_viable_cells.toml");
    let d2 = export_with_default(&other.certificate).document;
    let a2 = arr(&d2["credentialSubject"]["assessment"], "assessment");
    assert_eq!(
        a[1]["assessmentCriteria"][0]["id"],
        a2[1]["assessmentCriteria"][0]["id"]
    );
    assert_ne!(a[1]["id"], a2[1]["id"]);
}

#[test]
fn another_profile_leaves_the_numeric_limits_out_and_says_so() {
    let issued = issue_any("pass_msc_serum.toml");
    let mut p = Profile::default_profile();
    p.version = "2099-01-01".into();
    let e = untp::export(&issued.certificate, &ExportOptions { profile: Some(&p) }).unwrap();
    assert!(!e.thresholds);
    assert!(e.notes[0].contains("2099-01-01"), "{:?}", e.notes);
    // Same id and version but other limits: it does not reproduce the assessment.
    let mut p = Profile::default_profile();
    p.safety.endotoxin_eu_per_ml_max = 5.0;
    let e = untp::export(&issued.certificate, &ExportOptions { profile: Some(&p) }).unwrap();
    assert!(!e.thresholds);
    assert!(e.notes[0].contains("does not reproduce"), "{:?}", e.notes);
    let a = arr(&e.document["credentialSubject"]["assessment"], "assessment");
    let dna = a
        .iter()
        .find(|x| x["id"].as_str().unwrap().ends_with("#safety.residual_dna"))
        .unwrap();
    assert!(dna["assessmentCriteria"][0].get("thresholdValue").is_none());
    assert!(dna.get("declaredValue").is_some(), "measured values stay");
    // Without a profile: the same, silently.
    let e = untp::export(&issued.certificate, &ExportOptions::default()).unwrap();
    assert!(!e.thresholds && e.notes.is_empty());
}

#[test]
fn the_export_is_deterministic_and_refuses_altered_certificates() {
    let issued = issue_any("pass_plant_mist.json");
    let a = export_with_default(&issued.certificate).text;
    let reread = cert::parse_certificate(&issued.text).unwrap();
    assert_eq!(a, export_with_default(&reread).text);

    let mut altered = issued.certificate.clone();
    altered["credentialSubject"]["qcRecord"]["safety"]["endotoxin_eu_per_ml"] = 0.01.into();
    let p = Profile::default_profile();
    let err = untp::export(&altered, &ExportOptions { profile: Some(&p) })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a valid exoskin certificate") && err.contains("signature"),
        "{err}"
    );
    let err = untp::export(&serde_json::json!({"id": "x"}), &ExportOptions::default()).unwrap_err();
    assert!(err.is_bad_input(), "{err}");
}

#[test]
fn issuer_roles_follow_the_record() {
    // A manufacturer certifying its own batch declares it; a named accreditation is carried.
    let mut rec = example("pass_msc_serum.toml");
    let third = cert::issue(
        &rec,
        &key(7),
        &IssueOptions {
            profile: &Profile::default_profile(),
            resolver: "id.example.com",
            issued_at: t0(),
            allow_failing: false,
        },
    )
    .unwrap();
    let d = export_with_default(&third.certificate).document;
    let a = &d["credentialSubject"];
    assert_eq!(a["assessorLevel"], "Unspecified");
    assert_eq!(a["attestationType"], "testing");
    assert_eq!(a["assessmentLevel"], "Accredited");
    assert_eq!(
        d["issuer"]["issuerAlsoKnownAs"][0]["id"],
        "https://lab.example.org"
    );

    rec.issuer.name = rec.manufacturing.manufacturer.clone();
    rec.issuer.accreditation = None;
    rec.issuer.url = Some("not a url".into());
    let own = issue_at(&rec, &key(7), t0());
    let d = export_with_default(&own.certificate).document;
    let a = &d["credentialSubject"];
    assert_eq!(a["assessorLevel"], "Self");
    assert_eq!(a["attestationType"], "declaration");
    assert_eq!(a["assessmentLevel"], "Unspecified");
    assert!(
        d["issuer"].get("issuerAlsoKnownAs").is_none(),
        "a URL that is not a URI is left out"
    );
}
