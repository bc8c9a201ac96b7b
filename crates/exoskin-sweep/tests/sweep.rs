//! The shard contract: rows, determinism, merge, resume, located errors, failed rows.

use arrow_array::{Array, Float64Array, RecordBatch, StringArray, UInt64Array};
use exoskin_model::ModelError;
use exoskin_model::Stop;
use exoskin_sweep::{
    merge, read_parquet, run_local, run_shard, shard_path, Spec, SweepError, Value,
};
use std::path::{Path, PathBuf};

/// A file bundled with the project (path from the repository root), made absolute.
fn bundled(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    p.canonicalize().unwrap().display().to_string()
}

fn scenario() -> String {
    bundled("scenarios/in_vivo_microneedling.toml")
}

/// The issue's example spec with the base made absolute and the given shard count.
fn example(shards: usize) -> String {
    format!(
        r#"base = "{}"
shards = {shards}
outputs = ["transport.reached_dermis_fraction"]
[[parameters]]
name = "product.particles_per_ml"
values = [1.0e9, 3.0e9, 1.0e10, 3.0e10]
[[parameters]]
name = "skin.age_years"
values = [30.0, 60.0]
"#,
        scenario()
    )
}

fn spec(text: &str) -> Spec {
    Spec::from_str(text, "sweep.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn err(text: &str) -> SweepError {
    Spec::from_str(text, "sweep.toml").unwrap_err()
}

fn batches(path: &Path) -> Vec<RecordBatch> {
    read_parquet(path).unwrap().0
}

fn f64s(b: &RecordBatch, col: &str) -> Vec<Option<f64>> {
    let a = b
        .column_by_name(col)
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect()
}

fn strs(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    let a = b
        .column_by_name(col)
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    a.iter().map(|s| s.map(str::to_string)).collect()
}

#[test]
fn a_values_grid_is_the_full_product_last_parameter_fastest() {
    let s = spec(&example(3));
    let rows = s.rows();
    assert_eq!(rows.len(), 8);
    let ppm = [1.0e9, 3.0e9, 1.0e10, 3.0e10];
    let age = [30.0, 60.0];
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r.index, k as u64);
        assert_eq!(
            r.values,
            vec![Value::Float(ppm[k / 2]), Value::Float(age[k % 2])]
        );
    }
    // Shards are contiguous blocks that partition the rows, sizes within one of each other.
    let parts: Vec<Vec<u64>> = (0..3)
        .map(|i| s.shard_rows(i).iter().map(|r| r.index).collect())
        .collect();
    assert_eq!(parts, vec![vec![0, 1], vec![2, 3, 4], vec![5, 6, 7]]);
    assert!(s.shard_rows(3).is_empty());
}

#[test]
fn sampled_ranges_form_one_joint_design_crossed_with_the_lists() {
    let text = format!(
        r#"base = "{}"
shards = 2
seed = 7
outputs = ["transport.reached_dermis_fraction"]
[[parameters]]
name = "skin.age_years"
range = [20.0, 80.0]
sample = "lhs"
n = 10
[[parameters]]
name = "procedure.kind"
values = ["microneedling", "none"]
[[parameters]]
name = "params.sc_pore_radius_nm"
range = [5.0, 50.0]
sample = "lhs"
n = 10
"#,
        scenario()
    );
    let s = spec(&text);
    let rows = s.rows();
    assert_eq!(rows.len(), 20);
    // Ages: one per tenth of [20, 80] over the design's points.
    let mut strata: Vec<usize> = rows
        .iter()
        .step_by(2)
        .map(|r| ((r.values[0].as_f64().unwrap() - 20.0) / 6.0).floor() as usize)
        .collect();
    strata.sort();
    assert_eq!(strata, (0..10).collect::<Vec<_>>());
    for r in &rows {
        let x = r.values[2].as_f64().unwrap();
        assert!((5.0..50.0).contains(&x));
    }
    assert_eq!(rows[0].values[1], Value::Text("microneedling".into()));
    assert_eq!(rows[1].values[1], Value::Text("none".into()));
    assert_eq!(rows[0].values[0], rows[1].values[0]);
    // The same spec makes the same rows; another seed other ones.
    assert_eq!(spec(&text).rows(), rows);
    assert_eq!(spec(&text).hash(), s.hash());
    assert_ne!(spec(&text.replace("seed = 7", "seed = 8")).hash(), s.hash());
    let sobol = spec(&text.replace("\"lhs\"", "\"sobol\""));
    assert_eq!(sobol.rows().len(), 20);
    assert_ne!(sobol.rows(), rows);
}

#[test]
fn shards_are_deterministic_merge_equals_one_shard_and_reruns_skip_done_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    let s3 = spec(&example(3));
    // Same spec, 1 and 2 threads, shard by shard vs all at once: the same bytes.
    for i in 0..3 {
        run_shard(&s3, i, &a, 1).unwrap();
    }
    let run = run_local(&s3, &b, 2, &Stop::never()).unwrap();
    assert_eq!(run.ran, vec![0, 1, 2]);
    for i in 0..3 {
        let (x, y) = (
            std::fs::read(shard_path(&a, i)).unwrap(),
            std::fs::read(shard_path(&b, i)).unwrap(),
        );
        assert_eq!(x, y, "shard {i}");
        assert_eq!(batches(&shard_path(&a, i)), batches(&shard_path(&b, i)));
    }
    // The rows hold what a direct run gives.
    let b0 = &batches(&shard_path(&a, 1))[0];
    let rows: Vec<u64> = b0
        .column_by_name("row")
        .unwrap()
        .as_any()
        .downcast_ref::<UInt64Array>()
        .unwrap()
        .values()
        .to_vec();
    assert_eq!(rows, vec![2, 3, 4]);
    let direct = exoskin_sweep::run_row(&s3, &s3.rows()[2]).unwrap()[0];
    assert_eq!(
        f64s(b0, "transport.reached_dermis_fraction")[0],
        Some(direct)
    );
    assert!(direct > 0.0 && direct < 1.0);
    assert_eq!(strs(b0, "status"), vec![Some("ok".to_string()); 3]);
    assert_eq!(strs(b0, "error"), vec![None; 3]);

    // Merge of three shards == the one shard of a single-shard run, row for row.
    let merged = merge(&a, None).unwrap();
    assert_eq!((merged.rows, merged.failed), (8, 0));
    run_shard(&spec(&example(1)), 0, &c, 2).unwrap();
    let m = batches(&merged.path);
    let one = batches(&shard_path(&c, 0));
    let cat = |bs: &[RecordBatch]| arrow_select_concat(bs);
    assert_eq!(cat(&m), cat(&one));

    // Re-running skips every done shard (files untouched); a deleted one is run again.
    let mtimes = |d: &PathBuf| -> Vec<std::time::SystemTime> {
        (0..3)
            .map(|i| {
                std::fs::metadata(shard_path(d, i))
                    .unwrap()
                    .modified()
                    .unwrap()
            })
            .collect()
    };
    let before = mtimes(&b);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = run_local(&s3, &b, 2, &Stop::never()).unwrap();
    assert_eq!((again.ran, again.skipped), (vec![], vec![0, 1, 2]));
    assert_eq!(mtimes(&b), before);
    std::fs::remove_file(shard_path(&b, 1)).unwrap();
    let e = merge(&b, None).unwrap_err();
    assert!(
        matches!(&e, SweepError::MissingShards { missing, .. } if missing == &[1]),
        "{e}"
    );
    assert!(e.to_string().contains("missing: 1"), "{e}");
    let again = run_local(&s3, &b, 2, &Stop::never()).unwrap();
    assert_eq!((again.ran, again.skipped), (vec![1], vec![0, 2]));
    assert_eq!(
        std::fs::read(shard_path(&a, 1)).unwrap(),
        std::fs::read(shard_path(&b, 1)).unwrap()
    );
    // A shard of another spec in the directory is stale: it is reported and re-run.
    let s3b = spec(&example(3).replace("60.0]", "61.0]"));
    let e = merge(&b, None);
    assert!(e.is_ok());
    let todo = exoskin_sweep::pending(&s3b, &b);
    assert_eq!(todo, vec![0, 1, 2]);
    // The manifest and spec copy are there.
    let man: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(man["spec_hash"], s3.hash());
    assert_eq!(man["rows_per_shard"], serde_json::json!([2, 3, 3]));
    assert_eq!(
        std::fs::read_to_string(a.join("spec.toml")).unwrap(),
        example(3)
    );
}

/// All batches' columns as plain vectors, for comparing contents across row-group layouts.
fn arrow_select_concat(bs: &[RecordBatch]) -> Vec<(String, Vec<String>)> {
    let schema = bs[0].schema();
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let mut vals = Vec::new();
            for b in bs {
                let col = b.column(j);
                for i in 0..col.len() {
                    vals.push(match f.data_type() {
                        arrow_schema::DataType::Float64 => {
                            format!("{:?}", f64s(b, f.name())[i].map(f64::to_bits))
                        }
                        arrow_schema::DataType::UInt64 => format!(
                            "{}",
                            col.as_any().downcast_ref::<UInt64Array>().unwrap().value(i)
                        ),
                        _ => format!("{:?}", strs(b, f.name())[i]),
                    });
                }
            }
            (f.name().clone(), vals)
        })
        .collect()
}

#[test]
fn a_failing_row_is_recorded_and_the_others_run() {
    let tmp = tempfile::tempdir().unwrap();
    let text = example(1)
        .replace(
            "values = [1.0e9, 3.0e9, 1.0e10, 3.0e10]",
            "values = [1.0e10]",
        )
        .replace("[30.0, 60.0]", "[30.0, 10.0]");
    let s = spec(&text);
    let p = run_shard(&s, 0, tmp.path(), 2).unwrap();
    let b = &batches(&p)[0];
    assert_eq!(
        strs(b, "status"),
        vec![Some("ok".into()), Some("failed".into())]
    );
    let errs = strs(b, "error");
    assert_eq!(errs[0], None);
    let e1 = errs[1].clone().unwrap();
    assert!(e1.contains("skin.age_years") && e1.contains("18"), "{e1}");
    let out = f64s(b, "transport.reached_dermis_fraction");
    assert!(out[0].is_some() && out[1].is_none());
    assert_eq!(merge(tmp.path(), None).unwrap().failed, 1);
}

fn located(e: &SweepError) -> (String, usize) {
    let SweepError::Spec(m) = e else {
        panic!("{e:?}")
    };
    let at = m.place().unwrap_or_else(|| panic!("{e}"));
    (
        at.key.clone().unwrap_or_default(),
        at.location.as_ref().map_or(0, |l| l.line),
    )
}

#[test]
fn bad_specs_are_located_with_the_field_and_what_is_allowed() {
    let ex = example(2);
    // An unknown key lists the allowed ones.
    let e = err(&ex.replace(
        "name = \"skin.age_years\"",
        "name = \"skin.age_years\"\nstep = 1",
    ));
    assert!(
        matches!(&e, SweepError::Spec(m) if matches!(**m, ModelError::UnknownKey { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("values, range, sample, n"), "{e}");
    assert_eq!(located(&e).1, 9);
    // A scenario key that does not exist: located at the parameter's name, with the
    // scenario's own message.
    let e = err(&ex.replace("skin.age_years", "skin.age_yrs"));
    assert_eq!(located(&e), ("parameters[1].name".into(), 8), "{e}");
    assert!(e.to_string().contains("age_yrs"), "{e}");
    // A first value out of the scenario's range.
    let e = err(&ex.replace("[30.0, 60.0]", "[300.0, 60.0]"));
    assert_eq!(located(&e).0, "parameters[1].name", "{e}");
    assert!(e.to_string().contains("100"), "{e}");
    // Unknown model parameter, bad sample kind, missing n, zero shards, bad output.
    let e = err(&ex.replace("product.particles_per_ml", "params.no_such"));
    assert_eq!(located(&e), ("parameters[0].name".into(), 5), "{e}");
    assert!(e.to_string().contains("data/transport.toml"), "{e}");
    let e = err(&ex.replace(
        "values = [30.0, 60.0]",
        "range = [30.0, 60.0]\nsample = \"grid\"\nn = 3",
    ));
    assert!(e.to_string().contains("sobol, lhs"), "{e}");
    let e = err(&ex.replace(
        "values = [30.0, 60.0]",
        "range = [30.0, 60.0]\nsample = \"lhs\"",
    ));
    assert_eq!(located(&e).0, "parameters[1].range", "{e}");
    assert!(e.to_string().contains("`n`"), "{e}");
    let e = err(&ex.replace("shards = 2", "shards = 0"));
    assert_eq!(located(&e), ("shards".into(), 2), "{e}");
    // More shards than rows (8 here), or past the stated maximum, are refused at once: a
    // million shards over a few rows ran for over a minute, i64::MAX never finished.
    for many in ["9", "1000000", "9223372036854775807"] {
        let t0 = std::time::Instant::now();
        let e = err(&ex.replace("shards = 2", &format!("shards = {many}")));
        assert!(t0.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(located(&e), ("shards".into(), 2), "{e}");
        assert!(e.to_string().contains("use at most 8"), "{e}");
    }
    assert!(Spec::from_str(&ex.replace("shards = 2", "shards = 8"), "sweep.toml").is_ok());
    let e = err(&ex.replace("transport.reached_dermis_fraction", "transport..x"));
    assert_eq!(located(&e).0, "outputs[0]", "{e}");
    let e = err(&ex.replace("values = [30.0, 60.0]", "values = [30.0, \"old\"]"));
    assert_eq!(located(&e).0, "parameters[1].values", "{e}");
    // A missing base; a trial base takes trial keys, not scenario keys.
    let e = err(&ex.replace(&scenario(), "/no/such.toml"));
    assert_eq!(located(&e), ("base".into(), 1), "{e}");
    let trial = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../trials/co2_split_face.toml");
    let on_trial = ex
        .replace(&scenario(), &trial.display().to_string())
        .replace("transport.reached_dermis_fraction", "primary.p_value");
    let e = err(&on_trial);
    assert_eq!(located(&e).0, "parameters[0].name", "{e}");
    assert!(
        e.to_string().contains("product.particles_per_ml`")
            && e.to_string().contains("trial.participants"),
        "{e}"
    );
    // A shard past the last one.
    let tmp = tempfile::tempdir().unwrap();
    let e = run_shard(&spec(&ex), 2, tmp.path(), 1).unwrap_err();
    assert!(
        e.is_bad_input() && e.to_string().contains("numbered 0 to 1"),
        "{e}"
    );
}

#[test]
fn a_callers_design_runs_through_the_same_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let design = vec![
        vec![Value::Float(30.0), Value::Float(8.0)],
        vec![Value::Float(60.0), Value::Float(12.0)],
    ];
    let s = Spec::with_design(
        Path::new(&scenario()),
        &["skin.age_years", "params.sc_pore_radius_nm"],
        design.clone(),
        &[
            "transport.reached_dermis_fraction",
            "outcomes.collagen_pct@1",
        ],
        2,
    )
    .unwrap();
    assert_eq!(
        s.rows()
            .iter()
            .map(|r| r.values.clone())
            .collect::<Vec<_>>(),
        design
    );
    run_local(&s, tmp.path(), 2, &Stop::never()).unwrap();
    let m = merge(tmp.path(), None).unwrap();
    assert_eq!((m.rows, m.failed), (2, 0));
    let b = batches(&m.path);
    assert_eq!(
        f64s(&b[0], "params.sc_pore_radius_nm"),
        vec![Some(8.0), Some(12.0)]
    );
    assert!(!tmp.path().join("spec.toml").exists());
}

fn trial_file() -> String {
    bundled("trials/microneedling_split_face.toml")
}

/// A sweep of the bundled split-face trial over its participants (few, so rows are quick).
fn trial_example(shards: usize) -> String {
    format!(
        r#"base = "{}"
shards = {shards}
outputs = ["primary.p_value", "primary.effect_size@28", "endpoints.pore_area.mean_difference", "endpoints.elasticity.significant", "seed", "participants"]
[[parameters]]
name = "trial.participants"
values = [4, 5, 6]
"#,
        trial_file()
    )
}

#[test]
fn a_trial_base_runs_the_trial_per_row_with_its_own_seed_and_two_shards_equal_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    let s1 = spec(&trial_example(1));
    let s2 = spec(&trial_example(2));
    run_shard(&s1, 0, &one, 1).unwrap();
    assert_eq!(
        run_local(&s2, &two, 2, &Stop::never()).unwrap().ran,
        vec![0, 1]
    );
    let merged = merge(&two, None).unwrap();
    assert_eq!((merged.rows, merged.failed), (3, 0));
    // Bit for bit: every column of the merged 2-shard run equals the 1-shard run.
    let (m, o) = (batches(&merged.path), batches(&shard_path(&one, 0)));
    assert_eq!(arrow_select_concat(&m), arrow_select_concat(&o));

    // Each row ran with the seed rule's seed and its own participants.
    let b = &o[0];
    let seeds: Vec<u64> = (0..3)
        .map(|i| exoskin_sweep::trial::row_seed(20251, i))
        .collect();
    assert_eq!(
        f64s(b, "seed"),
        seeds.iter().map(|s| Some(*s as f64)).collect::<Vec<_>>()
    );
    assert!(seeds[0] != seeds[1] && seeds[1] != seeds[2] && seeds[0] != seeds[2]);
    assert_eq!(
        f64s(b, "participants"),
        vec![Some(4.0), Some(5.0), Some(6.0)]
    );
    // Row 1 equals `exoskin trial FILE --participants 5 --seed S`, read from its document:
    // the primary endpoint (elasticity) at the last visit and at day 28.
    let mut t = exoskin_api::trial::load(Path::new(&trial_file())).unwrap();
    exoskin_api::trial::override_trial(&mut t, Some(5), Some(seeds[1])).unwrap();
    let run = exoskin_api::trial::run_trial(&t, "x", &exoskin_model::Stop::never()).unwrap();
    let pick = |name: &str, day: f64, field: &str| -> serde_json::Value {
        run.doc["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name && r["visit_day"] == day)
            .unwrap()[field]
            .clone()
    };
    assert_eq!(
        f64s(b, "primary.p_value")[1],
        pick("elasticity", 84.0, "p_value").as_f64()
    );
    assert_eq!(
        f64s(b, "primary.effect_size@28")[1],
        pick("elasticity", 28.0, "effect_size").as_f64()
    );
    assert_eq!(
        f64s(b, "endpoints.pore_area.mean_difference")[1],
        pick("pore_area", 84.0, "mean_difference").as_f64()
    );
    let sig = pick("elasticity", 84.0, "significant").as_bool().unwrap();
    assert_eq!(
        f64s(b, "endpoints.elasticity.significant")[1],
        Some(if sig { 1.0 } else { 0.0 })
    );
    let p = f64s(b, "primary.p_value")[1].unwrap();
    assert!(p > 0.0 && p <= 1.0, "{p}");

    // A varied seed is used as given; an edited seed list is another spec.
    let given = spec(&trial_example(1).replace(
        "[[parameters]]",
        "[[parameters]]\nname = \"trial.seed\"\nvalues = [7]\n[[parameters]]",
    ));
    let out = exoskin_sweep::run_row(&given, &given.rows()[0]).unwrap();
    assert_eq!((out[4], out[5]), (7.0, 4.0));
    assert_ne!(given.hash(), s1.hash());
}

#[test]
fn trial_base_mistakes_name_the_allowed_keys_outputs_and_files() {
    let text = trial_example(1);
    // An unknown key lists the keys a trial sweep can vary.
    let e = err(&text.replace("trial.participants", "trial.participant"));
    let (key, _) = located(&e);
    assert_eq!(key, "parameters[0].name");
    let m = e.to_string();
    assert!(
        m.contains("trial.participant`")
            && m.contains("trial.participants")
            && m.contains("population.dropout_pct")
            && m.contains("endpoints[I].")
            && m.contains("0 = elasticity"),
        "{m}"
    );
    // A value the trial file's checks refuse is located at the parameter.
    let e = err(&text.replace("[4, 5, 6]", "[1, 5]"));
    assert_eq!(located(&e).0, "parameters[0].name");
    assert!(e.to_string().contains("participants"), "{e}");
    // Outputs not in a trial's results list what is there; a day must be a visit.
    let e = err(&text.replace(
        "\"primary.p_value\"",
        "\"transport.reached_dermis_fraction\"",
    ));
    assert_eq!(located(&e).0, "outputs[0]");
    assert!(
        e.to_string().contains("primary.FIELD") && e.to_string().contains("pore_area"),
        "{e}"
    );
    let e = err(&text.replace("effect_size@28", "effect_size@30"));
    assert!(e.to_string().contains("days 28, 56, 84"), "{e}");
    let e = err(&text.replace("endpoints.pore_area", "endpoints.pores"));
    assert_eq!(located(&e).0, "outputs[2]");
    // A missing field is found when the row runs: the row fails and says what exists.
    let s = spec(&text.replace("primary.p_value", "primary.p_valu"));
    let e = exoskin_sweep::run_row(&s, &s.rows()[0])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("p_valu`") && e.contains("nonparametric_p_value"),
        "{e}"
    );
    // A base that is neither a scenario nor a trial file is named.
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("other.toml");
    std::fs::write(&other, "x = 1\n").unwrap();
    let e = err(&text.replace(&trial_file(), &other.display().to_string()));
    assert_eq!(located(&e).0, "base");
    assert!(
        e.to_string().contains("other.toml") && e.to_string().contains("neither"),
        "{e}"
    );
}

#[test]
fn a_row_past_the_cost_budget_fails_at_once_and_the_others_run() {
    // The second row asks for 1.5 million steps of the (r, z) grid over 150 h: about half
    // an hour of computing by the estimate, refused before it starts, naming the key.
    let tmp = tempfile::tempdir().unwrap();
    let text = example(1)
        .replace(
            "name = \"product.particles_per_ml\"\nvalues = [1.0e9, 3.0e9, 1.0e10, 3.0e10]",
            "name = \"numerics.dt_max_h\"\nvalues = [0.25, 0.0001]",
        )
        .replace(
            "name = \"skin.age_years\"\nvalues = [30.0, 60.0]",
            "name = \"experiment.duration_h\"\nvalues = [150.0]",
        );
    let s = spec(&text);
    let t0 = std::time::Instant::now();
    let p = run_shard(&s, 0, tmp.path(), 2).unwrap();
    assert!(t0.elapsed() < std::time::Duration::from_secs(30));
    let b = &batches(&p)[0];
    assert_eq!(
        strs(b, "status"),
        vec![Some("ok".into()), Some("failed".into())]
    );
    let e1 = strs(b, "error")[1].clone().unwrap();
    assert!(
        e1.contains("`numerics.dt_max_h`") && e1.contains("more than the limit"),
        "{e1}"
    );
}
