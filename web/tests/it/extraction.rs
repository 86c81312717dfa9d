//! Upload-and-extract over HTTP: multipart upload → job → background extraction → per-file
//! results → corrections → four-eyes approval → CDM and key-terms exports; the upload route's
//! own body limit; bad requests in the API's error shape.

use assistant::Assistant;
use assistant::config::Config;
use assistant::store::Actor;
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use policies::Role;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tower::ServiceExt;
use web::{AppState, app};

const OPTION: &str = "EQUITY OPTION TRANSACTION CONFIRMATION
The Transaction entered into between Eastbank Securities Co., Ltd. (\"Party A\") and Harbour Fund Ltd (\"Party B\").
Trade Date: 27 February 2026
Option Style: European
Option Type: Call
Seller: Party A
Buyer: Party B
Shares: Ordinary shares of Tencent Holdings Limited (Bloomberg: 700 HK)
Number of Options: 100,000
Strike Price: HKD 420.00
Premium: HKD 2,350,000
Expiration Date: 26 February 2027
Settlement Method: Cash Settlement
";

struct Api {
    router: Router,
    tokens: BTreeMap<String, String>,
    _dir: tempfile::TempDir,
}

fn api(f: impl FnOnce(&mut Config)) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_path_buf();
    f(&mut config);
    let a = Assistant::open(config).unwrap();
    let mut tokens = BTreeMap::new();
    for (name, role) in [
        ("ops1", Role::Ops),
        ("ops2", Role::Ops),
        ("ops3", Role::Ops),
        ("trader1", Role::Trader),
    ] {
        a.create_user(&Actor::system(), name, role).unwrap();
        tokens.insert(
            name.to_owned(),
            a.issue_token(&Actor::system(), name, "t", None)
                .unwrap()
                .token,
        );
    }
    Api {
        router: app(AppState::new(a)),
        tokens,
        _dir: dir,
    }
}

fn multipart(files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "deskmate-test-boundary-7d1a";
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        user: &str,
        ctype: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut b = Request::builder().method(method).uri(path).header(
            header::AUTHORIZATION,
            format!("Bearer {}", self.tokens[user]),
        );
        if let Some(c) = ctype {
            b = b.header(header::CONTENT_TYPE, c);
        }
        let resp = self
            .router
            .clone()
            .oneshot(b.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        user: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        self.call(
            method,
            path,
            user,
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_poll_correct_approve_export() {
    let api = api(|_| {});
    let (ctype, body) = multipart(&[
        ("option.txt", OPTION.as_bytes()),
        ("menu.txt", b"Soup of the day."),
    ]);
    let (status, reply) = api
        .call(Method::POST, "/v1/extractions", "ops1", Some(&ctype), body)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{reply}");
    let id = reply["job_id"].as_str().unwrap().to_owned();
    assert_eq!(reply["files"].as_array().unwrap().len(), 2);
    let mut view = Value::Null;
    for _ in 0..600 {
        let (s, v) = api
            .call(
                Method::GET,
                &format!("/v1/extractions/{id}"),
                "ops1",
                None,
                Vec::new(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if v["state"] == "succeeded" {
            view = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(view["state"], "succeeded", "the job did not finish");
    assert_eq!(
        view["files"][0]["status"], "extracted",
        "{}",
        view["files"][0]
    );
    assert_eq!(view["files"][1]["status"], "not_a_confirmation");
    let r = &view["files"][0]["result"];
    assert_eq!(
        r["key_terms"]["strike"],
        json!({"value": 420, "unit": "price", "currency": "HKD"})
    );
    assert!(r["fields"][0]["evidence"][0]["snippet"].is_string());
    let approval = view["files"][0]["approval_id"].as_str().unwrap().to_owned();
    // The same confirmation again (issue #15, finding 8): refused with the job that holds it;
    // a batch holding one file twice is refused too. Nothing new is created.
    let (ctype, body) = multipart(&[("option-again.txt", OPTION.as_bytes())]);
    let (s, v) = api
        .call(Method::POST, "/v1/extractions", "ops1", Some(&ctype), body)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&id) && message.contains(&approval),
        "{message}"
    );
    let (ctype, body) = multipart(&[("a.txt", b"Soup."), ("b.txt", b"Soup.")]);
    let (s, v) = api
        .call(Method::POST, "/v1/extractions", "ops1", Some(&ctype), body)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // Not approved yet: no export.
    let (s, v) = api
        .call(
            Method::GET,
            &format!("/v1/extraction-results/{approval}/cdm"),
            "ops1",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // A correction with its reason, then four-eyes: the maker may not approve.
    let (s, v) = api
        .json(
            Method::POST,
            &format!("/v1/extraction-results/{approval}/corrections"),
            "ops2",
            json!({"corrections": [{"field": "premium.payment_date", "value": "2026-03-03", "reason": "stated in the cover email"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["approval"]["payload"]["key_terms"]["premium"]["payment_date"],
        "2026-03-03"
    );
    let (s, _) = api
        .json(
            Method::POST,
            &format!("/v1/approvals/{approval}/approve"),
            "ops1",
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Neither may the last editor, nor a trader; a third ops reviewer may.
    let (s, _) = api
        .json(
            Method::POST,
            &format!("/v1/approvals/{approval}/approve"),
            "ops2",
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = api
        .json(
            Method::POST,
            &format!("/v1/approvals/{approval}/approve"),
            "trader1",
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = api
        .json(
            Method::POST,
            &format!("/v1/approvals/{approval}/approve"),
            "ops3",
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, cdm) = api
        .call(
            Method::GET,
            &format!("/v1/extraction-results/{approval}/cdm"),
            "ops1",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{cdm}");
    assert_eq!(cdm["trade"]["tradeDate"]["value"], "2026-02-27");
    let (s, kt) = api
        .call(
            Method::GET,
            &format!("/v1/extraction-results/{approval}/key-terms"),
            "ops1",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(kt["premium"]["payment_date"], "2026-03-03");
    let (s, list) = api
        .call(
            Method::GET,
            &format!("/v1/extractions/{id}/exports"),
            "ops1",
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let exports = list["exports"].as_array().unwrap();
    assert_eq!(exports.len(), 1);
    assert_eq!(exports[0]["file_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(exports[0]["approved_by"], "ops3");
}

#[tokio::test]
async fn the_upload_route_has_its_own_body_limit() {
    let api = api(|c| {
        c.server.max_body_bytes = 1024;
        c.server.max_upload_bytes = 8 * 1024;
    });
    let big_for_json = vec![b'a'; 4 * 1024];
    let (ctype, body) = multipart(&[("a.txt", &big_for_json)]);
    let (s, v) = api
        .call(Method::POST, "/v1/extractions", "ops1", Some(&ctype), body)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let too_big = vec![b'a'; 16 * 1024];
    let (ctype, body) = multipart(&[("b.txt", &too_big)]);
    let (s, v) = api
        .call(Method::POST, "/v1/extractions", "ops1", Some(&ctype), body)
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(v["error"]["code"], "payload_too_large");
    let (s, v) = api
        .call(
            Method::POST,
            "/v1/extractions",
            "ops1",
            Some("application/json"),
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    let (ctype, body) = multipart(&[]);
    let (s, v) = api
        .call(Method::POST, "/v1/extractions", "ops1", Some(&ctype), body)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (ctype, body) = multipart(&[("a.txt", b"x")]);
    let (s, _) = api
        .call(
            Method::POST,
            "/v1/extractions",
            "trader1",
            Some(&ctype),
            body,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
