//! The executor: one analysis description, run in process or as shards here, gives one
//! document; an observer hears the work and its stop ends it with a cancelled error, the
//! unfinished shards left unwritten.

use exoskin_api::ErrorKind;
use exoskin_model::{Observer, Stop};
use exoskin_sweep::analysis::{PowerSettings, SensitivitySettings};
use exoskin_sweep::exec::{execute, Engine, Finished, Job, Placement, Ran};
use exoskin_sweep::{shard_path, SweepError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn morris() -> Job {
    Job::Sensitivity {
        output: "erythema_pct@0.5".into(),
        settings: SensitivitySettings {
            file: repo("scenarios/in_vivo_microneedling.toml")
                .display()
                .to_string(),
            method: "morris".into(),
            samples: 4,
            bootstrap: 100,
            trajectories: 2,
            levels: 4,
            seed: 7,
            parameters: Some(vec![
                "response.inflammation_max_excess".into(),
                "transport.sc_pore_radius_nm".into(),
            ]),
        },
        keep: 8,
    }
}

/// Records the counts it hears; cancels once it has heard `cancel_at` units.
struct Recorder {
    stop: Stop,
    flag: Arc<AtomicBool>,
    cancel_at: usize,
    heard: Mutex<Vec<(usize, usize)>>,
}

impl Recorder {
    fn new(cancel_at: usize) -> Recorder {
        let flag = Arc::new(AtomicBool::new(false));
        Recorder {
            stop: Stop::never().with_flag(flag.clone()),
            flag,
            cancel_at,
            heard: Mutex::new(Vec::new()),
        }
    }
}

impl Observer for Recorder {
    fn stop(&self) -> &Stop {
        &self.stop
    }
    fn on_progress(&self, done: usize, total: usize) {
        self.heard.lock().unwrap().push((done, total));
        if done >= self.cancel_at {
            self.flag.store(true, Ordering::Relaxed);
        }
    }
}

fn document(f: Finished) -> serde_json::Value {
    match f {
        Finished::Document { doc, .. } => doc,
        Finished::Submitted(r) => panic!("submitted: {r:?}"),
    }
}

#[test]
fn one_description_gives_one_document_in_process_and_on_shards() {
    let job = morris();
    let here = Recorder::new(usize::MAX);
    let want = document(execute(&job, &Placement::InProcess, &here).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let shards = Placement::Shards {
        dir: dir.path().to_path_buf(),
        shards: 3,
        engine: Engine::Local { threads: 2 },
    };
    let sharded = Recorder::new(usize::MAX);
    let got = execute(&job, &shards, &sharded).unwrap();
    let Finished::Document {
        doc,
        ran: Some(Ran::Here(run)),
        ..
    } = got
    else {
        panic!("not run here: {got:?}")
    };
    assert_eq!(doc, want);
    assert_eq!(run.ran, vec![0, 1, 2]);
    // Both observers heard every model run, counted up to the design's size.
    let runs = want["model_runs"].as_u64().unwrap() as usize;
    for r in [&here, &sharded] {
        let heard = r.heard.lock().unwrap();
        assert_eq!(*heard.last().unwrap(), (runs, runs), "{heard:?}");
    }
    // Run again: every shard is found done, none runs, the document is the same.
    let again = execute(&job, &shards, &Stop::never()).unwrap();
    let Finished::Document {
        doc,
        ran: Some(Ran::Here(run)),
        ..
    } = again
    else {
        panic!("not run here")
    };
    assert_eq!(doc, want);
    assert!(run.ran.is_empty() && run.skipped == vec![0, 1, 2]);
}

#[test]
fn a_stop_ends_the_work_as_cancelled_and_leaves_unfinished_shards_unwritten() {
    let job = morris();
    // In process: cancelled after the first units.
    let e = execute(&job, &Placement::InProcess, &Recorder::new(1)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Cancelled, "{e}");
    // On shards, one thread: the shard being run when the stop came is not written.
    let dir = tempfile::tempdir().unwrap();
    let placement = Placement::Shards {
        dir: dir.path().to_path_buf(),
        shards: 2,
        engine: Engine::Local { threads: 1 },
    };
    let e = execute(&job, &placement, &Recorder::new(1)).unwrap_err();
    assert!(matches!(e, SweepError::Stopped(_)), "{e}");
    assert_eq!(e.kind(), ErrorKind::Cancelled);
    let written = (0..2)
        .filter(|&i| shard_path(dir.path(), i).exists())
        .count();
    assert!(written < 2, "every shard was written after the stop");
    // The run resumes: the rest is run, and the document is the in-process one.
    let want = document(execute(&job, &Placement::InProcess, &Stop::never()).unwrap());
    assert_eq!(
        document(execute(&job, &placement, &Stop::never()).unwrap()),
        want
    );
}

#[test]
fn power_in_process_keeps_its_typed_result_beside_its_document() {
    let job = Job::Power {
        file: repo("trials/microneedling_split_face.toml"),
        settings: PowerSettings {
            target: 0.8,
            alpha: 0.05,
            replicates: 100,
            max_participants: 16,
            assurance_draws: 0,
        },
    };
    let got = execute(&job, &Placement::InProcess, &Stop::never()).unwrap();
    let Finished::Document {
        doc,
        power: Some(result),
        ran: None,
    } = got
    else {
        panic!("no typed result")
    };
    assert_eq!(doc["n_required"], serde_json::json!(result.n_required));
    assert_eq!(doc["curve"].as_array().unwrap().len(), result.curve.len());
}

#[test]
fn an_engine_asked_for_what_it_does_not_do_is_the_users_to_fix() {
    let spec = exoskin_sweep::Spec::from_str(
        "base = \"in_vivo_microneedling.toml\"\nshards = 2\noutputs = [\"transport.reached_dermis_fraction\"]\n[[parameters]]\nname = \"skin.age_years\"\nvalues = [30, 60]\n",
        &repo("scenarios/sweep.toml").display().to_string(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let e = exoskin_sweep::exec::run_shards(
        &spec,
        Path::new("spec.toml"),
        dir.path(),
        Some(0),
        &Engine::Dask {
            scheduler: "tcp://127.0.0.1:1".into(),
            python: "python3".into(),
        },
        None,
        &Stop::never(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Input, "{e}");
    assert!(e.to_string().contains("--shard runs one shard here"), "{e}");
}
