//! Typographic forms of numbers and units for labels: a true minus sign, powers of ten with
//! superscript exponents (`2×10⁶`), and units as a journal prints them (`µm`, `g/m²/h`,
//! `°C`) from the ASCII spellings that data files use (`um`, `g/m2/h`, `degC`).

/// The superscript form of an ASCII digit or sign.
fn superscript(c: char) -> Option<char> {
    Some(match c {
        '0' => '⁰',
        '1' => '¹',
        '2' => '²',
        '3' => '³',
        '4' => '⁴',
        '5' => '⁵',
        '6' => '⁶',
        '7' => '⁷',
        '8' => '⁸',
        '9' => '⁹',
        '-' => '⁻',
        '+' => '⁺',
        _ => return None,
    })
}

/// A tick label as printed: `-1.5` becomes `−1.5`, `2.5e6` becomes `2.5×10⁶`, `1e-5` becomes
/// `10⁻⁵`. Anything that is not a number in those forms is returned unchanged.
///
/// ```
/// use exoskin_plot::typeset_number;
/// assert_eq!(typeset_number("-0.5"), "\u{2212}0.5");
/// assert_eq!(typeset_number("2.5e6"), "2.5×10⁶");
/// assert_eq!(typeset_number("1e-5"), "10⁻⁵");
/// assert_eq!(typeset_number("-1e12"), "\u{2212}10¹²");
/// assert_eq!(typeset_number("abc"), "abc");
/// ```
pub fn typeset_number(label: &str) -> String {
    if label.parse::<f64>().is_err() || label.contains(['n', 'N', 'i', 'I']) {
        return label.to_string();
    }
    let (sign, body) = match label.strip_prefix('-') {
        Some(rest) => ("\u{2212}", rest),
        None => ("", label),
    };
    let Some((mantissa, exp)) = body.split_once(['e', 'E']) else {
        return format!("{sign}{body}");
    };
    let exp = exp.strip_prefix('+').unwrap_or(exp);
    let sup: Option<String> = exp.chars().map(superscript).collect();
    let Some(sup) = sup else {
        return label.to_string();
    };
    if sup.is_empty() {
        return label.to_string();
    }
    if mantissa == "1" {
        format!("{sign}10{sup}")
    } else {
        format!("{sign}{mantissa}×10{sup}")
    }
}

/// Length and area units that take a power: `cm2` is `cm²`.
const POWERED: [&str; 7] = ["m", "cm", "mm", "um", "µm", "nm", "km"];

/// A unit, or a label holding units, as printed: `um` → `µm`, `cm2` → `cm²`, `g/m2/h` →
/// `g/m²/h`, `mm3` → `mm³`, `degC` → `°C`, `+/-` → `±`, `1e6` → `10⁶`. Only whole words
/// change, so names such as the Cutometer's `R2` or the word `umbrella` stay as they are.
///
/// ```
/// use exoskin_plot::typeset_units;
/// assert_eq!(typeset_units("g/m2/h"), "g/m²/h");
/// assert_eq!(typeset_units("change (um)"), "change (µm)");
/// assert_eq!(typeset_units("per cm2, +/- SD"), "per cm², ± SD");
/// assert_eq!(typeset_units("R2 (Ua/Uf) at 32 degC"), "R2 (Ua/Uf) at 32 °C");
/// ```
pub fn typeset_units(text: &str) -> String {
    let text = text.replace("+/-", "±");
    let mut out = String::with_capacity(text.len() + 8);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if !word.is_empty() {
            out.push_str(&unit_word(word));
            word.clear();
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '.' || c == '-' && word.ends_with(['e', 'E']) {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// One word of a label, typeset if it is a unit or a power of ten.
fn unit_word(word: &str) -> String {
    match word {
        "um" => return "µm".into(),
        "degC" => return "°C".into(),
        _ => {}
    }
    // A number in scientific notation.
    if word.starts_with(|c: char| c.is_ascii_digit())
        && word.contains(['e', 'E'])
        && word.parse::<f64>().is_ok()
    {
        return typeset_number(word);
    }
    // A length unit with a power.
    let digits = word.trim_start_matches(|c: char| !c.is_ascii_digit());
    let unit = &word[..word.len() - digits.len()];
    if digits.len() == 1 && POWERED.contains(&unit) {
        if let Some(sup) = digits.chars().next().and_then(superscript) {
            let unit = if unit == "um" { "µm" } else { unit };
            return format!("{unit}{sup}");
        }
    }
    word.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(typeset_number("0"), "0");
        assert_eq!(typeset_number("12.5"), "12.5");
        assert_eq!(typeset_number("-3"), "\u{2212}3");
        assert_eq!(typeset_number("4e6"), "4×10⁶");
        assert_eq!(typeset_number("2.50e-7"), "2.50×10⁻⁷");
        assert_eq!(typeset_number("1e+3"), "10³");
        assert_eq!(typeset_number("NaN"), "NaN");
        assert_eq!(typeset_number("inf"), "inf");
        assert_eq!(typeset_number(""), "");
    }

    #[test]
    fn units_change_only_whole_words() {
        assert_eq!(typeset_units("um"), "µm");
        assert_eq!(typeset_units("mm3 and m2"), "mm³ and m²");
        assert_eq!(typeset_units("cumulative per cm2"), "cumulative per cm²");
        assert_eq!(typeset_units("umbrella R2 x2 m22"), "umbrella R2 x2 m22");
        assert_eq!(typeset_units("1e6 vesicles"), "10⁶ vesicles");
        assert_eq!(typeset_units("% of area"), "% of area");
        assert_eq!(typeset_units("EI (AU)"), "EI (AU)");
    }
}
