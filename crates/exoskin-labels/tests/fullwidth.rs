//! Compatibility characters (Unicode NFKC): a list typed in full-width forms, as East Asian
//! labels and keyboards print it, decodes exactly like its ASCII twin.

use exoskin_labels::Decoder;

#[test]
fn a_full_width_list_decodes_like_its_ascii_twin() {
    let ascii = "Glycerin, Human Adipose Stem Cell Exosomes (2%), Niacinamide";
    // U+FF01..U+FF5E are the full-width forms of U+0021..U+007E; U+3000 is the ideographic space.
    let wide: String = ascii
        .chars()
        .map(|c| match c {
            ' ' => '\u{3000}',
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap(),
            c => c,
        })
        .collect();
    assert!(wide.starts_with("Ｇｌｙｃｅｒｉｎ，"), "{wide}");
    let d = Decoder::embedded().unwrap();
    let a = d.decode_label(ascii).unwrap();
    let w = d.decode_label(&wide).unwrap();
    assert_eq!(a.ingredients.len(), 3);
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        serde_json::to_value(&w).unwrap()
    );
}

#[test]
fn trademark_signs_are_removed_not_spelled_out() {
    let d = Decoder::embedded().unwrap();
    let r = d
        .decode_label("Aqua, ExoGlow\u{2122} Complex, Glycerin")
        .unwrap();
    assert_eq!(r.ingredients[1].name, "ExoGlow Complex");
}
