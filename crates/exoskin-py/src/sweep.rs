//! Sweeps from Python: the shard contract of `exoskin_sweep` for `exoskin.dask_sweep`, whose
//! tasks each compute one shard exactly as a local `exoskin sweep` does.

use crate::raise;
use exoskin_sweep::{Spec, SweepError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

fn sweep_err(py: Python<'_>, e: SweepError) -> PyErr {
    let field = match &e {
        SweepError::Spec(m) => m.place().and_then(|p| p.key.clone()),
        _ => None,
    };
    raise(py, field, e.to_string())
}

/// Read the spec, write `out_dir/manifest.json` (and `spec.toml`) and tell what is to do:
/// `{"shards": n, "pending": [shard numbers not done], "hash": spec hash}`.
#[pyfunction]
pub fn sweep_plan<'py>(
    py: Python<'py>,
    spec: PathBuf,
    out_dir: PathBuf,
) -> PyResult<Bound<'py, PyDict>> {
    let (shards, pending, hash) = py
        .detach(|| -> Result<_, SweepError> {
            let s = Spec::from_file(&spec)?;
            exoskin_sweep::prepare(&s, &out_dir)?;
            let pending = exoskin_sweep::pending(&s, &out_dir);
            Ok((s.shards, pending, s.hash().to_string()))
        })
        .map_err(|e| sweep_err(py, e))?;
    let d = PyDict::new(py);
    d.set_item("shards", shards)?;
    d.set_item("pending", pending)?;
    d.set_item("hash", hash)?;
    Ok(d)
}

/// Compute shard `shard` of the sweep `spec` into `out_dir` on `threads` threads (0: every
/// core) and return its file; a shard already done for this spec is not computed again.
#[pyfunction]
#[pyo3(signature = (spec, shard, out_dir, threads=1))]
pub fn sweep_shard(
    py: Python<'_>,
    spec: PathBuf,
    shard: usize,
    out_dir: PathBuf,
    threads: usize,
) -> PyResult<PathBuf> {
    py.detach(|| -> Result<PathBuf, SweepError> {
        let s = Spec::from_file(&spec)?;
        exoskin_sweep::run_shard(&s, shard, &out_dir, threads)
    })
    .map_err(|e| sweep_err(py, e))
}

/// Join the shards in `out_dir` into one Parquet file (`out`, or `out_dir/sweep.parquet`):
/// `{"path", "rows", "failed"}`.
#[pyfunction]
#[pyo3(signature = (out_dir, out=None))]
pub fn sweep_merge<'py>(
    py: Python<'py>,
    out_dir: PathBuf,
    out: Option<PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let m = py
        .detach(|| exoskin_sweep::merge(&out_dir, out.as_deref()))
        .map_err(|e| sweep_err(py, e))?;
    let d = PyDict::new(py);
    d.set_item("path", m.path.display().to_string())?;
    d.set_item("rows", m.rows)?;
    d.set_item("failed", m.failed)?;
    Ok(d)
}
