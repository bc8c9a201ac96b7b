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

/// What is wrong with a rules file (the bundled one is checked by the tests).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RulesError {
    /// The file is not valid TOML or does not have the rules' fields.
    #[error("{message}")]
    Toml { message: String },
    #[error("rule \"{id}\" has an empty reason")]
    EmptyReason { id: String },
    #[error("rule \"{id}\" has no source; give one or mark it convention = true")]
    NoSource { id: String },
    #[error("rule \"{id}\" appears twice")]
    Twice { id: String },
    #[error("rule \"{id}\": value {value} must be >= 0")]
    Negative { id: String, value: f64 },
    /// A rule the planner needs ([`REQUIRED`]) is not in the file.
    #[error("rule \"{id}\" is missing")]
    Missing { id: String },
    /// A rule whose number the planner reads lacks it or its unit.
    #[error("rule \"{id}\" needs value = NUMBER and unit = \"{unit}\"")]
    NeedsValue { id: String, unit: String },
}

impl Rules {
    /// Read and check a rules file: every rule has a reason, a source or `convention = true`,
    /// each required id appears once, and numbers are finite, non-negative and in the unit
    /// the planner expects.
    pub fn from_toml_str(text: &str) -> Result<Rules, RoutineError> {
        Ok(Rules::check(text)?)
    }

    fn check(text: &str) -> Result<Rules, RulesError> {
        let raw: RulesToml = toml::from_str(text).map_err(|e| RulesError::Toml {
            message: e.to_string(),
        })?;
        for (i, r) in raw.rule.iter().enumerate() {
            let id = || r.id.clone();
            if r.reason.trim().is_empty() {
                return Err(RulesError::EmptyReason { id: id() });
            }
            let sourced = r.source.as_deref().is_some_and(|s| !s.trim().is_empty());
            if !sourced && !r.convention {
                return Err(RulesError::NoSource { id: id() });
            }
            if raw.rule[..i].iter().any(|o| o.id == r.id) {
                return Err(RulesError::Twice { id: id() });
            }
            if let Some(v) = r.value {
                if !v.is_finite() || v < 0.0 {
                    return Err(RulesError::Negative { id: id(), value: v });
                }
            }
        }
        for id in REQUIRED {
            if !raw.rule.iter().any(|r| r.id == *id) {
                return Err(RulesError::Missing { id: id.to_string() });
            }
        }
        for (id, unit) in VALUED {
            let Some(r) = raw.rule.iter().find(|r| r.id == *id) else {
                return Err(RulesError::Missing { id: id.to_string() });
            };
            if r.value.is_none() || r.unit.as_deref() != Some(unit) {
                return Err(RulesError::NeedsValue {
                    id: id.to_string(),
                    unit: unit.to_string(),
                });
            }
        }
        Ok(Rules { rules: raw.rule })
    }

    /// The bundled rules, loaded once.
    pub fn embedded() -> Result<&'static Rules, RoutineError> {
        static CELL: OnceLock<Result<Rules, RulesError>> = OnceLock::new();
        CELL.get_or_init(|| Rules::check(RULES_TOML))
            .as_ref()
            .map_err(|e| RoutineError::Rules(e.clone()))
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
        let e = Rules::from_toml_str(&bad).unwrap_err();
        assert!(
            matches!(&e, RoutineError::Rules(RulesError::NoSource { id }) if id == "spf_last"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "data/routine/rules.toml: rule \"spf_last\" has no source; give one or mark it convention = true"
        );
    }
}
