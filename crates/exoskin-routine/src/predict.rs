//! The predicted result: the plan's EV serum (and the procedure calendar) run through the
//! simulator, at 2, 4 and 12 weeks, against the same routine without the EV serum and with
//! and without the essence step.
//!
//! Each run is an ordinary `in_vivo` scenario, built as TOML text and read by
//! `exoskin_model::parse_scenario`, so `exoskin simulate` on the printed text gives the same
//! numbers. Approximations (stated in the output): the model puts procedures at t = 0 and
//! repeats them every `interval_days`, so the run starts at the first procedure (or at the
//! first EV night) and uses the mean spacing of procedures of the first kind; EV serum on
//! alternate nights is a once-daily application at the plan's mean nightly dose (particle
//! concentration times the fraction of nights with the serum). The runs are point
//! predictions at the shipped parameters; what the EV serum adds over the same routine
//! without it (`effect`) comes with its 90 % interval over the posterior, as in
//! `exoskin simulate`.

use crate::input::{ProductType, Routine, ShelfProduct};
use crate::planner::Plan;
use crate::RoutineError;
use exoskin_inference::effect::Effect;
use exoskin_labels::Source;
use exoskin_model::{parse_scenario, InVivo, Scenario, Stop, TransportParams};
use exoskin_response::{try_simulate_in_vivo, ResponseParams, Simulation};
use serde::Serialize;
use std::collections::BTreeMap;

/// The simulator's vesicle sources (keys of `data/potency.toml`).
pub use exoskin_model::scenario::SOURCES as SIM_SOURCES;

/// Particle concentration when the product file gives none, per mL. Assumption (range
/// 1e8 to 1e12): the bundled scenarios use 1e10 to 1e11.
pub const DEFAULT_PARTICLES_PER_ML: f64 = 1.0e10;
/// Serum dose when none is given, uL/cm2. Assumption (range 1 to 3; the bundled scenarios
/// use 1.5 to 2).
pub const DEFAULT_DOSE_UL_PER_CM2: f64 = 2.0;
/// Essence volume when none is given, uL/cm2. Assumption (range 0.5 to 2).
pub const DEFAULT_ESSENCE_UL_PER_CM2: f64 = 1.0;
/// Weeks the outcomes are reported at.
pub const REPORT_WEEKS: [u32; 3] = [2, 4, 12];

/// Outcome names reported.
pub const OUTCOMES: &[&str] = &[
    "collagen_pct",
    "elasticity_pct",
    "wrinkle_pct",
    "hydration_pct",
    "tewl_pct",
    "erythema_pct",
    "pore_area_pct",
    "melanin_pct",
];

/// The simulator's source for a decoded vesicle source, if it has one.
pub fn sim_source(s: Source) -> Option<&'static str> {
    match s {
        Source::HumanMsc => Some("human_msc_adipose"),
        Source::Platelet => Some("platelet"),
        Source::Plant => Some("plant"),
        Source::Bacterial => Some("bacterial"),
        Source::SyntheticMimetic => Some("synthetic_mimetic"),
        Source::HumanOther | Source::Animal | Source::Unknown => None,
    }
}

/// What a scenario is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    pub name: String,
    pub source: String,
    pub particles_per_ml: f64,
    pub dose_ul_per_cm2: f64,
    pub essence_ul_per_cm2: f64,
    pub site: String,
    pub age_years: f64,
    /// (simulator kind, sessions, interval days)
    pub procedure: Option<(&'static str, u32, f64)>,
    pub days: u32,
}

impl RunSpec {
    /// The scenario file text.
    pub fn scenario_toml(&self) -> String {
        let mut t = format!(
            "[experiment]\nkind = \"in_vivo\"\nname = {:?}\nduration_h = {:.1}\noutput_interval_h = 24.0\n\n\
             [product]\nsource = {:?}\nparticles_per_ml = {:e}\ndose_ul_per_cm2 = {:?}\n\n\
             [product.size]\nmode_nm = 100.0\ngsd = 1.4\nclasses = 6\n\n\
             [skin]\nsite = {:?}\nage_years = {:?}\n\n",
            self.name,
            f64::from(self.days) * 24.0,
            self.source,
            self.particles_per_ml,
            self.dose_ul_per_cm2,
            self.site,
            self.age_years,
        );
        if let Some((kind, sessions, interval)) = self.procedure {
            t.push_str(&format!(
                "[procedure]\nkind = {kind:?}\nsessions = {sessions}\n"
            ));
            if sessions > 1 {
                t.push_str(&format!("interval_days = {interval:?}\n"));
            }
            t.push('\n');
        }
        t.push_str(&format!(
            "[regimen]\napplications_per_day = 1\ndays = {}\nessence_ul_per_cm2 = {:?}\n\n",
            self.days, self.essence_ul_per_cm2
        ));
        t.push_str(NUMERICS_TOML);
        t
    }

    /// The scenario the text describes.
    pub fn scenario(&self) -> Result<InVivo, RoutineError> {
        let text = self.scenario_toml();
        let s = parse_scenario(&text, &self.name).map_err(|e| RoutineError::Simulation {
            what: self.name.clone(),
            message: e.to_string(),
        })?;
        match s {
            Scenario::InVivo(v) => Ok(v),
            _ => Err(RoutineError::Simulation {
                what: self.name.clone(),
                message: "the scenario text is not in_vivo".into(),
            }),
        }
    }

    /// Read the scenario and run it.
    pub fn run(&self) -> Result<Simulation, RoutineError> {
        let v = self.scenario()?;
        try_simulate_in_vivo(&v, TransportParams::defaults(), ResponseParams::defaults()).map_err(
            |e| RoutineError::Simulation {
                what: self.name.clone(),
                message: e.to_string(),
            },
        )
    }
}

/// The numerics of the routine's and the face map's runs: 20 cells per layer, 16 radial,
/// steps of at most 0.5 h. On the bundled microneedling routine they put dermal delivery
/// within 2 % and the outcomes within 0.5 % of a fine reference (40 cells, 48 radial,
/// 0.05 h; the scenario defaults are within 0.8 % and 0.1 %) at a third of the defaults'
/// cost (docs/benchmarks.md); far inside the model's own uncertainty. A test holds them
/// within 2.5 % of the defaults.
pub const NUMERICS_TOML: &str =
    "[numerics]\ncells_per_layer = 20\nradial_cells = 16\ndt_max_h = 0.5\n";

/// Outcomes of one run at the report weeks.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunOutcome {
    pub label: String,
    /// outcome -> [week 2, week 4, week 12], % change from baseline.
    pub outcomes: BTreeMap<String, Vec<f64>>,
    /// Fraction of applied vesicles that reached the dermis, %.
    pub reached_dermis_pct: f64,
    pub scenario_toml: String,
}

/// Values of the outcome series at the report weeks (the sample at day 7 x week).
pub fn at_weeks(sim: &Simulation, weeks: &[u32]) -> BTreeMap<String, Vec<f64>> {
    let s = &sim.outcomes.series;
    let idx: Vec<usize> = weeks
        .iter()
        .map(|w| {
            let t = f64::from(w * 7);
            s.times_d
                .iter()
                .enumerate()
                .min_by(|a, b| (a.1 - t).abs().total_cmp(&(b.1 - t).abs()))
                .map_or(0, |(i, _)| i)
        })
        .collect();
    OUTCOMES
        .iter()
        .filter_map(|name| {
            let v = s.get(name)?;
            Some((name.to_string(), idx.iter().map(|&i| v[i]).collect()))
        })
        .collect()
}

fn outcome(label: &str, spec: &RunSpec, sim: &Simulation) -> RunOutcome {
    RunOutcome {
        label: label.to_string(),
        outcomes: at_weeks(sim, &REPORT_WEEKS),
        reached_dermis_pct: 100.0 * sim.transport.reached_dermis_fraction,
        scenario_toml: spec.scenario_toml(),
    }
}

/// The prediction block of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    pub product: Option<String>,
    pub weeks: Vec<u32>,
    /// What the EV serum adds over the same routine without it, with its 90 % interval over
    /// the posterior (as `exoskin simulate`'s `effect`); None without a vesicle product.
    pub effect: Option<Effect>,
    /// The session days of the plan's run (d), where a reading on such a day is taken before
    /// the session.
    pub sessions_d: Vec<f64>,
    pub runs: Vec<RunOutcome>,
    pub notes: Vec<String>,
    pub uncertainty: &'static str,
}

/// The EV product of the plan (the first one not left out).
pub fn ev_product<'a>(r: &'a Routine, plan: &Plan) -> Option<&'a ShelfProduct> {
    r.products.iter().find(|p| {
        p.actives.vesicle
            && !plan
                .excluded
                .iter()
                .any(|e| e.starts_with(&format!("{}:", p.name)))
    })
}

/// The base run spec of a routine's EV product, or why there is none.
pub fn base_spec(r: &Routine, plan: &Plan) -> Result<(RunSpec, Vec<String>), String> {
    let ev = ev_product(r, plan).ok_or("no vesicle product in the plan")?;
    let mut notes = Vec::new();
    let source = match &ev.vesicle_source {
        Some(s) => s.clone(),
        None => {
            let decoded = ev
                .ingredients
                .iter()
                .find_map(|i| (i.class == exoskin_labels::Class::Vesicle).then_some(i.source))
                .flatten()
                .unwrap_or(Source::Unknown);
            sim_source(decoded).map(str::to_string).ok_or(format!(
                "the vesicle source \"{}\" has no simulator data; set vesicle_source",
                decoded.as_str()
            ))?
        }
    };
    let nights = plan
        .days
        .iter()
        .filter(|d| {
            d.am.iter()
                .chain(&d.pm)
                .any(|s| s.product == ev.name && s.kind != "patch_test")
        })
        .count();
    let in_use = plan
        .days
        .iter()
        .filter(|d| {
            !d.am
                .iter()
                .chain(&d.pm)
                .any(|s| s.kind == "patch_test" && s.product == ev.name)
        })
        .count()
        .max(1);
    let fraction = (nights as f64 / in_use as f64).clamp(0.0, 1.0);
    if fraction < 1.0 {
        notes.push(format!(
            "EV serum on {nights} of {in_use} days: modelled as daily at {:.0} % of the particle concentration",
            fraction * 100.0
        ));
    }
    let conc = ev.particles_per_ml.unwrap_or_else(|| {
        notes.push(format!(
            "particles_per_ml not given: assumption {DEFAULT_PARTICLES_PER_ML:e} (range 1e8-1e12)"
        ));
        DEFAULT_PARTICLES_PER_ML
    });
    let essence = r
        .products
        .iter()
        .find(|p| p.kind == ProductType::Essence)
        .map(|p| p.dose_ul_per_cm2.unwrap_or(DEFAULT_ESSENCE_UL_PER_CM2));
    let procedure = r.procedures.first().map(|first| {
        let same: Vec<_> = r
            .procedures
            .iter()
            .filter(|p| p.kind == first.kind)
            .collect();
        if same.len() < r.procedures.len() {
            notes.push(format!(
                "the model runs one procedure kind: {} only",
                first.kind.as_str()
            ));
        }
        let interval = if same.len() > 1 {
            (same[same.len() - 1].date - same[0].date).get_days() as f64 / (same.len() - 1) as f64
        } else {
            0.0
        };
        notes.push(
            "the run starts at the first procedure (the model puts procedures at t = 0)".into(),
        );
        (first.kind.scenario_kind(), same.len() as u32, interval)
    });
    Ok((
        RunSpec {
            name: format!("{} on {}", ev.name, r.site),
            source,
            particles_per_ml: conc * fraction.max(1e-3),
            dose_ul_per_cm2: ev.dose_ul_per_cm2.unwrap_or(DEFAULT_DOSE_UL_PER_CM2),
            essence_ul_per_cm2: essence.unwrap_or(0.0),
            site: r.site.clone(),
            age_years: r.person.age_years,
            procedure,
            days: 84,
        },
        notes,
    ))
}

/// Run the plan, the plan without the EV serum (vehicle), and with the essence toggled.
pub fn predict(r: &Routine, plan: &Plan) -> Result<Prediction, RoutineError> {
    let uncertainty = "runs: point predictions at the shipped parameters; effect: 90 % interval over the posterior of the calibrated parameters";
    let (base, mut notes) = match base_spec(r, plan) {
        Ok(x) => x,
        Err(why) => {
            return Ok(Prediction {
                product: None,
                weeks: REPORT_WEEKS.to_vec(),
                effect: None,
                sessions_d: Vec::new(),
                runs: Vec::new(),
                notes: vec![format!("no prediction: {why}")],
                uncertainty,
            })
        }
    };
    let vehicle = RunSpec {
        name: format!("{} (without the EV serum)", base.name),
        source: "vehicle".into(),
        ..base.clone()
    };
    let has_essence = base.essence_ul_per_cm2 > 0.0;
    let toggled = RunSpec {
        name: format!(
            "{} ({} the essence)",
            base.name,
            if has_essence { "without" } else { "with" }
        ),
        essence_ul_per_cm2: if has_essence {
            0.0
        } else {
            DEFAULT_ESSENCE_UL_PER_CM2
        },
        ..base.clone()
    };
    // Two transport runs (the plan, and the plan with the essence toggled) on two threads;
    // the routine without the EV serum carries no vesicles, so its response borrows the
    // plan's transport run (bit for bit as with its own: `Simulation::without_vesicles`).
    let (tp, rp) = (TransportParams::defaults(), ResponseParams::defaults());
    let (plan_run, toggled_run) = std::thread::scope(|s| {
        let h = s.spawn(|| toggled.run());
        let plan_run = base.scenario().and_then(|v| Ok((base.run()?, v)));
        let toggled_run = h.join().unwrap_or_else(|_| {
            Err(RoutineError::Simulation {
                what: toggled.name.clone(),
                message: "the run stopped unexpectedly".into(),
            })
        });
        (plan_run, toggled_run)
    });
    let ((plan_sim, plan_v), toggled_sim) = (plan_run?, toggled_run?);
    let vehicle_v = vehicle.scenario()?;
    let vehicle_sim = match Simulation::without_vesicles(&vehicle_v, tp, rp, &plan_sim.transport) {
        Some(sim) => sim,
        None => vehicle.run()?,
    };
    let mut without = outcome("without EV serum", &vehicle, &vehicle_sim);
    // No vesicles: none reach the dermis.
    without.reached_dermis_pct = 0.0;
    let toggled_label = if has_essence {
        "without essence"
    } else {
        "with essence"
    };
    let runs = vec![
        outcome("plan", &base, &plan_sim),
        without,
        outcome(toggled_label, &toggled, &toggled_sim),
    ];
    let effect = exoskin_inference::effect::shipped_effect(&plan_v, &plan_sim, rp, &Stop::never())
        .map_err(|e| RoutineError::Simulation {
            what: base.name.clone(),
            message: e.to_string(),
        })?;
    let sessions_d = plan_v.sessions_h.iter().map(|h| h / 24.0).collect();
    let (with_e, without_e) = if has_essence {
        (&runs[0], &runs[2])
    } else {
        (&runs[2], &runs[0])
    };
    if without_e.reached_dermis_pct > 0.0 {
        notes.push(format!(
            "essence step: dermal delivery {:.3} % with vs {:.3} % without ({:+.1} %; the seed articles claim +20 % absorption)",
            with_e.reached_dermis_pct,
            without_e.reached_dermis_pct,
            100.0 * (with_e.reached_dermis_pct / without_e.reached_dermis_pct - 1.0)
        ));
    }
    Ok(Prediction {
        product: ev_product(r, plan).map(|p| p.name.clone()),
        weeks: REPORT_WEEKS.to_vec(),
        effect,
        sessions_d,
        runs,
        notes,
        uncertainty,
    })
}

/// The run spec of one product file (label decoder format) on the cheek: its vesicle source
/// from the decoded ingredients, and the default concentration and dose (assumptions).
pub fn product_spec(
    path: &std::path::Path,
    age_years: f64,
) -> Result<(RunSpec, Vec<String>), RoutineError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| RoutineError::Read {
        file: file.clone(),
        message: e.to_string(),
    })?;
    let product =
        exoskin_labels::Product::from_toml_str(&text).map_err(|source| RoutineError::Product {
            file: file.clone(),
            product: file.clone(),
            source,
        })?;
    let decoder = exoskin_labels::Decoder::embedded()?;
    let decoded = decoder
        .ingredients(&product.ingredients)
        .into_iter()
        .find(|i| i.class == exoskin_labels::Class::Vesicle && !i.may_contain)
        .ok_or_else(|| RoutineError::Simulation {
            what: file.clone(),
            message: "the ingredient list has no vesicle ingredient to simulate".into(),
        })?;
    let src = decoded.source.unwrap_or(Source::Unknown);
    let source = sim_source(src).ok_or_else(|| RoutineError::Simulation {
        what: file.clone(),
        message: format!(
            "the vesicle source \"{}\" has no simulator data; use a routine file with vesicle_source",
            src.as_str()
        ),
    })?;
    let notes = vec![
        format!("particles_per_ml: assumption {DEFAULT_PARTICLES_PER_ML:e} (range 1e8-1e12)"),
        format!("dose: assumption {DEFAULT_DOSE_UL_PER_CM2} uL/cm2 once daily for 12 weeks"),
    ];
    Ok((
        RunSpec {
            name: format!("{} on cheek", product.name),
            source: source.to_string(),
            particles_per_ml: DEFAULT_PARTICLES_PER_ML,
            dose_ul_per_cm2: DEFAULT_DOSE_UL_PER_CM2,
            essence_ul_per_cm2: 0.0,
            site: "cheek".into(),
            age_years,
            procedure: None,
            days: 84,
        },
        notes,
    ))
}
