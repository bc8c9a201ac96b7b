fn main() {
    let d = exoskin_labels::Decoder::embedded().unwrap();
    let n: usize = std::env::args()
        .nth(1)
        .map_or(100_000, |s| s.parse().unwrap());
    let inputs = [
        ("long_word", "a".repeat(n)),
        ("seps", ",;\n".repeat(n / 3)),
        ("parens", "(".repeat(n) + "Aqua, Glycerin"),
        ("markers", "+/-".repeat(n / 3) + " CI 77891"),
        (
            "list",
            "Aqua, Glycerin, Human Adipose Stem Cell Exosomes, ".repeat(n / 50),
        ),
        ("colons", "Ingredients: ".repeat(n / 13) + "Aqua"),
        (
            "nested",
            "Blend (".repeat(n / 7) + "Aqua, Glycerin" + &")".repeat(n / 7),
        ),
        ("nested_lists", "(a, ".repeat(n / 4) + &")".repeat(n / 4)),
        ("and", "Aqua (and) ".repeat(n / 10)),
        ("dots", "A. ".repeat(n / 3)),
        ("pct", "5% ".repeat(n / 3)),
        (
            "newlines_lower",
            "a-
b
"
            .repeat(n / 5)
                + ", x, y",
        ),
    ];
    for (name, text) in inputs {
        let t = std::time::Instant::now();
        let k = d.ingredients(&text).len();
        let t1 = t.elapsed();
        let _ = d.decode_label(&text);
        println!("{name}: {k} ingredients, {:?} / {:?}", t1, t.elapsed());
    }
}
