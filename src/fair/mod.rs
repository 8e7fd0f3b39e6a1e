//! Provably fair outcomes, exactly as in the public schemes (see the README's fairness section): anyone can
//! recompute a result from published data with any third-party verifier.

pub mod crash;
pub mod dice;
pub mod mines;
pub mod plinko;
pub mod seeds;

/// A non-negative JSON number with at most two decimals, in hundredths (`2.5` is 250), as players write
/// multipliers and percentages. Exponents that denote such a value are fine; anything else is `None`.
pub fn parse_hundredths(number: &serde_json::Number) -> Option<u32> {
    let text = number.to_string();
    if text.contains(['e', 'E', '-']) {
        return None;
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() || fraction.len() > 2 || whole.len() > 9 {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let fraction: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<2}").parse().ok()?
    };
    whole.checked_mul(100)?.checked_add(fraction)
}
