//! Routine files (TOML).
//!
//! ```toml
//! [person]
//! age_years = 38
//! skin_type = "normal"        # normal | dry | oily | combination
//! sensitive = false
//! pregnant = false
//! breastfeeding = false       # optional, default false
//!
//! [plan]
//! start = "2027-01-04"        # a date (string or TOML date)
//! weeks = 3                   # 1..=52
//! site = "cheek"              # optional: the site the prediction runs on (data/skin_sites.toml)
//!
//! [[products]]
//! file = "ev.toml"            # a product file (label decoder format), relative to this file
//! type = "serum"              # cleanser | toner | essence | serum | moisturizer | sunscreen | mask | oil
//! new = true                  # optional, default true: patch-test before first use
//! stored = "fridge"           # optional: fridge | room (checked against the label)
//! particles_per_ml = 1.0e10   # optional, EV products: for the prediction
//! dose_ul_per_cm2 = 2.0       # optional, EV products and essences: for the prediction
//! vesicle_source = "plant"    # optional: the simulator's source (data/potency.toml keys)
//!
//! [[products]]                # or an inline product
//! name = "Gentle Cleanser"
//! type = "cleanser"
//! ingredients = "Aqua, Glycerin, Coco-Glucoside"
//!
//! [[procedures]]
//! kind = "microneedling"      # microneedling | fractional_laser | peel
//! date = "2027-01-11"
//! ```
//!
//! Unknown keys, wrong types and out-of-range values are errors with file, line and column.

use crate::RoutineError;
use exoskin_labels::{Class, Date, Decoder, Ingredient, Product};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Product types, in the order they go on the skin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductType {
    Cleanser,
    Toner,
    Essence,
    Serum,
    Mask,
    Moisturizer,
    Oil,
    Sunscreen,
}

impl ProductType {
    /// The name in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductType::Cleanser => "cleanser",
            ProductType::Toner => "toner",
            ProductType::Essence => "essence",
            ProductType::Serum => "serum",
            ProductType::Mask => "mask",
            ProductType::Moisturizer => "moisturizer",
            ProductType::Oil => "oil",
            ProductType::Sunscreen => "sunscreen",
        }
    }
}

/// Skin types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkinType {
    Normal,
    Dry,
    Oily,
    Combination,
}

/// Procedure kinds of a routine file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcedureKind {
    Microneedling,
    FractionalLaser,
    Peel,
}

impl ProcedureKind {
    /// The name in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcedureKind::Microneedling => "microneedling",
            ProcedureKind::FractionalLaser => "fractional_laser",
            ProcedureKind::Peel => "peel",
        }
    }
    /// The simulator's procedure kind.
    pub fn scenario_kind(self) -> &'static str {
        match self {
            ProcedureKind::Microneedling => "microneedling",
            ProcedureKind::FractionalLaser => "fractional_co2",
            ProcedureKind::Peel => "chemical_peel",
        }
    }
}

/// Where a product is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    Fridge,
    Room,
}

/// The person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    pub age_years: f64,
    pub skin_type: SkinType,
    pub sensitive: bool,
    pub pregnant: bool,
    pub breastfeeding: bool,
}

/// Actives decoded from an ingredient list (label decoder tags and classes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Actives {
    pub vesicle: bool,
    pub human_derived_vesicle: bool,
    pub retinoid: bool,
    pub aha: bool,
    pub bha: bool,
    pub pha: bool,
    pub vitamin_c: bool,
    pub benzoyl_peroxide: bool,
    pub niacinamide: bool,
    pub peptide: bool,
    pub silicone: bool,
    pub uv_filter: bool,
    pub occlusive: bool,
}

impl Actives {
    /// Decode from classified ingredients ("may contain" items are ignored).
    pub fn of(ingredients: &[Ingredient]) -> Actives {
        let mut a = Actives::default();
        for i in ingredients.iter().filter(|i| !i.may_contain) {
            if i.class == Class::Vesicle {
                a.vesicle = true;
                a.human_derived_vesicle |= i.human_derived;
            }
            a.retinoid |= i.has_tag("retinoid");
            a.aha |= i.has_tag("aha");
            a.bha |= i.has_tag("bha");
            a.pha |= i.has_tag("pha");
            a.vitamin_c |= i.has_tag("vitamin_c");
            a.benzoyl_peroxide |= i.has_tag("benzoyl_peroxide");
            a.niacinamide |= i.has_tag("niacinamide");
            a.peptide |= i.has_tag("peptide");
            a.silicone |= i.has_tag("silicone");
            a.uv_filter |= i.has_tag("uv_filter");
            a.occlusive |= i.has_tag("occlusive");
        }
        a
    }

    /// An exfoliating acid (AHA, BHA or PHA).
    pub fn acid(&self) -> bool {
        self.aha || self.bha || self.pha
    }

    /// Actives paused around a procedure.
    pub fn paused_around_procedures(&self) -> bool {
        self.retinoid || self.acid() || self.benzoyl_peroxide || self.vitamin_c
    }

    /// The decoded actives' names.
    pub fn names(&self) -> Vec<&'static str> {
        let all = [
            (self.vesicle, "vesicles"),
            (self.retinoid, "retinoid"),
            (self.aha, "AHA"),
            (self.bha, "BHA"),
            (self.pha, "PHA"),
            (self.vitamin_c, "vitamin C"),
            (self.benzoyl_peroxide, "benzoyl peroxide"),
            (self.niacinamide, "niacinamide"),
            (self.peptide, "peptides"),
            (self.silicone, "silicones"),
            (self.uv_filter, "UV filters"),
            (self.occlusive, "occlusives"),
        ];
        all.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect()
    }
}

/// One product on the shelf.
#[derive(Debug, Clone)]
pub struct ShelfProduct {
    pub name: String,
    pub kind: ProductType,
    /// The product file, when one was given.
    pub file: Option<PathBuf>,
    /// The product as read (inline products get a product with name and ingredients).
    pub product: Product,
    pub ingredients: Vec<Ingredient>,
    pub actives: Actives,
    pub new: bool,
    pub stored: Option<Stored>,
    pub particles_per_ml: Option<f64>,
    pub dose_ul_per_cm2: Option<f64>,
    pub vesicle_source: Option<String>,
}

/// A procedure on a date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcedureDate {
    pub kind: ProcedureKind,
    pub date: Date,
}

/// A routine file, read and checked.
#[derive(Debug, Clone)]
pub struct Routine {
    pub file: String,
    pub person: Person,
    pub start: Date,
    pub weeks: u32,
    pub site: String,
    pub products: Vec<ShelfProduct>,
    pub procedures: Vec<ProcedureDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoutine {
    person: RawPerson,
    plan: RawPlan,
    #[serde(default)]
    products: Vec<RawProduct>,
    #[serde(default)]
    procedures: Vec<RawProcedure>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerson {
    age_years: Spanned<f64>,
    skin_type: SkinType,
    #[serde(default)]
    sensitive: bool,
    #[serde(default)]
    pregnant: bool,
    #[serde(default)]
    breastfeeding: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    start: Spanned<toml::Value>,
    weeks: Spanned<i64>,
    site: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    file: Option<Spanned<String>>,
    name: Option<Spanned<String>>,
    ingredients: Option<String>,
    #[serde(rename = "type")]
    kind: ProductType,
    #[serde(default = "yes")]
    new: bool,
    stored: Option<Stored>,
    particles_per_ml: Option<Spanned<f64>>,
    dose_ul_per_cm2: Option<Spanned<f64>>,
    vesicle_source: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcedure {
    kind: ProcedureKind,
    date: Spanned<toml::Value>,
}

/// Line and column (1-based) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, at: usize, key: &str, message: impl Into<String>) -> RoutineError {
        let (line, column) = line_col(self.text, at);
        RoutineError::Input {
            file: self.file.to_string(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn date(&self, v: &Spanned<toml::Value>, key: &str) -> Result<Date, RoutineError> {
        let text = match v.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) => d.to_string(),
            other => {
                return Err(self.err(
                    v.span().start,
                    key,
                    format!(
                        "expected a date such as \"2027-01-04\", found {}",
                        other.type_str()
                    ),
                ))
            }
        };
        text.trim().parse::<Date>().map_err(|_| {
            self.err(
                v.span().start,
                key,
                format!("\"{text}\" is not a date; write YYYY-MM-DD, e.g. \"2027-01-04\""),
            )
        })
    }

    fn positive(&self, v: &Spanned<f64>, key: &str, max: f64) -> Result<f64, RoutineError> {
        let x = *v.get_ref();
        if !(x.is_finite() && x > 0.0 && x <= max) {
            return Err(self.err(
                v.span().start,
                key,
                format!("{x} is out of range; allowed: greater than 0 and at most {max}"),
            ));
        }
        Ok(x)
    }
}

/// Read a routine file; product files are resolved relative to it.
pub fn read_routine_file(path: &Path) -> Result<Routine, RoutineError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| RoutineError::Read {
        file: file.clone(),
        message: e.to_string(),
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    read_routine(&text, &file, dir)
}

/// Parse and check routine text; `file` names it in errors, `dir` resolves product files.
pub fn read_routine(text: &str, file: &str, dir: &Path) -> Result<Routine, RoutineError> {
    let ctx = Ctx { file, text };
    let raw: RawRoutine = toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start);
        ctx.err(at, "routine", e.message().to_string())
    })?;
    let p = &raw.person;
    let age = *p.age_years.get_ref();
    if !(age.is_finite() && (12.0..=110.0).contains(&age)) {
        return Err(ctx.err(
            p.age_years.span().start,
            "person.age_years",
            format!("{age} is out of range; allowed: 12 to 110"),
        ));
    }
    let person = Person {
        age_years: age,
        skin_type: p.skin_type,
        sensitive: p.sensitive,
        pregnant: p.pregnant,
        breastfeeding: p.breastfeeding,
    };
    let start = ctx.date(&raw.plan.start, "plan.start")?;
    let weeks = *raw.plan.weeks.get_ref();
    if !(1..=52).contains(&weeks) {
        return Err(ctx.err(
            raw.plan.weeks.span().start,
            "plan.weeks",
            format!("{weeks} is out of range; allowed: 1 to 52"),
        ));
    }
    let site = match &raw.plan.site {
        None => "cheek".to_string(),
        Some(s) => {
            let sites = exoskin_model::params::sites();
            if !sites.contains_key(s.get_ref()) {
                return Err(ctx.err(
                    s.span().start,
                    "plan.site",
                    format!(
                        "unknown site \"{}\"; use one of {}",
                        s.get_ref(),
                        sites.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            s.get_ref().clone()
        }
    };
    let decoder = Decoder::embedded()?;
    let mut products = Vec::new();
    for (i, rp) in raw.products.iter().enumerate() {
        let key = |k: &str| format!("products[{i}].{k}");
        let (product, path) = match (&rp.file, &rp.name, &rp.ingredients) {
            (Some(f), None, None) => {
                let path = dir.join(f.get_ref());
                let ptext = std::fs::read_to_string(&path).map_err(|e| {
                    ctx.err(
                        f.span().start,
                        &key("file"),
                        format!("cannot read product file {}: {e}", path.display()),
                    )
                })?;
                let prod =
                    Product::from_toml_str(&ptext).map_err(|source| RoutineError::Product {
                        file: file.to_string(),
                        product: path.display().to_string(),
                        source,
                    })?;
                (prod, Some(path))
            }
            (None, Some(n), Some(ing)) => (
                Product {
                    name: n.get_ref().clone(),
                    ingredients: ing.clone(),
                    ..Product::default()
                },
                None,
            ),
            (Some(f), _, _) => {
                return Err(ctx.err(
                    f.span().start,
                    &key("file"),
                    "give either file = \"product.toml\" or name and ingredients, not both",
                ))
            }
            (None, n, _) => {
                let at = n.as_ref().map_or(0, |n| n.span().start);
                return Err(ctx.err(
                    at,
                    &format!("products[{i}]"),
                    "a product needs file = \"product.toml\", or name = \"...\" and \
                     ingredients = \"...\"",
                ));
            }
        };
        let ingredients = decoder.ingredients(&product.ingredients);
        let actives = Actives::of(&ingredients);
        let particles_per_ml = match &rp.particles_per_ml {
            Some(v) => Some(ctx.positive(v, &key("particles_per_ml"), 1e15)?),
            None => None,
        };
        let dose_ul_per_cm2 = match &rp.dose_ul_per_cm2 {
            Some(v) => Some(ctx.positive(v, &key("dose_ul_per_cm2"), 20.0)?),
            None => None,
        };
        let vesicle_source = match &rp.vesicle_source {
            Some(v) => {
                if !crate::predict::SIM_SOURCES.contains(&v.get_ref().as_str()) {
                    return Err(ctx.err(
                        v.span().start,
                        &key("vesicle_source"),
                        format!(
                            "unknown source \"{}\"; use one of {}",
                            v.get_ref(),
                            crate::predict::SIM_SOURCES.join(", ")
                        ),
                    ));
                }
                Some(v.get_ref().clone())
            }
            None => None,
        };
        products.push(ShelfProduct {
            name: product.name.clone(),
            kind: rp.kind,
            file: path,
            ingredients,
            actives,
            product,
            new: rp.new,
            stored: rp.stored,
            particles_per_ml,
            dose_ul_per_cm2,
            vesicle_source,
        });
    }
    let mut procedures = Vec::new();
    for (i, pr) in raw.procedures.iter().enumerate() {
        procedures.push(ProcedureDate {
            kind: pr.kind,
            date: ctx.date(&pr.date, &format!("procedures[{i}].date"))?,
        });
    }
    procedures.sort_by_key(|p| p.date);
    Ok(Routine {
        file: file.to_string(),
        person,
        start,
        weeks: weeks as u32,
        site,
        products,
        procedures,
    })
}
