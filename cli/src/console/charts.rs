//! The overview's charts, drawn here as SVG: no script, no library in the
//! page. Colours are attributes, never `style` (the CSP allows no inline
//! styles); the SVG scales to the width it is given.

use super::html::text;
use std::fmt::Write;

/// Series colours, in the order providers are listed (the legend's `p0`...).
pub const COLOURS: [&str; 5] = ["#1d5fd1", "#e07b00", "#2e9d57", "#9b3fc2", "#7a8594"];

/// Stacked bars: one bar per day (`days`, `yyyy-mm-dd`), one segment per
/// series (name, a count per day).
pub fn stacked_bars(days: &[String], series: &[(String, Vec<i64>)]) -> String {
    let (width, height, left, bottom, top) = (720.0, 220.0, 36.0, 22.0, 8.0);
    let plot_w = width - left - 6.0;
    let plot_h = height - bottom - top;
    let totals: Vec<i64> = (0..days.len())
        .map(|d| {
            series
                .iter()
                .map(|(_, v)| v.get(d).copied().unwrap_or(0).max(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let step = plot_w / days.len().max(1) as f64;
    let bar = (step * 0.75).max(1.0);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Calls per day by provider\" id=\"calls-chart\">"
    );
    // Gridlines at 0, half and the maximum.
    for (frac, label) in [(0.0, 0), (0.5, max / 2), (1.0, max)] {
        let y = top + plot_h * (1.0 - frac);
        let _ = write!(
            out,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e3e6ea\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>",
            width - 6.0,
            left - 4.0,
            y + 4.0
        );
    }
    for (d, day) in days.iter().enumerate() {
        let x = left + step * d as f64 + (step - bar) / 2.0;
        let mut y = top + plot_h;
        for (s, (name, values)) in series.iter().enumerate() {
            let v = values.get(d).copied().unwrap_or(0).max(0);
            if v == 0 {
                continue;
            }
            let h = plot_h * v as f64 / max as f64;
            y -= h;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{} {}: {v}</title></rect>",
                COLOURS[s % COLOURS.len()],
                text(day),
                text(name)
            );
        }
        // A date label every few bars, so they never overlap.
        let every = (days.len() / 8).max(1);
        if d % every == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + bar / 2.0,
                height - 6.0,
                text(day.get(5..).unwrap_or(day))
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// The week-by-hour heat map: `grid[weekday][hour]` (Monday first), darker
/// for more missed calls.
pub fn heat_map(grid: &[[i64; 24]; 7]) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let (cell, left, top) = (26.0, 34.0, 16.0);
    let width = left + cell * 24.0 + 4.0;
    let height = top + cell * 7.0 + 4.0;
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Missed calls by weekday and hour\" id=\"missed-heat-map\">"
    );
    for hour in (0..24).step_by(3) {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"11\" text-anchor=\"middle\">{hour:02}</text>",
            left + cell * hour as f64 + cell / 2.0
        );
    }
    for (d, row) in grid.iter().enumerate() {
        let y = top + cell * d as f64;
        let _ = write!(
            out,
            "<text x=\"2\" y=\"{:.1}\">{}</text>",
            y + cell * 0.65,
            DAYS[d]
        );
        for (hour, &count) in row.iter().enumerate() {
            let x = left + cell * hour as f64;
            let strength = count.max(0) as f64 / max as f64;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{} {hour:02}:00 {count} missed</title></rect>",
                cell - 2.0,
                cell - 2.0,
                shade(strength),
                DAYS[d]
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// From a pale grey (none) to a deep red (the most).
fn shade(strength: f64) -> String {
    if strength <= 0.0 {
        return "#eef1f5".into();
    }
    let mix = |from: f64, to: f64| (from + (to - from) * strength.clamp(0.0, 1.0)).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(253.0, 153.0),
        mix(219.0, 27.0),
        mix(199.0, 30.0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_stack_per_day_and_names_are_escaped() {
        let days = vec!["2026-12-06".to_string(), "2026-12-07".to_string()];
        let svg = stacked_bars(
            &days,
            &[("zonitel".into(), vec![2, 0]), ("<b>".into(), vec![2, 1])],
        );
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("&lt;b&gt;"));
        assert!(!svg.contains("style="));
    }

    #[test]
    fn the_heat_map_has_a_cell_per_hour_of_the_week() {
        let mut grid = [[0; 24]; 7];
        grid[0][9] = 4;
        let svg = heat_map(&grid);
        assert_eq!(svg.matches("<rect").count(), 7 * 24);
        assert!(svg.contains("Mon 09:00 4 missed"));
        assert!(svg.contains("#991b1e"));
    }
}
