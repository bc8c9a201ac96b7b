//! `exoskin batch import`: the bundled instrument samples into a record that assesses and
//! issues with its uncertainty; exit 2 naming the line, keyword or flag for bad input.

#[allow(dead_code)]
mod common;

use common::exe;
use std::path::{Path, PathBuf};
use std::process::Output;

fn samples(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn run(d: &Path, args: &[&str]) -> Output {
    exe().current_dir(d).args(args).output().unwrap()
}

#[test]
fn import_merge_assess_issue_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let nta = samples("instruments/nanosight_experiment_summary.csv");
    let qc = samples("qc/pass_msc_serum.toml");
    let out = run(
        d,
        &[
            "batch",
            "import",
            nta.to_str().unwrap(),
            "--into",
            qc.to_str().unwrap(),
            "--out",
            "rec.toml",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec = std::fs::read_to_string(d.join("rec.toml")).unwrap();
    assert!(rec.starts_with("# A batch that passes"), "comments kept");
    assert!(
        rec.contains(
            "[characterization.uncertainty]\nconcentration_rel = 0.504\nsize_rel = 0.121\n"
        ),
        "{rec}"
    );
    assert!(rec.contains("size_d50_nm = 100.0\n"), "{rec}");
    assert!(run(d, &["batch", "assess", "rec.toml"]).status.success());
    assert!(run(d, &["batch", "keygen", "--out", "lab.key"])
        .status
        .success());
    let out = run(
        d,
        &[
            "batch", "issue", "rec.toml", "--key", "lab.key", "--out", "cert",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("cert/certificate.json")).unwrap())
            .unwrap();
    let u = &cert["credentialSubject"]["qcRecord"]["characterization"]["uncertainty"];
    assert_eq!(u["size_rel"], 0.121);
    assert_eq!(u["coverage_factor"], 2.0);

    // Bad input: a malformed table names its line; an FCS file without a volume names the flag.
    let text = std::fs::read_to_string(&nta).unwrap();
    let line = text[..text.find("100.5,").unwrap()].matches('\n').count() + 1;
    std::fs::write(d.join("bad.csv"), text.replacen("100.5,", "100.5,x", 1)).unwrap();
    let out = run(d, &["batch", "import", "bad.csv"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("bad.csv:{line}:")), "{err}");
    let fcs = std::fs::read(samples("instruments/nanofcm_events.fcs")).unwrap();
    let at = fcs.windows(7).position(|w| w == b"$VOL/5/").unwrap();
    let mut novol = fcs.clone();
    novol[at..at + 7].copy_from_slice(b"$XOL/5/");
    std::fs::write(d.join("novol.fcs"), novol).unwrap();
    let out = run(d, &["batch", "import", "novol.fcs"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--volume-nl"), "{err}");
    let out = run(
        d,
        &[
            "batch",
            "import",
            "novol.fcs",
            "--volume-nl",
            "5",
            "--dilution",
            "0.5",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("dilution"));
}
