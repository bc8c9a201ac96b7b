//! Bounded mutation fuzz over every input file kind: scenarios, trial files, product files,
//! label text and QC records. Each bundled file is mutated with a fixed seed (numbers set to
//! 0, -1, 1e-300, 1e-305, 5e-324, 1e308, inf, nan; values of the wrong type; duplicated,
//! deleted and swapped lines; unicode junk; truncation) and every mutant must give either a
//! result whose numbers are all finite or a clean, located error: no panic, no hang.
//!
//! Cost bound (stated): a mutant scenario that validates runs the real code path (transport,
//! wound and response), but at most [`RUNS_PER_FILE`] in-vivo and Franz runs per bundled
//! scenario; later valid mutants of that file are validated only, and counted apart. In-vivo
//! runs are cut to their first [`DAYS_RUN`] days (regimen days and duration; everything else,
//! numerics included, as validated). Trial
//! files are parsed and validated (their arm scenarios included), not simulated. The counts
//! and the time are printed (`cargo test --release -p exoskin --test fuzz -- --nocapture`)
//! and recorded in docs/fuzz.md.

use exoskin_batch::record::QcRecord;
use exoskin_labels::{Decoder, Product};
use exoskin_model::{read_scenario, Scenario, TransportParams};
use exoskin_response::{culture, try_simulate_in_vivo, ResponseParams};
use exoskin_transport::Budget;
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Mutants per bundled file in the suite; `EXOSKIN_FUZZ_MUTANTS` sets another count (the
/// longer runs recorded in docs/fuzz.md).
const MUTANTS_PER_FILE: usize = 110;

fn mutants_per_file() -> usize {
    std::env::var("EXOSKIN_FUZZ_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MUTANTS_PER_FILE)
}

/// The numerics at their validated maxima (the grid of a reported attack: 2000 cells per
/// layer, 200 radial cells, 32 size classes, two years in steps of 0.00876 h).
const NUMERICS_MAXIMA: &str =
    "\n[numerics]\ncells_per_layer = 2000\nradial_cells = 200\ndt_max_h = 0.00876\n";

/// The scenario with its `[numerics]` table replaced by [`NUMERICS_MAXIMA`], and its size
/// classes and duration (where the file has them) at their maxima.
fn at_numerics_maxima(text: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    for line in text.lines() {
        let header = line.trim_start().starts_with('[');
        if header {
            skip = line.trim() == "[numerics]";
        }
        if !skip {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str(NUMERICS_MAXIMA);
    let out = set_first(&out, "classes = ", "32");
    set_first(&out, "duration_h = ", "17520.0")
}
/// Simulations run per bundled scenario (the rest of its valid mutants are validated only).
const RUNS_PER_FILE: usize = 3;
/// Days of an in-vivo mutant that are simulated.
const DAYS_RUN: u32 = 7;
/// Slowest single input allowed: far above any real run here (a hang shows as a failure).
const MAX_INPUT: Duration = Duration::from_secs(20);

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1e-300",
    "1e-305",
    "5e-324",
    "1e308",
    "inf",
    "nan",
    "-inf",
    "-0.0",
    "1e30",
    "\"two\"",
    "true",
    "[]",
    "{}",
    "9223372036854775807",
    "-9223372036854775808",
];
const JUNK: &[&str] = &[
    "\u{0}",
    "\u{FEFF}",
    "\u{202E}",
    "\u{FF27}\u{FF4C}\u{FF59}",
    "é",
    "\u{1F642}",
    "\u{0301}",
    "\"",
    "[",
    "]]",
    "=",
    "\n[experiment]\n",
    "\\u",
    "#",
];

/// Byte ranges of number literals (digits with sign, dot, exponent) outside comments.
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut in_comment = false;
    while i < b.len() {
        match b[i] {
            b'#' => in_comment = true,
            b'\n' => in_comment = false,
            c if !in_comment
                && c.is_ascii_digit()
                && (i == 0 || !b[i - 1].is_ascii_alphanumeric() && b[i - 1] != b'_') =>
            {
                let start = if i > 0 && b[i - 1] == b'-' { i - 1 } else { i };
                let mut j = i;
                while j < b.len() && (b[j].is_ascii_digit() || b"._eE+-".contains(&b[j])) {
                    j += 1;
                }
                out.push((start, j));
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// `text` with the value after the first `key` (to the end of its line) replaced by `v`.
fn set_first(text: &str, key: &str, v: &str) -> String {
    match text.find(key) {
        Some(i) => {
            let start = i + key.len();
            let end = text[start..].find('\n').map_or(text.len(), |e| start + e);
            format!("{}{v}{}", &text[..start], &text[end..])
        }
        None => text.to_string(),
    }
}

fn boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One mutation of `text`.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let lines: Vec<&str> = text.lines().collect();
    match rng.below(8) {
        0 | 1 => {
            let nums = numbers(text);
            if nums.is_empty() {
                return text.replacen('=', "= 1e308 #", 1);
            }
            let (a, b) = nums[rng.below(nums.len())];
            format!("{}{}{}", &text[..a], rng.pick(NUMBERS), &text[b..])
        }
        2 => {
            // A string value becomes a number, or a number a string.
            let quoted: Vec<usize> = text.match_indices("= \"").map(|(i, _)| i).collect();
            if quoted.is_empty() {
                return text.to_string();
            }
            let i = quoted[rng.below(quoted.len())] + 2;
            let end = text[i + 1..].find('"').map_or(text.len(), |e| i + 2 + e);
            format!(
                "{}{}{}",
                &text[..i],
                rng.pick(&["3", "-1", "1e308", "nan", "[1, 2]"]),
                &text[end..]
            )
        }
        3 => {
            // Duplicate a `key = value` line.
            let keyed: Vec<usize> = (0..lines.len())
                .filter(|&i| lines[i].contains(" = "))
                .collect();
            if keyed.is_empty() {
                return text.to_string();
            }
            let k = keyed[rng.below(keyed.len())];
            let mut out: Vec<&str> = lines.clone();
            out.insert(k + 1, lines[k]);
            out.join("\n")
        }
        4 => {
            let mut out = lines.clone();
            if !out.is_empty() {
                out.remove(rng.below(out.len()));
            }
            out.join("\n")
        }
        5 => {
            let mut out = lines.clone();
            if out.len() > 1 {
                let (a, b) = (rng.below(out.len()), rng.below(out.len()));
                out.swap(a, b);
            }
            out.join("\n")
        }
        6 => {
            let i = boundary(text, rng.below(text.len() + 1));
            format!("{}{}{}", &text[..i], rng.pick(JUNK), &text[i..])
        }
        _ => text[..boundary(text, rng.below(text.len() + 1))].to_string(),
    }
}

/// Names of keys whose value may be JSON null (an Option that is absent); any other null,
/// and any null inside an array, is a number that was not finite.
const MAY_BE_NULL: &[&str] = &[
    "wound_closure_h",
    "channel_closure_h",
    "fit",
    "theoretical_lag_time_h",
    "channel",
];

fn non_finite(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Null => out.push(path.to_string()),
        Value::Number(n) if !n.as_f64().is_some_and(f64::is_finite) => out.push(path.to_string()),
        Value::Array(a) => a.iter().for_each(|x| non_finite(x, path, out)),
        Value::Object(m) => {
            for (k, x) in m {
                if !(x.is_null() && MAY_BE_NULL.contains(&k.as_str())) {
                    non_finite(x, &format!("{path}.{k}"), out);
                }
            }
        }
        _ => {}
    }
}

/// The first [`DAYS_RUN`] days of an in-vivo scenario.
fn shortened(v: &exoskin_model::InVivo) -> exoskin_model::InVivo {
    let mut w = v.clone();
    w.regimen.days = w.regimen.days.min(DAYS_RUN);
    w.experiment.duration_h = w.experiment.duration_h.min(24.0 * DAYS_RUN as f64);
    w.experiment.output_interval_h = w.experiment.output_interval_h.min(w.experiment.duration_h);
    w
}

#[derive(Default, Debug)]
struct Tally {
    inputs: usize,
    errors: usize,
    ok: usize,
    simulated: usize,
    validated_only: usize,
    /// Valid scenarios refused up front by the cost estimate.
    refused: usize,
    failures: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum FileKind {
    Scenario,
    Trial,
    Product,
    LabelText,
    Qc,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

/// Check one input; `Err` describes a failure (a non-finite output or a bad error).
fn check(
    kind: FileKind,
    text: &str,
    base: &Path,
    runs_left: &mut usize,
    t: &mut Tally,
) -> Result<(), String> {
    let name = "fuzz.toml";
    match kind {
        FileKind::Scenario => match read_scenario(text, name) {
            Err(e) => {
                t.errors += 1;
                let s = e.to_string();
                if !s.starts_with(name) || s.len() <= name.len() + 2 {
                    return Err(format!("unlocated error: {s}"));
                }
            }
            Ok(s) => {
                t.ok += 1;
                // Every front end checks the cost before running: past the budget, a clean
                // error naming the key, the estimate and the limit.
                let (tp, rp) = (TransportParams::defaults(), ResponseParams::defaults());
                if let Err(e) =
                    exoskin_api::simulate::check_cost(&s, name, tp, rp, &Budget::DEFAULT)
                {
                    t.refused += 1;
                    let m = e.to_string();
                    if e.field().is_none() || !m.contains("more than the limit") {
                        return Err(format!("a cost refusal without its key or limit: {m}"));
                    }
                    return Ok(());
                }
                if *runs_left == 0 {
                    t.validated_only += 1;
                    return Ok(());
                }
                *runs_left -= 1;
                t.simulated += 1;
                let doc = match &s {
                    Scenario::InVivo(v) => match try_simulate_in_vivo(&shortened(v), tp, rp) {
                        Ok(sim) => {
                            serde_json::json!({"run": sim.transport, "outcomes": sim.outcomes})
                        }
                        Err(e) => return Err(format!("a validated scenario failed to run: {e}")),
                    },
                    Scenario::FranzCell(_) => match exoskin_transport::simulate(&s, tp) {
                        Ok(Some(exoskin_transport::Transport::Franz(f))) => {
                            serde_json::to_value(&f).unwrap()
                        }
                        other => {
                            return Err(format!("a validated Franz cell failed to run: {other:?}"))
                        }
                    },
                    Scenario::CellCulture(c) => {
                        serde_json::to_value(culture::simulate_culture(c, rp)).unwrap()
                    }
                };
                let mut bad = Vec::new();
                non_finite(&doc, "", &mut bad);
                if !bad.is_empty() {
                    return Err(format!(
                        "non-finite output at {:?}",
                        &bad[..bad.len().min(3)]
                    ));
                }
            }
        },
        FileKind::Trial => match exoskin_trials::spec::parse_trial(text, name, base) {
            Err(e) => {
                t.errors += 1;
                if !e.to_string().starts_with(name) && !e.to_string().contains(".toml") {
                    return Err(format!("unlocated error: {e}"));
                }
            }
            Ok(_) => {
                t.ok += 1;
                t.validated_only += 1;
            }
        },
        FileKind::Product => match Product::from_toml_str(text) {
            Err(_) => t.errors += 1,
            Ok(p) => {
                t.ok += 1;
                let r = Decoder::embedded()
                    .unwrap()
                    .check_product(&p, exoskin_labels::date(2026, 1, 1));
                serde_json::to_string(&r).map_err(|e| e.to_string())?;
            }
        },
        FileKind::LabelText => match Decoder::embedded().unwrap().decode_label(text) {
            Err(_) => t.errors += 1,
            Ok(r) => {
                t.ok += 1;
                serde_json::to_string(&r).map_err(|e| e.to_string())?;
            }
        },
        FileKind::Qc => match QcRecord::parse(text, name) {
            Err(_) => t.errors += 1,
            Ok(_) => t.ok += 1,
        },
    }
    Ok(())
}

#[test]
fn mutated_input_files_give_a_result_or_a_clean_error() {
    let started = Instant::now();
    let mut sets: Vec<(FileKind, PathBuf)> = Vec::new();
    for dir in ["scenarios", "scenarios/claims", "trials/scenarios"] {
        sets.extend(
            files(dir, "toml")
                .into_iter()
                .map(|p| (FileKind::Scenario, p)),
        );
    }
    sets.extend(
        files("trials", "toml")
            .into_iter()
            .map(|p| (FileKind::Trial, p)),
    );
    sets.extend(
        files("examples/labels", "toml")
            .into_iter()
            .map(|p| (FileKind::Product, p)),
    );
    sets.extend(
        files("examples/labels", "txt")
            .into_iter()
            .map(|p| (FileKind::LabelText, p)),
    );
    sets.extend(
        files("examples/qc", "toml")
            .into_iter()
            .map(|p| (FileKind::Qc, p)),
    );
    sets.extend(
        files("examples/qc", "json")
            .into_iter()
            .map(|p| (FileKind::Qc, p)),
    );
    let mut t = Tally::default();
    let mut slowest = Duration::ZERO;
    let mut rng = Rng(0x5EED_2026);
    for (kind, path) in &sets {
        let original = std::fs::read_to_string(path).unwrap();
        let base = path.parent().unwrap().to_path_buf();
        let mut runs_left = RUNS_PER_FILE;
        // The fuzz cases reported against the scenario files, first, then random mutants.
        let mut inputs: Vec<String> = Vec::new();
        if *kind == FileKind::Scenario {
            for v in ["1e-305", "1e-300", "5e-324"] {
                for key in ["thickness_um = ", "partition = ", "dose_ul_per_cm2 = "] {
                    inputs.push(set_first(&original, key, v));
                }
            }
        }
        if *kind == FileKind::Scenario {
            inputs.push(at_numerics_maxima(&original));
        }
        for _ in 0..mutants_per_file() {
            let mut m = mutate(&original, &mut rng);
            for _ in 0..rng.below(3) {
                m = mutate(&m, &mut rng);
            }
            inputs.push(m);
        }
        for text in inputs {
            t.inputs += 1;
            let t0 = Instant::now();
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                check(*kind, &text, &base, &mut runs_left, &mut t)
            }));
            let took = t0.elapsed();
            slowest = slowest.max(took);
            let why = match outcome {
                Ok(Ok(())) if took <= MAX_INPUT => continue,
                Ok(Ok(())) => format!("took {took:?}"),
                Ok(Err(e)) => e,
                Err(p) => format!(
                    "panicked: {}",
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default()
                ),
            };
            t.failures.push(format!(
                "{}: {why}\n--- input ---\n{text}\n---",
                path.display()
            ));
        }
    }
    println!(
        "fuzz: {} inputs from {} files in {:.1} s (slowest input {:.2} s): {} clean errors, {} valid \
         ({} simulated, {} validated only, {} refused by the cost estimate)",
        t.inputs,
        sets.len(),
        started.elapsed().as_secs_f64(),
        slowest.as_secs_f64(),
        t.errors,
        t.ok,
        t.simulated,
        t.validated_only,
        t.refused
    );
    assert!(
        t.refused > 0,
        "no scenario at the numerics maxima was refused"
    );
    assert!(t.inputs >= 3000, "only {} inputs", t.inputs);
    assert!(
        t.failures.is_empty(),
        "{} of {} inputs failed; first:\n{}",
        t.failures.len(),
        t.inputs,
        t.failures[..t.failures.len().min(3)].join("\n")
    );
}
