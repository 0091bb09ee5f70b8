//! The two SVG plots of `compare_wait_strategies`, drawn with `plotters`'
//! SVG backend. Text needs no system fonts: without plotters' `ttf` feature
//! it sizes labels with a fixed estimate and writes them as SVG `<text>`, so
//! the viewer's own sans-serif font renders them.

use super::measure::Gap;
use super::report::Setup;
use super::Results;
use plotters::prelude::*;

/// Plot size, pixels.
const SIZE: (u32, u32) = (900, 560);
/// Values at or below this are drawn at it on the log CPU axis (a blocked
/// waiter burns next to nothing, and a log axis has no 0).
const CPU_FLOOR: f64 = 0.001;

/// Line and point colours, one per policy in table order (dark enough for
/// labels on white; repeats after the last).
const COLORS: [(u8, u8, u8); 10] = [
    (0x1f, 0x77, 0xb4),
    (0xd6, 0x27, 0x28),
    (0x2c, 0xa0, 0x2c),
    (0xff, 0x7f, 0x0e),
    (0x94, 0x67, 0xbd),
    (0x8c, 0x56, 0x4b),
    (0x17, 0xbe, 0xcf),
    (0x7f, 0x7f, 0x7f),
    (0xe3, 0x77, 0xc2),
    (0xbc, 0xbd, 0x22),
];

fn color(i: usize) -> RGBColor {
    let (r, g, b) = COLORS[i % COLORS.len()];
    RGBColor(r, g, b)
}

/// A log axis range around `values`, a factor of `pad` beyond both ends.
fn log_range(values: &[f64], pad: f64) -> std::ops::Range<f64> {
    let finite = values.iter().copied().filter(|v| v.is_finite() && *v > 0.0);
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(0.0, f64::max);
    if lo.is_finite() && hi > 0.0 {
        lo / pad..hi * pad
    } else {
        0.1..10.0
    }
}

fn err(e: impl std::fmt::Display) -> String {
    format!("plotting: {e}")
}

/// Barrier crossing time against team size: one line per policy (phalanx,
/// std, omp-*), log y axis.
pub fn barrier_crossing(s: &Setup, res: &Results) -> Result<String, String> {
    let series: Vec<(&str, Vec<(f64, f64)>)> = s
        .names
        .iter()
        .map(|&p| {
            let pts = s
                .threads
                .iter()
                .filter_map(|&n| res.get("barrier", p, n, "crossing_time").map(|v| (n as f64, v)))
                .filter(|(_, v)| v.is_finite() && *v > 0.0)
                .collect();
            (p, pts)
        })
        .collect();
    let ys: Vec<f64> = series.iter().flat_map(|(_, p)| p.iter().map(|&(_, y)| y)).collect();
    let lo = s.threads.iter().copied().min().unwrap_or(2) as f64;
    let hi = s.threads.iter().copied().max().unwrap_or(8) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Barrier crossing time (us, log scale) by team size", ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(lo - 1.0..hi + 1.0, log_range(&ys, 2.0).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("threads")
            .y_desc("us per crossing")
            .x_labels((hi - lo) as usize + 3)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y}"))
            .draw()
            .map_err(err)?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let color = color(i);
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(err)?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled()))).map_err(err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Release latency (median) against idle CPU, one labelled point per policy
/// and gap regime: filled = short gap, hollow = long gap. Log axes.
pub fn latency_vs_cpu(s: &Setup, res: &Results) -> Result<String, String> {
    let point = |p: &str, g: Gap| {
        let lat = res.get("gate", p, 2, &format!("release_{}_median", g.name()))?;
        let cpu = res.get("gate", p, 2, "cpu_per_wait_s")?;
        (lat.is_finite() && lat > 0.0 && cpu.is_finite()).then_some((lat, cpu.max(CPU_FLOOR)))
    };
    let mut all = Vec::new();
    for &p in s.gate_names {
        all.extend(Gap::ALL.iter().filter_map(|&g| point(p, g)));
    }
    let xs: Vec<f64> = all.iter().map(|&(x, _)| x).collect();
    let ys: Vec<f64> = all.iter().map(|&(_, y)| y).collect();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Release latency vs CPU burned while waiting (log-log)", ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(log_range(&xs, 2.5).log_scale(), log_range(&ys, 4.0).log_scale())
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("release latency, median (us)")
            .y_desc(format!("CPU ms per s of waiting (<= {CPU_FLOOR} drawn at {CPU_FLOOR})"))
            .x_label_formatter(&|x| format!("{x}"))
            .y_label_formatter(&|y| format!("{y}"))
            .draw()
            .map_err(err)?;
        for gap in Gap::ALL {
            let pts: Vec<(usize, &str, (f64, f64))> =
                s.gate_names.iter().enumerate().filter_map(|(i, &p)| point(p, gap).map(|xy| (i, p, xy))).collect();
            let filled = gap == Gap::Short;
            chart
                .draw_series(pts.into_iter().map(|(i, name, xy)| {
                    let color = color(i);
                    let style = if filled { color.filled() } else { color.stroke_width(2) };
                    let label = if filled { name.to_string() } else { String::new() };
                    // Alternate above/below so neighbours' labels do not overprint.
                    let dy = if i % 2 == 0 { -16 } else { 4 };
                    EmptyElement::at(xy)
                        + Circle::new((0, 0), 5, style)
                        + Text::new(label, (8, dy), ("sans-serif", 14).into_font().color(&color))
                }))
                .map_err(err)?
                .label(format!("{} gap ({}, {})", gap.name(), gap.describe(), if filled { "filled" } else { "hollow" }))
                .legend(move |(x, y)| {
                    let style = if filled { BLACK.filled() } else { BLACK.stroke_width(2) };
                    Circle::new((x + 10, y), 5, style)
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}
