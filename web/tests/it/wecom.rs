//! The WeCom robot end to end against a local fake WeCom on 127.0.0.1, written from WeCom's
//! documentation: the fake encrypts and signs callbacks as documented ("回调和回复的加解密方案",
//! whose worked examples `connectors::wecom::crypto` reproduces byte for byte), sends them to
//! `POST /v1/wecom/callback` of the real router, decrypts and checks the signature of every
//! passive reply, refreshes open streams as WeCom does, serves one-use `response_url`s and the
//! application API (`gettoken`, `appchat/send`, `message/send`, with scripted errors), and
//! records everything the robot sends. The desk behind it is the real one over a temporary
//! data dir.
//!
//! Covered: the console's URL check; a group RFQ @-mentioning the robot → acknowledgement in
//! the passive stream → trader approval → quote in the same stream; a quote after WeCom stopped
//! refreshing → `response_url`, @-mentioning the client; a message without the @-mention
//! ignored; a replayed callback deduplicated; an unmapped group answered and an admin alerted;
//! a flood from one group throttled with one polite reply; wrong signature (401, audited),
//! expired timestamp, truncated `encrypt`, non-JSON body, missing parameters; a server restart
//! between approval and sending, with the application API answering "token expired" and a rate
//! limit first; and the day's load (`a_trading_day_of_rfqs_through_the_fake`).

use assistant::Assistant;
use assistant::approvals::{ApprovalFilter, ApprovalKind};
use assistant::config::Config;
use assistant::store::Actor;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{Method, Request, StatusCode};
use axum::routing::{get, post};
use connectors::wecom::crypto::WecomCrypto;
use futures::StreamExt;
use http_body_util::BodyExt;
use policies::{ApprovalState, Principal, Role};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tower::ServiceExt;
use web::{AppState, app};

const TOKEN: &str = "QDG6eK";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const MARKETS: &str = r#"{"markets": {
  "000300.SH": {"valuation_date": "2026-01-05", "spot": 100.0, "rate": 0.02, "dividend": 0.01, "vol": 0.22}
}}"#;
const RFQ: &str = "@报价助手 沪深300 12个月 平值看涨 名义本金1000万 期权费多少";
const LABEL: &str = "【机器生成·仅供参考】";

/// What the fake WeCom saw and how it answers.
#[derive(Default)]
struct Record {
    /// `response_url` posts accepted: (message id, body).
    responses: Vec<(String, Value)>,
    /// `response_url`s already used (a second post is refused).
    used: HashSet<String>,
    /// `response_url` posts refused.
    refused: usize,
    /// `gettoken` calls, and the token now valid.
    gettoken: usize,
    token: String,
    /// Messages delivered through `appchat/send` and `message/send`.
    appchat: Vec<Value>,
    messages: Vec<Value>,
    /// Error codes `appchat/send` answers next, in order, before it delivers.
    appchat_errors: VecDeque<i64>,
    /// Every API call, for the record.
    calls: Vec<String>,
}

type Shared = Arc<Mutex<Record>>;

async fn response_url(
    State(r): State<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let mut r = r.lock().unwrap();
    r.calls.push(format!("response/{id}"));
    if !r.used.insert(id.clone()) {
        r.refused += 1;
        // The fake's code for a spent URL (WeCom documents one use per URL).
        return Json(json!({"errcode": 93017, "errmsg": "response_url already used (fake)"}));
    }
    assert_eq!(body["msgtype"], "markdown", "{body}");
    r.responses.push((id, body));
    Json(json!({"errcode": 0, "errmsg": "ok"}))
}

async fn gettoken(
    State(r): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let mut r = r.lock().unwrap();
    r.calls.push("gettoken".into());
    if q.get("corpid").map(String::as_str) != Some("ww-corp")
        || q.get("corpsecret").map(String::as_str) != Some("app-secret")
    {
        return Json(json!({"errcode": 40001, "errmsg": "invalid credential"}));
    }
    r.gettoken += 1;
    r.token = format!("tok-{}", r.gettoken);
    Json(json!({"errcode": 0, "errmsg": "ok", "access_token": r.token, "expires_in": 7200}))
}

async fn cgi_post(
    State(r): State<Shared>,
    Path(method): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let mut r = r.lock().unwrap();
    r.calls.push(method.clone());
    if q.get("access_token") != Some(&r.token) {
        return Json(json!({"errcode": 42001, "errmsg": "access_token expired"}));
    }
    match method.as_str() {
        "appchat/send" => {
            if let Some(code) = r.appchat_errors.pop_front() {
                if code == 42001 {
                    // The token expires under the robot's feet.
                    r.token = "expired".into();
                }
                return Json(json!({"errcode": code, "errmsg": "scripted by the fake"}));
            }
            r.appchat.push(body);
        }
        "message/send" => r.messages.push(body),
        _ => return Json(json!({"errcode": 60011, "errmsg": "no such api (fake)"})),
    }
    Json(json!({"errcode": 0, "errmsg": "ok"}))
}

/// The fake: the WeCom side of the robot.
struct Fake {
    crypto: WecomCrypto,
    rec: Shared,
    base: String,
    seq: AtomicU64,
    /// Streams the fake keeps refreshing: id → (content so far, finished).
    streams: Mutex<BTreeMap<String, (String, bool)>>,
    /// Streams the fake has stopped refreshing (as after WeCom's 6 minutes).
    abandoned: Mutex<HashSet<String>>,
    /// How often open streams are refreshed.
    refresh_every: Mutex<Duration>,
}

impl Fake {
    async fn start() -> Arc<Fake> {
        let rec: Shared = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/response/{id}", post(response_url))
            .route("/cgi-bin/gettoken", get(gettoken))
            .route("/cgi-bin/{*method}", post(cgi_post))
            .with_state(rec.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Arc::new(Fake {
            crypto: WecomCrypto::new(TOKEN, AES_KEY, "").unwrap(),
            rec,
            base,
            seq: AtomicU64::new(1),
            streams: Mutex::default(),
            abandoned: Mutex::default(),
            refresh_every: Mutex::new(Duration::from_millis(100)),
        })
    }

    fn msgid(&self) -> String {
        format!("CAIQ{}=", self.seq.fetch_add(1, Ordering::Relaxed))
    }

    /// A group text message as documented ("接收消息" → 文本消息).
    fn text(&self, msgid: &str, chat: &str, user: &str, text: &str) -> Value {
        json!({
            "msgid": msgid, "aibotid": "AIBOT1", "chatid": chat, "chattype": "group",
            "from": {"userid": user}, "response_url": format!("{}/response/{msgid}", self.base),
            "msgtype": "text", "text": {"content": text}
        })
    }

    /// Encrypts, signs and posts `plain` to the robot; `skew` moves the timestamp; `sign`
    /// lets a test alter the query. Returns the status and the decrypted, verified reply.
    async fn post_with(
        &self,
        state: &AppState,
        plain: &Value,
        skew: i64,
        alter: impl FnOnce(&mut Vec<(String, String)>, &mut String),
    ) -> (StatusCode, Option<Value>, String) {
        let encrypt = self.crypto.encrypt(&plain.to_string());
        let ts = (time::OffsetDateTime::now_utc().unix_timestamp() + skew).to_string();
        let nonce = format!("{}", self.seq.fetch_add(1, Ordering::Relaxed) * 7919);
        let sig = self.crypto.signature(&ts, &nonce, &encrypt);
        let mut query = vec![
            ("msg_signature".to_string(), sig),
            ("timestamp".to_string(), ts),
            ("nonce".to_string(), nonce),
        ];
        let mut body = json!({"encrypt": encrypt}).to_string();
        alter(&mut query, &mut body);
        let q = serde_urlencoded::to_string(&query).unwrap();
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/v1/wecom/callback?{q}"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let resp = app(state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).to_string();
        if status != StatusCode::OK || bytes.is_empty() {
            return (status, None, text);
        }
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        let (enc, ts, nonce) = (
            v["encrypt"].as_str().unwrap(),
            v["timestamp"].as_str().unwrap(),
            v["nonce"].as_str().unwrap(),
        );
        self.crypto
            .verify(v["msgsignature"].as_str().unwrap(), ts, nonce, enc)
            .expect("the passive reply is signed with the robot's token");
        let plain: Value = serde_json::from_str(&self.crypto.decrypt(enc).unwrap()).unwrap();
        if plain["msgtype"] == "stream" {
            let id = plain["stream"]["id"].as_str().unwrap().to_string();
            let content = plain["stream"]["content"].as_str().unwrap().to_string();
            let finish = plain["stream"]["finish"].as_bool().unwrap();
            self.streams.lock().unwrap().insert(id, (content, finish));
        }
        (status, Some(plain), text)
    }

    async fn post(&self, state: &AppState, plain: &Value) -> (StatusCode, Option<Value>) {
        let (s, v, _) = self.post_with(state, plain, 0, |_, _| {}).await;
        (s, v)
    }

    /// Refreshes every open stream as WeCom does, until `stop`.
    fn refresher(self: &Arc<Fake>, state: AppState, mut stop: watch::Receiver<bool>) {
        let fake = self.clone();
        tokio::spawn(async move {
            loop {
                let open: Vec<String> = {
                    let gone = fake.abandoned.lock().unwrap().clone();
                    fake.streams
                        .lock()
                        .unwrap()
                        .iter()
                        .filter(|(id, (_, done))| !done && !gone.contains(*id))
                        .map(|(id, _)| id.clone())
                        .collect()
                };
                // WeCom refreshes each stream on its own: many at once.
                futures::stream::iter(open)
                    .for_each_concurrent(16, |id| {
                        let fake = fake.clone();
                        let state = state.clone();
                        async move {
                            let refresh = json!({
                                "msgid": fake.msgid(), "aibotid": "AIBOT1", "chatid": "any",
                                "chattype": "group", "from": {"userid": "any"},
                                "msgtype": "stream", "stream": {"id": id}
                            });
                            let (s, _) = fake.post(&state, &refresh).await;
                            assert_eq!(s, StatusCode::OK);
                        }
                    })
                    .await;
                let every = *fake.refresh_every.lock().unwrap();
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.changed() => return,
                }
            }
        });
    }

    /// The content of stream `reply` once it has some: under load the acknowledgement may miss
    /// the first answer (it waits `wecom.first_wait_ms`) and come with a refresh.
    async fn first_words(&self, state: &AppState, reply: &Value) -> String {
        let id = reply["stream"]["id"].as_str().unwrap().to_string();
        let mut content = reply["stream"]["content"].as_str().unwrap().to_string();
        let end = Instant::now() + Duration::from_secs(20);
        while content.is_empty() && Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let refresh = json!({
                "msgid": self.msgid(), "aibotid": "AIBOT1", "chatid": "any",
                "chattype": "group", "from": {"userid": "any"},
                "msgtype": "stream", "stream": {"id": id}
            });
            if let (StatusCode::OK, Some(r)) = self.post(state, &refresh).await {
                content = r["stream"]["content"].as_str().unwrap_or("").to_string();
            }
        }
        content
    }

    /// How often `needle` reached the group: (in stream contents, in `response_url` posts).
    fn delivered(&self, needle: &str) -> (usize, usize) {
        let in_streams = self
            .streams
            .lock()
            .unwrap()
            .values()
            .map(|(c, _)| c.matches(needle).count())
            .sum();
        let by_url = self
            .rec
            .lock()
            .unwrap()
            .responses
            .iter()
            .filter(|(_, b)| b.to_string().contains(needle))
            .count();
        (in_streams, by_url)
    }

    fn stream_of(&self, content_has: &str) -> Option<(String, String, bool)> {
        self.streams
            .lock()
            .unwrap()
            .iter()
            .find(|(_, (c, _))| c.contains(content_has))
            .map(|(id, (c, f))| (id.clone(), c.clone(), *f))
    }
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

fn config(dir: &std::path::Path, api: &str) -> Config {
    std::fs::write(dir.join("markets.json"), MARKETS).unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.join("data");
    c.rfq.market_data = dir.join("markets.json").display().to_string();
    c.rfq.send_retry_ms = 50;
    c.rfq.outbox_poll_ms = 50;
    c.wecom.enabled = true;
    c.wecom.token = TOKEN.into();
    c.wecom.encoding_aes_key = AES_KEY.into();
    c.wecom.bot_name = "报价助手".into();
    c.wecom.stream_wait_ms = 600;
    c.wecom.corp_id = "ww-corp".into();
    c.wecom.agent_id = 1000002;
    c.wecom.secret = "app-secret".into();
    c.wecom.api_url = api.into();
    c.wecom.admin_users = vec!["admin1".into()];
    c.limits = toml::from_str(
        "[clients.C001]\nstructures = [\"vanilla\"]\nmax_notional = 1e9\nmax_tenor_months = 24\n\
         [clients.C002]\nstructures = [\"vanilla\"]\nmax_notional = 1e9\nmax_tenor_months = 24\n",
    )
    .unwrap();
    c
}

fn admin() -> Actor {
    Actor::user(
        &Principal {
            user: "root".into(),
            role: Role::Admin,
        },
        None,
    )
}

fn trader() -> (Actor, Principal) {
    let p = Principal {
        user: "tina".into(),
        role: Role::Trader,
    };
    (Actor::user(&p, None), p)
}

fn pending_quotes(a: &Assistant) -> Vec<assistant::approvals::Approval> {
    let (ta, _) = trader();
    a.list_approvals(
        &ta,
        &ApprovalFilter {
            kind: Some(ApprovalKind::Quote),
            state: Some(ApprovalState::Pending),
            ..Default::default()
        },
    )
    .unwrap()
}

fn count(a: &Assistant, sql: &str) -> i64 {
    a.store()
        .read(|c| c.query_row(sql, [], |r| r.get(0)))
        .unwrap()
}

/// Approves the one pending quote of `rfq_id` once it is queued.
async fn approve_rfq(a: &Assistant, rfq_id: &str) {
    let find = || {
        pending_quotes(a)
            .into_iter()
            .find(|q| serde_json::to_string(q).unwrap().contains(rfq_id))
    };
    assert!(
        until(60, || find().is_some()).await,
        "no quote for {rfq_id}"
    );
    let (ta, tp) = trader();
    a.approve(&ta, &tp, &find().unwrap().id, Some("ok"))
        .unwrap();
}

fn rfq_of(a: &Assistant, msgid: &str) -> String {
    a.store()
        .read(|c| {
            c.query_row(
                "SELECT id FROM rfqs WHERE channel = 'wecom' AND message_id = ?1",
                [msgid],
                |r| r.get(0),
            )
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_rfq_is_acknowledged_approved_and_quoted_in_the_same_group() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let a = Assistant::open(config(dir.path(), &fake.base)).unwrap();
    a.rfq_chat_set(&admin(), "wecom", "wr-group-1", "C001", Some("Client One"))
        .unwrap();
    a.rfq_chat_set(&admin(), "wecom", "wr-group-2", "C002", None)
        .unwrap();
    let state = AppState::new(a);
    let a = state.assistant.clone();
    let robot = state.wecom.clone().expect("wecom.enabled starts the robot");
    let (stop_tx, stop_rx) = watch::channel(false);
    let outbox = tokio::spawn(robot.run(stop_rx.clone()));
    fake.refresher(state.clone(), stop_rx.clone());

    // The console's URL check: WeCom sends an encrypted, signed echo; the robot answers it
    // decrypted, as plain text.
    let echostr = fake.crypto.encrypt("1616140317555161061");
    let ts = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    let sig = fake.crypto.signature(&ts, "263014780", &echostr);
    let q = serde_urlencoded::to_string([
        ("msg_signature", sig.as_str()),
        ("timestamp", ts.as_str()),
        ("nonce", "263014780"),
        ("echostr", echostr.as_str()),
    ])
    .unwrap();
    let resp = app(state.clone())
        .oneshot(
            Request::get(format!("/v1/wecom/callback?{q}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let echo = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&echo[..], b"1616140317555161061");

    // A group RFQ @-mentioning the robot: the passive answer is a stream with the
    // acknowledgement, left open for the quote.
    let m1 = fake.msgid();
    let t0 = Instant::now();
    let (s, reply) = fake
        .post(&state, &fake.text(&m1, "wr-group-1", "u-zhang", RFQ))
        .await;
    let ack_ms = t0.elapsed().as_millis();
    assert_eq!(s, StatusCode::OK);
    let reply = reply.expect("a passive reply");
    assert_eq!(reply["msgtype"], "stream", "{reply}");
    assert_eq!(reply["stream"]["finish"], false);
    let ack = fake.first_words(&state, &reply).await;
    assert!(ack.contains("已收到，正在报价"), "{ack}");
    eprintln!("acknowledged in the passive reply after {ack_ms} ms");

    // Replayed (WeCom calls again when an answer is slow): archived once, one request.
    let (s, again) = fake
        .post(&state, &fake.text(&m1, "wr-group-1", "u-zhang", RFQ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        again.unwrap()["stream"]["id"],
        reply["stream"]["id"],
        "the same stream answers the redelivery"
    );
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM chat_messages WHERE channel = 'wecom' AND direction = 'in' AND event_key LIKE 'm:CAIQ%'"
        ),
        1
    );
    let rfq1 = rfq_of(&a, &m1);

    // The trader approves; the quote follows in the same stream, which finishes.
    approve_rfq(&a, &rfq1).await;
    assert!(
        until(10, || fake.stream_of(LABEL).is_some_and(|s| s.2)).await,
        "the quote did not reach the stream: {:?}",
        fake.streams.lock().unwrap()
    );
    let (_, content, _) = fake.stream_of(LABEL).unwrap();
    assert!(content.contains("已收到，正在报价"), "{content}");
    assert!(
        content.find("已收到").unwrap() < content.find(LABEL).unwrap(),
        "{content}"
    );
    assert!(content.contains("期权费"), "{content}");

    // An incomplete request: the clarifying question ends its stream (the client's answer is a
    // new @-message with its own).
    let mq = fake.msgid();
    let (_, reply) = fake
        .post(
            &state,
            &fake.text(
                &mq,
                "wr-group-1",
                "u-zhang",
                "@报价助手 沪深300 平值看涨 期权费多少",
            ),
        )
        .await;
    let reply = reply.expect("a clarifying question");
    let question = fake.first_words(&state, &reply).await;
    assert!(question.contains('？'), "{question}");
    assert!(
        until(5, || fake.streams.lock().unwrap()
            [reply["stream"]["id"].as_str().unwrap()]
        .1)
        .await,
        "the question finishes its stream"
    );

    // A group message without the @-mention: archived and ignored (no reply, nothing priced).
    let m2 = fake.msgid();
    let (s, reply) = fake
        .post(
            &state,
            &fake.text(&m2, "wr-group-1", "u-zhang", "今天收盘见"),
        )
        .await;
    assert_eq!((s, reply), (StatusCode::OK, None));
    assert_eq!(
        count(
            &a,
            &format!(
                "SELECT COUNT(*) FROM chat_messages WHERE message_id = '{m2}' AND status = 'not_addressed'"
            )
        ),
        1
    );

    // A second RFQ whose stream WeCom stops refreshing (its 6 minutes passed): the quote goes
    // through the message's response_url, @-mentioning the client.
    let m3 = fake.msgid();
    let (_, reply) = fake
        .post(&state, &fake.text(&m3, "wr-group-2", "u-li", RFQ))
        .await;
    let sid = reply.unwrap()["stream"]["id"].as_str().unwrap().to_string();
    fake.abandoned.lock().unwrap().insert(sid);
    approve_rfq(&a, &rfq_of(&a, &m3)).await;
    assert!(
        until(10, || !fake.rec.lock().unwrap().responses.is_empty()).await,
        "no active reply: {:?}",
        fake.rec.lock().unwrap().calls
    );
    {
        let r = fake.rec.lock().unwrap();
        assert_eq!(r.responses.len(), 1);
        let (id, body) = &r.responses[0];
        assert_eq!(
            id, &m3,
            "the reply goes to the group of the client's message"
        );
        let md = body["markdown"]["content"].as_str().unwrap();
        assert!(md.starts_with(&format!("<@u-li> {LABEL}")), "{md}");
    }

    // An unmapped group: answered that it is not set up, an admin alerted, nothing priced.
    let m4 = fake.msgid();
    let (_, reply) = fake
        .post(&state, &fake.text(&m4, "wr-unknown", "u-x", RFQ))
        .await;
    let reply = reply.expect("a reply to the unmapped group");
    let refusal = fake.first_words(&state, &reply).await;
    assert!(refusal.contains("本群尚未开通报价服务"), "{refusal}");
    assert!(until(5, || !fake.rec.lock().unwrap().messages.is_empty()).await);
    {
        let r = fake.rec.lock().unwrap();
        assert_eq!(r.messages[0]["touser"], "admin1");
        assert!(
            r.messages[0]["text"]["content"]
                .as_str()
                .unwrap()
                .contains("wr-unknown")
        );
    }
    assert_eq!(
        count(&a, "SELECT COUNT(*) FROM rfqs WHERE chat_id = 'wr-unknown'"),
        0
    );
    // The Admin page lists it for mapping.
    let unmapped = a.rfq_unmapped_chats().unwrap();
    assert!(
        unmapped.iter().any(|u| (
            u.channel.as_str(),
            u.chat_id.as_str(),
            u.last_sender.as_deref()
        ) == ("wecom", "wr-unknown", Some("u-x"))),
        "{unmapped:?}"
    );

    // A flood from one group: throttled after rfq.throttle_messages, with one polite reply.
    let limit = a.config.rfq.throttle_messages as usize;
    for _ in 0..limit + 8 {
        let m = fake.msgid();
        let (s, _) = fake
            .post(&state, &fake.text(&m, "wr-group-2", "u-li", RFQ))
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let notices = || {
        let (in_streams, by_url) = fake.delivered("消息过于频繁");
        in_streams + by_url
    };
    assert!(until(10, || notices() >= 1).await, "no polite reply");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let throttled = notices();
    // One polite reply per throttling window (two when the flood straddles a window's edge).
    assert!((1..=2).contains(&throttled), "{throttled} polite replies");
    assert!(
        count(&a, "SELECT COUNT(*) FROM rfqs WHERE chat_id = 'wr-group-2'") <= limit as i64,
        "nothing beyond the limit is priced"
    );

    // Hostile callbacks: each refused with the reason, none reaches the desk.
    let before = count(&a, "SELECT COUNT(*) FROM chat_messages");
    let plain = fake.text(&fake.msgid(), "wr-group-1", "u-zhang", RFQ);
    let (s, _, body) = fake
        .post_with(&state, &plain, 0, |q, _| q[0].1 = "0".repeat(40))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("msg_signature"), "{body}");
    let (s, _, body) = fake.post_with(&state, &plain, -3600, |_, _| {}).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("timestamp"), "{body}");
    let (s, _, body) = fake
        .post_with(&state, &plain, 0, |q, b| {
            // Truncated cipher text, signed again so that only the truncation is wrong.
            let v: Value = serde_json::from_str(b).unwrap();
            let cut = &v["encrypt"].as_str().unwrap()[..50];
            q[0].1 = fake.crypto.signature(&q[1].1, &q[2].1, cut);
            *b = json!({ "encrypt": cut }).to_string();
        })
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("encrypt field"), "{body}");
    let (s, _, body) = fake
        .post_with(&state, &plain, 0, |_, b| *b = "<xml>not json</xml>".into())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("not JSON"), "{body}");
    let (s, _, body) = fake
        .post_with(&state, &plain, 0, |q, _| {
            q.pop();
        })
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("nonce"), "{body}");
    assert_eq!(count(&a, "SELECT COUNT(*) FROM chat_messages"), before);
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'chat.callback_refused'"
        ),
        1,
        "the wrong signature is audited"
    );
    // A flood of forged callbacks: refused one by one, audited once per 10 seconds.
    for _ in 0..5 {
        let (s, _, _) = fake
            .post_with(&state, &plain, 0, |q, _| q[0].1 = "f".repeat(40))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'chat.callback_refused'"
        ),
        1
    );

    stop_tx.send(true).unwrap();
    outbox.await.unwrap();
    // Nothing was sent twice: every outbound message of the channel was sent once.
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM chat_messages WHERE channel = 'wecom' AND direction = 'out' AND status NOT IN ('sent')"
        ),
        0
    );
    assert!(a.store().verify_audit().unwrap().ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_between_approval_and_sending_and_api_errors_lose_nothing() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &fake.base);
    let a = Assistant::open(cfg.clone()).unwrap();
    a.rfq_chat_set(&admin(), "wecom", "wr-app-group", "C001", None)
        .unwrap();
    let state = AppState::new(a);
    let (stop_tx, stop_rx) = watch::channel(false);
    let outbox = tokio::spawn(state.wecom.clone().unwrap().run(stop_rx.clone()));
    let m = fake.msgid();
    let (_, reply) = fake
        .post(&state, &fake.text(&m, "wr-app-group", "u-wang", RFQ))
        .await;
    assert!(
        reply.unwrap()["stream"]["content"]
            .as_str()
            .unwrap()
            .contains("已收到")
    );
    let rfq = rfq_of(&state.assistant, &m);
    assert!(until(60, || !pending_quotes(&state.assistant).is_empty()).await);

    // The server stops; the trader approves meanwhile (from another instance of the desk).
    stop_tx.send(true).unwrap();
    outbox.await.unwrap();
    let a = state.assistant.clone();
    drop(state);
    approve_rfq(&a, &rfq).await;
    drop(a);

    // The stream died with the process. The message's response_url was meanwhile used up (the
    // fake refuses it), so the quote goes through the application API, which first says the
    // token expired, then rate-limits once, then delivers.
    fake.rec.lock().unwrap().used.insert(m.clone());
    fake.rec
        .lock()
        .unwrap()
        .appchat_errors
        .extend([42001, 45009]);
    let state = AppState::new(Assistant::open(cfg).unwrap());
    let (stop_tx, stop_rx) = watch::channel(false);
    let outbox = tokio::spawn(state.wecom.clone().unwrap().run(stop_rx));
    assert!(
        until(15, || !fake.rec.lock().unwrap().appchat.is_empty()).await,
        "no quote through the application API: {:?}",
        fake.rec.lock().unwrap().calls
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        let r = fake.rec.lock().unwrap();
        assert_eq!(r.appchat.len(), 1, "sent once: {:?}", r.calls);
        assert_eq!(r.appchat[0]["chatid"], "wr-app-group");
        let md = r.appchat[0]["markdown"]["content"].as_str().unwrap();
        assert!(md.starts_with(&format!("<@u-wang> {LABEL}")), "{md}");
        assert_eq!(r.refused, 1, "the spent response_url was tried once");
        assert_eq!(r.gettoken, 2, "the expired token was fetched again once");
    }
    stop_tx.send(true).unwrap();
    outbox.await.unwrap();
    let a = state.assistant.clone();
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM chat_messages WHERE channel = 'wecom' AND direction = 'out' AND kind = 'quote' AND status = 'sent'"
        ),
        1
    );
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM chat_messages WHERE channel = 'wecom' AND direction = 'in' AND reply_url_spent_at IS NOT NULL"
        ),
        1
    );
}

#[tokio::test]
async fn the_callback_is_not_served_while_the_robot_is_off_and_bad_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.path().join("data");
    let state = AppState::new(Assistant::open(c).unwrap());
    let resp = app(state)
        .oneshot(
            Request::post("/v1/wecom/callback?msg_signature=x&timestamp=1&nonce=2")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // A key of the wrong length is refused when the configuration loads, naming the key.
    let p = dir.path().join("deskmate.toml");
    std::fs::write(
        &p,
        format!(
            "[wecom]\nenabled = true\ntoken = \"t\"\nencoding_aes_key = \"{}\"\n",
            &AES_KEY[..42]
        ),
    )
    .unwrap();
    let e = Config::load(Some(&p), &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("wecom.encoding_aes_key") && e.contains("43"),
        "{e}"
    );
    // Secrets from files.
    let key = dir.path().join("aes.key");
    std::fs::write(&key, format!("{AES_KEY}\n")).unwrap();
    std::fs::write(
        &p,
        format!(
            "[wecom]\nenabled = true\ntoken = \"t\"\nencoding_aes_key_file = \"{}\"\n",
            key.display()
        ),
    )
    .unwrap();
    let c = Config::load(Some(&p), &BTreeMap::new()).unwrap().config;
    assert_eq!(c.wecom.encoding_aes_key, AES_KEY);
    assert!(!c.to_masked_toml().contains(AES_KEY));
}

/// The day's load: `DESKMATE_WECOM_LOAD_RFQS` requests for quote (2,000 by default) across 50
/// groups, arriving as over a 4-hour trading day compressed into a minute, posted by WeCom up
/// to 16 at a time; a trader approves the queue every 250 ms; the fake refreshes open streams
/// every second. Bounded (it fails after 10 minutes) and stops by itself. Checks that every
/// message became one request, every request one quote, every quote was delivered once (in its
/// stream or through its response_url), and states the latencies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_trading_day_of_rfqs_through_the_fake() {
    // A minute of both cores: no browser test runs meanwhile (their steps have deadlines).
    let _quiet = crate::browser::ONE_AT_A_TIME.lock().await;
    let n: usize = std::env::var("DESKMATE_WECOM_LOAD_RFQS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    const GROUPS: usize = 50;
    let fake = Fake::start().await;
    *fake.refresh_every.lock().unwrap() = Duration::from_secs(1);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path(), &fake.base);
    // Time runs ~240x faster than on the desk: the per-chat window would throttle a whole
    // day's requests of a group arriving within seconds.
    cfg.rfq.throttle_messages = 100_000;
    cfg.wecom.stream_wait_ms = 3000;
    let a = Assistant::open(cfg).unwrap();
    for g in 0..GROUPS {
        let client = if g % 2 == 0 { "C001" } else { "C002" };
        a.rfq_chat_set(&admin(), "wecom", &format!("wr-load-{g:02}"), client, None)
            .unwrap();
    }
    let state = AppState::new(a);
    let a = state.assistant.clone();
    let (stop_tx, stop_rx) = watch::channel(false);
    let outbox = tokio::spawn(state.wecom.clone().unwrap().run(stop_rx.clone()));
    fake.refresher(state.clone(), stop_rx.clone());
    // The trader: approves whatever is queued, every 250 ms.
    {
        let a = a.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let (ta, tp) = trader();
            loop {
                let a2 = a.clone();
                let (ta2, tp2) = (ta.clone(), tp.clone());
                tokio::task::spawn_blocking(move || {
                    for q in pending_quotes(&a2) {
                        let _ = a2.approve(&ta2, &tp2, &q.id, None);
                    }
                })
                .await
                .unwrap();
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                    _ = stop.changed() => return,
                }
            }
        });
    }
    // Arrivals: a U-shaped trading day (busier at the open and the close), 4 hours into 60 s.
    let mut seed: u64 = 0x5eed;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut plan: Vec<(Duration, String, String)> = (0..n)
        .map(|i| {
            let u = rnd();
            let x = if rnd() < 0.5 {
                u * u * 0.5
            } else {
                1.0 - u * u * 0.5
            };
            let g = (rnd() * GROUPS as f64) as usize % GROUPS;
            (
                Duration::from_secs_f64(x * 60.0),
                format!("wr-load-{g:02}"),
                format!("LOAD{i:05}="),
            )
        })
        .collect();
    plan.sort();
    let start = Instant::now();
    let sent_at: Arc<Mutex<HashMap<String, time::OffsetDateTime>>> = Arc::default();
    let ack_ms: Arc<Mutex<Vec<f64>>> = Arc::default();
    futures::stream::iter(plan.clone())
        .for_each_concurrent(16, |(at, chat, msgid)| {
            let (fake, state, sent_at, ack_ms) =
                (fake.clone(), state.clone(), sent_at.clone(), ack_ms.clone());
            async move {
                tokio::time::sleep_until((start + at).into()).await;
                let user = format!("u-{}", &msgid[4..9]);
                sent_at
                    .lock()
                    .unwrap()
                    .insert(msgid.clone(), time::OffsetDateTime::now_utc());
                let t = Instant::now();
                let (s, reply) = fake
                    .post(&state, &fake.text(&msgid, &chat, &user, RFQ))
                    .await;
                assert_eq!(s, StatusCode::OK);
                assert!(reply.is_some(), "{msgid}: no passive reply");
                ack_ms
                    .lock()
                    .unwrap()
                    .push(t.elapsed().as_secs_f64() * 1000.0);
            }
        })
        .await;
    let posted = start.elapsed();
    // Every request priced, approved and its quote delivered, or fail after 10 minutes.
    let sent_quotes = || {
        count(
            &a,
            "SELECT COUNT(*) FROM chat_messages WHERE channel = 'wecom' AND direction = 'out' AND kind = 'quote' AND status = 'sent'",
        ) as usize
    };
    assert!(
        until(600, || sent_quotes() >= n).await,
        "{} of {n} quotes sent after 10 minutes",
        sent_quotes()
    );
    let drained = start.elapsed();
    // A quote sent into a stream reaches WeCom at the fake's next refresh of that stream: wait
    // for the refreshes (bounded; a loaded machine can take longer than one refresh period).
    let _ = until(30, || {
        let (s, u) = fake.delivered(LABEL);
        s + u >= n
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_tx.send(true).unwrap();
    outbox.await.unwrap();

    // Nothing lost, nothing twice.
    assert_eq!(
        count(&a, "SELECT COUNT(*) FROM rfqs WHERE channel = 'wecom'") as usize,
        n
    );
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM chat_messages WHERE channel = 'wecom' AND direction = 'in'"
        ) as usize,
        n
    );
    assert_eq!(sent_quotes(), n);
    assert_eq!(
        count(
            &a,
            "SELECT COUNT(*) FROM chat_messages WHERE channel = 'wecom' AND direction = 'out' AND status <> 'sent'"
        ),
        0
    );
    let (in_streams, by_url) = fake.delivered(LABEL);
    assert_eq!(in_streams + by_url, n, "every quote delivered exactly once");

    // Latency from the callback to the quote in the trader's queue.
    let queued: Vec<(String, String)> = a
        .store()
        .read(|c| {
            let mut st = c.prepare(
                "SELECT r.message_id, MIN(p.created_at) FROM rfqs r
                 JOIN rfq_quotes q ON q.rfq_id = r.id JOIN approvals p ON p.id = q.approval_id
                 WHERE r.channel = 'wecom' GROUP BY r.message_id",
            )?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap();
    assert_eq!(queued.len(), n);
    let sent_at = sent_at.lock().unwrap();
    let mut lat: Vec<f64> = queued
        .iter()
        .map(|(m, t)| {
            let q = assistant::store::time::parse(t).unwrap();
            (q - sent_at[m]).as_seconds_f64() * 1000.0
        })
        .collect();
    lat.sort_by(f64::total_cmp);
    let mut acks = ack_ms.lock().unwrap().clone();
    acks.sort_by(f64::total_cmp);
    let pct = |v: &[f64], p: f64| v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1];
    eprintln!(
        "wecom load: {n} RFQs, {GROUPS} groups, posted in {:.1} s, all quotes delivered after {:.1} s ({in_streams} in streams, {by_url} by response_url); callback -> quote in the trader queue p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms; passive acknowledgement p99 {:.0} ms",
        posted.as_secs_f64(),
        drained.as_secs_f64(),
        pct(&lat, 0.5),
        pct(&lat, 0.95),
        pct(&lat, 0.99),
        lat[lat.len() - 1],
        pct(&acks, 0.99),
    );
}
