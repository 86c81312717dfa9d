//! Market data and events through the API: the real S&P 500 file of the demo uploaded, its
//! moves listed, a contradicting file refused whole, risk events opened by hand, permissions.

use crate::drafting::{api_for, multipart};
use axum::http::{Method, StatusCode};
use policies::Role;
use serde_json::json;

fn demo(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../demo/market-data")
            .join(name),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_data_is_uploaded_its_moves_listed_and_risk_events_opened() {
    let api = api_for(
        &[
            ("rita", Role::Risk),
            ("tom", Role::Trader),
            ("leo", Role::Legal),
        ],
        |_| {},
    );
    let sp = demo("sp500-2018.csv");
    let (ctype, body) = multipart(
        ("sp500-2018.csv", &sp),
        &[("contract", "S&P 500"), ("unit", "points")],
    );
    // Traders read market data but do not import it.
    let (s, _) = api
        .call(
            Method::POST,
            "/v1/market-data",
            "tom",
            Some(&ctype),
            body.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, r) = api
        .call(Method::POST, "/v1/market-data", "rita", Some(&ctype), body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["bars_new"], 251);
    assert_eq!(r["events"].as_array().unwrap().len(), 6, "{r}");
    let (s, c) = api
        .json(Method::GET, "/v1/market-data", "tom", json!(null))
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["contracts"][0]["first"], "2018-01-02");
    assert_eq!(c["contracts"][0]["last"], "2018-12-31");
    let (s, b) = api
        .json(
            Method::GET,
            "/v1/market-data/S%26P%20500?from=2018-02-05&to=2018-02-05",
            "tom",
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["bars"][0]["close"], 2648.939941);
    let (s, e) = api
        .json(Method::GET, "/v1/events?kind=move", "tom", json!(null))
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let moves = e["events"].as_array().unwrap();
    assert_eq!(moves.len(), 6);
    assert_eq!(moves[0]["date"], "2018-12-26", "newest first");
    assert!(
        moves[0]["details"]["description_zh"]
            .as_str()
            .unwrap()
            .contains("上涨4.96%")
    );
    // A file that contradicts a stored bar is refused whole, naming the row.
    let (ctype, body) = multipart(
        ("fix.csv", b"date,contract,close\n2018-12-31,S&P 500,2500\n"),
        &[],
    );
    let (s, err) = api
        .call(Method::POST, "/v1/market-data", "rita", Some(&ctype), body)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{err}");
    let m = err["error"]["message"].as_str().unwrap();
    assert!(
        m.contains("row 1 gives S&P 500 on 2018-12-31 other values"),
        "{m}"
    );
    // A file that is not bars.
    let (ctype, body) = multipart(("notes.txt", b"hello"), &[]);
    let (s, err) = api
        .call(Method::POST, "/v1/market-data", "rita", Some(&ctype), body)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no date column"),
        "{err}"
    );
    // A risk event by hand; legal may not see market events.
    let (s, ev) = api
        .json(
            Method::POST,
            "/v1/events",
            "rita",
            json!({"topic": "Volatility spike", "products": ["S&P 500"], "from": "2018-02-01", "until": "2018-02-09"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ev}");
    let (s, got) = api
        .json(
            Method::GET,
            &format!("/v1/events/{}", ev["id"].as_str().unwrap()),
            "tom",
            json!(null),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got["topic"], "Volatility spike");
    let (s, bad) = api
        .json(
            Method::POST,
            "/v1/events",
            "rita",
            json!({"topic": "x", "products": ["S&P 500"], "from": "2018-02-09", "until": "2018-02-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("until")
    );
    let (s, _) = api
        .json(Method::GET, "/v1/events", "leo", json!(null))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
