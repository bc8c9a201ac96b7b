//! The planner's rules on realistic shelves (examples/routines), the iCalendar export, and
//! the face map against single-site runs.

use exoskin_model::{parse_scenario, Scenario, TransportParams};
use exoskin_response::{try_simulate_in_vivo, ResponseParams};
use exoskin_routine::planner::{plan, Plan};
use exoskin_routine::predict::{at_weeks, RunSpec};
use exoskin_routine::rules::Rules;
use exoskin_routine::{facemap, ics, read_routine_file, Routine};
use std::path::PathBuf;

fn example(name: &str) -> (Routine, Plan) {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/routines")
        .join(name);
    let r = read_routine_file(&p).unwrap();
    let pl = plan(&r).unwrap();
    (r, pl)
}

fn with(r: &Routine, f: impl Fn(&exoskin_routine::input::Actives) -> bool) -> Vec<&str> {
    r.products
        .iter()
        .filter(|p| f(&p.actives))
        .map(|p| p.name.as_str())
        .collect()
}

fn uses(steps: &[exoskin_routine::planner::Step], names: &[&str]) -> bool {
    steps
        .iter()
        .any(|s| s.kind != "patch_test" && names.contains(&s.product.as_str()))
}

#[test]
fn the_shelf_decodes_to_the_expected_actives() {
    let (r, _) = example("weekly_with_microneedling.toml");
    assert_eq!(with(&r, |a| a.vesicle), ["ExoRenew ADSC Serum"]);
    assert_eq!(with(&r, |a| a.retinoid), ["Night Retinol Cream"]);
    assert_eq!(with(&r, |a| a.aha), ["Glycolic Toner"]);
    assert_eq!(with(&r, |a| a.vitamin_c), ["Vitamin C 15"]);
    assert!(with(&r, |a| a.uv_filter).contains(&"Daily Fluid SPF 50+"));
    assert!(with(&r, |a| a.niacinamide).contains(&"Barrier Cream"));
}

#[test]
fn retinoid_never_with_ev_serum_or_acid_on_one_night_and_both_are_used() {
    let (r, pl) = example("weekly_with_microneedling.toml");
    let ret = with(&r, |a| a.retinoid);
    let ev = with(&r, |a| a.vesicle);
    let acid = with(&r, |a| a.acid());
    let (mut ret_nights, mut ev_nights, mut acid_nights) = (0, 0, 0);
    for d in &pl.days {
        let (has_r, has_e, has_a) = (uses(&d.pm, &ret), uses(&d.pm, &ev), uses(&d.pm, &acid));
        assert!(!(has_r && has_e), "{}: retinoid and EV serum", d.date);
        assert!(!(has_r && has_a), "{}: retinoid and AHA", d.date);
        ret_nights += has_r as u32;
        ev_nights += has_e as u32;
        acid_nights += has_a as u32;
    }
    assert!(
        ret_nights >= 3 && ev_nights >= 3 && acid_nights >= 2,
        "{ret_nights} {ev_nights} {acid_nights}"
    );
}

#[test]
fn vitamin_c_only_in_the_morning_and_spf_last_every_morning() {
    let (r, pl) = example("weekly_with_microneedling.toml");
    let vc = with(&r, |a| a.vitamin_c);
    let mut vc_mornings = 0;
    for d in &pl.days {
        assert!(!uses(&d.pm, &vc), "{}: vitamin C in the evening", d.date);
        vc_mornings += uses(&d.am, &vc) as u32;
        let last =
            d.am.last()
                .unwrap_or_else(|| panic!("{}: empty morning", d.date));
        assert_eq!(last.product, "Daily Fluid SPF 50+", "{}", d.date);
        assert_eq!(last.wait_s, 0.0);
    }
    assert!(vc_mornings > 0);
}

#[test]
fn actives_pause_around_the_procedure_for_at_least_the_sourced_minimum() {
    let (r, pl) = example("weekly_with_microneedling.toml");
    let rules = Rules::embedded().unwrap();
    let before = rules.value("pause_before_microneedling") as i64;
    let after = rules.value("pause_after_microneedling") as i64;
    assert!(before >= 3 && after >= 3, "practice range 3-7 days");
    let proc_date = r.procedures[0].date;
    let paused = with(&r, |a| a.paused_around_procedures());
    assert!(paused.len() >= 3);
    let mut checked = 0;
    for d in &pl.days {
        let date: jiff::civil::Date = d.date.parse().unwrap();
        let days = (date - proc_date).get_days() as i64;
        if (-before..=after).contains(&days) {
            assert!(
                !uses(&d.am, &paused) && !uses(&d.pm, &paused),
                "{}: active during pause",
                d.date
            );
            checked += 1;
        }
        if days == 0 {
            assert_eq!(d.pm[0].kind, "procedure");
            assert!(
                uses(&d.pm, &with(&r, |a| a.vesicle)),
                "EV serum after the procedure"
            );
        }
    }
    assert_eq!(checked, before + after + 1);
    // Actives come back after the pause.
    let back = pl.days.iter().any(|d| {
        let date: jiff::civil::Date = d.date.parse().unwrap();
        (date - proc_date).get_days() as i64 > after && uses(&d.am, &paused)
    });
    assert!(back);
}

#[test]
fn patch_tests_come_before_first_use() {
    let (r, pl) = example("weekly_with_microneedling.toml");
    // One new product at a time: no evening tests two new products.
    for d in &pl.days {
        let n =
            d.pm.iter()
                .filter(|s| s.kind == "patch_test" && s.rule == "patch_test_new")
                .count();
        assert!(n <= 1, "{}: {n} new products patch-tested at once", d.date);
    }
    for p in r
        .products
        .iter()
        .filter(|p| p.new && p.kind.as_str() != "cleanser")
    {
        let first_patch = pl.days.iter().position(|d| {
            d.pm.iter()
                .any(|s| s.kind == "patch_test" && s.product == p.name)
        });
        let first_use = pl.days.iter().position(|d| {
            d.am.iter()
                .chain(&d.pm)
                .any(|s| s.kind != "patch_test" && s.product == p.name)
        });
        let (Some(t), Some(u)) = (first_patch, first_use) else {
            panic!("{}: patch test {first_patch:?}, use {first_use:?}", p.name)
        };
        assert!(
            t + 2 <= u,
            "{}: patch test day {t}, first use day {u}",
            p.name
        );
    }
    // Again before use on freshly treated skin.
    let proc_date = r.procedures[0].date.to_string();
    let i = pl.days.iter().position(|d| d.date == proc_date).unwrap();
    assert!(pl.days[i - 1]
        .pm
        .iter()
        .any(|s| s.rule == "patch_test_treated"));
}

#[test]
fn pregnancy_removes_retinoids_with_a_warning() {
    let (r, pl) = example("pregnant_sensitive.toml");
    let ret = with(&r, |a| a.retinoid);
    assert!(!ret.is_empty());
    assert!(pl
        .days
        .iter()
        .all(|d| !uses(&d.am, &ret) && !uses(&d.pm, &ret)));
    assert!(pl
        .warnings
        .iter()
        .any(|w| w.code == "pregnancy_retinoid" && w.severity == "high"));
    assert!(pl.warnings.iter().any(|w| w.code == "pregnancy_ev_no_data"));
    // Kept at room temperature against "Keep refrigerated" on the label.
    assert!(pl
        .warnings
        .iter()
        .any(|w| w.code == "storage_contradiction"));
    // Sensitive skin: EV serum every other evening at first.
    let ev = with(&r, |a| a.vesicle);
    let nights: Vec<bool> = pl.days[2..8].iter().map(|d| uses(&d.pm, &ev)).collect();
    assert_eq!(nights, [true, false, true, false, true, false]);
}

#[test]
fn every_step_carries_a_reason_and_a_source() {
    let (_, pl) = example("weekly_with_microneedling.toml");
    for d in &pl.days {
        for s in d.am.iter().chain(&d.pm) {
            assert!(
                !s.reason.is_empty() && !s.source.is_empty(),
                "{}: {s:?}",
                d.date
            );
        }
    }
}

#[test]
fn ics_has_one_event_per_session_with_its_steps_inside() {
    let (_, pl) = example("weekly_with_microneedling.toml");
    let text = ics::to_ics(&pl, "test");
    let n = text.matches("BEGIN:VEVENT\r\n").count();
    assert_eq!(n, ics::event_count(&pl));
    let sessions: usize = pl
        .days
        .iter()
        .map(|d| usize::from(!d.am.is_empty()) + usize::from(!d.pm.is_empty()))
        .sum();
    assert_eq!(n, sessions);
    assert!(n <= 2 * pl.days.len());
    // Every step is inside its session's description.
    let unfolded = text.replace("\r\n ", "");
    for d in &pl.days {
        for s in d.am.iter().chain(&d.pm) {
            assert!(
                unfolded.contains(&s.product.replace(',', "\\,")),
                "{}",
                s.product
            );
        }
    }
    assert!(text.ends_with("END:VCALENDAR\r\n"));
}

#[test]
fn face_map_numbers_equal_single_site_runs() {
    let base = RunSpec {
        name: "plant EV serum".into(),
        source: "plant".into(),
        particles_per_ml: 1e10,
        dose_ul_per_cm2: 2.0,
        essence_ul_per_cm2: 0.0,
        site: "cheek".into(),
        age_years: 40.0,
        procedure: None,
        days: 14,
    };
    let map = facemap::run(&base, vec![]).unwrap();
    assert_eq!(map.zones.len(), facemap::ZONES.len());
    let sites = exoskin_model::params::sites();
    for z in &map.zones {
        // An independent single-site scenario: the bundled plant scenario moved to the zone.
        let text = base_scenario(&z.zone);
        let Scenario::InVivo(v) = parse_scenario(&text, "t").unwrap() else {
            panic!()
        };
        assert_eq!(v.skin.sc_thickness_um, sites[&z.zone].sc_thickness_um);
        let sim = try_simulate_in_vivo(&v, TransportParams::defaults(), ResponseParams::defaults())
            .unwrap();
        assert_eq!(
            z.reached_dermis_pct,
            100.0 * sim.transport.reached_dermis_fraction,
            "{}",
            z.zone
        );
        assert_eq!(z.outcomes, at_weeks(&sim, &[2, 4, 12]), "{}", z.zone);
    }
    // The nose (most follicle orifice area) takes more than the neck (least).
    let get = |n: &str| {
        map.zones
            .iter()
            .find(|z| z.zone == n)
            .unwrap()
            .reached_dermis_pct
    };
    assert!(get("nose") > get("neck"));
    let d = facemap::draw(&map).unwrap();
    let svg = d.to_svg().unwrap();
    assert!(svg.contains("periorbital") && svg.contains("reached dermis"));
    assert_eq!(&d.to_png().unwrap()[1..4], b"PNG");
}

/// A scenario written by hand (not by RunSpec) for the zone.
fn base_scenario(site: &str) -> String {
    format!(
        "[experiment]\nkind = \"in_vivo\"\nname = \"check\"\nduration_h = 336.0\noutput_interval_h = 24.0\n\
         [product]\nsource = \"plant\"\nparticles_per_ml = 1.0e10\ndose_ul_per_cm2 = 2.0\n\
         [product.size]\nmode_nm = 100.0\ngsd = 1.4\nclasses = 6\n\
         [skin]\nsite = \"{site}\"\nage_years = 40.0\n\
         [regimen]\napplications_per_day = 1\ndays = 14\nessence_ul_per_cm2 = 0.0\n\
         [numerics]\ncells_per_layer = 20\nradial_cells = 16\ndt_max_h = 0.5\n"
    )
}

/// Every day around a procedure has its basic care, morning and evening, whatever the
/// shelf: every bundled example given a microneedling session, a fractional laser or a peel,
/// and a shelf whose only cleanser has an acid and whose only moisturiser a retinoid, with
/// no sunscreen.
#[test]
fn no_day_around_a_procedure_is_without_cleanser_moisturiser_and_spf() {
    let harsh = "[person]\nage_years = 40\nskin_type = \"oily\"\n[plan]\nstart = \"2027-01-04\"\nweeks = 3\n\
        [[products]]\nname = \"BHA Cleanser\"\ntype = \"cleanser\"\ningredients = \"Aqua, Salicylic Acid, Glycerin\"\nnew = false\n\
        [[products]]\nfile = \"adsc_ev_serum.toml\"\ntype = \"serum\"\n\
        [[products]]\nname = \"Retinol Night\"\ntype = \"moisturizer\"\ningredients = \"Aqua, Retinol, Glycerin\"\nnew = false\n";
    let mut shelves: Vec<(String, String)> = vec![("harsh".into(), harsh.into())];
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("[person]") {
            // Without its own procedures, so the one added below is the only one.
            let cut = text.find("[[procedures]]").unwrap_or(text.len());
            shelves.push((path.display().to_string(), text[..cut].to_string()));
        }
    }
    assert!(shelves.len() >= 3, "the bundled routines are read");
    let rules = Rules::embedded().unwrap();
    let mut checked = 0;
    for (name, text) in &shelves {
        for (kind, rule) in [
            ("microneedling", "microneedling"),
            ("fractional_laser", "fractional_co2"),
            ("peel", "chemical_peel"),
        ] {
            let start: jiff::civil::Date = text
                .split("start = \"")
                .nth(1)
                .and_then(|t| t.get(..10))
                .unwrap()
                .parse()
                .unwrap();
            let date = start + jiff::Span::new().days(8);
            let with_proc =
                format!("{text}\n[[procedures]]\nkind = \"{kind}\"\ndate = \"{date}\"\n");
            let r = exoskin_routine::read_routine(&with_proc, name, &examples_dir()).unwrap();
            let pl = plan(&r).unwrap();
            let before = rules.value(&format!("pause_before_{rule}")) as i64;
            let after = rules.value(&format!("pause_after_{rule}")) as i64;
            for d in &pl.days {
                let day: jiff::civil::Date = d.date.parse().unwrap();
                let k = (day - date).get_days() as i64;
                if !(-before..=after).contains(&k) {
                    continue;
                }
                let kinds = |steps: &[exoskin_routine::planner::Step]| -> Vec<String> {
                    steps
                        .iter()
                        .map(|s| {
                            r.products
                                .iter()
                                .find(|p| p.name == s.product)
                                .map_or(s.kind.clone(), |p| p.kind.as_str().to_string())
                        })
                        .collect()
                };
                let (am, pm) = (kinds(&d.am), kinds(&d.pm));
                for want in ["cleanser", "moisturizer", "sunscreen"] {
                    assert!(
                        am.iter().any(|k| k == want),
                        "{name} {kind} {}: morning without a {want}: {am:?}",
                        d.date
                    );
                }
                assert!(
                    pm.iter().any(|k| k == "moisturizer"),
                    "{name} {kind} {}: evening without a moisturiser: {pm:?}",
                    d.date
                );
                if k != 0 {
                    assert!(
                        pm.iter().any(|k| k == "cleanser"),
                        "{name} {kind} {}: evening without a cleanser: {pm:?}",
                        d.date
                    );
                }
                // Nothing paused comes back inside the window.
                let paused: Vec<&str> = r
                    .products
                    .iter()
                    .filter(|p| p.actives.paused_around_procedures())
                    .map(|p| p.name.as_str())
                    .collect();
                assert!(
                    !uses(&d.am, &paused) && !uses(&d.pm, &paused),
                    "{name} {}",
                    d.date
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "{checked} days checked");
}

/// The routine's and the face map's numerics stay within 2.5 % of the scenario defaults on
/// the bundled microneedling routine (dermal delivery and every reported outcome).
#[test]
fn routine_numerics_agree_with_the_defaults() {
    let (r, pl) = example("weekly_with_microneedling.toml");
    let (spec, _) = exoskin_routine::predict::base_spec(&r, &pl).unwrap();
    let text = spec.scenario_toml();
    assert!(text.contains(exoskin_routine::predict::NUMERICS_TOML));
    let run = |t: &str| {
        let Scenario::InVivo(v) = parse_scenario(t, "t").unwrap() else {
            panic!()
        };
        try_simulate_in_vivo(&v, TransportParams::defaults(), ResponseParams::defaults()).unwrap()
    };
    let (ours, defaults) = (
        run(&text),
        run(&text.replace(exoskin_routine::predict::NUMERICS_TOML, "")),
    );
    let (a, b) = (
        ours.transport.reached_dermis_fraction,
        defaults.transport.reached_dermis_fraction,
    );
    assert!(
        b > 0.0 && (a / b - 1.0).abs() < 0.025,
        "delivery {a} vs {b}"
    );
    let (oa, ob) = (
        at_weeks(&ours, &[2, 4, 12]),
        at_weeks(&defaults, &[2, 4, 12]),
    );
    for (k, va) in &oa {
        for (x, y) in va.iter().zip(&ob[k]) {
            assert!((x - y).abs() <= 0.025 * y.abs().max(0.1), "{k}: {x} vs {y}");
        }
    }
}

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/routines")
}

#[test]
fn an_expired_product_is_left_out_with_a_warning() {
    let text =
        "[person]\nage_years = 45\nskin_type = \"oily\"\n[plan]\nstart = 2028-05-01\nweeks = 1\n\
                [[products]]\nfile = \"retinol_cream.toml\"\ntype = \"moisturizer\"\n";
    let r = exoskin_routine::read_routine(text, "t.toml", &examples_dir()).unwrap();
    let pl = plan(&r).unwrap();
    assert!(pl.warnings.iter().any(|w| w.code == "expired"));
    assert!(pl.warnings.iter().any(|w| w.code == "no_sunscreen"));
    assert!(pl.days.iter().all(|d| d.pm.is_empty() && d.am.is_empty()));
}

#[test]
fn bad_input_names_file_line_column_and_range() {
    let text = "[person]\nage_years = 45\nskin_type = \"oily\"\n[plan]\nstart = \"2028-05-01\"\nweeks = 0\n";
    let e = exoskin_routine::read_routine(text, "t.toml", &examples_dir())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("t.toml:6:9: plan.weeks:") && e.contains("1 to 52"),
        "{e}"
    );
    let text = "[person]\nage_years = 45\nskin_type = \"oily\"\n[plan]\nstart = \"2028-13-01\"\nweeks = 2\n";
    let e = exoskin_routine::read_routine(text, "t.toml", &examples_dir())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("t.toml:5:9: plan.start:") && e.contains("YYYY-MM-DD"),
        "{e}"
    );
    let text = "[person]\nage_years = 45\nskin_type = \"oily\"\n[plan]\nstart = \"2028-01-01\"\nweeks = 2\n\
                [[products]]\nname = \"x\"\ningredients = \"Aqua\"\ntype = \"lotion\"\n";
    let e = exoskin_routine::read_routine(text, "t.toml", &examples_dir())
        .unwrap_err()
        .to_string();
    assert!(e.contains("t.toml:10:") && e.contains("moisturizer"), "{e}");
}
