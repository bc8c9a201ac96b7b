//! Decoding speed: 100,000 ingredient lists (parse + classify), one core.
//!
//! Run: `cargo bench -p exoskin-labels --bench decode`. The lists are the label corpus
//! (tests/corpus/labels.toml) cycled to 100,000, so formatting and look-alikes are as varied
//! as in the tests.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use exoskin_labels::Decoder;
use serde::Deserialize;
use std::hint::black_box;

#[derive(Deserialize)]
struct Case {
    text: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

const LISTS: usize = 100_000;

fn lists() -> Vec<String> {
    let corpus: Corpus =
        toml::from_str(include_str!("../tests/corpus/labels.toml")).expect("corpus");
    let texts: Vec<String> = corpus
        .case
        .into_iter()
        .filter(|c| c.error.is_none())
        .map(|c| c.text)
        .collect();
    texts.iter().cycle().take(LISTS).cloned().collect()
}

/// A full-length serum label (28 ingredients), rotated so that every list differs.
const LONG: &[&str] = &[
    "Aqua/Water/Eau",
    "Butylene Glycol",
    "Glycerin",
    "Niacinamide 5%",
    "Propanediol",
    "Human Adipose Stem Cell Exosomes",
    "1,2-Hexanediol",
    "Sodium Hyaluronate",
    "Panthenol",
    "Centella Asiatica Extract",
    "Rosa Damascena Callus Exosomes",
    "Hydrogenated Lecithin",
    "Cholesterol",
    "Ceramide NP",
    "Bifida Ferment Lysate",
    "Adenosine",
    "Allantoin",
    "Beta-Glucan",
    "sh-Oligopeptide-1",
    "Palmitoyl Tripeptide-1",
    "Carbomer",
    "Tromethamine",
    "Xanthan Gum",
    "Disodium EDTA",
    "Ethylhexylglycerin",
    "Phenoxyethanol",
    "Parfum",
    "Snow Lotus Exosome",
];

fn long_lists() -> Vec<String> {
    (0..LISTS)
        .map(|i| {
            let k = i % LONG.len();
            let names: Vec<&str> = LONG[k..].iter().chain(&LONG[..k]).copied().collect();
            format!(
                "Ingredients: {}. May contain (+/-): CI 77891.",
                names.join(", ")
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let d = Decoder::embedded().expect("bundled data");
    let lists = lists();
    let ingredients: usize = lists.iter().map(|l| d.ingredients(l).len()).sum();
    let bytes: usize = lists.iter().map(String::len).sum();
    eprintln!("{LISTS} lists, {ingredients} ingredients, {bytes} bytes");
    let mut g = c.benchmark_group("labels");
    g.sample_size(10);
    g.throughput(Throughput::Elements(LISTS as u64));
    // Each benchmark decodes every list once per iteration and sums a count, so that
    // nothing is optimised away.
    let mut run = |name: &str, lists: &[String], decode: &dyn Fn(&str) -> usize| {
        g.bench_function(name, |b| {
            b.iter(|| lists.iter().map(|l| decode(black_box(l))).sum::<usize>())
        });
    };
    run("decode_100k_lists", &lists, &|l| d.ingredients(l).len());
    run("decode_label_with_flags_100k_lists", &lists, &|l| {
        d.decode_label(l).map_or(0, |r| r.flags.len())
    });
    run(
        "decode_100k_full_length_lists_29_ingredients",
        &long_lists(),
        &|l| d.ingredients(l).len(),
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
