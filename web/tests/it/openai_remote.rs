//! The remote backend end to end: a second Deskmate configured with `models.backend =
//! "remote"` whose default generator and embedder are Deskmate's own OpenAI-compatible
//! endpoints, served on 127.0.0.1 by a first one with the fixture models. Chat, streaming,
//! constrained JSON and embeddings through `RemoteGenerator`/`RemoteEmbedder` must give what
//! the serving side's models give directly.

use assistant::Assistant;
use assistant::config::Config;
use assistant::store::Actor;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use models::remote::{RemoteConfig, RemoteGenerator};
use models::store::ModelStore;
use models::{ChatRequest, EmbedKind, Generator, Message, ModelError, Sampling};
use policies::Role;
use serde_json::{Value, json};
use std::ops::ControlFlow;
use tower::ServiceExt;
use web::{AppState, app};

const GEN: &str = "smollm2-135m-instruct";
const E5: &str = "multilingual-e5-small";

struct Pair {
    /// The serving Deskmate (local models).
    server: AppState,
    /// The Deskmate whose models are the server's, over HTTP.
    client: AppState,
    client_token: String,
    base_url: String,
    server_token: String,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn pair() -> Pair {
    pair_with(|_| {}).await
}

/// [`pair`] with the client's configuration adjusted by `f`.
async fn pair_with(f: impl FnOnce(&mut Config)) -> Pair {
    models::runtime::set_threads(1);
    let store = ModelStore::from_env();
    for name in [GEN, E5] {
        store.get(name).unwrap_or_else(|_| {
            panic!(
                "test fixture `{name}` is not installed: run `deskmate models install --fixtures`"
            )
        });
    }
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut c1 = Config::default();
    c1.storage.data_dir = d1.path().to_path_buf();
    c1.models.dir = store.root().display().to_string();
    c1.models.generator = GEN.into();
    c1.models.embedder = E5.into();
    let a1 = Assistant::open(c1).unwrap();
    crate::approve_models(&a1);
    a1.create_user(&Actor::system(), "gateway", Role::Trader)
        .unwrap();
    let server_token = a1
        .issue_token(&Actor::system(), "gateway", "remote", None)
        .unwrap()
        .token;
    let server = AppState::new(a1);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(web::serve(
        listener,
        server.clone(),
        app(server.clone()),
        async {
            let _ = stopped.await;
        },
    ));

    let mut c2 = Config::default();
    c2.storage.data_dir = d2.path().to_path_buf();
    c2.models.backend = assistant::config::ModelBackend::Remote;
    c2.models.remote_base_url = base_url.clone();
    c2.models.remote_api_key = server_token.clone();
    c2.models.remote_model = GEN.into();
    c2.models.remote_embedder = E5.into();
    c2.models.remote_embedder_dim = 384;
    c2.models.remote_embedder_prefixes = assistant::config::EmbedderPrefixes::InputType;
    c2.models.remote_retries = 0;
    // The client has no models of its own: everything must go over HTTP.
    c2.models.dir = d2.path().join("no-models").display().to_string();
    f(&mut c2);
    c2.validate().unwrap();
    let a2 = Assistant::open(c2).unwrap();
    crate::approve_models(&a2);
    a2.create_user(&Actor::system(), "tina", Role::Trader)
        .unwrap();
    let client_token = a2
        .issue_token(&Actor::system(), "tina", "t", None)
        .unwrap()
        .token;
    Pair {
        server,
        client: AppState::new(a2),
        client_token,
        base_url,
        server_token,
        _dirs: (d1, d2),
        _stop: stop,
    }
}

fn greedy(prompt: &str, max_tokens: usize) -> ChatRequest {
    let mut r = ChatRequest::new(vec![Message::user(prompt)]);
    r.max_tokens = max_tokens;
    r.sampling = Sampling {
        temperature: 0.0,
        ..Sampling::default()
    };
    r
}

/// Runs blocking model work off the async threads (the remote client is blocking).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_streaming_json_and_embeddings_go_through_the_remote_backend() {
    let p = pair().await;
    let local = p.server.assistant.generator(None).unwrap();
    let remote = p.client.assistant.generator(None).unwrap();
    assert_eq!(remote.id(), GEN);
    assert!(format!("{:?}", p.client.assistant.models()).contains("no-models"));

    // Chat: the same greedy answer and token counts as the serving model's own.
    let prompt = "What is an interest rate swap?";
    let (want, got) = blocking({
        let (local, remote) = (local.clone(), remote.clone());
        move || {
            (
                local.chat(&greedy(prompt, 24)).unwrap(),
                remote.chat(&greedy(prompt, 24)).unwrap(),
            )
        }
    })
    .await;
    assert_eq!(got.text, want.text);
    assert_eq!(got.usage, want.usage);
    assert_eq!(got.finish_reason, want.finish_reason);

    // Streaming: deltas arrive one by one and add up to the same text.
    let deltas = blocking({
        let remote = remote.clone();
        move || {
            let mut deltas = Vec::new();
            let r = remote
                .chat_stream(&greedy(prompt, 24), &mut |d| {
                    deltas.push(d.to_string());
                    ControlFlow::Continue(())
                })
                .unwrap();
            (deltas, r.text)
        }
    })
    .await;
    assert!(deltas.0.len() >= 3, "{:?}", deltas.0);
    assert_eq!(deltas.0.concat(), want.text);
    assert_eq!(deltas.1, want.text);

    // Constrained JSON: requested as json_schema, decoded under constraint by the server,
    // validated again by the client.
    let schema = json!({"type": "object", "properties": {"answer": {"enum": ["yes", "no"]},
        "confidence": {"type": "number"}}, "required": ["answer", "confidence"]});
    let doc = blocking({
        let (remote, schema) = (remote.clone(), schema.clone());
        move || {
            models::generate_json(remote.as_ref(), "Is the sky blue?", &schema, 40, &[]).unwrap()
        }
    })
    .await;
    assert!(models::json::validate(&schema, &doc).is_empty(), "{doc}");

    // Embeddings: queries and passages are told apart over the wire (e5 prefixes them).
    let texts = [
        "中证500 雪球 票息多少",
        "The knock-in barrier is observed daily.",
    ];
    let (remote_q, remote_p, local_q, local_p) = blocking({
        let (a1, a2) = (p.server.assistant.clone(), p.client.assistant.clone());
        move || {
            let remote = a2.embedder(None).unwrap();
            let local = a1.embedder(None).unwrap();
            assert_eq!(remote.dim(), 384);
            (
                remote.embed(&texts, EmbedKind::Query).unwrap(),
                remote.embed(&texts, EmbedKind::Passage).unwrap(),
                local.embed(&texts, EmbedKind::Query).unwrap(),
                local.embed(&texts, EmbedKind::Passage).unwrap(),
            )
        }
    })
    .await;
    let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    for i in 0..2 {
        // Same vectors up to the renormalisation the client does (f32 rounding).
        assert!(cos(&remote_q.vectors[i], &local_q.vectors[i]) > 0.99999);
        assert!(cos(&remote_p.vectors[i], &local_p.vectors[i]) > 0.99999);
        assert!(cos(&remote_q.vectors[i], &remote_p.vectors[i]) < 0.999);
    }

    // The serving side audited every call as its gateway user.
    let entries = p
        .server
        .assistant
        .store()
        .audit_entries(0, None, None, 1000)
        .unwrap();
    let calls: Vec<_> = entries
        .iter()
        .filter(|e| e.action == "model.call")
        .collect();
    assert!(calls.len() >= 5, "{calls:?}");
    assert!(calls.iter().all(|c| c.actor == "gateway"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_api_serves_from_the_remote_backend_and_maps_its_errors() {
    let p = pair().await;
    let req = |body: Value| {
        Request::builder()
            .method(Method::POST)
            .uri("/v1/chat/completions")
            .header(header::AUTHORIZATION, format!("Bearer {}", p.client_token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let state = p.client.clone();
    let body = json!({"messages": [{"role": "user", "content": "Say hello."}],
                      "temperature": 0, "max_tokens": 12, "stream": true});
    let resp = app(state.clone()).oneshot(req(body)).await.unwrap();
    let status = resp.status();
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert!(text.contains(&format!("\"model\":\"{GEN}\"")), "{text}");
    // Both sides audited the call: the client as its user, the server as the gateway.
    let count = |a: &Assistant, user: &str| {
        a.store()
            .audit_entries(0, None, None, 1000)
            .unwrap()
            .iter()
            .filter(|e| e.action == "model.call" && e.actor == user)
            .count()
    };
    assert_eq!(count(&p.client.assistant, "tina"), 1);
    assert_eq!(count(&p.server.assistant, "gateway"), 1);

    // An error of the server reaches the client's caller as a 502 naming the cause.
    let mut rc = RemoteConfig::new(&p.base_url, "no-such-model");
    rc.api_key = Some(p.server_token.clone());
    rc.retries = 0;
    let g = RemoteGenerator::new(rc).unwrap();
    let e = blocking(move || g.chat(&greedy("hi", 4)).unwrap_err()).await;
    match &e {
        ModelError::Remote { status, reason, .. } => {
            assert_eq!(*status, Some(404));
            assert!(reason.contains("unknown model `no-such-model`"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let body = json!({"messages": [{"role": "user", "content": "hi"}],
                      "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "string", "pattern": "x"}}}});
    let resp = app(state).oneshot(req(body)).await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::BAD_REQUEST,
        "refused before any call"
    );
}

/// The `model.call` entries of `a`.
fn model_calls(a: &Assistant) -> Vec<policies::AuditEntry> {
    a.store()
        .audit_entries(0, None, None, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "model.call")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_replaced_before_the_remote_server_sees_it() {
    let p = pair().await;
    let text = "Please draft a short note to our contact: Mr. Li Wei, phone +86 138 1234 5678, \
                e-mail li.wei@example.com, ID 11010519491231002X, card 4111 1111 1111 1111.";
    let body = json!({"messages": [{"role": "user", "content": text}],
                      "temperature": 0, "max_tokens": 24});
    let resp = app(p.client.clone())
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/chat/completions")
                .header(header::AUTHORIZATION, format!("Bearer {}", p.client_token))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let out: Value =
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(status, StatusCode::OK, "{out}");
    let answer = out["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(!answer.contains('⟦'), "placeholders are restored: {answer}");

    // The client recorded what it replaced and the prompt's class.
    let mine = model_calls(&p.client.assistant);
    assert_eq!(mine.len(), 1, "{mine:?}");
    // Kinds in their fixed order (`policies::redact::PiiKind`).
    assert_eq!(
        mine[0].details["redacted"],
        json!(["person_name", "id_card", "phone", "email", "bank_card"])
    );
    assert_eq!(mine[0].details["classes"], json!(["general"]));
    // The serving side got the redacted prompt: nothing left to replace, and its prompt hash
    // is the hash of the redacted text, not of the original.
    let theirs = model_calls(&p.server.assistant);
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0].details["redacted"], json!([]));
    let redacted = policies::redact::redact(text, &policies::redact::Rules::default()).text;
    for secret in [
        "Li Wei",
        "138 1234 5678",
        "li.wei@example.com",
        "11010519491231002X",
    ] {
        assert!(!redacted.contains(secret), "{secret}: {redacted}");
    }
    let want =
        assistant::inference::chat_prompt_sha256(&ChatRequest::new(vec![Message::user(redacted)]));
    assert_eq!(theirs[0].details["prompt_sha256"], json!(want));
    assert_ne!(
        mine[0].details["prompt_sha256"], theirs[0].details["prompt_sha256"],
        "the client's entry hashes the prompt as its user wrote it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_above_the_remote_class_never_enters_its_prompts() {
    use assistant::documents::{Knowledge, NewDocument};
    // The knowledge base embeds locally (a core memo may be indexed); answers are generated
    // remotely.
    let p = pair_with(|c| {
        c.models.dir = ModelStore::from_env().root().display().to_string();
        c.models.remote_embedder = String::new();
        c.knowledge.embedder = E5.into();
    })
    .await;
    let a = p.client.assistant.clone();
    // Default maximum for remote backends: important, not sensitive.
    assert_eq!(
        a.config.models.remote_max_class,
        policies::DataClass::IMPORTANT
    );
    let k = blocking({
        let a = a.clone();
        move || Knowledge::open_with_models(&a.config, a.models(), "test").unwrap()
    })
    .await;
    let k = std::sync::Arc::new(k);
    let legal = Actor::user(
        &policies::Principal {
            user: "lena".into(),
            role: Role::Legal,
        },
        None,
    );
    let doc = |source: &str, text: &str, class| NewDocument {
        source: source.into(),
        bytes: text.as_bytes().to_vec(),
        collection: "policies".into(),
        classification: class,
        title: None,
        replaces: None,
        declassify: false,
    };
    let (general, core) = blocking({
        let (a, k, legal) = (a.clone(), k.clone(), legal.clone());
        move || {
            let g = a
                .ingest_document(
                    &k,
                    &legal,
                    doc(
                        "haircuts-public.txt",
                        "Collateral haircuts. Equity collateral is accepted with a haircut set by the collateral policy.\n",
                        policies::DataClass::GENERAL,
                    ),
                )
                .unwrap();
            let c = a
                .ingest_document(
                    &k,
                    &legal,
                    doc(
                        "haircuts-core.txt",
                        "Collateral haircuts. Internal: equity collateral haircut is 30 percent and bond collateral haircut is 8 percent.\n",
                        policies::DataClass::CORE,
                    ),
                )
                .unwrap();
            (g, c)
        }
    })
    .await;
    // Legal may read the core memo: search (no model) finds it ...
    let found = blocking({
        let (a, k, legal) = (a.clone(), k.clone(), legal.clone());
        move || {
            a.search_documents(
                &k,
                &legal,
                "collateral haircut equity",
                5,
                knowledge::Retrievers::Hybrid,
                knowledge::Filters::default(),
            )
            .unwrap()
        }
    })
    .await;
    let ids: Vec<String> = found.hits.iter().map(|h| h.doc_id.clone()).collect();
    assert!(ids.contains(&core.id), "{ids:?}");
    // ... but an answer by the remote generator is built from what it may receive only.
    let ans = blocking({
        let (a, k, legal) = (a.clone(), k.clone(), legal.clone());
        move || {
            a.ask(
                &k,
                &legal,
                "What haircut applies to equity collateral?",
                knowledge::Filters::default(),
                &mut |_| ControlFlow::Continue(()),
            )
            .unwrap()
        }
    })
    .await;
    assert!(
        ans.evidence.iter().all(|c| c.doc_id != core.id),
        "{:?}",
        ans.evidence
    );
    assert!(
        ans.evidence.iter().any(|c| c.doc_id == general.id),
        "{:?}",
        ans.evidence
    );
    // The prompt's class is in the client's audit entry of the call.
    let calls = model_calls(&a);
    assert!(
        calls
            .iter()
            .all(|c| c.details["classes"] != json!(["core"])),
        "{calls:?}"
    );
}

/// Issue #21 item 9: a remote embedder receives every chunk's text at ingest, so a document above
/// the remote backend's class is refused with the reason and nothing is indexed; one within it
/// is ingested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_embedder_never_receives_a_document_above_its_class() {
    use assistant::documents::{Knowledge, NewDocument};
    let p = pair().await;
    let a = p.client.assistant.clone();
    let legal = Actor::user(
        &policies::Principal {
            user: "lena".into(),
            role: Role::Legal,
        },
        None,
    );
    let (refused, ok, listed) = blocking(move || {
        let k = Knowledge::open_with_models(&a.config, a.models(), "test").unwrap();
        let doc = |source: &str, class| NewDocument {
            source: source.into(),
            bytes: b"Collateral haircuts. Equity collateral haircut is 30 percent.\n".to_vec(),
            collection: "policies".into(),
            classification: class,
            title: None,
            replaces: None,
            declassify: false,
        };
        let refused = a
            .ingest_document(&k, &legal, doc("core.txt", policies::DataClass::CORE))
            .unwrap_err();
        let ok = a.ingest_document(&k, &legal, doc("general.txt", policies::DataClass::GENERAL));
        let listed = a.list_documents(&legal, None).unwrap().len();
        (refused, ok, listed)
    })
    .await;
    let e = refused.to_string();
    assert!(
        e.contains("remote") && e.contains("core") && e.contains("nothing was ingested"),
        "{e}"
    );
    ok.unwrap();
    assert_eq!(listed, 1, "only the general document is there");
}
