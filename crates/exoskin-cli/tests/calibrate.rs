//! `exoskin calibrate --mcmc`: bad settings exit 2 with the flag, its range and a fix,
//! before any simulation runs.

#[allow(dead_code)] // json_of is not needed here
mod common;

use common::exe;

fn rejects(args: &[&str], needles: &[&str]) {
    let out = exe().arg("calibrate").args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "{args:?}: missing `{n}` in {err}");
    }
}

#[test]
fn bad_mcmc_settings_exit_2() {
    rejects(
        &["--mcmc", "--chains", "1"],
        &["--chains 1", "between 2 and 64"],
    );
    rejects(
        &["--mcmc", "--draws", "5"],
        &["--draws 5", "between 20 and 1000000"],
    );
    rejects(
        &["--mcmc", "--warmup", "50"],
        &[
            "--warmup 50",
            "between 120 and 1000000",
            "the default is 4000",
        ],
    );
    rejects(&["--mcmc", "--check"], &["--mcmc with --check"]);
    rejects(&["--draws", "0"], &["--draws 0", "between 1 and 10000"]);
}
