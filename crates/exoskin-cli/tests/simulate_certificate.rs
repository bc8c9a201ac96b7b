//! `exoskin simulate --certificate CERT.json`: a certificate issued with a throwaway key from
//! every examples/qc/ record simulates; its product equals the same product written as a
//! scenario's [product] (the same nominal run), with the measured inputs sampled besides;
//! bad, altered, unverified, revoked and expired certificates are refused with exit 2 and a
//! message that says why.

#[allow(dead_code)] // json_of is not needed here
mod common;

use common::exe;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn run(d: &Path, args: &[&str]) -> Output {
    exe().current_dir(d).args(args).output().unwrap()
}

fn ok_json(d: &Path, args: &[&str]) -> (Value, String) {
    let out = run(d, args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{args:?}: {err}");
    (
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document"),
        err,
    )
}

fn fails_with_2(d: &Path, args: &[&str], needles: &[&str]) {
    let out = run(d, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: `{n}` not in: {err}");
    }
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/qc")
}

/// Issue `record` (a path) into `out/` with `lab.key` on 2026-09-02, failing profiles allowed.
fn issue(d: &Path, record: &Path, out: &str) {
    issue_at(d, record, out, "2026-09-02T12:00:00Z")
}

fn issue_at(d: &Path, record: &Path, out: &str, at: &str) {
    let o = run(
        d,
        &[
            "batch",
            "issue",
            record.to_str().unwrap(),
            "--key",
            "lab.key",
            "--out",
            out,
            "--resolver",
            "id.example.com",
            "--issued-at",
            at,
            "--allow-failing",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn keygen(d: &Path) {
    let o = run(d, &["batch", "keygen", "--out", "lab.key"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn last(v: &Value) -> f64 {
    v.as_array()
        .and_then(|a| a.last())
        .and_then(Value::as_f64)
        .unwrap()
}

#[test]
fn every_example_record_simulates_from_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(d);
    let mut n = 0;
    for entry in std::fs::read_dir(examples()).unwrap() {
        let p = entry.unwrap().path();
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        issue(d, &p, &stem);
        let cert = format!("{stem}/certificate.json");
        let (doc, _) = ok_json(
            d,
            &[
                "simulate",
                "--certificate",
                &cert,
                "--pubkey",
                "lab.key.pub",
                "--on",
                "2026-10-01",
                "--uncertainty",
                "20",
                "--json",
                "--quiet",
            ],
        );
        let b = &doc["batch"];
        assert_eq!(b["verified"], true, "{stem}");
        assert_eq!(b["verification"]["issuer_pinned"], true, "{stem}");
        assert!(b["gtin"].as_str().unwrap().len() == 14, "{stem}");
        assert!(!b["lot"].as_str().unwrap().is_empty(), "{stem}");
        let made = b["manufactured"].as_str().unwrap();
        // Days from manufacture to 2026-10-01, counted here with the calendar.
        let expect_age = match made {
            "2026-04-12" => 172,
            "2026-06-22" => 101,
            "2026-09-01" => 30,
            other => panic!("{stem}: unexpected manufacture date {other}"),
        };
        assert_eq!(b["age_days"], expect_age, "{stem}");
        assert_eq!(
            b["product"]["storage_age_days"], expect_age as f64,
            "{stem}"
        );
        assert!(
            b["product"]["size"]["gsd"].as_f64().unwrap() > 1.0,
            "{stem}"
        );
        assert_eq!(b["uncertainty"]["default"], true, "{stem}");
        let names: Vec<&str> = doc["uncertainty"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["group"] == "measurement")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["product.particles_per_ml", "product.size.mode_nm"],
            "{stem}"
        );
        assert!(doc["outcomes"]["bands"]["collagen_pct"]["p95"].is_array());
        n += 1;
    }
    assert_eq!(n, 6, "every record in examples/qc");
    // The lyophilised plant mist: formulation and source from the certificate.
    let (doc, _) = ok_json(
        d,
        &[
            "simulate",
            "--certificate",
            "pass_plant_mist/certificate.json",
            "--on",
            "2026-10-01",
            "--uncertainty",
            "20",
            "--json",
            "--quiet",
        ],
    );
    let p = &doc["batch"]["product"];
    assert_eq!(p["formulation"], "lyophilized");
    assert_eq!(p["source"], "plant");
    assert_eq!(p["storage_temperature_c"], 25.0);
    // Without --pubkey the signature holds against the issuer's own did:key, not pinned.
    assert_eq!(doc["batch"]["verified"], true);
    assert_eq!(doc["batch"]["verification"]["issuer_pinned"], false);
}

/// The example record with its concentration and size uncertainty written in.
fn record_with_uncertainty(d: &Path) -> PathBuf {
    let text = std::fs::read_to_string(examples().join("pass_msc_serum.toml")).unwrap();
    let text = text.replace(
        "[safety]",
        "[characterization.uncertainty]\nconcentration_rel = 0.5\nsize_rel = 0.2\ncoverage_factor = 2.0\nsource = \"lab uncertainty budget (test)\"\n\n[safety]",
    );
    let p = d.join("with_u.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn the_certificate_product_is_the_scenario_product_with_its_measurements_sampled() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(d);
    let rec = record_with_uncertainty(d);
    issue_at(d, &rec, "cert", "2026-04-20T12:00:00Z");
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "simulate",
            "--certificate",
            "cert/certificate.json",
            "--pubkey",
            "lab.key.pub",
            "--on",
            "2026-05-12",
            "--json",
            "--quiet",
            "--seed",
            "7",
        ];
        a.extend_from_slice(extra);
        a
    };
    let (with_u, _) = ok_json(d, &args(&["--uncertainty", "32"]));
    let b = &with_u["batch"];
    assert_eq!(b["age_days"], 30);
    assert_eq!(b["uncertainty"]["default"], false);
    assert_eq!(b["uncertainty"]["concentration_rel_standard"], 0.25);
    assert!((b["uncertainty"]["size_rel_standard"].as_f64().unwrap() - 0.1).abs() < 1e-15);
    assert!(b["uncertainty"]["source"]
        .as_str()
        .unwrap()
        .contains("lab uncertainty budget (test)"));

    // The same product written as a scenario's [product]: the bundled scenario with the
    // certificate's values (taken from the JSON the certificate run reports).
    let p = &b["product"];
    let base = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/in_vivo_microneedling.toml"),
    )
    .unwrap();
    let start = base.find("[product]").unwrap();
    let end = base.find("[skin]").unwrap();
    let product = format!(
        "[product]\nname = {:?}\nsource = {}\nparticles_per_ml = {}\ndose_ul_per_cm2 = {}\nformulation = {}\nstorage_temperature_c = {}\nstorage_age_days = {}\n\n[product.size]\nmode_nm = {}\ngsd = {}\nclasses = 6\n\n",
        p["name"].as_str().unwrap(),
        p["source"],
        p["particles_per_ml"],
        p["dose_ul_per_cm2"],
        p["formulation"],
        p["storage_temperature_c"],
        p["storage_age_days"],
        p["size"]["mode_nm"],
        p["size"]["gsd"],
    );
    let scen = format!("{}{}{}", &base[..start], product, &base[end..]);
    std::fs::write(d.join("same.toml"), scen).unwrap();
    let (without_u, _) = ok_json(
        d,
        &[
            "simulate",
            "same.toml",
            "--json",
            "--quiet",
            "--seed",
            "7",
            "--uncertainty",
            "32",
        ],
    );
    // The nominal run is the same product's.
    assert_eq!(
        with_u["outcomes"]["collagen_pct"],
        without_u["outcomes"]["collagen_pct"]
    );
    assert_eq!(
        with_u["transport"]["mass_balance"],
        without_u["transport"]["mass_balance"]
    );
    // The measured inputs are sampled on top of every other dimension (the library's test
    // `measurement_uncertainty_alone_widens_the_bands_on_the_same_seed` isolates them: with
    // the priors fixed, the bands are zero wide without them and open with them).
    assert_eq!(
        with_u["uncertainty"]["parameters"]
            .as_array()
            .unwrap()
            .len(),
        without_u["uncertainty"]["parameters"]
            .as_array()
            .unwrap()
            .len()
            + 2
    );
    let w = |doc: &Value| {
        let b = &doc["outcomes"]["bands"]["collagen_pct"];
        last(&b["p95"]) - last(&b["p05"])
    };
    assert!(w(&with_u) > 0.0 && w(&without_u) > 0.0);
}

#[test]
fn bad_unverified_revoked_and_expired_certificates_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(d);
    issue(d, &examples().join("pass_msc_serum.toml"), "cert");
    let base = ["simulate", "--certificate"];
    let with = |cert: &'static str, extra: &[&'static str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.push(cert);
        a.extend_from_slice(extra);
        a
    };

    // Not a certificate.
    std::fs::write(d.join("junk.json"), "{\"a\": 1,").unwrap();
    fails_with_2(d, &with("junk.json", &[]), &["junk.json", "does not read"]);
    fails_with_2(d, &with("nope.json", &[]), &["cannot read nope.json"]);

    // Altered after signing: refused, or simulated with a loud warning when allowed.
    let text = std::fs::read_to_string(d.join("cert/certificate.json")).unwrap();
    let altered = text.replace(
        "\"particle_concentration_per_ml\": 24000000000.0",
        "\"particle_concentration_per_ml\": 240000000000.0",
    );
    assert_ne!(altered, text, "the concentration is in the certificate");
    std::fs::write(d.join("altered.json"), &altered).unwrap();
    fails_with_2(
        d,
        &with("altered.json", &["--on", "2026-10-01"]),
        &["does not verify", "signature", "--allow-unverified"],
    );
    let (doc, err) = ok_json(
        d,
        &with(
            "altered.json",
            &[
                "--on",
                "2026-10-01",
                "--allow-unverified",
                "--uncertainty",
                "20",
                "--json",
                "--quiet",
            ],
        ),
    );
    assert!(
        err.contains("WARNING: the certificate does NOT verify"),
        "{err}"
    );
    assert_eq!(doc["batch"]["verified"], false);
    assert!(doc["batch"]["verification"]["error"]
        .as_str()
        .unwrap()
        .contains("signature"));
    assert_eq!(doc["batch"]["product"]["particles_per_ml"], 2.4e11);

    // Signed by another key than the one trusted.
    std::fs::create_dir(d.join("other")).unwrap();
    let o = run(d, &["batch", "keygen", "--out", "other/lab.key"]);
    assert!(o.status.success());
    fails_with_2(
        d,
        &with(
            "cert/certificate.json",
            &["--pubkey", "other/lab.key.pub", "--on", "2026-10-01"],
        ),
        &["does not verify", "issuer"],
    );

    // Revoked: refused, even with --allow-unverified.
    let cert: Value = serde_json::from_str(&text).unwrap();
    let revs = serde_json::json!({"revoked": [{"id": cert["id"], "reason": "recall: endotoxin", "revokedAt": "2026-09-20T10:00:00Z"}]});
    std::fs::write(d.join("revs.json"), revs.to_string()).unwrap();
    for extra in [&[][..], &["--allow-unverified"][..]] {
        let mut a = with(
            "cert/certificate.json",
            &["--revocations", "revs.json", "--on", "2026-10-01"],
        );
        a.extend_from_slice(extra);
        fails_with_2(d, &a, &["REVOKED", "recall: endotoxin"]);
    }

    // Past its expiry (2028-04-11): refused unless --allow-expired.
    fails_with_2(
        d,
        &with("cert/certificate.json", &["--on", "2028-05-01"]),
        &["expired on 2028-04-11", "--allow-expired"],
    );
    let (doc, err) = ok_json(
        d,
        &with(
            "cert/certificate.json",
            &[
                "--on",
                "2028-05-01",
                "--allow-expired",
                "--uncertainty",
                "20",
                "--json",
                "--quiet",
            ],
        ),
    );
    assert!(err.contains("WARNING: batch EXO2604-12 expired"), "{err}");
    assert_eq!(doc["batch"]["expired"], true);
    assert_eq!(doc["batch"]["age_days"], 750);

    // Used before the certificate was issued (not yet valid), or before the batch was made
    // (even when the certificate's dates are waived), a bad date, a scenario without a
    // product.
    fails_with_2(
        d,
        &with("cert/certificate.json", &["--on", "2026-08-01"]),
        &["not yet valid", "validFrom is 2026-09-02"],
    );
    fails_with_2(
        d,
        &with(
            "cert/certificate.json",
            &["--on", "2026-01-01", "--allow-unverified"],
        ),
        &["before the batch was manufactured (2026-04-12)"],
    );
    fails_with_2(
        d,
        &with("cert/certificate.json", &["--on", "2026-13-01"]),
        &["--on"],
    );
    let franz =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/franz_cell_single_layer.toml");
    if franz.exists() {
        let mut a = vec![
            "simulate",
            franz.to_str().unwrap(),
            "--certificate",
            "cert/certificate.json",
            "--on",
            "2026-10-01",
        ];
        a.push("--quiet");
        fails_with_2(d, &a, &["in_vivo"]);
    }
    // The flags that only make sense with a certificate need one.
    let o = run(d, &["simulate", "--on", "2026-10-01"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn percentiles_no_lognormal_fits_are_refused_from_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(d);
    let text = std::fs::read_to_string(examples().join("pass_msc_serum.toml")).unwrap();
    // D50 far from sqrt(D10 x D90): skewed in log size beyond what one log-normal fits.
    let text = text
        .replace("size_d50_nm = 104.0", "size_d50_nm = 70.0")
        .replace("size_mode_nm = 98.0", "size_mode_nm = 66.0");
    std::fs::write(d.join("skewed.toml"), text).unwrap();
    issue(d, &d.join("skewed.toml"), "skewed");
    fails_with_2(
        d,
        &[
            "simulate",
            "--certificate",
            "skewed/certificate.json",
            "--on",
            "2026-10-01",
        ],
        &["skewed", "no log-normal fits", "D10 62 / D50 70 / D90 168"],
    );
}
