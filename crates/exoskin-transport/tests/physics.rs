//! What is known of vesicles on skin, as tests (see the model brief and data/transport.toml).

use exoskin_model::{parse_scenario, TransportParams};
use exoskin_transport::{simulate, Transport};

fn in_vivo(site: &str, mode_nm: f64, procedure: &str, hours: f64) -> f64 {
    let text = format!(
        r#"
[experiment]
kind = "in_vivo"
duration_h = {hours:?}
[product]
source = "human_msc_adipose"
particles_per_ml = 1.0e10
dose_ul_per_cm2 = 2.0
[product.size]
mode_nm = {mode_nm:?}
gsd = 1.0
[skin]
site = "{site}"
{procedure}
"#
    );
    let s = parse_scenario(&text, "t.toml").unwrap();
    match simulate(&s, TransportParams::defaults())
        .unwrap()
        .expect("a transport scenario")
    {
        Transport::InVivo(v) => {
            assert!((v.run.recovery().unwrap() - 1.0).abs() < 1e-9);
            v.reached_dermis_fraction
        }
        _ => unreachable!(),
    }
}

const NEEDLING: &str = "[procedure]\nkind = \"microneedling\"\nneedle_length_um = 1000.0";

#[test]
fn intact_skin_passes_only_trace_amounts_of_100nm_vesicles() {
    for site in ["forehead", "cheek", "forearm", "calf", "back"] {
        let f = in_vivo(site, 100.0, "", 24.0);
        assert!(
            f > 0.0 && f < 1e-3 * 0.5,
            "{site}: {f} of the dose reached the dermis in 24 h"
        );
    }
}

#[test]
fn microneedling_raises_dermal_delivery_by_orders_of_magnitude() {
    let intact = in_vivo("cheek", 100.0, "", 24.0);
    let needled = in_vivo("cheek", 100.0, NEEDLING, 24.0);
    assert!(
        needled > 100.0 * intact,
        "needled {needled} vs intact {intact}"
    );
    let co2 = in_vivo(
        "cheek",
        100.0,
        "[procedure]\nkind = \"fractional_co2\"",
        24.0,
    );
    assert!(co2 > 100.0 * intact, "co2 {co2} vs intact {intact}");
}

#[test]
fn smaller_vesicles_go_further() {
    for proc in ["", NEEDLING] {
        let small = in_vivo("forehead", 50.0, proc, 24.0);
        let mid = in_vivo("forehead", 100.0, proc, 24.0);
        let large = in_vivo("forehead", 150.0, proc, 24.0);
        assert!(
            small > mid && mid > large,
            "{proc:?}: {small} {mid} {large}"
        );
    }
}

#[test]
fn follicle_rich_sites_take_up_more() {
    let forehead = in_vivo("forehead", 100.0, "", 24.0);
    let forearm = in_vivo("forearm", 100.0, "", 24.0);
    assert!(
        forehead > 3.0 * forearm,
        "forehead {forehead} vs forearm {forearm}"
    );
}

#[test]
fn occlusion_keeps_channels_open_longer() {
    let open = in_vivo("cheek", 100.0, NEEDLING, 24.0);
    let occluded = in_vivo(
        "cheek",
        100.0,
        &format!("{NEEDLING}\noccluded = true"),
        24.0,
    );
    assert!(occluded > open, "occluded {occluded} vs {open}");
}
