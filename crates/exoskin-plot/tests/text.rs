//! Text from the embedded font, figure titles and shared histogram bins.

use exoskin_plot::{
    render_png, render_png_titled, render_svg, render_svg_titled, Chart, Histogram, Panel, Series,
};

/// Decodes PNG bytes to (width, height, RGB pixels).
fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(bytes);
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("PNG frame");
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn chart() -> Panel {
    Panel::from(Chart::new("", "x", "y").with_series(Series::new(
        "",
        vec![0.0, 1.0],
        vec![0.0, 1.0],
    )))
}

/// Rows (top to bottom) of the image band `[0, rows)` that hold any non-white pixel.
fn inked_rows(img: &(u32, u32, Vec<u8>), rows: u32) -> Vec<u32> {
    (0..rows)
        .filter(|&y| {
            (0..img.0).any(|x| {
                let i = ((y * img.0 + x) * 3) as usize;
                img.2[i..i + 3] != [255, 255, 255]
            })
        })
        .collect()
}

/// The figure title band's height: the titled image minus the untitled one.
fn band(title: &str) -> u32 {
    let plain = decode(&render_png(&[chart()], 1, 300, 200).unwrap());
    let titled = decode(&render_png_titled(title, &[chart()], 1, 300, 200).unwrap());
    assert_eq!(titled.0, plain.0);
    titled.1 - plain.1
}

#[test]
fn png_and_svg_carry_the_figure_title() {
    let title = "Microneedling + EV serum, 12 weeks";
    let h = band(title);
    assert!((20..60).contains(&h), "title band {h} px");
    let img = decode(&render_png_titled(title, &[chart()], 1, 300, 200).unwrap());
    assert!(!inked_rows(&img, h).is_empty(), "no ink in the title band");
    // Without a title the image is the panel grid alone and its top rows are blank.
    assert_eq!(band(""), 0);
    let svg = render_svg_titled(title, &[chart()], 1, 300, 200).unwrap();
    assert!(svg.contains(&format!(">{title}</text>")));
    assert!(svg.contains(&format!(r#"height="{}""#, 200 + h)));
    assert!(!render_svg(&[chart()], 1, 300, 200).unwrap().contains(title));
}

#[test]
fn micro_sign_is_drawn_as_its_own_glyph() {
    let h = band("µ");
    let render = |t: &str| decode(&render_png_titled(t, &[chart()], 1, 300, 200).unwrap());
    let (mu, u, q) = (render("µ"), render("u"), render("?"));
    let (mu_rows, u_rows) = (inked_rows(&mu, h), inked_rows(&u, h));
    assert!(!mu_rows.is_empty() && !u_rows.is_empty());
    assert_ne!(mu.2, u.2);
    assert_ne!(mu.2, q.2, "µ fell back to the replacement glyph");
    // µ has a descender that u lacks: its ink reaches lower, and both share the x-height top.
    assert!(mu_rows.last() > u_rows.last(), "{mu_rows:?} vs {u_rows:?}");
    assert_eq!(mu_rows.first(), u_rows.first());
    // Anti-aliased: edge pixels are between ink and background.
    let grey = mu.2[..(h * mu.0 * 3) as usize]
        .chunks(3)
        .filter(|p| p[0] > 60 && p[0] < 200)
        .count();
    assert!(grey > 0, "no partially covered pixels");
}

#[test]
fn svg_text_width_comes_from_the_font_metrics() {
    let width_of = |t: &str| -> f64 {
        let svg = render_svg_titled(t, &[chart()], 1, 600, 200).unwrap();
        let line = svg
            .lines()
            .find(|l| l.ends_with(&format!(">{t}</text>")))
            .expect("title text element");
        let at = line.find("textLength=\"").unwrap() + "textLength=\"".len();
        line[at..].split('"').next().unwrap().parse().unwrap()
    };
    // Noto Sans is proportional ...
    assert!(width_of("WWWW") > 2.0 * width_of("iiii"));
    // ... with tabular figures: every digit has the same advance, 0.572 em (bold: 0.572 em).
    let d = width_of("0");
    assert!((width_of("0123456789") - 10.0 * d).abs() < 0.05);
    assert!(
        (d / 15.0 - 0.572).abs() < 0.01,
        "digit advance {d} px at 15 px"
    );
}

#[test]
fn text_rendering_is_deterministic() {
    let title = "Δ TEWL (g/m²/h), ±95 % CI, 10⁶ µm";
    let a = render_png_titled(title, &[chart()], 1, 300, 200).unwrap();
    let b = render_png_titled(title, &[chart()], 1, 300, 200).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        render_svg_titled(title, &[chart()], 1, 300, 200).unwrap(),
        render_svg_titled(title, &[chart()], 1, 300, 200).unwrap()
    );
}

#[test]
fn tick_labels_use_a_true_minus_and_powers_of_ten() {
    let c = Chart::new("", "x", "y").with_series(Series::new("", vec![-2.0, 2.0], vec![0.0, 4e6]));
    let svg = render_svg(&[Panel::from(c)], 1, 400, 300).unwrap();
    assert!(svg.contains(">\u{2212}2</text>"), "minus sign");
    assert!(!svg.contains(">-2</text>"));
    assert!(svg.contains("×10⁶</text>"), "power of ten");
}

#[test]
fn histogram_groups_share_round_bin_edges() {
    let a: Vec<f64> = (0..40).map(|i| f64::from(i) * 0.37 - 3.1).collect();
    let b: Vec<f64> = (0..25).map(|i| f64::from(i) * 0.21 + 1.3).collect();
    let h = Histogram::new("t", "change", 0)
        .with_group("treated", a.clone())
        .with_group("control", b.clone());
    let edges = h.bin_edges().unwrap();
    let step = edges[1] - edges[0];
    assert!(edges
        .windows(2)
        .all(|w| ((w[1] - w[0]) - step).abs() < 1e-9));
    // Round edges: whole multiples of a 1-2-5 step covering every value.
    for e in &edges {
        assert!(((e / step) - (e / step).round()).abs() < 1e-9, "{edges:?}");
    }
    let all = a.iter().chain(&b);
    assert!(all
        .clone()
        .all(|v| *v >= edges[0] && v <= edges.last().unwrap()));
    let counts = h.counts().unwrap();
    assert_eq!(counts[0].len(), edges.len() - 1);
    assert_eq!(counts[1].len(), edges.len() - 1);
    assert_eq!(counts[0].iter().sum::<usize>(), a.len());
    assert_eq!(counts[1].iter().sum::<usize>(), b.len());
    // Against a direct count of the values in each bin.
    for (k, w) in edges.windows(2).enumerate() {
        let last = k == edges.len() - 2;
        let inside = |v: &&f64| **v >= w[0] && (**v < w[1] || last && **v <= w[1]);
        assert_eq!(counts[0][k], a.iter().filter(inside).count());
        assert_eq!(counts[1][k], b.iter().filter(inside).count());
    }
    // Both groups' outlines step at the same x positions in the drawing.
    let svg = render_svg(&[Panel::from(h)], 1, 500, 300).unwrap();
    let xs: Vec<Vec<String>> = svg
        .lines()
        .filter(|l| l.starts_with("<polyline"))
        .map(|l| {
            let at = l.find("points=\"").unwrap() + 8;
            let mut x: Vec<String> = l[at..]
                .split('"')
                .next()
                .unwrap()
                .split(' ')
                .map(|p| p.split(',').next().unwrap().to_string())
                .collect();
            x.dedup();
            x
        })
        .collect();
    assert_eq!(xs.len(), 2);
    assert_eq!(xs[0], xs[1]);
}
