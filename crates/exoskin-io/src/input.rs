//! One place for reading TOML input files (scenarios, product files, trial files, QC
//! records): every problem the TOML reader reports becomes a [`InputError`] that names the
//! file, the line and column, the key in dotted form, and what is allowed there.
//!
//! Positions come from the spans the reader records (`serde_spanned`, through
//! [`toml::de::DeTable`]); the key of an error is found by walking the spanned document to
//! the innermost key or value that holds the error's offset, so one function serves every
//! file kind. Use [`from_toml`] to read a file into a serde type, [`toml_error`] to convert
//! an error from `toml::from_str`, and [`invalid`] to place a validation problem found later.

use crate::located::{InputError, Invalid, Place, SourceLocation};
use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Read `text` (named `file` in errors) into `T`.
pub fn from_toml<T: DeserializeOwned>(text: &str, file: &str) -> Result<T, InputError> {
    toml::from_str(text).map_err(|e| toml_error(file, text, &e))
}

/// A TOML reading error as a located [`InputError`]: duplicate keys name the key, type
/// errors the key with the type found and expected, unknown keys and values list what is
/// allowed.
pub fn toml_error(file: &str, text: &str, err: &toml::de::Error) -> InputError {
    let msg = err.message().trim();
    let offset = err.span().map(|s| s.start);
    let at = |key: Option<String>| Place {
        file: file.to_string(),
        location: offset.map(|o| SourceLocation::from_offset(text, o)),
        key,
    };
    let path = offset.and_then(|o| key_at(text, o));
    let names = ticked(msg);
    if msg.starts_with("duplicate key") {
        let name = err
            .span()
            .and_then(|s| text.get(s))
            .map(|k| k.trim().trim_matches(['"', '\'']).to_string())
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| names.first().cloned().unwrap_or_default());
        let table = offset.and_then(|o| header_before(text, o));
        let key = match table {
            Some(t) if !name.is_empty() => format!("{t}.{name}"),
            _ => name.clone(),
        };
        return InputError::DuplicateKey {
            at: at(Some(key)),
            name,
        };
    }
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let name = names.first().cloned().unwrap_or_default();
        let allowed = if rest.contains("there are no fields") {
            vec![]
        } else {
            names[1.min(names.len())..].to_vec()
        };
        return InputError::UnknownKey {
            at: at(path.or_else(|| Some(name.clone()))),
            name,
            allowed,
        };
    }
    if msg.starts_with("unknown variant ") {
        return InputError::UnknownValue {
            at: at(path),
            value: names.first().cloned().unwrap_or_default(),
            allowed: names.get(1..).map(<[String]>::to_vec).unwrap_or_default(),
        };
    }
    if msg.starts_with("missing field ") {
        let name = names.first().cloned().unwrap_or_default();
        let key = match path {
            Some(p) => format!("{p}.{name}"),
            None => name.clone(),
        };
        return InputError::MissingKey {
            at: at(Some(key)),
            name,
        };
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            if let Some((found, expected)) = rest.rsplit_once(", expected ") {
                return InputError::WrongType {
                    at: at(path),
                    found: found.to_string(),
                    expected: in_words(expected),
                };
            }
        }
    }
    InputError::Syntax {
        at: at(path),
        message: msg.to_string(),
    }
}

/// Place a validation problem: the key's line and column in `text`.
pub fn invalid(file: &str, text: &str, inv: Invalid) -> InputError {
    InputError::Invalid {
        at: Place {
            file: file.to_string(),
            location: locate(text, &inv.key),
            key: Some(inv.key),
        },
        message: inv.message,
    }
}

/// The names in backticks of a reader message (`unknown field `a`, expected one of `b``).
fn ticked(msg: &str) -> Vec<String> {
    msg.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// Serde's type names in words a user can act on.
fn in_words(expected: &str) -> String {
    let e = expected.trim();
    match e {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => {
            "an integer, e.g. 3 (no quotes, no decimal point)".into()
        }
        "f32" | "f64" => "a number, e.g. 2.5 (no quotes)".into(),
        "a boolean" => "true or false (no quotes)".into(),
        "a string" => "a string in quotes, e.g. \"text\"".into(),
        "a sequence" => "a list, e.g. [1.0, 2.0]".into(),
        _ if e.starts_with("struct ") || e == "a map" => "a table of keys".into(),
        _ => e.to_string(),
    }
}

/// The dotted key (`membrane.layers[0].thickness_um`) whose key or value holds byte
/// `offset`, the innermost one; `None` outside every key.
pub fn key_at(text: &str, offset: usize) -> Option<String> {
    let (doc, _) = DeTable::parse_recoverable(text);
    walk_table(doc.get_ref(), "", offset)
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn walk_table(t: &DeTable<'_>, path: &str, offset: usize) -> Option<String> {
    for (k, v) in t.iter() {
        let here = join(path, k.get_ref());
        if k.span().contains(&offset) {
            return Some(here);
        }
        if let Some(inner) = walk_value(v, &here, offset) {
            return Some(inner);
        }
    }
    None
}

fn walk_value(v: &Spanned<DeValue<'_>>, path: &str, offset: usize) -> Option<String> {
    let inner = match v.get_ref() {
        DeValue::Table(t) => walk_table(t, path, offset),
        DeValue::Array(a) => a.iter().enumerate().find_map(|(i, item)| {
            let p = format!("{path}[{i}]");
            walk_value(item, &p, offset).or_else(|| item.span().contains(&offset).then_some(p))
        }),
        _ => None,
    };
    inner.or_else(|| v.span().contains(&offset).then(|| path.to_string()))
}

/// The table header (`[a.b]`, or `[[a.b]]` with its index) that governs byte `offset`.
fn header_before(text: &str, offset: usize) -> Option<String> {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut last = None;
    for line in text[..end].lines() {
        let l = line.trim();
        if let Some(name) = l.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = match counts.iter_mut().find(|(k, _)| *k == name) {
                Some((_, c)) => {
                    *c += 1;
                    *c
                }
                None => {
                    counts.push((name.clone(), 0));
                    0
                }
            };
            last = Some(format!("{name}[{n}]"));
        } else if let Some(name) = l.strip_prefix('[').and_then(|r| r.split(']').next()) {
            last = Some(name.trim().to_string());
        }
    }
    last
}

/// Find the line and column of a dotted key path (`membrane.layers[0].thickness_um`) in the
/// document; falls back to the nearest parent that exists.
pub fn locate(text: &str, key: &str) -> Option<SourceLocation> {
    let (doc, _) = DeTable::parse_recoverable(text);
    let mut table = doc.get_ref();
    let mut best: Option<usize> = None;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (*part, None),
        };
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name) else {
            break;
        };
        best = Some(k.span().start);
        let mut value = v;
        if let Some(idx) = index {
            if let DeValue::Array(arr) = value.get_ref() {
                if let Some(item) = arr.get(idx) {
                    value = item;
                    best = Some(item.span().start);
                }
            }
        }
        if i + 1 == parts.len() {
            best = Some(value.span().start);
            break;
        }
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    best.map(|o| SourceLocation::from_offset(text, o))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        a: A,
        layers: Option<Vec<L>>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct A {
        n: i64,
        x: Option<f64>,
        kind: Option<Kind>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct L {
        t: f64,
    }
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        One,
        Two,
    }

    fn err(text: &str) -> InputError {
        from_toml::<Doc>(text, "d.toml").unwrap_err()
    }

    #[test]
    fn a_type_error_names_the_key_and_the_expected_type() {
        let e = err("[a]\nn = \"two\"\n");
        let InputError::WrongType {
            at,
            found,
            expected,
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(at.key.as_deref(), Some("a.n"));
        assert_eq!(at.location, Some(SourceLocation { line: 2, column: 5 }));
        assert!(found.contains("\"two\""), "{found}");
        assert!(expected.contains("an integer"), "{expected}");
        assert!(
            e.to_string().starts_with("d.toml:2:5: `a.n`: invalid type"),
            "{e}"
        );
    }

    #[test]
    fn a_type_error_in_an_array_of_tables_names_the_index() {
        let e = err("[a]\nn = 1\n[[layers]]\nt = 1.0\n[[layers]]\nt = \"x\"\n");
        assert_eq!(
            e.place().unwrap().key.as_deref(),
            Some("layers[1].t"),
            "{e}"
        );
        assert_eq!(e.place().unwrap().location.as_ref().unwrap().line, 6);
    }

    #[test]
    fn a_duplicate_key_is_named_with_its_table() {
        let e = err("[a]\nn = 1\nx = 2.0\nn = 3\n");
        let InputError::DuplicateKey { at, name } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(name, "n");
        assert_eq!(at.key.as_deref(), Some("a.n"));
        assert_eq!(at.location.as_ref().unwrap().line, 4, "{e}");
        assert!(e.to_string().contains("duplicate key `n`"), "{e}");
    }

    #[test]
    fn unknown_keys_and_values_list_what_is_allowed() {
        let e = err("[a]\nn = 1\nm = 2\n");
        let InputError::UnknownKey { at, name, allowed } = &e else {
            panic!("{e:?}")
        };
        assert_eq!((name.as_str(), at.key.as_deref()), ("m", Some("a.m")));
        assert_eq!(allowed, &["n", "x", "kind"]);
        let e = err("[a]\nn = 1\nkind = \"three\"\n");
        let InputError::UnknownValue { at, value, allowed } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(
            (value.as_str(), at.key.as_deref()),
            ("three", Some("a.kind"))
        );
        assert_eq!(allowed, &["one", "two"]);
        assert_eq!(at.location.as_ref().unwrap().line, 3);
        assert!(
            e.to_string()
                .contains("unknown kind \"three\"; use one of one, two"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_key_is_named_in_dotted_form() {
        let e = err("[a]\nx = 1.0\n");
        let InputError::MissingKey { at, name } = &e else {
            panic!("{e:?}")
        };
        assert_eq!((name.as_str(), at.key.as_deref()), ("n", Some("a.n")));
    }

    #[test]
    fn malformed_text_is_a_syntax_error_with_a_position() {
        let e = err("[a\nn = 1");
        assert!(matches!(e, InputError::Syntax { .. }), "{e:?}");
        assert!(e.to_string().starts_with("d.toml:1:"), "{e}");
    }

    #[test]
    fn offsets_map_to_character_columns() {
        let t = "ab\nµx = 1\n";
        assert_eq!(
            SourceLocation::from_offset(t, 5),
            SourceLocation { line: 2, column: 2 }
        );
        // Inside the two-byte µ: moved back to its start; past the end: the end.
        assert_eq!(SourceLocation::from_offset(t, 4).column, 1);
        assert_eq!(SourceLocation::from_offset(t, 999).line, 3);
    }
}
