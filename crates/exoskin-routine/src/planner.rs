//! The day-by-day plan: steps, waits, alternations, patch tests, procedure pauses, warnings.
//!
//! Every step and warning names the rule it follows (`data/routine/rules.toml`), with the
//! rule's reason and source.

use crate::input::{ProcedureDate, ProductType, Routine, ShelfProduct, Stored};
use crate::rules::{Rule, Rules};
use crate::RoutineError;
use exoskin_labels::{codes, parse_expiry, Date, Decoder};
use serde::Serialize;

/// One step of a morning or evening.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub product: String,
    pub action: String,
    /// Seconds to wait before the next step.
    pub wait_s: f64,
    pub reason: String,
    pub source: String,
    /// The rule id the step follows.
    pub rule: String,
    /// The product's type (or "patch_test", "procedure").
    pub kind: String,
}

/// A note on a day (a paused product, a procedure).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub text: String,
    pub reason: String,
    pub source: String,
    pub rule: String,
}

/// One day of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Day {
    pub date: String,
    pub am: Vec<Step>,
    pub pm: Vec<Step>,
    pub notes: Vec<Note>,
}

/// A warning about the shelf or the person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub code: String,
    /// "high", "medium" or "info".
    pub severity: &'static str,
    pub product: Option<String>,
    pub message: String,
    pub reason: String,
    pub source: String,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub days: Vec<Day>,
    pub warnings: Vec<Warning>,
    /// Products left out of the plan, with why.
    pub excluded: Vec<String>,
}

fn step(p: &ShelfProduct, action: &str, r: &Rule) -> Step {
    Step {
        product: p.name.clone(),
        action: action.to_string(),
        wait_s: 0.0,
        reason: r.reason.clone(),
        source: r.cite(),
        rule: r.id.clone(),
        kind: p.kind.as_str().to_string(),
    }
}

fn warn(
    code: &str,
    severity: &'static str,
    product: Option<&str>,
    message: String,
    r: &Rule,
) -> Warning {
    Warning {
        code: code.to_string(),
        severity,
        product: product.map(str::to_string),
        message,
        reason: r.reason.clone(),
        source: r.cite(),
    }
}

fn label_storage(p: &ShelfProduct) -> Option<Stored> {
    let text = format!(
        "{} {} {}",
        p.product.name,
        p.product.directions.as_deref().unwrap_or(""),
        p.product.ingredients
    )
    .to_lowercase();
    if text.contains("lyophil") || text.contains("freeze-dried") || text.contains("freeze dried") {
        return Some(Stored::Room);
    }
    if text.contains("do not refrigerate") || text.contains("room temperature") {
        return Some(Stored::Room);
    }
    if text.contains("refrigerat") || text.contains("fridge") || text.contains("2-8") {
        return Some(Stored::Fridge);
    }
    None
}

/// What role a product plays on a given slot.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Am,
    Pm,
}

/// Write the plan for a routine.
pub fn plan(r: &Routine) -> Result<Plan, RoutineError> {
    let rules = Rules::embedded()?;
    let decoder = Decoder::embedded()?;
    let end = r.start + jiff::Span::new().days(i64::from(r.weeks) * 7 - 1);

    let (shelf, warnings, excluded) = screen(r, rules, decoder, end)?;
    let silicones = shelf.iter().any(|p| p.actives.silicone);
    let has_retinoid = shelf.iter().any(|p| p.actives.retinoid);

    let patch_days = rules.value("patch_test_new") as i64;
    // New leave-on products are patch-tested one at a time, each for `patch_days`, in shelf
    // order, and each starts after its own test, so a reaction points at one product; a
    // rinse-off cleanser needs none.
    let mut tested = 0i64;
    let patch_start: Vec<Option<jiff::civil::Date>> = shelf
        .iter()
        .map(|p| {
            (p.new && p.kind != ProductType::Cleanser).then(|| {
                tested += 1;
                r.start + jiff::Span::new().days((tested - 1) * patch_days)
            })
        })
        .collect();
    // Nights are counted from the first product's first use.
    let first_use = patch_start
        .iter()
        .flatten()
        .next()
        .map_or(r.start, |d| *d + jiff::Span::new().days(patch_days));

    let n_days = i64::from(r.weeks) * 7;
    let mut days = Vec::with_capacity(n_days as usize);
    for d in 0..n_days {
        let date = r.start + jiff::Span::new().days(d);
        let mut day = Day {
            date: date.to_string(),
            am: Vec::new(),
            pm: Vec::new(),
            notes: Vec::new(),
        };
        let procedure_today = r.procedures.iter().find(|p| p.date == date);
        let paused_by = pause_window(&r.procedures, date, rules);
        // Nights counted from the first use: retinoid on odd nights, EV serum on even ones.
        let night = (date - first_use).get_days();
        let in_use = date >= first_use;
        let retinoid_night = has_retinoid && in_use && night % 2 == 1;
        let sensitive_skip = r.person.sensitive
            && f64::from(night) < rules.value("sensitive_alternate")
            && night % 2 == 1;

        let today = Today {
            d,
            date,
            night,
            patch_start: None,
            patch_days,
            paused_by,
            procedure_today,
            retinoid_night,
            sensitive_skip,
            sensitive: r.person.sensitive,
            has_retinoid,
            silicones,
            rules,
        };
        for (k, p) in shelf.iter().enumerate() {
            let t = Today {
                patch_start: patch_start[k],
                ..today
            };
            place(&mut day, p, &t);
        }
        if let Some(pr) = procedure_today {
            let rule = rules.get("ev_after_procedure");
            day.pm.insert(
                0,
                Step {
                    product: format!("procedure: {}", pr.kind.as_str()),
                    action: "at the clinic; no other actives today".into(),
                    wait_s: 0.0,
                    reason: rule.reason.clone(),
                    source: rule.cite(),
                    rule: rule.id.clone(),
                    kind: "procedure".into(),
                },
            );
        }
        // Patch test before first use on freshly treated skin.
        for pr in &r.procedures {
            let before = pr.date - jiff::Span::new().days(patch_days);
            if date >= before && date < pr.date {
                for p in shelf.iter().filter(|p| p.actives.vesicle) {
                    let mut s = step(
                        p,
                        "patch test again before use on freshly treated skin: inner forearm, 48 h",
                        rules.get("patch_test_treated"),
                    );
                    s.kind = "patch_test".into();
                    day.pm.push(s);
                }
            }
        }
        // Around a procedure, while the actives rest, the skin still gets its basic care
        // every morning and evening: a gentle cleanser, a bland moisturiser and (mornings)
        // SPF; where the shelf has none fit for it, a step says what to use.
        if paused_by.is_some() || procedure_today.is_some() {
            care_steps(&mut day, procedure_today.is_some(), &shelf, rules);
        }
        order(&mut day.am, Slot::Am, &shelf);
        order(&mut day.pm, Slot::Pm, &shelf);
        set_waits(&mut day.am, &shelf, rules);
        set_waits(&mut day.pm, &shelf, rules);
        days.push(day);
    }
    Ok(Plan {
        days,
        warnings,
        excluded,
    })
}

/// The products the plan uses: expired ones and retinoids in pregnancy are left out (with
/// why), and the shelf's warnings (pregnancy, region, storage, age, no sunscreen) are
/// collected.
/// What [`screen`] keeps (the shelf in order), its warnings and what it left out (and why).
type Screened<'r> = (Vec<&'r ShelfProduct>, Vec<Warning>, Vec<String>);

fn screen<'r>(
    r: &'r Routine,
    rules: &Rules,
    decoder: &Decoder,
    end: Date,
) -> Result<Screened<'r>, RoutineError> {
    let mut warnings = Vec::new();
    let mut excluded = Vec::new();
    let mut shelf: Vec<&ShelfProduct> = Vec::new();
    for p in &r.products {
        let expiry = p.product.expiry_date.as_deref().and_then(parse_expiry);
        if let Some(exp) = expiry {
            if exp < r.start {
                warnings.push(warn(
                    "expired",
                    "high",
                    Some(&p.name),
                    format!("{} expired on {exp}, before the plan starts", p.name),
                    rules.get("expired"),
                ));
                excluded.push(format!("{}: expired {exp}", p.name));
                continue;
            } else if exp <= end {
                warnings.push(warn(
                    "expires_during_plan",
                    "medium",
                    Some(&p.name),
                    format!(
                        "{} expires on {exp}, during the plan; replace it by then",
                        p.name
                    ),
                    rules.get("expired"),
                ));
            }
        }
        if (r.person.pregnant || r.person.breastfeeding) && p.actives.retinoid {
            warnings.push(warn(
                "pregnancy_retinoid",
                "high",
                Some(&p.name),
                format!(
                    "{} contains a retinoid: removed from the plan in pregnancy or while \
                     breastfeeding",
                    p.name
                ),
                rules.get("pregnancy_retinoid"),
            ));
            excluded.push(format!(
                "{}: retinoid in pregnancy or breastfeeding",
                p.name
            ));
            continue;
        }
        if (r.person.pregnant || r.person.breastfeeding) && p.actives.vesicle {
            warnings.push(warn(
                "pregnancy_ev_no_data",
                "high",
                Some(&p.name),
                format!(
                    "{} contains vesicles: there are no reproductive-toxicology data; ask a \
                     doctor before use",
                    p.name
                ),
                rules.get("pregnancy_ev_no_data"),
            ));
        }
        if p.actives.vesicle && p.product.region.is_some() {
            let report = decoder.check_product(&p.product, Some(r.start));
            if report.has_flag(codes::HUMAN_DERIVED_NOT_ALLOWED_IN_REGION) {
                warnings.push(warn(
                    "human_derived_not_allowed_in_region",
                    "high",
                    Some(&p.name),
                    format!(
                        "{} has human-derived vesicles, which region {} does not allow",
                        p.name,
                        p.product.region.as_deref().unwrap_or("?")
                    ),
                    rules.get("human_derived_region"),
                ));
            }
        }
        if let (Some(kept), Some(label)) = (p.stored, label_storage(p)) {
            if kept != label {
                let say = |s: Stored| match s {
                    Stored::Fridge => "in the fridge",
                    Stored::Room => "at room temperature",
                };
                warnings.push(warn(
                    "storage_contradiction",
                    "medium",
                    Some(&p.name),
                    format!(
                        "{} is kept {} but its label says to keep it {}",
                        p.name,
                        say(kept),
                        say(label)
                    ),
                    rules.get("storage_contradiction"),
                ));
            }
        }
        shelf.push(p);
    }
    if r.person.age_years < rules.value("age_start") && shelf.iter().any(|p| p.actives.vesicle) {
        warnings.push(warn(
            "age_start",
            "info",
            None,
            format!(
                "age {} is below {}",
                r.person.age_years,
                rules.value("age_start")
            ),
            rules.get("age_start"),
        ));
    }
    if !shelf.iter().any(|p| p.kind == ProductType::Sunscreen) {
        warnings.push(warn(
            "no_sunscreen",
            "high",
            None,
            "no sunscreen on the shelf: add a broad-spectrum SPF 50+ for every morning".into(),
            rules.get("spf_last"),
        ));
    }
    Ok((shelf, warnings, excluded))
}

/// What placing one product on one day depends on.
#[derive(Clone, Copy)]
struct Today<'a> {
    /// Day of the plan, from 0.
    d: i64,
    date: Date,
    /// Nights since the first product's first use.
    night: i32,
    /// When this product's patch test starts (new leave-on products).
    patch_start: Option<Date>,
    patch_days: i64,
    paused_by: Option<(&'a ProcedureDate, &'static str)>,
    procedure_today: Option<&'a ProcedureDate>,
    retinoid_night: bool,
    sensitive_skip: bool,
    sensitive: bool,
    has_retinoid: bool,
    silicones: bool,
    rules: &'a Rules,
}

/// Put product `p` into the day's morning and evening (or its patch test, or a pause note).
fn place(day: &mut Day, p: &ShelfProduct, t: &Today) {
    // Patch tests, one product at a time.
    let own_use = t
        .patch_start
        .map(|d| d + jiff::Span::new().days(t.patch_days));
    if t.patch_start.is_some_and(|from| t.date < from) {
        // Waiting for its turn to be tested; SPF every morning outranks waiting.
        if p.kind == ProductType::Sunscreen {
            day.am.push(am_step(p, t.rules));
        }
        return;
    }
    if own_use.is_some_and(|u| t.date < u) {
        let mut s = step(
            p,
            "patch test: a small amount on the inner forearm; check after 48 h",
            t.rules.get("patch_test_new"),
        );
        s.kind = "patch_test".into();
        day.pm.push(s);
        if p.kind == ProductType::Sunscreen {
            // SPF every morning outranks waiting for the patch test.
            day.am.push(am_step(p, t.rules));
        }
        return;
    }
    if let Some(proc_) = t.paused_by.filter(|_| p.actives.paused_around_procedures()) {
        let rid = format!("pause_{}_{}", proc_.1, scenario_name(proc_.0.kind));
        let rule = t.rules.get(&rid);
        day.notes.push(Note {
            text: format!(
                "{} paused ({} on {})",
                p.name,
                proc_.0.kind.as_str(),
                proc_.0.date
            ),
            reason: rule.reason.clone(),
            source: rule.cite(),
            rule: rule.id.clone(),
        });
        return;
    }
    let a = &p.actives;
    // Morning.
    let am_ok = match p.kind {
        ProductType::Mask | ProductType::Oil => false,
        _ => !(a.retinoid || a.vesicle || a.acid() || (a.peptide && !a.vitamin_c)),
    };
    if am_ok {
        day.am.push(am_step(p, t.rules));
    }
    // Evening.
    if p.kind == ProductType::Sunscreen || a.vitamin_c {
        return;
    }
    if a.retinoid {
        if t.retinoid_night && t.procedure_today.is_none() {
            day.pm.push(step(
                p,
                "apply a pea-sized amount",
                t.rules.get("retinoid_alternate"),
            ));
        }
        return;
    }
    if a.vesicle {
        if t.procedure_today.is_some() {
            day.pm.push(step(
                p,
                "apply right after the procedure onto the fresh channels",
                t.rules.get("ev_after_procedure"),
            ));
        } else if !t.retinoid_night && !t.sensitive_skip {
            let rule = if t.sensitive && f64::from(t.night) < t.rules.value("sensitive_alternate") {
                t.rules.get("sensitive_alternate")
            } else if t.has_retinoid {
                t.rules.get("retinoid_alternate")
            } else {
                t.rules.get("ev_on_damp_skin")
            };
            let mut s = step(p, "press into damp skin", rule);
            if t.silicones {
                s.action.push_str("; halve the dose if it pills");
                s.reason = format!("{} {}", s.reason, t.rules.get("silicone_half_dose").reason);
            }
            day.pm.push(s);
        }
        return;
    }
    if a.acid() || a.benzoyl_peroxide {
        if t.retinoid_night {
            return;
        }
        if !t.has_retinoid && t.night % 2 == 1 {
            return;
        }
        let rid = if a.benzoyl_peroxide {
            "retinoid_not_with_bpo"
        } else if t.has_retinoid {
            "retinoid_not_with_acid"
        } else {
            "acid_frequency"
        };
        if t.procedure_today.is_none() {
            day.pm.push(step(p, "apply", t.rules.get(rid)));
        }
        return;
    }
    if t.procedure_today.is_some()
        && !matches!(p.kind, ProductType::Cleanser | ProductType::Moisturizer)
    {
        return;
    }
    let rule = if a.peptide {
        t.rules.get("peptides_night")
    } else {
        t.rules.get("order_thin_to_thick")
    };
    if p.kind == ProductType::Mask && t.d % 7 != 6 {
        return;
    }
    day.pm.push(step(p, "apply", rule));
}

fn scenario_name(k: crate::input::ProcedureKind) -> &'static str {
    k.scenario_kind()
}

/// The procedure whose pause window covers `date`, with "before" or "after".
fn pause_window<'a>(
    procs: &'a [ProcedureDate],
    date: Date,
    rules: &Rules,
) -> Option<(&'a ProcedureDate, &'static str)> {
    for p in procs {
        let k = scenario_name(p.kind);
        let before = rules.value(&format!("pause_before_{k}")) as i64;
        let after = rules.value(&format!("pause_after_{k}")) as i64;
        let from = p.date - jiff::Span::new().days(before);
        let to = p.date + jiff::Span::new().days(after);
        if date >= from && date < p.date {
            return Some((p, "before"));
        }
        if date >= p.date && date <= to {
            return Some((p, "after"));
        }
    }
    None
}

/// The basic care of a day around a procedure (see [`plan`]): a cleanser, a moisturiser and
/// SPF in the morning, a cleanser and a moisturiser in the evening (on the procedure's own
/// evening no cleanser: the clinic cleans the skin, and the EV serum goes on the fresh
/// channels). A kind of product already among the day's steps is not added again; one the
/// shelf cannot give that day is a step without a product of its own.
fn care_steps(day: &mut Day, procedure_day: bool, shelf: &[&ShelfProduct], rules: &Rules) {
    let rule = rules.get("post_procedure_care");
    let care = |kind: ProductType| -> Step {
        let (product, action) = match kind {
            ProductType::Cleanser => (
                "a gentle cleanser (none fit on the shelf)",
                "mild, fragrance-free, no acids; lukewarm water, pat dry",
            ),
            ProductType::Sunscreen => (
                "a broad-spectrum SPF 50+ (none on the shelf)",
                "apply generously; keep out of direct sun",
            ),
            _ => (
                "a bland moisturiser (none fit on the shelf)",
                "fragrance-free, without retinoids, acids or vitamin C",
            ),
        };
        Step {
            product: product.into(),
            action: action.into(),
            wait_s: 0.0,
            reason: rule.reason.clone(),
            source: rule.cite(),
            rule: rule.id.clone(),
            kind: kind.as_str().into(),
        }
    };
    let has = |steps: &[Step], kind: ProductType| {
        steps
            .iter()
            .any(|s| s.kind == kind.as_str() || rank_kind(s, shelf) == Some(kind))
    };
    let mut am = vec![
        ProductType::Cleanser,
        ProductType::Moisturizer,
        ProductType::Sunscreen,
    ];
    let mut pm = vec![ProductType::Cleanser, ProductType::Moisturizer];
    if procedure_day {
        pm.retain(|k| *k != ProductType::Cleanser);
    }
    am.retain(|k| !has(&day.am, *k));
    pm.retain(|k| !has(&day.pm, *k));
    day.am.extend(am.into_iter().map(care));
    day.pm.extend(pm.into_iter().map(care));
}

/// The product type of a step's product on the shelf, if it is one.
fn rank_kind(s: &Step, shelf: &[&ShelfProduct]) -> Option<ProductType> {
    shelf.iter().find(|p| p.name == s.product).map(|p| p.kind)
}

fn am_step(p: &ShelfProduct, rules: &Rules) -> Step {
    if p.kind == ProductType::Sunscreen {
        step(p, "apply generously (SPF 50+)", rules.get("spf_last"))
    } else if p.actives.vitamin_c {
        step(p, "apply", rules.get("vitamin_c_morning"))
    } else {
        step(p, "apply", rules.get("order_thin_to_thick"))
    }
}

fn rank(s: &Step, shelf: &[&ShelfProduct]) -> (u8, u8) {
    if s.kind == "procedure" {
        return (0, 0);
    }
    if s.kind == "patch_test" {
        return (20, 0);
    }
    let p = shelf.iter().find(|p| p.name == s.product);
    // A care step without a product of its own ranks by its kind.
    let care = [
        ProductType::Cleanser,
        ProductType::Moisturizer,
        ProductType::Sunscreen,
    ]
    .into_iter()
    .find(|k| k.as_str() == s.kind);
    let (kind, ev) = p.map_or((care.unwrap_or(ProductType::Serum), false), |p| {
        (p.kind, p.actives.vesicle)
    });
    let k = match kind {
        ProductType::Cleanser => 1,
        ProductType::Toner => 2,
        ProductType::Essence => 3,
        ProductType::Serum => 4,
        ProductType::Mask => 6,
        ProductType::Moisturizer => 7,
        ProductType::Oil => 8,
        ProductType::Sunscreen => 9,
    };
    // The EV serum goes first among serums, onto damp skin.
    (k, if ev { 0 } else { 1 })
}

fn order(steps: &mut [Step], _slot: Slot, shelf: &[&ShelfProduct]) {
    steps.sort_by_key(|s| rank(s, shelf));
}

fn set_waits(steps: &mut [Step], shelf: &[&ShelfProduct], rules: &Rules) {
    let n = steps.len();
    for i in 0..n {
        if i + 1 == n || steps[i + 1].kind == "patch_test" || steps[i].kind == "patch_test" {
            steps[i].wait_s = 0.0;
            continue;
        }
        let ev = shelf
            .iter()
            .any(|p| p.name == steps[i].product && p.actives.vesicle);
        steps[i].wait_s = if ev {
            rules.value("wait_after_ev")
        } else {
            rules.value("wait_default")
        };
        if ev {
            let r = rules.get("wait_after_ev");
            steps[i].reason = format!("{} {}", steps[i].reason, r.reason);
            steps[i].source = format!("{}; {}", steps[i].source, r.cite());
        }
    }
}

/// The plan as readable text.
pub fn to_text(r: &Routine, plan: &Plan) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Routine plan: {} ({} weeks from {})",
        r.file, r.weeks, r.start
    );
    for p in &r.products {
        let _ = writeln!(
            out,
            "  {:<11} {}: {}",
            p.kind.as_str(),
            p.name,
            if p.actives.names().is_empty() {
                "no scheduled actives".to_string()
            } else {
                p.actives.names().join(", ")
            }
        );
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for w in &plan.warnings {
            let _ = writeln!(
                out,
                "  [{}] {} ({}; source: {})",
                w.severity, w.message, w.code, w.source
            );
        }
    }
    for d in &plan.days {
        let _ = writeln!(out, "\n{}", d.date);
        for (label, steps) in [("AM", &d.am), ("PM", &d.pm)] {
            for (i, s) in steps.iter().enumerate() {
                let wait = if s.wait_s > 0.0 {
                    format!(", wait {} s", s.wait_s)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "  {label} {}. {}: {}{wait}  [{}]",
                    i + 1,
                    s.product,
                    s.action,
                    s.source
                );
            }
        }
        for n in &d.notes {
            let _ = writeln!(out, "  note: {} [{}]", n.text, n.source);
        }
    }
    out
}
