//! The PAR sheet of a simulation: its figures as JSON, as text for the terminal and as an HTML page
//! with inline SVG charts (no script, no outside host).

use super::stats::{half_width, interval, mean_sd, one_in, Stats, BUCKETS, BUCKET_LABELS, Z_95, Z_99};
use super::Outcome;
use crate::games::slots::analysis::analyse_base;
use crate::games::slots::{Definition, Mode};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The percentiles a PAR sheet lists.
pub const PERCENTILES: [f64; 7] = [0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParSheet {
    pub game: String,
    pub name: String,
    pub math_version: String,
    pub mode: String,
    /// The mode's price in base bets.
    pub cost: u32,
    pub rounds: u64,
    pub threads: u32,
    pub seed: u64,
    /// Total win over total cost.
    pub rtp: f64,
    pub rtp_ci95: [f64; 2],
    pub rtp_ci99: [f64; 2],
    pub rtp_split: RtpSplit,
    /// The base game's exact figures (`analysis`), for a mode that plays the base game and a base game
    /// without wild multipliers: compare `rtp_split.first_board` with `first_board_rtp`.
    pub exact: Option<ExactFigures>,
    /// Share of rounds with a non-zero win.
    pub hit_frequency: f64,
    pub hit_one_in: Option<f64>,
    /// Standard deviation of the round's win, in multiples of the mode's cost (= bet multiples for a
    /// mode of cost 1).
    pub volatility: f64,
    /// `z99 * sd(sd) / sqrt(N)`-style half width of the volatility, from the win's fourth moment.
    pub volatility_ci99_half_width: f64,
    pub features: Vec<FeatureLine>,
    pub win_distribution: Vec<BucketLine>,
    /// Round win at each percentile, in bet multiples.
    pub percentiles: Vec<PercentileLine>,
    /// Set when the histogram had to round large values: percentiles at or above it (in bet multiples)
    /// are approximate (relative error below 0.1%).
    pub percentiles_approximate_from_bets: Option<f64>,
    pub max_win_bets: f64,
    pub max_win_rounds: u64,
    pub max_win_one_in: Option<f64>,
    pub win_cap_bets: f64,
    pub seconds: f64,
    pub rounds_per_second: f64,
}

/// The return split by where it was won, each over the total cost; `cap_clipped` is the (negative)
/// part the win cap took off base and free-spin wins. base_game + free_spins + cap_clipped = rtp.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RtpSplit {
    pub base_game: f64,
    /// The base spin's first board (lines or ways only): part of `base_game`.
    pub first_board: f64,
    pub first_board_ci99: [f64; 2],
    pub free_spins: f64,
    pub cap_clipped: f64,
}

/// Exact figures of the base game's spun board, per unit of the mode's cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExactFigures {
    pub first_board_rtp: f64,
    /// Probability that the spun board triggers free spins (the round's trigger probability when the game
    /// has no cascades).
    pub trigger_probability: f64,
    /// Expected scatter pay of the spun board over the cost.
    pub scatter_pay_rtp: f64,
}

impl ExactFigures {
    fn new(definition: &Definition, mode: &Mode) -> Option<ExactFigures> {
        if mode.is_bonus_buy() {
            return None;
        }
        let exact = analyse_base(definition).ok()?;
        let price = 100.0 * f64::from(mode.cost());
        Some(ExactFigures {
            first_board_rtp: exact.first_board_centibet / price,
            trigger_probability: exact.trigger_probability,
            scatter_pay_rtp: exact.scatter_pay_centibet / price,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureLine {
    pub feature: String,
    pub rounds: u64,
    pub one_in: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketLine {
    /// In bet multiples.
    pub bucket: String,
    pub rounds: u64,
    pub share: f64,
    /// The bucket's part of the RTP.
    pub rtp: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PercentileLine {
    pub percentile: f64,
    pub win_bets: Option<f64>,
}

/// Centi-bet to bet multiples (exact for the values a round wins: at most 2^53 centi-bet).
fn bets(centibet: u64) -> f64 {
    centibet as f64 / 100.0
}

impl ParSheet {
    pub fn new(definition: &Definition, mode: &Mode, outcome: &Outcome) -> ParSheet {
        let stats = &outcome.stats;
        let n = stats.rounds;
        // Everything per round is in centi-bet; one round costs 100 * cost of them.
        let price = 100.0 * f64::from(mode.cost());
        let cost_total = n as f64 * price;
        let share = |sum: u128| if n == 0 { 0.0 } else { sum as f64 / cost_total };
        let (mean, sd) = mean_sd(n, stats.win_centibet, stats.win_squares);
        let (rtp, sd_rtp) = (mean / price, sd / price);
        let (first_mean, first_sd) = mean_sd(n, stats.first_board_win_centibet, stats.first_board_squares);
        let base_game = share(stats.base_win_centibet);
        let free_spins = share(stats.free_spins_win_centibet);
        let seconds = outcome.elapsed.as_secs_f64();
        ParSheet {
            game: definition.id().to_string(),
            name: definition.name().to_string(),
            math_version: definition.math_version().to_string(),
            mode: mode.name().to_string(),
            cost: mode.cost(),
            rounds: n,
            threads: outcome.plan.threads,
            seed: outcome.plan.seed,
            rtp,
            rtp_ci95: interval(rtp, sd_rtp, n, Z_95),
            rtp_ci99: interval(rtp, sd_rtp, n, Z_99),
            rtp_split: RtpSplit {
                base_game,
                first_board: first_mean / price,
                first_board_ci99: interval(first_mean / price, first_sd / price, n, Z_99),
                free_spins,
                cap_clipped: rtp - base_game - free_spins,
            },
            exact: ExactFigures::new(definition, mode),
            hit_frequency: ratio(stats.hits, n),
            hit_one_in: one_in(n, stats.hits),
            volatility: sd_rtp,
            volatility_ci99_half_width: volatility_half_width(stats, sd / 100.0) / f64::from(mode.cost()),
            features: features(stats),
            win_distribution: distribution(stats, cost_total),
            percentiles: PERCENTILES
                .iter()
                .map(|q| PercentileLine {
                    percentile: *q,
                    win_bets: stats.histogram.quantile(*q).map(bets),
                })
                .collect(),
            percentiles_approximate_from_bets: stats.histogram.coarse_from_centibet.map(bets),
            max_win_bets: bets(stats.max_win_centibet),
            max_win_rounds: stats.max_win_count,
            max_win_one_in: one_in(n, stats.max_win_count),
            win_cap_bets: bets(definition.win_cap_centibet()),
            seconds,
            rounds_per_second: if seconds > 0.0 { n as f64 / seconds } else { 0.0 },
        }
    }
}

fn ratio(count: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        count as f64 / n as f64
    }
}

/// The 99% half width of the sample sd: by the delta method, Var(s^2) ≈ (m4 - s^4) / N, so
/// sd(s) ≈ sqrt((m4 - s^4) / N) / (2 s). In bet multiples.
fn volatility_half_width(stats: &Stats, sd_bets: f64) -> f64 {
    let n = stats.rounds;
    if n == 0 || sd_bets == 0.0 {
        return 0.0;
    }
    // The raw fourth moment bounds the central one from above: a conservative (wider) tolerance.
    let m4 = stats.win_fourth_bets / n as f64;
    let variance_of_variance = (m4 - sd_bets.powi(4)).max(0.0);
    half_width(variance_of_variance.sqrt() / (2.0 * sd_bets), n, Z_99)
}

fn features(stats: &Stats) -> Vec<FeatureLine> {
    let n = stats.rounds;
    let line = |feature: String, rounds| FeatureLine {
        feature,
        rounds,
        one_in: one_in(n, rounds),
    };
    let mut lines = vec![line("free_spins".to_string(), stats.free_spins_rounds)];
    for (scatters, count) in &stats.triggers_by_scatters {
        lines.push(line(format!("free_spins_{scatters}_scatters"), *count));
    }
    lines.push(line("retrigger".to_string(), stats.rounds_with_retrigger));
    lines.push(line("win_cap".to_string(), stats.cap_hits));
    lines
}

fn distribution(stats: &Stats, cost_total: f64) -> Vec<BucketLine> {
    (0..BUCKETS)
        .map(|bucket| BucketLine {
            bucket: BUCKET_LABELS[bucket].to_string(),
            rounds: stats.buckets[bucket],
            share: ratio(stats.buckets[bucket], stats.rounds),
            rtp: if cost_total > 0.0 {
                stats.bucket_wins_centibet[bucket] as f64 / cost_total
            } else {
                0.0
            },
        })
        .collect()
}

/// `1 in N` as text.
fn one_in_text(value: Option<f64>) -> String {
    value.map_or_else(|| "never".to_string(), |n| format!("1 in {n:.1}"))
}

/// The sheet for a terminal.
pub fn text(sheet: &ParSheet) -> String {
    let mut out = String::new();
    let pct = |value: f64| format!("{:.4}%", 100.0 * value);
    let _ = writeln!(
        out,
        "game {} ({}), mode {} (cost {}x)",
        sheet.game, sheet.name, sheet.mode, sheet.cost
    );
    let _ = writeln!(out, "math version {}", sheet.math_version);
    let _ = writeln!(
        out,
        "rounds {} seed {} threads {}",
        sheet.rounds, sheet.seed, sheet.threads
    );
    let _ = writeln!(
        out,
        "RTP {}  95% [{}, {}]  99% [{}, {}]",
        pct(sheet.rtp),
        pct(sheet.rtp_ci95[0]),
        pct(sheet.rtp_ci95[1]),
        pct(sheet.rtp_ci99[0]),
        pct(sheet.rtp_ci99[1])
    );
    let split = &sheet.rtp_split;
    let _ = writeln!(
        out,
        "  base game {} (first board {}, 99% [{}, {}])  free spins {}  cap clipped {}",
        pct(split.base_game),
        pct(split.first_board),
        pct(split.first_board_ci99[0]),
        pct(split.first_board_ci99[1]),
        pct(split.free_spins),
        pct(split.cap_clipped)
    );
    if let Some(exact) = &sheet.exact {
        let _ = writeln!(
            out,
            "  exact: first board {}, trigger 1 in {:.1}, scatter pay {}",
            pct(exact.first_board_rtp),
            1.0 / exact.trigger_probability,
            pct(exact.scatter_pay_rtp)
        );
    }
    let _ = writeln!(
        out,
        "hit frequency {} ({})  volatility {:.3} ± {:.3}",
        pct(sheet.hit_frequency),
        one_in_text(sheet.hit_one_in),
        sheet.volatility,
        sheet.volatility_ci99_half_width
    );
    for feature in &sheet.features {
        let _ = writeln!(
            out,
            "  {:<24} {:>12} rounds  {}",
            feature.feature,
            feature.rounds,
            one_in_text(feature.one_in)
        );
    }
    let _ = writeln!(out, "win distribution (bet multiples):");
    for line in &sheet.win_distribution {
        let _ = writeln!(
            out,
            "  {:<12} {:>12} rounds  {:>10}  rtp {}",
            line.bucket,
            line.rounds,
            pct(line.share),
            pct(line.rtp)
        );
    }
    let percentiles: Vec<String> = sheet
        .percentiles
        .iter()
        .map(|line| {
            format!(
                "p{}={}",
                100.0 * line.percentile,
                line.win_bets.map_or("-".into(), |win| format!("{win}x"))
            )
        })
        .collect();
    let _ = writeln!(out, "percentiles {}", percentiles.join(" "));
    let _ = writeln!(
        out,
        "max win {}x ({} rounds, {}), cap {}x",
        sheet.max_win_bets,
        sheet.max_win_rounds,
        one_in_text(sheet.max_win_one_in),
        sheet.win_cap_bets
    );
    let _ = writeln!(out, "{:.2} s, {:.0} rounds/s", sheet.seconds, sheet.rounds_per_second);
    out
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The sheet as a self-contained HTML page: a table of figures, the win distribution as bars on a log
/// scale of rounds, and the RTP split as one stacked bar.
pub fn html(sheet: &ParSheet) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>PAR sheet {game} {mode}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}</style></head><body>\
         <h1>{name} ({game}), mode {mode}</h1>",
        game = escape(&sheet.game),
        mode = escape(&sheet.mode),
        name = escape(&sheet.name)
    );
    let rows = [
        ("math version", sheet.math_version.clone()),
        (
            "rounds / seed / threads",
            format!("{} / {} / {}", sheet.rounds, sheet.seed, sheet.threads),
        ),
        ("RTP", format!("{:.4}%", 100.0 * sheet.rtp)),
        (
            "RTP 99% interval",
            format!("[{:.4}%, {:.4}%]", 100.0 * sheet.rtp_ci99[0], 100.0 * sheet.rtp_ci99[1]),
        ),
        (
            "hit frequency",
            format!(
                "{:.4}% ({})",
                100.0 * sheet.hit_frequency,
                one_in_text(sheet.hit_one_in)
            ),
        ),
        ("volatility", format!("{:.3}", sheet.volatility)),
        (
            "max win",
            format!("{}x ({} rounds)", sheet.max_win_bets, sheet.max_win_rounds),
        ),
    ];
    page.push_str("<table>");
    for (label, value) in rows {
        let _ = write!(page, "<tr><th>{}</th><td>{}</td></tr>", label, escape(&value));
    }
    for feature in &sheet.features {
        let _ = write!(
            page,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(&feature.feature),
            one_in_text(feature.one_in)
        );
    }
    page.push_str("</table><h2>Win distribution (rounds, log scale)</h2>");
    page.push_str(&distribution_svg(sheet));
    page.push_str("<h2>RTP split</h2>");
    page.push_str(&split_svg(sheet));
    page.push_str("</body></html>\n");
    page
}

/// Chart sizes, in SVG user units (pixels).
const CHART_WIDTH_PX: f64 = 720.0;
const BAR_HEIGHT_PX: f64 = 18.0;
const LABEL_WIDTH_PX: f64 = 110.0;

fn distribution_svg(sheet: &ParSheet) -> String {
    let most = sheet
        .win_distribution
        .iter()
        .map(|line| line.rounds)
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = (most as f64 + 1.0).log10();
    let height = BAR_HEIGHT_PX * sheet.win_distribution.len() as f64 + 4.0;
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{CHART_WIDTH_PX}\" height=\"{height}\">");
    let room = CHART_WIDTH_PX - LABEL_WIDTH_PX - 160.0;
    for (index, line) in sheet.win_distribution.iter().enumerate() {
        let y = BAR_HEIGHT_PX * index as f64;
        let width = room * (line.rounds as f64 + 1.0).log10() / scale;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{ty}\" font-size=\"12\">{label}</text>\
             <rect x=\"{LABEL_WIDTH_PX}\" y=\"{y}\" width=\"{width:.1}\" height=\"{bar}\" fill=\"#4a7fb5\"/>\
             <text x=\"{tx:.1}\" y=\"{ty}\" font-size=\"12\">{rounds} ({share:.4}%)</text>",
            ty = y + 13.0,
            label = escape(&line.bucket),
            bar = BAR_HEIGHT_PX - 3.0,
            tx = LABEL_WIDTH_PX + width + 4.0,
            rounds = line.rounds,
            share = 100.0 * line.share
        );
    }
    svg.push_str("</svg>");
    svg
}

fn split_svg(sheet: &ParSheet) -> String {
    let split = &sheet.rtp_split;
    let parts = [
        ("first board", split.first_board, "#4a7fb5"),
        ("rest of base game", split.base_game - split.first_board, "#8fb3d9"),
        ("free spins", split.free_spins, "#d9893b"),
    ];
    let total: f64 = parts
        .iter()
        .map(|(_, value, _)| value.max(0.0))
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{CHART_WIDTH_PX}\" height=\"70\">");
    let mut x = 0.0;
    for (index, (label, value, colour)) in parts.iter().enumerate() {
        let width = CHART_WIDTH_PX * value.max(0.0) / total;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"0\" width=\"{width:.1}\" height=\"24\" fill=\"{colour}\"/>\
             <rect x=\"{lx}\" y=\"34\" width=\"10\" height=\"10\" fill=\"{colour}\"/>\
             <text x=\"{tx}\" y=\"44\" font-size=\"12\">{label} {pct:.3}%</text>",
            lx = 220.0 * index as f64,
            tx = 220.0 * index as f64 + 14.0,
            pct = 100.0 * value
        );
        x += width;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::super::{simulate, Plan};
    use super::*;
    use crate::games::slots::testkit::lines_game;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn a_sheet_adds_up_and_renders_without_outside_resources() {
        // The split sums to the RTP, the buckets to all rounds, and the page has no script or remote URL.
        let definition = lines_game();
        let mode = definition.mode("base").unwrap();
        let plan = Plan {
            rounds: 5_000,
            threads: 2,
            seed: 3,
        };
        let outcome = simulate(&definition, mode, plan, &AtomicU64::new(0));
        let sheet = ParSheet::new(&definition, mode, &outcome);
        let split = &sheet.rtp_split;
        assert!((split.base_game + split.free_spins + split.cap_clipped - sheet.rtp).abs() < 1e-12);
        assert_eq!(
            sheet.win_distribution.iter().map(|line| line.rounds).sum::<u64>(),
            5_000
        );
        let bucket_rtp: f64 = sheet.win_distribution.iter().map(|line| line.rtp).sum();
        assert!((bucket_rtp - sheet.rtp).abs() < 1e-9);
        assert!(sheet.rtp_ci99[0] < sheet.rtp_ci95[0] && sheet.rtp_ci95[0] < sheet.rtp);
        let page = html(&sheet);
        assert!(page.contains("<svg") && !page.contains("<script") && !page.contains("http://example"));
        assert!(!page.contains("src=\"http"));
        assert!(text(&sheet).contains("RTP"));
    }
}
