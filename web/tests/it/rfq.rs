//! The RFQ desk over HTTP: the webhook adapter end to end (inbound `POST /v1/chat/inbound`
//! through `app()`, replies POSTed by the real webhook sender to a loopback receiver that fails
//! once, retried with the same idempotency key), approval over HTTP, and the blotter; trader
//! edits validated like the desk's quote (issue #15: a −99% premium, `<script>` in the client's
//! text and garbage payloads are refused with the field named), and a quote the chat refuses
//! shown to the trader as `send_failed` with the reason.

use assistant::Assistant;
use assistant::config::Config;
use assistant::desk::DeskBridge;
use assistant::store::Actor;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::routing::post;
use connectors::chat::{ChatDesk, run_outbound};
use connectors::webhook::{WebhookSender, WebhookSettings};
use http_body_util::BodyExt;
use policies::Role;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};
use tower::ServiceExt;
use web::{AppState, app};

const MARKETS: &str = r#"{"markets": {
  "000300.SH": {"valuation_date": "2026-01-05", "spot": 100.0, "rate": 0.02, "dividend": 0.01, "vol": 0.22}
}}"#;

/// What the loopback receiver got: (idempotency key, authorization, body), and whether it has
/// already failed once.
#[derive(Default)]
struct Receiver {
    got: Vec<(String, String, Value)>,
    failed_once: bool,
    /// Answer quotes with 400 (a final failure: the chat system refuses the message).
    refuse_quotes: bool,
}

type Shared = Arc<Mutex<Receiver>>;

async fn receive(
    State(r): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> (StatusCode, axum::Json<Value>) {
    let mut r = r.lock().unwrap();
    let key = headers["idempotency-key"].to_str().unwrap().to_string();
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let quote = body["kind"] == "quote";
    r.got.push((key, auth, body));
    if quote && r.refuse_quotes {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "message refused"})),
        );
    }
    if !r.failed_once {
        r.failed_once = true;
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({})));
    }
    let n = r.got.len();
    (
        StatusCode::OK,
        axum::Json(json!({"message_id": format!("w-{n}")})),
    )
}

async fn call(
    state: &AppState,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let req = match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string())),
        None => {
            b = b.header(header::CONTENT_LENGTH, "0");
            b.body(Body::empty())
        }
    }
    .unwrap();
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn until(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_adapter_runs_the_whole_loop_and_the_blotter_shows_it() {
    // The loopback receiver of replies.
    let rx: Shared = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/replies", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/replies", post(receive))
        .with_state(rx.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("markets.json"), MARKETS).unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.path().join("data");
    c.rfq.market_data = dir.path().join("markets.json").display().to_string();
    c.rfq.send_retry_ms = 50;
    c.webhook.channels = vec!["wecom".into()];
    c.webhook.gateway_users = vec!["wecom-bridge".into()];
    c.webhook.callback_url = callback.clone();
    c.webhook.secret = "s3cret".into();
    c.limits = toml::from_str(
        "[clients.C001]\nstructures = [\"vanilla\"]\nmax_notional = 1e8\nmax_tenor_months = 24\n",
    )
    .unwrap();
    let a = Assistant::open(c).unwrap();
    let mut tokens = std::collections::BTreeMap::new();
    for (name, role) in [
        ("wecom-bridge", Role::Client),
        ("tina", Role::Trader),
        ("root", Role::Admin),
        ("lars", Role::Legal),
    ] {
        a.create_user(&Actor::system(), name, role).unwrap();
        tokens.insert(
            name,
            a.issue_token(&Actor::system(), name, "test", None)
                .unwrap()
                .token,
        );
    }
    let state = AppState::new(a);

    // Admin maps the chat; the adapter's sender starts.
    let (s, m) = call(
        &state,
        Method::POST,
        "/v1/rfq/chats",
        &tokens["root"],
        Some(json!({"channel": "wecom", "chat_id": "room-1", "client_id": "C001", "label": "Client One"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    assert_eq!(m["client_configured"], true);
    let desk: Arc<dyn ChatDesk> = Arc::new(DeskBridge::new(state.assistant.clone()));
    let sender = Arc::new(
        WebhookSender::new(WebhookSettings {
            callback_url: url::Url::parse(&callback).unwrap(),
            secret: "s3cret".into(),
            timeout: Duration::from_secs(5),
        })
        .unwrap(),
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let pump = tokio::spawn(run_outbound(
        desk,
        sender,
        "wecom".into(),
        Arc::new(Notify::new()),
        Duration::from_millis(50),
        stop_rx,
    ));

    // Only gateway users may post, and only on configured channels.
    let inbound = json!({
        "channel": "wecom", "chat_id": "room-1", "message_id": "m-42", "sender": "u-7 alice",
        "text": "@desk 沪深300 12个月 平值看涨 名义本金1000万 期权费多少", "bot_mention": "@desk"
    });
    let (s, _) = call(
        &state,
        Method::POST,
        "/v1/chat/inbound",
        &tokens["tina"],
        Some(inbound.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut other = inbound.clone();
    other["channel"] = json!("slack");
    let (s, _) = call(
        &state,
        Method::POST,
        "/v1/chat/inbound",
        &tokens["wecom-bridge"],
        Some(other),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, r) = call(
        &state,
        Method::POST,
        "/v1/chat/inbound",
        &tokens["wecom-bridge"],
        Some(inbound.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{r}");
    assert_eq!(r["disposition"], "rfq");
    let rfq_id = r["rfq_id"].as_str().unwrap().to_string();
    // A retried delivery of the same message is archived once.
    let (s, r) = call(
        &state,
        Method::POST,
        "/v1/chat/inbound",
        &tokens["wecom-bridge"],
        Some(inbound),
    )
    .await;
    assert_eq!((s, r["new"].as_bool()), (StatusCode::ACCEPTED, Some(false)));

    // The acknowledgement reaches the receiver after one failed attempt, with the same key.
    assert!(until(10, || rx.lock().unwrap().got.len() >= 2).await);
    {
        let r = rx.lock().unwrap();
        let (k1, auth, b1) = &r.got[0];
        assert_eq!(k1, &r.got[1].0, "a retry carries the same idempotency key");
        assert_eq!(auth, "Bearer s3cret");
        assert_eq!(b1["kind"], "ack");
        assert_eq!(b1["chat_id"], "room-1");
        assert_eq!(b1["reply_to_message_id"], "m-42");
    }

    // The trader approves over HTTP; the quote reaches the receiver once.
    let mut approval = None;
    for _ in 0..500 {
        let (_, body) = call(
            &state,
            Method::GET,
            &format!("/v1/rfqs/{rfq_id}"),
            &tokens["tina"],
            None,
        )
        .await;
        if let Some(a) = body["quotes"][0]["approval_id"].as_str() {
            approval = Some(a.to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let approval = approval.expect("the quote reached the queue");
    let (s, body) = call(
        &state,
        Method::POST,
        &format!("/v1/approvals/{approval}/approve"),
        &tokens["tina"],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        until(10, || rx
            .lock()
            .unwrap()
            .got
            .iter()
            .any(|g| g.2["kind"] == "quote"))
        .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let quotes: Vec<Value> = rx
        .lock()
        .unwrap()
        .got
        .iter()
        .filter(|g| g.2["kind"] == "quote")
        .map(|g| g.2.clone())
        .collect();
    assert_eq!(quotes.len(), 1, "{quotes:?}");
    let text = quotes[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("【机器生成·仅供参考】") && text.contains("期权费"),
        "{text}"
    );
    assert_eq!(quotes[0]["reply_to_message_id"], "m-42");
    stop_tx.send(true).unwrap();
    pump.await.unwrap();

    // The blotter: filtered list, and the full trail of the request.
    let (s, list) = call(
        &state,
        Method::GET,
        "/v1/rfqs?client=C001&status=quoted",
        &tokens["tina"],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["rfqs"].as_array().unwrap().len(), 1);
    let (_, none) = call(
        &state,
        Method::GET,
        "/v1/rfqs?client=C999",
        &tokens["tina"],
        None,
    )
    .await;
    assert!(none["rfqs"].as_array().unwrap().is_empty());
    let (s, bad) = call(
        &state,
        Method::GET,
        "/v1/rfqs?from=yesterday",
        &tokens["tina"],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    let (_, trail) = call(
        &state,
        Method::GET,
        &format!("/v1/rfqs/{rfq_id}"),
        &tokens["tina"],
        None,
    )
    .await;
    assert_eq!(trail["quotes"][0]["status"], "sent");
    let messages = trail["messages"].as_array().unwrap();
    assert_eq!(
        messages.iter().filter(|m| m["direction"] == "in").count(),
        1
    );
    assert!(messages.iter().any(|m| m["kind"] == "quote"
        && m["status"] == "sent"
        && m["message_id"].as_str().is_some()));
    let actions: Vec<&str> = trail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"chat.outbound.retry") && actions.contains(&"approval.approve"),
        "{actions:?}"
    );
    // Market data as loaded.
    let (s, md) = call(
        &state,
        Method::GET,
        "/v1/rfq/market-data",
        &tokens["tina"],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(md["markets"][0]["code"], "000300.SH");
}

/// A desk behind `app()`: channel `wecom` mapped to client C001, users `wecom-bridge` (the
/// adapter), `tina` (trader) and `root` (admin), and the real webhook sender delivering replies
/// to a loopback receiver (which answers 200 once it has failed once, unless told otherwise).
struct WebDesk {
    state: AppState,
    tokens: std::collections::BTreeMap<&'static str, String>,
    rx: Shared,
    stop: watch::Sender<bool>,
    pump: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn web_desk(receiver: Receiver) -> WebDesk {
    let rx: Shared = Arc::new(Mutex::new(receiver));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/replies", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/replies", post(receive))
        .with_state(rx.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("markets.json"), MARKETS).unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.path().join("data");
    c.rfq.market_data = dir.path().join("markets.json").display().to_string();
    c.rfq.send_retry_ms = 50;
    c.webhook.channels = vec!["wecom".into()];
    c.webhook.gateway_users = vec!["wecom-bridge".into()];
    c.webhook.callback_url = callback.clone();
    c.limits = toml::from_str(
        "[clients.C001]\nstructures = [\"vanilla\"]\nmax_notional = 1e8\nmax_tenor_months = 24\n",
    )
    .unwrap();
    let a = Assistant::open(c).unwrap();
    let mut tokens = std::collections::BTreeMap::new();
    for (name, role) in [
        ("wecom-bridge", Role::Client),
        ("tina", Role::Trader),
        ("root", Role::Admin),
        ("lars", Role::Legal),
    ] {
        a.create_user(&Actor::system(), name, role).unwrap();
        tokens.insert(
            name,
            a.issue_token(&Actor::system(), name, "test", None)
                .unwrap()
                .token,
        );
    }
    let state = AppState::new(a);
    let (s, m) = call(
        &state,
        Method::POST,
        "/v1/rfq/chats",
        &tokens["root"],
        Some(json!({"channel": "wecom", "chat_id": "room-1", "client_id": "C001"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let desk: Arc<dyn ChatDesk> = Arc::new(DeskBridge::new(state.assistant.clone()));
    let sender = Arc::new(
        WebhookSender::new(WebhookSettings {
            callback_url: url::Url::parse(&callback).unwrap(),
            secret: String::new(),
            timeout: Duration::from_secs(5),
        })
        .unwrap(),
    );
    let (stop, stop_rx) = watch::channel(false);
    let pump = tokio::spawn(run_outbound(
        desk,
        sender,
        "wecom".into(),
        Arc::new(Notify::new()),
        Duration::from_millis(50),
        stop_rx,
    ));
    WebDesk {
        state,
        tokens,
        rx,
        stop,
        pump,
        _dir: dir,
    }
}

impl WebDesk {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        call(&self.state, method, path, &self.tokens["tina"], body).await
    }

    /// Posts a request for a 12-month ATM call on 沪深300 as message `message_id` and waits for
    /// its quote to reach the queue: `(rfq id, approval id)`.
    async fn queued_quote(&self, message_id: &str) -> (String, String) {
        let (s, r) = call(
            &self.state,
            Method::POST,
            "/v1/chat/inbound",
            &self.tokens["wecom-bridge"],
            Some(json!({
                "channel": "wecom", "chat_id": "room-1", "message_id": message_id,
                "sender": "u-7 alice", "bot_mention": "@desk",
                "text": "@desk 沪深300 12个月 平值看涨 名义本金1000万 期权费多少",
            })),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{r}");
        let rfq_id = r["rfq_id"].as_str().unwrap().to_string();
        for _ in 0..500 {
            let (_, body) = self
                .call(Method::GET, &format!("/v1/rfqs/{rfq_id}"), None)
                .await;
            if let Some(a) = body["quotes"][0]["approval_id"].as_str() {
                return (rfq_id, a.to_string());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the quote of {rfq_id} never reached the queue");
    }

    /// Waits until the request's first quote has `status`; its view.
    async fn quote_status(&self, rfq_id: &str, status: &str) -> Value {
        let mut body = Value::Null;
        for _ in 0..500 {
            body = self
                .call(Method::GET, &format!("/v1/rfqs/{rfq_id}"), None)
                .await
                .1;
            if body["quotes"][0]["status"] == status {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the quote never became {status}: {body}");
    }

    fn quotes_received(&self) -> Vec<Value> {
        self.rx
            .lock()
            .unwrap()
            .got
            .iter()
            .filter(|g| g.2["kind"] == "quote")
            .map(|g| g.2.clone())
            .collect()
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.pump.await.unwrap();
    }
}

/// The error message of a 400, after checking the one error shape.
fn bad_request(status: StatusCode, body: &Value) -> String {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request", "{body}");
    assert!(body["error"]["request_id"].as_str().is_some(), "{body}");
    body["error"]["message"].as_str().unwrap().to_string()
}

/// Edits `approval` as the trader tina, with a note.
async fn edit(d: &WebDesk, approval: &str, payload: Value) -> (StatusCode, Value) {
    d.call(
        Method::POST,
        &format!("/v1/approvals/{approval}/edit"),
        Some(json!({"payload": payload, "note": "tester"})),
    )
    .await
}

/// After refused edits: the request is still at version 1 with the desk's payload, and once
/// approved the client gets the desk's quote, as priced and without markup.
async fn only_the_desk_quote_goes_out(d: &WebDesk, rfq_id: &str, approval: &str, payload: &Value) {
    let path = format!("/v1/approvals/{approval}");
    let (_, after) = d.call(Method::GET, &path, None).await;
    assert_eq!(after["version"], 1, "{after}");
    assert_eq!(&after["payload"], payload);
    let (s, body) = d.call(Method::POST, &format!("{path}/approve"), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    d.quote_status(rfq_id, "sent").await;
    let quotes = d.quotes_received();
    assert_eq!(quotes.len(), 1, "{quotes:?}");
    let text = quotes[0]["text"].as_str().unwrap();
    let figure = format!("{:.2}%", payload["quote"]["client"].as_f64().unwrap());
    assert!(text.contains(&figure) && !text.contains('<'), "{text}");
}

/// Issue #15 item 6, as the hostile tester did it: a −99% premium with `<script>` in the
/// client's text. Refused with the field named (and the script alone too); nothing is stored,
/// and the desk's own quote is what the client gets once approved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_premium_with_a_script_is_refused_with_the_field_named() {
    let d = web_desk(Receiver::default()).await;
    let (rfq_id, approval) = d.queued_quote("m-1").await;
    let (_, before) = d
        .call(Method::GET, &format!("/v1/approvals/{approval}"), None)
        .await;
    let payload = before["payload"].clone();
    assert_eq!(payload["quote"]["kind"], "premium", "{payload}");

    let mut hostile = payload.clone();
    hostile["quote"]["client"] = json!(-99.0);
    hostile["terms"]["zh"] = json!("<script>alert(1)</script>");
    let (s, body) = edit(&d, &approval, hostile).await;
    let m = bad_request(s, &body);
    assert!(
        m.contains("payload.quote.client") && m.contains("must be > 0"),
        "{m}"
    );
    // The script alone, with the desk's price, is refused too.
    let mut script = payload.clone();
    script["terms"]["zh"] = json!(format!(
        "{}<script>alert(1)</script>",
        payload["terms"]["zh"].as_str().unwrap()
    ));
    let (s, body) = edit(&d, &approval, script).await;
    let m = bad_request(s, &body);
    assert!(m.starts_with("payload.terms.zh: "), "{m}");

    only_the_desk_quote_goes_out(&d, &rfq_id, &approval, &payload).await;
    d.stop().await;
}

/// Issue #15 item 6: an edit to a garbage payload was approved and the quote silently ended as
/// `send_failed`. Now each garbage edit (not an object, an array, a wrong type, an unknown
/// field, a payload of nothing) is a 400 naming the field, and the quote goes out as priced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_quote_edits_are_refused_with_the_field_named() {
    let d = web_desk(Receiver::default()).await;
    let (rfq_id, approval) = d.queued_quote("m-3").await;
    let (_, before) = d
        .call(Method::GET, &format!("/v1/approvals/{approval}"), None)
        .await;
    let payload = before["payload"].clone();
    let mut wrong_type = payload.clone();
    wrong_type["quote"]["client"] = json!("cheap");
    let mut unknown = payload.clone();
    unknown["discount"] = json!(5);
    for (garbage, field) in [
        (json!("garbage"), "payload: "),
        (json!([1, 2, 3]), "payload: "),
        (wrong_type, "payload.quote.client: "),
        (unknown, "payload.discount: "),
        (json!({"foo": "bar"}), "payload.foo: "),
        (json!({}), "payload.rfq_id: "),
    ] {
        let (s, body) = edit(&d, &approval, garbage.clone()).await;
        let m = bad_request(s, &body);
        assert!(m.starts_with(field), "{garbage}: {m}");
    }
    only_the_desk_quote_goes_out(&d, &rfq_id, &approval, &payload).await;
    d.stop().await;
}

/// A quote the chat system refuses after approval is never silent: the blotter and the
/// approval show `send_failed` with the reason, and the audit log has `quote.send_failed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_that_cannot_be_sent_is_shown_to_the_trader_as_send_failed() {
    let d = web_desk(Receiver {
        refuse_quotes: true,
        ..Default::default()
    })
    .await;
    let (rfq_id, approval) = d.queued_quote("m-2").await;
    let (s, body) = d
        .call(
            Method::POST,
            &format!("/v1/approvals/{approval}/approve"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let rfq = d.quote_status(&rfq_id, "send_failed").await;
    let reason = rfq["quotes"][0]["error"].as_str().unwrap_or_default();
    assert!(reason.contains("400"), "{rfq}");
    let (_, a) = d
        .call(Method::GET, &format!("/v1/approvals/{approval}"), None)
        .await;
    assert_eq!(a["state"], "approved", "{a}");
    assert_eq!(a["delivery"]["status"], "send_failed", "{a}");
    assert!(
        a["delivery"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("400")),
        "{a}"
    );
    let actions: Vec<&str> = rfq["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"quote.send_failed"), "{actions:?}");
    d.stop().await;
}

/// `GET /v1/risk/exposure` (risk.read): a quote waiting for approval counts in the desk's
/// pending exposure on its underlying, with units, before anyone trades; the client's gateway
/// may not read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_exposure_counts_live_quotes() {
    let d = web_desk(Receiver::default()).await;
    let (s, empty) = d.call(Method::GET, "/v1/risk/exposure", None).await;
    assert_eq!(s, StatusCode::OK, "{empty}");
    assert_eq!(empty["underlyings"], json!([]), "{empty}");
    let (rfq_id, _) = d.queued_quote("m-risk-1").await;
    let (s, r) = d.call(Method::GET, "/v1/risk/exposure", None).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let u = &r["underlyings"][0];
    assert_eq!(u["underlying"], "000300.SH", "{r}");
    assert_eq!(u["currency"], "CNY");
    assert_eq!(u["live_quotes"], 1, "{r}");
    assert_eq!(u["book_cash_delta"], 0.0);
    let pending = u["pending_cash_delta"].as_f64().unwrap();
    assert!(
        pending.abs() > 0.0,
        "a 10m notional call moves the desk's delta: {r}"
    );
    assert_eq!(u["total_cash_delta"].as_f64().unwrap(), pending);
    let (_, detail) = d
        .call(Method::GET, &format!("/v1/rfqs/{rfq_id}"), None)
        .await;
    assert!(!detail["quotes"].as_array().unwrap().is_empty());
    let (s, _) = call(
        &d.state,
        Method::GET,
        "/v1/risk/exposure",
        &d.tokens["wecom-bridge"],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    d.stop().await;
}

/// Issue #18: legal drafts the confirmation of a quote the trader approved, over HTTP, in
/// Chinese; a quote still pending is refused, saying it must be approved first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_quote_is_drafted_as_a_confirmation() {
    let d = web_desk(Receiver::default()).await;
    let (_rfq_id, approval) = d.queued_quote("m-9").await;
    let draft = |body: Value| {
        call(
            &d.state,
            Method::POST,
            "/v1/drafts",
            &d.tokens["lars"],
            Some(body),
        )
    };
    let (s, body) = draft(json!({"quote": approval, "language": "zh"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("pending"), "{body}");
    let (s, body) = d
        .call(
            Method::POST,
            &format!("/v1/approvals/{approval}/approve"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = draft(json!({"quote": approval, "language": "zh"})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["source"], format!("quote:{approval}"));
    assert_eq!(body["template"], "equity-option.zh");
    let text = body["text"].as_str().unwrap();
    for want in [
        "沪深300（000300.SH）",
        "行权价格：期初价格的100%",
        "人民币10,000,000.00元",
        "看涨期权",
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
    d.stop().await;
}
