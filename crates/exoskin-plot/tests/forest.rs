//! Forest plots: one row per item, an interval with its middle value and a reference marker.

use exoskin_plot::{
    layout, render_png, render_png_titled, render_svg, save_titled, series_color, Forest,
    ForestRow, Panel, PlotError, Rgb,
};

/// Decodes PNG bytes to (width, height, RGB pixels).
fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn pixel(img: &(u32, u32, Vec<u8>), x: u32, y: u32) -> Rgb {
    let i = ((y * img.0 + x) * 3) as usize;
    Rgb(img.2[i], img.2[i + 1], img.2[i + 2])
}

/// Whether the pixel under (x, y), or one beside it, has exactly `color`.
fn colour_near(img: &(u32, u32, Vec<u8>), (x, y): (f64, f64), color: Rgb) -> bool {
    let (cx, cy) = (x.floor() as u32, y.floor() as u32);
    (cx - 1..=cx + 1).any(|x| (cy - 1..=cy + 1).any(|y| pixel(img, x, y) == color))
}

fn claims() -> Forest {
    Forest::new("Percentage points", "difference (percentage points)")
        .with_row(
            ForestRow::new("collagen\n5.52 [1.27, 11.77]", 1.27, 5.52, 11.77).with_reference(0.0),
        )
        .with_row(
            ForestRow::new("elastin\n15.3 [4.5, 27.8]", 4.52, 15.33, 27.76).with_reference(11.3),
        )
        .with_row(
            ForestRow::new(
                "pores\n\u{2212}7.4 [\u{2212}17.7, \u{2212}1.2]",
                -17.69,
                -7.37,
                -1.22,
            )
            .with_reference(-22.0),
        )
        .with_null(0.0)
}

#[test]
fn forest_layout_maps_each_interval_inside_the_plot_area() {
    let forest = claims();
    let n = forest.rows.len() as f64;
    let l = layout(&Panel::from(forest.clone()), 640, 420).unwrap();
    assert_eq!(l.y_range, (0.0, n));
    assert!(l.y_ticks.is_empty());
    // Every value (intervals, references, the null) lies inside the x range.
    assert!(
        l.x_range.0 < -22.0 && l.x_range.1 > 27.76,
        "{:?}",
        l.x_range
    );
    assert!(l.x_ticks.len() >= 3);
    assert!(l.x_ticks.windows(2).all(|t| t[1] > t[0]));
    let (left, right) = (l.plot_left, l.plot_left + l.plot_width);
    let (top, bottom) = (l.plot_top, l.plot_top + l.plot_height);
    // Room for the labels left of the plot area.
    assert!(left > 60.0 && right < 640.0, "{left} {right}");
    let mut last_y = f64::NEG_INFINITY;
    for (i, row) in forest.rows.iter().enumerate() {
        let y = n - i as f64 - 0.5;
        let (x_lo, py) = l.to_pixel(row.lo, y);
        let (x_hi, _) = l.to_pixel(row.hi, y);
        let (x_ref, _) = l.to_pixel(row.reference.unwrap(), y);
        for x in [x_lo, x_hi, x_ref] {
            assert!(x > left + 4.0 && x < right - 4.0, "row {i}: x {x}");
        }
        assert!(x_lo < x_hi);
        assert!(py > top && py < bottom);
        // Rows go down the panel in the order given.
        assert!(py > last_y);
        last_y = py;
    }
}

#[test]
fn forest_draws_interval_dot_and_reference_where_the_layout_says() {
    let panel = Panel::from(claims());
    let (w, h) = (640, 420);
    let img = decode(&render_png(std::slice::from_ref(&panel), 1, w, h).unwrap());
    assert_eq!((img.0, img.1), (w, h));
    let l = layout(&panel, w, h).unwrap();
    let (blue, vermillion) = (series_color(0), series_color(1));
    // Row 1 (elastin), centred at y = 3 - 1 - 0.5.
    let y = 1.5;
    let cy = l.to_pixel(0.0, y).1.round();
    let at = |v: f64| (l.to_pixel(v, y).0, cy);
    assert!(colour_near(&img, at(15.33), blue), "median dot");
    assert!(colour_near(&img, at(8.0), blue), "interval line");
    assert!(colour_near(&img, at(22.0), blue), "interval line");
    // The open diamond around the claimed value: its left and right corners in the second
    // colour, its centre open (the interval line runs through it).
    let (rx, _) = at(11.3);
    assert!(colour_near(&img, (rx - 6.0, cy), vermillion), "diamond");
    assert!(colour_near(&img, (rx + 6.0, cy), vermillion), "diamond");
    assert_ne!(pixel(&img, rx as u32, cy as u32 - 3), vermillion);
    // Far from every row, between grid lines: background.
    let white = Rgb(255, 255, 255);
    let t = &l.x_ticks;
    let (fx, fy) = l.to_pixel((t[t.len() - 2] + t[t.len() - 1]) / 2.0, 2.95);
    assert_eq!(pixel(&img, fx as u32, fy as u32), white);
}

#[test]
fn forest_svg_has_labels_legend_null_line_and_one_interval_per_row() {
    let svg = render_svg(&[Panel::from(claims())], 1, 640, 420).unwrap();
    assert!(svg.starts_with("<svg"));
    for text in [
        ">Percentage points</text>",
        ">collagen</text>",
        ">5.52 [1.27, 11.77]</text>",
        ">model median, 90 % interval</text>",
        ">claimed</text>",
        ">no effect</text>",
    ] {
        assert!(svg.contains(text), "missing {text}");
    }
    // Three intervals and three diamonds (polylines), the medians as one path.
    assert_eq!(svg.matches("<polyline class=\"series\"").count(), 6);
    assert_eq!(svg.matches("<path class=\"series-points\"").count(), 1);
    // The null line is dashed.
    assert!(svg.contains("class=\"reference\"") && svg.contains("stroke-dasharray"));
    // No text under 11 px.
    for part in svg.split("font-size=\"").skip(1) {
        let size: f64 = part.split('"').next().unwrap().parse().unwrap();
        assert!(size >= 11.0, "text of {size} px");
    }
    // Without a null or references, no legend entries for them.
    let bare = Forest::new("t", "x").with_row(ForestRow::new("a", 1.0, 2.0, 3.0));
    let svg = render_svg(&[Panel::from(bare)], 1, 400, 300).unwrap();
    assert!(svg.contains(">model median, 90 % interval</text>"));
    assert!(!svg.contains(">claimed</text>") && !svg.contains(">no effect</text>"));
    assert!(!svg.contains("class=\"reference\""));
}

#[test]
fn forest_renders_beside_other_panels_and_saves_as_png_and_svg() {
    let panels = [
        Panel::from(claims()),
        Panel::from(
            Forest::new("Ratios", "ratio")
                .with_row(ForestRow::new("wound", 1.0, 1.0, 1.0).with_reference(1.3))
                .with_null(1.0),
        ),
    ];
    let img = decode(&render_png_titled("Claims", &panels, 2, 500, 360).unwrap());
    assert_eq!(img.0, 1000);
    assert!(img.1 > 360);
    let dir = std::env::temp_dir().join(format!("exoskin-plot-forest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["forest.png", "forest.svg"] {
        let path = dir.join(name);
        save_titled(&path, "Claims against the model", &panels, 2).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 1000, "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn long_row_labels_are_shortened_to_fit() {
    let long = "claim_".repeat(60);
    let forest =
        Forest::new("t", "x").with_row(ForestRow::new(format!("{long}\n{long}"), 0.0, 1.0, 2.0));
    let panel = Panel::from(forest);
    let svg = render_svg(std::slice::from_ref(&panel), 1, 400, 300).unwrap();
    assert!(!svg.contains(&long));
    assert_eq!(svg.matches("\u{2026}</text>").count(), 2);
    // The plot area keeps at least half the panel.
    let l = layout(&panel, 400, 300).unwrap();
    assert!(l.plot_width >= 180.0, "{}", l.plot_width);
}

#[test]
fn bad_forest_input_is_refused() {
    let one = |row: ForestRow| vec![Panel::from(Forest::new("f", "x").with_row(row))];
    // No rows.
    let err = render_png(&[Panel::from(Forest::new("f", "x"))], 1, 400, 300).unwrap_err();
    assert!(matches!(err, PlotError::NoData { panel: 0 }), "{err}");
    // NaN or infinite values name the row, the field and the row's index.
    let panels = vec![
        Panel::from(claims()),
        Panel::from(
            Forest::new("f", "x")
                .with_row(ForestRow::new("fine", 0.0, 1.0, 2.0))
                .with_row(ForestRow::new("broken\n1 [0, 2]", f64::NAN, 1.0, 2.0)),
        ),
    ];
    let err = render_svg(&panels, 2, 400, 300).unwrap_err();
    match &err {
        PlotError::NonFinite {
            panel,
            series,
            field,
            index,
            ..
        } => assert_eq!(
            (*panel, series.as_str(), *field, *index),
            (1, "broken", "lo", 1)
        ),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("panel 1"), "{err}");
    let err = render_png(
        &one(ForestRow::new("r", 0.0, 1.0, 2.0).with_reference(f64::INFINITY)),
        1,
        400,
        300,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            PlotError::NonFinite {
                field: "reference",
                ..
            }
        ),
        "{err}"
    );
    let err = render_png(&one(ForestRow::new("r", 0.0, 1e301, 2e301)), 1, 400, 300).unwrap_err();
    assert!(matches!(err, PlotError::OutOfRange { .. }), "{err}");
    // The middle value must lie in the interval.
    let err = render_png(&one(ForestRow::new("r", 2.0, 1.0, 3.0)), 1, 400, 300).unwrap_err();
    assert!(
        matches!(
            err,
            PlotError::IntervalOrder {
                panel: 0,
                index: 0,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("lo <= mid <= hi"), "{err}");
    // A null line must be a finite value.
    let mut f = Forest::new("f", "x").with_row(ForestRow::new("r", 0.0, 1.0, 2.0));
    f.null = Some(f64::NAN);
    let err = render_png(&[Panel::from(f)], 1, 400, 300).unwrap_err();
    assert!(
        matches!(err, PlotError::BadReferenceLine { panel: 0, .. }),
        "{err}"
    );
    // More rows than the panel has lines for: make the panel larger.
    let mut many = Forest::new("f", "x");
    for i in 0..40 {
        many.rows
            .push(ForestRow::new(format!("row {i}"), 0.0, 1.0, 2.0));
    }
    let err = render_png(&[Panel::from(many)], 1, 400, 300).unwrap_err();
    assert!(matches!(err, PlotError::PanelTooSmall { .. }), "{err}");
}

#[test]
fn forest_output_is_deterministic() {
    let panels = [Panel::from(claims())];
    assert_eq!(
        render_png(&panels, 1, 500, 320).unwrap(),
        render_png(&panels, 1, 500, 320).unwrap()
    );
    assert_eq!(
        render_svg(&panels, 1, 500, 320).unwrap(),
        render_svg(&panels, 1, 500, 320).unwrap()
    );
}
