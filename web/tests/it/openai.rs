//! The OpenAI-compatible endpoints through `app()` with the fixture models (SmolLM2-135M for
//! chat, all-MiniLM-L6-v2 for embeddings, installed by `deskmate models install --fixtures`):
//! answers checked against direct calls of the same models, streaming, constrained JSON, stop
//! strings, seeds, every kind of bad input, back-pressure, the audit record of each call, the
//! per-route timeout, and cancellation when the client disconnects (over a real socket).

use assistant::Assistant;
use assistant::config::Config;
use assistant::inference::{chat_prompt_sha256, sha256_hex};
use assistant::store::Actor;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use models::store::ModelStore;
use models::{ChatRequest, EmbedKind, Generator, Message, ResponseFormat, Sampling};
use policies::Role;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tower::ServiceExt;
use web::{AppState, app};

const GEN: &str = "smollm2-135m-instruct";
const EMB: &str = "all-minilm-l6-v2";

struct Api {
    state: AppState,
    trader: String,
    client: String,
    _dir: tempfile::TempDir,
}

fn api_with(f: impl FnOnce(&mut Config)) -> Api {
    models::runtime::set_threads(1);
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::from_env();
    for name in [GEN, EMB] {
        store.get(name).unwrap_or_else(|_| {
            panic!(
                "test fixture `{name}` is not installed in {}: run `deskmate models install --fixtures`",
                store.root().display()
            )
        });
    }
    let mut config = Config::default();
    config.storage.data_dir = dir.path().to_path_buf();
    config.models.dir = store.root().display().to_string();
    config.models.generator = GEN.into();
    config.models.embedder = EMB.into();
    f(&mut config);
    let a = Assistant::open(config).unwrap();
    crate::approve_models(&a);
    let token = |name: &str, role: Role| {
        a.create_user(&Actor::system(), name, role).unwrap();
        a.issue_token(&Actor::system(), name, "test", None)
            .unwrap()
            .token
    };
    let trader = token("tina", Role::Trader);
    let client = token("carl", Role::Client);
    Api {
        state: AppState::new(a),
        trader,
        client,
        _dir: dir,
    }
}

fn api() -> Api {
    api_with(|_| {})
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
    body: Value,
}

impl Api {
    fn request(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Request<Body> {
        let b = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        match body {
            Some(v) => b
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .unwrap()
    }

    async fn send_as(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
        let resp = app(self.state.clone())
            .oneshot(self.request(method, path, token, body))
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            body,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Reply {
        self.send_as(&self.trader.clone(), Method::POST, path, Some(body))
            .await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send_as(&self.trader.clone(), Method::GET, path, None)
            .await
    }

    /// The `model.call` audit entries, oldest first.
    fn model_calls(&self) -> Vec<policies::audit::AuditEntry> {
        self.state
            .assistant
            .store()
            .audit_entries(0, None, None, 10_000)
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "model.call")
            .collect()
    }

    fn generator(&self) -> std::sync::Arc<dyn Generator> {
        self.state.assistant.generator(Some(GEN)).unwrap()
    }
}

/// Checks the API's one error shape and returns `(code, message)`.
fn error(r: &Reply) -> (String, String) {
    let e = &r.body["error"];
    assert!(
        e["request_id"].is_string(),
        "not our error shape: {}",
        r.text
    );
    (
        e["code"].as_str().unwrap_or_default().to_string(),
        e["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// The `data:` payloads of an SSE body, in order.
fn sse_data(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| d.trim_start().to_string())
        .collect()
}

fn greedy(prompt: &str, max_tokens: usize) -> Value {
    json!({
        "model": GEN,
        "messages": [{"role": "system", "content": "You are a helpful assistant."},
                     {"role": "user", "content": prompt}],
        "temperature": 0,
        "max_tokens": max_tokens,
    })
}

/// The same request as [`greedy`], for a direct call of the generator.
fn greedy_direct(prompt: &str, max_tokens: usize) -> ChatRequest {
    let mut r = ChatRequest::new(vec![
        Message::system("You are a helpful assistant."),
        Message::user(prompt),
    ]);
    r.max_tokens = max_tokens;
    r.sampling = Sampling {
        temperature: 0.0,
        ..Sampling::default()
    };
    r
}

/// A schema that cannot close before 400 items: generation runs until `max_tokens` (or until
/// it is cancelled), whatever the model would like to say.
fn endless() -> Value {
    json!({"type": "array", "items": {"type": "integer"}, "minItems": 400})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completion_matches_the_direct_call_and_is_audited() {
    let a = api();
    let prompt = "What is the capital of France?";
    let r = a.post("/v1/chat/completions", greedy(prompt, 24)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let b = &r.body;
    assert_eq!(b["object"], "chat.completion");
    assert_eq!(b["model"], GEN);
    assert!(b["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let choice = &b["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    let text = choice["message"]["content"].as_str().unwrap().to_string();
    let direct = a.generator().chat(&greedy_direct(prompt, 24)).unwrap();
    assert_eq!(
        text, direct.text,
        "the endpoint must answer as the model does"
    );
    assert!(!text.is_empty());
    assert_eq!(choice["finish_reason"], direct.finish_reason.as_str());
    let u = &b["usage"];
    assert_eq!(u["prompt_tokens"], direct.usage.prompt_tokens);
    assert_eq!(u["completion_tokens"], direct.usage.completion_tokens);
    assert_eq!(
        u["total_tokens"],
        direct.usage.prompt_tokens + direct.usage.completion_tokens
    );

    // One audit entry per call, by the caller, with the request id, hashes and counts.
    let calls = a.model_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let e = &calls[0];
    assert_eq!(e.actor, "tina");
    assert_eq!(e.object_id, GEN);
    assert_eq!(
        e.request_id.as_deref(),
        r.headers["x-request-id"].to_str().ok()
    );
    let d = &e.details;
    assert_eq!(d["workflow"], "openai.chat");
    assert_eq!(d["model"], GEN);
    assert_eq!(
        d["prompt_sha256"],
        chat_prompt_sha256(&greedy_direct(prompt, 24))
    );
    assert_eq!(d["output_sha256"], sha256_hex(text.as_bytes()));
    assert_eq!(d["prompt_tokens"], direct.usage.prompt_tokens);
    assert_eq!(d["completion_tokens"], direct.usage.completion_tokens);
    assert!(d["latency_ms"].is_u64());
    assert_eq!(d["outcome"], direct.finish_reason.as_str());
    // The prompt text itself is never in the audit log.
    assert!(!e.details.to_string().contains("capital of France"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_sends_openai_chunks_ending_with_done() {
    let a = api();
    let prompt = "Name three colours.";
    let mut body = greedy(prompt, 20);
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let r = a.post("/v1/chat/completions", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let data = sse_data(&r.text);
    assert_eq!(
        data.last().map(String::as_str),
        Some("[DONE]"),
        "{}",
        r.text
    );
    let events: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(
        events.len() >= 4,
        "role, content, finish, usage: {events:?}"
    );
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    let mut text = String::new();
    let mut finish = None;
    let mut usage = None;
    let mut contents = 0;
    for ev in &events {
        assert_eq!(ev["object"], "chat.completion.chunk");
        assert_eq!(ev["model"], GEN);
        assert_eq!(ev["id"], events[0]["id"]);
        if let Some(c) = ev["choices"][0]["delta"]["content"].as_str() {
            text.push_str(c);
            contents += usize::from(!c.is_empty());
        }
        if let Some(f) = ev["choices"][0]["finish_reason"].as_str() {
            finish = Some(f.to_string());
        }
        if ev["usage"].is_object() {
            assert_eq!(ev["choices"], json!([]));
            usage = Some(ev["usage"].clone());
        }
    }
    let direct = a.generator().chat(&greedy_direct(prompt, 20)).unwrap();
    assert_eq!(text, direct.text);
    assert!(contents >= 2, "the text came in one piece: {events:?}");
    assert_eq!(finish.as_deref(), Some(direct.finish_reason.as_str()));
    let usage = usage.expect("a usage chunk");
    assert_eq!(usage["completion_tokens"], direct.usage.completion_tokens);
    assert_eq!(usage["prompt_tokens"], direct.usage.prompt_tokens);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_schema_and_json_object_are_decoded_under_constraint() {
    let a = api();
    let schema = json!({
        "type": "object",
        "properties": {
            "city": {"type": "string", "maxLength": 40},
            "population": {"type": "integer"},
            "capital": {"type": "boolean"},
            "tags": {"type": "array", "items": {"enum": ["big", "small", "old"]}, "maxItems": 3}
        },
        "required": ["city", "population", "capital", "tags"],
        "additionalProperties": false
    });
    for (format, stream) in [
        (
            json!({"type": "json_schema", "json_schema": {"name": "city", "schema": schema, "strict": true}}),
            false,
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "city", "schema": schema}}),
            true,
        ),
        (json!({"type": "json_object"}), false),
        (json!({"type": "json_object"}), true),
    ] {
        let mut body = greedy("Describe Paris as JSON.", 80);
        body["temperature"] = json!(0.8);
        body["seed"] = json!(3);
        body["response_format"] = format.clone();
        body["stream"] = json!(stream);
        let r = a.post("/v1/chat/completions", body).await;
        assert_eq!(r.status, StatusCode::OK, "{format}: {}", r.text);
        let content = if stream {
            sse_data(&r.text)
                .iter()
                .filter(|d| *d != "[DONE]")
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .filter_map(|ev| {
                    ev["choices"][0]["delta"]["content"]
                        .as_str()
                        .map(String::from)
                })
                .collect::<String>()
        } else {
            r.body["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let doc: Value = serde_json::from_str(&content)
            .unwrap_or_else(|e| panic!("{format}: not JSON ({e}): {content}"));
        assert!(doc.is_object(), "{format}: {content}");
        if format["type"] == "json_schema" {
            assert!(
                models::json::validate(&schema, &doc).is_empty(),
                "{content}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_strings_and_seeds_behave_as_in_the_openai_api() {
    let a = api();
    let prompt = "Write one sentence about the sea.";
    let full = a.post("/v1/chat/completions", greedy(prompt, 30)).await;
    let text = full.body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    // Stop at the second word the model writes: the answer is what came before it.
    let word = text
        .split_whitespace()
        .nth(1)
        .expect("at least two words")
        .to_string();
    let at = text.find(&word).unwrap();
    let mut body = greedy(prompt, 30);
    body["stop"] = json!([word, "never-written-stop"]);
    let r = a.post("/v1/chat/completions", body).await;
    assert_eq!(r.body["choices"][0]["message"]["content"], text[..at]);
    assert_eq!(r.body["choices"][0]["finish_reason"], "stop");

    // Sampling with a seed is reproducible; another seed (almost surely) differs.
    let sampled = |seed: i64| {
        let mut b = greedy(prompt, 24);
        b["temperature"] = json!(1.0);
        b["top_p"] = json!(0.95);
        b["seed"] = json!(seed);
        b
    };
    let one = a.post("/v1/chat/completions", sampled(11)).await.body;
    let again = a.post("/v1/chat/completions", sampled(11)).await.body;
    assert_eq!(
        one["choices"][0]["message"]["content"],
        again["choices"][0]["message"]["content"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_our_error_shape() {
    let a = api_with(|c| c.models.max_context = 256);
    let long = "word ".repeat(600);
    let cases: Vec<(Value, StatusCode, &str, &str)> = vec![
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}], "n": 20}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`n` 20 is not between 1 and 16",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": long}]}),
            StatusCode::BAD_REQUEST,
            "context_length_exceeded",
            "at most 256 tokens",
        ),
        (
            json!({"model": GEN, "stream": true, "messages": [{"role": "user", "content": long}]}),
            StatusCode::BAD_REQUEST,
            "context_length_exceeded",
            "at most 256 tokens",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}],
                   "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "string", "pattern": "^a"}}}}),
            StatusCode::BAD_REQUEST,
            "invalid_response_format",
            "keyword `pattern` is not supported",
        ),
        (
            json!({"model": GEN, "stream": true, "messages": [{"role": "user", "content": "hi"}],
                   "response_format": {"type": "json_schema", "json_schema": {"schema": {"type": "object", "properties": {"a": {"type": "nope"}}}}}}),
            StatusCode::BAD_REQUEST,
            "invalid_response_format",
            "unknown type `nope`",
        ),
        (
            json!({"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]}),
            StatusCode::NOT_FOUND,
            "model_not_found",
            "unknown model `no-such-model`",
        ),
        (
            json!({"model": GEN, "messages": []}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "at least one message",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "critic", "content": "x"}]}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "messages[0].role",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "tool", "content": "x"}]}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "without `tool_call_id`",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "only text parts",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}], "temperature": 3}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`temperature`",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}], "frequency_penalty": 2.5}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`frequency_penalty` 2.5 is not between -2 and 2",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}], "logit_bias": {"x": 1}}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "not a token id",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}], "top_logprobs": 2}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "needs `logprobs`",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 21}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "above 20",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}], "functions": [{"name": "f"}]}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "use `tools`",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}], "best_of": 3}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "best_of",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}], "tool_choice": "required"}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "no `tools`",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}],
                   "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "string", "pattern": "^a"}}}]}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "`tools[0].function.parameters` cannot constrain a call",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}],
                   "tools": [{"type": "function", "function": {"name": "f"}}],
                   "tool_choice": {"type": "function", "function": {"name": "g"}}}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "\"g\", which is not among the tools",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi",
                   "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "only allowed on assistant messages",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}], "min_p": 1.5}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "min_p",
        ),
        (
            json!({"model": GEN, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "max_tokens",
        ),
    ];
    for (body, status, code, needle) in cases {
        let r = a.post("/v1/chat/completions", body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        let (c, m) = error(&r);
        assert_eq!(c, code, "{body}: {m}");
        assert!(m.contains(needle), "{body}: {m:?} lacks {needle:?}");
        // OpenAI's error type beside our code, which its clients read.
        let kind = if status == StatusCode::NOT_FOUND {
            "not_found_error"
        } else {
            "invalid_request_error"
        };
        assert_eq!(r.body["error"]["type"], kind, "{body}");
    }
    // Embeddings.
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            json!({"model": EMB, "input": []}),
            StatusCode::BAD_REQUEST,
            "at least one",
        ),
        (
            json!({"model": EMB, "input": [1, 2, 3]}),
            StatusCode::BAD_REQUEST,
            "token ids",
        ),
        (
            json!({"model": EMB, "input": "x", "dimensions": 8}),
            StatusCode::BAD_REQUEST,
            "384 dimensions",
        ),
        (
            json!({"model": EMB, "input": "x", "encoding_format": "hex"}),
            StatusCode::BAD_REQUEST,
            "encoding_format",
        ),
        (
            json!({"model": "nope", "input": "x"}),
            StatusCode::NOT_FOUND,
            "unknown model",
        ),
        (
            json!({"model": GEN, "input": "x"}),
            StatusCode::BAD_REQUEST,
            "not an embedder",
        ),
    ];
    for (body, status, needle) in cases {
        let r = a.post("/v1/embeddings", body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        let (_, m) = error(&r);
        assert!(m.contains(needle), "{body}: {m:?} lacks {needle:?}");
    }
    // A role without models.use.
    let r = a
        .send_as(&a.client.clone(), Method::GET, "/v1/models", None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeddings_match_the_direct_embedder_in_float_and_base64() {
    let a = api();
    let texts = [
        "The cat sat on the mat.",
        "Interest rate swaps exchange fixed for floating.",
    ];
    let direct = a
        .state
        .assistant
        .embedder(Some(EMB))
        .unwrap()
        .embed(&texts, EmbedKind::Passage)
        .unwrap();
    let r = a
        .post("/v1/embeddings", json!({"model": EMB, "input": texts}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["object"], "list");
    assert_eq!(r.body["model"], EMB);
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    for (i, d) in data.iter().enumerate() {
        assert_eq!(d["index"], i);
        assert_eq!(d["object"], "embedding");
        let v: Vec<f32> = d["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(v, direct.vectors[i], "JSON floats round-trip f32 exactly");
    }
    assert!(r.body["usage"]["prompt_tokens"].as_u64().unwrap() > 10);
    // base64: little-endian f32, what the official Python client asks for by default.
    let r = a
        .post(
            "/v1/embeddings",
            json!({"model": EMB, "input": texts[1], "encoding_format": "base64"}),
        )
        .await;
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(r.body["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let v: Vec<f32> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(v, direct.vectors[1]);
    // The default embedder answers when no model is named; the call is audited.
    let r = a.post("/v1/embeddings", json!({"input": "hello"})).await;
    assert_eq!(r.body["model"], EMB);
    let calls = a.model_calls();
    assert_eq!(calls.len(), 3);
    assert!(
        calls
            .iter()
            .all(|c| c.details["workflow"] == "openai.embeddings" && c.details["outcome"] == "ok")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_are_listed_with_role_and_backend() {
    let a = api();
    let r = a
        .send_as(&a.trader.clone(), Method::GET, "/v1/models", None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["object"], "list");
    let find = |id: &str| {
        r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not listed: {}", r.text))
    };
    assert_eq!(find(GEN)["role"], "generator");
    assert_eq!(find(EMB)["role"], "embedder");
    assert_eq!(find(GEN)["object"], "model");
    assert_eq!(find(GEN)["backend"], "local");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after() {
    let a = api_with(|c| c.models.queue_capacity = 1);
    a.generator(); // loaded before the requests below
    // A streamed request answers once its first token exists, so when the response arrives
    // the request holds the model's one place (and keeps it while its body is read).
    let mut long = greedy("Count.", 300);
    long["response_format"] = json!({"type": "json_schema", "json_schema": {"schema": endless()}});
    long["stream"] = json!(true);
    let first = app(a.state.clone())
        .oneshot(a.request(Method::POST, "/v1/chat/completions", &a.trader, Some(long)))
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let busy = a.post("/v1/chat/completions", greedy("hi", 4)).await;
    assert_eq!(
        busy.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        busy.text
    );
    let (code, message) = error(&busy);
    assert_eq!(code, "model_busy");
    assert!(message.contains(GEN), "{message}");
    let retry: u64 = busy.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    // The first stream runs to its end; then the model takes requests again.
    let bytes = first.into_body().collect().await.unwrap().to_bytes();
    let data = sse_data(&String::from_utf8_lossy(&bytes));
    let last: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "length", "{data:?}");
    let r = a.post("/v1/chat/completions", greedy("hi", 4)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_outlive_the_server_timeout_but_not_their_routes() {
    // The server's limit is 1 s, generation's 60 s: a 2-4 s stream completes.
    let a = api_with(|c| {
        c.server.request_timeout_secs = 1;
        c.models.generation_timeout_secs = 60;
    });
    a.generator();
    let mut body = greedy("Count.", 120);
    body["response_format"] = json!({"type": "json_schema", "json_schema": {"schema": endless()}});
    body["stream"] = json!(true);
    let t0 = Instant::now();
    let r = a.post("/v1/chat/completions", body.clone()).await;
    let took = t0.elapsed();
    assert_eq!(r.status, StatusCode::OK);
    let data = sse_data(&r.text);
    assert!(data.iter().all(|d| !d.contains("\"error\"")), "{}", r.text);
    let last: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "length");
    eprintln!("a 120-token stream took {took:?} under a 1 s server timeout");
    // The route table names its timeout.
    let routes = a
        .send_as(&a.trader.clone(), Method::GET, "/v1/routes", None)
        .await;
    let chat = routes.body["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "/v1/chat/completions")
        .cloned()
        .unwrap();
    assert_eq!(chat["timeout"], "generation");

    // With a 1 s generation limit, the same stream ends with a timeout event, and the
    // non-streamed request with a timeout error.
    let a = api_with(|c| {
        c.server.request_timeout_secs = 30;
        c.models.generation_timeout_secs = 1;
    });
    a.generator();
    body["max_tokens"] = json!(2000);
    let r = a.post("/v1/chat/completions", body.clone()).await;
    if r.status == StatusCode::OK {
        let data = sse_data(&r.text);
        assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
        let err: Value = serde_json::from_str(&data[data.len() - 2]).unwrap();
        assert_eq!(err["error"]["code"], "timeout", "{}", r.text);
    } else {
        // On a loaded machine the deadline can pass before the first token: then nothing was
        // streamed, and the answer is the timeout error itself.
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text);
        assert_eq!(error(&r).0, "timeout");
    }
    body["stream"] = json!(false);
    let r = a.post("/v1/chat/completions", body).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error(&r).0, "timeout");
    // Both generations were stopped, and recorded as cancelled.
    let t0 = Instant::now();
    loop {
        let calls = a.model_calls();
        if calls.len() == 2 {
            for c in &calls {
                assert_eq!(c.details["outcome"], "cancelled", "{:?}", c.details);
                assert!(c.details["completion_tokens"].as_u64().unwrap() < 2000);
            }
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "{calls:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends `body` to `/v1/chat/completions` over a real socket and hangs up after `read` bytes
/// of the answer (0: without reading), then waits for the audit entry of the call.
async fn hang_up(body: Value, read: usize) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let a = api();
    a.generator();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(
        listener,
        a.state.clone(),
        app(a.state.clone()),
        async {
            let _ = stopped.await;
        },
    ));
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let text = body.to_string();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        a.trader,
        text.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(text.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while got.len() < read {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    if read == 0 {
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    drop(s);
    let t0 = Instant::now();
    let call = loop {
        if let Some(c) = a.model_calls().pop() {
            break c;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the generation was not stopped after the client left"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = stop.send(());
    let _ = server.await;
    eprintln!(
        "stopped after {} tokens, {} ms",
        call.details["completion_tokens"], call.details["latency_ms"]
    );
    call.details
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_cancels_its_generation() {
    let mut body = greedy("Count.", 3000);
    body["response_format"] = json!({"type": "json_schema", "json_schema": {"schema": endless()}});
    // Streaming: after the head and the first chunks.
    body["stream"] = json!(true);
    let d = hang_up(body.clone(), 600).await;
    assert_eq!(d["outcome"], "cancelled", "{d}");
    assert!(d["completion_tokens"].as_u64().unwrap() < 3000);
    // Not streaming: while the client waits for the answer.
    body["stream"] = json!(false);
    let d = hang_up(body, 0).await;
    assert_eq!(d["outcome"], "cancelled", "{d}");
    assert!(d["completion_tokens"].as_u64().unwrap() < 3000);
}

#[test]
fn the_constrained_schema_used_above_cannot_close_early() {
    // Guards the premise of the cancellation and timeout tests.
    let s = models::json::Schema::compile(&endless()).unwrap();
    let _ = ResponseFormat::JsonSchema(endless());
    assert!(matches!(
        s.nodes[s.root],
        models::json::schema::Node::Array { min: 400, .. }
    ));
}

/// `n` levels of objects, each requiring the next (`{"a": {"a": … {"a": "text"}}}`).
fn required_nesting(n: usize) -> Value {
    (0..n).fold(
        json!({"type": "string"}),
        |inner, _| json!({"type": "object", "properties": {"a": inner}, "required": ["a"]}),
    )
}

/// Issue #15 item 7: schemas that no document satisfies, or that no document of a bounded size
/// satisfies, were accepted and failed in generation with a 500. They are the client's fault.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_json_schemas_are_refused_with_400_naming_the_place_and_the_limit() {
    let a = api();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        // A `$ref` recursion that is required on every path: no finite document.
        (
            json!({
                "$defs": {"node": {"type": "object",
                                   "properties": {"child": {"$ref": "#/$defs/node"}},
                                   "required": ["child"]}},
                "$ref": "#/$defs/node"
            }),
            vec!["#/$defs/node", "recursion"],
        ),
        // 60 levels of required nesting.
        (
            required_nesting(60),
            vec!["#/properties/a/properties/a", "32 levels"],
        ),
        // A minimum that forces 100 000 items.
        (
            json!({"type": "array", "items": {"type": "integer"}, "minItems": 100000}),
            vec!["#", "`minItems` 100000", "1024"],
        ),
        // A nullable value whose other side is itself: the automaton used to go round it
        // forever without writing a byte (found while fixing the above).
        (
            json!({"anyOf": [{"$ref": "#"}, {"type": "null"}]}),
            vec!["#/anyOf/0", "`$ref` #", "leads back to itself"],
        ),
    ];
    for (schema, needles) in cases {
        for stream in [false, true] {
            let mut body = greedy("Answer in JSON.", 16);
            body["stream"] = json!(stream);
            body["response_format"] =
                json!({"type": "json_schema", "json_schema": {"name": "x", "schema": schema}});
            let r = a.post("/v1/chat/completions", body).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{schema}: {}", r.text);
            let (code, message) = error(&r);
            assert_eq!(code, "invalid_response_format", "{message}");
            for n in &needles {
                assert!(message.contains(n), "{n:?} not in {message:?}");
            }
        }
    }
}

/// Random nested schemas, valid or not, never answer 500: either 400 `invalid_response_format`
/// or a document that validates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_json_schemas_never_answer_500() {
    fn random_schema(rng: &mut models::generate::sampler::Rng, depth: usize) -> Value {
        let mut pick = |n: u64| rng.next_u64() % n;
        if depth == 0 {
            return [
                json!({"type": "string", "maxLength": 4}),
                json!({"type": "integer"}),
                json!({"enum": ["a", 1, null]}),
                json!({"$ref": "#"}),
                json!({"type": "boolean", "pattern": "x"}),
                json!({"type": "number", "minimum": 3, "maximum": 2}),
            ][pick(6) as usize]
                .clone();
        }
        match pick(5) {
            0 | 1 => {
                let (a, b) = (random_schema(rng, depth - 1), random_schema(rng, depth - 1));
                let required = match rng.next_u64() % 3 {
                    0 => json!([]),
                    1 => json!(["a"]),
                    _ => json!(["a", "b"]),
                };
                json!({"type": "object", "properties": {"a": a, "b": b}, "required": required,
                       "additionalProperties": false})
            }
            2 => {
                let min = [0, 1, 2, 5000][(rng.next_u64() % 4) as usize];
                json!({"type": "array", "items": random_schema(rng, depth - 1), "minItems": min})
            }
            3 => json!({"anyOf": [random_schema(rng, depth - 1), {"type": "null"}]}),
            _ => json!({"type": "object", "properties": {"x": random_schema(rng, depth - 1)},
                        "required": ["x"]}),
        }
    }
    let a = api();
    let mut rng = models::generate::sampler::Rng::new(7);
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..16 {
        let depth = 1 + (rng.next_u64() % 4) as usize;
        let schema = random_schema(&mut rng, depth);
        let mut body = greedy("Answer in JSON.", 12);
        body["temperature"] = json!(1.0);
        body["seed"] = json!(rng.next_u64() % 1000);
        body["response_format"] =
            json!({"type": "json_schema", "json_schema": {"name": "x", "schema": schema}});
        let r = a.post("/v1/chat/completions", body).await;
        match r.status {
            StatusCode::OK => {
                ok += 1;
                let content = r.body["choices"][0]["message"]["content"].as_str().unwrap();
                let doc: Value = serde_json::from_str(content)
                    .unwrap_or_else(|e| panic!("{schema}: not JSON ({e}): {content}"));
                let problems = models::json::validate(&schema, &doc);
                assert!(problems.is_empty(), "{schema}: {content}: {problems:?}");
            }
            StatusCode::BAD_REQUEST => {
                refused += 1;
                let (code, message) = error(&r);
                assert_eq!(code, "invalid_response_format", "{schema}: {message}");
                assert!(message.starts_with("JSON schema"), "{message}");
            }
            other => panic!("{schema}: {other}: {}", r.text),
        }
    }
    assert!(ok > 0 && refused > 0, "{ok} answered, {refused} refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fields_that_sdks_send_are_accepted_and_models_are_described() {
    let a = api_with(|_| {});
    // What the official SDKs, LangChain and agent frameworks send beside the essentials,
    // including a replayed assistant message with its `refusal`, and an unknown extension.
    let body = json!({
        "model": GEN, "max_tokens": 4, "temperature": 0,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello.", "refusal": null, "tool_calls": []},
            {"role": "user", "content": "again", "name": "ops"}
        ],
        "metadata": {"team": "ops"}, "store": false, "parallel_tool_calls": true,
        "tool_choice": "none", "tools": [], "user": "u-1", "service_tier": "auto",
        "stream_options": null, "best_of": 1, "x_vendor_extension": {"a": 1}
    });
    let r = a.post("/v1/chat/completions", body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["object"], "chat.completion");
    let r = a
        .post(
            "/v1/embeddings",
            json!({"model": EMB, "input": "x", "user": "u-1", "extra": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // One model by id, and an unknown one.
    let r = a.get(&format!("/v1/models/{GEN}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["id"], GEN);
    assert_eq!(r.body["object"], "model");
    let r = a.get("/v1/models/no-such-model").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "model_not_found");
    assert_eq!(r.body["error"]["type"], "not_found_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_as_prometheus_text_with_model_figures() {
    let a = api_with(|_| {});
    let r = a
        .post(
            "/v1/chat/completions",
            json!({"model": GEN, "max_tokens": 6, "temperature": 0,
                   "messages": [{"role": "user", "content": "Say hello."}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let text = a.get("/metrics").await.text;
    // Strict checks of our own: every sample's family is described and typed before it,
    // counters end in _total, histogram buckets never fall and +Inf equals the count.
    let mut typed: std::collections::HashMap<String, String> = Default::default();
    let mut helped = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.insert(rest.split_whitespace().next().unwrap().to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut p = rest.split_whitespace();
            let (name, kind) = (p.next().unwrap(), p.next().unwrap());
            assert!(
                typed.insert(name.to_string(), kind.to_string()).is_none(),
                "{name} typed twice"
            );
            if kind == "counter" {
                assert!(name.ends_with("_total"), "counter {name}");
            }
        } else if !line.is_empty() {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|f| typed.get(*f).is_some_and(|k| k == "histogram"))
                })
                .unwrap_or(name);
            assert!(typed.contains_key(family), "{name} has no TYPE before it");
            assert!(helped.contains(family), "{name} has no HELP");
        }
    }
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("Prometheus text format");
    let find = |name: &str, label: Option<(&str, &str)>| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .unwrap_or_else(|| panic!("no sample {name} {label:?}"))
    };
    use prometheus_parse::Value as V;
    match &find("deskmate_http_panics_total", None).value {
        V::Counter(_) => {}
        other => panic!("panics are a counter: {other:?}"),
    }
    match &find(
        "deskmate_http_request_duration_seconds",
        Some(("route", "/v1/chat/completions")),
    )
    .value
    {
        V::Histogram(b) => {
            assert!(b.iter().any(|c| c.less_than == 600.0), "{b:?}");
            assert!(b.windows(2).all(|w| w[0].count <= w[1].count), "{b:?}");
        }
        other => panic!("{other:?}"),
    }
    match &find("deskmate_model_calls_total", Some(("model", GEN))).value {
        V::Counter(n) => assert!(*n >= 1.0),
        other => panic!("{other:?}"),
    }
    match &find(
        "deskmate_model_generated_tokens_total",
        Some(("model", GEN)),
    )
    .value
    {
        V::Counter(n) => assert!(*n >= 1.0),
        other => panic!("{other:?}"),
    }
    match &find(
        "deskmate_model_time_to_first_token_seconds",
        Some(("model", GEN)),
    )
    .value
    {
        V::Histogram(b) => assert!(b.last().is_some_and(|c| c.count >= 1.0), "{b:?}"),
        other => panic!("{other:?}"),
    }
    match &find("deskmate_model_queue_depth", Some(("model", GEN))).value {
        V::Gauge(n) => assert_eq!(*n, 0.0, "nothing waits after the call"),
        other => panic!("{other:?}"),
    }
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_open_fds",
    ] {
        let v = match &find(name, None).value {
            V::Counter(v) | V::Gauge(v) => *v,
            other => panic!("{name}: {other:?}"),
        };
        assert!(v > 0.0, "{name} = {v}");
    }
    assert!(
        text.contains("deskmate_build_info{version=\""),
        "build info"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_score_every_prompt_token_as_decoding_does() {
    let a = api();
    let g = a.generator();
    let prompt = "The capital of France is";
    let ids = g.tokenize(prompt, true).unwrap();
    // lm-evaluation-harness's scoring request: echo, one token, one alternative.
    let r = a
        .post(
            "/v1/completions",
            json!({"model": GEN, "prompt": prompt, "echo": true, "max_tokens": 1,
                   "logprobs": 1, "temperature": 0, "seed": 1234}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["object"], "text_completion");
    let c = &r.body["choices"][0];
    let lp = &c["logprobs"];
    let toks = lp["token_logprobs"].as_array().unwrap();
    assert_eq!(toks.len(), ids.len() + 1, "{lp}");
    assert!(toks[0].is_null() && lp["top_logprobs"][0].is_null());
    assert!(c["text"].as_str().unwrap().starts_with(prompt));
    let offsets: Vec<u64> = lp["text_offset"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_u64().unwrap())
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "{offsets:?}");
    assert_eq!(offsets[ids.len()], prompt.chars().count() as u64);
    let joined: String = lp["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(joined, c["text"].as_str().unwrap());
    assert_eq!(r.body["usage"]["prompt_tokens"], ids.len());
    // Each prompt token's log-probability, from the batched prefill, equals the one the
    // token-by-token decoder gives when the prompt stops just before it.
    for cut in 1..ids.len() {
        let r = a
            .post(
                "/v1/completions",
                json!({"model": GEN, "prompt": ids[..cut], "max_tokens": 1, "logprobs": 5,
                       "temperature": 0}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let next = g.detokenize(&ids[cut..cut + 1]).unwrap();
        let top = &r.body["choices"][0]["logprobs"]["top_logprobs"][0];
        let best = top
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .fold(f64::NEG_INFINITY, f64::max);
        let scored = toks[cut].as_f64().unwrap();
        assert!(
            scored <= best + 1e-3,
            "cut {cut}: {scored} above the best {best}"
        );
        if let Some(v) = top.get(&next) {
            assert!(
                (v.as_f64().unwrap() - scored).abs() < 2e-3,
                "cut {cut}: token {next:?} decoded {v}, scored {scored}"
            );
        }
    }
    // The greedy token is the most likely one, and its log-probability says so.
    let last = toks.last().unwrap().as_f64().unwrap();
    let top = lp["top_logprobs"].as_array().unwrap().last().unwrap();
    let best = top
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .fold(f64::NEG_INFINITY, f64::max);
    assert!((last - best).abs() < 1e-6, "{last} vs {best}");
    // Token prompts, several prompts, n choices; echo without generation.
    let r = a
        .post(
            "/v1/completions",
            json!({"model": GEN, "prompt": [ids.clone(), ids.clone()], "n": 2,
                   "max_tokens": 3, "temperature": 1.0, "seed": 7}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let choices = r.body["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 4);
    assert_eq!(
        choices
            .iter()
            .map(|c| c["index"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    // The same seed, the same prompt: choice 0 of each prompt is the same text.
    assert_eq!(choices[0]["text"], choices[2]["text"]);
    assert_eq!(r.body["usage"]["prompt_tokens"], 2 * ids.len());
    let r = a
        .post(
            "/v1/completions",
            json!({"model": GEN, "prompt": prompt, "echo": true, "max_tokens": 0, "logprobs": 0}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["choices"][0]["text"], prompt);
    assert_eq!(r.body["usage"]["completion_tokens"], 0);
    // Streaming: the echoed prompt first, then the text, the log-probabilities at the end.
    let r = a
        .post(
            "/v1/completions",
            json!({"model": GEN, "prompt": prompt, "echo": true, "max_tokens": 4,
                   "logprobs": 2, "temperature": 0, "stream": true,
                   "stream_options": {"include_usage": true}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let data = sse_data(&r.text);
    assert_eq!(data.last().unwrap(), "[DONE]");
    let events: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(events[0]["choices"][0]["text"], prompt);
    let text: String = events
        .iter()
        .filter_map(|e| e["choices"][0]["text"].as_str())
        .collect();
    let plain = a
        .post(
            "/v1/completions",
            json!({"model": GEN, "prompt": prompt, "echo": true, "max_tokens": 4,
                   "temperature": 0}),
        )
        .await;
    assert_eq!(text, plain.body["choices"][0]["text"].as_str().unwrap());
    let closing = &events[events.len() - 2];
    assert_eq!(
        closing["choices"][0]["logprobs"]["tokens"]
            .as_array()
            .unwrap()
            .len(),
        ids.len() + plain.body["usage"]["completion_tokens"].as_u64().unwrap() as usize
    );
    assert!(
        events.last().unwrap()["usage"]["total_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
    // Refusals.
    for (body, needle) in [
        (json!({"model": GEN, "prompt": ""}), "must not be empty"),
        (json!({"model": GEN, "prompt": [1, -2]}), "not a token id"),
        (json!({"model": GEN, "prompt": [[1], "x"]}), "prompt[1]"),
        (
            json!({"model": GEN, "prompt": [999_999]}),
            "outside the vocabulary",
        ),
        (
            json!({"model": GEN, "prompt": "x", "max_tokens": 0}),
            "0 only with `echo`",
        ),
        (
            json!({"model": GEN, "prompt": "x", "suffix": "y"}),
            "`suffix`",
        ),
        (
            json!({"model": GEN, "prompt": "x", "logprobs": 30}),
            "above 20",
        ),
        (json!({"model": GEN, "prompt": {"a": 1}}), "use a string"),
    ] {
        let r = a.post("/v1/completions", body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        let (_, m) = error(&r);
        assert!(m.contains(needle), "{body}: {m:?} lacks {needle:?}");
    }
    // Audited as completions.
    assert!(
        a.model_calls()
            .iter()
            .any(|e| e.details["workflow"] == "openai.completions")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_logprobs_choices_bias_and_penalties() {
    let a = api();
    let g = a.generator();
    let mut body = greedy("Name three colours.", 12);
    body["logprobs"] = json!(true);
    body["top_logprobs"] = json!(3);
    let r = a.post("/v1/chat/completions", body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let content = r.body["choices"][0]["logprobs"]["content"]
        .as_array()
        .unwrap();
    assert!(!content.is_empty());
    let text: String = content
        .iter()
        .map(|t| t["token"].as_str().unwrap())
        .collect();
    assert_eq!(
        text,
        r.body["choices"][0]["message"]["content"].as_str().unwrap()
    );
    for t in content {
        let top = t["top_logprobs"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        // Greedy: the chosen token is the most likely one.
        assert_eq!(t["token"], top[0]["token"], "{t}");
        assert!(
            (t["logprob"].as_f64().unwrap() - top[0]["logprob"].as_f64().unwrap()).abs() < 1e-6
        );
        assert!(t["logprob"].as_f64().unwrap() <= 0.0);
        assert_eq!(
            t["bytes"].as_array().unwrap().len(),
            t["token"].as_str().unwrap().len()
        );
    }
    // n choices, each with its own seed.
    let mut nb = greedy("Say something.", 6);
    nb["temperature"] = json!(1.0);
    nb["seed"] = json!(3);
    nb["n"] = json!(3);
    let r = a.post("/v1/chat/completions", nb).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["choices"].as_array().unwrap().len(), 3);
    assert_eq!(r.body["choices"][2]["index"], 2);
    // logit_bias of +100 on a token makes it the first token.
    let forced = g.tokenize(" Paris", false).unwrap()[0];
    let mut bb = greedy("Hello", 1);
    bb["logit_bias"] = json!({forced.to_string(): 100});
    let r = a.post("/v1/chat/completions", bb).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["choices"][0]["message"]["content"],
        g.detokenize(&[forced]).unwrap()
    );
    // A presence penalty changes a greedy answer that repeats itself, and repeats less.
    let plain = a
        .post("/v1/chat/completions", greedy("Count: one one one", 24))
        .await;
    let mut pb = greedy("Count: one one one", 24);
    pb["presence_penalty"] = json!(2.0);
    pb["frequency_penalty"] = json!(1.0);
    let pen = a.post("/v1/chat/completions", pb).await;
    assert_eq!(pen.status, StatusCode::OK, "{}", pen.text);
    let repeats = |r: &Reply| {
        let t = g
            .tokenize(
                r.body["choices"][0]["message"]["content"].as_str().unwrap(),
                false,
            )
            .unwrap();
        t.len() - t.iter().collect::<std::collections::HashSet<_>>().len()
    };
    assert!(
        repeats(&pen) <= repeats(&plain),
        "{} vs {}",
        pen.text,
        plain.text
    );
    assert_ne!(
        pen.body["choices"][0]["message"]["content"],
        plain.body["choices"][0]["message"]["content"]
    );
    // min_p is accepted and keeps greedy greedy.
    let mut mb = greedy("Name three colours.", 12);
    mb["min_p"] = json!(0.1);
    let r = a.post("/v1/chat/completions", mb).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["choices"][0]["message"]["content"],
        a.post("/v1/chat/completions", greedy("Name three colours.", 12))
            .await
            .body["choices"][0]["message"]["content"]
    );
}

fn weather_tools() -> Value {
    json!([
        {"type": "function", "function": {
            "name": "get_weather", "description": "Current weather in a city",
            "parameters": {"type": "object", "properties": {
                "city": {"type": "string", "maxLength": 40},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                "required": ["city", "unit"]}}},
        {"type": "function", "function": {
            "name": "get_time", "description": "Current time in a time zone",
            "parameters": {"type": "object", "properties": {"zone": {"type": "string", "maxLength": 40}},
                           "required": ["zone"]}}}
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_are_called_with_arguments_that_validate() {
    let a = api();
    let ask = |choice: Value, stream: bool| {
        json!({"model": GEN, "temperature": 0, "max_tokens": 60, "stream": stream,
               "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
               "tools": weather_tools(), "tool_choice": choice})
    };
    let tools = weather_tools();
    let check = |call: &Value, name: &str| {
        assert_eq!(call["type"], "function");
        assert!(call["id"].as_str().unwrap().starts_with("call_"));
        assert_eq!(call["function"]["name"], name);
        let args: Value =
            serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        let schema = tools
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["function"]["name"] == name)
            .unwrap()["function"]["parameters"]
            .clone();
        assert!(models::json::validate(&schema, &args).is_empty(), "{args}");
    };
    // Forced by name, and "required" (with two tools: free, then checked or re-decoded).
    for (choice, name) in [
        (
            json!({"type": "function", "function": {"name": "get_weather"}}),
            Some("get_weather"),
        ),
        (
            json!({"type": "function", "function": {"name": "get_time"}}),
            Some("get_time"),
        ),
        (json!("required"), None),
    ] {
        let r = a
            .post("/v1/chat/completions", ask(choice.clone(), false))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{choice}: {}", r.text);
        let c = &r.body["choices"][0];
        assert_eq!(c["finish_reason"], "tool_calls", "{}", r.text);
        let calls = c["message"]["tool_calls"].as_array().unwrap();
        assert!(!calls.is_empty());
        for call in calls {
            let n = name.unwrap_or_else(|| call["function"]["name"].as_str().unwrap());
            check(call, n);
        }
    }
    // "auto": text or a valid call, never a broken one.
    let r = a
        .post("/v1/chat/completions", ask(json!("auto"), false))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let c = &r.body["choices"][0];
    if c["finish_reason"] == "tool_calls" {
        for call in c["message"]["tool_calls"].as_array().unwrap() {
            check(call, call["function"]["name"].as_str().unwrap());
        }
        assert!(
            !c["message"]["content"]
                .as_str()
                .unwrap_or("")
                .contains("<tool_call>")
        );
    } else {
        assert!(c["message"]["content"].is_string());
    }
    // "none": plain text.
    let r = a
        .post("/v1/chat/completions", ask(json!("none"), false))
        .await;
    assert_eq!(
        r.body["choices"][0]["finish_reason"], "length",
        "{}",
        r.text
    );
    // Streamed: the call arrives whole in the last chunks.
    let r = a
        .post(
            "/v1/chat/completions",
            ask(
                json!({"type": "function", "function": {"name": "get_weather"}}),
                true,
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let data = sse_data(&r.text);
    let events: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let call = events
        .iter()
        .find_map(|e| e["choices"][0]["delta"]["tool_calls"].as_array().cloned())
        .expect("a tool_calls delta");
    assert_eq!(call[0]["index"], 0);
    check(&call[0], "get_weather");
    assert_eq!(
        events.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
    // The call and its result replayed: the model answers in text.
    let r = a
        .post(
            "/v1/chat/completions",
            json!({"model": GEN, "temperature": 0, "max_tokens": 20, "tools": weather_tools(),
                   "messages": [
                       {"role": "user", "content": "What is the weather in Paris?"},
                       {"role": "assistant", "content": null, "tool_calls": [
                           {"id": "call_1", "type": "function",
                            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\", \"unit\": \"celsius\"}"}}]},
                       {"role": "tool", "tool_call_id": "call_1", "content": "18 °C, light rain"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The rendered prompt shows the tools, the call and its result.
    let r = a
        .post(
            "/tokenize",
            json!({"model": GEN, "return_token_strs": true, "messages": [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18 °C"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let shown: String = r.body["token_strs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(
        shown.contains("get_weather") && shown.contains("18 °C"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokenizer_endpoints_answer_as_vllm_does() {
    let a = api();
    let g = a.generator();
    let text = "Deskmate 报价 snowball, 1y";
    let r = a
        .post(
            "/tokenize",
            json!({"model": GEN, "prompt": text, "add_special_tokens": false}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let ids: Vec<u32> = serde_json::from_value(r.body["tokens"].clone()).unwrap();
    assert_eq!(ids, g.tokenize(text, false).unwrap());
    assert_eq!(r.body["count"], ids.len());
    assert_eq!(r.body["max_model_len"], g.context_length());
    let r = a
        .post("/detokenize", json!({"model": GEN, "tokens": ids}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["prompt"], text);
    // llama.cpp's field name, and the default model.
    let r = a.post("/tokenize", json!({"content": text})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A conversation counts as many tokens as the chat endpoint's prompt.
    let r = a
        .post(
            "/tokenize",
            json!({"model": GEN, "messages": greedy("Hi", 1)["messages"]}),
        )
        .await;
    let chat = a.post("/v1/chat/completions", greedy("Hi", 1)).await;
    assert_eq!(r.body["count"], chat.body["usage"]["prompt_tokens"]);
    let r = a.get(&format!("/tokenizer_info?model={GEN}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["eos_token"].is_string(), "{}", r.text);
    assert!(
        r.body["chat_template"]
            .as_str()
            .is_some_and(|t| t.contains("messages"))
    );
    for (path, body, needle) in [
        ("/tokenize", json!({"model": GEN}), "`prompt`"),
        (
            "/tokenize",
            json!({"prompt": "a", "messages": []}),
            "not both",
        ),
        (
            "/detokenize",
            json!({"tokens": [999_999]}),
            "outside the vocabulary",
        ),
    ] {
        let r = a.post(path, body.clone()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert!(error(&r).1.contains(needle), "{body}: {}", r.text);
    }
    // A role without models.use.
    let r = a
        .send_as(
            &a.client.clone(),
            Method::POST,
            "/tokenize",
            Some(json!({"prompt": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
