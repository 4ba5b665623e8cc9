//! Fixed-point decimals for `decimal` fields: parsed exactly, never through
//! floating point.

use std::fmt;

/// Largest `scale` a decimal field may declare.
pub(crate) const MAX_SCALE: u8 = 18;

/// Why a decimal string was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecimalError {
    #[error("is not a decimal number such as \"36.5\"")]
    Syntax,
    #[error("has more than {0} digits after the decimal point")]
    TooPrecise(u8),
    #[error("is too large")]
    Overflow,
}

/// A decimal as an integer count of `10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decimal {
    scaled: i128,
    scale: u8,
}

impl Decimal {
    /// Parses `[-]digits[.digits]` with at most `scale` fraction digits.
    pub(crate) fn parse(text: &str, scale: u8) -> Result<Self, DecimalError> {
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || digits.ends_with('.')
        {
            return Err(DecimalError::Syntax);
        }
        if fraction.len() > usize::from(scale) {
            return Err(DecimalError::TooPrecise(scale));
        }
        let mut scaled: i128 = 0;
        let padding = usize::from(scale) - fraction.len();
        for b in whole
            .bytes()
            .chain(fraction.bytes())
            .chain(std::iter::repeat_n(b'0', padding))
        {
            scaled = scaled
                .checked_mul(10)
                .and_then(|v| v.checked_add(i128::from(b - b'0')))
                .filter(|v| *v <= 10i128.pow(36))
                .ok_or(DecimalError::Overflow)?;
        }
        Ok(Self {
            scaled: if negative { -scaled } else { scaled },
            scale,
        })
    }

    /// The decimal `scaled * 10^-scale`.
    pub(crate) fn from_scaled(scaled: i128, scale: u8) -> Self {
        Self { scaled, scale }
    }

    /// The value in units of `10^-scale`.
    pub(crate) fn scaled(self) -> i128 {
        self.scaled
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = 10i128.pow(u32::from(self.scale));
        let sign = if self.scaled < 0 { "-" } else { "" };
        let abs = self.scaled.unsigned_abs();
        let unit = unit.unsigned_abs();
        if self.scale == 0 {
            write!(f, "{sign}{abs}")
        } else {
            write!(
                f,
                "{sign}{}.{:0width$}",
                abs / unit,
                abs % unit,
                width = usize::from(self.scale)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_exactly() {
        let d = Decimal::parse("36.5", 2).unwrap();
        assert_eq!(d.scaled(), 3650);
        assert_eq!(d.to_string(), "36.50");
        assert_eq!(Decimal::parse("-0.05", 2).unwrap().to_string(), "-0.05");
        assert_eq!(Decimal::parse("7", 0).unwrap().to_string(), "7");
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "", "-", ".5", "5.", "1e3", "+1", "1.2.3", " 1", "0x10", "１",
        ] {
            assert_eq!(Decimal::parse(bad, 2), Err(DecimalError::Syntax), "{bad:?}");
        }
        assert_eq!(Decimal::parse("1.234", 2), Err(DecimalError::TooPrecise(2)));
        assert_eq!(
            Decimal::parse(&"9".repeat(40), 0),
            Err(DecimalError::Overflow)
        );
    }
}
