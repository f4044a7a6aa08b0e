//! The report's charts, drawn on the server as SVG with plotters: bars per
//! day, a rate over time, and horizontal bars for per-entry funnels and
//! unanswered groups. Labels are numbers and dates only; the names they
//! stand for are in the tables beside the charts.

use plotters::prelude::*;

/// One day's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Day {
    /// `MM-DD`, for the axis.
    pub label: String,
    pub questions: usize,
    pub answered: usize,
    pub escalated: usize,
    /// solved / answered that day, when anything was answered.
    pub self_service: Option<f64>,
}

const BLUE: RGBColor = RGBColor(0x1f, 0x6f, 0xeb);
const GREEN: RGBColor = RGBColor(0x2b, 0x8a, 0x3e);
const ORANGE: RGBColor = RGBColor(0xe6, 0x7e, 0x22);

/// The series of a stacked bar, with their colours, for the legend.
pub const FUNNEL_SERIES: [(&str, &str); 4] = [
    ("solved", "#2b8a3e"),
    ("escalated", "#e67e22"),
    ("asked for more", "#7b4fc9"),
    ("silent", "#999999"),
];

/// Questions, answers and escalations per day, as grouped bars.
pub fn per_day(days: &[Day]) -> String {
    let mut svg = String::new();
    let result = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (760, 260)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = days.len().max(1) as f64;
        let top = days.iter().map(|d| d.questions).max().unwrap_or(0).max(1) as f64 * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(40)
            .build_cartesian_2d(0f64..n, 0f64..top)?;
        let step = (days.len() / 10).max(1);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(days.len().min(12))
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if i.is_multiple_of(step) {
                    days.get(i).map(|d| d.label.clone()).unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_labels((top as usize).clamp(2, 10))
            .y_label_formatter(&whole_count)
            .draw()?;
        for (k, (colour, pick)) in [
            (BLUE, (|d: &Day| d.questions) as fn(&Day) -> usize),
            (GREEN, |d: &Day| d.answered),
            (ORANGE, |d: &Day| d.escalated),
        ]
        .into_iter()
        .enumerate()
        {
            chart.draw_series(days.iter().enumerate().map(|(i, d)| {
                let x0 = i as f64 + 0.1 + k as f64 * 0.27;
                Rectangle::new([(x0, 0.0), (x0 + 0.25, pick(d) as f64)], colour.filled())
            }))?;
        }
        root.present()?;
        Ok(())
    })();
    finish(svg, result)
}

/// Self-service resolution (solved / answered) per day, as a line.
pub fn self_service(days: &[Day]) -> String {
    let mut svg = String::new();
    let result = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (760, 220)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = days.len().max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(40)
            .build_cartesian_2d(0f64..n, 0f64..1.0)?;
        let step = (days.len() / 10).max(1);
        chart
            .configure_mesh()
            .x_labels(days.len().min(12))
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if i.is_multiple_of(step) {
                    days.get(i).map(|d| d.label.clone()).unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
            .draw()?;
        let points: Vec<(f64, f64)> = days
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.self_service.map(|r| (i as f64 + 0.5, r)))
            .collect();
        chart.draw_series(LineSeries::new(points.clone(), GREEN.stroke_width(2)))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, GREEN.filled())))?;
        root.present()?;
        Ok(())
    })();
    finish(svg, result)
}

/// Horizontal stacked bars, one row per item (numbered from 1); each row's
/// values are drawn in `colours` order.
pub fn stacked_rows(rows: &[Vec<usize>], colours: &[&str]) -> String {
    let mut svg = String::new();
    let height = 40 + 24 * rows.len().max(1) as u32;
    let result = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = rows.len().max(1) as f64;
        let top = rows
            .iter()
            .map(|r| r.iter().sum::<usize>())
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(24)
            .y_label_area_size(30)
            .build_cartesian_2d(0f64..top, 0f64..n)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows.len().min(20))
            .y_label_formatter(&|y| {
                let i = y.floor() as usize;
                if (y - y.floor()).abs() < f64::EPSILON && i < rows.len() {
                    format!("{}", rows.len() - i)
                } else {
                    String::new()
                }
            })
            .x_labels((top as usize).clamp(2, 10))
            .x_label_formatter(&whole_count)
            .draw()?;
        for (i, row) in rows.iter().enumerate() {
            // Row 1 at the top.
            let y = (rows.len() - 1 - i) as f64;
            let mut x = 0.0;
            for (k, v) in row.iter().enumerate() {
                let colour = parse_hex(colours.get(k).copied().unwrap_or("#999999"));
                let w = *v as f64;
                if w > 0.0 {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(x, y + 0.15), (x + w, y + 0.85)],
                        colour.filled(),
                    )))?;
                }
                x += w;
            }
        }
        root.present()?;
        Ok(())
    })();
    finish(svg, result)
}

pub const UNANSWERED_COLOUR: &str = "#1f6feb";

fn parse_hex(s: &str) -> RGBColor {
    let v = u32::from_str_radix(s.trim_start_matches('#'), 16).unwrap_or(0x999999);
    RGBColor((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

fn finish(svg: String, result: Result<(), Box<dyn std::error::Error + '_>>) -> String {
    match result {
        Ok(()) => svg,
        Err(e) => {
            tracing::warn!(error = %e, "drawing a chart failed");
            String::new()
        }
    }
}

/// An axis label for a count: the value on whole numbers, nothing
/// between them.
fn whole_count(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_one_bar_per_value() {
        let days = vec![
            Day {
                label: "01-01".into(),
                questions: 4,
                answered: 3,
                escalated: 1,
                self_service: Some(0.5),
            },
            Day {
                label: "01-02".into(),
                questions: 2,
                answered: 0,
                escalated: 0,
                self_service: None,
            },
        ];
        let svg = per_day(&days);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("01-01"));
        assert!(self_service(&days).contains("<polyline") || self_service(&days).contains("<path"));
        let rows = stacked_rows(
            &[vec![1, 2, 0, 0], vec![3, 0, 0, 1]],
            &["#2b8a3e", "#e67e22", "#7b4fc9", "#999999"],
        );
        assert_eq!(
            rows.matches("fill=\"#2B8A3E\"").count() + rows.matches("fill=\"#2b8a3e\"").count(),
            2,
            "{rows}"
        );
    }
}
