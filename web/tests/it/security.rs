//! Regression tests for the hostile tester's findings (issue #15), through the public API with
//! the fixture models attached, and the class tests that close each finding's class.

use super::documents::{Api, api};
use assistant::store::Actor;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use policies::{Clearance, DataClass, Role};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Every classification, each with a marker string that appears only in data of that class.
fn classes() -> Vec<(DataClass, String)> {
    ["general", "important", "core"]
        .into_iter()
        .flat_map(|level| {
            [false, true].map(|sensitive| {
                let class: DataClass =
                    format!("{level}{}", if sensitive { "+sensitive" } else { "" })
                        .parse()
                        .unwrap();
                let marker = format!(
                    "QZX{}{}MARK",
                    level.to_uppercase(),
                    if sensitive { "SENS" } else { "" }
                );
                (class, marker)
            })
        })
        .collect()
}

impl Api {
    async fn get(&self, path: &str, role: Role) -> (StatusCode, String) {
        if web::ui::is_page_path(path) {
            return self.get_page(path, role).await;
        }
        let req = self
            .req(Method::GET, path, role)
            .body(Body::empty())
            .unwrap();
        let (s, v) = self.send(req).await;
        (s, v.to_string())
    }

    /// A page as `role`'s user sees it in a browser: signed in with a password, the body as
    /// text.
    async fn get_page(&self, path: &str, role: Role) -> (StatusCode, String) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        static SIGNED_IN: std::sync::Mutex<BTreeMap<String, String>> =
            std::sync::Mutex::new(BTreeMap::new());
        let a = &self.state.assistant;
        let name = format!("{}1", role.as_str());
        let key = format!("{}/{name}", a.store().data_dir().display());
        let cached = SIGNED_IN.lock().unwrap().get(&key).cloned();
        let secret = match cached {
            Some(s) => s,
            None => {
                a.set_password(&Actor::system(), &name, "page sweep password")
                    .unwrap();
                let s = a
                    .sign_in(&name, "page sweep password", "test", "test", None)
                    .unwrap()
                    .secret;
                SIGNED_IN.lock().unwrap().insert(key, s.clone());
                s
            }
        };
        let req = Request::builder()
            .uri(path)
            .header(header::COOKIE, format!("dm_session={secret}"))
            .body(Body::empty())
            .unwrap();
        let resp = web::app(self.state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        assert_ne!(
            status,
            StatusCode::SEE_OTHER,
            "{role} was not signed in for {path}"
        );
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn token_for(&self, user: &str, role: Role) -> String {
        let a = &self.state.assistant;
        a.create_user(&Actor::system(), user, role).unwrap();
        a.issue_token(&Actor::system(), user, "test", None)
            .unwrap()
            .token
    }
}

/// The class test for finding 1: a data set holding every classification, with a marker in
/// every field a user could see (file names, titles, text, approval payloads, job inputs, audit
/// details); every list and get route called as every role, with every id; no response body
/// may hold a marker of a class above the caller's clearance. Admin sees every marker, so the
/// test can see a leak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_shows_anything_above_the_callers_clearance() {
    let api = api();
    let mut ids: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (class, marker) in classes() {
        // A document whose file name, title and text carry the marker.
        let text = format!("# {marker} policy\n\nThe {marker} margin ratio is 15 percent.\n");
        let (s, b) = api
            .upload_with(
                Role::Admin,
                &format!("{marker}.md"),
                &text,
                &[
                    ("collection", "canary"),
                    ("classification", &class.to_string()),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        let job_id = b["job"]["id"].as_str().unwrap().to_string();
        let job = api.wait_job(&job_id, Role::Admin).await;
        assert_eq!(job["state"], "succeeded", "{job}");
        ids.entry("job").or_default().push(job_id);
        ids.entry("document")
            .or_default()
            .push(job["result"]["documents"][0]["id"].as_str().unwrap().into());
        // An approval whose title and payload carry it, decided by a role that may read it.
        let (s, b) = api
            .json(
                Method::POST,
                "/v1/approvals",
                Role::Admin,
                Some(json!({
                    "kind": "report", "title": format!("{marker} report"),
                    "payload": {"body": format!("{marker} figures")},
                    "required_role": "admin", "classification": class.to_string(),
                })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        ids.entry("approval")
            .or_default()
            .push(b["id"].as_str().unwrap().into());
    }

    let all_ids: Vec<&String> = ids.values().flatten().collect();
    let routes = web::routes();
    let mut requests = 0;
    for role in Role::ALL {
        let clearance = Clearance::of(role);
        let forbidden_markers: Vec<(DataClass, String)> = classes()
            .into_iter()
            .filter(|(c, _)| !clearance.can_read(*c))
            .collect();
        let mut seen = String::new();
        for r in &routes {
            // Pages included (as a signed-in browser); the event stream never ends and holds
            // no data (`changed` and a sequence number).
            if r.method != Method::GET
                || r.path.ends_with("/events")
                || r.access == web::Access::Signed
                || (r.surface == web::Surface::Page && r.access == web::Access::Public)
            {
                continue;
            }
            let allowed = match r.access {
                web::Access::Public | web::Access::Authenticated | web::Access::Signed => true,
                web::Access::Permission(p) => role.allows(p),
            };
            if !allowed {
                continue;
            }
            let paths: Vec<String> = if r.path.contains("{id}") {
                all_ids
                    .iter()
                    .map(|id| r.path.replace("{id}", id))
                    .collect()
            } else if r.path.contains('{') {
                continue;
            } else if r.path == "/v1/audit" {
                vec!["/v1/audit?limit=1000".into()]
            } else {
                vec![r.path.to_string()]
            };
            for path in paths {
                let (status, body) = api.get(&path, role).await;
                requests += 1;
                assert!(
                    !status.is_server_error(),
                    "{role} GET {path}: {status} {body}"
                );
                for (class, marker) in &forbidden_markers {
                    assert!(
                        !body.contains(marker.as_str()),
                        "{role} (clearance {clearance:?}) saw {class} data in GET {path}: {body}"
                    );
                }
                seen.push_str(&body);
            }
        }
        // Search as a reader, by every marker.
        if role.allows(policies::Permission::DocumentsRead) {
            for (_, m) in classes() {
                let (s, b) = api
                    .json(
                        Method::POST,
                        "/v1/search",
                        role,
                        Some(json!({"query": format!("{m} margin ratio"), "k": 20})),
                    )
                    .await;
                assert_eq!(s, StatusCode::OK, "{b}");
                requests += 1;
                // The query is echoed back: only the hits may not hold a marker.
                let body = b["hits"].to_string();
                for (class, marker) in &forbidden_markers {
                    assert!(
                        !body.contains(marker.as_str()),
                        "{role} found {class} data by search: {body}"
                    );
                }
                seen.push_str(&body);
            }
        }
        // What the role may read, it does see (so the assertions above can fail).
        for (class, marker) in classes() {
            if clearance.can_read(class)
                && (role.allows(policies::Permission::AuditRead) || role == Role::Admin)
            {
                assert!(
                    seen.contains(&marker),
                    "{role} should see {class} data ({marker}) somewhere"
                );
            }
        }
    }
    eprintln!("hostile suite: clearance = {requests} requests (8 roles, 6 classes)");
    assert!(requests >= 200, "{requests}");
}

/// Finding 1 as reported: a model_risk user reads the audit log; the core+sensitive approval's
/// payload is withheld (the entry is there, redacted), while its own reads are whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_entries_above_clearance_come_redacted() {
    let api = api();
    let (s, b) = api
        .json(
            Method::POST,
            "/v1/approvals",
            Role::Legal,
            Some(json!({
                "kind": "term_sheet", "title": "Project LOTUS side letter",
                "payload": {"secret": "counterparty LOTUS pays 7.5%"},
                "required_role": "legal", "classification": "core+sensitive",
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let approval = b["id"].as_str().unwrap().to_string();
    let (s, body) = api.get("/v1/audit?limit=1000", Role::ModelRisk).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains("LOTUS"), "{body}");
    assert!(!body.contains(&approval), "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let create = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        // (The model versions proposed at open are approval entries too, readable by model
        // risk.)
        .find(|e| e["action"] == "approval.create" && e["classification"] == "core+sensitive")
        .expect("the entry is listed");
    assert_eq!(create["redacted"], true, "{create}");
    assert_eq!(create["classification"], "core+sensitive");
    assert!(create["details"].is_null());
    // Compliance is cleared for it and sees it whole.
    let (_, body) = api.get("/v1/audit?limit=1000", Role::Compliance).await;
    assert!(body.contains("LOTUS"), "{body}");
    // And GET /v1/approvals/{id} agrees with the audit log.
    let (s, _) = api
        .get(&format!("/v1/approvals/{approval}"), Role::ModelRisk)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A start past the last sequence number does not wrap.
    let (s, body) = api
        .get("/v1/audit?from_seq=18446744073709551615", Role::Compliance)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["entries"], json!([]), "{body}");
}

/// Finding 2: a colliding file name from a user who may not read the existing document makes
/// a separate document; a replacement may not lower the classification without an explicit,
/// permitted declassification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_identity_is_not_a_file_name() {
    let api = api();
    let core_text = "# Netting opinion\n\nThe close-out netting opinion for LOTUS is qualified.\n";
    let (s, b) = api
        .upload_with(
            Role::Legal,
            "opinion.md",
            core_text,
            &[("collection", "legal"), ("classification", "core")],
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let job = api
        .wait_job(b["job"]["id"].as_str().unwrap(), Role::Legal)
        .await;
    let core_id = job["result"]["documents"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Ops uploads the same name as general: a new document, the core one untouched.
    let (s, b) = api
        .upload_with(
            Role::Ops,
            "opinion.md",
            "# Opinion\n\nNothing to see.\n",
            &[("collection", "legal"), ("classification", "general")],
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let job = api
        .wait_job(b["job"]["id"].as_str().unwrap(), Role::Ops)
        .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let d = &job["result"]["documents"][0];
    assert_eq!(d["status"], "added", "{job}");
    assert_ne!(d["id"], core_id.as_str());
    assert!(!job.to_string().contains(&core_id), "{job}");
    let (_, list) = api
        .json(Method::GET, "/v1/documents", Role::Legal, None)
        .await;
    let core = list["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == core_id.as_str())
        .expect("the core document is still there");
    assert_eq!(core["version"], 1, "{core}");
    assert_eq!(core["classification"], "core");
    // Risk (important clearance) sees Ops' document, never the core text.
    let (s, r) = api
        .json(
            Method::POST,
            "/v1/search",
            Role::Risk,
            Some(json!({"query": "close-out netting opinion LOTUS", "k": 10})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!r["hits"].to_string().contains("LOTUS"), "{r}");

    // Legal re-uploads its document as general: refused, named; with declassify: allowed and
    // audited.
    let (s, b) = api
        .upload_with(
            Role::Legal,
            "opinion.md",
            "# Netting opinion\n\nThe opinion is now public.\n",
            &[("collection", "legal"), ("classification", "general")],
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let job = api
        .wait_job(b["job"]["id"].as_str().unwrap(), Role::Legal)
        .await;
    let err = job["result"]["errors"][0]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(err.contains("lower its classification"), "{job}");
    let (s, b) = api
        .upload_with(
            Role::Legal,
            "opinion.md",
            "# Netting opinion\n\nThe opinion is now public.\n",
            &[
                ("collection", "legal"),
                ("classification", "general"),
                ("declassify", "true"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let job = api
        .wait_job(b["job"]["id"].as_str().unwrap(), Role::Legal)
        .await;
    assert_eq!(job["result"]["documents"][0]["status"], "replaced", "{job}");
    assert_eq!(job["result"]["documents"][0]["id"], core_id.as_str());
    let (_, audit) = api.get("/v1/audit?limit=1000", Role::Admin).await;
    assert!(audit.contains("document.declassify"), "{audit}");
}

/// Findings 8 and 9: concurrent identical uploads give one version; `Idempotency-Key` replays
/// a creation; file names keep their last component; a bad collection is refused before any
/// job; another user's job is not found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_idempotent_and_names_are_safe() {
    let api = api();
    let text = "# Margin\n\nInitial margin is posted daily.\n";
    let mut jobs = Vec::new();
    let uploads = (0..3).map(|_| {
        api.upload_with(
            Role::Legal,
            "margin.md",
            text,
            &[("collection", "ops"), ("classification", "general")],
        )
    });
    for (s, b) in futures::future::join_all(uploads).await {
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        jobs.push(b["job"]["id"].as_str().unwrap().to_string());
    }
    let mut statuses = Vec::new();
    for j in &jobs {
        let job = api.wait_job(j, Role::Legal).await;
        statuses.push(job["result"]["documents"][0]["status"].clone());
    }
    statuses.sort_by_key(|s| s.to_string());
    assert_eq!(
        statuses,
        vec![json!("added"), json!("unchanged"), json!("unchanged")]
    );
    let (_, list) = api
        .json(
            Method::GET,
            "/v1/documents?collection=ops",
            Role::Legal,
            None,
        )
        .await;
    assert_eq!(list["documents"][0]["version"], 1, "{list}");

    // A path in the file name keeps only its last component.
    let (s, b) = api
        .upload_with(
            Role::Legal,
            "../../etc/passwd",
            "root line is not a secret here\n",
            &[("collection", "ops")],
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let job = api
        .wait_job(b["job"]["id"].as_str().unwrap(), Role::Legal)
        .await;
    assert_eq!(job["result"]["documents"][0]["source"], "passwd", "{job}");
    // A bad collection name: 400 at once, no job.
    let (s, b) = api
        .upload_with(Role::Legal, "a.md", "x y z\n", &[("collection", "../evil")])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(b.to_string().contains("collection"), "{b}");
    // Another legal user cannot read the first one's job.
    let other = api.token_for("legal2", Role::Legal);
    let req = Request::builder()
        .uri(format!("/v1/jobs/{}", jobs[0]))
        .header(header::AUTHORIZATION, format!("Bearer {other}"))
        .body(Body::empty())
        .unwrap();
    let (s, _) = api.send(req).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Idempotency-Key: the same request twice is one approval; a different one is 422.
    let body = json!({"kind": "report", "title": "Daily risk", "payload": {"n": 1},
                      "required_role": "risk"});
    let send = |body: Value| {
        let req = api
            .req(Method::POST, "/v1/approvals", Role::Risk)
            .header("idempotency-key", "risk-2026-12-04")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        api.send(req)
    };
    let (s1, b1) = send(body.clone()).await;
    assert_eq!(s1, StatusCode::CREATED, "{b1}");
    let (s2, b2) = send(body.clone()).await;
    assert_eq!((s2, &b2["id"]), (StatusCode::CREATED, &b1["id"]), "{b2}");
    let (s3, b3) = send(json!({"kind": "report", "title": "Other", "payload": {},
                               "required_role": "risk"}))
    .await;
    assert_eq!(s3, StatusCode::UNPROCESSABLE_ENTITY, "{b3}");
    assert_eq!(b3["error"]["code"], "idempotency_key_reused");
}

/// Finding 9: reserved actor names and control characters in token labels are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_names_and_bad_labels_are_refused() {
    let api = api();
    for name in ["system", "cli-operator", "SYSTEM", "rfq-desk"] {
        let (s, b) = api
            .json(
                Method::POST,
                "/v1/users",
                Role::Admin,
                Some(json!({"name": name, "role": "admin"})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name}: {b}");
        assert!(b.to_string().contains("reserved"), "{b}");
    }
    for label in ["a\u{0}b", "", &"x".repeat(101)] {
        let (s, b) = api
            .json(
                Method::POST,
                "/v1/users/legal1/tokens",
                Role::Admin,
                Some(json!({"label": label})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{label:?}: {b}");
    }
}
