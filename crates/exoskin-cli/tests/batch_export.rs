//! `exoskin batch export CERT --untp`: the UNTP Digital Conformity Credential on stdout or
//! in a file (the same bytes), and exit 2 naming the file and the problem for input it cannot
//! export (no such file, not JSON, an altered certificate, no format chosen).

#[allow(dead_code)] // json_of is not needed here
mod common;

use common::exe;
use std::path::Path;
use std::process::Output;

fn run(d: &Path, args: &[&str]) -> Output {
    exe().current_dir(d).args(args).output().unwrap()
}

fn ok(d: &Path, args: &[&str]) -> Output {
    let out = run(d, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn fails_with_2(d: &Path, args: &[&str], needles: &[&str]) {
    let out = run(d, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: `{n}` not in: {err}");
    }
}

#[test]
fn export_untp_to_stdout_or_a_file_and_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let qc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/qc/pass_msc_serum.toml");
    ok(d, &["batch", "keygen", "--out", "lab.key"]);
    ok(
        d,
        &[
            "batch",
            "issue",
            qc.to_str().unwrap(),
            "--key",
            "lab.key",
            "--out",
            "cert",
            "--resolver",
            "id.example.com",
            "--issued-at",
            "2026-11-23T12:00:00Z",
        ],
    );
    let cert: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("cert/certificate.json")).unwrap()).unwrap();

    let out = ok(d, &["batch", "export", "cert/certificate.json", "--untp"]);
    let dcc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(dcc["type"][0], "DigitalConformityCredential");
    assert_eq!(dcc["credentialSubject"]["id"], cert["id"]);
    assert_eq!(dcc["issuer"]["id"], cert["issuer"]["id"]);
    assert_eq!(
        dcc["credentialSubject"]["conformityCertificate"]["linkURL"],
        cert["credentialSubject"]["id"]
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    ok(
        d,
        &[
            "batch",
            "export",
            "cert/certificate.json",
            "--untp",
            "--out",
            "dcc.json",
        ],
    );
    assert_eq!(std::fs::read(d.join("dcc.json")).unwrap(), out.stdout);

    // A profile other than the certificate's: exported, with a note that the numeric limits
    // are left out.
    let profile =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/batch/profiles/default.toml");
    let other = std::fs::read_to_string(profile)
        .unwrap()
        .replace("version = \"2026-11-23\"", "version = \"2099-01-01\"");
    std::fs::write(d.join("other.toml"), other).unwrap();
    let out = ok(
        d,
        &[
            "batch",
            "export",
            "cert/certificate.json",
            "--untp",
            "--profile",
            "other.toml",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("note: the certificate was assessed against profile"));

    fails_with_2(
        d,
        &["batch", "export", "cert/certificate.json"],
        &["--untp"],
    );
    fails_with_2(
        d,
        &["batch", "export", "nowhere.json", "--untp"],
        &["nowhere.json"],
    );
    std::fs::write(d.join("junk.json"), "{\"id\": ").unwrap();
    fails_with_2(
        d,
        &["batch", "export", "junk.json", "--untp"],
        &["junk.json", "not JSON"],
    );
    let text = std::fs::read_to_string(d.join("cert/certificate.json")).unwrap();
    std::fs::write(
        d.join("altered.json"),
        text.replace("EXO2604-12", "EXO2604-13"),
    )
    .unwrap();
    fails_with_2(
        d,
        &["batch", "export", "altered.json", "--untp"],
        &["altered.json", "not a valid exoskin certificate"],
    );
    std::fs::write(d.join("qc.json"), "{\"schema\": \"exoskin-qc/1\"}").unwrap();
    fails_with_2(
        d,
        &["batch", "export", "qc.json", "--untp"],
        &["qc.json", "not a valid exoskin certificate"],
    );
    assert!(!d.join("dcc2.json").exists());
}
