//! The Telegram bot end to end: real teloxide (`connectors::telegram`) against a fake Telegram
//! Bot API server on 127.0.0.1 that serves getMe, getWebhookInfo, getUpdates and sendMessage and
//! records what the bot sends, wired to the real desk (`DeskBridge`) over a temporary data dir.
//!
//! message → acknowledgement within a second → quote in the trader's queue → trader approves →
//! the quote posted once as a reply to the client's message → restart with the same updates
//! served again (Telegram redelivers what was not confirmed) → nothing sent twice.

use assistant::Assistant;
use assistant::approvals::{ApprovalFilter, ApprovalKind};
use assistant::config::Config;
use assistant::desk::DeskBridge;
use assistant::store::Actor;
use axum::Json;
use axum::extract::{Path, State};
use axum::routing::post;
use connectors::chat::ChatDesk;
use connectors::telegram::{TelegramSettings, run};
use policies::{ApprovalState, Principal, Role};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

const CHAT: i64 = -1_001_234_567_890;
const MARKETS: &str = r#"{"markets": {
  "000905.SH": {"valuation_date": "2026-01-05", "spot": 100.0, "rate": 0.02, "dividend": 0.01, "vol": 0.22}
}}"#;

/// What the fake Bot API holds: updates to serve and messages the bot sent.
#[derive(Default)]
struct FakeApi {
    updates: Vec<Value>,
    sent: Vec<(Instant, Value)>,
    calls: Vec<String>,
    /// The bodies of setMyCommands calls.
    commands: Vec<Value>,
    /// Groups upgraded to supergroups: old chat id → new chat id (sends to the old one fail).
    migrated: std::collections::HashMap<i64, i64>,
}

type Shared = Arc<Mutex<FakeApi>>;

fn ok(result: Value) -> Json<Value> {
    Json(json!({"ok": true, "result": result}))
}

/// `POST /bot{token}/{Method}`: method names arrive in PascalCase (`GetMe`), compared without
/// case.
async fn bot_api(
    State(api): State<Shared>,
    Path((token, method)): Path<(String, String)>,
    body: Option<Json<Value>>,
) -> Json<Value> {
    let body = body.map(|Json(v)| v).unwrap_or(Value::Null);
    assert_eq!(token, "bot123:TEST", "the token is in the path");
    let method = method.to_lowercase();
    api.lock().unwrap().calls.push(method.clone());
    match method.as_str() {
        "getme" => ok(json!({
            "id": 999, "is_bot": true, "first_name": "Desk", "username": "desk_bot",
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "has_main_web_app": false
        })),
        "getwebhookinfo" => {
            ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0}))
        }
        "getupdates" => {
            let offset = body["offset"].as_i64().unwrap_or(0);
            let pending: Vec<Value> = api
                .lock()
                .unwrap()
                .updates
                .iter()
                .filter(|u| u["update_id"].as_i64().unwrap() >= offset)
                .cloned()
                .collect();
            if pending.is_empty() {
                // A short long-poll, so an idle bot does not spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            ok(Value::Array(pending))
        }
        "setmycommands" => {
            api.lock().unwrap().commands.push(body);
            ok(json!(true))
        }
        "sendmessage" => {
            let mut a = api.lock().unwrap();
            if let Some(to) = body["chat_id"].as_i64().and_then(|c| a.migrated.get(&c)) {
                return Json(json!({
                    "ok": false, "error_code": 400,
                    "description": "Bad Request: group chat was upgraded to a supergroup chat",
                    "parameters": {"migrate_to_chat_id": to}
                }));
            }
            let id = 10_000 + a.sent.len() as i64;
            a.sent.push((Instant::now(), body.clone()));
            ok(json!({
                "message_id": id, "date": 1_767_600_000,
                "chat": {"id": body["chat_id"], "type": "supergroup", "title": "Clients"},
                "from": {"id": 999, "is_bot": true, "first_name": "Desk", "username": "desk_bot"},
                "text": body["text"]
            }))
        }
        other => Json(
            json!({"ok": false, "error_code": 404, "description": format!("no method {other}")}),
        ),
    }
}

fn update(id: i64, message_id: i64, text: &str) -> Value {
    update_in(CHAT, id, message_id, text)
}

fn update_in(chat: i64, id: i64, message_id: i64, text: &str) -> Value {
    json!({
        "update_id": id,
        "message": {
            "message_id": message_id, "date": 1_767_600_000,
            "chat": {"id": chat, "type": "group", "title": "Clients"},
            "from": {"id": 42, "is_bot": false, "first_name": "Alice", "username": "alice"},
            "text": text
        }
    })
}

async fn fake_server() -> (Shared, url::Url) {
    let api: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/{token}/{method}", post(bot_api))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (api, url)
}

fn settings(url: &url::Url) -> TelegramSettings {
    TelegramSettings {
        token: "123:TEST".into(),
        api_url: url.clone(),
        poll_timeout_secs: 0,
        outbox_every: Duration::from_millis(50),
    }
}

/// Waits until `f` holds, for at most `secs`.
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

fn sent_texts(api: &Shared) -> Vec<(String, Option<i64>)> {
    api.lock()
        .unwrap()
        .sent
        .iter()
        .map(|(_, b)| {
            (
                b["text"].as_str().unwrap_or_default().to_string(),
                b["reply_parameters"]["message_id"].as_i64(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_request_is_acknowledged_approved_and_answered_once_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("markets.json"), MARKETS).unwrap();
    let mut config = Config::default();
    config.storage.data_dir = dir.path().join("data");
    config.rfq.market_data = dir.path().join("markets.json").display().to_string();
    config.rfq.mc_paths = 20_000;
    config.limits = toml::from_str(
        "[clients.C001]\nstructures = [\"snowball\"]\nmax_notional = 1e8\nmax_tenor_months = 24\n",
    )
    .unwrap();
    let a = Arc::new(Assistant::open(config).unwrap());
    let admin = Actor::user(
        &Principal {
            user: "root".into(),
            role: Role::Admin,
        },
        None,
    );
    a.rfq_chat_set(&admin, "telegram", &CHAT.to_string(), "C001", None)
        .unwrap();
    let (api, url) = fake_server().await;
    let desk: Arc<dyn ChatDesk> = Arc::new(DeskBridge::new(a.clone()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let bot = tokio::spawn(run(settings(&url), desk.clone(), stop_rx));

    // A message in the group that does not mention the bot: archived, not answered.
    api.lock().unwrap().updates.push(update(1, 6, "早上好各位"));
    // The request, @-mentioning the bot.
    let t0 = Instant::now();
    api.lock().unwrap().updates.push(update(
        2,
        7,
        "@desk_bot 中证500 雪球 敲出103 敲入75 12个月 1000万 票息多少",
    ));
    assert!(
        until(5, || !api.lock().unwrap().sent.is_empty()).await,
        "no acknowledgement; calls: {:?}",
        api.lock().unwrap().calls
    );
    let (at, ack) = api.lock().unwrap().sent[0].clone();
    let ack_ms = at.duration_since(t0).as_millis();
    eprintln!("acknowledged after {ack_ms} ms");
    assert!(ack_ms < 1000, "acknowledged after {ack_ms} ms");
    assert!(
        ack["text"].as_str().unwrap().contains("已收到，正在报价"),
        "{ack}"
    );
    assert_eq!(ack["reply_parameters"]["message_id"], 7);
    assert_eq!(ack["chat_id"], CHAT);

    // The quote reaches the trader's queue; the trader approves it.
    let trader = Principal {
        user: "tina".into(),
        role: Role::Trader,
    };
    let ta = Actor::user(&trader, None);
    let pending = |a: &Assistant| {
        a.list_approvals(
            &ta,
            &ApprovalFilter {
                kind: Some(ApprovalKind::Quote),
                state: Some(ApprovalState::Pending),
                ..Default::default()
            },
        )
        .unwrap()
    };
    assert!(
        until(60, || !pending(&a).is_empty()).await,
        "no quote queued"
    );
    let queued = pending(&a);
    assert_eq!(queued.len(), 1);
    a.approve(&ta, &trader, &queued[0].id, Some("ok")).unwrap();
    assert!(
        until(5, || sent_texts(&api)
            .iter()
            .any(|(t, _)| t.starts_with("【机器生成·仅供参考】")))
        .await,
        "no quote sent: {:?}",
        sent_texts(&api)
    );
    let quote: Vec<(String, Option<i64>)> = sent_texts(&api)
        .into_iter()
        .filter(|(t, _)| t.starts_with("【机器生成·仅供参考】"))
        .collect();
    assert_eq!(quote.len(), 1);
    assert_eq!(
        quote[0].1,
        Some(7),
        "the quote replies to the client's message"
    );
    assert!(quote[0].0.contains("年化票息："), "{}", quote[0].0);

    // /help gets the help text.
    api.lock()
        .unwrap()
        .updates
        .push(update(3, 8, "/help@desk_bot"));
    assert!(
        until(5, || sent_texts(&api)
            .iter()
            .any(|(t, _)| t.contains("/help") || t.contains("@ 我")))
        .await
    );
    let before = sent_texts(&api);
    assert_eq!(before.len(), 3, "{before:?}");

    // Stop, then start again: the fake serves every update again (none confirmed on its side).
    stop_tx.send(true).unwrap();
    bot.await.unwrap().unwrap();
    let (stop_tx, stop_rx) = watch::channel(false);
    let bot = tokio::spawn(run(settings(&url), desk, stop_rx));
    let polls = |api: &Shared| {
        api.lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| *c == "getupdates")
            .count()
    };
    let p0 = polls(&api);
    assert!(until(5, || polls(&api) > p0 + 5).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sent_texts(&api),
        before,
        "something was sent twice after the restart"
    );
    stop_tx.send(true).unwrap();
    bot.await.unwrap().unwrap();

    // Every inbound and outbound message is archived with chat id, message id and sender.
    let (inbound, outbound): (i64, i64) = a
        .store()
        .read(|c| {
            c.query_row(
                "SELECT SUM(direction = 'in'), SUM(direction = 'out' AND status = 'sent')
                 FROM chat_messages WHERE channel = 'telegram'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .unwrap();
    assert_eq!((inbound, outbound), (3, 3));
    assert!(a.store().verify_audit().unwrap().ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_and_an_upgraded_group_keeps_its_client() {
    const OLD: i64 = -4_242;
    const NEW: i64 = -1_009_876_543_210;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("markets.json"), MARKETS).unwrap();
    let mut config = Config::default();
    config.storage.data_dir = dir.path().join("data");
    config.rfq.market_data = dir.path().join("markets.json").display().to_string();
    let a = Arc::new(Assistant::open(config).unwrap());
    let admin = Actor::user(
        &Principal {
            user: "root".into(),
            role: Role::Admin,
        },
        None,
    );
    a.rfq_chat_set(&admin, "telegram", &OLD.to_string(), "C001", None)
        .unwrap();
    let (api, url) = fake_server().await;
    let desk: Arc<dyn ChatDesk> = Arc::new(DeskBridge::new(a.clone()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let bot = tokio::spawn(run(settings(&url), desk, stop_rx));

    // /start and /help are registered, in English and in Chinese.
    assert!(until(5, || api.lock().unwrap().commands.len() == 2).await);
    let commands = api.lock().unwrap().commands.clone();
    for c in &commands {
        let names: Vec<&str> = c["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["command"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["start", "help"], "{c}");
    }
    assert_eq!(commands[1]["language_code"], "zh");
    assert!(
        commands[1]["commands"][0]["description"]
            .as_str()
            .unwrap()
            .contains("询价")
    );

    // The group is upgraded while the client writes: the acknowledgement to the old id is
    // refused with the new id, and it arrives in the supergroup instead.
    api.lock().unwrap().migrated.insert(OLD, NEW);
    api.lock().unwrap().updates.push(update_in(
        OLD,
        1,
        7,
        "@desk_bot 中证500 雪球 敲出103 敲入75 12个月 1000万 票息多少",
    ));
    assert!(
        until(10, || api
            .lock()
            .unwrap()
            .sent
            .iter()
            .any(|(_, b)| b["chat_id"] == NEW))
        .await,
        "nothing reached the supergroup; calls: {:?}",
        api.lock().unwrap().calls
    );
    let mappings = a.rfq_chats().unwrap();
    assert_eq!(mappings.len(), 1, "{mappings:?}");
    assert_eq!(mappings[0].chat_id, NEW.to_string());
    assert_eq!(mappings[0].client_id, "C001");
    // The service message Telegram sends in the old group later changes nothing more.
    let mut service = update_in(OLD, 2, 8, "");
    service["message"].as_object_mut().unwrap().remove("text");
    service["message"]["migrate_to_chat_id"] = json!(NEW);
    api.lock().unwrap().updates.push(service);
    let polls = |api: &Shared| {
        api.lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| *c == "getupdates")
            .count()
    };
    let p0 = polls(&api);
    assert!(until(5, || polls(&api) > p0 + 3).await);
    stop_tx.send(true).unwrap();
    bot.await.unwrap().unwrap();
    let migrations: Vec<_> = a
        .store()
        .audit_entries(0, None, None, 10_000)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "rfq.chat.migrate")
        .collect();
    // The mapping moved once; a later migration only moves replies still addressed to the
    // old id (queued for a request the client sent there), which would otherwise be refused.
    assert!(!migrations.is_empty());
    assert_eq!(migrations[0].details["from_chat_id"], OLD.to_string());
    assert_eq!(migrations[0].details["to_chat_id"], NEW.to_string());
    assert_eq!(migrations[0].details["client_id"], "C001");
    assert_eq!(migrations[0].details["previous_client_id"], "C001");
    for m in &migrations[1..] {
        assert!(m.details["previous_client_id"].is_null(), "{m:?}");
        assert!(m.details["messages_moved"].as_u64().unwrap() >= 1, "{m:?}");
    }
    assert!(a.store().verify_audit().unwrap().ok());
}
