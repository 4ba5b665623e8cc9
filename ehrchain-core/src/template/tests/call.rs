//! The contract call: the function signature, its arguments, and which field
//! types and system sources fit which ABI types.

use super::*;

#[test]
fn rejects_invalid_function() {
    // The reason is the ABI parser's: where it stopped and what it expected.
    for (bad, expected) in [
        ("anchorRecord(bytes32 subject", "expected `)`"),
        ("not a function", "not a function\n    ^\nexpected `(`"),
        ("", "parser error"),
        ("f(bytes33 x)", "invalid size for type: bytes33"),
        (
            "event f(bytes32 x)",
            "event f(bytes32 x)\n      ^\nexpected `(`",
        ),
    ] {
        let mut doc = chain_doc("bytes32", json!({"type": "bytes32", "required": true}));
        doc["call"]["function"] = json!(bad);
        match reject(&doc) {
            TemplateError::InvalidFunction { signature, reason } => {
                assert_eq!(signature, bad);
                assert!(reason.contains(expected), "{bad}: {reason:?}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn rejects_argument_count() {
    let mut doc = base();
    doc["call"]["arguments"].as_array_mut().unwrap().pop();
    assert_eq!(
        reject(&doc),
        TemplateError::ArgumentCount {
            function: ANCHOR_TYPES.into(),
            parameters: 5,
            arguments: 4,
        }
    );
}

#[test]
fn rejects_unknown_argument() {
    let mut doc = base();
    doc["call"]["arguments"][2] = json!("tx");
    assert_eq!(reject(&doc), TemplateError::UnknownArgument("tx".into()));
}

#[test]
fn rejects_sealed_argument() {
    let mut doc = base();
    doc["call"]["arguments"][4] = json!("systolic");
    assert_eq!(
        reject(&doc),
        TemplateError::SealedArgument("systolic".into())
    );
}

#[test]
fn rejects_unused_chain_or_system_field() {
    let mut doc = base();
    doc["fields"].as_array_mut().unwrap().push(json!({
        "name": "lot", "placement": "chain", "type": "code", "required": true,
    }));
    assert_eq!(reject(&doc), TemplateError::UnusedChainField("lot".into()));

    let mut doc = base();
    doc["call"]["function"] = json!(
        "anchorRecord(bytes32 subject, bytes32 templateId, bytes32 tiId, bytes32 recordHash)"
    );
    doc["call"]["arguments"].as_array_mut().unwrap().pop();
    assert_eq!(
        reject(&doc),
        TemplateError::UnusedChainField("recorded_at".into())
    );
}

#[test]
fn field_types_fit_abi_types() {
    let n = |count: usize| (0..count).map(|i| format!("v{i}")).collect::<Vec<_>>();
    let cases: Vec<(Value, &str, bool)> = vec![
        (
            json!({"type": "integer", "min": 0, "max": 255}),
            "uint8",
            true,
        ),
        (
            json!({"type": "integer", "min": 0, "max": 256}),
            "uint8",
            false,
        ),
        (
            json!({"type": "integer", "min": -1, "max": 10}),
            "uint256",
            false,
        ),
        (
            json!({"type": "integer", "min": -128, "max": 127}),
            "int8",
            true,
        ),
        (
            json!({"type": "integer", "min": -129, "max": 0}),
            "int8",
            false,
        ),
        (
            json!({"type": "integer", "min": 0, "max": 128}),
            "int8",
            false,
        ),
        (
            json!({"type": "integer", "min": i64::MIN, "max": i64::MAX}),
            "int64",
            true,
        ),
        (
            json!({"type": "integer", "min": i64::MIN, "max": i64::MAX}),
            "int256",
            true,
        ),
        (
            json!({"type": "integer", "min": 0, "max": i64::MAX}),
            "uint64",
            true,
        ),
        (
            json!({"type": "integer", "min": 0, "max": i64::MAX}),
            "uint56",
            false,
        ),
        (
            json!({"type": "integer", "min": 0, "max": 1}),
            "bool",
            false,
        ),
        (
            json!({"type": "integer", "min": 0, "max": 1}),
            "bytes32",
            false,
        ),
        (
            json!({"type": "integer", "min": 0, "max": 1}),
            "string",
            false,
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "0", "max": "2.55"}),
            "uint8",
            true,
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "0", "max": "2.56"}),
            "uint8",
            false,
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "-1.28", "max": "1.27"}),
            "int8",
            true,
        ),
        (
            json!({"type": "decimal", "scale": 2, "min": "-1", "max": "1"}),
            "uint256",
            false,
        ),
        (
            json!({"type": "decimal", "scale": 18, "min": "-1000000", "max": "1000000"}),
            "int128",
            true,
        ),
        (
            json!({"type": "decimal", "scale": 1, "min": "0", "max": "1"}),
            "bytes32",
            false,
        ),
        (json!({"type": "bool"}), "bool", true),
        (json!({"type": "bool"}), "uint8", false),
        (json!({"type": "enum", "values": n(256)}), "uint8", true),
        (json!({"type": "enum", "values": n(257)}), "uint8", false),
        (json!({"type": "enum", "values": n(3)}), "uint256", true),
        (json!({"type": "enum", "values": n(3)}), "int8", false),
        (json!({"type": "enum", "values": n(3)}), "string", false),
        (json!({"type": "date-time"}), "uint64", true),
        (json!({"type": "date-time"}), "uint256", true),
        (json!({"type": "date-time"}), "uint32", false),
        (json!({"type": "date-time"}), "int64", false),
        (json!({"type": "date-time"}), "int256", false),
        (json!({"type": "code"}), "bytes32", true),
        (json!({"type": "code", "maxLength": 32}), "bytes32", true),
        (json!({"type": "code", "maxLength": 33}), "bytes32", false),
        (json!({"type": "code", "maxLength": 256}), "string", true),
        (json!({"type": "code", "maxLength": 8}), "bytes16", false),
        (json!({"type": "code", "maxLength": 8}), "bytes", false),
        (json!({"type": "bytes32"}), "bytes32", true),
        (json!({"type": "bytes32"}), "bytes", false),
        (json!({"type": "bytes32"}), "uint256", false),
        (json!({"type": "bytes32"}), "bytes31", false),
        (json!({"type": "address"}), "address", true),
        (json!({"type": "address"}), "bytes20", false),
        (json!({"type": "address"}), "uint160", false),
    ];
    for (mut field, abi_type, fits) in cases {
        field["required"] = json!(true);
        let type_name = field["type"].as_str().unwrap().to_owned();
        let result = load(&chain_doc(abi_type, field.clone()));
        match result {
            Ok(_) => assert!(fits, "{field} accepted as {abi_type}"),
            Err(TemplateError::ArgumentType {
                field: name,
                kind,
                abi_type: given,
            }) => {
                assert!(!fits, "{field} rejected as {abi_type}");
                assert_eq!(
                    (name.as_str(), kind, given.as_str()),
                    ("x", &*type_name, abi_type)
                );
            }
            Err(other) => panic!("{field} as {abi_type}: {other:?}"),
        }
    }
}

#[test]
fn system_sources_fit_abi_types() {
    let bytes32_sources = [
        "patient_pseudonym",
        "template_id",
        "ti_id",
        "record_hash",
        "author_role",
    ];
    for source in bytes32_sources {
        let t = ok(&system_doc("bytes32", source));
        assert_eq!(t.fields()[0].kind, FieldKind::Bytes32);
        assert!(t.fields()[0].required);
        for other in ["uint256", "bytes", "string", "address"] {
            assert_eq!(
                reject(&system_doc(other, source)),
                TemplateError::ArgumentType {
                    field: "x".into(),
                    kind: "bytes32",
                    abi_type: other.into(),
                },
                "{source} as {other}"
            );
        }
    }
    for fits in ["uint64", "uint128", "uint256"] {
        let t = ok(&system_doc(fits, "timestamp"));
        assert_eq!(t.fields()[0].kind, FieldKind::DateTime);
        assert_eq!(
            t.fields()[0].placement,
            Placement::System(SystemSource::Timestamp)
        );
    }
    for other in ["uint32", "int64", "bytes32"] {
        assert_eq!(
            reject(&system_doc(other, "timestamp")),
            TemplateError::ArgumentType {
                field: "x".into(),
                kind: "date-time",
                abi_type: other.into(),
            }
        );
    }
}

#[test]
fn call_resolves_arguments_types_and_selector() {
    let t = builtin("drug-shipment-custody");
    let call = t.call();
    let names: Vec<&str> = call
        .arguments
        .iter()
        .map(|&i| t.fields()[i].name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "lot",
            "template",
            "ti",
            "record_hash",
            "recorded_at",
            "role"
        ]
    );
    assert_eq!(
        call.types,
        [
            DynSolType::FixedBytes(32),
            DynSolType::FixedBytes(32),
            DynSolType::FixedBytes(32),
            DynSolType::FixedBytes(32),
            DynSolType::Uint(64),
            DynSolType::FixedBytes(32),
        ]
    );
    assert_eq!(call.function.signature(), BUILT_IN_ANCHOR_TYPES);
    assert_eq!(call.selector, call.function.selector());
}

#[test]
fn uint_alias_gets_canonical_selector() {
    let t = ok(&chain_doc(
        "uint",
        json!({"type": "integer", "min": 0, "max": 10, "required": true}),
    ));
    assert_eq!(t.call().types, [DynSolType::Uint(256)]);
    assert_eq!(
        t.call().selector,
        Selector::from_slice(&keccak256("f(uint256)")[..4])
    );
    assert_eq!(t.doc().call.function, "function f(uint256 x)");
    let same = ok(&chain_doc(
        "uint256",
        json!({"type": "integer", "min": 0, "max": 10, "required": true}),
    ));
    assert_eq!(same.id(), t.id());
}
