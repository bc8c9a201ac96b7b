//! The pages: server-rendered with maud, phone first, every input in the URL so a page can
//! be shared. CSS and JS are embedded in the binary and served from `/assets/`.

use crate::api::{bundled_trials, run_scenario, Client};
use crate::Web;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use exoskin_api::ApiError;
use exoskin_plot::{render_svg_titled, typeset_units, Chart, Panel, Series, Style};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

const CSS: &str = include_str!("../assets/app.css");
const JS: &str = include_str!("../assets/app.js");

/// The policy of every page: scripts and styles from this server only (inline styles for
/// the plots' SVG), camera frames as blobs, requests to this server only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The bundled in vivo scenarios offered as presets: (file stem, TOML).
pub const PRESETS: &[(&str, &str)] = &[
    (
        "in_vivo_microneedling",
        include_str!("../../../scenarios/in_vivo_microneedling.toml"),
    ),
    (
        "in_vivo_chemical_peel",
        include_str!("../../../scenarios/in_vivo_chemical_peel.toml"),
    ),
    (
        "in_vivo_fractional_co2",
        include_str!("../../../scenarios/in_vivo_fractional_co2.toml"),
    ),
    (
        "in_vivo_daily_12_weeks",
        include_str!("../../../scenarios/in_vivo_daily_12_weeks.toml"),
    ),
    (
        "in_vivo_intact_forearm",
        include_str!("../../../scenarios/in_vivo_intact_forearm.toml"),
    ),
    (
        "in_vivo_intact_forehead",
        include_str!("../../../scenarios/in_vivo_intact_forehead.toml"),
    ),
];

pub fn routes() -> Router<Arc<Web>> {
    Router::new()
        .route("/", get(home))
        .route("/simulate", get(simulate))
        .route("/simulate/download", get(download))
        .route("/label", get(label))
        .route("/scan", get(scan))
        .route("/trial", get(trial))
        .route(
            "/assets/app.css",
            get(|| async { asset(CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/assets/app.js",
            get(|| async { asset(JS, "text/javascript; charset=utf-8") }),
        )
}

fn asset(body: &'static str, ct: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn page_response(status: StatusCode, m: Markup) -> Response {
    let mut r = Response::new(Body::from(m.into_string()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn layout(title: &str, here: &str, body: Markup) -> Markup {
    let nav = [
        ("/", "Home"),
        ("/simulate", "Simulate"),
        ("/label", "Label"),
        ("/scan", "Scan"),
        ("/trial", "Trial"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · exoskin" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    nav aria-label="Main" {
                        ul {
                            @for (href, name) in nav {
                                li { a href=(href) aria-current=[(href == here).then_some("page")] { (name) } }
                            }
                        }
                    }
                }
                main #main { h1 { (title) } (body) }
                footer { p { "exoskin: a model, not a medical device. Numbers are predictions with stated assumptions." } }
            }
        }
    }
}

async fn home() -> Response {
    page_response(
        StatusCode::OK,
        layout(
            "exoskin",
            "/",
            html! {
                p.lead { "exoskin puts numbers on exosome skincare: how many vesicles a serum gets into the skin, what that may do to collagen, redness or wrinkles over weeks, whether a label holds what it promises, and whether a batch is what its certificate says." }
                ul.cards {
                    li { h2 { a href="/simulate" { "Simulate" } } p { "Pick a product, a skin site and a procedure (microneedling, a peel, a laser) and see the predicted curves, where the vesicles ended up, and how fast the skin closes." } }
                    li { h2 { a href="/label" { "Label" } } p { "Paste an ingredient list or take a photo of it: each ingredient's class, red flags by severity, and what the evidence does and does not support." } }
                    li { h2 { a href="/scan" { "Scan" } } p { "Point the camera at a batch QR code to open its verified quality certificate." } }
                    li { h2 { a href="/trial" { "Trial" } } p { "Run a virtual clinical trial and see results per endpoint and visit, or how many participants a real one would need." } }
                }
                h2 { "What the model cannot tell you" }
                ul {
                    li { "Whether a product works on you: it predicts averages and ranges for typical skin, from published studies." }
                    li { "Whether a product is safe: it flags what labels and studies show, it does not test products." }
                    li { "Anything outside its data: where a parameter is an assumption, the documents say so and give its range." }
                }
            },
        ),
    )
}

// ---------------------------------------------------------------- simulate

/// Form fields: (query key, TOML path, label, integer?).
const FIELDS: &[(&str, &[&str], &str, bool)] = &[
    ("source", &["product", "source"], "Vesicle source", false),
    (
        "particles_per_ml",
        &["product", "particles_per_ml"],
        "Concentration (particles per mL)",
        false,
    ),
    (
        "mode_nm",
        &["product", "size", "mode_nm"],
        "Size, modal diameter (nm)",
        false,
    ),
    (
        "formulation",
        &["product", "formulation"],
        "Formulation",
        false,
    ),
    (
        "storage_temperature_c",
        &["product", "storage_temperature_c"],
        "Storage temperature (°C)",
        false,
    ),
    (
        "storage_age_days",
        &["product", "storage_age_days"],
        "Storage time (days)",
        false,
    ),
    ("site", &["skin", "site"], "Skin site", false),
    ("age_years", &["skin", "age_years"], "Age (years)", false),
    ("procedure", &["procedure", "kind"], "Procedure", false),
    (
        "applications_per_day",
        &["regimen", "applications_per_day"],
        "Applications per day",
        true,
    ),
    ("days", &["regimen", "days"], "Days of application", true),
    (
        "duration_h",
        &["experiment", "duration_h"],
        "Simulated time (h)",
        false,
    ),
];

fn get_path<'a>(t: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Value> {
    let (last, head) = path.split_last()?;
    let mut cur = t;
    for k in head {
        cur = cur.get(*k)?.as_table()?;
    }
    cur.get(*last)
}

fn set_path(t: &mut toml::Table, path: &[&str], v: toml::Value) {
    let Some((last, head)) = path.split_last() else {
        return;
    };
    let mut cur = t;
    for k in head {
        let e = cur
            .entry(k.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(next) = e.as_table_mut() else { return };
        cur = next;
    }
    cur.insert(last.to_string(), v);
}

fn show(v: Option<&toml::Value>) -> String {
    match v {
        Some(toml::Value::String(s)) => s.clone(),
        Some(toml::Value::Float(f)) => format!("{f}"),
        Some(toml::Value::Integer(i)) => i.to_string(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// The scenario of a simulate query: the preset with the form's values over it. Errors
/// name the form field.
pub fn scenario_from_query(
    q: &HashMap<String, String>,
) -> Result<(String, toml::Table), (String, String)> {
    let preset = q.get("preset").map(String::as_str).unwrap_or(PRESETS[0].0);
    let Some((name, text)) = PRESETS.iter().find(|(n, _)| *n == preset) else {
        return Err((
            "preset".into(),
            format!(
                "no preset `{preset}`; use one of: {}",
                PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    let mut t: toml::Table = text
        .parse()
        .map_err(|e| ("preset".into(), format!("{e}")))?;
    // A different procedure takes its settings from the preset that has it.
    if let Some(kind) = q.get("procedure").filter(|k| !k.is_empty()) {
        let current = show(get_path(&t, &["procedure", "kind"]));
        if *kind != current {
            let from = PRESETS.iter().find_map(|(_, p)| {
                let pt: toml::Table = p.parse().ok()?;
                (show(get_path(&pt, &["procedure", "kind"])) == *kind)
                    .then(|| pt.get("procedure").cloned())?
            });
            match from {
                Some(p) => {
                    t.insert("procedure".into(), p);
                }
                None => set_path(
                    &mut t,
                    &["procedure", "kind"],
                    toml::Value::String(kind.clone()),
                ),
            }
        }
    }
    for (key, path, label, int) in FIELDS {
        let Some(raw) = q.get(*key).map(|s| s.trim()).filter(|s| !s.is_empty()) else {
            continue;
        };
        if *key == "procedure" {
            continue;
        }
        let old = get_path(&t, path);
        let v = match old {
            Some(toml::Value::String(_)) | None if raw.parse::<f64>().is_err() => {
                toml::Value::String(raw.to_string())
            }
            _ if *int => match raw.parse::<i64>() {
                Ok(i) => toml::Value::Integer(i),
                Err(_) => {
                    return Err((
                        key.to_string(),
                        format!("{label}: `{raw}` is not a whole number"),
                    ))
                }
            },
            _ => match raw.parse::<f64>() {
                Ok(f) if f.is_finite() => toml::Value::Float(f),
                _ => return Err((key.to_string(), format!("{label}: `{raw}` is not a number"))),
            },
        };
        set_path(&mut t, path, v);
    }
    Ok((format!("scenarios/{name}.toml"), t))
}

fn query_string(q: &HashMap<String, String>, extra: &[(&str, &str)]) -> String {
    let mut keys: Vec<&String> = q.keys().collect();
    keys.sort();
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let mut parts: Vec<String> = keys
        .into_iter()
        .filter(|k| !extra.iter().any(|(e, _)| e == k))
        .map(|k| format!("{}={}", enc(k), enc(&q[k])))
        .collect();
    parts.extend(extra.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))));
    parts.join("&")
}

/// Width and height (SVG units) of a phone-sized plot: one panel per figure, a little
/// narrower than the page's content on a 360 px wide phone (328 px), so that the browser
/// never draws it smaller than its own units on a phone of 360 px or wider, and the plot's
/// smallest text (11 units: ticks and legend) stays at least 11 CSS px. Wider screens put
/// the figures side by side (`.plot-grid`).
pub const PHONE_PLOT_W: u32 = 320;
pub const PHONE_PLOT_H: u32 = 250;

/// One panel as a phone-sized figure (see [`PHONE_PLOT_W`]), with `label` for screen
/// readers and `caption` under it.
fn phone_figure(panel: Panel, label: &str, caption: Markup, id: Option<&str>) -> Markup {
    match render_svg_titled("", &[panel], 1, PHONE_PLOT_W, PHONE_PLOT_H) {
        Ok(svg) => {
            let svg = svg.replacen(
                "<svg ",
                &format!(
                    "<svg role=\"img\" aria-label=\"{}\" ",
                    html! { (label) }.into_string()
                ),
                1,
            );
            html! { figure.plot.phone id=[id] { (PreEscaped(svg)) figcaption { (caption) } } }
        }
        Err(e) => {
            html! { p.error role="alert" { "The plot could not be drawn: " (e.to_string()) } }
        }
    }
}

/// The outcomes the simulation's plots show: (key in the document's `outcomes`, words).
const PLOTTED_OUTCOMES: [(&str, &str); 5] = [
    ("collagen_pct", "collagen"),
    ("elasticity_pct", "elasticity"),
    ("wrinkle_pct", "wrinkle depth"),
    ("hydration_pct", "hydration"),
    ("erythema_pct", "redness (erythema)"),
];

/// The predicted outcomes over time (the vesicle arm), one phone-sized figure per outcome,
/// each on its own scale.
fn outcome_plots(doc: &Value) -> Option<Markup> {
    let s = doc.get("outcomes")?;
    let t: Vec<f64> = serde_json::from_value(s.get("times_d")?.clone()).ok()?;
    let mut figures = Vec::new();
    for (k, words) in PLOTTED_OUTCOMES {
        let Some(y) = s
            .get(k)
            .and_then(|v| serde_json::from_value::<Vec<f64>>(v.clone()).ok())
        else {
            continue;
        };
        let chart = Chart::new(words, "time (days)", "change from baseline (%)")
            .with_series(Series::new("", t.clone(), y))
            .with_hline(0.0);
        let id = format!("outcome-{}", k.trim_end_matches("_pct").replace('_', "-"));
        figures.push(phone_figure(
            Panel::Chart(chart),
            &format!("{words}: predicted percent change from baseline over time"),
            html! { (words) ": predicted change from baseline (%) over time." },
            Some(id.as_str()),
        ));
    }
    if figures.is_empty() {
        return None;
    }
    Some(html! {
        h3 #outcomes-h { "Outcomes over time" }
        div.plot-grid #outcome-plots role="group" aria-labelledby="outcomes-h" {
            @for f in figures { (f) }
        }
    })
}

fn fmt_num(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x != 0.0 && (x.abs() >= 1e5 || x.abs() < 1e-3) => format!("{x:.3e}"),
        Some(x) => format!("{x:.4}"),
        None => v.to_string(),
    }
}

/// The form field (its query key) an error's `field` names: a form key itself, or the
/// scenario key (`skin.age_years`, as the API names it) of a form field.
fn form_key(field: &str) -> Option<&'static str> {
    FIELDS.iter().find_map(|(key, path, _, _)| {
        let dotted = path.join(".");
        (field == *key || field == dotted || field.ends_with(&format!(".{dotted}"))).then_some(*key)
    })
}

async fn simulate(
    State(web): State<Arc<Web>>,
    Client(client): Client,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let built = scenario_from_query(&q);
    let (values, file) = match &built {
        Ok((file, t)) => (
            FIELDS
                .iter()
                .map(|(k, p, _, _)| (k.to_string(), show(get_path(t, p))))
                .collect::<HashMap<_, _>>(),
            file.clone(),
        ),
        Err(_) => (q.clone(), String::new()),
    };
    let mut status = StatusCode::OK;
    let mut result: Option<Result<Value, (Option<String>, String)>> = None;
    if q.contains_key("run") {
        result = Some(match &built {
            Err((f, m)) => Err((Some(f.clone()), m.clone())),
            Ok((file, t)) => {
                let text = toml::to_string(t).unwrap_or_default();
                match run_scenario(&web, client, text, file.clone()).await {
                    Ok(v) => Ok(v),
                    Err(e) => {
                        status = e.status();
                        let b = e.body();
                        Err((b.field, b.message))
                    }
                }
            }
        });
        if matches!(result, Some(Err(_))) && status == StatusCode::OK {
            status = StatusCode::UNPROCESSABLE_ENTITY;
        }
    }
    // An error that names a form field is shown at that field too.
    let field_error: Option<(&'static str, String)> = match &result {
        Some(Err((Some(f), m))) => form_key(f).map(|k| (k, m.clone())),
        _ => None,
    };
    let input = |key: &str, list: Option<&str>| field(&values, key, list, field_error.as_ref());
    let preset = q
        .get("preset")
        .cloned()
        .unwrap_or_else(|| PRESETS[0].0.to_string());
    let procedures: Vec<String> = {
        let mut v: Vec<String> = PRESETS
            .iter()
            .filter_map(|(_, p)| {
                let t: toml::Table = p.parse().ok()?;
                Some(show(get_path(&t, &["procedure", "kind"])))
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let body = html! {
        form.preset method="get" action="/simulate" {
            label for="preset" { "Preset scenario" }
            select #preset name="preset" {
                @for (n, _) in PRESETS { option value=(n) selected[*n == preset] { (n.replace('_', " ")) } }
            }
            button type="submit" { "Load preset" }
        }
        form #simulate-form method="get" action="/simulate#result" {
            input type="hidden" name="preset" value=(preset);
            input type="hidden" name="run" value="1";
            fieldset {
                legend { "Product" }
                (input("source", Some("sources")))
                datalist #sources { @for s in ["human_msc_adipose", "human_msc_umbilical_cord", "platelet", "plant", "vehicle"] { option value=(s) {} } }
                (input("particles_per_ml", None))
                (input("mode_nm", None))
                (input("formulation", Some("formulations")))
                datalist #formulations { option value="liquid" {} option value="lyophilized" {} }
                (input("storage_temperature_c", None))
                (input("storage_age_days", None))
            }
            fieldset {
                legend { "Skin" }
                (input("site", Some("sites")))
                datalist #sites { @for s in ["cheek", "forehead", "forearm"] { option value=(s) {} } }
                (input("age_years", None))
            }
            fieldset {
                legend { "Procedure and regimen" }
                div.field {
                    label for="f-procedure" { "Procedure" }
                    select #f-procedure name="procedure" {
                        @for p in &procedures { option value=(p) selected[values.get("procedure") == Some(p)] { (p.replace('_', " ")) } }
                    }
                }
                (input("applications_per_day", None))
                (input("days", None))
                (input("duration_h", None))
            }
            button #run type="submit" { "Simulate" }
        }
        @if let Some(r) = &result {
            section #result aria-labelledby="result-h" {
                h2 #result-h { "Result" }
                @match r {
                    Err((f, m)) => div.error role="alert" { p { @if let Some(f) = f { strong { (f) ": " } } (m) } },
                    Ok(doc) => {
                        p #result-title { (title_from_inputs(&values)) }
                        @if let Some(e) = effect_section(&doc["effect"]) { (e) }
                        @if let Some(p) = outcome_plots(doc) { (p) }
                        h3 { "Wound closure" }
                        p #wound {
                            @match doc["outcomes"]["wound_closure_h"].as_f64() {
                                Some(h) => { "95 % re-epithelialized after " (format!("{h:.1}")) " h" }
                                None => "No wound to close.",
                            }
                            @if let Some(h) = doc["outcomes"]["channel_closure_h"].as_f64() {
                                " Channels closed (95 %) after " (format!("{h:.1}")) " h."
                            }
                        }
                        @if let Some(mb) = doc["transport"].get("mass_balance") {
                            h3 { "Mass balance (per cm²)" }
                            table #mass-balance {
                                caption { "Where the applied vesicles are at the end, largest first" }
                                thead { tr { th scope="col" { "place" } th scope="col" { "vesicles per cm²" } th scope="col" { "share" } } }
                                tbody {
                                    tr { th scope="row" { "applied" } td { (fmt_num(&mb["applied_per_cm2"])) } td { "100 %" } }
                                    @for (k, v, share) in mass_rows(mb) { tr { th scope="row" { (k) } td { (fmt_num(&v)) } td { (share) } } }
                                    tr { th scope="row" { "recovery" } td { (fmt_num(&mb["recovery"])) } td {} }
                                }
                            }
                        }
                        h3 { "Download" }
                        ul.downloads {
                            li { a href={"/simulate/download?" (query_string(&q, &[("format", "json")]))} download={(file.trim_start_matches("scenarios/").trim_end_matches(".toml")) ".json"} { "JSON" } }
                            li { a href={"/simulate/download?" (query_string(&q, &[("format", "csv")]))} download="outcomes.csv" { "CSV (outcomes)" } }
                            li { a href={"/simulate/download?" (query_string(&q, &[("format", "toml")]))} download="scenario.toml" { "Scenario (TOML)" } }
                        }
                    }
                }
            }
        }
    };
    page_response(status, layout("Simulate", "/simulate", body))
}

/// The result's title from the inputs that made it (not the preset's name, which the
/// inputs may have changed).
fn title_from_inputs(values: &HashMap<String, String>) -> String {
    let v = |k: &str| values.get(k).map(String::as_str).unwrap_or("?");
    let procedure = v("procedure").replace('_', " ");
    format!(
        "{} vesicles at {} per mL on the {} ({} y), {}, {} application(s) a day for {} day(s), {} h",
        v("source").replace('_', " "),
        values
            .get("particles_per_ml")
            .and_then(|x| x.parse::<f64>().ok())
            .filter(|x| *x > 0.0 && x.is_finite())
            .map(exoskin_api::simulate::count)
            .unwrap_or_else(|| v("particles_per_ml").to_string()),
        v("site"),
        v("age_years"),
        if procedure == "none" || procedure.is_empty() {
            "intact skin".to_string()
        } else {
            procedure
        },
        v("applications_per_day"),
        v("days"),
        v("duration_h")
    )
}

/// The effect first: what the vesicles add over the control at the last time, each outcome
/// with its median, 90 % interval and the probability that the vesicle arm is better.
fn effect_section(e: &Value) -> Option<Markup> {
    let outcomes = e["outcomes"].as_object()?;
    let times = e["times_d"].as_array()?;
    let end = times.last()?.as_f64()?;
    let last = |b: &Value, q: &str| {
        b[q].as_array()
            .and_then(|a| a.last())
            .and_then(Value::as_f64)
    };
    use exoskin_api::simulate::{fmt_day, pp, reading, Reading, READ_OUTCOMES};
    let rows: Vec<(&str, String, String, String)> = READ_OUTCOMES
        .iter()
        .filter_map(|(k, w)| {
            let b = outcomes.get(*k)?;
            let (lo, mid, hi) = (last(b, "p05")?, last(b, "p50")?, last(b, "p95")?);
            let p = e["probability_better"][*k].as_f64()?;
            let verdict = match reading(lo, hi, p) {
                Reading::Same => "the same in every draw".to_string(),
                Reading::Negligible => "next to nothing".to_string(),
                Reading::Better => format!("better (P = {p:.2})"),
                Reading::Worse => format!("worse (P(better) = {p:.2})"),
                Reading::EitherSign => format!("either sign (P(better) = {p:.2})"),
            };
            Some((*w, pp(mid), format!("{} to {}", pp(lo), pp(hi)), verdict))
        })
        .collect();
    let day = fmt_day(end);
    Some(html! {
        section #effect aria-labelledby="effect-h" {
            h3 #effect-h { "What the vesicles add at day " (day) }
            p { "Compared with " (e["control"].as_str().unwrap_or("the control")) ": the vesicle arm minus the control, in percentage points of change from baseline, over " (e["draws"]) " " (e["draws_are"].as_str().unwrap_or("draws")) "." }
            div.cards {
                @for (w, mid, range, verdict) in &rows {
                    div.card {
                        h4 { (w) }
                        p.big { (mid) " pp" }
                        p { "90 %: " (range) }
                        p { (verdict) }
                    }
                }
            }
        }
    })
}

/// The mass balance's places in words, largest first, with each one's share of the applied
/// dose.
fn mass_rows(mb: &Value) -> Vec<(String, Value, String)> {
    let applied = mb["applied_per_cm2"].as_f64().unwrap_or(0.0);
    let mut rows: Vec<(String, Value, f64)> = mb["compartments_per_cm2"]
        .as_object()
        .map(|c| {
            c.iter()
                .map(|(k, v)| {
                    (
                        exoskin_api::simulate::place(k),
                        v.clone(),
                        v.as_f64().unwrap_or(0.0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    rows.sort_by(|a, b| b.2.total_cmp(&a.2));
    rows.into_iter()
        .map(|(k, v, x)| {
            let share = if applied > 0.0 {
                exoskin_api::simulate::share(x / applied)
            } else {
                "-".into()
            };
            (k, v, share)
        })
        .collect()
}

fn field(
    values: &HashMap<String, String>,
    key: &str,
    list: Option<&str>,
    error: Option<&(&'static str, String)>,
) -> Markup {
    let label = FIELDS
        .iter()
        .find(|f| f.0 == key)
        .map(|f| f.2)
        .unwrap_or(key);
    let id = format!("f-{key}");
    let numeric = list.is_none();
    let error = error.filter(|(k, _)| *k == key).map(|(_, m)| m);
    let error_id = format!("f-{key}-error");
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            input id=(id) name=(key) value=(values.get(key).cloned().unwrap_or_default())
                inputmode=[numeric.then_some("decimal")] list=[list] autocomplete="off"
                aria-invalid=[error.is_some().then_some("true")]
                aria-describedby=[error.is_some().then_some(error_id.as_str())];
            @if let Some(m) = error {
                p.field-error id=(error_id) { (m) }
            }
        }
    }
}

async fn download(
    State(web): State<Arc<Web>>,
    Client(client): Client,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (file, t) = match scenario_from_query(&q) {
        Ok(x) => x,
        Err((f, m)) => return crate::api::error(StatusCode::UNPROCESSABLE_ENTITY, Some(&f), m),
    };
    let text = toml::to_string(&t).unwrap_or_default();
    let format = q.get("format").map(String::as_str).unwrap_or("json");
    if format == "toml" {
        return text_file(text, "application/toml", "scenario.toml");
    }
    if format != "json" && format != "csv" {
        return crate::api::error(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("format"),
            format!("format `{format}`: use json, csv or toml"),
        );
    }
    let doc = match run_scenario(&web, client, text, file).await {
        Ok(v) => v,
        Err(e) => return e.response(),
    };
    if format == "json" {
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
        s.push('\n');
        return text_file(s, "application/json", "simulation.json");
    }
    text_file(outcomes_csv(&doc), "text/csv", "outcomes.csv")
}

/// The outcome series as CSV: `time_d` and each series of the document (the columns of
/// `exoskin simulate --out DIR`'s outcomes.csv, in the document's order).
fn outcomes_csv(doc: &Value) -> String {
    let Some(s) = doc["outcomes"].as_object() else {
        return String::from("time_d\n");
    };
    let cols: Vec<(&String, Vec<f64>)> = s
        .iter()
        .filter(|(k, v)| *k != "times_d" && v.is_array())
        .filter_map(|(k, v)| Some((k, serde_json::from_value(v.clone()).ok()?)))
        .collect();
    let t: Vec<f64> =
        serde_json::from_value(s.get("times_d").cloned().unwrap_or_default()).unwrap_or_default();
    let mut out = String::from("time_d");
    for (k, _) in &cols {
        out.push(',');
        out.push_str(k);
    }
    out.push('\n');
    for (i, ti) in t.iter().enumerate() {
        out.push_str(&ti.to_string());
        for (_, v) in &cols {
            out.push(',');
            if let Some(x) = v.get(i) {
                out.push_str(&x.to_string());
            }
        }
        out.push('\n');
    }
    out
}

fn text_file(s: String, ct: &'static str, name: &str) -> Response {
    let mut r = Response::new(Body::from(s));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

// ---------------------------------------------------------------- label

async fn label(State(web): State<Arc<Web>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let text = q.get("text").cloned().unwrap_or_default();
    let field = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let (region, claims, expiry, batch) = (
        field("region"),
        field("claims"),
        field("expiry"),
        field("batch"),
    );
    let ocr = crate::ocr::available(&web.cfg);
    let mut status = StatusCode::OK;
    let as_product = region.is_some() || claims.is_some() || expiry.is_some() || batch.is_some();
    let report = (!text.trim().is_empty()).then(|| {
        if as_product {
            // The list with what the box says besides it: checked as a product file would be.
            let mut t = toml::Table::new();
            t.insert("name".into(), "the product on the form".into());
            t.insert("ingredients".into(), text.clone().into());
            if let Some(r) = &region {
                t.insert("region".into(), r.clone().into());
            }
            if let Some(c) = &claims {
                let lines: Vec<toml::Value> = c
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| l.to_string().into())
                    .collect();
                t.insert("claims".into(), toml::Value::Array(lines));
            }
            if let Some(e) = &expiry {
                t.insert("expiry_date".into(), e.clone().into());
            }
            if let Some(b) = &batch {
                t.insert("batch_number".into(), b.clone().into());
            }
            let today = exoskin_labels::today_utc();
            exoskin_api::label::check_product(
                &toml::to_string(&t).unwrap_or_default(),
                "the form",
                today,
            )
            .map(|r| serde_json::to_value(&r).unwrap_or(Value::Null))
        } else {
            exoskin_api::label::decode(&text, "text")
                .map(|r| serde_json::to_value(&r).unwrap_or(Value::Null))
        }
    });
    if matches!(report, Some(Err(_))) {
        status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    let body = html! {
        form #label-form method="get" action="/label#report" {
            div.field {
                label for="label-text" { "Ingredient list, as printed on the label" }
                textarea #label-text name="text" rows="6" placeholder="Ingredients: Aqua, Glycerin, Human Adipose Stem Cell Exosomes" { (text) }
            }
            fieldset #box-fields {
                legend { "From the box (optional): checked against the region's rules" }
                div.field {
                    label for="label-region" { "Where it is sold" }
                    select #label-region name="region" {
                        option value="" selected[region.is_none()] { "not given" }
                        @for (code, words) in [("EU", "European Union"), ("UK", "United Kingdom"), ("CH", "Switzerland"), ("US", "United States"), ("KR", "South Korea"), ("JP", "Japan"), ("CN", "China")] {
                            option value=(code) selected[region.as_deref() == Some(code)] { (words) }
                        }
                    }
                }
                div.field {
                    label for="label-claims" { "Claims on the box, one per line" }
                    textarea #label-claims name="claims" rows="3" placeholder="Regrows hair in 4 weeks" { (claims.clone().unwrap_or_default()) }
                }
                div.field {
                    label for="label-expiry" { "Expiry date as printed" }
                    input #label-expiry name="expiry" value=(expiry.clone().unwrap_or_default()) placeholder="2027-09" autocomplete="off";
                }
                div.field {
                    label for="label-batch" { "Batch (lot) number" }
                    input #label-batch name="batch" value=(batch.clone().unwrap_or_default()) autocomplete="off";
                }
            }
            button #decode type="submit" { "Decode" }
        }
        section aria-labelledby="photo-h" {
            h2 #photo-h { "Or a photo of the label" }
            @if ocr {
                div.field {
                    label for="label-photo" { "Photo of the ingredient list (PNG or JPEG)" }
                    input #label-photo type="file" accept="image/png,image/jpeg" capture="environment";
                }
                p #ocr-status role="status" aria-live="polite" {}
            } @else {
                p #ocr-missing.note role="note" { "Reading photos is not available on this server: OCR (Tesseract, Debian's tesseract-ocr and tesseract-ocr-eng) is not installed. Type or paste the list instead." }
            }
        }
        @match &report {
            None => {},
            Some(Err(e)) => div.error role="alert" { p { (e.to_string()) } },
            Some(Ok(r)) => (label_report(r)),
        }
    };
    page_response(status, layout("Label", "/label", body))
}

fn label_report(r: &Value) -> Markup {
    let empty = Vec::new();
    let flags = r["flags"].as_array().unwrap_or(&empty);
    let order = ["high", "medium", "low", "info"];
    let sum = &r["summary"];
    let count = |sev: &str| {
        flags
            .iter()
            .filter(|f| {
                f["severity"]
                    .as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(sev))
            })
            .count()
    };
    let verdict = match (
        sum["vesicles"].as_u64().unwrap_or(0),
        count("high"),
        count("medium"),
    ) {
        (_, h, _) if h > 0 => format!("{h} serious flag(s): read them before buying or using it."),
        (0, _, m) => format!(
            "No vesicle ingredient found{}.",
            if m > 0 {
                format!("; {m} flag(s) to read")
            } else {
                String::new()
            }
        ),
        (v, _, m) => format!(
            "{v} vesicle ingredient(s){}.",
            if m > 0 {
                format!("; {m} flag(s) to read")
            } else {
                "; no serious flag".to_string()
            }
        ),
    };
    html! {
        section #report aria-labelledby="verdict-h" {
            h2 #verdict-h { "Verdict" }
            p #verdict.lead { (verdict) }
            p.note { (sum["ingredients"]) " ingredients: " (sum["vesicles"]) " vesicle, " (sum["in_lexicon"]) " known, " (sum["guessed"]) " best guess, " (sum["unknown"]) " unknown." }
            h2 { "Flags" }
            @if flags.is_empty() { p { "No flags." } }
            @for sev in order {
                @let these: Vec<&Value> = flags.iter().filter(|f| f["severity"].as_str().map(|s| s.eq_ignore_ascii_case(sev)).unwrap_or(false)).collect();
                @if !these.is_empty() {
                    h3 { (sev) " severity" }
                    ul.flags {
                        @for f in these {
                            li class={"flag sev-" (sev)} { strong { (f["code"].as_str().unwrap_or("").replace('_', " ")) } ": " (f["message"].as_str().unwrap_or("")) }
                        }
                    }
                }
            }
            h2 #ing-h { "Ingredients" }
            ol #ingredients.ingredients aria-labelledby="ing-h" {
                @for i in r["ingredients"].as_array().unwrap_or(&empty) {
                    li.ingredient {
                        span.name { (i["name"].as_str().unwrap_or("")) }
                        " "
                        span.class { (i["class"].as_str().map(|s| s.replace('_', " ")).unwrap_or_else(|| i["class"].to_string())) }
                        @if let Some(n) = i["note"].as_str().filter(|n| !n.is_empty()) { p.note { (n) } }
                    }
                }
            }
            @if let Some(ev) = r["evidence"].as_array().filter(|e| !e.is_empty()) {
                h2 { "Evidence" }
                @for e in ev {
                    article.evidence {
                        h3 { (e["title"].as_str().unwrap_or("")) }
                        p { strong { "Supports: " } (e["supports"].as_str().unwrap_or("")) }
                        p { strong { "Does not support: " } (e["does_not_support"].as_str().unwrap_or("")) }
                        p.source { (e["source"].as_str().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- scan

async fn scan() -> Response {
    page_response(
        StatusCode::OK,
        layout(
            "Scan a batch code",
            "/scan",
            html! {
                p { "Point the camera at the QR code on the box or bottle. When it is read, the verified certificate opens." }
                div #camera {
                    button #start-camera type="button" { "Start camera" }
                    video #video playsinline muted aria-label="Camera view" {}
                    canvas #frame hidden {}
                }
                div.field {
                    label for="qr-photo" { "Or upload a photo of the code (PNG or JPEG)" }
                    input #qr-photo type="file" accept="image/png,image/jpeg";
                }
                p #scan-status role="status" aria-live="polite" {}
            },
        ),
    )
}

// ---------------------------------------------------------------- trial

/// The participant flow (CONSORT): enrolled, randomised, then per group allocated, dropped
/// out and analysed.
fn trial_flow(doc: &Value) -> Markup {
    let f = &doc["flow"];
    let Some(groups) = f["groups"].as_array() else {
        return html! {};
    };
    html! {
        div.scroll tabindex="0" role="region" aria-label="Participant flow" {
            table #flow {
                caption { "Participant flow: " (f["enrolled"]) " enrolled, " (f["randomised"]) " randomised" }
                thead { tr { th scope="col" { "group" } th scope="col" { "allocated" } th scope="col" { "dropped out" } th scope="col" { "analysed (last visit)" } } }
                tbody {
                    @for g in groups {
                        tr { th scope="row" { (g["name"].as_str().unwrap_or("")) } td { (g["allocated"]) } td { (g["dropped_out"]) } td { (g["analysed"]) } }
                    }
                }
            }
        }
    }
}

/// One endpoint's table: per visit (and comparison), the estimate, its CI, the test, the p
/// value of the analysis and the adjusted p value; margins and the 1 - 2 alpha CI for
/// equivalence and non-inferiority, ANCOVA in parallel designs.
fn endpoint_table(t: &Value) -> Markup {
    let empty = Vec::new();
    let rows = t["rows"].as_array().unwrap_or(&empty);
    let margins = rows.iter().any(|r| !r["ci_1_minus_2alpha"].is_null());
    let ancova = rows.iter().any(|r| !r["ancova"].is_null());
    let name = t["endpoint"].as_str().unwrap_or("");
    let pair = |v: &Value| html! { "[" (fmt_num(&v[0])) ", " (fmt_num(&v[1])) "]" };
    html! {
        div.scroll tabindex="0" role="region" aria-label={ "Results for " (name) } {
            table.endpoint-table data-endpoint=(name) {
                caption { (name) " (" (t["instrument"].as_str().unwrap_or("")) ", " (typeset_units(t["unit"].as_str().unwrap_or(""))) "): treated minus control change from baseline; p: " (t["p_value_of"].as_str().unwrap_or("")) }
                thead { tr {
                    th scope="col" { "day" } th scope="col" { "comparison" } th scope="col" { "estimate" } th scope="col" { "95 % CI" } th scope="col" { "test" } th scope="col" { "p" } th scope="col" { "adjusted p" }
                    @if margins { th scope="col" { "CI at 1 \u{2212} 2\u{3b1}" } th scope="col" { "margins" } }
                    @if ancova { th scope="col" { "ANCOVA estimate" } th scope="col" { "ANCOVA p" } }
                } }
                tbody {
                    @for r in rows {
                        tr {
                            th scope="row" { (r["visit_day"]) }
                            td { (r["comparison"].as_str().unwrap_or("")) }
                            td { (fmt_num(&r["estimate"])) }
                            td { (pair(&r["ci95"])) }
                            td { (r["test"].as_str().unwrap_or("")) }
                            td { (fmt_num(&r["p_value"])) }
                            td { (fmt_num(&r["adjusted_p_value"])) @if r["significant"] == true { " *" } }
                            @if margins { td { (pair(&r["ci_1_minus_2alpha"])) } td { (pair(&r["margin"])) } }
                            @if ancova { td { (fmt_num(&r["ancova"]["estimate"])) } td { (fmt_num(&r["ancova"]["p_value"])) } }
                        }
                    }
                }
            }
        }
    }
}

/// The mixed model over the visits, when the trial has two or more visits after baseline.
fn repeated_table(doc: &Value) -> Markup {
    let Some(models) = doc["repeated_measures"]
        .as_array()
        .filter(|m| !m.is_empty())
    else {
        return html! {};
    };
    html! {
        div.scroll tabindex="0" role="region" aria-label="Repeated visits" {
            table #repeated {
                caption { "Repeated visits: mixed model, change ~ visit + visit:arm + (1 | participant), REML; treated minus control per visit (Wald z)" }
                thead { tr { th scope="col" { "endpoint" } th scope="col" { "comparison" } th scope="col" { "day" } th scope="col" { "estimate" } th scope="col" { "95 % CI" } th scope="col" { "p" } } }
                tbody {
                    @for m in models {
                        @for v in m["visits"].as_array().unwrap_or(&Vec::new()) {
                            tr {
                                th scope="row" { (m["name"].as_str().unwrap_or("")) }
                                td { (m["comparison"].as_str().unwrap_or("")) }
                                td { (v["visit_day"]) }
                                td { (fmt_num(&v["difference"]["estimate"])) }
                                td { "[" (fmt_num(&v["difference"]["ci_low"])) ", " (fmt_num(&v["difference"]["ci_high"])) "]" }
                                td { (fmt_num(&v["difference"]["p_value"])) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One figure per endpoint (each a single phone-sized panel): treated minus control per
/// visit with its 95 % confidence interval.
fn trial_plots(doc: &Value) -> Markup {
    let empty = Vec::new();
    let eps = doc["endpoints"].as_array().unwrap_or(&empty);
    let mut names: Vec<&str> = eps.iter().filter_map(|e| e["name"].as_str()).collect();
    names.dedup();
    let mut figures = Vec::new();
    for n in &names {
        let rows: Vec<&Value> = eps
            .iter()
            .filter(|e| e["name"].as_str() == Some(n))
            .collect();
        let f = |k: &str| {
            rows.iter()
                .map(|e| e[k].as_f64().unwrap_or(f64::NAN))
                .collect::<Vec<f64>>()
        };
        let s = Series::new("treated - control", f("visit_day"), f("mean_difference"))
            .with_band(f("ci95_low"), f("ci95_high"));
        let unit = rows.first().and_then(|e| e["unit"].as_str()).unwrap_or("");
        let words = n.replace('_', " ");
        let panel = Panel::Chart(
            Chart::new(
                words.clone(),
                "visit day",
                format!("difference ({})", typeset_units(unit)),
            )
            .with_series(s)
            .with_hline(0.0),
        );
        figures.push(phone_figure(
            panel,
            &format!("{words}: difference from control per visit, with 95 % confidence intervals"),
            html! { (words) ": treated minus control, change from baseline (" (typeset_units(unit)) "), with its 95 % CI." },
            None,
        ));
    }
    if figures.is_empty() {
        return html! {};
    }
    html! {
        div.plot-grid #trial-plots {
            @for f in figures { (f) }
        }
    }
}

// ------------------------------------------------------------- power

/// The range of replicates (simulated trials per sample size) the API takes for a power
/// analysis by simulation: those of `exoskin power --replicates`.
pub const POWER_REPLICATES: (usize, usize) = (100, 100_000);
/// The range of the largest sample size searched (`exoskin power --max-participants`).
pub const POWER_MAX_PARTICIPANTS: (usize, usize) = (4, 100_000);

/// The power fields of the trial form: (query key, label, allowed range, starting value).
/// The starting values are a quick look (without them, a trial file's `[power]` table
/// decides, by default 1000 replicates and 2000 participants).
const POWER_FIELDS: [(&str, &str, (usize, usize), usize); 2] = [
    (
        "replicates",
        "Replicates: simulated trials per sample size",
        POWER_REPLICATES,
        200,
    ),
    (
        "max_participants",
        "Maximum participants searched",
        POWER_MAX_PARTICIPANTS,
        200,
    ),
];

/// The message for a power field's value outside its range or not a whole number; None
/// when it is fine (or blank: the trial file's value is used).
pub fn power_field_error(key: &str, raw: &str) -> Option<String> {
    let (_, label, (lo, hi), _) = POWER_FIELDS.iter().find(|f| f.0 == key)?;
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<u64>() {
        Ok(n) if (*lo as u64..=*hi as u64).contains(&n) => None,
        Ok(n) => Some(format!(
            "{label}: {n} is outside this server's range {lo} to {hi}"
        )),
        Err(_) => Some(format!("{label}: `{raw}` is not a whole number")),
    }
}

fn duration_words(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s >= 120 && s.is_multiple_of(60) {
        format!("{s} s ({} min)", s / 60)
    } else {
        format!("{s} s")
    }
}

/// The power fields with the limits the server runs them under, next to them.
fn power_fields(web: &Web, q: &HashMap<String, String>) -> Markup {
    let (rlo, rhi) = POWER_REPLICATES;
    let (mlo, mhi) = POWER_MAX_PARTICIPANTS;
    html! {
        fieldset #power-fields {
            legend { "Sample size by simulation" }
            div #power-limits {
                p { "This server runs it under these limits:" }
                ul.limits {
                    li { "replicates: " (rlo) " to " (rhi) " simulated trials per sample size (more give a steadier n and take longer);" }
                    li { "maximum participants: " (mlo) " to " (mhi) " (per arm in parallel designs);" }
                    li { "assurance: " (exoskin_api::trial::DEFAULT_ASSURANCE_DRAWS) " model draws of the uncertain parameters;" }
                    li { "time: a job that runs past " (duration_words(web.cfg.job_timeout)) " is stopped." }
                }
            }
            @for (key, label, (lo, hi), start) in POWER_FIELDS {
                @let id = format!("power-{}", key.replace('_', "-"));
                @let error_id = format!("{id}-error");
                @let value = q.get(key).cloned().unwrap_or_else(|| start.to_string());
                @let error = power_field_error(key, &value);
                div.field.invalid[error.is_some()] {
                    label for=(id) { (label) " (" (lo) " to " (hi) ")" }
                    input id=(id) name=(key) inputmode="numeric" autocomplete="off" value=(value)
                        data-min=(lo) data-max=(hi) data-label=(label)
                        aria-invalid=[error.is_some().then_some("true")]
                        aria-describedby=[error.is_some().then_some(error_id.as_str())];
                    @if let Some(m) = &error {
                        p.field-error id=(error_id) { (m) }
                    }
                }
            }
        }
    }
}

/// The power curve: power per sample size with its 95 % band, the assurance curve when the
/// document has one, and the target power as a dashed line.
fn power_plot(doc: &Value) -> Option<Markup> {
    let curve = doc["curve"].as_array().filter(|c| !c.is_empty())?;
    let n: Vec<f64> = curve
        .iter()
        .map(|p| p["n"].as_f64().unwrap_or(f64::NAN))
        .collect();
    let power = |k: &str| -> Vec<f64> {
        curve
            .iter()
            .map(|p| p["power"][k].as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    let target = doc["target"].as_f64()?;
    let per_arm = doc["test"] == "welch_t";
    let endpoint = doc["endpoint"].as_str().unwrap_or("").replace('_', " ");
    let mut chart = Chart::new(
        format!("{endpoint} at day {}", fmt_plain(&doc["visit_day"])),
        if per_arm {
            "participants enrolled per arm"
        } else {
            "participants enrolled"
        },
        "probability of success",
    )
    .with_series(
        Series::new("power", n.clone(), power("rate"))
            .with_band(power("ci95_low"), power("ci95_high"))
            .with_style(Style::LinePoints),
    )
    .with_hline(target);
    let assurance = doc["assurance"]["curve"]
        .as_array()
        .filter(|a| a.len() == curve.len() && a.iter().zip(curve).all(|(x, p)| x["n"] == p["n"]));
    if let Some(a) = assurance {
        let get = |k: &str| -> Vec<f64> {
            a.iter()
                .map(|c| c["assurance"][k].as_f64().unwrap_or(f64::NAN))
                .collect()
        };
        chart = chart.with_series(
            Series::new("assurance", n, get("rate"))
                .with_band(get("ci95_low"), get("ci95_high"))
                .with_style(Style::LinePoints),
        );
    }
    let what = if assurance.is_some() {
        "Power and assurance"
    } else {
        "Power"
    };
    Some(phone_figure(
        Panel::Chart(chart),
        &format!("{what} by number of participants, with 95 % bands; dashed line: the target power {target}"),
        html! { (what) " by sample size, each with its 95 % band over the simulated trials; the dashed line is the target power " (target) "." },
        Some("power-curve"),
    ))
}

/// A number as JSON has it, without quotes (84.0 as 84).
fn fmt_plain(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
        Some(x) => format!("{x}"),
        None => v.to_string(),
    }
}

/// The sample size by simulation, the answer first: n with its Monte-Carlo error and which
/// side is better, then the curve and the settings it ran with.
fn power_result(doc: &Value) -> Markup {
    let target = fmt_plain(&doc["target"]);
    let endpoint = doc["endpoint"].as_str().unwrap_or("").replace('_', " ");
    let day = fmt_plain(&doc["visit_day"]);
    let per_arm = doc["test"] == "welch_t";
    let unit = if per_arm {
        "participants enrolled per arm"
    } else {
        "participants enrolled"
    };
    let comparison = doc["comparison"].as_str().unwrap_or("");
    let (treated, control) = comparison
        .split_once(" vs ")
        .unwrap_or((comparison, "the control"));
    let replicates = &doc["replicates"];
    let largest = doc["curve"]
        .as_array()
        .and_then(|c| c.last())
        .map(|p| (p["n"].clone(), p["power"]["rate"].as_f64()));
    let assurance = &doc["assurance"];
    html! {
        p #power-answer {
            @match doc["n_required"].as_u64() {
                Some(n) => {
                    (n) " " (unit) " reach power " (target) " for " (endpoint) " at day " (day)
                    @match doc["n_required_mc_se"].as_f64() {
                        Some(se) => { " (\u{b1} " (format!("{se:.1}")) ", the Monte-Carlo standard error from " (replicates) " simulated trials per size)." }
                        None => { " (" (replicates) " simulated trials per size; too few points near the target to estimate its Monte-Carlo error)." }
                    }
                }
                None => {
                    "No sample size up to " @if let Some((n, _)) = &largest { (n) } @else { "the maximum" } " " (unit) " reaches power " (target) " for " (endpoint) " at day " (day)
                    @if let Some((_, Some(p))) = &largest { " (power there: " (format!("{p:.2}")) ")" }
                    "."
                    @match doc["analytic_n_enrolled"].as_u64() {
                        Some(n) if n as usize <= POWER_MAX_PARTICIPANTS.1 => { " The t-test formula for the same effect needs " (n) ": raise the maximum participants to search that far." }
                        Some(n) => { " The t-test formula for the same effect needs " (n) ", past this server's maximum." }
                        None => { " The t-test formula for the same effect finds no size either." }
                    }
                }
            }
        }
        p #power-direction {
            @match doc["treated_better"].as_bool() {
                Some(true) => { strong { (treated) " is the better side" } ": " }
                Some(false) => { strong { (treated) " is worse than " (control) " in this model" } ": a trial of this size would find harm, not benefit. " }
                None => { strong { "No difference at all between the arms in this model" } ": " }
            }
            (treated) " minus " (control) " on " (endpoint) " at day " (day) ": "
            (format!("{:+.4}", doc["difference_estimate"].as_f64().unwrap_or(f64::NAN))) " " (typeset_units(doc["difference_unit"].as_str().unwrap_or("")))
            " (SD " (format!("{:.4}", doc["sd_estimate"].as_f64().unwrap_or(f64::NAN))) ")."
        }
        @if let Some(a) = assurance["at_n_required"].as_object() {
            p #power-assurance {
                "Assurance at that size (success averaged over " (assurance["draws"]) " model draws of the uncertain parameters): "
                (format!("{:.2}", a.get("rate").and_then(Value::as_f64).unwrap_or(f64::NAN)))
                " (95 %: " (format!("{:.2}", a.get("ci95_low").and_then(Value::as_f64).unwrap_or(f64::NAN)))
                " to " (format!("{:.2}", a.get("ci95_high").and_then(Value::as_f64).unwrap_or(f64::NAN))) ")."
            }
        }
        @if let Some(f) = power_plot(doc) { div.plot-grid { (f) } }
        p.note #power-settings {
            (replicates) " simulated trials per sample size; " (doc["test"].as_str().unwrap_or("").replace('_', " ")) ", "
            (doc["analysis"].as_str().unwrap_or("").replace('_', " ")) ", alpha " (fmt_plain(&doc["alpha"]))
            ", multiplicity " (doc["multiplicity"].as_str().unwrap_or("none"))
            @if assurance.is_object() { "; assurance over " (assurance["draws"]) " model draws" @if assurance["failed_draws"].as_u64().unwrap_or(0) > 0 { " (" (assurance["failed_draws"]) " failed)" } }
            @if let Some(s) = doc["elapsed_s"].as_f64() { "; " (format!("{s:.1}")) " s" }
            ". The t-test formula for the same effect ("
            (doc["effect_size_measure"].as_str().unwrap_or("").replace('_', " ")) " " (format!("{:.3}", doc["effect_size_estimate"].as_f64().unwrap_or(f64::NAN))) "): "
            @match doc["analytic_n_enrolled"].as_u64() {
                Some(n) => { (n) " enrolled." }
                None => { "no answer." }
            }
        }
    }
}

/// The power section of the trial page for its `power_job`: the result once done, or what
/// became of the job.
fn power_section(web: &Web, q: &HashMap<String, String>) -> Markup {
    let Some(id) = q.get("power_job") else {
        return html! {};
    };
    let job = web
        .jobs
        .get(id)
        .map(|j| j.view())
        .filter(|v| v.kind == "power");
    html! {
        h2 #power-h {
            "Sample size"
            @if let Some(t) = job.as_ref().and_then(|v| v.result.as_ref()).and_then(|d| d["trial"].as_str()) { ": " (t) }
        }
        @match job {
            Some(v) if v.result.is_some() => { (power_result(v.result.as_ref().unwrap_or(&Value::Null))) }
            Some(v) if v.status.finished() => {
                div.error role="alert" {
                    p {
                        @if v.status == crate::jobs::Status::Cancelled { "The sample size run was cancelled." }
                        @else { "The sample size run failed: " (v.error.map(|e| e.message).unwrap_or(v.message)) }
                    }
                }
            }
            Some(_) => p.note { "That sample size run is still going; reload this page in a while." },
            None => p.note { "That sample size run is no longer kept; run it again." },
        }
    }
}

/// The analytic sample size from the page's query (`effect_size`, `test`, `power`,
/// `alpha`): `None` until an effect size is given.
fn analytic_answer(
    q: &HashMap<String, String>,
) -> Option<Result<exoskin_api::trial::Analytic, ApiError>> {
    let given = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    given("effect_size")?;
    let num = |k: &str, label: &str| -> Result<Option<f64>, ApiError> {
        given(k)
            .map(|raw| match raw.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(f),
                _ => Err(ApiError::BadInput {
                    field: Some(k.to_string()),
                    message: format!("{label}: `{raw}` is not a number"),
                }),
            })
            .transpose()
    };
    let answer = (|| {
        let input = exoskin_api::trial::AnalyticInput {
            effect_size: num("effect_size", "Effect size")?,
            difference: None,
            sd: None,
            test: given("test").unwrap_or("paired"),
            power: num("power", "Power")?,
            alpha: num("alpha", "Alpha")?,
            analysis: None,
            margin: None,
            margin_low: None,
            margin_high: None,
            ratio: None,
        };
        exoskin_api::trial::analytic_power(&input)?.ok_or_else(|| ApiError::BadInput {
            field: Some("effect_size".into()),
            message: "give an effect size".into(),
        })
    })();
    Some(answer)
}

fn analytic_form(
    q: &HashMap<String, String>,
    answer: &Option<Result<exoskin_api::trial::Analytic, ApiError>>,
) -> Markup {
    let value = |k: &str| q.get(k).cloned().unwrap_or_default();
    let test = q.get("test").map(String::as_str).unwrap_or("paired");
    html! {
        section aria-labelledby="an-h" {
            h2 #an-h { "Sample size without a simulation" }
            p { "The analytic t-test answer for a standardized effect size (Cohen's d_z for a paired, split-face design; d for two groups)." }
            form #analytic-form method="get" action="/trial" {
                div.field {
                    label for="an-effect" { "Effect size" }
                    input #an-effect name="effect_size" inputmode="decimal" required value=(value("effect_size"));
                }
                div.field {
                    label for="an-test" { "Test" }
                    select #an-test name="test" {
                        option value="paired" selected[test == "paired"] { "paired" }
                        option value="two-sample" selected[test != "paired"] { "two-sample" }
                    }
                }
                div.field {
                    label for="an-power" { "Power (blank: 0.8)" }
                    input #an-power name="power" inputmode="decimal" value=(value("power"));
                }
                div.field {
                    label for="an-alpha" { "Alpha (blank: 0.05)" }
                    input #an-alpha name="alpha" inputmode="decimal" value=(value("alpha"));
                }
                div.buttons { button #run-analytic type="submit" { "Analytic sample size" } }
            }
            @match answer {
                Some(Ok(a)) => p #analytic-answer role="status" {
                    @match a.n {
                        Some(n) => { (n.ceil()) " " (a.unit) " (n = " (format!("{n:.2}")) ") for effect size " (a.effect_size) ", power " (a.power) ", alpha " (a.alpha) "." }
                        None => { "No sample size up to 1e9 reaches power " (a.power) "." }
                    }
                },
                Some(Err(e)) => div.error role="alert" { p { (e.to_string()) } },
                None => {},
            }
        }
    }
}

async fn trial(State(web): State<Arc<Web>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let trials = bundled_trials(&web);
    let chosen = q
        .get("name")
        .cloned()
        .or_else(|| trials.first().cloned())
        .unwrap_or_default();
    let participants = q.get("participants").cloned().unwrap_or_default();
    let seed = q.get("seed").cloned().unwrap_or_default();
    let job = q.get("job").and_then(|id| web.jobs.get(id));
    let doc = job
        .as_ref()
        .map(|j| j.view())
        .filter(|v| v.kind == "trial")
        .and_then(|v| v.result);
    let analytic = analytic_answer(&q);
    let power_errors = POWER_FIELDS
        .iter()
        .any(|(k, ..)| q.get(*k).is_some_and(|v| power_field_error(k, v).is_some()));
    let body = html! {
        form #trial-form method="get" action="/trial" {
            div.field {
                label for="trial-name" { "Trial" }
                select #trial-name name="name" {
                    @for t in &trials { option value=(t) selected[*t == chosen] { (t.replace('_', " ")) } }
                }
            }
            div.field {
                label for="trial-file" { "Or upload a trial file (TOML; its arms name the server's scenarios, e.g. \"../scenarios/in_vivo_microneedling.toml\")" }
                input #trial-file type="file" accept=".toml,text/plain";
            }
            div.field {
                label for="trial-participants" { "Participants (blank: the file's)" }
                input #trial-participants name="participants" inputmode="numeric" value=(participants);
            }
            div.field {
                label for="trial-seed" { "Seed (blank: the file's)" }
                input #trial-seed name="seed" inputmode="numeric" value=(seed);
            }
            (power_fields(&web, &q))
            div.buttons {
                button #run-trial type="submit" { "Run trial" }
                button #run-power type="button" { "Sample size (power)" }
                button #cancel-job type="button" hidden { "Cancel" }
            }
        }
        div #progress-box hidden {
            label for="job-progress" { "Progress" }
            progress #job-progress max="1" value="0" {}
            p #job-status role="status" aria-live="polite" {}
        }
        section #power-result aria-labelledby=[q.contains_key("power_job").then_some("power-h")] { (power_section(&web, &q)) }
        @if let Some(doc) = &doc {
            section #trial-result aria-labelledby="tr-h" {
                h2 #tr-h { (doc["trial"].as_str().unwrap_or("Results")) }
                p { (doc["design"].as_str().unwrap_or("")) " design, " (doc["participants"]) " participants, seed " (doc["seed"]) ", responses " (doc["response_mode"].as_str().unwrap_or("")) ", analysis " (doc["analysis"].as_str().unwrap_or("superiority")) ", multiplicity " (doc["multiplicity"].as_str().unwrap_or("none")) @if let Some(w) = doc["washout_days"].as_f64() { ", washout " (w) " days" } }
                (trial_plots(doc))
                (trial_flow(doc))
                div #endpoints {
                    @for t in doc["tables"].as_array().unwrap_or(&Vec::new()) {
                        (endpoint_table(t))
                    }
                }
                p.note { "* adjusted p < alpha (multiplicity: " (doc["multiplicity"].as_str().unwrap_or("none")) ", over the endpoints at each visit). Analysis: " (doc["analysis"].as_str().unwrap_or("superiority")) "." }
                (repeated_table(doc))
            }
        } @else if q.contains_key("job") {
            p.note { "That run is no longer kept; run it again." }
        }
        (analytic_form(&q, &analytic))
    };
    let status = match analytic {
        Some(Err(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ if power_errors => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    page_response(status, layout("Virtual trial", "/trial", body))
}
