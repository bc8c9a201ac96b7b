//! JSON Canonicalization Scheme (RFC 8785): the bytes a certificate's signature covers.
//!
//! Object members sorted by their names' UTF-16 code units, no insignificant whitespace,
//! strings escaped minimally, numbers in ECMAScript `Number.prototype.toString` form.
use serde_json::Value;
use std::fmt::Write;

/// Canonical serialization of a JSON value. Fails only on numbers JSON cannot carry.
pub fn canonicalize(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    write_value(v, &mut out)?;
    Ok(out)
}

fn write_value(v: &Value, out: &mut String) -> Result<(), String> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                write_number(i as f64, Some(i), out)?
            } else if let Some(u) = n.as_u64() {
                write_number(u as f64, None, out)?
            } else {
                let f = n.as_f64().ok_or("number out of range")?;
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

/// ECMAScript Number::toString for a finite double.
fn write_number(f: f64, exact_int: Option<i64>, out: &mut String) -> Result<(), String> {
    if !f.is_finite() {
        return Err("NaN and infinities are not JSON".into());
    }
    if let Some(i) = exact_int {
        if i.unsigned_abs() < (1u64 << 53) {
            let _ = write!(out, "{i}");
            return Ok(());
        }
    }
    if f == 0.0 {
        out.push('0');
        return Ok(());
    }
    if f < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as d.ddde±x.
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').ok_or("bad float format")?;
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exp.parse::<i32>().map_err(|_| "bad exponent")? + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        let _ = write!(out, "{}", (n - 1).abs());
    }
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
