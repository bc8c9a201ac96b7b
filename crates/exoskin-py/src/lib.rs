//! `exoskin._native`: the compiled half of the Python package `exoskin`.
//!
//! Every function returns the JSON text of the document the CLI prints (made by
//! `exoskin_api`, the one producer), which the pure-Python half parses and wraps; so the
//! Python results equal `exoskin ... --json` by construction. Runs release the GIL. Errors
//! raise a subclass of `exoskin.ExoskinError` (a `ValueError`) by their kind: `InputError`,
//! `SolverError`, `InternalError` or `CancelledError`, with the CLI's message, `.kind` and
//! `.field`, the dotted key it is about (or `None`).

use exoskin_api::{ApiError, ErrorKind};
use exoskin_model::{Observer, Stop};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

pyo3::create_exception!(
    exoskin,
    ExoskinError,
    PyValueError,
    "Bad input: `.field` names the key (dotted, e.g. `product.particles_per_ml`) or option \
     it is about, or is None; the message is the CLI's (what, where, the allowed values, how \
     to fix it)."
);

pyo3::create_exception!(
    exoskin,
    InputError,
    ExoskinError,
    "Bad input (kind `input`): fix the argument or file `.field` names."
);
pyo3::create_exception!(
    exoskin,
    SolverError,
    ExoskinError,
    "The solver could not finish valid input (kind `solver`): the numerics' limit."
);
pyo3::create_exception!(
    exoskin,
    InternalError,
    ExoskinError,
    "An internal error (kind `internal`): broken bundled data or a defect."
);
pyo3::create_exception!(
    exoskin,
    CancelledError,
    ExoskinError,
    "The work was stopped by a time limit or a cancel (kind `cancelled`)."
);

/// The Python exception for bad input, with `.field`, `.message` and `.kind` set.
fn raise(py: Python<'_>, field: Option<String>, message: String) -> PyErr {
    raise_kind(py, ErrorKind::Input, field, message)
}

/// The exception class of `kind` (a subclass of `ExoskinError`), with `.field`, `.message`
/// and `.kind` set.
fn raise_kind(py: Python<'_>, kind: ErrorKind, field: Option<String>, message: String) -> PyErr {
    let err = match kind {
        ErrorKind::Input => InputError::new_err(message.clone()),
        ErrorKind::Solver => SolverError::new_err(message.clone()),
        ErrorKind::Internal => InternalError::new_err(message.clone()),
        ErrorKind::Cancelled => CancelledError::new_err(message.clone()),
    };
    let value = err.value(py);
    // Setting attributes on a fresh exception instance cannot fail in practice; if it did,
    // that failure is the more useful error to show.
    if let Err(e) = value
        .setattr("field", field)
        .and_then(|()| value.setattr("message", message))
        .and_then(|()| value.setattr("kind", kind.as_str()))
    {
        return e;
    }
    err
}

fn api_err(py: Python<'_>, e: ApiError) -> PyErr {
    let kind = e.kind();
    match e {
        ApiError::BadInput { field, message } => raise(py, field, message),
        e => raise_kind(py, kind, None, e.to_string()),
    }
}

/// The package's [`Observer`]: the work's reports go to the caller's
/// `progress(done, total, message)` callback (`total` 0: not known; `message` None for a
/// count), called with the GIL held; an exception the callback raises stops the work, and
/// the function raises it again.
struct PyObserver {
    callback: Option<Py<PyAny>>,
    flag: Arc<AtomicBool>,
    stop: Stop,
    counts: Mutex<(usize, usize)>,
    raised: Mutex<Option<PyErr>>,
}

impl PyObserver {
    fn new(callback: Option<Py<PyAny>>) -> PyObserver {
        let flag = Arc::new(AtomicBool::new(false));
        PyObserver {
            callback,
            stop: Stop::never().with_flag(flag.clone()),
            flag,
            counts: Mutex::new((0, 0)),
            raised: Mutex::new(None),
        }
    }

    fn call(&self, done: usize, total: usize, message: Option<&str>) {
        let Some(cb) = &self.callback else {
            return;
        };
        if self.flag.load(Ordering::Relaxed) {
            return;
        }
        Python::attach(|py| {
            if let Err(e) = cb.call1(py, (done, total, message)) {
                let mut raised = self.raised.lock().unwrap_or_else(PoisonError::into_inner);
                raised.get_or_insert(e);
                self.flag.store(true, Ordering::Relaxed);
            }
        });
    }

    /// The function's outcome: the callback's exception if it raised one, else the work's.
    fn finish<T>(self, py: Python<'_>, r: Result<T, ApiError>) -> PyResult<T> {
        if let Some(e) = self
            .raised
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
        {
            return Err(e);
        }
        r.map_err(|e| api_err(py, e))
    }
}

impl Observer for PyObserver {
    fn stop(&self) -> &Stop {
        &self.stop
    }
    fn on_progress(&self, done: usize, total: usize) {
        *self.counts.lock().unwrap_or_else(PoisonError::into_inner) = (done, total);
        self.call(done, total, None);
    }
    fn on_message(&self, text: &str) {
        let (done, total) = *self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        self.call(done, total, Some(text));
    }
}

fn to_text(py: Python<'_>, doc: &Value) -> PyResult<String> {
    serde_json::to_string(doc).map_err(|e| raise(py, None, format!("encoding the result: {e}")))
}

/// Run a scenario file; returns the JSON text of `exoskin simulate FILE --json`.
#[pyfunction]
fn simulate_file(py: Python<'_>, path: String) -> PyResult<String> {
    let doc = py.detach(|| -> Result<Value, ApiError> {
        let scenario = exoskin_model::read_scenario_file(Path::new(&path)).map_err(|e| {
            ApiError::BadInput {
                field: e.place().and_then(|p| p.key.clone()),
                message: e.to_string(),
            }
        })?;
        Ok(exoskin_api::simulate::run_answer(scenario, &path)?.json())
    });
    to_text(py, &doc.map_err(|e| api_err(py, e))?)
}

/// Run a scenario given as TOML text; `name` is reported as `scenario.file` and in errors.
#[pyfunction]
fn simulate_toml(py: Python<'_>, text: String, name: String) -> PyResult<String> {
    let doc = py.detach(|| -> Result<Value, ApiError> {
        let scenario = exoskin_api::simulate::parse(&text, &name)?;
        Ok(exoskin_api::simulate::run_answer(scenario, &name)?.json())
    });
    to_text(py, &doc.map_err(|e| api_err(py, e))?)
}

/// The first `null` in a JSON value, as a dotted key (TOML has no null).
fn find_null(v: &Value, at: &str) -> Option<String> {
    match v {
        Value::Null => Some(at.to_string()),
        Value::Object(m) => m.iter().find_map(|(k, x)| {
            let key = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            find_null(x, &key)
        }),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_null(x, &format!("{at}[{i}]"))),
        _ => None,
    }
}

/// TOML text of a scenario (or trial) given as JSON text of a dict.
#[pyfunction]
fn toml_from_json(py: Python<'_>, json_text: &str) -> PyResult<String> {
    let value: Value = serde_json::from_str(json_text)
        .map_err(|e| raise(py, None, format!("the dict is not plain data: {e}")))?;
    if !value.is_object() {
        return Err(raise(
            py,
            None,
            "a scenario must be a dict of tables, like the TOML file's".into(),
        ));
    }
    if let Some(key) = find_null(&value, "") {
        return Err(raise(
            py,
            Some(key.clone()),
            format!("`{key}` is None: TOML has no null value; leave the key out to use its default, or give a value"),
        ));
    }
    toml::to_string(&value)
        .map_err(|e| raise(py, None, format!("the dict cannot be written as TOML: {e}")))
}

/// A virtual trial: the JSON text of `exoskin trial FILE --json`. `source` is a path, or
/// TOML text when `is_path` is false (arm scenarios then relative to the working folder).
#[pyfunction]
#[pyo3(signature = (source, is_path, participants=None, seed=None, progress=None))]
fn trial(
    py: Python<'_>,
    source: String,
    is_path: bool,
    participants: Option<usize>,
    seed: Option<u64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let obs = PyObserver::new(progress);
    let doc = py.detach(|| -> Result<Value, ApiError> {
        let (mut t, name) = if is_path {
            (
                exoskin_api::trial::load(Path::new(&source))?,
                source.clone(),
            )
        } else {
            let name = "<string>".to_string();
            (
                exoskin_api::trial::parse(&source, &name, Path::new("."))?,
                name,
            )
        };
        exoskin_api::trial::override_trial(&mut t, participants, seed)?;
        Ok(exoskin_api::trial::run_trial(&t, &name, &obs)?.doc)
    });
    to_text(py, &obs.finish(py, doc)?)
}

/// The sample size by simulation: the JSON text of `exoskin power FILE --json`.
#[pyfunction]
#[pyo3(signature = (path, power=None, alpha=None, replicates=None, max_participants=None, assurance_draws=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn power(
    py: Python<'_>,
    path: String,
    power: Option<f64>,
    alpha: Option<f64>,
    replicates: Option<usize>,
    max_participants: Option<usize>,
    assurance_draws: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let obs = PyObserver::new(progress);
    let doc = py.detach(|| -> Result<Value, ApiError> {
        let mut t = exoskin_api::trial::load(Path::new(&path))?;
        let s =
            exoskin_api::trial::power_settings(&mut t, power, alpha, replicates, max_participants)?;
        let (_, doc) = exoskin_api::trial::run_power_with(
            &t,
            s.target,
            s.replicates,
            s.max_participants,
            assurance_draws.unwrap_or(exoskin_api::trial::DEFAULT_ASSURANCE_DRAWS),
            &obs,
        )?;
        Ok(doc)
    });
    to_text(py, &obs.finish(py, doc)?)
}

/// Decode an ingredient list: the JSON text of `exoskin label FILE --json`.
#[pyfunction]
fn label(py: Python<'_>, text: String) -> PyResult<String> {
    let report = py.detach(|| -> Result<Value, ApiError> {
        let decoder =
            exoskin_labels::Decoder::embedded().map_err(|e| ApiError::bad(e.to_string()))?;
        let report = decoder.decode_label(&text).map_err(|e| {
            ApiError::bad(format!(
                "{e}. Give the ingredient list as printed on the label, e.g. \
                 \"Ingredients: Aqua, Glycerin, Human Adipose Stem Cell Exosomes\""
            ))
        })?;
        serde_json::to_value(&report).map_err(|e| ApiError::bad(e.to_string()))
    });
    to_text(py, &report.map_err(|e| api_err(py, e))?)
}

fn read(path: &str, what: &str) -> Result<String, ApiError> {
    std::fs::read_to_string(path).map_err(|e| ApiError::BadInput {
        field: Some(what.to_string()),
        message: format!("{path}: cannot read the {what} file: {e}"),
    })
}

fn batch_err(field: &str, e: exoskin_batch::BatchError) -> ApiError {
    ApiError::BadInput {
        field: Some(field.to_string()),
        message: e.to_string(),
    }
}

/// Verify a signed batch certificate against a trusted public key, as `exoskin batch verify`:
/// `{"valid": true, ...}` with its fields, or `{"valid": false, "reason": ...}`. The
/// certificate and key are paths, or their text when the `*_is_path` flag is false.
#[pyfunction]
#[pyo3(signature = (certificate, certificate_is_path, pubkey, pubkey_is_path, revocations=None, at=None))]
fn verify(
    py: Python<'_>,
    certificate: String,
    certificate_is_path: bool,
    pubkey: String,
    pubkey_is_path: bool,
    revocations: Option<String>,
    at: Option<String>,
) -> PyResult<String> {
    use exoskin_batch::cert::{self, RevocationList};
    use exoskin_batch::date::Timestamp;
    let doc = py.detach(|| -> Result<Value, ApiError> {
        let text = if certificate_is_path {
            read(&certificate, "certificate")?
        } else {
            certificate
        };
        let key = if pubkey_is_path {
            exoskin_batch::keys::read_public_key(Path::new(&pubkey))
        } else {
            exoskin_batch::keys::parse_public_key(&pubkey, "pubkey")
        }
        .map_err(|e| batch_err("pubkey", e))?;
        let revoked = match &revocations {
            Some(p) => {
                RevocationList::parse(&read(p, "revocations")?, p)
                    .map_err(|e| batch_err("revocations", e))?
                    .revoked
            }
            None => Vec::new(),
        };
        let now = match &at {
            Some(s) => Timestamp::parse(s).map_err(|e| ApiError::BadInput {
                field: Some("at".into()),
                message: format!("--at: {e}"),
            })?,
            None => Timestamp::now(),
        };
        Ok(match cert::verify(&text, &key, now, &revoked) {
            Ok(v) => json!({
                "valid": true,
                "id": v.id,
                "issuer_did": v.issuer_did,
                "issuer_name": v.issuer_name,
                "gtin": v.gtin,
                "lot": v.lot,
                "valid_from": v.valid_from.to_string(),
                "valid_until": v.valid_until.to_string(),
                "subject_uri": v.subject_uri,
                "assessment_pass": v.assessment_pass,
            }),
            Err(e) => json!({"valid": false, "reason": e.to_string()}),
        })
    });
    to_text(py, &doc.map_err(|e| api_err(py, e))?)
}

mod sweep;

/// A scenario file read as the CLI reads it, its errors as bad input naming the key.
fn read_scenario(path: &str) -> Result<exoskin_model::Scenario, ApiError> {
    exoskin_model::read_scenario_file(Path::new(path)).map_err(|e| ApiError::BadInput {
        field: e.place().and_then(|p| p.key.clone()),
        message: e.to_string(),
    })
}

/// An ensemble over every uncertain quantity: the JSON text of
/// `exoskin simulate FILE --uncertainty MEMBERS --seed SEED --json`.
#[pyfunction]
#[pyo3(signature = (path, members, seed=None, progress=None))]
fn uncertainty(
    py: Python<'_>,
    path: String,
    members: usize,
    seed: Option<u64>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let obs = PyObserver::new(progress);
    let doc = py.detach(|| -> Result<Value, ApiError> {
        let scenario = read_scenario(&path)?;
        let seed = seed
            .or(scenario.experiment().uncertainty.map(|u| u.seed))
            .unwrap_or(exoskin_model::scenario::DEFAULT_ENSEMBLE_SEED);
        let space = exoskin_api::uncertainty::Space::shipped(&scenario)?;
        let e = exoskin_api::uncertainty::ensemble(&scenario, &path, &space, members, seed, &obs)?;
        Ok(e.doc)
    });
    to_text(py, &obs.finish(py, doc)?)
}

/// Global sensitivity of one output: the JSON text of `exoskin sensitivity FILE --output
/// OUTPUT --method METHOD ... --json`.
#[pyfunction]
#[pyo3(signature = (path, output, method="screened".to_string(), samples=None, bootstrap=1000, trajectories=20, levels=4, seed=None, keep=8, progress=None))]
#[allow(clippy::too_many_arguments)]
fn sensitivity(
    py: Python<'_>,
    path: String,
    output: String,
    method: String,
    samples: Option<usize>,
    bootstrap: usize,
    trajectories: usize,
    levels: usize,
    seed: Option<u64>,
    keep: usize,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let obs = PyObserver::new(progress);
    let doc = py.detach(|| -> Result<Value, ApiError> {
        let m = match method.as_str() {
            // The CLI's defaults: 256 base rows for the few kept, 64 for every parameter.
            "screened" => exoskin_api::sensitivity::Method::Screened {
                trajectories,
                levels,
                samples: samples.unwrap_or(256),
                bootstrap,
                keep,
            },
            "sobol" => exoskin_api::sensitivity::Method::Sobol {
                samples: samples.unwrap_or(64),
                bootstrap,
            },
            "morris" => exoskin_api::sensitivity::Method::Morris {
                trajectories,
                levels,
            },
            other => {
                return Err(ApiError::BadInput {
                    field: Some("method".into()),
                    message: format!("method `{other}`: use screened, sobol or morris"),
                })
            }
        };
        let scenario = read_scenario(&path)?;
        let space = exoskin_api::uncertainty::Space::shipped(&scenario)?;
        exoskin_api::sensitivity::analyze(
            &scenario,
            &path,
            &space,
            &output,
            m,
            seed.unwrap_or(exoskin_model::scenario::DEFAULT_ENSEMBLE_SEED),
            &obs,
        )
    });
    to_text(py, &obs.finish(py, doc)?)
}

/// The SBML text `exoskin export sbml FILE --out model.xml` writes.
#[pyfunction]
fn export_sbml(py: Python<'_>, path: String) -> PyResult<String> {
    let xml = py.detach(|| -> Result<String, ApiError> {
        let scenario = read_scenario(&path)?;
        let bad = |m: String| ApiError::BadInput {
            field: None,
            message: format!("{path}: {m}"),
        };
        let v = exoskin_sbml::in_vivo(&scenario).map_err(|e| bad(e.to_string()))?;
        let rp = exoskin_response::ResponseParams::shipped().map_err(|e| bad(e.to_string()))?;
        let sim = exoskin_response::try_simulate_in_vivo(
            v,
            exoskin_model::TransportParams::defaults(),
            rp,
        )
        .map_err(|e| bad(format!("transport failed: {e}")))?;
        let stem = Path::new(&path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "exoskin".into());
        exoskin_sbml::export(v, &sim, rp, &exoskin_sbml::model_id(&stem))
            .map_err(|e| bad(e.to_string()))
    });
    xml.map_err(|e| api_err(py, e))
}

/// A batch certificate simulated: the JSON text of `exoskin simulate [SCENARIO]
/// --certificate CERT [--pubkey KEY] [--revocations FILE] [--on DATE] [--uncertainty N]
/// [--seed S] --json`. `certificate`, `pubkey` and `revocations` are texts (the Python
/// half reads files); `scenario` is a path (the bundled scenario without one).
#[pyfunction]
#[pyo3(signature = (certificate, scenario=None, pubkey=None, revocations=None, on=None, members=None, seed=None, allow_unverified=false, allow_expired=false, progress=None))]
#[allow(clippy::too_many_arguments)]
fn simulate_certificate(
    py: Python<'_>,
    certificate: String,
    scenario: Option<String>,
    pubkey: Option<String>,
    revocations: Option<String>,
    on: Option<String>,
    members: Option<usize>,
    seed: Option<u64>,
    allow_unverified: bool,
    allow_expired: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    use exoskin_api::certificate as c;
    let obs = PyObserver::new(progress);
    let doc = py.detach(|| -> Result<Value, ApiError> {
        let opts = c::CertificateOptions {
            pubkey: pubkey.as_deref().map(|k| (k, "pubkey")),
            revocations: revocations.as_deref().map(|r| (r, "revocations")),
            on: on.as_deref(),
            allow_unverified,
            allow_expired,
        };
        let batch = c::read_certificate(&certificate, &opts)?;
        let (s, name) = match &scenario {
            Some(p) => (read_scenario(p)?, p.clone()),
            None => (
                exoskin_api::simulate::parse(
                    exoskin_api::simulate::DEFAULT_SCENARIO,
                    exoskin_api::simulate::DEFAULT_SCENARIO_NAME,
                )?,
                exoskin_api::simulate::DEFAULT_SCENARIO_NAME.to_string(),
            ),
        };
        let from_file = s.experiment().uncertainty;
        let members = members
            .or(from_file.map(|u| u.members))
            .unwrap_or(c::DEFAULT_CERTIFICATE_MEMBERS);
        let seed = seed
            .or(from_file.map(|u| u.seed))
            .unwrap_or(exoskin_model::scenario::DEFAULT_ENSEMBLE_SEED);
        let e = c::simulate(s, &name, &batch, members, seed, &obs)?;
        Ok(e.doc)
    });
    to_text(py, &obs.finish(py, doc)?)
}

/// The readable summary of `exoskin simulate FILE` (what the vesicles add first).
#[pyfunction]
fn summary(py: Python<'_>, path: String) -> PyResult<String> {
    let text = py.detach(|| -> Result<String, ApiError> {
        let scenario = read_scenario(&path)?;
        Ok(exoskin_api::simulate::run_answer(scenario, &path)?.summary())
    });
    text.map_err(|e| api_err(py, e))
}

#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ExoskinError", m.py().get_type::<ExoskinError>())?;
    m.add("InputError", m.py().get_type::<InputError>())?;
    m.add("SolverError", m.py().get_type::<SolverError>())?;
    m.add("InternalError", m.py().get_type::<InternalError>())?;
    m.add("CancelledError", m.py().get_type::<CancelledError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(simulate_file, m)?)?;
    m.add_function(wrap_pyfunction!(simulate_toml, m)?)?;
    m.add_function(wrap_pyfunction!(toml_from_json, m)?)?;
    m.add_function(wrap_pyfunction!(trial, m)?)?;
    m.add_function(wrap_pyfunction!(power, m)?)?;
    m.add_function(wrap_pyfunction!(label, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(uncertainty, m)?)?;
    m.add_function(wrap_pyfunction!(simulate_certificate, m)?)?;
    m.add_function(wrap_pyfunction!(sensitivity, m)?)?;
    m.add_function(wrap_pyfunction!(export_sbml, m)?)?;
    m.add_function(wrap_pyfunction!(summary, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::sweep_plan, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::sweep_shard, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::sweep_merge, m)?)?;
    Ok(())
}
