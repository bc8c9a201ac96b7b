//! Property tests: no input makes the parser, the classifier or the product checks panic,
//! whatever the text (arbitrary UTF-8, label-like noise, very long inputs), and what they
//! return is consistent.

use exoskin_labels::{date, parse, parse_expiry, Decoder, Product};
use proptest::prelude::*;

/// Characters that labels (and broken labels) are made of.
fn label_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('A', 'Z'),
        1 => proptest::char::range('0', '9'),
        3 => proptest::sample::select(vec![
            ' ', ',', ';', '\n', '\r', '(', ')', '[', ']', '/', '%', '.', ':', '-', '+', '*',
            '\u{2022}', '\u{2122}', '\u{00AE}', '\u{2013}', '\u{201C}', '\u{00A0}', '\u{FF0C}',
            '\u{FEFF}', '\u{0301}', '\u{1F600}', 'é', '엑', '\u{0}',
        ]),
        1 => any::<char>(),
    ]
}

fn label_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(label_char(), 0..max).prop_map(|v| v.into_iter().collect())
}

/// Fragments of real labels glued in random order.
fn fragments() -> impl Strategy<Value = String> {
    let parts = vec![
        "Ingredients:",
        "Aqua/Water/Eau",
        "Human Adipose Stem Cell Exosomes",
        "(",
        ")",
        ", ",
        "; ",
        "\n",
        "May contain (+/-):",
        "CI 77891",
        "Nano Liposome",
        "(and)",
        "5%",
        "0,5 %",
        "Directions:",
        "ExoGlow\u{2122} EV Complex (",
        "Exosome",
        "*organic",
        "1,2-Hexanediol",
        "[+/-",
        "]",
        "Sodium Hyalu-\n",
        "ronate",
        "INGR\u{C9}DIENTS :",
        "\u{C804}\u{C131}\u{BD84}:",
    ];
    proptest::collection::vec(proptest::sample::select(parts), 0..60).prop_map(|v| v.concat())
}

fn check_invariants(text: &str) {
    let parsed = parse(text);
    for (i, p) in parsed.iter().enumerate() {
        assert_eq!(p.position, i + 1);
        assert!(
            p.name.chars().any(|c| c.is_alphanumeric()),
            "empty name from {text:?}"
        );
        assert_eq!(p.name, p.name.trim());
        if let Some(v) = p.percent {
            assert!((0.0..=100.0).contains(&v));
        }
    }
    let d = Decoder::embedded().unwrap();
    let ings = d.ingredients(text);
    assert_eq!(ings.len(), parsed.len());
    // Either a report or a clear error, never a panic.
    match d.decode_label(text) {
        Ok(r) => assert!(!r.ingredients.is_empty()),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_utf8_never_panics(s in any::<String>()) {
        check_invariants(&s);
    }

    #[test]
    fn label_like_noise_never_panics(s in label_text(400)) {
        check_invariants(&s);
    }

    #[test]
    fn label_fragments_never_panic(s in fragments()) {
        check_invariants(&s);
    }

    #[test]
    fn product_files_never_panic(s in label_text(300)) {
        let _ = Product::from_toml_str(&s);
        let toml = format!("name = \"x\"\ningredients = '''{}'''\nclaims = [\"{}\"]\nexpiry_date = \"{}\"\n",
            s.replace('\'', ""), s.replace(['"', '\\', '\n', '\r'], ""), s.replace(['"', '\\', '\n', '\r'], ""));
        if let Ok(p) = Product::from_toml_str(&toml) {
            let r = Decoder::embedded().unwrap().check_product(&p, date(2026, 11, 23));
            prop_assert!(!r.flags.is_empty());
        }
    }

    #[test]
    fn expiry_parser_never_panics(s in label_text(40)) {
        let _ = parse_expiry(&s);
    }

    /// Adding separators and spaces around names does not change what is found.
    #[test]
    fn separators_are_interchangeable(sep in proptest::sample::select(vec![", ", "; ", "\n", " \u{2022} ", " | "])) {
        let names = ["Aqua", "Glycerin", "Human Adipose Stem Cell Exosomes", "Nano Liposome", "Phenoxyethanol"];
        let p = parse(&names.join(sep));
        let got: Vec<&str> = p.iter().map(|i| i.name.as_str()).collect();
        prop_assert_eq!(got, names.to_vec());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Long arbitrary texts (up to 50,000 characters of any Unicode, or label characters).
    #[test]
    fn long_arbitrary_texts_never_panic(
        any_chars in proptest::collection::vec(any::<char>(), 0..50_000),
        label_chars in label_text(50_000),
    ) {
        check_invariants(&any_chars.into_iter().collect::<String>());
        check_invariants(&label_chars);
    }
}

#[test]
fn very_long_inputs() {
    let d = Decoder::embedded().unwrap();
    // 2 MB of one unbroken word, of separators, of open parentheses, of markers.
    let long_word = "a".repeat(2_000_000);
    let seps = ",;\n".repeat(700_000);
    let parens = "(".repeat(1_000_000) + "Aqua, Glycerin";
    let markers = "+/-".repeat(300_000) + " CI 77891";
    let list = "Aqua, Glycerin, Human Adipose Stem Cell Exosomes, ".repeat(40_000);
    let colons = "Ingredients: ".repeat(100_000) + "Aqua";
    let nested = "Blend (".repeat(100_000) + "Aqua, Glycerin" + &")".repeat(100_000);
    let nested_lists = "(a, ".repeat(200_000) + &")".repeat(200_000);
    let dots = "A. ".repeat(300_000);
    for text in [
        &long_word,
        &seps,
        &parens,
        &markers,
        &list,
        &colons,
        &nested,
        &nested_lists,
        &dots,
    ] {
        let start = std::time::Instant::now();
        let ings = d.ingredients(text);
        let _ = d.decode_label(text);
        assert!(
            start.elapsed().as_secs() < 20,
            "too slow on {} bytes",
            text.len()
        );
        assert!(ings.len() <= text.len());
    }
    assert_eq!(d.ingredients(&list).len(), 120_000);
    assert!(d.ingredients(&markers).iter().all(|i| i.may_contain));
}
