//! Bad input is an error that says what is wrong, never a panic.

use exoskin_plot::{render_png, render_svg, Chart, Histogram, Panel, PlotError, Series};

fn chart_with(series: Series) -> Vec<Panel> {
    vec![Panel::from(Chart::new("t", "x", "y").with_series(series))]
}

#[test]
fn nan_names_the_series_field_and_index() {
    let panels = chart_with(Series::new(
        "arm B",
        vec![0.0, 1.0, 2.0],
        vec![1.0, f64::NAN, 3.0],
    ));
    let err = render_png(&panels, 1, 400, 300).unwrap_err();
    match &err {
        PlotError::NonFinite {
            panel,
            series,
            field,
            index,
            ..
        } => {
            assert_eq!(
                (*panel, series.as_str(), *field, *index),
                (0, "arm B", "y", 1)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("arm B") && msg.contains("y[1]") && msg.contains("NaN"),
        "{msg}"
    );
}

#[test]
fn infinity_in_x_or_band_is_an_error() {
    let panels = chart_with(Series::new("s", vec![0.0, f64::INFINITY], vec![1.0, 2.0]));
    assert!(matches!(
        render_svg(&panels, 1, 400, 300),
        Err(PlotError::NonFinite {
            field: "x",
            index: 1,
            ..
        })
    ));
    let panels = chart_with(
        Series::new("s", vec![0.0, 1.0], vec![1.0, 2.0])
            .with_band(vec![0.0, 0.0], vec![f64::NEG_INFINITY, 3.0]),
    );
    assert!(matches!(
        render_png(&panels, 1, 400, 300),
        Err(PlotError::NonFinite {
            field: "band upper",
            index: 0,
            ..
        })
    ));
    let panels = vec![Panel::from(
        Histogram::new("h", "v", 5).with_group("g", vec![1.0, f64::NAN]),
    )];
    assert!(matches!(
        render_png(&panels, 1, 400, 300),
        Err(PlotError::NonFinite {
            field: "values",
            index: 1,
            ..
        })
    ));
}

#[test]
fn mismatched_lengths_are_an_error() {
    let panels = chart_with(Series::new("s", vec![0.0, 1.0, 2.0], vec![1.0, 2.0]));
    let err = render_png(&panels, 1, 400, 300).unwrap_err();
    assert!(
        matches!(
            err,
            PlotError::LengthMismatch {
                expected: 3,
                found: 2,
                field: "y",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("y has 2 values but x has 3"),
        "{err}"
    );
    let panels = chart_with(
        Series::new("s", vec![0.0, 1.0], vec![1.0, 2.0]).with_band(vec![0.0], vec![3.0, 3.0]),
    );
    assert!(matches!(
        render_svg(&panels, 1, 400, 300),
        Err(PlotError::LengthMismatch {
            field: "band lower",
            ..
        })
    ));
}

#[test]
fn empty_data_is_an_error() {
    assert!(matches!(
        render_png(&[], 1, 400, 300),
        Err(PlotError::NoPanels)
    ));
    let panels = vec![Panel::from(Chart::new("t", "x", "y"))];
    assert!(matches!(
        render_png(&panels, 1, 400, 300),
        Err(PlotError::NoData { panel: 0 })
    ));
    let panels = chart_with(Series::new("empty", vec![], vec![]));
    assert!(matches!(
        render_png(&panels, 1, 400, 300),
        Err(PlotError::EmptySeries { .. })
    ));
    let panels = vec![Panel::from(
        Histogram::new("h", "v", 5).with_group("none", vec![]),
    )];
    assert!(matches!(
        render_svg(&panels, 1, 400, 300),
        Err(PlotError::EmptySeries { .. })
    ));
    let panels = vec![Panel::from(Histogram::new("h", "v", 5))];
    assert!(matches!(
        render_svg(&panels, 1, 400, 300),
        Err(PlotError::NoData { .. })
    ));
}

#[test]
fn sizes_that_cannot_be_drawn_are_errors() {
    let panels = chart_with(Series::new("s", vec![0.0, 1.0], vec![0.0, 1.0]));
    assert!(matches!(
        render_png(&panels, 1, 0, 300),
        Err(PlotError::ZeroSize { .. })
    ));
    assert!(matches!(
        render_svg(&panels, 1, 400, 0),
        Err(PlotError::ZeroSize { .. })
    ));
    assert!(matches!(
        render_png(&panels, 0, 400, 300),
        Err(PlotError::ZeroColumns)
    ));
    assert!(matches!(
        render_png(&panels, 1, 30, 20),
        Err(PlotError::PanelTooSmall { .. })
    ));
    assert!(matches!(
        render_png(&panels, 1, u32::MAX, u32::MAX),
        Err(PlotError::ImageTooLarge { .. })
    ));
}

#[test]
fn the_failing_panel_is_named() {
    let good =
        Panel::from(Chart::new("ok", "x", "y").with_series(Series::new("s", vec![0.0], vec![0.0])));
    let bad = Panel::from(Chart::new("bad", "x", "y").with_series(Series::new(
        "s",
        vec![0.0],
        vec![f64::NAN],
    )));
    let err = render_png(&[good, bad], 2, 300, 200).unwrap_err();
    assert!(
        matches!(err, PlotError::NonFinite { panel: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn huge_values_are_refused_not_overflowed() {
    let panels = chart_with(Series::new("s", vec![0.0, 1.0], vec![-f64::MAX, f64::MAX]));
    assert!(matches!(
        render_png(&panels, 1, 400, 300),
        Err(PlotError::OutOfRange { .. })
    ));
    let panels = vec![Panel::from(
        Chart::new("t", "x", "y")
            .with_series(Series::new("s", vec![0.0], vec![0.0]))
            .with_hline(f64::NAN),
    )];
    assert!(matches!(
        render_png(&panels, 1, 400, 300),
        Err(PlotError::BadReferenceLine { .. })
    ));
}
