//! Sensitivity and power on the shard contract: the sharded documents equal the
//! in-process ones bit for bit, shards run one by one (as cluster tasks do) and a partial
//! run resumes.

use exoskin_api::sensitivity::{analyze, Method};
use exoskin_api::uncertainty::Space;
use exoskin_model::Stop;
use exoskin_sweep::analysis::{
    power_local, power_step, prepare_power, prepare_sensitivity, sensitivity_report, PowerSettings,
    SensitivitySettings, Step,
};
use exoskin_sweep::{run_shard, shard_path, Spec, SweepError};
use std::path::{Path, PathBuf};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

const OUTPUT: &str = "erythema_pct@0.5";
const PARAMS: [&str; 2] = [
    "response.inflammation_max_excess",
    "transport.sc_pore_radius_nm",
];

fn settings(method: &str) -> SensitivitySettings {
    SensitivitySettings {
        file: "in_vivo_microneedling.toml".into(),
        method: method.into(),
        samples: 4,
        bootstrap: 100,
        trajectories: 2,
        levels: 4,
        seed: 7,
        parameters: Some(PARAMS.iter().map(|s| s.to_string()).collect()),
    }
}

fn in_process(s: &SensitivitySettings) -> serde_json::Value {
    let file = repo("scenarios/in_vivo_microneedling.toml");
    let scenario = exoskin_model::read_scenario_file(&file).unwrap();
    let names: Vec<String> = PARAMS.iter().map(|s| s.to_string()).collect();
    let space = Space::shipped(&scenario).unwrap().only(&names).unwrap();
    let method = match s.method.as_str() {
        "sobol" => Method::Sobol {
            samples: s.samples,
            bootstrap: s.bootstrap,
        },
        _ => Method::Morris {
            trajectories: s.trajectories,
            levels: s.levels,
        },
    };
    analyze(
        &scenario,
        &s.file,
        &space,
        OUTPUT,
        method,
        s.seed,
        &Stop::never(),
    )
    .unwrap()
}

#[test]
fn sharded_sensitivity_equals_in_process_and_resumes() {
    for method in ["morris", "sobol"] {
        let s = settings(method);
        let want = in_process(&s);
        let dir = tempfile::tempdir().unwrap();
        let file = repo("scenarios/in_vivo_microneedling.toml");
        let spec = prepare_sensitivity(dir.path(), &file, OUTPUT, s.clone(), 3).unwrap();
        // Not all shards done: the report says which are missing.
        run_shard(&spec, 0, dir.path(), 1).unwrap();
        let e = sensitivity_report(dir.path()).unwrap_err();
        assert!(
            matches!(&e, SweepError::MissingShards { missing, .. } if missing == &[1, 2]),
            "{e}"
        );
        // Each shard run by number from the spec file, as a cluster task does.
        let reloaded = Spec::from_file(dir.path().join("spec.toml")).unwrap();
        assert_eq!(reloaded.hash(), spec.hash());
        for i in 1..3 {
            run_shard(&reloaded, i, dir.path(), 1).unwrap();
        }
        let got = sensitivity_report(dir.path()).unwrap();
        assert_eq!(got, want, "{method}");
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            serde_json::to_string(&want).unwrap()
        );
        // Preparing again keeps the done shards (same spec hash).
        let again = prepare_sensitivity(dir.path(), &file, OUTPUT, s, 3).unwrap();
        assert_eq!(again.hash(), spec.hash());
        assert!(exoskin_sweep::pending(&again, dir.path()).is_empty());
    }
}

#[test]
fn a_sensitivity_spec_is_a_sweep_spec_with_its_design_in_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    let file = repo("scenarios/in_vivo_microneedling.toml");
    let spec = prepare_sensitivity(dir.path(), &file, OUTPUT, settings("morris"), 2).unwrap();
    assert_eq!(spec.row_count(), 6); // 2 trajectories x (2 parameters + 1)
    let csv = dir.path().join("design.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("design_row,response.inflammation_max_excess,"));
    // Another design file makes another spec.
    let changed = text.replacen(",0.", ",0.0000001", 1);
    assert_ne!(changed, text);
    std::fs::write(&csv, changed).unwrap();
    let other = Spec::from_file(dir.path().join("spec.toml")).unwrap();
    assert_ne!(other.hash(), spec.hash());
    // A broken design file is located.
    std::fs::write(&csv, "design_row,a\n1.0\n").unwrap();
    let e = Spec::from_file(dir.path().join("spec.toml")).unwrap_err();
    assert!(e.is_bad_input());
    assert!(
        e.to_string()
            .contains("design.csv:2: 1 values for 2 columns"),
        "{e}"
    );
    // A plain sweep directory is not a sensitivity analysis.
    let plain = tempfile::tempdir().unwrap();
    let e = sensitivity_report(plain.path()).unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("no spec.toml"),
        "{e}"
    );
    assert!(prepare_sensitivity(plain.path(), &file, OUTPUT, settings("morris"), 0).is_err());
}

#[test]
fn sharded_power_equals_in_process_and_resumes_a_killed_round() {
    let file = repo("trials/microneedling_split_face.toml");
    let trial = exoskin_api::trial::load(&file).unwrap();
    let (target, replicates, max_n, draws) = (0.8, 100, 64, 2);
    let (_, mut want) = exoskin_api::trial::run_power_with(
        &trial,
        target,
        replicates,
        max_n,
        draws,
        &Stop::never(),
    )
    .unwrap();
    let p = PowerSettings {
        target,
        alpha: trial.alpha,
        replicates,
        max_participants: max_n,
        assurance_draws: draws,
    };
    let dir = tempfile::tempdir().unwrap();
    prepare_power(dir.path(), &file, p.clone(), 3).unwrap();
    // Round 1 partly done (one shard), as a killed run leaves it.
    let Step::Round {
        spec, dir: rdir, ..
    } = power_step(dir.path()).unwrap()
    else {
        panic!("a first round is needed")
    };
    assert_eq!(spec.row_count(), 3); // n = 4, one block of replicates per shard
    run_shard(&spec, 1, &rdir, 1).unwrap();
    assert!(shard_path(&rdir, 1).is_file());
    let mut got = power_local(dir.path(), 0, &Stop::never()).unwrap();
    want["elapsed_s"] = serde_json::Value::Null;
    got["elapsed_s"] = serde_json::Value::Null;
    assert_eq!(got, want);
    assert!(got["curve"].as_array().unwrap().len() >= 2);
    assert_eq!(got["assurance"]["draws"], 2);
    // Other settings in the same directory are refused.
    let e = prepare_power(
        dir.path(),
        &file,
        PowerSettings {
            replicates: 200,
            ..p
        },
        3,
    )
    .unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("other settings"),
        "{e}"
    );
}
