//! CDM JSON Schema validation against the shipped 6.30.0 schemas.

use std::path::PathBuf;

use connectors::cdm::CdmSchemas;
use serde_json::json;

fn data(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/cdm/"
    ))
    .join(rel)
}

/// Opened and compiled once for the whole file: compiling the TradeState graph takes seconds.
fn schemas() -> &'static CdmSchemas {
    static S: std::sync::OnceLock<CdmSchemas> = std::sync::OnceLock::new();
    S.get_or_init(|| CdmSchemas::open(data("jsonschema-6.30.0")).unwrap())
}

/// The CDM project's own expected TradeStates: the manifest says about half validate strictly
/// against 6.30.0 and the rest miss 1-3 newer required properties (we see up to 4). Every violation must name a
/// JSON path, and the counts are pinned so that a change in the validator shows.
#[test]
fn expected_trade_states_validate_or_name_the_path() {
    let s = schemas();
    assert!(s.len() > 1000, "{}", s.len());
    let mut valid = 0;
    let mut total = 0;
    for dir in std::fs::read_dir(data("fpml-cdm")).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let path = f.unwrap().path();
            if !path.to_string_lossy().ends_with(".cdm6-legacy.json") {
                continue;
            }
            total += 1;
            let doc: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let violations = s.validate_trade_state(&doc).unwrap();
            if violations.is_empty() {
                valid += 1;
            }
            for v in &violations {
                eprintln!("{}: {v}", path.file_name().unwrap().to_string_lossy());
                assert!(v.path.starts_with("/trade"), "{v:?}");
                assert!(v.message.contains("required"), "{v:?}");
            }
            assert!(violations.len() <= 4, "{path:?}: {violations:?}");
        }
    }
    assert_eq!(total, 32);
    eprintln!("{valid} of {total} expected TradeStates validate");
    assert!((12..=20).contains(&valid), "{valid}");
}

#[test]
fn violations_name_the_json_path() {
    let s = schemas();
    let cases = [
        (json!({}), "", "\"trade\" is a required property"),
        (
            json!({"trade": {"tradeDate": {"value": 20240101}}}),
            "/trade/tradeDate/value",
            "is not of type \"string\"",
        ),
        (
            json!({"trade": {"tradeDate": {"value": "2024-01-01"}, "counterparty": [{"role": "Party3"}]}}),
            "/trade/counterparty/0/role",
            "Party3",
        ),
    ];
    for (doc, path, message) in cases {
        let v = s.validate_trade_state(&doc).unwrap();
        assert!(
            v.iter()
                .any(|v| v.path == path && v.message.contains(message)),
            "{path} {message}: {v:#?}"
        );
    }
    assert!(s.validate("cdm-no-such-Type", &json!({})).is_err());
}
