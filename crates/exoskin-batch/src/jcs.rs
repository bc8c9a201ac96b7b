//! JSON Canonicalization Scheme (RFC 8785): the bytes a certificate's signature covers.
//!
//! Object members sorted by their names' UTF-16 code units, no insignificant whitespace,
//! strings escaped minimally, numbers in ECMAScript `Number.prototype.toString` form.
//! The canonical form is the product here (it decides what a signature covers), so the
//! serializer is written out; number formatting, the subtle part, comes from `ryu-js`.
use crate::error::{BatchError, Result};
use serde_json::Value;
use std::fmt::Write;

fn fail(reason: &str) -> BatchError {
    BatchError::Canonicalization {
        reason: reason.into(),
    }
}

/// Canonical serialization of a JSON value. Fails only on numbers JSON cannot carry.
pub fn canonicalize(v: &Value) -> Result<String> {
    let mut out = String::new();
    write_value(v, &mut out)?;
    Ok(out)
}

fn write_value(v: &Value, out: &mut String) -> Result<()> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                write_number(i as f64, Some(i), out)?
            } else if let Some(u) = n.as_u64() {
                write_number(u as f64, None, out)?
            } else {
                let f = n.as_f64().ok_or_else(|| fail("number out of range"))?;
                write_number(f, None, out)?
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(x, out)?;
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_value(&m[k], out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// ECMAScript `Number::toString` of a finite double (RFC 8785, 3.2.2.3), from `ryu-js`:
/// the shortest digits that read back as the same double, ties to the even digit, laid out
/// as ECMAScript does (plain up to 21 integer digits, `1e+21` beyond, `0.000001`, `1e-7`).
fn write_number(f: f64, exact_int: Option<i64>, out: &mut String) -> Result<()> {
    if !f.is_finite() {
        return Err(fail("NaN and infinities are not JSON"));
    }
    if let Some(i) = exact_int {
        if i.unsigned_abs() < (1u64 << 53) {
            let _ = write!(out, "{i}");
            return Ok(());
        }
    }
    if f == 0.0 {
        // Both zeros are `0`.
        out.push('0');
        return Ok(());
    }
    out.push_str(ryu_js::Buffer::new().format_finite(f));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn num(f: f64) -> String {
        canonicalize(&json!(f)).unwrap()
    }

    #[test]
    fn rfc8785_numbers() {
        // Examples from RFC 8785 appendix B.
        assert_eq!(num(0.0), "0");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(1e21), "1e+21");
        assert_eq!(num(1e20), "100000000000000000000");
        assert_eq!(num(9007199254740992.0), "9007199254740992");
        assert_eq!(num(295147905179352830000.0), "295147905179352830000");
        assert_eq!(num(5e-324), "5e-324");
        assert_eq!(num(1e-7), "1e-7");
        assert_eq!(num(0.000001), "0.000001");
        assert_eq!(num(333333333.3333333), "333333333.3333333");
        assert_eq!(num(2.4e10), "24000000000");
        assert_eq!(num(-1.5), "-1.5");
        assert_eq!(canonicalize(&json!(7)).unwrap(), "7");
    }

    #[test]
    fn sorted_members_and_escapes() {
        let v = json!({"b": [1, "x\ny"], "a": {"\u{20ac}": 1, "\r": 2, "1": 3}, "é": null});
        assert_eq!(
            canonicalize(&v).unwrap(),
            "{\"a\":{\"\\r\":2,\"1\":3,\"€\":1},\"b\":[1,\"x\\ny\"],\"é\":null}"
        );
    }
}

/// Parse JSON text, refusing duplicate object keys anywhere (RFC 8259 leaves their meaning
/// open: parsers that keep the first and those that keep the last would read two different
/// documents). The error carries the line and column of the duplicate.
pub fn parse_strict(text: &str) -> std::result::Result<Value, serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(text);
    let v = StrictValue.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// A [`Value`] seed whose maps refuse repeated keys.
struct StrictValue;

impl<'de> serde::de::DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_u64<E>(self, n: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_f64<E: serde::de::Error>(self, n: f64) -> std::result::Result<Value, E> {
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }
    fn visit_str<E>(self, s: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> std::result::Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(StrictValue)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut a: A,
    ) -> std::result::Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = a.next_element_seed(StrictValue)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut a: A,
    ) -> std::result::Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(k) = a.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(serde::de::Error::custom(format!(
                    "duplicate key `{k}` (each key may appear once per object)"
                )));
            }
            let v = a.next_value_seed(StrictValue)?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod strict_tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth_and_the_rest_parses_like_serde_json() {
        for text in [
            r#"{"a": 1, "a": 2}"#,
            r#"{"x": [{"gtin": "1", "gtin": "2"}]}"#,
            r#"{"a": {"b": 1}, "c": 0, "a": {"b": 1}}"#,
        ] {
            let e = parse_strict(text).unwrap_err();
            assert!(e.to_string().contains("duplicate key"), "{text}: {e}");
        }
        let text =
            r#"{"a": [1, 2.5, -3, 1e300, "s", null, true, {"b": {}}], "z": 18446744073709551615}"#;
        assert_eq!(
            parse_strict(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        assert!(parse_strict("{} x").is_err());
        // The error points at the duplicate: line 3.
        let e = parse_strict("{\n \"a\": 1,\n \"a\": 2}").unwrap_err();
        assert_eq!(e.line(), 3);
    }
}
