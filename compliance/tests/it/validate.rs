//! Validation of a report the firm already has (formats, LEI check digits, unknown and missing
//! fields, values against the trade), CSV shapes, and the CSV/XLSX exports.

use compliance::validate::{Severity, lei_ok, read_report, validate};
use compliance::{cdm, elements, regime};
use serde_json::Value;

use crate::drr::{catalogue, drr_dir};

fn trade(name: &str) -> (cdm::Trade, elements::Elements) {
    let input: Value = serde_json::from_slice(
        &std::fs::read(drr_dir().join(name).join("input.cdm.json")).unwrap(),
    )
    .unwrap();
    let t = cdm::read(&input, None).unwrap();
    let e = elements::elements(
        &t,
        &elements::RunFacts {
            reporting_timestamp: "2024-04-29T00:00:00Z".into(),
        },
    );
    (t, e)
}

#[test]
fn lei_check_digits() {
    assert_eq!(lei_ok("5493001RKR55V4X61F71"), Ok(()));
    assert!(lei_ok("5493001RKR55V4X61F72").is_err());
    assert!(lei_ok("DUMMY0000000000LEI01").is_err());
    assert!(lei_ok("short").is_err());
}

#[test]
fn the_expected_report_passes_and_a_damaged_one_is_caught_field_by_field() {
    let cat = catalogue();
    let (t, e) = trade("IR-IRS-Fixed-Float-ex01");
    let r = regime::regime("esma-emir-trade").unwrap();
    let generated = regime::report(r, &t, &e);
    let bytes =
        std::fs::read(drr_dir().join("IR-IRS-Fixed-Float-ex01/esma-emir-trade.json")).unwrap();
    let good = read_report(&bytes).unwrap();
    let findings = validate(r, &good, &generated, &cat);
    let errors: Vec<_> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let mut bad = good.clone();
    bad.insert("effectiveDate".into(), Value::String("08/02/2011".into()));
    bad.insert("leg1.notionalCurrency".into(), Value::String("usd".into()));
    bad.insert(
        "counterparty2".into(),
        Value::String("549300O5MFEP1XJ40B47".into()),
    );
    bad.insert("actionType".into(), Value::String("NEW".into()));
    bad.insert("leg1.notionalAmount".into(), serde_json::json!(20000000));
    bad.insert("favouriteColour".into(), Value::String("blue".into()));
    bad.remove("uniqueTransactionIdentifier");
    let findings = validate(r, &bad, &generated, &cat);
    let by = |field: &str| {
        findings
            .iter()
            .find(|f| f.field == field)
            .unwrap_or_else(|| panic!("no finding on {field}: {findings:#?}"))
    };
    assert_eq!(by("effectiveDate").code, "format");
    assert_eq!(by("leg1.notionalCurrency").code, "format");
    assert!(
        by("counterparty2").message.contains("check digits")
            || by("counterparty2").code == "differs_from_trade"
    );
    assert_eq!(by("actionType").code, "allowed_values");
    assert_eq!(by("leg1.notionalAmount").code, "differs_from_trade");
    assert_eq!(by("favouriteColour").code, "unknown_field");
    assert_eq!(by("uniqueTransactionIdentifier").code, "missing_field");
    assert!(
        !by("effectiveDate").provisions.is_empty(),
        "a finding names its provision"
    );
    assert!(by("effectiveDate").message_zh.contains("日期"));
}

#[test]
fn csv_reports_read_in_both_shapes() {
    let kv = read_report(b"field,value\nuniqueTransactionIdentifier,ABC\nleg1.notionalAmount,10000000\ncleared,N\nptrr,false\n").unwrap();
    assert_eq!(kv["leg1.notionalAmount"], serde_json::json!(10000000.0));
    assert_eq!(kv["ptrr"], Value::Bool(false));
    let wide =
        read_report(b"uniqueTransactionIdentifier,counterparty1\n\"A,B\",5493001RKR55V4X61F71\n")
            .unwrap();
    assert_eq!(
        wide["uniqueTransactionIdentifier"],
        Value::String("A,B".into())
    );
    assert!(
        read_report(b"a,b\n1\n")
            .unwrap_err()
            .to_string()
            .contains("2 field names but 1 values")
    );
    assert!(
        read_report(b"{not json")
            .unwrap_err()
            .to_string()
            .contains("not valid JSON")
    );
}

#[test]
fn exports_hold_the_matrix() {
    let cat = catalogue();
    let (t, e) = trade("FX-VanillaOption-ex01-European");
    let regs: Vec<_> = regime::regimes()
        .iter()
        .map(|r| (r, regime::Role::Requested))
        .collect();
    let cmp = compliance::compare::compare(&t, &e, &regs, &cat);
    let csv = compliance::export::csv(&cmp);
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv.lines().next().unwrap().contains("esma-emir-trade"));
    assert!(csv.contains("executionTimestamp"));
    assert!(
        csv.contains("2015-02-03T21:26:29+08:00"),
        "the Chinese column writes Beijing time"
    );
    let x = compliance::export::xlsx(&cmp, &cat).unwrap();
    assert_eq!(&x[..2], b"PK", "an XLSX is a zip");
    assert!(x.len() > 5000);
}
