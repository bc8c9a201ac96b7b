//! What each build of `exoskin` offers: the default build has the registry commands; a
//! simulator-only build (`--no-default-features`) leaves them out of `--help`, refuses a
//! status list it would have to fetch over HTTP with exit 2 saying how to rebuild, and still
//! issues and verifies certificates offline, a status list read from a file included.

#[allow(dead_code)] // json_of is not needed here
mod common;

use common::exe;
use std::path::Path;
use std::process::Output;

fn run(d: &Path, args: &[&str]) -> Output {
    exe().current_dir(d).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The commands `exoskin --help` and `exoskin batch --help` list.
fn commands(d: &Path, args: &[&str]) -> Vec<String> {
    let help = stdout(&run(d, args));
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

const REGISTRY_COMMANDS: [&str; 2] = ["serve", "registry"];
const REGISTRY_BATCH_COMMANDS: [&str; 3] = ["allocate-status", "publish", "revoke"];

#[test]
fn the_registry_commands_are_listed_exactly_when_built_in() {
    let dir = tempfile::tempdir().unwrap();
    let top = commands(dir.path(), &["--help"]);
    let batch = commands(dir.path(), &["batch", "--help"]);
    for c in [
        "simulate", "trial", "label", "routine", "sweep", "export", "batch",
    ] {
        assert!(top.contains(&c.to_string()), "{c} not in {top:?}");
    }
    for c in [
        "keygen",
        "issue",
        "verify",
        "export",
        "uri",
        "status-list",
        "import",
    ] {
        assert!(batch.contains(&c.to_string()), "{c} not in {batch:?}");
    }
    let built_in = cfg!(feature = "registry");
    for c in REGISTRY_COMMANDS {
        assert_eq!(top.contains(&c.to_string()), built_in, "{c} in {top:?}");
    }
    for c in REGISTRY_BATCH_COMMANDS {
        assert_eq!(batch.contains(&c.to_string()), built_in, "{c} in {batch:?}");
    }
    // The link types are checked with the Digital Link syntax, in every build.
    let o = run(
        dir.path(),
        &[
            "batch",
            "uri",
            "--gtin",
            "09506000134352",
            "--lot",
            "A1",
            "--link-type",
            "gs1:pip",
        ],
    );
    assert_eq!(
        stdout(&o).trim(),
        "https://id.gs1.org/01/09506000134352/10/A1?linkType=gs1:pip"
    );
    let o = run(
        dir.path(),
        &[
            "batch",
            "uri",
            "--gtin",
            "09506000134352",
            "--lot",
            "A1",
            "--link-type",
            "gs1:x",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
}

/// A certificate with a status list entry, issued offline, and the registry's signed list
/// (bit 5 set) as a file.
#[cfg(not(feature = "registry"))]
fn certificate_with_status(d: &Path, index: u64) -> String {
    use exoskin_batch::status::{list_credential, Bitstring, MIN_ENTRIES};
    let url = "https://registry.example/api/v1/status/1";
    let qc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/qc/pass_msc_serum.toml");
    for key in ["lab.key", "registry.key"] {
        if !d.join(key).exists() {
            assert!(run(d, &["batch", "keygen", "--out", key]).status.success());
        }
    }
    let index = index.to_string();
    let dir = format!("cert{index}");
    let o = run(
        d,
        &[
            "batch",
            "issue",
            qc.to_str().unwrap(),
            "--key",
            "lab.key",
            "--out",
            &dir,
            "--status-list",
            url,
            "--status-index",
            &index,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let key = exoskin_batch::keys::read_private_key(&d.join("registry.key")).unwrap();
    let mut bits = Bitstring::new(MIN_ENTRIES);
    bits.set(5);
    let now = exoskin_batch::date::Timestamp::now();
    let list = list_credential(url, &key, &bits, now).unwrap();
    std::fs::write(d.join("list.json"), list.to_string()).unwrap();
    format!("{dir}/certificate.json")
}

#[cfg(not(feature = "registry"))]
#[test]
fn without_the_registry_a_fetched_list_is_refused_and_a_list_file_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let revoked = certificate_with_status(d, 5);
    let fine = certificate_with_status(d, 6);
    let says = |o: &Output, what: &str| {
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        for n in [
            what,
            "this build has no registry support; rebuild with --features registry",
        ] {
            assert!(err.contains(n), "`{n}` not in: {err}");
        }
    };
    // No --status-list: the certificate's own list URL would be fetched.
    let o = run(d, &["batch", "verify", &fine, "--pubkey", "lab.key.pub"]);
    says(
        &o,
        "status list https://registry.example/api/v1/status/1 is fetched over HTTP",
    );
    let o = run(
        d,
        &[
            "batch",
            "verify",
            &fine,
            "--pubkey",
            "lab.key.pub",
            "--status-list",
            "https://registry.example/api/v1/status/1",
        ],
    );
    says(&o, "--status-list FILE");
    let o = run(
        d,
        &[
            "batch",
            "status-list",
            "https://registry.example/api/v1/status/1",
        ],
    );
    says(
        &o,
        "batch status-list https://registry.example/api/v1/status/1",
    );
    // The same list as a file is checked offline: bit 6 clear, bit 5 set.
    let verify = |cert: &str| {
        run(
            d,
            &[
                "batch",
                "verify",
                cert,
                "--pubkey",
                "lab.key.pub",
                "--status-list",
                "list.json",
                "--registry-pubkey",
                "registry.key.pub",
            ],
        )
    };
    let o = verify(&fine);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout(&o).contains(
            "status list: https://registry.example/api/v1/status/1 bit 6 = 0 (not revoked)"
        ),
        "{}",
        stdout(&o)
    );
    let o = verify(&revoked);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("bit 5 = 1 (revoked)"), "{}", stdout(&o));
    let o = run(d, &["batch", "status-list", "list.json"]);
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("\"ones\": [\n    5\n  ]"),
        "{}",
        stdout(&o)
    );
}
