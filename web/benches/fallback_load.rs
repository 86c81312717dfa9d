//! The fallback switch under load (issue #21's figure: "fallback switch with zero lost requests
//! during a 60-second load of mixed RFQs, on 127.0.0.1, bounded, stopping by itself").
//!
//! `cargo bench -p web --bench fallback_load` (`DESKMATE_LOAD_SECS`, default 60) starts the real
//! server ([`web::serve`] on a loopback port) on a temporary data dir with the demo
//! configuration, the RFQ parser's model fallback on a real local model (the fixture
//! SmolLM2-135M from `DESKMATE_MODEL_CACHE`; `DESKMATE_LOAD_MODEL` names another), its version
//! approved by a model-risk user, and one chat mapped to the demo client. `CLIENTS` tasks then
//! post a mix of chat messages through the webhook adapter (`POST /v1/chat/inbound`) for the
//! whole run, each as soon as the previous one was answered: requests the rules read, requests
//! the rules are unsure of (the model is asked), chatter, in Chinese and English (generated test
//! messages, not real client traffic). Halfway, a model-risk user switches the chain to its
//! fallback over HTTP (`POST /v1/model-risk/chains/rfq.parse/mode`) while requests are in flight.
//! The load stops by itself; pricing is let finish (at most a minute), then every message is
//! looked up: answered 202, archived, and — for a request — in a settled state (quoted, blocked,
//! clarifying, flagged, answered or failed with its reason), never still `pricing` or missing.
//! It prints the counts, the lost requests (which must be 0), the inbound latency percentiles
//! and the model calls before and after the switch, and states the CPU.

use assistant::Assistant;
use assistant::config::Config;
use assistant::store::Actor;
use policies::Role;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use web::AppState;

mod common;
use common::{cpu, markets, pct, workspace};

const CLIENTS: usize = 6;
const CHAT: &str = "room-load";
const CHANNEL: &str = "wecom";

/// Generated test messages (not real traffic): what the rules read, what they are unsure of,
/// chatter.
const MESSAGES: &[&str] = &[
    "沪深300 3个月 平值看涨 名义本金1000万 期权费多少",
    "中证500 雪球 敲出103 敲入75 12个月 1000万 票息多少",
    "CSI 300 6M ATM put 10mm notional, premium?",
    "Price a 1y CSI 500 snowball, KO 103, KI 75, 10mm",
    "呃 中证500 嗯 xyz 看涨 qwe 三个月 abc 一千万 平值 zzz 8 yyy 9 hmm",
    "hmm csi300 something callish maybe 3m-ish 5mm? not sure of strike",
    "沪深300 二元 期限半年 派付5% 名义500万 报个价",
    "今天市场波动很大啊",
    "thanks, will revert later",
    "中证1000 鲨鱼鳍 6个月 上涨参与率 名义 2000万 价格多少",
];

fn token(a: &Assistant, name: &str, role: Role) -> String {
    a.create_user(&Actor::system(), name, role).unwrap();
    a.issue_token(&Actor::system(), name, "load", None)
        .unwrap()
        .token
}

/// Approves the RFQ chain's proposed version as a model-risk user.
fn approve_rfq_model(a: &Assistant) {
    use assistant::approvals::{ApprovalFilter, ApprovalKind};
    let p = policies::Principal {
        user: "mia".into(),
        role: Role::ModelRisk,
    };
    let actor = Actor::user(&p, None);
    let pending = a
        .list_approvals(
            &actor,
            &ApprovalFilter {
                kind: Some(ApprovalKind::ModelChange),
                state: Some(policies::ApprovalState::Pending),
                ..Default::default()
            },
        )
        .unwrap();
    let v = pending
        .iter()
        .find(|x| x.payload["chain"] == assistant::model_risk::RFQ_CHAIN)
        .expect("the RFQ model's version waits for approval (is the model installed?)");
    a.approve(&actor, &p, &v.id, Some("load test")).unwrap();
    assert!(
        a.chain_serves_model(assistant::model_risk::RFQ_CHAIN)
            .unwrap()
    );
}

/// What the run left: inbound messages (id → disposition), requests (id → status), recorded
/// parses (mode, outcome).
type Looked = (
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    Vec<(String, String)>,
);

/// One posted message: its id, the HTTP status, the disposition, the RFQ, the latency.
struct Sent {
    message_id: String,
    status: u16,
    rfq_id: Option<String>,
    latency: Duration,
    after_switch: bool,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let secs: u64 = std::env::var("DESKMATE_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let model = std::env::var("DESKMATE_LOAD_MODEL").unwrap_or("smollm2-135m-instruct".into());
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::load(
        Some(&workspace().join("demo/deskmate.demo.toml")),
        &BTreeMap::new(),
    )
    .unwrap()
    .config;
    c.storage.data_dir = dir.path().join("data");
    c.models.dir = std::env::var("DESKMATE_MODEL_CACHE").unwrap_or(c.models.dir);
    c.models.generator = model.clone();
    c.rfq.market_data = markets(dir.path()).display().to_string();
    c.rfq.model_fallback = true;
    c.rfq.model_timeout_ms = 5_000;
    c.rfq.throttle_messages = 1_000_000;
    c.server.user_rate_burst = 1_000_000;
    c.webhook.channels = vec![CHANNEL.into()];
    c.webhook.gateway_users = vec!["bridge".into()];
    // Replies are queued for the callback; nothing sends them here (the outbox is not started):
    // what is measured is that every request is taken, archived and handled.
    c.webhook.callback_url = "http://127.0.0.1:9/replies".into();
    let a = Assistant::open(c).unwrap();
    approve_rfq_model(&a);
    // The model loaded before the load starts (as the server preloads it).
    for (name, e) in a.preload_models() {
        eprintln!("preloading {name}: {e}");
    }
    let bridge = token(&a, "bridge", Role::Client);
    let mr = token(&a, "mona", Role::ModelRisk);
    let root = Actor::user(
        &policies::Principal {
            user: "root".into(),
            role: Role::Admin,
        },
        None,
    );
    a.rfq_chat_set(
        &root,
        CHANNEL,
        CHAT,
        "DEMO",
        Some("Demo client (load test)"),
    )
    .unwrap();

    let state = AppState::new(a);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = {
        let state = state.clone();
        tokio::spawn(async move {
            let app = web::app(state.clone());
            let shutdown = async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            };
            web::serve(listener, state, app, shutdown).await.unwrap();
        })
    };

    println!(
        "fallback switch under load: {CLIENTS} clients for {secs} s, switch at {} s, model {model}, \
         127.0.0.1, {} ({} CPUs)",
        secs / 2,
        cpu(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs(secs);
    let switched = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let (base, bridge, switched, counter) = (
            base.clone(),
            bridge.clone(),
            switched.clone(),
            counter.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut out = Vec::new();
            while Instant::now() < end {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let text = MESSAGES[(n * 7 + client) % MESSAGES.len()];
                let message_id = format!("m-{n}");
                let after_switch = switched.load(Ordering::SeqCst);
                let t = Instant::now();
                let resp = http
                    .post(format!("{base}/v1/chat/inbound"))
                    .bearer_auth(&bridge)
                    .json(&json!({
                        "channel": CHANNEL, "chat_id": CHAT, "message_id": message_id,
                        // One sender per message: no message is read as the answer to
                        // another's clarifying question.
                        "sender": format!("u-{n}"), "text": format!("@desk {text}"),
                        "bot_mention": "@desk",
                    }))
                    .send()
                    .await;
                let latency = t.elapsed();
                let (status, rfq_id) = match resp {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        (status, v["rfq_id"].as_str().map(str::to_string))
                    }
                    Err(_) => (0, None),
                };
                out.push(Sent {
                    message_id,
                    status,
                    rfq_id,
                    latency,
                    after_switch,
                });
            }
            out
        }));
    }
    // Halfway: the model-risk user switches the chain to its fallback, requests in flight.
    tokio::time::sleep(Duration::from_secs(secs / 2)).await;
    let in_flight = counter.load(Ordering::SeqCst);
    let r = reqwest::Client::new()
        .post(format!(
            "{base}/v1/model-risk/chains/{}/mode",
            assistant::model_risk::RFQ_CHAIN
        ))
        .bearer_auth(&mr)
        .json(&json!({"mode": "fallback", "reason": "load test: switch under load"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "switch: {}", r.status());
    switched.store(true, Ordering::SeqCst);
    let switch_at = t0.elapsed();
    let mut sent = Vec::new();
    for t in tasks {
        sent.extend(t.await.unwrap());
    }
    let load_wall = t0.elapsed();

    // Let pricing finish (bounded), then look every message up.
    let a = state.assistant.clone();
    let settle = Instant::now();
    loop {
        let pricing: i64 = a
            .store()
            .read(|c| {
                c.query_row(
                    "SELECT count(*) FROM rfqs WHERE status = 'pricing'",
                    [],
                    |r| r.get(0),
                )
            })
            .unwrap();
        if pricing == 0 || settle.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (archived, by_status, calls): Looked = a
        .store()
        .read(|c| {
            let mut s = c.prepare(
                "SELECT message_id, status FROM chat_messages WHERE channel = ?1 AND chat_id = ?2
                   AND direction = 'in'",
            )?;
            let archived = s
                .query_map([CHANNEL, CHAT], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<BTreeMap<String, String>>>()?;
            let mut s = c.prepare("SELECT id, status FROM rfqs")?;
            let rfqs = s
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<BTreeMap<String, String>>>()?;
            let mut s =
                c.prepare("SELECT mode, outcome FROM chain_calls WHERE chain = 'rfq.parse'")?;
            let calls = s
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<(String, String)>>>()?;
            Ok::<_, rusqlite::Error>((archived, rfqs, calls))
        })
        .unwrap();
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;

    let accepted = sent.iter().filter(|s| s.status == 202).count();
    let not_archived = sent
        .iter()
        .filter(|s| !archived.contains_key(&s.message_id))
        .count();
    let requests: Vec<&Sent> = sent.iter().filter(|s| s.rfq_id.is_some()).collect();
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unsettled = 0;
    for s in &requests {
        let st = by_status
            .get(s.rfq_id.as_deref().unwrap())
            .map_or("missing", String::as_str);
        *states.entry(st).or_default() += 1;
        if matches!(st, "pricing" | "missing") {
            unsettled += 1;
        }
    }
    let lost = (sent.len() - accepted) + not_archived + unsettled;
    let mut lat: Vec<Duration> = sent.iter().map(|s| s.latency).collect();
    lat.sort();
    let model_calls = |mode: &str| {
        calls
            .iter()
            .filter(|(m, o)| m == mode && (o == "model" || o == "model_rejected"))
            .count()
    };
    println!(
        "messages sent {} ({} after the switch at {:.1} s, {} sent before it), accepted 202: {accepted}, archived: {}, requests for quote: {}",
        sent.len(),
        sent.iter().filter(|s| s.after_switch).count(),
        switch_at.as_secs_f64(),
        in_flight,
        sent.len() - not_archived,
        requests.len()
    );
    println!("request states after settling: {states:?}");
    println!(
        "parses recorded: {} (mode model: {}, fallback: {}); model asked in model mode: {}, in fallback mode: {}",
        calls.len(),
        calls.iter().filter(|(m, _)| m == "model").count(),
        calls.iter().filter(|(m, _)| m == "fallback").count(),
        model_calls("model"),
        model_calls("fallback")
    );
    println!(
        "inbound latency ms: p50 {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}; {:.1} messages/s over {:.1} s",
        pct(&lat, 0.5),
        pct(&lat, 0.9),
        pct(&lat, 0.99),
        pct(&lat, 1.0),
        sent.len() as f64 / load_wall.as_secs_f64(),
        load_wall.as_secs_f64()
    );
    println!("LOST REQUESTS: {lost}");
    assert_eq!(lost, 0, "requests were lost");
    assert_eq!(
        model_calls("fallback"),
        0,
        "the model was asked after the switch"
    );
}
