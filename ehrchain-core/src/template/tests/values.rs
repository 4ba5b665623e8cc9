//! Value checks, one type at a time.

use super::*;

#[test]
fn valid_values_pass() {
    let (slots, violations) = check(json!({}));
    assert!(violations.is_empty());
    assert_eq!(slots[slot("req")], Some(CheckedValue::Int(1)));
    assert_eq!(slots[slot("when")], Some(CheckedValue::Time(1_764_495_000)));
    assert_eq!(
        slots[slot("template")],
        None,
        "system fields have no slot value"
    );
    assert_eq!(slots[slot("int")], None);
}

#[test]
fn integer_values() {
    assert_eq!(accepted("int", json!(120)), CheckedValue::Int(120));
    assert_eq!(accepted("int", json!(-10)), CheckedValue::Int(-10));
    assert_eq!(accepted("int", json!(300)), CheckedValue::Int(300));
    assert_eq!(
        rejected("int", json!(301)),
        ViolationKind::OutOfRange {
            value: "301".into(),
            min: "-10".into(),
            max: "300".into(),
        }
    );
    assert_eq!(
        rejected("int", json!(-11)),
        ViolationKind::OutOfRange {
            value: "-11".into(),
            min: "-10".into(),
            max: "300".into(),
        }
    );
    for bad in [
        json!("120"),
        json!(120.0),
        json!(120.5),
        json!(true),
        json!([1]),
    ] {
        assert_eq!(rejected("int", bad), wrong_type("a whole number"));
    }
}

#[test]
fn integers_beyond_i64_are_out_of_range() {
    assert_eq!(
        rejected("int", json!(u64::MAX)),
        ViolationKind::OutOfRange {
            value: u64::MAX.to_string(),
            min: "-10".into(),
            max: "300".into(),
        }
    );
    // Beyond the 64-bit range a JSON number is a double: not a whole number.
    let raw: BTreeMap<String, Value> =
        serde_json::from_str(r#"{"int": 18446744073709551616, "req": 1, "when": 0}"#).unwrap();
    let mut violations = Vec::new();
    values_template().check_values(&raw, &mut violations);
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].kind, wrong_type("a whole number"));
}

#[test]
fn decimal_values() {
    assert_eq!(accepted("dec", json!("36.5")), CheckedValue::Int(365));
    assert_eq!(accepted("dec", json!(36.5)), CheckedValue::Int(365));
    assert_eq!(accepted("dec", json!(36)), CheckedValue::Int(360));
    assert_eq!(accepted("dec", json!("36")), CheckedValue::Int(360));
    assert_eq!(accepted("dec", json!("-5.0")), CheckedValue::Int(-50));
    assert_eq!(accepted("dec", json!("45.0")), CheckedValue::Int(450));
    assert_eq!(
        rejected("dec", json!("45.1")),
        ViolationKind::OutOfRange {
            value: "45.1".into(),
            min: "-5.0".into(),
            max: "45.0".into(),
        }
    );
    assert_eq!(
        rejected("dec", json!(-6)),
        ViolationKind::OutOfRange {
            value: "-6.0".into(),
            min: "-5.0".into(),
            max: "45.0".into(),
        }
    );
    assert_eq!(
        rejected("dec", json!("36.55")),
        ViolationKind::TooPrecise { scale: 1 }
    );
    assert_eq!(
        rejected("dec", json!(36.55)),
        ViolationKind::TooPrecise { scale: 1 }
    );
    // Trailing zeros count as digits.
    assert_eq!(
        rejected("dec", json!("36.50")),
        ViolationKind::TooPrecise { scale: 1 }
    );
    for bad in ["abc", "1e1", ".5", "5.", "+5", " 5", ""] {
        assert_eq!(
            rejected("dec", json!(bad)),
            wrong_type("a decimal number such as \"36.5\""),
            "{bad:?}"
        );
    }
    assert_eq!(rejected("dec", json!(true)), wrong_type("a decimal number"));
    assert_eq!(
        rejected("dec", json!(["1"])),
        wrong_type("a decimal number")
    );
    // Full precision through strings.
    assert_eq!(
        accepted("fine", json!("0.123456789012345678")),
        CheckedValue::Int(123_456_789_012_345_678)
    );
}

#[test]
fn decimal_json_numbers_are_exact_or_refused() {
    let check_raw = |json: &str| {
        let raw: &'static BTreeMap<String, Value> =
            Box::leak(Box::new(serde_json::from_str(json).unwrap()));
        let mut violations = Vec::new();
        let slots = values_template().check_values(raw, &mut violations);
        (slots[slot("fine")].clone(), violations)
    };
    // 15 significant digits survive the trip through a double.
    assert_eq!(
        check_raw(r#"{"fine": 0.123456789012345, "req": 1, "when": 0}"#),
        (Some(CheckedValue::Int(123_456_789_012_345_000)), vec![])
    );
    // More may not: refused, never silently altered.
    let (value, violations) = check_raw(r#"{"fine": 0.123456789012345678, "req": 1, "when": 0}"#);
    assert_eq!(value, None);
    assert_eq!(
        violations,
        [Violation {
            field: Some("fine".into()),
            kind: wrong_type("a decimal with more than 15 significant digits, given as a string"),
        }]
    );
    // As a string every digit is kept.
    assert_eq!(
        check_raw(r#"{"fine": "0.123456789012345678", "req": 1, "when": 0}"#),
        (Some(CheckedValue::Int(123_456_789_012_345_678)), vec![])
    );
    // Exponent forms are not decimal syntax.
    let (_, violations) = check_raw(r#"{"fine": 1e-7, "req": 1, "when": 0}"#);
    assert_eq!(
        violations[0].kind,
        wrong_type("a decimal number such as \"36.5\"")
    );
}

#[test]
fn bool_values() {
    assert_eq!(accepted("flag", json!(true)), CheckedValue::Bool(true));
    assert_eq!(accepted("flag", json!(false)), CheckedValue::Bool(false));
    for bad in [json!("true"), json!(1), json!(0)] {
        assert_eq!(rejected("flag", bad), wrong_type("true or false"));
    }
}

#[test]
fn text_values() {
    assert_eq!(
        accepted("note", json!("hello")),
        CheckedValue::Text("hello")
    );
    // Length counts characters, not bytes.
    assert_eq!(
        accepted("note", json!("héllö")),
        CheckedValue::Text("héllö")
    );
    assert_eq!(accepted("note", json!("")), CheckedValue::Text(""));
    // Unicode scalar values: each emoji counts once (JavaScript's length says 2).
    assert_eq!(
        accepted("note", json!("🩺🩺🩺🩺🩺")),
        CheckedValue::Text("🩺🩺🩺🩺🩺")
    );
    assert_eq!(
        rejected("note", json!("hello!")),
        ViolationKind::TooLong { length: 6, max: 5 }
    );
    assert_eq!(
        rejected("note", json!("ééééééé")),
        ViolationKind::TooLong { length: 7, max: 5 }
    );
    assert_eq!(rejected("note", json!(5)), wrong_type("text"));
}

#[test]
fn enum_values() {
    assert_eq!(accepted("pos", json!("sitting")), CheckedValue::Enum(0));
    assert_eq!(accepted("pos", json!("standing")), CheckedValue::Enum(1));
    assert_eq!(
        rejected("pos", json!("Standing")),
        ViolationKind::UnknownEnumValue {
            value: "Standing".into(),
            allowed: vec!["sitting".into(), "standing".into()],
        }
    );
    assert_eq!(
        rejected("pos", json!(0)),
        wrong_type("one of the listed values, as text")
    );
}

#[test]
fn date_time_values() {
    let t = 1_796_030_100; // 2026-11-30T09:15:00Z
    assert_eq!(
        accepted("at", json!("2026-11-30T09:15:00Z")),
        CheckedValue::Time(t)
    );
    assert_eq!(
        accepted("at", json!("2026-11-30T10:15:00+01:00")),
        CheckedValue::Time(t)
    );
    assert_eq!(accepted("at", json!(t)), CheckedValue::Time(t));
    // Fractional seconds are dropped.
    assert_eq!(
        accepted("at", json!("2026-11-30T09:15:00.75Z")),
        CheckedValue::Time(t)
    );
    // Sealed date-times may precede 1970 (a birth date).
    assert_eq!(
        accepted("at", json!("1950-01-01T00:00:00Z")),
        CheckedValue::Time(-631_152_000)
    );
    assert_eq!(accepted("at", json!(-86_400)), CheckedValue::Time(-86_400));
    for bad in [
        "2026-11-30",
        "2026-11-30 09:15:00",
        "yesterday",
        "2026-11-30T09:15:00",
    ] {
        assert_eq!(
            rejected("at", json!(bad)),
            wrong_type("an RFC 3339 date-time such as \"2026-11-30T09:15:00Z\""),
            "{bad}"
        );
    }
    assert_eq!(rejected("at", json!(1.5)), wrong_type("Unix seconds"));
    assert_eq!(
        rejected("at", json!(true)),
        wrong_type("an RFC 3339 date-time or Unix seconds")
    );
    // Sealed date-times span the years 0000 to 9999 (RFC 3339).
    let (first, last) = (-62_167_219_200_i64, 253_402_300_799_i64);
    assert_eq!(
        accepted("at", json!("0000-01-01T00:00:00Z")),
        CheckedValue::Time(first)
    );
    assert_eq!(
        accepted("at", json!("9999-12-31T23:59:59Z")),
        CheckedValue::Time(last)
    );
    assert_eq!(accepted("at", json!(last)), CheckedValue::Time(last));
    for outside in [first - 1, last + 1, i64::MIN, i64::MAX] {
        assert_eq!(
            rejected("at", json!(outside)),
            ViolationKind::OutOfRange {
                value: outside.to_string(),
                min: first.to_string(),
                max: last.to_string(),
            }
        );
    }
    // On chain (uint64), no time before 1970.
    assert_eq!(accepted("when", json!(0)), CheckedValue::Time(0));
    assert_eq!(accepted("when", json!(last)), CheckedValue::Time(last));
    for outside in [-1, last + 1] {
        assert_eq!(
            rejected("when", json!(outside)),
            ViolationKind::OutOfRange {
                value: outside.to_string(),
                min: "0".into(),
                max: last.to_string(),
            }
        );
    }
    assert_eq!(
        rejected("when", json!("1969-12-31T23:59:59Z")),
        ViolationKind::OutOfRange {
            value: "-1".into(),
            min: "0".into(),
            max: last.to_string(),
        }
    );
}

#[test]
fn code_values() {
    assert_eq!(accepted("code", json!("I10")), CheckedValue::Text("I10"));
    assert_eq!(
        accepted("code", json!("8480-6")),
        CheckedValue::Text("8480-6")
    );
    assert_eq!(
        accepted("code", json!("12345678")),
        CheckedValue::Text("12345678")
    );
    for bad in ["I 10", "", "Ä10", "I10\n", "\t"] {
        assert_eq!(
            rejected("code", json!(bad)),
            wrong_type("a code of printable ASCII characters without spaces"),
            "{bad:?}"
        );
    }
    assert_eq!(
        rejected("code", json!("123456789")),
        ViolationKind::TooLong { length: 9, max: 8 }
    );
    assert_eq!(rejected("code", json!(10)), wrong_type("a code, as text"));
}

#[test]
fn bytes32_values() {
    let lower = format!("0x{}", "ab".repeat(32));
    assert_eq!(
        accepted("hash", json!(lower)),
        CheckedValue::Bytes32(B256::repeat_byte(0xab))
    );
    let upper = format!("0x{}", "AB".repeat(32));
    assert_eq!(
        accepted("hash", json!(upper)),
        CheckedValue::Bytes32(B256::repeat_byte(0xab))
    );
    let expected = wrong_type("32 bytes as \"0x\" and 64 hex digits");
    for bad in [
        json!("ab".repeat(32)),
        json!(format!("0X{}", "ab".repeat(32))),
        json!(format!("0x{}", "a".repeat(63))),
        json!(format!("0x{}", "a".repeat(66))),
        json!(format!("0x{}", "zz".repeat(32))),
        json!("0x"),
        json!(12),
    ] {
        assert_eq!(rejected("hash", bad.clone()), expected, "{bad}");
    }
}

#[test]
fn address_values() {
    // The EIP-55 example addresses.
    let checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
    let address: alloy_primitives::Address = checksummed.parse().unwrap();
    assert_eq!(
        accepted("who", json!(checksummed)),
        CheckedValue::Address(address)
    );
    let lower = checksummed.to_ascii_lowercase();
    assert_eq!(
        accepted("who", json!(lower)),
        CheckedValue::Address(address)
    );
    let upper = format!("0x{}", checksummed[2..].to_ascii_uppercase());
    assert_eq!(
        accepted("who", json!(upper)),
        CheckedValue::Address(address)
    );
    let expected =
        wrong_type("an Ethereum address (\"0x\" and 40 hex digits, EIP-55 checksum if mixed case)");
    // One letter's case flipped: a bad checksum.
    let bad_checksum = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
    for bad in [
        json!(bad_checksum),
        json!(&lower[2..]),
        json!(&lower[..41]),
        json!(format!("{lower}00")),
        json!(format!("0x{}", "g".repeat(40))),
        json!(1),
    ] {
        assert_eq!(rejected("who", bad.clone()), expected, "{bad}");
    }
}
