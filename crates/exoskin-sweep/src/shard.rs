//! Running shards, the Parquet files they make, the manifest, and merging.

use crate::spec::{Column, Row, Spec, Target};
use crate::{RowError, SweepError};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use exoskin_model::{Observer, Stop, Tally, TransportParams};
use exoskin_response::ResponseParams;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Parquet metadata key holding the spec hash.
pub const HASH_KEY: &str = "exoskin.spec_hash";
/// Parquet metadata key holding the shard's number.
pub const SHARD_KEY: &str = "exoskin.shard";

/// The file of shard `i` in `dir` (`shard-00007.parquet`).
pub fn shard_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("shard-{i:05}.parquet"))
}

/// The outcome of one row: its outputs, or why the run failed.
pub type RowOutcome = Result<Vec<f64>, RowError>;

/// Run one row: set its values on the base scenario and the model parameters, run, read
/// the outputs. A failure (bad value, solver stop, missing output) is the row's error,
/// never the shard's.
pub fn run_row(spec: &Spec, row: &Row) -> RowOutcome {
    if let Some(tb) = &spec.trial {
        let keys: Vec<(&str, toml::Value)> = spec
            .parameters
            .iter()
            .zip(&row.values)
            .filter_map(|(p, v)| match &p.target {
                Target::Trial(k) => Some((k.as_str(), v.to_toml())),
                _ => None,
            })
            .collect();
        return crate::trial::run_row(&spec.base, tb, &spec.base_name, &keys, &spec.outputs, row);
    }
    let mut table = spec.base.clone();
    let mut tp: Option<TransportParams> = None;
    let mut rp: Option<ResponseParams> = None;
    for (p, v) in spec.parameters.iter().zip(&row.values) {
        let num = || {
            v.as_f64().ok_or_else(|| {
                RowError::input(format!("`{}` takes a number, got {}", p.name, v.text()))
            })
        };
        match &p.target {
            Target::Scenario(key) => {
                crate::spec::set_key(&mut table, key, v.to_toml()).map_err(RowError::from)?
            }
            Target::Transport(n) => {
                let x = num()?;
                let params = tp.get_or_insert_with(|| TransportParams::defaults().clone());
                if let Some(slot) = params.get_mut(n) {
                    slot.value = x;
                }
            }
            Target::Design | Target::Trial(_) => {}
            Target::Response(n) => {
                let x = num()?;
                rp.get_or_insert_with(|| ResponseParams::defaults().clone())
                    .set(n, x)
                    .map_err(|e| RowError::input(format!("`{}`: {e}", p.name)))?;
            }
        }
    }
    let scenario = exoskin_model::read_scenario_table(&table, &spec.base_name).map_err(|e| {
        RowError::input(match e.place().and_then(|p| p.key.clone()) {
            Some(k) => format!("`{k}`: {}", e.detail()),
            None => e.detail(),
        })
    })?;
    let run = exoskin_api::simulate::run_with(
        scenario,
        &spec.base_name,
        tp.as_ref().unwrap_or(TransportParams::defaults()),
        rp.as_ref().unwrap_or(ResponseParams::defaults()),
    )?;
    exoskin_api::output::values(&spec.output_ids, &run)
        .into_iter()
        .map(|r| r.map_err(RowError::from))
        .collect()
}

/// The Arrow schema of a shard: `row`, each parameter, each output, `status`, `error`.
pub fn schema(spec: &Spec) -> Schema {
    let mut fields = vec![Field::new("row", DataType::UInt64, false)];
    for p in &spec.parameters {
        let t = match p.column {
            Column::Float => DataType::Float64,
            Column::Text => DataType::Utf8,
        };
        fields.push(Field::new(&p.name, t, false));
    }
    for o in &spec.outputs {
        fields.push(Field::new(o, DataType::Float64, true));
    }
    fields.push(Field::new("status", DataType::Utf8, false));
    fields.push(Field::new("error", DataType::Utf8, true));
    Schema::new(fields)
}

/// The rows and their outcomes as one Arrow record batch (Arrow refuses columns that do not
/// fit the schema, which would be a defect here).
pub fn batch(
    spec: &Spec,
    rows: &[Row],
    outcomes: &[RowOutcome],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let mut cols: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from_iter_values(
        rows.iter().map(|r| r.index),
    ))];
    for (j, p) in spec.parameters.iter().enumerate() {
        cols.push(match p.column {
            Column::Float => Arc::new(Float64Array::from_iter_values(
                rows.iter()
                    .map(|r| r.values[j].as_f64().unwrap_or(f64::NAN)),
            )),
            Column::Text => Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.values[j].text()),
            )),
        });
    }
    for k in 0..spec.outputs.len() {
        cols.push(Arc::new(Float64Array::from_iter(
            outcomes.iter().map(|o| o.as_ref().ok().map(|v| v[k])),
        )));
    }
    cols.push(Arc::new(StringArray::from_iter_values(
        outcomes
            .iter()
            .map(|o| if o.is_ok() { "ok" } else { "failed" }),
    )));
    cols.push(Arc::new(StringArray::from_iter(
        outcomes
            .iter()
            .map(|o| o.as_ref().err().map(|e| e.message.as_str())),
    )));
    RecordBatch::try_new(Arc::new(schema(spec)), cols)
}

/// Parquet bytes of record batches with the given file metadata (no compression).
fn parquet_bytes(
    schema: Arc<Schema>,
    batches: &[RecordBatch],
    meta: Vec<KeyValue>,
) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(meta))
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, schema, Some(props))?;
    for b in batches {
        w.write(b)?;
    }
    w.close()?;
    Ok(buf)
}

/// The spec hash and shard number stored in a shard file (`None` when absent or unreadable).
pub fn shard_stamp(path: &Path) -> Option<(String, Option<usize>)> {
    let f = std::fs::File::open(path).ok()?;
    let b = ParquetRecordBatchReaderBuilder::try_new(f).ok()?;
    let kv = b.metadata().file_metadata().key_value_metadata()?;
    let get = |k: &str| kv.iter().find(|x| x.key == k).and_then(|x| x.value.clone());
    Some((get(HASH_KEY)?, get(SHARD_KEY).and_then(|s| s.parse().ok())))
}

/// Whether shard `i` of `spec` is already in `dir` (its file exists and carries the spec's
/// hash and this shard's number).
pub fn shard_done(spec: &Spec, dir: &Path, i: usize) -> bool {
    shard_stamp(&shard_path(dir, i)) == Some((spec.hash().to_string(), Some(i)))
}

/// Read every record batch of a Parquet file, with its key-value metadata.
pub fn read_parquet(path: &Path) -> Result<(Vec<RecordBatch>, Vec<KeyValue>), SweepError> {
    let err = |message: String| SweepError::Parquet {
        path: path.display().to_string(),
        message,
    };
    let f = std::fs::File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
    let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| err(e.to_string()))?;
    let kv = b
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default();
    let batches = b
        .build()
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    Ok((batches, kv))
}

fn io(path: &Path, what: &str) -> impl Fn(std::io::Error) -> SweepError {
    let path = path.display().to_string();
    let what = what.to_string();
    move |e| SweepError::Io {
        path: path.clone(),
        what: what.clone(),
        source: e,
    }
}

/// Write `DIR/spec.toml` (the spec's text, when it has one) and `DIR/manifest.json` (spec
/// hash, shard count, rows per shard, parameters, outputs), making `dir` if needed.
pub fn prepare(spec: &Spec, dir: &Path) -> Result<(), SweepError> {
    std::fs::create_dir_all(dir).map_err(io(dir, "cannot make the output directory"))?;
    if let Some(text) = &spec.text {
        let p = dir.join("spec.toml");
        exoskin_model::fsutil::write_atomic(&p, text.as_bytes()).map_err(io(&p, "cannot write"))?;
    }
    let manifest = serde_json::json!({
        "format": "exoskin-sweep 1",
        "spec": spec.name,
        "spec_hash": spec.hash(),
        "base": spec.base_name,
        "shards": spec.shards,
        "rows": spec.row_count(),
        "rows_per_shard": (0..spec.shards).map(|i| spec.shard_range(i).len()).collect::<Vec<_>>(),
        "parameters": spec.parameters.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        "outputs": spec.outputs,
    });
    let p = dir.join("manifest.json");
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n";
    exoskin_model::fsutil::write_atomic(&p, text.as_bytes()).map_err(io(&p, "cannot write"))
}

/// Run shard `i` of `spec` into `out_dir` on `threads` threads (0: every core) and return
/// its file. A shard already there for this spec is not run again.
pub fn run_shard(
    spec: &Spec,
    i: usize,
    out_dir: &Path,
    threads: usize,
) -> Result<PathBuf, SweepError> {
    run_shard_with(spec, i, out_dir, threads, &Stop::never())
}

/// [`run_shard`], telling `observer` the rows finished (of the shard's) and stopping when
/// it says so (the shard is then not written).
pub fn run_shard_with(
    spec: &Spec,
    i: usize,
    out_dir: &Path,
    threads: usize,
    observer: &dyn Observer,
) -> Result<PathBuf, SweepError> {
    check_shard(spec, i)?;
    prepare(spec, out_dir)?;
    let tally = Tally::new(observer, spec.shard_range(i).len());
    pool(threads)?.install(|| write_shard(spec, i, out_dir, &tally))
}

fn check_shard(spec: &Spec, i: usize) -> Result<(), SweepError> {
    if i >= spec.shards {
        return Err(SweepError::NoSuchShard {
            shard: i,
            shards: spec.shards,
        });
    }
    Ok(())
}

fn pool(threads: usize) -> Result<rayon::ThreadPool, SweepError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| SweepError::Threads { threads, source })
}

/// Run and write one shard in the current thread pool (skipping it when done), counting
/// its rows on `tally`; once the tally says stop, the rows left are skipped and the shard
/// is not written.
fn write_shard(spec: &Spec, i: usize, dir: &Path, tally: &Tally) -> Result<PathBuf, SweepError> {
    let path = shard_path(dir, i);
    if shard_done(spec, dir, i) {
        return Ok(path);
    }
    let rows = spec.shard_rows(i);
    let outcomes: Vec<RowOutcome> = if spec.analysis.is_some() {
        crate::analysis::run_rows(spec, &rows, tally)
    } else {
        rows.par_iter()
            .map(|r| {
                if tally.stopped() {
                    return Err(RowError::internal("stopped"));
                }
                let o = run_row(spec, r);
                // a stop is seen by the next row, and below
                let _ = tally.add(1);
                o
            })
            .collect()
    };
    if let Err(why) = tally.check() {
        return Err(SweepError::Stopped(why));
    }
    let perr = |message: String| SweepError::Parquet {
        path: path.display().to_string(),
        message,
    };
    let b = batch(spec, &rows, &outcomes).map_err(|e| perr(e.to_string()))?;
    let meta = vec![
        KeyValue::new(HASH_KEY.to_string(), spec.hash().to_string()),
        KeyValue::new(SHARD_KEY.to_string(), i.to_string()),
        KeyValue::new("exoskin.shards".to_string(), spec.shards.to_string()),
    ];
    let bytes = parquet_bytes(b.schema(), &[b], meta).map_err(|e| perr(e.to_string()))?;
    exoskin_model::fsutil::write_atomic(&path, &bytes).map_err(io(&path, "cannot write"))?;
    Ok(path)
}

/// What a local run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRun {
    /// Shards run now.
    pub ran: Vec<usize>,
    /// Shards found done and skipped.
    pub skipped: Vec<usize>,
    /// The sweep's rows in all (run now or before).
    pub rows: usize,
}

/// The shards of `spec` not yet done in `dir`.
pub fn pending(spec: &Spec, dir: &Path) -> Vec<usize> {
    (0..spec.shards)
        .filter(|i| !shard_done(spec, dir, *i))
        .collect()
}

/// Run every shard not yet done, on `threads` threads (0: every core); shards and the rows
/// in them run in parallel. `observer` hears the rows finished (of the pending shards')
/// and may stop the run: the shards finished are kept, the others are left to run again.
pub fn run_local(
    spec: &Spec,
    dir: &Path,
    threads: usize,
    observer: &dyn Observer,
) -> Result<LocalRun, SweepError> {
    prepare(spec, dir)?;
    let todo = pending(spec, dir);
    let skipped = (0..spec.shards).filter(|i| !todo.contains(i)).collect();
    let rows = todo.iter().map(|i| spec.shard_range(*i).len()).sum();
    let tally = Tally::new(observer, rows);
    pool(threads)?.install(|| {
        todo.par_iter()
            .map(|i| write_shard(spec, *i, dir, &tally).map(|_| ()))
            .collect::<Result<Vec<()>, _>>()
    })?;
    Ok(LocalRun {
        ran: todo,
        skipped,
        rows: spec.row_count(),
    })
}

/// What a merge wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub path: PathBuf,
    pub rows: usize,
    /// Rows whose run failed (their `error` says why).
    pub failed: usize,
}

/// Join the shards in `dir` (all of them, for the spec of `dir/manifest.json`) into one
/// Parquet file in row order: `out`, or `dir/sweep.parquet`.
pub fn merge(dir: &Path, out: Option<&Path>) -> Result<Merged, SweepError> {
    let mpath = dir.join("manifest.json");
    let bad = |message: String| SweepError::Manifest {
        dir: dir.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(&mpath).map_err(|e| {
        bad(format!(
            "no readable manifest.json ({e}); is this the --out directory of `exoskin sweep`?"
        ))
    })?;
    let m: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("manifest.json: {e}")))?;
    let (Some(hash), Some(shards), Some(rows)) = (
        m["spec_hash"].as_str(),
        m["shards"].as_u64(),
        m["rows"].as_u64(),
    ) else {
        return Err(bad(
            "manifest.json lacks spec_hash, shards or rows; run the sweep again".into(),
        ));
    };
    let shards = shards as usize;
    let (mut missing, mut stale) = (Vec::new(), Vec::new());
    for i in 0..shards {
        match shard_stamp(&shard_path(dir, i)) {
            None => missing.push(i),
            Some((h, s)) if h != hash || s != Some(i) => stale.push(i),
            Some(_) => {}
        }
    }
    if !missing.is_empty() || !stale.is_empty() {
        return Err(SweepError::MissingShards {
            dir: dir.display().to_string(),
            shards,
            missing,
            stale,
        });
    }
    let mut batches = Vec::new();
    for i in 0..shards {
        batches.extend(read_parquet(&shard_path(dir, i))?.0);
    }
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join("sweep.parquet"));
    let perr = |message: String| SweepError::Parquet {
        path: out.display().to_string(),
        message,
    };
    // Shards are contiguous blocks in order: check the rows read are 0..rows.
    let mut next = 0u64;
    let mut failed = 0;
    for b in &batches {
        let row = b
            .column_by_name("row")
            .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
            .ok_or_else(|| perr("a shard has no `row` column".into()))?;
        for r in row.values() {
            if *r != next {
                return Err(perr(format!("row {next} expected, row {r} found")));
            }
            next += 1;
        }
        if let Some(st) = b
            .column_by_name("status")
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        {
            failed += st.iter().filter(|s| *s != Some("ok")).count();
        }
    }
    if next != rows {
        return Err(perr(format!(
            "the shards hold {next} rows, the manifest says {rows}"
        )));
    }
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => return Err(perr("the sweep has no rows".into())),
    };
    let meta = vec![
        KeyValue::new(HASH_KEY.to_string(), hash.to_string()),
        KeyValue::new("exoskin.rows".to_string(), rows.to_string()),
    ];
    let bytes = parquet_bytes(schema, &batches, meta).map_err(|e| perr(e.to_string()))?;
    exoskin_model::fsutil::write_atomic(&out, &bytes).map_err(io(&out, "cannot write"))?;
    Ok(Merged {
        path: out,
        rows: rows as usize,
        failed,
    })
}
