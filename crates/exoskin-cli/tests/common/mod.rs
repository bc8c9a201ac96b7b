//! Helpers shared by the CLI tests: run the built binary, parse its JSON.

use std::process::Command;

/// The `exoskin` binary built for these tests.
pub fn exe() -> Command {
    Command::new(env!("CARGO_BIN_EXE_exoskin"))
}

/// Run `exoskin ARGS`, require success, and parse stdout as one JSON document.
pub fn json_of(args: &[&str]) -> serde_json::Value {
    let out = exe().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}
