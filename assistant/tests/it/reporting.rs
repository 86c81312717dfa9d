//! Trade-reporting compliance as a workflow: the catalogue loaded once and versioned, trades
//! compared across regimes, reports validated, bad input refused by name, all audited.

use assistant::Assistant;
use assistant::AssistantError;
use assistant::config::Config;
use assistant::reporting::{CompareRequest, TradeInput};
use assistant::store::Actor;
use policies::{Principal, Role};
use serde_json::{Value, json};

fn shared() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

fn open() -> (tempfile::TempDir, Assistant) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.path().to_path_buf();
    let (p, _) = c.compliance.sources();
    assert!(
        p.is_file(),
        "{} missing: the shared data must sit beside the checkout",
        p.display()
    );
    (dir, Assistant::open(c).unwrap())
}

fn user(a: &Assistant, name: &str, role: Role) -> Actor {
    a.create_user(&Actor::system(), name, role).unwrap();
    Actor::user(
        &Principal {
            user: name.into(),
            role,
        },
        None,
    )
}

fn drr(trade: &str) -> Value {
    serde_json::from_slice(
        &std::fs::read(
            shared()
                .join("regulation-en/drr-reports")
                .join(trade)
                .join("input.cdm.json"),
        )
        .unwrap(),
    )
    .unwrap()
}

fn req(trade: Value) -> CompareRequest {
    CompareRequest {
        trade: TradeInput::Cdm(trade),
        facts: None,
        regimes: Vec::new(),
        reporting_timestamp: Some("2024-04-29T00:00:00Z".into()),
    }
}

#[test]
fn compare_validate_and_version_the_catalogue() {
    let (_dir, a) = open();
    let officer = user(&a, "co1", Role::Compliance);
    let trader = user(&a, "tr1", Role::Trader);

    // A trade whose reporting facts name the regulators: the regimes that apply, with roles.
    let cmp = a
        .compliance_compare(&officer, &req(drr("IR-IRS-Fixed-Float-ex01")))
        .unwrap();
    let ids: Vec<&str> = cmp.columns.iter().map(|c| c.id).collect();
    for want in [
        "cftc-part43",
        "cftc-part45",
        "esma-emir-trade",
        "fca-ukemir-trade",
        "hkma-trade",
        "jfsa-trade",
        "csa-trade",
    ] {
        assert!(ids.contains(&want), "{want} applies: {ids:?}");
    }
    assert!(
        !ids.contains(&"asic-trade"),
        "no party reports to ASIC: {ids:?}"
    );
    assert_eq!(cmp.catalogue_version, "v1");
    let fixed = cmp.rows.iter().find(|r| r.key == "leg1.fixedRate").unwrap();
    assert_eq!(fixed.status, compliance::compare::Status::DifferentFormat);
    assert!(
        cmp.summary
            .iter()
            .any(|s| s.contains("Fixed rate") && s.contains("2.53")),
        "{:#?}",
        cmp.summary
    );
    assert!(cmp.summary_zh.iter().any(|s| s.contains("固定利率")));
    let esma_cell = fixed
        .cells
        .iter()
        .find(|c| c.regime == "esma-emir-trade")
        .unwrap();
    assert!(
        !esma_cell.provisions.is_empty(),
        "a cell names its provision"
    );
    let p = a
        .compliance_provision(&officer, &esma_cell.provisions[0])
        .unwrap();
    assert_eq!(p.regime, "esma");

    // Everything, on request.
    let mut all = req(drr("IR-IRS-Fixed-Float-ex01"));
    all.regimes = vec!["all".into()];
    assert_eq!(
        a.compliance_compare(&officer, &all).unwrap().columns.len(),
        compliance::regime::regimes().len()
    );

    // A trader may not.
    assert!(matches!(
        a.compliance_compare(&trader, &req(drr("IR-IRS-Fixed-Float-ex01"))),
        Err(AssistantError::Forbidden(_))
    ));

    // Validation of the expected EMIR report: no errors; a damaged copy: findings by field.
    let expected = std::fs::read(
        shared().join("regulation-en/drr-reports/IR-IRS-Fixed-Float-ex01/esma-emir-trade.json"),
    )
    .unwrap();
    let v = a
        .compliance_validate(
            &officer,
            &req(drr("IR-IRS-Fixed-Float-ex01")),
            "esma-emir-trade",
            &expected,
        )
        .unwrap();
    assert!(
        v.findings
            .iter()
            .all(|f| f.severity != compliance::validate::Severity::Error),
        "{:#?}",
        v.findings
    );
    let damaged = String::from_utf8(expected)
        .unwrap()
        .replace("\"USD\"", "\"US$\"");
    let v = a
        .compliance_validate(
            &officer,
            &req(drr("IR-IRS-Fixed-Float-ex01")),
            "esma-emir-trade",
            damaged.as_bytes(),
        )
        .unwrap();
    assert!(
        v.findings
            .iter()
            .any(|f| f.field == "leg1.notionalCurrency" && f.code == "format"),
        "{:#?}",
        v.findings
    );

    // The firm's own provision: the next version, found by id, in the cells.
    let line = json!({"id": "ukemir-note-1", "regime": "fca", "field": "leg1.fixedRate", "text": "Our reading: the fixed rate is reported as a percentage, as in EMIR.", "name": "Fixed rate of leg 1"});
    let v2 = a
        .compliance_add(&officer, &line.to_string(), "desk note on UK EMIR rates")
        .unwrap();
    assert_eq!(
        (
            v2.version.as_str(),
            v2.firm_provisions,
            v2.parent.as_deref()
        ),
        ("v2", 1, Some("v1"))
    );
    let cmp = a
        .compliance_compare(&officer, &req(drr("IR-IRS-Fixed-Float-ex01")))
        .unwrap();
    assert_eq!(cmp.catalogue_version, "v2");
    let fca = cmp
        .rows
        .iter()
        .find(|r| r.key == "leg1.fixedRate")
        .unwrap()
        .cells
        .iter()
        .find(|c| c.regime == "fca-ukemir-trade")
        .unwrap();
    assert!(
        fca.provisions.iter().any(|p| p == "firm:ukemir-note-1"),
        "{:?}",
        fca.provisions
    );
    assert!(matches!(
        a.compliance_add(&officer, "{\"id\": \"x\"}", "n"),
        Err(AssistantError::InvalidField { .. })
    ));
    assert!(
        matches!(a.compliance_add(&officer, &line.to_string(), "  "), Err(AssistantError::InvalidField { ref field, .. }) if field == "note")
    );
    assert_eq!(a.compliance_versions().unwrap().len(), 2);

    // Audited: the load, the addition, the comparisons and validations.
    let log = a.store().audit_entries(0, None, None, 10_000).unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for want in [
        "compliance.catalogue_load",
        "compliance.compare",
        "compliance.validate",
    ] {
        assert!(actions.contains(&want), "{want} audited: {actions:?}");
    }
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "compliance.catalogue_load")
            .count(),
        2
    );
}

#[test]
fn bad_input_is_refused_by_name() {
    let (_dir, a) = open();
    let officer = user(&a, "co1", Role::Compliance);
    let err = |r: CompareRequest| match a.compliance_compare(&officer, &r) {
        Err(AssistantError::InvalidField { field, reason }) => format!("{field}: {reason}"),
        other => panic!("expected a named refusal, got {other:?}"),
    };
    // Not CDM: the JSON path of what is wrong.
    let e = err(req(json!({"hello": "world"})));
    assert!(
        e.contains("trade") && e.contains("$") && e.contains("ReportableEvent"),
        "{e}"
    );
    let mut broken = drr("IR-IRS-Fixed-Float-ex01");
    broken["originatingWorkflowStep"]["businessEvent"]["after"] = json!([]);
    assert!(err(req(broken)).contains("$.originatingWorkflowStep.businessEvent.after"));
    // No payout the rules know.
    let mut odd = drr("IR-IRS-Fixed-Float-ex01");
    odd["originatingWorkflowStep"]["businessEvent"]["after"][0]["trade"]["tradableProduct"]["product"]
        ["contractualProduct"]["economicTerms"]["payout"] = json!({"weatherPayout": [{}]});
    assert!(err(req(odd)).contains("no payout the reporting rules cover (found: weatherPayout)"));
    // A bare TradeState with no reporting facts: which facts are needed.
    let state = drr("IR-IRS-Fixed-Float-ex01")["originatingWorkflowStep"]["businessEvent"]["after"]
        [0]
    .clone();
    assert!(err(req(state.clone())).contains("facts.reporting_party_regimes"));
    // Conflicting facts: cleared without a CCP; a reporting party that is not a counterparty.
    let mut r = req(state.clone());
    r.facts = Some(
        serde_json::from_value(
            json!({"reporting_party_lei": "5493001RKR55V4X61F71", "cleared": true}),
        )
        .unwrap(),
    );
    assert!(err(r).contains("ccp_lei"));
    let mut r = req(state.clone());
    r.facts = Some(
        serde_json::from_value(json!({"reporting_party_lei": "5299000J2N45DDNE4Y28"})).unwrap(),
    );
    assert!(err(r).contains("is not a counterparty of the trade"));
    // Unknown regime.
    let mut r = req(state.clone());
    r.regimes = vec!["sec-sbsr".into()];
    assert!(err(r).contains("unknown regime \"sec-sbsr\""));
    // With facts, a bare TradeState compares, and what the facts lack is listed as missing.
    let mut r = req(state);
    r.facts = Some(
        serde_json::from_value(json!({
            "reporting_party_lei": "5493001RKR55V4X61F71",
            "counterparty_lei": "549300O5MFEP1XJ40B46",
            "reporting_party_regimes": [{"body": "ESMA", "role": "ReportingParty"}],
            "execution_timestamp": "2011-02-04T16:20:47Z"
        }))
        .unwrap(),
    );
    let cmp = a.compliance_compare(&officer, &r).unwrap();
    assert_eq!(
        cmp.columns.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec!["esma-emir-trade"]
    );
    assert!(
        cmp.missing
            .iter()
            .any(|(reg, f, needed)| reg == "esma-emir-trade"
                && f == "natureOfCounterparty1"
                && needed.contains("nature of counterparty 1")),
        "{:#?}",
        cmp.missing
    );
    // Unknown fields in an uploaded report.
    let v = a
        .compliance_validate(
            &officer,
            &r,
            "esma-emir-trade",
            b"{\"uniqueTransactionIdentifier\": \"X\", \"shoeSize\": 42}",
        )
        .unwrap();
    assert!(
        v.findings
            .iter()
            .any(|f| f.field == "shoeSize" && f.code == "unknown_field")
    );
    assert!(
        matches!(a.compliance_validate(&officer, &r, "esma-emir-trade", b"not a report"), Err(AssistantError::InvalidField { ref field, .. }) if field == "report")
    );
}
