//! The knowledge-base routes through `app()` with the fixture models attached (all-MiniLM-L6-v2
//! embeds, SmolLM2-135M answers): multipart upload → job → documents, listings per role,
//! clearance on upload, ask with citations, delete. Access per role for every route is in
//! `api.rs` (the route table test).

use assistant::Assistant;
use assistant::config::Config;
use assistant::documents::Knowledge;
use assistant::store::Actor;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use models::{GeneratorOptions, ModelStore, Models};
use policies::Role;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tower::ServiceExt;
use web::{AppState, app};

const TEXT: &str = "REGULATION ON OTC DERIVATIVES\n\nArticle 9\nReporting obligation\n\n\
1. Counterparties shall report the details of any derivative contract to a trade repository no later than the working day following its conclusion.\n\n\
2. Counterparties shall keep a record of any derivative contract for at least five years following its termination.\n";

pub(crate) struct Api {
    pub(crate) state: AppState,
    pub(crate) tokens: BTreeMap<Role, String>,
    _dir: tempfile::TempDir,
}

pub(crate) fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_path_buf();
    config.knowledge.embedder = "all-minilm-l6-v2".into();
    config.knowledge.generator = "smollm2-135m-instruct".into();
    config.knowledge.answer_min_similarity = 0.45;
    config.knowledge.answer_max_tokens = 32;
    // The clearance sweep (security.rs) sends hundreds of requests a second as one user.
    config.server.user_rate_burst = 100_000;
    let models = Models::new(ModelStore::from_env(), GeneratorOptions::default());
    let k = Knowledge::open_with_models(&config, &models, "test").unwrap();
    let a = Assistant::open(config).unwrap();
    crate::approve_models(&a);
    a.attach_knowledge(k);
    let mut tokens = BTreeMap::new();
    for role in Role::ALL {
        let name = format!("{}1", role.as_str());
        a.create_user(&Actor::system(), &name, role).unwrap();
        tokens.insert(
            role,
            a.issue_token(&Actor::system(), &name, "test", None)
                .unwrap()
                .token,
        );
    }
    Api {
        state: AppState::new(a),
        tokens,
        _dir: dir,
    }
}

impl Api {
    pub(crate) async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = app(self.state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    pub(crate) fn req(
        &self,
        method: Method,
        path: &str,
        role: Role,
    ) -> axum::http::request::Builder {
        Request::builder().method(method).uri(path).header(
            header::AUTHORIZATION,
            format!("Bearer {}", self.tokens[&role]),
        )
    }

    pub(crate) async fn json(
        &self,
        method: Method,
        path: &str,
        role: Role,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let b = self.req(method, path, role);
        let req = match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    async fn upload(&self, role: Role, file: &str, text: &str, class: &str) -> (StatusCode, Value) {
        self.upload_with(
            role,
            file,
            text,
            &[("collection", "regulation-en"), ("classification", class)],
        )
        .await
    }

    /// Uploads one file with the given form fields (before the file part).
    pub(crate) async fn upload_with(
        &self,
        role: Role,
        file: &str,
        text: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let boundary = "XBOUNDARYX";
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file}\"\r\nContent-Type: text/plain\r\n\r\n{text}\r\n\
--{boundary}--\r\n"
        ));
        let req = self
            .req(Method::POST, "/v1/documents", role)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    pub(crate) async fn wait_job(&self, id: &str, role: Role) -> Value {
        for _ in 0..600 {
            let (s, job) = self
                .json(Method::GET, &format!("/v1/jobs/{id}"), role, None)
                .await;
            assert_eq!(s, StatusCode::OK, "{job}");
            if job["state"] == "succeeded" || job["state"] == "failed" {
                return job;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("job {id} did not finish");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_list_ask_delete_per_role() {
    let api = api();

    // Upload as legal: a job that ingests the file.
    let (s, body) = api.upload(Role::Legal, "emir.txt", TEXT, "general").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let job = api
        .wait_job(body["job"]["id"].as_str().unwrap(), Role::Legal)
        .await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let doc = &job["result"]["documents"][0];
    assert_eq!(doc["status"], "added");
    let id = doc["id"].as_str().unwrap().to_string();

    // Trader may not upload; ops may not upload above its clearance; a bad class is a 400.
    let (s, _) = api.upload(Role::Trader, "x.txt", TEXT, "general").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = api.upload(Role::Ops, "x.txt", TEXT, "core").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = api.upload(Role::Legal, "x.txt", TEXT, "secret").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    // Listing: readers see it, a client may not list.
    let (s, list) = api
        .json(Method::GET, "/v1/documents", Role::Trader, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["documents"][0]["id"], id.as_str());
    let (s, _) = api
        .json(Method::GET, "/v1/documents", Role::Client, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Ask with citations.
    let (s, ans) = api
        .json(
            Method::POST,
            "/v1/ask",
            Role::Trader,
            Some(json!({"question": "What does Article 9(2) say?"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{ans}");
    assert_eq!(ans["found"], true);
    assert!(
        ans["evidence"][0]["path"]
            .as_str()
            .unwrap()
            .contains("Article 9")
    );
    let (s, _) = api
        .json(
            Method::POST,
            "/v1/ask",
            Role::Client,
            Some(json!({"question": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = api
        .json(
            Method::POST,
            "/v1/ask",
            Role::Trader,
            Some(json!({"question": ""})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Retrieval only: ranked chunks with scores; a client may not search.
    let (s, r) = api
        .json(
            Method::POST,
            "/v1/search",
            Role::Trader,
            Some(json!({"query": "Article 9(2)", "k": 2})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["schema"], "deskmate.search.v1");
    assert_eq!(r["hits"][0]["exact"], true, "{r}");
    assert!(
        r["hits"][0]["text"]
            .as_str()
            .unwrap()
            .contains("five years")
    );
    // One retriever alone: BM25 without a dense score, dense without a BM25 score; an
    // unknown choice is refused naming the field.
    for (retrievers, has, lacks) in [("bm25", "bm25", "dense"), ("dense", "dense", "bm25")] {
        let (s, r) = api
            .json(
                Method::POST,
                "/v1/search",
                Role::Trader,
                Some(json!({"query": "records kept five years", "k": 3, "retrievers": retrievers})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let hits = r["hits"].as_array().unwrap();
        assert!(!hits.is_empty(), "{r}");
        for h in hits {
            assert!(h["scores"][has].is_number(), "{retrievers}: {h}");
            assert!(h["scores"][lacks].is_null(), "{retrievers}: {h}");
        }
    }
    let (s, r) = api
        .json(
            Method::POST,
            "/v1/search",
            Role::Trader,
            Some(json!({"query": "records", "retrievers": "bm24"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{r}");
    assert!(r.to_string().contains("retrievers"), "{r}");
    let (s, _) = api
        .json(
            Method::POST,
            "/v1/search",
            Role::Client,
            Some(json!({"query": "Article 9"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Streaming: `delta` events that add up to the text of the final `answer` event.
    let req = api
        .req(Method::POST, "/v1/ask", Role::Trader)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"question": "What does Article 9(2) say?", "stream": true}).to_string(),
        ))
        .unwrap();
    let resp = app(api.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let sse = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let (mut deltas, mut answer) = (String::new(), None);
    for block in sse.split("\n\n") {
        let event = block
            .lines()
            .find_map(|l| l.strip_prefix("event: "))
            .unwrap_or("");
        let data: Vec<&str> = block
            .lines()
            .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
            .collect();
        match event {
            "delta" => deltas.push_str(&data.join("\n")),
            "answer" => answer = Some(serde_json::from_str::<Value>(&data.join("\n")).unwrap()),
            "error" => panic!("{sse}"),
            _ => {}
        }
    }
    let answer = answer.expect("an answer event");
    assert_eq!(answer["found"], true, "{answer}");
    assert!(!deltas.is_empty(), "{sse}");
    // The final text is the streamed text with invalid citation markers removed.
    assert!(
        deltas.len() >= answer["text"].as_str().unwrap().len() / 2,
        "{deltas:?} vs {answer}"
    );

    // Delete: trader may not, legal may; then it is gone.
    let path = format!("/v1/documents/{id}");
    let (s, _) = api.json(Method::DELETE, &path, Role::Trader, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = api.json(Method::DELETE, &path, Role::Legal, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api.json(Method::DELETE, &path, Role::Legal, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = api
        .json(Method::GET, "/v1/documents", Role::Legal, None)
        .await;
    assert_eq!(list["documents"], json!([]));
}
