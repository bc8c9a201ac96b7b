//! Text normalisation: printed label characters to plain ones, and names to lookup keys.

use unicode_normalization::UnicodeNormalization;

/// Map the characters printed labels use to plain ones: compatibility forms first (Unicode
/// NFKC: full-width letters and digits, ligatures, super- and subscripts become their plain
/// twins, so `Ｇｌｙｃｅｒｉｎ` reads as `Glycerin`), then typographic dashes and quotes,
/// exotic spaces, full-width punctuation, bullets (become `,`), brackets (become
/// parentheses), trademark signs (removed; they are taken out before NFKC, which would spell
/// them as letters). Line breaks are kept (`\r\n` and `\r` become `\n`).
pub fn clean_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text
        .chars()
        .map(|c| match c {
            '\u{2122}' | '\u{2120}' => ' ',
            c => c,
        })
        .nfkc()
        .peekable();
    while let Some(c) = chars.next() {
        let mapped = match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    continue;
                }
                '\n'
            }
            '\n' => '\n',
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => '-',
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{00B4}' | '`' => {
                '\''
            }
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
            | '\u{00BB}' => '"',
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => continue,
            '\u{2122}' | '\u{00AE}' | '\u{00A9}' | '\u{2120}' | '\u{2117}' => ' ',
            '\u{FF0C}' | '\u{3001}' | '\u{FE50}' => ',',
            '\u{FF1B}' => ';',
            '\u{FF1A}' => ':',
            '\u{FF08}' | '[' | '{' | '\u{FF3B}' | '\u{3010}' => '(',
            '\u{FF09}' | ']' | '}' | '\u{FF3D}' | '\u{3011}' => ')',
            '\u{FF0F}' => '/',
            '\u{FF05}' => '%',
            '\u{2264}' => '<',
            '\u{2265}' => '>',
            '\u{2022}' | '\u{00B7}' | '\u{25CF}' | '\u{25AA}' | '\u{25E6}' | '\u{2219}'
            | '\u{2023}' | '\u{2043}' | '\u{25A0}' | '\u{25A1}' | '\u{25CB}' | '\u{25C6}'
            | '\u{2666}' | '\u{2713}' | '\u{2714}' | '\u{2605}' | '\u{30FB}' | '|' => ',',
            c if c.is_whitespace() => ' ',
            c if c.is_control() => ' ',
            c => c,
        };
        out.push(mapped);
    }
    out
}

/// Fold a character to lower-case ASCII where a Latin letter has an accent; other characters
/// are lower-cased as Unicode does.
fn fold_push(c: char, out: &mut String) {
    let folded = match c {
        'A'..='Z' => return out.push(c.to_ascii_lowercase()),
        'a'..='z' | '0'..='9' => return out.push(c),
        '\u{C0}'..='\u{C5}' | '\u{E0}'..='\u{E5}' => 'a',
        '\u{C7}' | '\u{E7}' => 'c',
        '\u{C8}'..='\u{CB}' | '\u{E8}'..='\u{EB}' => 'e',
        '\u{CC}'..='\u{CF}' | '\u{EC}'..='\u{EF}' => 'i',
        '\u{D1}' | '\u{F1}' => 'n',
        '\u{D2}'..='\u{D6}' | '\u{D8}' | '\u{F2}'..='\u{F6}' | '\u{F8}' => 'o',
        '\u{D9}'..='\u{DC}' | '\u{F9}'..='\u{FC}' => 'u',
        '\u{DD}' | '\u{FD}' | '\u{FF}' => 'y',
        '\u{DF}' => return out.push_str("ss"),
        '\u{C6}' | '\u{E6}' => return out.push_str("ae"),
        '\u{152}' | '\u{153}' => return out.push_str("oe"),
        c => {
            out.extend(c.to_lowercase());
            return;
        }
    };
    out.push(folded);
}

/// Words that carry no meaning for the lookup ("MSC-derived" = "MSC").
const FILLER: &[&str] = &["derived", "from", "of", "the"];

/// Fold one word: plural `s` dropped (long words, not `-ss`, `-us`, `-is`, nor the fungal
/// genera `-myces`), a few synonyms.
fn fold_word(w: &str) -> &str {
    match w {
        "medium" => return "media",
        "evs" => return "ev",
        "extracellular" | "exosome" => return w,
        _ => {}
    }
    let b = w.as_bytes();
    if b.len() >= 5
        && b[b.len() - 1] == b's'
        && !matches!(b[b.len() - 2], b's' | b'u' | b'i')
        && w.is_ascii()
        && !w.ends_with("myces")
    {
        &w[..w.len() - 1]
    } else {
        w
    }
}

/// The lookup key of a name: lower case, accents folded, apostrophes dropped, every other
/// non-alphanumeric character a word break, plurals folded, filler words dropped, words joined
/// by one space. `"MSC-Derived Extracellular Vesicles"` and `"msc derived extracellular
/// vesicle"` have the same key.
pub fn key(name: &str) -> String {
    let mut lower = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '\'' | '\u{2019}' | '\u{2018}') {
            continue;
        }
        if c.is_alphanumeric() {
            fold_push(c, &mut lower);
        } else {
            lower.push(' ');
        }
    }
    let mut out = String::with_capacity(lower.len());
    for w in lower.split(' ').filter(|w| !w.is_empty()) {
        let w = fold_word(w);
        if FILLER.contains(&w) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Collapse runs of spaces, trim, and tidy spaces around `/` and inside parentheses.
pub fn tidy_spaces(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if c == ' ' || c == '\n' {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            let last = out.chars().last();
            if !matches!(c, '/' | ')' | ',') && !matches!(last, Some('/') | Some('(')) {
                out.push(' ');
            }
            pending_space = false;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fold_case_plural_punctuation_and_filler() {
        assert_eq!(
            key("MSC-Derived Extracellular Vesicles"),
            key("msc extracellular vesicle")
        );
        assert_eq!(key("Wharton’s Jelly"), key("whartons jelly"));
        assert_eq!(key("Crème"), "creme");
        assert_eq!(key("Lactobacillus"), "lactobacillus");
        assert_eq!(key("Conditioned Medium"), "conditioned media");
        assert_eq!(key("EVs"), "ev");
    }

    #[test]
    fn clean_maps_typography() {
        assert_eq!(
            clean_text("Aqua\u{2014}Eau\u{00A0}X\u{2122}"),
            "Aqua-Eau X "
        );
        assert_eq!(clean_text("a\u{2022}b\r\nc"), "a,b\nc");
        assert_eq!(clean_text("[+/-]"), "(+/-)");
    }

    #[test]
    fn tidy_collapses_spaces() {
        assert_eq!(tidy_spaces("  Aqua /  Water / Eau  "), "Aqua/Water/Eau");
        assert_eq!(tidy_spaces("Oil ( Coconut )"), "Oil (Coconut)");
    }
}
