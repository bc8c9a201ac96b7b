//! Multiplicity corrections over a family of p values (one per endpoint): adjusted p values
//! as statsmodels `multipletests` returns them, so an endpoint is significant when its
//! adjusted p value is below alpha.
//!
//! * Bonferroni: `min(1, m p)`.
//! * Holm (1979, Scand J Stat 6:65): step-down, `max over j <= i of min(1, (m - j + 1) p_(j))`.
//! * Hochberg (1988, Biometrika 75:800): step-up, `min over j >= i of min(1, (m - j + 1) p_(j))`
//!   (statsmodels' `"simes-hochberg"`).
//! * Fixed sequence (hierarchical gatekeeping): the endpoints are tested in the trial file's
//!   order, each at the full alpha, and testing stops at the first that fails; the adjusted p
//!   value of the k-th is the largest raw p value of the first k, so it is significant exactly
//!   when it and every endpoint before it are (Westfall & Krishen 2001, J Stat Plan Inference
//!   99:25).
//!
//! A missing p value (NaN: too few participants) counts as 1.

use serde::Serialize;

/// A multiplicity correction (`[trial] multiplicity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Multiplicity {
    None,
    Holm,
    Hochberg,
    Bonferroni,
    FixedSequence,
}

impl Multiplicity {
    pub fn name(&self) -> &'static str {
        match self {
            Multiplicity::None => "none",
            Multiplicity::Holm => "holm",
            Multiplicity::Hochberg => "hochberg",
            Multiplicity::Bonferroni => "bonferroni",
            Multiplicity::FixedSequence => "fixed_sequence",
        }
    }
}

/// Adjusted p values, in the order of `p` (for the fixed sequence, `p` is in testing order).
pub fn adjust(p: &[f64], method: Multiplicity) -> Vec<f64> {
    let p: Vec<f64> = p
        .iter()
        .map(|&v| if v.is_nan() { 1.0 } else { v.clamp(0.0, 1.0) })
        .collect();
    let m = p.len();
    let mf = m as f64;
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    match method {
        Multiplicity::None => out.copy_from_slice(&p),
        Multiplicity::Bonferroni => {
            for i in 0..m {
                out[i] = (mf * p[i]).min(1.0);
            }
        }
        Multiplicity::Holm => {
            let mut running: f64 = 0.0;
            for (rank, &i) in order.iter().enumerate() {
                running = running.max(((mf - rank as f64) * p[i]).min(1.0));
                out[i] = running;
            }
        }
        Multiplicity::Hochberg => {
            let mut running: f64 = 1.0;
            for (rank, &i) in order.iter().enumerate().rev() {
                running = running.min(((mf - rank as f64) * p[i]).min(1.0));
                out[i] = running;
            }
        }
        Multiplicity::FixedSequence => {
            let mut running: f64 = 0.0;
            for i in 0..m {
                running = running.max(p[i]);
                out[i] = running;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_family() {
        let p = [0.01, 0.04, 0.03, 0.005];
        // Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04,
        // running max 0.02, 0.03, 0.06, 0.06.
        let h = adjust(&p, Multiplicity::Holm);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (a, b) in h.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{h:?}");
        }
        // Hochberg: running min from the top: 0.04, min(0.06, .04)=0.04, 0.03, 0.02.
        let hb = adjust(&p, Multiplicity::Hochberg);
        let want = [0.03, 0.04, 0.04, 0.02];
        for (a, b) in hb.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{hb:?}");
        }
        assert_eq!(
            adjust(&p, Multiplicity::FixedSequence),
            vec![0.01, 0.04, 0.04, 0.04]
        );
        assert_eq!(
            adjust(&[0.3, f64::NAN], Multiplicity::Bonferroni),
            vec![0.6, 1.0]
        );
    }
}
