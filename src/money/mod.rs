//! Money in integer micro-units. Floats never touch an amount or a balance: JSON carries integers,
//! arithmetic is checked, and an overflow is an error rather than a wrap.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How many micro-units make one whole unit of a currency (1 unit = 1,000,000 micro-units).
pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// The largest amount a single transfer may move: one billion units. It keeps every sum of a
/// realistic batch far away from `i64::MAX` and rejects absurd inputs at the edge.
pub const AMOUNT_MAX_MICROS: i64 = 1_000_000_000 * MICROS_PER_UNIT;

/// Why a raw number is not a valid amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount must be a whole number of micro-units (1 unit = 1,000,000)")]
    NotAnInteger,
    #[error("amount must be greater than zero")]
    NotPositive,
    #[error("amount must not exceed {AMOUNT_MAX_MICROS} micro-units")]
    TooLarge,
}

/// A strictly positive amount of money to move, in micro-units, bounded by `AMOUNT_MAX_MICROS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Amount(i64);

impl Amount {
    /// Parses a raw micro-unit count; the only way to build an `Amount`.
    pub fn parse(micros: i64) -> Result<Amount, AmountError> {
        if micros <= 0 {
            return Err(AmountError::NotPositive);
        }
        if micros > AMOUNT_MAX_MICROS {
            return Err(AmountError::TooLarge);
        }
        Ok(Amount(micros))
    }

    /// Parses a JSON number as it arrived on the wire, refusing fractions and exponents that do not
    /// denote an integer, so that `1.5` is an `invalid_amount` rather than a silent truncation.
    pub fn parse_json(number: &serde_json::Number) -> Result<Amount, AmountError> {
        if let Some(value) = number.as_i64() {
            return Amount::parse(value);
        }
        if number.as_u64().is_some() {
            return Err(AmountError::TooLarge);
        }
        Err(AmountError::NotAnInteger)
    }

    pub fn micros(self) -> i64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = serde_json::Number::deserialize(deserializer)?;
        Amount::parse_json(&number).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Units(self.0))
    }
}

/// Why a balance could not be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BalanceError {
    #[error("balance arithmetic overflowed")]
    Overflow,
}

/// A signed account balance in micro-units. Player balances are never negative (the database
/// enforces it); house and treasury balances may be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Balance(i64);

impl Balance {
    pub const ZERO: Balance = Balance(0);

    pub fn from_micros(micros: i64) -> Balance {
        Balance(micros)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    pub fn checked_credit(self, amount: Amount) -> Result<Balance, BalanceError> {
        self.0.checked_add(amount.0).map(Balance).ok_or(BalanceError::Overflow)
    }

    pub fn checked_debit(self, amount: Amount) -> Result<Balance, BalanceError> {
        self.0.checked_sub(amount.0).map(Balance).ok_or(BalanceError::Overflow)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl fmt::Display for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Units(self.0))
    }
}

/// Formats micro-units as a decimal number of units, for logs and messages only.
struct Units(i64);

impl fmt::Display for Units {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        let per_unit = MICROS_PER_UNIT.unsigned_abs();
        write!(f, "{sign}{}.{:06}", magnitude / per_unit, magnitude % per_unit)
    }
}

/// Why a currency code is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("currency must be 3 to 8 upper-case ASCII letters, got {0:?}")]
pub struct CurrencyError(String);

/// An upper-case currency code such as `USD`; every account holds exactly one currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    pub fn parse(code: &str) -> Result<Currency, CurrencyError> {
        let valid_length = (3..=8).contains(&code.len());
        if valid_length && code.bytes().all(|byte| byte.is_ascii_uppercase()) {
            Ok(Currency(code.to_owned()))
        } else {
            Err(CurrencyError(code.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amount_rejects_zero_negative_and_huge_values() {
        assert_eq!(Amount::parse(0), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse(-1), Err(AmountError::NotPositive));
        assert_eq!(Amount::parse(AMOUNT_MAX_MICROS + 1), Err(AmountError::TooLarge));
        assert_eq!(
            Amount::parse(AMOUNT_MAX_MICROS).map(Amount::micros),
            Ok(AMOUNT_MAX_MICROS)
        );
    }

    #[test]
    fn json_amounts_must_be_integers() {
        let parse = |text: &str| Amount::parse_json(&serde_json::from_str(text).unwrap());
        assert_eq!(parse("1500000").map(Amount::micros), Ok(1_500_000));
        assert_eq!(parse("1.5"), Err(AmountError::NotAnInteger));
        assert_eq!(parse("1e3"), Err(AmountError::NotAnInteger));
        assert_eq!(parse("18446744073709551615"), Err(AmountError::TooLarge));
        assert_eq!(parse("-5"), Err(AmountError::NotPositive));
        assert!(serde_json::from_str::<Amount>("\"10\"").is_err());
    }

    #[test]
    fn balances_display_as_decimal_units() {
        assert_eq!(Balance::from_micros(1_500_000).to_string(), "1.500000");
        assert_eq!(Balance::from_micros(-7).to_string(), "-0.000007");
        assert_eq!(Balance::from_micros(i64::MIN).to_string(), "-9223372036854.775808");
    }

    #[test]
    fn currency_codes_are_upper_case_letters() {
        assert!(Currency::parse("USD").is_ok());
        assert!(Currency::parse("usd").is_err());
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("USD1").is_err());
    }

    proptest! {
        /// Checked arithmetic either agrees with wide (i128) arithmetic or reports an overflow;
        /// it never wraps.
        #[test]
        fn balance_arithmetic_never_wraps(start in any::<i64>(), micros in 1..=AMOUNT_MAX_MICROS) {
            let amount = Amount::parse(micros).unwrap();
            let balance = Balance::from_micros(start);
            let wide_credit = i128::from(start) + i128::from(micros);
            let wide_debit = i128::from(start) - i128::from(micros);
            match balance.checked_credit(amount) {
                Ok(after) => prop_assert_eq!(i128::from(after.micros()), wide_credit),
                Err(_) => prop_assert!(wide_credit > i128::from(i64::MAX)),
            }
            match balance.checked_debit(amount) {
                Ok(after) => prop_assert_eq!(i128::from(after.micros()), wide_debit),
                Err(_) => prop_assert!(wide_debit < i128::from(i64::MIN)),
            }
        }

        /// A credit followed by a debit of the same amount restores the balance exactly.
        #[test]
        fn credit_then_debit_is_identity(start in -AMOUNT_MAX_MICROS..AMOUNT_MAX_MICROS, micros in 1..=AMOUNT_MAX_MICROS) {
            let amount = Amount::parse(micros).unwrap();
            let balance = Balance::from_micros(start);
            let round_trip = balance.checked_credit(amount).and_then(|b| b.checked_debit(amount));
            prop_assert_eq!(round_trip, Ok(balance));
        }
    }
}
