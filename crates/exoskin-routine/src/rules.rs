//! The planner's rules (`data/routine/rules.toml`): each decision's reason and source.

use crate::RoutineError;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The bundled rules file.
pub const RULES_TOML: &str = include_str!("../../../data/routine/rules.toml");

/// Rule ids the planner uses; the rules file must define each exactly once.
pub const REQUIRED: &[&str] = &[
    "order_thin_to_thick",
    "wait_default",
    "ev_on_damp_skin",
    "wait_after_ev",
    "vitamin_c_morning",
    "peptides_night",
    "retinoid_night",
    "retinoid_alternate",
    "retinoid_not_with_acid",
    "retinoid_not_with_bpo",
    "acid_frequency",
    "spf_last",
    "patch_test_new",
    "patch_test_treated",
    "sensitive_alternate",
    "silicone_half_dose",
    "storage_label",
    "storage_contradiction",
    "pregnancy_retinoid",
    "pregnancy_ev_no_data",
    "age_start",
    "expired",
    "human_derived_region",
    "ev_after_procedure",
    "post_procedure_care",
    "pause_before_microneedling",
    "pause_after_microneedling",
    "pause_before_fractional_co2",
    "pause_after_fractional_co2",
    "pause_before_chemical_peel",
    "pause_after_chemical_peel",
];

/// Rule ids whose `value` is required, with its unit.
const VALUED: &[(&str, &str)] = &[
    ("wait_default", "s"),
    ("wait_after_ev", "s"),
    ("patch_test_new", "d"),
    ("sensitive_alternate", "d"),
    ("age_start", "years"),
    ("pause_before_microneedling", "d"),
    ("pause_after_microneedling", "d"),
    ("pause_before_fractional_co2", "d"),
    ("pause_after_fractional_co2", "d"),
    ("pause_before_chemical_peel", "d"),
    ("pause_after_chemical_peel", "d"),
];

/// One rule.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub reason: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub convention: bool,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub unit: Option<String>,
}

impl Rule {
    /// The source as printed with a step: the reference, with "(convention)" when the rule
    /// or its number is a convention, or "convention" alone.
    pub fn cite(&self) -> String {
        match (&self.source, self.convention) {
            (Some(s), false) => s.clone(),
            (Some(s), true) => format!("convention; {s}"),
            (None, _) => "convention".to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesToml {
    rule: Vec<Rule>,
}

/// The loaded rules.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// Read and check a rules file: every rule has a reason, a source or `convention = true`,
    /// each required id appears once, and numbers are finite, non-negative and in the unit
    /// the planner expects.
    pub fn from_toml_str(text: &str) -> Result<Rules, RoutineError> {
        let err = |message: String| RoutineError::Rules { message };
        let raw: RulesToml = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        for (i, r) in raw.rule.iter().enumerate() {
            if r.reason.trim().is_empty() {
                return Err(err(format!("rule \"{}\" has an empty reason", r.id)));
            }
            let sourced = r.source.as_deref().is_some_and(|s| !s.trim().is_empty());
            if !sourced && !r.convention {
                return Err(err(format!(
                    "rule \"{}\" has no source; give one or mark it convention = true",
                    r.id
                )));
            }
            if raw.rule[..i].iter().any(|o| o.id == r.id) {
                return Err(err(format!("rule \"{}\" appears twice", r.id)));
            }
            if let Some(v) = r.value {
                if !v.is_finite() || v < 0.0 {
                    return Err(err(format!("rule \"{}\": value {v} must be >= 0", r.id)));
                }
            }
        }
        for id in REQUIRED {
            if !raw.rule.iter().any(|r| r.id == *id) {
                return Err(err(format!("rule \"{id}\" is missing")));
            }
        }
        for (id, unit) in VALUED {
            let r = raw
                .rule
                .iter()
                .find(|r| r.id == *id)
                .expect("checked above");
            if r.value.is_none() || r.unit.as_deref() != Some(unit) {
                return Err(err(format!(
                    "rule \"{id}\" needs value = NUMBER and unit = \"{unit}\""
                )));
            }
        }
        Ok(Rules { rules: raw.rule })
    }

    /// The bundled rules, loaded once.
    pub fn embedded() -> Result<&'static Rules, RoutineError> {
        static CELL: OnceLock<Result<Rules, String>> = OnceLock::new();
        CELL.get_or_init(|| Rules::from_toml_str(RULES_TOML).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|m| RoutineError::Rules { message: m.clone() })
    }

    /// A rule by id. Ids in [`REQUIRED`] always exist.
    pub fn get(&self, id: &str) -> &Rule {
        self.rules
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("rule id \"{id}\" is not in REQUIRED"))
    }

    /// A required rule's number.
    pub fn value(&self, id: &str) -> f64 {
        self.get(id).value.unwrap_or(0.0)
    }

    /// All rules.
    pub fn all(&self) -> &[Rule] {
        &self.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_rules_load_and_conventions_are_marked() {
        let r = Rules::embedded().unwrap();
        assert_eq!(r.get("retinoid_not_with_acid").cite(), "convention");
        assert!(r.get("spf_last").cite().contains("seed000"));
        assert_eq!(r.value("wait_after_ev"), 60.0);
    }

    #[test]
    fn a_rule_without_source_must_be_a_convention() {
        let bad = RULES_TOML.replace(
            "id = \"spf_last\"\nreason = \"Broad-spectrum SPF 50+ every morning, as the last step.\"\nsource = \"seed000 (moisturiser, then broad-spectrum SPF 50+ every morning)\"",
            "id = \"spf_last\"\nreason = \"x\"",
        );
        assert_ne!(bad, RULES_TOML);
        let e = Rules::from_toml_str(&bad).unwrap_err().to_string();
        assert!(e.contains("spf_last") && e.contains("convention"), "{e}");
    }
}
