//! Random finite input never panics: the renderers return an image or an error.

use exoskin_plot::{
    nice_ticks, nice_ticks_inside, render_png, render_svg, Chart, Histogram, Panel, Series, Style,
};
use proptest::prelude::*;

/// Any finite double, with extra weight on awkward ones (zero, tiny, huge, repeated).
fn finite() -> BoxedStrategy<f64> {
    prop_oneof![
        4 => -1e3f64..1e3,
        1 => prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
        1 => Just(0.0),
        1 => Just(1e300),
        1 => Just(-7.5),
    ]
    .boxed()
}

/// Finite doubles that can be plotted (magnitude at most 1e300).
fn plottable() -> BoxedStrategy<f64> {
    prop_oneof![
        4 => -1e3f64..1e3,
        1 => -1e300f64..1e300,
        1 => prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
        1 => -1e-290f64..1e-290,
        1 => Just(42.0),
    ]
    .boxed()
}

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![
        Just(Style::Line),
        Just(Style::Points),
        Just(Style::LinePoints)
    ]
}

/// Series with `values` for every coordinate; `empty` allows series with no points.
fn series_of(values: BoxedStrategy<f64>, empty: bool) -> impl Strategy<Value = Series> {
    let min_len = usize::from(!empty);
    (min_len..30usize, style(), any::<bool>(), "\\PC{0,40}").prop_flat_map(
        move |(n, style, band, name)| {
            let v = || prop::collection::vec(values.clone(), n);
            (v(), v(), v(), v()).prop_map(move |(x, y, lo, hi)| Series {
                name: name.clone(),
                x,
                y,
                band: band.then_some((lo, hi)),
                style,
            })
        },
    )
}

/// Charts and histograms with `values` everywhere; `valid`: only input that must render
/// (at least one non-empty series or group), else empty ones too.
fn panel_of(values: fn() -> BoxedStrategy<f64>, valid: bool) -> impl Strategy<Value = Panel> {
    let least = usize::from(valid);
    prop_oneof![
        (
            prop::collection::vec(series_of(values(), !valid), least..5),
            "\\PC{0,80}",
            prop::option::of(values())
        )
            .prop_map(|(series, title, hline)| Panel::Chart(Chart {
                title: title.clone(),
                x_label: title.to_uppercase(),
                y_label: title,
                series,
                hline,
            })),
        (
            prop::collection::vec(
                ("\\PC{0,30}", prop::collection::vec(values(), least..80)),
                least..4
            ),
            0usize..300
        )
            .prop_map(|(groups, bins)| Panel::Histogram(Histogram {
                title: "histogram".into(),
                x_label: "value".into(),
                groups,
                bins,
            })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn rendering_never_panics(
        panels in prop::collection::vec(panel_of(finite, false), 0..4),
        columns in 0usize..4,
        w in 0u32..500,
        h in 0u32..400,
    ) {
        let png = render_png(&panels, columns, w, h);
        let svg = render_svg(&panels, columns, w, h);
        // Both renderers accept and refuse the same input.
        prop_assert_eq!(png.is_ok(), svg.is_ok());
        if let Ok(svg) = svg {
            prop_assert!(svg.starts_with("<svg"));
        }
    }

    #[test]
    fn valid_input_always_renders(
        panels in prop::collection::vec(panel_of(plottable, true), 1..4),
        columns in 1usize..4,
        w in 220u32..500,
        h in 160u32..400,
    ) {
        let png = render_png(&panels, columns, w, h);
        prop_assert!(png.is_ok(), "{:?}", png.err());
        let svg = render_svg(&panels, columns, w, h);
        prop_assert!(svg.is_ok(), "{:?}", svg.err());
    }

    #[test]
    fn ticks_are_sorted_and_bounded(a in finite(), b in finite(), n in 0usize..20) {
        let (lo, hi) = (a.min(b), a.max(b));
        let t = nice_ticks(lo, hi, n);
        prop_assert!(t.len() <= 1001);
        prop_assert!(t.windows(2).all(|w| w[0] < w[1]));
        if t.len() >= 2 {
            // Covering, up to the documented billionth of a step.
            let slack = (t[1] - t[0]) * 1e-9;
            prop_assert!(t[0] <= lo + slack && *t.last().unwrap() >= hi - slack, "{:?}", t);
        }
        let inside = nice_ticks_inside(lo, hi, n);
        prop_assert!(inside.windows(2).all(|w| w[0] < w[1]));
    }
}
