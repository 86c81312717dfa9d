//! Ad-hoc pricing and risk over HTTP: `POST /v1/price`, `/v1/risk/book`, `/v1/risk/grid` with
//! the examples of `kernels/examples/`: values agree with the pricing core called directly,
//! bad products are 400 naming the field, bounds are enforced, roles without `pricing.run` are
//! refused, and every run is audited.

use super::api::{api_with, error_code};
use axum::http::{Method, StatusCode};
use kernels::pricing::{PricingRequest, price};
use kernels::{Market, Product};
use policies::Role;
use serde_json::{Value, json};

fn example(name: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../kernels/examples/").to_string() + name;
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn book() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../kernels/examples/book.jsonl"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn price_book_and_grid_over_http() {
    let a = api_with(|c| c.pricing.max_grid_cells = 500);
    let call = example("european_call.json");
    let market = example("market.json");

    // One product: the same value as the core called directly, with Greeks and the engine.
    let r = a
        .send(
            Method::POST,
            "/v1/price",
            Some(Role::Trader),
            Some(json!({"product": call, "market": market})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let direct = price(
        &Product::from_json("p", &call.to_string()).unwrap(),
        &Market::from_json("m", &market.to_string()).unwrap(),
        &PricingRequest {
            greeks: true,
            ..PricingRequest::default()
        },
    )
    .unwrap();
    assert_eq!(r.body["value"].as_f64().unwrap(), direct.value);
    assert_eq!(r.body["engine"], "analytic", "{}", r.body);
    assert!(r.body["greeks"]["delta"].as_f64().unwrap() > 0.0);

    // A bad product names the field; an unknown engine, too many paths: 400.
    let mut bad = call.clone();
    bad["payoff"]["legs"][0]["strike"] = json!("-5%");
    for (body, needle) in [
        (json!({"product": bad, "market": market}), "strike"),
        (
            json!({"product": call, "market": market, "engine": "magic"}),
            "engine",
        ),
        (
            json!({"product": call, "market": market, "paths": 100_000_000u64}),
            "paths",
        ),
        (json!({"product": call}), "market"),
    ] {
        let r = a
            .send(Method::POST, "/v1/price", Some(Role::Risk), Some(body))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert_eq!(error_code(&r), "invalid_request");
        assert!(r.body.to_string().contains(needle), "{needle}: {}", r.body);
    }

    // A book: totals and per-contract results.
    let markets = example("markets_by_underlying.json");
    let products = book();
    let r = a
        .send(
            Method::POST,
            "/v1/risk/book",
            Some(Role::Risk),
            Some(json!({"products": products, "market": markets, "paths": 20000})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["contracts"].as_array().unwrap().len(),
        products.len()
    );
    // The example book holds two bad contracts on purpose: each fails alone, naming the field.
    assert_eq!(
        (&r.body["priced"], &r.body["failed"]),
        (&json!(6), &json!(2)),
        "{}",
        r.body
    );
    let errors: Vec<&str> = r.body["contracts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["error"]["message"].as_str())
        .collect();
    assert!(errors[0].contains("autocall.ki.level"), "{errors:?}");
    assert!(errors[1].contains("underlying"), "{errors:?}");

    // A grid: one value per cell; over the bound: 400 naming the bound.
    let grid =
        json!({"spot_pct": [90.0, 100.0, 110.0], "vol_shift": [-0.02, 0.0, 0.02], "days": [0]});
    let r = a
        .send(
            Method::POST,
            "/v1/risk/grid",
            Some(Role::Trader),
            Some(json!({"products": [call], "market": market, "grid": grid})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body["value"][0].as_array().unwrap().len(),
        3,
        "{}",
        r.body
    );
    let big = json!({"spot_pct": (0..30).map(|i| 80.0 + i as f64).collect::<Vec<_>>(),
                     "vol_shift": [-0.02, -0.01, 0.0, 0.01, 0.02], "days": [0, 5, 10, 15, 20]});
    let r = a
        .send(
            Method::POST,
            "/v1/risk/grid",
            Some(Role::Trader),
            Some(json!({"products": [call], "market": market, "grid": big})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.to_string().contains("max_grid_cells"), "{}", r.body);

    // Roles without pricing.run.
    for role in [Role::Client, Role::Legal, Role::Ops, Role::Compliance] {
        let r = a
            .send(
                Method::POST,
                "/v1/price",
                Some(role),
                Some(json!({"product": call, "market": market})),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}");
    }

    // Every run is audited with its input hash.
    let entries = a
        .state
        .assistant
        .store()
        .audit_entries(0, None, None, 1000)
        .unwrap();
    let runs: Vec<_> = entries
        .iter()
        .filter(|e| ["pricing.run", "risk.book", "risk.grid"].contains(&e.action.as_str()))
        .collect();
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert!(runs.iter().all(|e| e.details["input_sha256"].is_string()));
}
