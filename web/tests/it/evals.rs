//! The evaluation suites over HTTP for the model-risk team (evals.read, evals.run): list, run
//! in the background as a job, read the latest report.

use super::api::api_with;
use axum::http::{Method, StatusCode};
use policies::Role;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_risk_runs_a_suite_and_reads_its_report() {
    let a = api_with(|_| {});
    let r = a
        .send(Method::GET, "/v1/evals", Some(Role::ModelRisk), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let names: Vec<&str> = r.body["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"audit"), "{names:?}");
    assert_eq!(r.body["suites"][0]["latest"], json!(null));
    // Not run yet; an unknown suite is 404.
    let r = a
        .send(
            Method::GET,
            "/v1/evals/audit/report",
            Some(Role::ModelRisk),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = a
        .send(
            Method::POST,
            "/v1/evals/nonsense/runs",
            Some(Role::ModelRisk),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // Run the audit-chain suite.
    let r = a
        .send(
            Method::POST,
            "/v1/evals/audit/runs",
            Some(Role::ModelRisk),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let job = r.body["job"]["id"].as_str().unwrap().to_string();
    let mut state = json!(null);
    for _ in 0..600 {
        let r = a
            .send(
                Method::GET,
                &format!("/v1/jobs/{job}"),
                Some(Role::ModelRisk),
                None,
            )
            .await;
        state = r.body.clone();
        if r.body["state"] == "succeeded" || r.body["state"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state["state"], "succeeded", "{state}");
    assert_eq!(state["result"]["passed"], true, "{state}");
    let r = a
        .send(
            Method::GET,
            "/v1/evals/audit/report",
            Some(Role::ModelRisk),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["suite"], "audit");
    assert!(
        !r.body["metrics"].as_array().unwrap().is_empty(),
        "{}",
        r.body
    );
    let r = a
        .send(Method::GET, "/v1/evals", Some(Role::ModelRisk), None)
        .await;
    let audit = r.body["suites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "audit")
        .unwrap()
        .clone();
    assert_eq!(audit["latest"]["passed"], true, "{audit}");
    // A trader may neither run nor read them.
    let r = a
        .send(
            Method::POST,
            "/v1/evals/audit/runs",
            Some(Role::Trader),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
