//! Trade-reporting compliance over HTTP: compare (JSON, CSV, Excel), each regime's report,
//! validation of an uploaded report, provisions, the firm's own provisions as a new catalogue
//! version, rule questions answered from the rule corpus with citations mapped to provisions;
//! bad input refused by field, roles enforced.

use crate::documents::api;
use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use http_body_util::BodyExt;
use policies::Role;
use serde_json::{Value, json};
use tower::ServiceExt;

fn shared(rel: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")).join(rel)
}

fn drr(trade: &str, file: &str) -> Value {
    serde_json::from_slice(
        &std::fs::read(shared("regulation-en/drr-reports").join(trade).join(file)).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn compare_reports_validate_and_extend_the_catalogue() {
    let api = api();
    let trade = drr("FX-VanillaOption-ex01-European", "input.cdm.json");
    let body = json!({"trade": trade, "reporting_timestamp": "2024-04-29T00:00:00Z"});

    let (st, cmp) = api
        .json(
            Method::POST,
            "/v1/compliance/compare",
            Role::Compliance,
            Some(body.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{cmp}");
    let ids: Vec<&str> = cmp["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"esma-emir-trade") && ids.contains(&"jfsa-trade"),
        "{ids:?}"
    );
    assert!(
        cmp["summary"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().contains("Strike price")),
        "{}",
        cmp["summary"]
    );
    assert!(!cmp["rows"].as_array().unwrap().is_empty());

    // The same comparison as CSV and as an Excel workbook.
    for (format, magic) in [("csv", &b"\xef\xbb\xbf"[..]), ("xlsx", &b"PK"[..])] {
        let req = api
            .req(
                Method::POST,
                &format!("/v1/compliance/compare?format={format}"),
                Role::Compliance,
            )
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let resp = web::app(api.state.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.headers()[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .contains(&format!("reporting-comparison.{format}"))
        );
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        assert!(bytes.starts_with(magic), "{format}");
    }

    // Each regime's report as the regime writes it: EMIR's matches DRR's expected report on
    // every field DRR fills.
    let (st, reports) = api
        .json(
            Method::POST,
            "/v1/compliance/reports",
            Role::Ops,
            Some(body.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{reports}");
    let emir = &reports["regimes"]["esma-emir-trade"]["report"];
    let expected = drr("FX-VanillaOption-ex01-European", "esma-emir-trade.json");
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&emir[k], v, "{k}");
    }

    // Validation: the expected report passes; a damaged one is refused field by field.
    let (st, v) = api
        .json(
            Method::POST,
            "/v1/compliance/validate",
            Role::Compliance,
            Some(json!({"trade": trade, "regime": "esma-emir-trade", "report": expected})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "error"),
        "{v}"
    );
    let csv = "field,value\nuniqueTransactionIdentifier,FXVANILLAOPTIONEXE02\neffectiveDate,03/02/2015\nleg1.notionalCurrency,CHF\n";
    let (st, v) = api
        .json(
            Method::POST,
            "/v1/compliance/validate",
            Role::Compliance,
            Some(json!({"trade": trade, "regime": "esma-emir-trade", "report": csv})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["field"] == "effectiveDate" && f["code"] == "format"),
        "{v}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f["field"] == "counterparty1" && f["code"] == "missing_field"),
        "{v}"
    );

    // A provision, and the firm's own as the next catalogue version.
    let p = cmp["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["cells"].as_array().unwrap())
        .find_map(|c| {
            c["provisions"]
                .as_array()
                .and_then(|p| p.first())
                .and_then(Value::as_str)
        })
        .unwrap()
        .to_owned();
    let (st, prov) = api
        .json(
            Method::GET,
            &format!("/v1/compliance/provisions/{p}"),
            Role::Compliance,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{prov}");
    assert!(prov["text"].as_str().unwrap().len() > 10);
    let line = json!({"id": "hk-note", "regime": "hkma", "field": "technicalRecordId", "text": "HKMA: our technical record id carries the event timestamp to the nanosecond."}).to_string();
    let (st, v) = api
        .json(
            Method::POST,
            "/v1/compliance/catalogue",
            Role::Ops,
            Some(json!({"provisions": line, "note": "n"})),
        )
        .await;
    assert_eq!(
        st,
        StatusCode::FORBIDDEN,
        "ops may read, not change the catalogue: {v}"
    );
    let (st, v) = api
        .json(
            Method::POST,
            "/v1/compliance/catalogue",
            Role::Compliance,
            Some(json!({"provisions": line, "note": "HKMA desk note"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["version"], "v2");
    let (_, cat) = api
        .json(
            Method::GET,
            "/v1/compliance/catalogue",
            Role::Compliance,
            None,
        )
        .await;
    assert_eq!(cat["versions"].as_array().unwrap().len(), 2);
    let (st, _) = api
        .json(
            Method::GET,
            "/v1/compliance/provisions/firm:hk-note",
            Role::Legal,
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    // Roles: a trader may not; bad input is refused by field.
    let (st, _) = api
        .json(
            Method::POST,
            "/v1/compliance/compare",
            Role::Trader,
            Some(body.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let cases = [
        (json!({"reporting_timestamp": "now"}), "trade"),
        (json!({"trade": {"hello": 1}}), "trade: $"),
        (
            json!({"trade": trade, "facts": {"reporting_party_leii": "x"}}),
            "facts.",
        ),
        (
            json!({"trade": trade, "regimes": ["mifir"]}),
            "unknown regime",
        ),
        (
            json!({"trade": trade, "reporting_timestamp": "yesterday"}),
            "reporting_timestamp",
        ),
        (
            json!({"trade": trade, "facts": {"cleared": true, "reporting_party_lei": "RR3QWICWWIPCS8A4S074"}}),
            "ccp_lei",
        ),
    ];
    for (b, want) in cases {
        let (st, v) = api
            .json(
                Method::POST,
                "/v1/compliance/compare",
                Role::Compliance,
                Some(b.clone()),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{b}: {v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(want),
            "{want}: {v}"
        );
    }
    let (st, v) = api
        .json(
            Method::POST,
            "/v1/compliance/validate",
            Role::Compliance,
            Some(json!({"trade": trade, "regime": "esma-emir-trade", "report": 42})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
}

/// Loads a small catalogue (every regime's execution-timestamp and effective-date provisions,
/// and the JR/T elements) and puts its rule corpus in the knowledge base: quick to embed with
/// the fixture embedder. Returns the corpus documents ingested.
pub fn load_small_rule_corpus(a: &assistant::Assistant) -> usize {
    let all = std::fs::read_to_string(shared("regulation-en/drr-field-provisions.jsonl")).unwrap();
    let some: String = all
        .lines()
        .filter(|l| l.contains("\"executionTimestamp\"") || l.contains("\"effectiveDate\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let jrt = std::fs::read_to_string(shared(
        "regulation-zh/jr-t-0294.3-2024/JR_T_0294.3-2024_other_CDE_elements.json",
    ))
    .unwrap();
    let op = assistant::store::Actor::system();
    a.compliance_load(&op, &some, &jrt, "test", "a small catalogue for the test")
        .unwrap();
    let k = a.knowledge().unwrap();
    a.compliance_ingest_corpus(&k, &op).unwrap()
}

#[tokio::test]
async fn rule_questions_are_answered_from_the_rule_corpus_with_provision_ids() {
    let api = api();
    let n = load_small_rule_corpus(&api.state.assistant);
    assert!(n >= 3, "one document per regime and JR/T: {n}");
    let (st, v) = api
        .json(
            Method::POST,
            "/v1/compliance/ask",
            Role::Compliance,
            Some(json!({"question": "How does EMIR define the execution timestamp?"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // Whatever the fixture model writes, what it was given is the rule corpus, each piece a
    // provision.
    let evidence = v["answer"]["evidence"].as_array().unwrap();
    assert!(!evidence.is_empty(), "{v}");
    for e in evidence {
        let c: knowledge::Citation = serde_json::from_value(e.clone()).unwrap();
        assert!(
            [
                "regulation-drr",
                "regulation-jrt",
                "regulation-en",
                "regulation-zh"
            ]
            .contains(&c.collection.as_str()),
            "{}",
            c.collection
        );
        if c.collection == "regulation-drr" {
            let id = assistant::reporting::provision_of(&c).unwrap_or_default();
            assert!(id.starts_with("drr:"), "{} → {id}", c.path);
        }
    }
    // The field the question names is quoted first, verbatim and cited, before the model's
    // words (streamed at once), whatever the fixture model then writes.
    assert!(v["answer"]["lead"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["answer"]["found"], true, "{v}");
    let text = v["answer"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("EU EMIR Refit (ESMA)")
            && text.contains("Execution Timestamp")
            && text.contains("[1]"),
        "{text}"
    );
    let first = v["provisions"][0][1].as_str().unwrap();
    let cited: knowledge::Citation =
        serde_json::from_value(v["answer"]["citations"][0].clone()).unwrap();
    assert!(
        first.starts_with("drr:") && cited.path.contains("executionTimestamp"),
        "{first} {}",
        cited.path
    );
    for (n, id) in v["provisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_u64().unwrap(), p[1].as_str().unwrap().to_owned()))
    {
        assert!(
            n >= 1
                && (id.starts_with("drr:")
                    || id.starts_with("jrt:")
                    || id.starts_with("esma-gl:")
                    || id.starts_with("law:")),
            "{id}"
        );
    }
    let (st, _) = api
        .json(
            Method::POST,
            "/v1/compliance/ask",
            Role::Trader,
            Some(json!({"question": "x"})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}
