//! UCUM units: the comparison of a Quantity's unit with the one a template
//! expects, and the few conversions ehrchain makes because they are exact in
//! decimal (`docs/fhir.md`, "Units").

use serde_json::Number;

/// The UCUM code system URI, as FHIR Quantities name it.
pub const UCUM_SYSTEM: &str = "http://unitsofmeasure.org";

/// The exact conversions: `value_in_to = value_in_from × 10^exponent +
/// offset`, the offset a decimal text. Powers of ten within the metric prefixes
/// ehrchain's templates use, and kelvin ↔ degrees Celsius (an exact offset).
/// Everything else (`mm[Hg]` ↔ `kPa`, `[degF]` ↔ `Cel`, `mg/dL` ↔ `mmol/L`) is refused:
/// those factors are not exact decimals or depend on the substance.
pub const CONVERSIONS: &[(&str, &str, i32, &str)] = &[
    ("g", "mg", 3, "0"),
    ("mg", "g", -3, "0"),
    ("mg", "ug", 3, "0"),
    ("ug", "mg", -3, "0"),
    ("kg", "g", 3, "0"),
    ("g", "kg", -3, "0"),
    ("L", "mL", 3, "0"),
    ("mL", "L", -3, "0"),
    ("dL", "mL", 2, "0"),
    ("mL", "dL", -2, "0"),
    ("mg/dL", "mg/L", 1, "0"),
    ("mg/L", "mg/dL", -1, "0"),
    ("g/dL", "g/L", 1, "0"),
    ("g/L", "g/dL", -1, "0"),
    ("m", "cm", 2, "0"),
    ("cm", "m", -2, "0"),
    ("cm", "mm", 1, "0"),
    ("mm", "cm", -1, "0"),
    ("K", "Cel", 0, "-273.15"),
    ("Cel", "K", 0, "273.15"),
];

/// Largest mantissa kept while converting (the decimal fields' own bound).
const MAX_MANTISSA: i128 = 10i128.pow(36);

/// A UCUM code with its annotations (`{beats}`) removed and a leading unity
/// (`1/min`) dropped: UCUM gives annotations no meaning, so `{beats}/min`,
/// `1/min` and `/min` are the same unit.
#[must_use]
pub fn normalise(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut depth = 0u32;
    for c in code.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    match out.strip_prefix("1/") {
        Some(rest) => format!("/{rest}"),
        None if out.is_empty() => "1".into(),
        None => out,
    }
}

/// Why a quantity's value could not be given in the expected unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UnitError {
    /// Different units, and no exact conversion between them.
    Incompatible,
    /// The number is not a plain decimal, or too large to convert exactly.
    Number,
}

/// `value`, a JSON number in unit `from`, as decimal text in unit `to`.
pub(crate) fn convert(value: &Number, from: &str, to: &str) -> Result<String, UnitError> {
    // A whole number in the same unit is its own decimal text.
    if (value.is_i64() || value.is_u64()) && (from == to || normalise(from) == normalise(to)) {
        return Ok(value.to_string());
    }
    let (from, to) = (normalise(from), normalise(to));
    let (mut m, mut s) = parse(&value.to_string()).ok_or(UnitError::Number)?;
    if from != to {
        let &(_, _, exponent, offset) = CONVERSIONS
            .iter()
            .find(|(f, t, _, _)| *f == from && *t == to)
            .ok_or(UnitError::Incompatible)?;
        (m, s) = shift(m, s, exponent).ok_or(UnitError::Number)?;
        let (om, os) = parse(offset).ok_or(UnitError::Number)?;
        (m, s) = add((m, s), (om, os)).ok_or(UnitError::Number)?;
    }
    Ok(format(m, s))
}

/// Decimal text (`-12.5`, `1e-7`, `3.2E+4`) as `mantissa / 10^scale`.
fn parse(text: &str) -> Option<(i128, u32)> {
    let (number, exponent) = match text.split_once(['e', 'E']) {
        Some((n, e)) => (n, e.trim_start_matches('+').parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (negative, digits) = match number.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, number),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut m: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        m = m.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        if m > MAX_MANTISSA {
            return None;
        }
    }
    let scale = u32::try_from(fraction.len()).ok()?;
    let (m, s) = shift(if negative { -m } else { m }, scale, exponent)?;
    Some((m, s))
}

/// `m / 10^s × 10^exponent`, keeping the scale as small as it can.
fn shift(m: i128, s: u32, exponent: i32) -> Option<(i128, u32)> {
    let e = exponent.unsigned_abs();
    if exponent >= 0 {
        if s >= e {
            Some((m, s - e))
        } else {
            let m = m.checked_mul(10i128.checked_pow(e - s)?)?;
            (m.abs() <= MAX_MANTISSA).then_some((m, 0))
        }
    } else {
        let s = s.checked_add(e)?;
        (s <= 36).then_some((m, s))
    }
}

fn add(a: (i128, u32), b: (i128, u32)) -> Option<(i128, u32)> {
    let s = a.1.max(b.1);
    let up = |(m, ms): (i128, u32)| m.checked_mul(10i128.checked_pow(s - ms)?);
    let m = up(a)?.checked_add(up(b)?)?;
    (m.abs() <= MAX_MANTISSA).then_some((m, s))
}

/// `m / 10^s` as plain decimal text without trailing fraction zeros.
fn format(m: i128, s: u32) -> String {
    let digits = m.unsigned_abs().to_string();
    let s = s as usize;
    let (whole, fraction) = if digits.len() > s {
        let (w, f) = digits.split_at(digits.len() - s);
        (w.to_owned(), f.to_owned())
    } else {
        ("0".to_owned(), format!("{digits:0>s$}"))
    };
    let fraction = fraction.trim_end_matches('0');
    let sign = if m < 0 { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Number {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn same_unit_keeps_the_value_exactly() {
        assert_eq!(convert(&number("36.6"), "Cel", "Cel").unwrap(), "36.6");
        assert_eq!(convert(&number("120"), "mm[Hg]", "mm[Hg]").unwrap(), "120");
        assert_eq!(convert(&number("44"), "{beats}/min", "/min").unwrap(), "44");
        assert_eq!(convert(&number("1e-7"), "g", "g").unwrap(), "0.0000001");
    }

    #[test]
    fn exact_conversions_are_exact() {
        assert_eq!(convert(&number("4.5"), "g", "mg").unwrap(), "4500");
        assert_eq!(convert(&number("250"), "mg", "g").unwrap(), "0.25");
        assert_eq!(convert(&number("310.15"), "K", "Cel").unwrap(), "37");
        assert_eq!(convert(&number("98.6"), "mg/dL", "mg/L").unwrap(), "986");
        assert_eq!(convert(&number("-1.5"), "Cel", "K").unwrap(), "271.65");
    }

    #[test]
    fn inexact_or_unknown_conversions_are_refused() {
        assert_eq!(
            convert(&number("16"), "kPa", "mm[Hg]"),
            Err(UnitError::Incompatible)
        );
        assert_eq!(
            convert(&number("98.6"), "[degF]", "Cel"),
            Err(UnitError::Incompatible)
        );
        assert_eq!(convert(&number("1e300"), "g", "mg"), Err(UnitError::Number));
    }

    #[test]
    fn annotations_and_unity_normalise() {
        assert_eq!(normalise("{beats}/min"), "/min");
        assert_eq!(normalise("1/min"), "/min");
        assert_eq!(normalise("{score}"), "1");
        assert_eq!(normalise("mm[Hg]"), "mm[Hg]");
    }
}
