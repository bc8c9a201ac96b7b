//! Timing helper: `cargo run --release -p exoskin-labels --example timing -- N` decodes N
//! full-length labels (29 ingredients) and prints the time; with `adversarial` it times
//! pathological inputs of N bytes (linear-time check).
fn main() {
    let d = exoskin_labels::Decoder::embedded().unwrap();
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map_or(100_000, |s| s.parse().unwrap_or(100_000));
    if args.next().as_deref() == Some("adversarial") {
        let inputs = [
            ("long_word", "a".repeat(n)),
            ("separators", ",;\n".repeat(n / 3)),
            ("open_parens", "(".repeat(n) + "Aqua, Glycerin"),
            ("markers", "+/-".repeat(n / 3) + " CI 77891"),
            ("nested_lists", "(a, ".repeat(n / 4) + &")".repeat(n / 4)),
            ("full_stops", "A. ".repeat(n / 3)),
        ];
        for (name, text) in inputs {
            let t = std::time::Instant::now();
            let k = d.ingredients(&text).len();
            println!("{name}: {k} ingredients in {:?}", t.elapsed());
        }
        return;
    }
    let label =
        "Ingredients: Aqua/Water/Eau, Butylene Glycol, Glycerin, Niacinamide 5%, Propanediol, \
        Human Adipose Stem Cell Exosomes, 1,2-Hexanediol, Sodium Hyaluronate, Panthenol, \
        Centella Asiatica Extract, Rosa Damascena Callus Exosomes, Hydrogenated Lecithin, \
        Cholesterol, Ceramide NP, Bifida Ferment Lysate, Adenosine, Allantoin, Beta-Glucan, \
        sh-Oligopeptide-1, Palmitoyl Tripeptide-1, Carbomer, Tromethamine, Xanthan Gum, \
        Disodium EDTA, Ethylhexylglycerin, Phenoxyethanol, Parfum, Snow Lotus Exosome. \
        May contain (+/-): CI 77891.";
    let t = std::time::Instant::now();
    let mut total = 0;
    for _ in 0..n {
        total += d.ingredients(std::hint::black_box(label)).len();
    }
    println!("{n} lists, {total} ingredients in {:?}", t.elapsed());
}
