//! The revenue chart: an inline SVG bar per EAT day, scaled to a round maximum, coloured by the
//! stylesheet (so it follows dark mode) and with each day's figure as a tooltip.
//! Touches: nothing (pure rendering).

use crate::clock::eat_date;
use crate::html::Html;
use crate::units::Kes;

const W: u32 = 760;
const H: u32 = 220;
const LEFT: u32 = 64;
const BOTTOM: u32 = 24;
const TOP: u32 = 10;

/// The smallest of 1, 2, 2.5, 5 × 10^k at or above `n` (at least 10).
fn round_up(n: u32) -> u32 {
    let mut scale = 1u64;
    loop {
        for step in [10u64, 20, 25, 50] {
            if step * scale >= u64::from(n) {
                return u32::try_from(step * scale).unwrap_or(u32::MAX);
            }
        }
        scale *= 10;
    }
}

/// Bars for `days` (EAT day, money), oldest first.
pub fn revenue(days: &[(i64, Kes)]) -> Html {
    let top = round_up(days.iter().map(|(_, k)| k.0).max().unwrap_or(0));
    let plot_w = W - LEFT - 8;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w as f64 / days.len().max(1) as f64;
    let mut s = html!(
        "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"Revenue per day, last {} days\">",
        W,
        H,
        days.len()
    );
    for i in 0..=2u32 {
        let y = TOP + plot_h - plot_h * i / 2;
        let v = (u64::from(top) * u64::from(i) / 2) as u32;
        s += html!(
            "<line class=\"axis\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LEFT,
            y,
            W - 8,
            y,
            LEFT - 6,
            y + 4,
            short(v)
        );
    }
    let last = days.len().saturating_sub(1);
    for (i, (day, k)) in days.iter().enumerate() {
        let h = (f64::from(k.0) / f64::from(top) * f64::from(plot_h)).round();
        let x = f64::from(LEFT) + slot * i as f64 + slot * 0.15;
        let date = eat_date(*day);
        s += html!(
            "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}: KES {}</title></rect>",
            tenths(x),
            tenths(f64::from(TOP + plot_h) - h),
            tenths(slot * 0.7),
            tenths(h),
            date,
            k.0
        );
        if i % 7 == last % 7 {
            s += html!(
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                tenths(x + slot * 0.35),
                H - 6,
                &date[5..]
            );
        }
    }
    s + html!("</svg>")
}

/// A coordinate to one decimal: `108.0`.
fn tenths(v: f64) -> String {
    format!("{v:.1}")
}

/// Axis figures: `950`, `1.5k`, `20k`.
fn short(v: u32) -> String {
    match v {
        v if v < 1000 => v.to_string(),
        v if v % 1000 == 0 => format!("{}k", v / 1000),
        v => format!("{:.1}k", f64::from(v) / 1000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_is_a_round_number() {
        assert_eq!(round_up(0), 10);
        assert_eq!(round_up(70), 100);
        assert_eq!(round_up(120), 200);
        assert_eq!(round_up(2100), 2500);
        assert_eq!(round_up(2600), 5000);
        assert_eq!(round_up(u32::MAX), u32::MAX);
        assert_eq!(short(2500), "2.5k");
        assert_eq!(short(20000), "20k");
    }

    #[test]
    fn one_bar_per_day_scaled_to_the_maximum() {
        let days: Vec<(i64, Kes)> = (0..30).map(|d| (20_000 + d, Kes(d as u32 * 10))).collect();
        let svg = revenue(&days).into_string();
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 30);
        // The largest day (290) on a 500 scale: 58 % of the 186 px plot, rounded to a pixel.
        assert!(svg.contains("height=\"108.0\""), "{svg}");
        assert!(svg.contains(&format!("<title>{}: KES 290</title>", eat_date(20_029))));
        assert!(svg.contains(">500</text>"));
        // Dates under every 7th bar, ending with today.
        assert_eq!(svg.matches("text-anchor=\"middle\"").count(), 5);
    }

    #[test]
    fn an_empty_month_draws_flat() {
        let days: Vec<(i64, Kes)> = (0..30).map(|d| (20_000 + d, Kes(0))).collect();
        let svg = revenue(&days).into_string();
        assert_eq!(svg.matches("height=\"0.0\"").count(), 30);
    }
}
