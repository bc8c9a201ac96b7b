//! Bounded mutation fuzzing of QC records: the bundled examples (TOML and JSON) with lines
//! deleted, duplicated and swapped, characters flipped, numbers replaced by extreme or
//! non-finite values, strings by huge ones, and values by ones of the wrong type. Every
//! input must parse and assess to a result or a clean error: no panic, and nothing
//! non-finite in any output. The seed is fixed, so every run sees the same inputs.
mod common;
use common::*;
use exoskin_batch::cert::{self, IssueOptions};
use exoskin_batch::profile::Profile;
use exoskin_batch::record::QcRecord;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const EXAMPLES: [&str; 6] = [
    "pass_msc_serum.toml",
    "pass_plant_mist.json",
    "fail_markers_calnexin.toml",
    "fail_no_gmp_screening.toml",
    "fail_purity_endotoxin.toml",
    "fail_viable_cells.toml",
];

const NUMBERS: [&str; 10] = [
    "1e308",
    "-1e308",
    "1e999",
    "-0",
    "nan",
    "inf",
    "-inf",
    "NaN",
    "18446744073709551616",
    "-1",
];
const VALUES: [&str; 8] = ["[1, 2]", "{}", "true", "\"x\"", "null", "0", "\"\"", "[]"];
const CHARS: [char; 10] = ['"', '{', '}', '[', '=', ',', '\n', '\\', 'é', '\0'];

/// One mutation: what to do, and two numbers that pick lines, positions and replacements.
type Op = (u8, u32, u32);

fn mutate(text: &str, ops: &[Op]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for &(kind, a, b) in ops {
        if lines.is_empty() {
            break;
        }
        let i = a as usize % lines.len();
        let j = b as usize % lines.len();
        match kind {
            0 => {
                lines.remove(i);
            }
            1 => lines.insert(i, lines[i].clone()),
            2 => lines.swap(i, j),
            3 => {
                let chars: Vec<char> = lines[i].chars().collect();
                if !chars.is_empty() {
                    let mut c = chars;
                    let k = b as usize % c.len();
                    c[k] = CHARS[(a as usize / 7) % CHARS.len()];
                    lines[i] = c.into_iter().collect();
                }
            }
            4 => lines[i] = replace_number(&lines[i], NUMBERS[b as usize % NUMBERS.len()]),
            5 => lines[i] = replace_value(&lines[i], &format!("\"{}\"", "A".repeat(100_000))),
            6 => lines[i] = replace_value(&lines[i], VALUES[b as usize % VALUES.len()]),
            _ => {
                let keep = b as usize % (lines.len() + 1);
                lines.truncate(keep);
            }
        }
    }
    lines.join("\n")
}

/// The first run of digits (with its sign, point and exponent) replaced by `with`.
fn replace_number(line: &str, with: &str) -> String {
    let b = line.as_bytes();
    let Some(start) = b.iter().position(u8::is_ascii_digit) else {
        return line.to_string();
    };
    let start = if start > 0 && b[start - 1] == b'-' {
        start - 1
    } else {
        start
    };
    let len = b[start..]
        .iter()
        .position(|c| !(c.is_ascii_digit() || b".eE+-_".contains(c)))
        .unwrap_or(b.len() - start);
    format!("{}{with}{}", &line[..start], &line[start + len..])
}

/// Everything after the first `=` (TOML) or `:` (JSON) replaced by `with`, keeping a JSON
/// line's trailing comma.
fn replace_value(line: &str, with: &str) -> String {
    match line.find(['=', ':']) {
        Some(k) => {
            let comma = if line.trim_end().ends_with(',') {
                ","
            } else {
                ""
            };
            format!("{} {with}{comma}", &line[..=k])
        }
        None => line.to_string(),
    }
}

fn assert_finite_text(what: &str, s: &str) {
    for bad in ["NaN", "inf"] {
        assert!(!s.contains(bad), "{what} contains {bad}: {s}");
    }
}

#[test]
fn mutated_records_parse_or_fail_cleanly() {
    let texts: Vec<String> = EXAMPLES
        .iter()
        .map(|n| std::fs::read_to_string(examples_dir().join(n)).unwrap())
        .collect();
    let profile = Profile::default_profile();
    let key = key(3);
    let ops = vec((0u8..8, any::<u32>(), any::<u32>()), 1..5);
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 1500,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let parsed = std::cell::Cell::new(0usize);
    let rejected = std::cell::Cell::new(0usize);
    runner
        .run(&(0..texts.len(), ops), |(which, ops)| {
            let input = mutate(&texts[which], &ops);
            match QcRecord::parse(&input, EXAMPLES[which]) {
                Err(e) => {
                    rejected.set(rejected.get() + 1);
                    let msg = e.to_string();
                    prop_assert!(!msg.is_empty());
                    prop_assert!(e.is_bad_input(), "{msg}");
                }
                Ok(rec) => {
                    parsed.set(parsed.get() + 1);
                    let a = profile.assess(&rec);
                    for c in &a.checks {
                        assert_finite_text(&c.id, &c.value);
                        assert_finite_text(&c.id, &c.limit);
                    }
                    let issued = cert::issue(
                        &rec,
                        &key,
                        &IssueOptions {
                            profile: &profile,
                            resolver: "id.example.com",
                            issued_at: t0(),
                            allow_failing: true,
                        },
                    );
                    if let Ok(i) = issued {
                        prop_assert!(!i.text.contains("null"), "a number became null");
                        let v = cert::verify_signature(&i.certificate, Some(&key.verifying_key()));
                        prop_assert!(v.is_ok(), "{v:?}");
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    // The mutations must exercise both paths, or the test says little.
    let (parsed, rejected) = (parsed.get(), rejected.get());
    assert!(
        parsed >= 50 && rejected >= 500,
        "parsed {parsed}, rejected {rejected}"
    );
}
