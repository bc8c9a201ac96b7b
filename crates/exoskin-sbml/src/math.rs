//! One expression tree for the model's equations, written as content MathML.

use std::fmt::Write;

/// An expression over named SBML symbols, numbers and the model's time.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Var(String),
    /// The model's time (csymbol).
    Time,
    Add(Vec<Expr>),
    Sub(Box<Expr>, Box<Expr>),
    Mul(Vec<Expr>),
    Div(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Exp(Box<Expr>),
    Abs(Box<Expr>),
    /// Pieces `(value, condition)` tried in order, then the otherwise value.
    Piecewise(Vec<(Expr, Expr)>, Box<Expr>),
    Lt(Box<Expr>, Box<Expr>),
    Le(Box<Expr>, Box<Expr>),
    Gt(Box<Expr>, Box<Expr>),
    Ge(Box<Expr>, Box<Expr>),
    /// A call of a function definition.
    Call(String, Vec<Expr>),
}

pub fn num(v: f64) -> Expr {
    Expr::Num(v)
}
pub fn var(name: &str) -> Expr {
    Expr::Var(name.to_string())
}
pub fn add(v: Vec<Expr>) -> Expr {
    Expr::Add(v)
}
pub fn sub(a: Expr, b: Expr) -> Expr {
    Expr::Sub(Box::new(a), Box::new(b))
}
pub fn mul(v: Vec<Expr>) -> Expr {
    Expr::Mul(v)
}
pub fn div(a: Expr, b: Expr) -> Expr {
    Expr::Div(Box::new(a), Box::new(b))
}
pub fn neg(a: Expr) -> Expr {
    Expr::Neg(Box::new(a))
}
pub fn exp(a: Expr) -> Expr {
    Expr::Exp(Box::new(a))
}
pub fn lt(a: Expr, b: Expr) -> Expr {
    Expr::Lt(Box::new(a), Box::new(b))
}
pub fn le(a: Expr, b: Expr) -> Expr {
    Expr::Le(Box::new(a), Box::new(b))
}
pub fn gt(a: Expr, b: Expr) -> Expr {
    Expr::Gt(Box::new(a), Box::new(b))
}
pub fn ge(a: Expr, b: Expr) -> Expr {
    Expr::Ge(Box::new(a), Box::new(b))
}
pub fn piecewise(pieces: Vec<(Expr, Expr)>, otherwise: Expr) -> Expr {
    Expr::Piecewise(pieces, Box::new(otherwise))
}
pub fn call(f: &str, args: Vec<Expr>) -> Expr {
    Expr::Call(f.to_string(), args)
}
/// `max(a, b) = (a + b + |a - b|) / 2`: continuous, so solvers see no switching condition
/// (SBML core before L3V2 has no max, and a piecewise makes event-like roots in some tools).
pub fn max2(a: Expr, b: Expr) -> Expr {
    div(add(vec![a.clone(), b.clone(), abs(sub(a, b))]), num(2.0))
}
/// `max(a, 0) = (a + |a|) / 2` (exact in floating point).
pub fn pos(a: Expr) -> Expr {
    div(add(vec![a.clone(), abs(a)]), num(2.0))
}
/// `|a|`.
pub fn abs(a: Expr) -> Expr {
    Expr::Abs(Box::new(a))
}
/// `a - 1`.
pub fn excess_of(a: Expr) -> Expr {
    sub(a, num(1.0))
}

/// A number as MathML text that parses back to the same f64 (Rust's shortest round-trip form).
pub fn number_text(v: f64) -> String {
    format!("{v:e}")
}

impl Expr {
    /// Write as content MathML (no enclosing `<math>`).
    pub fn write(&self, out: &mut String) {
        match self {
            Expr::Num(v) => {
                let _ = write!(
                    out,
                    "<cn sbml:units=\"dimensionless\">{}</cn>",
                    number_text(*v)
                );
            }
            Expr::Var(n) => {
                let _ = write!(out, "<ci>{n}</ci>");
            }
            Expr::Time => out.push_str(
                "<csymbol encoding=\"text\" definitionURL=\"http://www.sbml.org/sbml/symbols/time\">time</csymbol>",
            ),
            Expr::Add(v) => nary(out, "plus", v),
            Expr::Mul(v) => nary(out, "times", v),
            Expr::Sub(a, b) => apply(out, "minus", &[a.as_ref(), b.as_ref()]),
            Expr::Div(a, b) => apply(out, "divide", &[a.as_ref(), b.as_ref()]),
            Expr::Neg(a) => apply(out, "minus", &[a.as_ref()]),
            Expr::Exp(a) => apply(out, "exp", &[a.as_ref()]),
            Expr::Abs(a) => apply(out, "abs", &[a.as_ref()]),
            Expr::Lt(a, b) => apply(out, "lt", &[a.as_ref(), b.as_ref()]),
            Expr::Le(a, b) => apply(out, "leq", &[a.as_ref(), b.as_ref()]),
            Expr::Gt(a, b) => apply(out, "gt", &[a.as_ref(), b.as_ref()]),
            Expr::Ge(a, b) => apply(out, "geq", &[a.as_ref(), b.as_ref()]),
            Expr::Piecewise(pieces, otherwise) => {
                out.push_str("<piecewise>");
                for (value, cond) in pieces {
                    out.push_str("<piece>");
                    value.write(out);
                    cond.write(out);
                    out.push_str("</piece>");
                }
                out.push_str("<otherwise>");
                otherwise.write(out);
                out.push_str("</otherwise></piecewise>");
            }
            Expr::Call(f, args) => {
                let _ = write!(out, "<apply><ci>{f}</ci>");
                for a in args {
                    a.write(out);
                }
                out.push_str("</apply>");
            }
        }
    }

    /// Evaluate with `lookup` giving symbol values, `time` the model time and `funcs` the
    /// function definitions `(name, parameters, body)` (tests, and checks of the export).
    pub fn eval(
        &self,
        lookup: &dyn Fn(&str) -> Option<f64>,
        time: f64,
        funcs: &[(String, Vec<String>, Expr)],
    ) -> Option<f64> {
        let e = |x: &Expr| x.eval(lookup, time, funcs);
        let b = |x: bool| if x { 1.0 } else { 0.0 };
        Some(match self {
            Expr::Num(v) => *v,
            Expr::Var(n) => lookup(n)?,
            Expr::Time => time,
            Expr::Add(v) => v.iter().map(e).sum::<Option<f64>>()?,
            Expr::Mul(v) => v.iter().map(e).product::<Option<f64>>()?,
            Expr::Sub(a, c) => e(a)? - e(c)?,
            Expr::Div(a, c) => e(a)? / e(c)?,
            Expr::Neg(a) => -e(a)?,
            Expr::Exp(a) => e(a)?.exp(),
            Expr::Abs(a) => e(a)?.abs(),
            Expr::Lt(a, c) => b(e(a)? < e(c)?),
            Expr::Le(a, c) => b(e(a)? <= e(c)?),
            Expr::Gt(a, c) => b(e(a)? > e(c)?),
            Expr::Ge(a, c) => b(e(a)? >= e(c)?),
            Expr::Piecewise(pieces, otherwise) => {
                for (value, cond) in pieces {
                    if e(cond)? != 0.0 {
                        return e(value);
                    }
                }
                e(otherwise)?
            }
            Expr::Call(f, args) => {
                let (_, params, body) = funcs.iter().find(|(n, _, _)| n == f)?;
                let vals: Vec<f64> = args.iter().map(e).collect::<Option<_>>()?;
                let inner = |name: &str| {
                    params
                        .iter()
                        .position(|p| p == name)
                        .map(|i| vals[i])
                        .or_else(|| lookup(name))
                };
                body.eval(&inner, time, funcs)?
            }
        })
    }
}

fn nary(out: &mut String, op: &str, v: &[Expr]) {
    let _ = write!(out, "<apply><{op}/>");
    for a in v {
        a.write(out);
    }
    out.push_str("</apply>");
}

fn apply(out: &mut String, op: &str, args: &[&Expr]) {
    let _ = write!(out, "<apply><{op}/>");
    for a in args {
        a.write(out);
    }
    out.push_str("</apply>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_through_their_text() {
        for v in [0.1, 1.0 / 3.0, 6.02e23, -2.5e-300, 0.0, 123456.789] {
            let t = number_text(v);
            assert_eq!(t.parse::<f64>().unwrap(), v, "{t}");
        }
    }

    #[test]
    fn mathml_of_a_piecewise_and_its_value() {
        let x = piecewise(
            vec![(num(1.0), lt(var("a"), num(0.0)))],
            mul(vec![var("a"), num(2.0)]),
        );
        let mut s = String::new();
        x.write(&mut s);
        assert!(s.starts_with(
            "<piecewise><piece><cn sbml:units=\"dimensionless\">1e0</cn><apply><lt/><ci>a</ci>"
        ));
        let at = |a: f64| x.eval(&|_| Some(a), 0.0, &[]).unwrap();
        assert_eq!(at(-1.0), 1.0);
        assert_eq!(at(3.0), 6.0);
        assert_eq!(
            max2(num(2.0), num(5.0)).eval(&|_| None, 0.0, &[]),
            Some(5.0)
        );
    }
}
