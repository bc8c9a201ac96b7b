//! `exoskin routine FILE [--json] [--ics FILE]` and `exoskin facemap FILE [--out STEM]`.

use crate::bad_input;
use anyhow::Context;
use clap::Args as ClapArgs;
use exoskin_routine::{facemap, ics, planner, predict, read_routine_file, RoutineError};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(ClapArgs)]
pub struct Args {
    /// Routine file (TOML): person, plan dates, products, procedures.
    pub file: PathBuf,
    /// Print one JSON document (days[], warnings[], prediction) instead of the readable plan.
    #[arg(long)]
    pub json: bool,
    /// Also write the plan's steps and patch tests as an iCalendar file.
    #[arg(long, value_name = "FILE.ics")]
    pub ics: Option<PathBuf>,
}

#[derive(ClapArgs)]
pub struct FacemapArgs {
    /// A routine file (its EV serum) or a product file (label decoder format).
    pub file: PathBuf,
    /// Output stem: writes STEM.svg and STEM.png.
    #[arg(long, value_name = "STEM", default_value = "facemap")]
    pub out: PathBuf,
    /// Print the zones' numbers as JSON.
    #[arg(long)]
    pub json: bool,
    /// Age for a product file, years (a routine file gives its own).
    #[arg(long, default_value_t = 40.0)]
    pub age: f64,
}

/// Input errors exit 2; failures while running exit 1.
fn classify(e: RoutineError) -> anyhow::Error {
    match e {
        RoutineError::Read { .. }
        | RoutineError::Input { .. }
        | RoutineError::Product { .. }
        | RoutineError::Simulation { .. } => bad_input(e.to_string()),
        other => anyhow::Error::new(other),
    }
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let r = read_routine_file(&a.file).map_err(classify)?;
    let bar = crate::progress::Progress::new("routine");
    bar.message("routine: planning the days ...");
    let plan = planner::plan(&r).map_err(classify)?;
    bar.message("routine: predicting the outcomes (transport and response of each product) ...");
    let prediction = predict::predict(&r, &plan).map_err(classify)?;
    bar.done();
    if let Some(path) = &a.ics {
        std::fs::write(path, ics::to_ics(&plan, &r.file))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if a.json {
        let doc = json!({
            "file": r.file,
            "days": plan.days,
            "warnings": plan.warnings,
            "excluded": plan.excluded,
            "prediction": prediction,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", planner::to_text(&r, &plan));
        if let (Some(e), Some(name)) = (&prediction.effect, &prediction.product) {
            println!("\nWhat {name} adds over the same routine without it:");
            print!(
                "{}",
                exoskin_api::simulate::effect_summary(e, &prediction.sessions_d)
            );
        }
        println!("\nPrediction ({}):", prediction.uncertainty);
        for run in &prediction.runs {
            let c = |k: &str| run.outcomes.get(k).cloned().unwrap_or_default();
            println!(
                "  {:<18} dermis {:.4} %; collagen wk2/4/12 {:?}; wrinkles {:?}",
                run.label,
                run.reached_dermis_pct,
                c("collagen_pct")
                    .iter()
                    .map(|v| (v * 100.0).round() / 100.0)
                    .collect::<Vec<_>>(),
                c("wrinkle_pct")
                    .iter()
                    .map(|v| (v * 100.0).round() / 100.0)
                    .collect::<Vec<_>>(),
            );
        }
        for n in &prediction.notes {
            println!("  note: {n}");
        }
    }
    Ok(0)
}

fn is_routine(path: &Path) -> anyhow::Result<bool> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("{}: cannot read: {e}", path.display())))?;
    Ok(text.lines().any(|l| l.trim() == "[person]"))
}

pub fn run_facemap(a: FacemapArgs) -> anyhow::Result<u8> {
    let (spec, notes) = if is_routine(&a.file)? {
        let r = read_routine_file(&a.file).map_err(classify)?;
        let plan = planner::plan(&r).map_err(classify)?;
        predict::base_spec(&r, &plan)
            .map_err(|why| bad_input(format!("{}: {why}", a.file.display())))?
    } else {
        if !(12.0..=110.0).contains(&a.age) {
            return Err(bad_input(format!("--age {}: allowed 12 to 110", a.age)));
        }
        predict::product_spec(&a.file, a.age).map_err(classify)?
    };
    let bar = crate::progress::Progress::new("facemap");
    bar.message("facemap: running every facial zone (transport and response) ...");
    let map = facemap::run(&spec, notes).map_err(classify)?;
    bar.message("facemap: drawing ...");
    let drawing = facemap::draw(&map).map_err(classify)?;
    bar.done();
    let svg = a.out.with_extension("svg");
    let png = a.out.with_extension("png");
    std::fs::write(&svg, drawing.to_svg()?)
        .with_context(|| format!("writing {}", svg.display()))?;
    std::fs::write(&png, drawing.to_png()?)
        .with_context(|| format!("writing {}", png.display()))?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&map)?);
    } else {
        print!("{}", facemap::to_text(&map));
        println!("wrote {} and {}", svg.display(), png.display());
    }
    Ok(0)
}
