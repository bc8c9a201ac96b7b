//! Rendering: PNG size and pixels, SVG structure, saving.

use exoskin_plot::{
    layout, render_png, render_svg, save, save_sized, series_color, Chart, Histogram, Panel,
    PlotError, Rgb, Series, Style,
};

/// Decodes PNG bytes to (width, height, RGB pixels).
fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn pixel(img: &(u32, u32, Vec<u8>), x: u32, y: u32) -> Rgb {
    let i = ((y * img.0 + x) * 3) as usize;
    Rgb(img.2[i], img.2[i + 1], img.2[i + 2])
}

fn diagonal() -> Chart {
    let x: Vec<f64> = (0..=20).map(|i| f64::from(i) / 20.0).collect();
    Chart::new("y equals x", "x", "y").with_series(Series::new("identity", x.clone(), x))
}

#[test]
fn png_decodes_to_the_requested_size() {
    let panels = [Panel::from(diagonal())];
    let img = decode(&render_png(&panels, 1, 400, 300).unwrap());
    assert_eq!((img.0, img.1), (400, 300));
}

#[test]
fn grid_of_panels_has_columns_times_width() {
    let panels = vec![Panel::from(diagonal()); 5];
    let img = decode(&render_png(&panels, 2, 300, 200).unwrap());
    assert_eq!((img.0, img.1), (600, 600));
    // More columns than panels: only as many columns as panels.
    let img = decode(&render_png(&panels[..2], 4, 300, 200).unwrap());
    assert_eq!((img.0, img.1), (600, 200));
}

#[test]
fn the_line_y_equals_x_lies_on_the_diagonal() {
    let panel = Panel::from(diagonal());
    let (w, h) = (480, 360);
    let img = decode(&render_png(std::slice::from_ref(&panel), 1, w, h).unwrap());
    let l = layout(&panel, w, h).unwrap();
    let blue = series_color(0);
    for i in 1..20 {
        let t = f64::from(i) / 20.0;
        let (px, py) = l.to_pixel(t, t);
        let (cx, cy) = (px.floor() as u32, py.floor() as u32);
        // The pixel under the point, or one beside it, carries the full series colour.
        let hit = (cx - 1..=cx + 1).any(|x| (cy - 1..=cy + 1).any(|y| pixel(&img, x, y) == blue));
        assert!(hit, "no series pixel near ({px}, {py}) for t = {t}");
    }
    // Far from the line: the top-left and bottom-right corners of the plot area are background.
    let white = Rgb(255, 255, 255);
    let (x0, y0) = l.to_pixel(0.05, 0.95);
    assert_eq!(pixel(&img, x0 as u32, y0 as u32), white);
    let (x1, y1) = l.to_pixel(0.95, 0.05);
    assert_eq!(pixel(&img, x1 as u32, y1 as u32), white);
    // Outside the panel's drawing, the image corner is background.
    assert_eq!(pixel(&img, w - 1, h - 1), white);
    assert_eq!(pixel(&img, 0, 0), white);
}

#[test]
fn layout_ranges_hold_the_data_with_padding() {
    let l = layout(&Panel::from(diagonal()), 480, 360).unwrap();
    assert!(l.x_range.0 < 0.0 && l.x_range.1 > 1.0);
    assert!(l.y_range.0 < 0.0 && l.y_range.1 > 1.0);
    assert!(l.x_range.1 - l.x_range.0 < 1.2);
    assert_eq!(l.y_ticks, vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
    assert!(l.plot_left > 0.0 && l.plot_left + l.plot_width < 480.0);
    assert!(l.plot_top > 0.0 && l.plot_top + l.plot_height < 360.0);
}

#[test]
fn a_band_is_a_translucent_fill_in_the_series_colour() {
    let x = vec![0.0, 1.0, 2.0];
    let chart = Chart::new("band", "x", "y").with_series(
        Series::new("m", x.clone(), vec![1.0, 1.0, 1.0])
            .with_band(vec![0.0, 0.0, 0.0], vec![2.0, 2.0, 2.0]),
    );
    let panel = Panel::from(chart);
    let img = decode(&render_png(std::slice::from_ref(&panel), 1, 400, 300).unwrap());
    let l = layout(&panel, 400, 300).unwrap();
    let (px, py) = l.to_pixel(1.5, 0.5);
    let p = pixel(&img, px as u32, py as u32);
    let c = series_color(0);
    assert_ne!(p, Rgb(255, 255, 255));
    assert_ne!(p, c);
    // Lighter than the series colour in every channel, and tinted towards it.
    assert!(p.0 >= c.0 && p.1 >= c.1 && p.2 >= c.2);
    assert!(p.0 < 255 || p.1 < 255);
}

#[test]
fn svg_has_title_and_one_polyline_per_line_series() {
    let x: Vec<f64> = (0..10).map(f64::from).collect();
    let chart = Chart::new("Uptake <per cm2> & more", "time (h)", "amount")
        .with_series(Series::new(
            "a",
            x.clone(),
            x.iter().map(|v| v * 2.0).collect(),
        ))
        .with_series(Series::new(
            "b",
            x.clone(),
            x.iter().map(|v| v * v).collect(),
        ))
        .with_series(
            Series::new("c", x.clone(), x.clone())
                .with_band(x.clone(), x.iter().map(|v| v + 1.0).collect()),
        )
        .with_hline(0.0);
    let svg = render_svg(&[Panel::from(chart)], 1, 500, 350).unwrap();
    assert!(svg.starts_with("<svg"));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("Uptake &lt;per cm2&gt; &amp; more"));
    assert_eq!(svg.matches("<polyline").count(), 3);
    assert_eq!(svg.matches("<path").count(), 0);
    assert_eq!(svg.matches("class=\"band\"").count(), 1);
    assert!(svg.contains("stroke-dasharray"), "reference line is dashed");
    for name in ["time (h)", "amount", ">a<", ">b<", ">c<"] {
        assert!(svg.contains(name), "missing {name}");
    }
    // Every element opened is closed: tags balance.
    assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
}

#[test]
fn svg_points_series_is_one_path() {
    let chart = Chart::new("pts", "x", "y")
        .with_series(
            Series::new("p", vec![1.0, 2.0, 3.0], vec![3.0, 1.0, 2.0]).with_style(Style::Points),
        )
        .with_series(
            Series::new("lp", vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0])
                .with_style(Style::LinePoints),
        );
    let svg = render_svg(&[Panel::from(chart)], 1, 400, 300).unwrap();
    assert_eq!(svg.matches("<path").count(), 2);
    assert_eq!(svg.matches("<polyline").count(), 1);
}

#[test]
fn histogram_renders_and_has_one_outline_per_group() {
    let h = Histogram::new("Change per arm", "change", 10)
        .with_group("placebo", (0..50).map(|i| f64::from(i % 7)).collect())
        .with_group("active", (0..50).map(|i| f64::from(i % 5) - 3.0).collect());
    let panels = [Panel::from(h)];
    let img = decode(&render_png(&panels, 1, 400, 300).unwrap());
    assert_eq!((img.0, img.1), (400, 300));
    let svg = render_svg(&panels, 1, 400, 300).unwrap();
    assert_eq!(svg.matches("<polyline").count(), 2);
    assert!(svg.contains("Change per arm") && svg.contains(">count<"));
    let l = layout(&panels[0], 400, 300).unwrap();
    assert_eq!(l.y_range.0, 0.0);
    assert!(
        l.y_ticks.iter().all(|t| t.fract() == 0.0),
        "counts have integer ticks"
    );
}

#[test]
fn constant_values_give_a_usable_range() {
    for v in [0.0, 5.0, -3e-9, 1e12] {
        let chart =
            Chart::new("flat", "x", "y").with_series(Series::new("s", vec![v, v], vec![v, v]));
        let l = layout(&Panel::from(chart.clone()), 400, 300).unwrap();
        assert!(l.y_range.0 < v && l.y_range.1 > v, "{v}: {:?}", l.y_range);
        assert!(l.y_ticks.len() >= 2, "{v}: {:?}", l.y_ticks);
        render_png(&[Panel::from(chart)], 1, 400, 300).unwrap();
    }
    let h = Histogram::new("one value", "v", 0).with_group("g", vec![2.0; 10]);
    render_png(&[Panel::from(h)], 1, 400, 300).unwrap();
}

#[test]
fn save_writes_png_and_svg_by_extension() {
    let dir = std::env::temp_dir().join(format!("exoskin-plot-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let panels = [Panel::from(diagonal())];
    let png_path = dir.join("fig.PNG");
    save(&png_path, &panels, 1).unwrap();
    let img = decode(&std::fs::read(&png_path).unwrap());
    assert_eq!(
        (img.0, img.1),
        (exoskin_plot::DEFAULT_PANEL_W, exoskin_plot::DEFAULT_PANEL_H)
    );
    let svg_path = dir.join("fig.svg");
    save_sized(&svg_path, &panels, 1, 300, 200).unwrap();
    assert!(std::fs::read_to_string(&svg_path)
        .unwrap()
        .starts_with("<svg"));
    let err = save(&dir.join("fig.jpg"), &panels, 1).unwrap_err();
    assert!(matches!(err, PlotError::UnknownFormat { .. }), "{err}");
    assert!(!dir.join("fig.jpg").exists());
    // No temporary files left behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let err = save(&dir.join("missing-folder/fig.png"), &panels, 1).unwrap_err();
    assert!(matches!(err, PlotError::Io { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn legend_lists_named_series_only() {
    let x = vec![0.0, 1.0];
    let named = Chart::new("t", "x", "y")
        .with_series(Series::new("treated arm", x.clone(), x.clone()))
        .with_series(Series::new("", x.clone(), vec![1.0, 0.0]));
    let svg = render_svg(&[Panel::from(named)], 1, 400, 300).unwrap();
    assert!(svg.contains(">treated arm</text>"));
    assert_eq!(svg.matches("<rect class=\"legend\"").count(), 1);
    let unnamed = Chart::new("t", "x", "y").with_series(Series::new("", x.clone(), x));
    let svg = render_svg(&[Panel::from(unnamed)], 1, 400, 300).unwrap();
    assert!(!svg.contains("class=\"legend\""));
}

#[test]
fn long_texts_are_shortened_to_fit() {
    let long = "x".repeat(500);
    let chart = Chart::new(long.clone(), long.clone(), long.clone()).with_series(Series::new(
        long.clone(),
        vec![0.0, 1.0],
        vec![0.0, 1.0],
    ));
    let svg = render_svg(&[Panel::from(chart)], 1, 300, 200).unwrap();
    assert!(!svg.contains(&long));
    assert!(svg.contains("xx\u{2026}<"));
}

#[test]
fn png_and_svg_are_deterministic() {
    let panels = [Panel::from(diagonal())];
    assert_eq!(
        render_png(&panels, 1, 300, 200).unwrap(),
        render_png(&panels, 1, 300, 200).unwrap()
    );
    assert_eq!(
        render_svg(&panels, 1, 300, 200).unwrap(),
        render_svg(&panels, 1, 300, 200).unwrap()
    );
}
