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
