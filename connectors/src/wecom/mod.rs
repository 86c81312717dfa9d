//! The WeCom (企业微信) intelligent robot (智能机器人, API mode) as a chat channel of the RFQ
//! desk, written from WeCom's published developer documentation ("接收消息", "被动回复消息",
//! "主动回复消息", "回调和回复的加解密方案").
//!
//! **Inbound.** WeCom POSTs every message that @-mentions the robot in a group (and every
//! message of a one-to-one chat with it) to the callback URL as `{"encrypt": …}` with
//! `msg_signature`, `timestamp` and `nonce` in the query. [`Robot::callback`] checks the
//! timestamp (within `max_skew`), the signature ([`crypto`]), decrypts, parses ([`callback`]),
//! and hands the message to [`ChatDesk::receive`] *before* answering, so a crash never loses a
//! message (WeCom calls again when it gets no answer) and a redelivered callback (same
//! `msgid`) is archived once. A refused signature is audited (`chat.callback_refused`; a flood
//! of forged callbacks, one entry per 10 seconds with the count of the others). The URL
//! check (`GET` with `echostr`) is [`Robot::verify_url`].
//!
//! **Outbound.** Three ways to reach the group, tried in this order by the outbox
//! ([`crate::chat::run_outbound_concurrent`], up to 64 sends at once, each message at most
//! once):
//! 1. *Passive streaming reply.* The answer to the message's own callback opens a stream
//!    (`msgtype: stream`, our id); WeCom then calls back with "stream refresh" events until the
//!    stream finishes, for at most 6 minutes from the user's message, and each answer carries
//!    the stream's whole content so far. The acknowledgement goes out this way at once, and a
//!    quote the trader approves within the window follows in the same bubble (finishing the
//!    stream). A message counts as sent when a refresh answer carrying it has been handed to
//!    WeCom; if no refresh comes within `stream_wait`, it is withdrawn from the stream and goes
//!    the next way instead (under one lock, so never both).
//! 2. *Active reply through `response_url`*: each callback brings a URL that accepts one
//!    markdown message within an hour. The desk stores it with the inbound message, so a quote
//!    approved after the stream window, or after a restart, is posted there, @-mentioning the
//!    client (`<@userid>`). A used or expired URL is refused by WeCom (certainly not posted) and
//!    the next unspent one of the chat is tried.
//! 3. *The application API* (`appchat/send`, when `[wecom]` has corp id, agent id and secret):
//!    reaches group chats the application created; also used to alert admins
//!    (`message/send`) when a group without a client mapping writes to the robot.
//!
//! Per-group flood control, the chat → client mapping, clarifying questions, approvals and
//! every text are the desk's, as for Telegram and the webhook.

pub mod api;
pub mod callback;
pub mod crypto;

use crate::chat::{
    ChatDesk, ChatSender, DeskError, DeskErrorKind, InboundMessage, OutboundMessage, SendOutcome,
    blocking, run_outbound_concurrent, spawn_work,
};
use api::{Answer, ApiSettings, AppApi, post_response_url};
use callback::{Callback, ChatType, RobotMessage};
use crypto::{CryptoError, WecomCrypto};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::{Notify, watch};

/// The channel name of WeCom messages in the archive.
pub const CHANNEL: &str = "wecom";

/// The prefix of a one-to-one chat's id (WeCom gives no chat id there): `single:USERID`.
pub const SINGLE_PREFIX: &str = "single:";

/// How the robot behaves.
#[derive(Debug, Clone)]
pub struct WecomSettings {
    /// The callback Token (secret).
    pub token: String,
    /// The 43-character EncodingAESKey (secret).
    pub encoding_aes_key: String,
    /// The robot's name as users @-mention it (`报价助手`); when set, a group message that does
    /// not mention it is archived and ignored. Empty: every callback is addressed to the robot
    /// (WeCom only calls back for @-mentions in groups).
    pub bot_name: String,
    /// How far a callback's timestamp may be from now.
    pub max_skew: Duration,
    /// How long WeCom refreshes a stream, from the user's message (6 minutes).
    pub stream_window: Duration,
    /// How long a reply waits for WeCom's next stream refresh before it goes another way.
    pub stream_wait: Duration,
    /// How long the answer to a new message waits for the desk's immediate reply (WeCom waits
    /// 5 seconds for the answer).
    pub first_wait: Duration,
    /// How long a `response_url` is valid (an hour).
    pub reply_url_ttl: Duration,
    /// Per-request timeout of active sends.
    pub timeout: Duration,
    /// The application API, when configured.
    pub api: Option<ApiSettings>,
    /// Member user ids alerted through the application API.
    pub admin_users: Vec<String>,
    /// How often the outbox is checked when nothing wakes it.
    pub outbox_every: Duration,
}

/// Why a callback was refused; [`WecomError::status`] is the HTTP status to answer.
#[derive(Debug, thiserror::Error)]
pub enum WecomError {
    /// A query parameter is missing.
    #[error("the callback has no {0} parameter")]
    Missing(&'static str),
    /// The timestamp is not a number or too far from now.
    #[error("timestamp {0}")]
    Timestamp(String),
    /// The signature does not match.
    #[error("{0}")]
    Signature(CryptoError),
    /// The body or the encrypted message inside cannot be read.
    #[error("{0}")]
    Body(String),
    /// The desk could not archive the message (ours; WeCom calls again).
    #[error("the desk could not take the message: {0}")]
    Desk(DeskError),
}

impl WecomError {
    /// 401 for signatures and timestamps, 500 for our failures, 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            WecomError::Signature(_) | WecomError::Timestamp(_) => 401,
            WecomError::Desk(_) => 500,
            WecomError::Missing(_) | WecomError::Body(_) => 400,
        }
    }
}

/// The callback's query parameters.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Query {
    /// The signature.
    pub msg_signature: Option<String>,
    /// Unix seconds.
    pub timestamp: Option<String>,
    /// A random string.
    pub nonce: Option<String>,
    /// The URL check's encrypted echo.
    pub echostr: Option<String>,
}

struct Pending {
    outbox_id: i64,
    text: String,
    finish: bool,
    served: bool,
}

struct Stream {
    opened: Instant,
    content: String,
    finish: bool,
    /// No refresh came when one was awaited: WeCom has stopped asking.
    dead: bool,
    pending: Vec<Pending>,
    served: Arc<Notify>,
}

impl Stream {
    /// Moves pending messages into the content; returns the answer's content and finish.
    fn serve(&mut self) -> (String, bool) {
        let mut any = false;
        for p in self.pending.iter_mut().filter(|p| !p.served) {
            if !self.content.is_empty() {
                self.content.push_str("\n\n");
            }
            self.content.push_str(&p.text);
            self.finish |= p.finish;
            p.served = true;
            any = true;
        }
        if any {
            self.served.notify_waiters();
        }
        (self.content.clone(), self.finish)
    }
}

#[derive(Default)]
struct Streams {
    by_id: HashMap<String, Stream>,
    by_msg: HashMap<String, String>,
}

/// The robot: answers callbacks and sends the desk's replies.
pub struct Robot {
    crypto: WecomCrypto,
    settings: WecomSettings,
    desk: Arc<dyn ChatDesk>,
    wake: Arc<Notify>,
    streams: Mutex<Streams>,
    http: reqwest::Client,
    api: Option<Arc<AppApi>>,
    alerted: Mutex<HashMap<String, Instant>>,
    /// When a refusal was last audited, and how many were refused since (a flood of forged
    /// callbacks writes one audit entry per 10 seconds, with the count).
    refusals: Mutex<(Option<Instant>, u64)>,
}

impl std::fmt::Debug for Robot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Robot")
            .field("bot_name", &self.settings.bot_name)
            .finish_non_exhaustive()
    }
}

/// Our stream id for a user's message.
fn stream_id(msgid: &str) -> String {
    use sha1::Digest;
    let h = sha1::Sha1::digest(msgid.as_bytes());
    format!("dm{}", &hex::encode(h)[..30])
}

fn stream_json(id: &str, content: &str, finish: bool) -> String {
    json!({"msgtype": "stream", "stream": {"id": id, "finish": finish, "content": content}})
        .to_string()
}

/// Why the robot could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Token or key unusable.
    #[error("wecom: {0}")]
    Crypto(CryptoError),
    /// The token is empty.
    #[error("wecom.token is empty")]
    NoToken,
    /// The application API's base URL is not a URL.
    #[error("wecom.api_url {0:?} is not a URL")]
    ApiUrl(String),
    /// The HTTP client could not be built.
    #[error("wecom: {0}")]
    Http(#[from] reqwest::Error),
}

impl Robot {
    /// A robot over `desk`.
    pub fn new(settings: WecomSettings, desk: Arc<dyn ChatDesk>) -> Result<Robot, StartError> {
        if settings.token.is_empty() {
            return Err(StartError::NoToken);
        }
        let crypto = WecomCrypto::new(&settings.token, &settings.encoding_aes_key, "")
            .map_err(StartError::Crypto)?;
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()?;
        let api = settings
            .api
            .clone()
            .map(AppApi::new)
            .transpose()?
            .map(Arc::new);
        Ok(Robot {
            crypto,
            settings,
            desk,
            wake: Arc::new(Notify::new()),
            streams: Mutex::default(),
            http,
            api,
            alerted: Mutex::default(),
            refusals: Mutex::default(),
        })
    }

    fn check_time(&self, q: &Query) -> Result<(String, String, String), WecomError> {
        let sig = q
            .msg_signature
            .clone()
            .ok_or(WecomError::Missing("msg_signature"))?;
        let ts = q
            .timestamp
            .clone()
            .ok_or(WecomError::Missing("timestamp"))?;
        let nonce = q.nonce.clone().ok_or(WecomError::Missing("nonce"))?;
        let t: i64 = ts
            .trim()
            .parse()
            .map_err(|_| WecomError::Timestamp(format!("{ts:?} is not Unix seconds")))?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let skew = self.settings.max_skew.as_secs() as i64;
        if (now - t).abs() > skew {
            return Err(WecomError::Timestamp(format!(
                "{t} is {}s away from now (at most {skew}s): expired or replayed",
                now - t
            )));
        }
        Ok((sig, ts, nonce))
    }

    async fn refuse_signature(&self, e: CryptoError, what: &str) -> WecomError {
        let suppressed = {
            let mut r = self.refusals.lock().expect("refusals lock");
            if r.0.is_some_and(|t| t.elapsed() < Duration::from_secs(10)) {
                r.1 += 1;
                None
            } else {
                let n = r.1;
                *r = (Some(Instant::now()), 0);
                Some(n)
            }
        };
        let Some(earlier) = suppressed else {
            return WecomError::Signature(e);
        };
        let mut reason = format!("{what}: {e}");
        if earlier > 0 {
            reason.push_str(&format!(
                " ({earlier} more refused since the last entry, not audited one by one)"
            ));
        }
        tracing::warn!(channel = CHANNEL, %reason, "wecom callback refused");
        if let Err(err) = blocking(&self.desk, move |d| d.audit_refusal(CHANNEL, &reason)).await {
            tracing::error!(error = %err, "cannot audit a refused wecom callback");
        }
        WecomError::Signature(e)
    }

    /// The URL check (`GET` with `echostr`): the decrypted echo, to be answered as plain text.
    pub async fn verify_url(&self, q: &Query) -> Result<String, WecomError> {
        let (sig, ts, nonce) = self.check_time(q)?;
        let echo = q.echostr.clone().ok_or(WecomError::Missing("echostr"))?;
        if let Err(e) = self.crypto.verify(&sig, &ts, &nonce, &echo) {
            return Err(self.refuse_signature(e, "url check").await);
        }
        self.crypto
            .decrypt(&echo)
            .map_err(|e| WecomError::Body(e.to_string()))
    }

    /// A callback (`POST`): the encrypted passive reply to answer with, or `None` for an
    /// empty answer.
    pub async fn callback(&self, q: &Query, body: &[u8]) -> Result<Option<String>, WecomError> {
        let (sig, ts, nonce) = self.check_time(q)?;
        let v: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| WecomError::Body(format!("the body is not JSON: {e}")))?;
        let encrypt = v
            .get("encrypt")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| WecomError::Body("the body has no \"encrypt\" string".into()))?;
        if let Err(e) = self.crypto.verify(&sig, &ts, &nonce, encrypt) {
            return Err(self.refuse_signature(e, "callback").await);
        }
        let plain = self
            .crypto
            .decrypt(encrypt)
            .map_err(|e| WecomError::Body(e.to_string()))?;
        let cb = callback::parse(&plain).map_err(|e| WecomError::Body(e.to_string()))?;
        let reply = match cb {
            Callback::Message(m) => self.on_message(m).await?,
            Callback::StreamRefresh { stream_id, .. } => self.on_refresh(&stream_id),
            Callback::Event { .. } => None,
        };
        Ok(reply.map(|plain| {
            let nonce: u64 = rand::random();
            self.crypto.reply(
                &plain,
                OffsetDateTime::now_utc().unix_timestamp(),
                &(nonce % 10_000_000_000).to_string(),
            )
        }))
    }

    fn inbound(&self, m: &RobotMessage) -> InboundMessage {
        let chat_id = match (&m.chatid, m.chattype) {
            (Some(c), ChatType::Group) => c.clone(),
            _ => format!("{SINGLE_PREFIX}{}", m.userid),
        };
        let mention = (!self.settings.bot_name.is_empty())
            .then(|| format!("@{}", self.settings.bot_name.trim_start_matches('@')));
        let addressed = match (m.chattype, &mention) {
            (ChatType::Single, _) | (ChatType::Group, None) => true,
            (ChatType::Group, Some(at)) => m.text.contains(at.as_str()),
        };
        let time = m
            .create_time
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
            .unwrap_or_else(OffsetDateTime::now_utc);
        InboundMessage {
            channel: CHANNEL.into(),
            event_id: format!("m:{}", m.msgid),
            chat_id,
            message_id: m.msgid.clone(),
            sender: m.userid.clone(),
            kind: m.kind,
            text: m.text.clone(),
            time,
            addressed,
            bot_mention: mention,
            reply_url: m.response_url.clone(),
        }
    }

    async fn on_message(&self, m: RobotMessage) -> Result<Option<String>, WecomError> {
        // The stream exists before the desk sees the message, so that an immediate reply the
        // outbox claims at once finds it.
        let sid = stream_id(&m.msgid);
        let created = {
            let mut s = self.streams.lock().expect("streams lock");
            // Streams WeCom no longer refreshes are forgotten (a minute after the window).
            let keep = self.settings.stream_window + Duration::from_secs(60);
            let old: HashSet<String> = s
                .by_id
                .iter()
                .filter(|(_, st)| st.opened.elapsed() > keep && st.pending.is_empty())
                .map(|(id, _)| id.clone())
                .collect();
            s.by_id.retain(|id, _| !old.contains(id));
            s.by_msg.retain(|_, id| !old.contains(id));
            if s.by_msg.contains_key(&m.msgid) {
                false
            } else {
                s.by_msg.insert(m.msgid.clone(), sid.clone());
                s.by_id.insert(
                    sid.clone(),
                    Stream {
                        opened: Instant::now(),
                        content: String::new(),
                        finish: false,
                        dead: false,
                        pending: Vec::new(),
                        served: Arc::new(Notify::new()),
                    },
                );
                true
            }
        };
        let forget = |robot: &Robot| {
            let mut s = robot.streams.lock().expect("streams lock");
            s.by_id.remove(&sid);
            s.by_msg.remove(&m.msgid);
        };
        let msg = self.inbound(&m);
        let chat = msg.chat_id.clone();
        let receipt = match blocking(&self.desk, move |d| d.receive(msg)).await {
            Ok(r) => r,
            Err(e) => {
                if created {
                    forget(self);
                }
                if e.kind == DeskErrorKind::Invalid {
                    tracing::warn!(msgid = %m.msgid, error = %e, "wecom message refused by the desk");
                    return Ok(None);
                }
                return Err(WecomError::Desk(e));
            }
        };
        // A redelivery whose stream died with an earlier process, and dispositions that never
        // answer: no stream, no wait (anything later goes through the response_url).
        let silent = matches!(
            receipt.disposition.as_str(),
            "not_addressed" | "deleted" | "sticker"
        );
        if created && (!receipt.new || silent) {
            forget(self);
            return Ok(None);
        }
        if receipt.new && receipt.disposition == "unknown_chat" {
            self.alert_unmapped(&chat);
        }
        let pricing = receipt.work.is_some();
        if let Some(t) = receipt.work {
            spawn_work(&self.desk, t, self.wake.clone());
        }
        self.wake.notify_one();
        // Wait for the desk's immediate reply (an acknowledgement, a question, a refusal).
        let end = Instant::now() + self.settings.first_wait;
        loop {
            {
                let mut s = self.streams.lock().expect("streams lock");
                let Some(st) = s.by_id.get_mut(&sid) else {
                    return Ok(None);
                };
                let ready = st.pending.iter().any(|p| !p.served) || !st.content.is_empty();
                if ready || Instant::now() >= end {
                    if !ready && !pricing {
                        // Nothing to say now and nothing coming: no stream, and anything later
                        // goes through the response_url.
                        s.by_id.remove(&sid);
                        s.by_msg.remove(&m.msgid);
                        return Ok(None);
                    }
                    let (content, finish) = st.serve();
                    return Ok(Some(stream_json(&sid, &content, finish)));
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn on_refresh(&self, sid: &str) -> Option<String> {
        let mut s = self.streams.lock().expect("streams lock");
        let st = s.by_id.get_mut(sid)?;
        let (content, finish) = st.serve();
        Some(stream_json(sid, &content, finish))
    }

    /// Tells admins that a group without a client mapping wrote to the robot (at most hourly
    /// per group): in the log always, through the application API when configured (in the
    /// background: the callback's answer does not wait for it).
    fn alert_unmapped(&self, chat: &str) {
        {
            let mut a = self.alerted.lock().expect("alerts lock");
            if a.get(chat)
                .is_some_and(|t| t.elapsed() < Duration::from_secs(3600))
            {
                return;
            }
            a.insert(chat.to_string(), Instant::now());
        }
        tracing::warn!(
            channel = CHANNEL,
            chat,
            "a WeCom chat without a client mapping wrote to the robot; map it on the Admin page or with `deskmate rfq chats add --channel wecom --chat {chat} --client CLIENT`"
        );
        let (Some(api), false) = (self.api.clone(), self.settings.admin_users.is_empty()) else {
            return;
        };
        let users = self.settings.admin_users.clone();
        let text = format!(
            "【Deskmate 提醒 / alert】企业微信群 {chat} 尚未关联客户，机器人未报价。请在“管理”页面或用 `deskmate rfq chats add --channel wecom --chat {chat} --client 客户` 关联。\nWeCom chat {chat} has no client mapping; nothing was priced. Map it on the Admin page or with `deskmate rfq chats add --channel wecom --chat {chat} --client CLIENT`.\n(机器生成 / machine-generated)"
        );
        tokio::spawn(async move {
            match api.message_send(&users, &text).await {
                Answer::Ok(_) => {}
                other => tracing::error!(?other, "cannot alert admins through the WeCom API"),
            }
        });
    }

    /// Tries the open stream of the message `reply_to`; `None` when there is none (or WeCom
    /// stopped refreshing it), so the reply goes another way.
    async fn via_stream(&self, msg: &OutboundMessage) -> Option<SendOutcome> {
        let reply_to = msg.reply_to.as_deref()?;
        let margin = Duration::from_secs(5);
        let (sid, served) = {
            let mut s = self.streams.lock().expect("streams lock");
            let sid = s.by_msg.get(reply_to)?.clone();
            let st = s.by_id.get_mut(&sid)?;
            if st.finish || st.dead || st.opened.elapsed() + margin >= self.settings.stream_window {
                return None;
            }
            st.pending.push(Pending {
                outbox_id: msg.id,
                text: plain_markdown(&msg.text),
                finish: msg.kind != "ack",
                served: false,
            });
            (sid, st.served.clone())
        };
        let end = Instant::now() + self.settings.stream_wait;
        loop {
            let notified = served.notified();
            {
                let mut s = self.streams.lock().expect("streams lock");
                let st = s.by_id.get_mut(&sid)?;
                let i = st.pending.iter().position(|p| p.outbox_id == msg.id)?;
                if st.pending[i].served {
                    st.pending.remove(i);
                    return Some(SendOutcome::Sent {
                        message_id: Some(format!("stream:{sid}")),
                    });
                }
                if Instant::now() >= end {
                    st.pending.remove(i);
                    st.dead = true;
                    return None;
                }
            }
            let _ =
                tokio::time::timeout(end.saturating_duration_since(Instant::now()), notified).await;
        }
    }

    async fn spend(&self, chat: &str, message_id: &str) {
        let (chat, id) = (chat.to_string(), message_id.to_string());
        if let Err(e) = blocking(&self.desk, move |d| d.spend_reply_url(CHANNEL, &chat, &id)).await
        {
            tracing::error!(error = %e, "cannot mark a WeCom response_url used");
        }
    }

    /// Runs the outbox until `stop` turns true (after recovering what a crash interrupted).
    pub async fn run(self: Arc<Robot>, stop: watch::Receiver<bool>) {
        match blocking(&self.desk, |d| d.recover(CHANNEL)).await {
            Ok(tickets) => {
                for t in tickets {
                    spawn_work(&self.desk, t, self.wake.clone());
                }
            }
            Err(e) => tracing::error!(error = %e, "wecom recovery failed"),
        }
        tracing::info!(bot = %self.settings.bot_name, "wecom robot started");
        let (desk, wake, every) = (
            self.desk.clone(),
            self.wake.clone(),
            self.settings.outbox_every,
        );
        // Sends through a stream wait for WeCom's next refresh: many at once.
        run_outbound_concurrent(desk, self, CHANNEL.to_string(), wake, every, stop, 64).await;
        tracing::info!("wecom robot stopped");
    }
}

impl ChatSender for Robot {
    async fn send(&self, msg: &OutboundMessage) -> SendOutcome {
        if let Some(done) = self.via_stream(msg).await {
            return done;
        }
        let group = !msg.chat_id.starts_with(SINGLE_PREFIX);
        let body = plain_markdown(&msg.text);
        let text = match (&msg.reply_sender, group) {
            (Some(u), true) if mentionable(u) => format!("<@{u}> {body}"),
            _ => body,
        };
        let now = OffsetDateTime::now_utc();
        let ttl = time::Duration::try_from(self.settings.reply_url_ttl)
            .unwrap_or(time::Duration::HOUR)
            - time::Duration::seconds(30);
        let mut last = None;
        for u in msg.reply_urls.iter().filter(|u| now - u.received_at < ttl) {
            match post_response_url(&self.http, &u.url, &text).await {
                Answer::Ok(_) => {
                    self.spend(&msg.chat_id, &u.message_id).await;
                    return SendOutcome::Sent {
                        message_id: Some(format!("response_url:{}", u.message_id)),
                    };
                }
                a @ (Answer::Refused { retry: true, .. } | Answer::Unreachable(_)) => {
                    return a.outcome(None);
                }
                Answer::Refused { code, message, .. } => {
                    // Used, expired or refused for good: certainly not posted; try the next.
                    self.spend(&msg.chat_id, &u.message_id).await;
                    last = Some(format!("response_url refused (errcode {code}: {message})"));
                }
                Answer::Uncertain(error) => {
                    self.spend(&msg.chat_id, &u.message_id).await;
                    return SendOutcome::Uncertain { error };
                }
            }
        }
        if let (Some(api), true) = (&self.api, group) {
            return api.appchat_send(&msg.chat_id, &text).await.outcome(None);
        }
        SendOutcome::Failed {
            error: format!(
                "no way left to reply in WeCom chat {}: the stream window (6 min) has passed, no unspent response_url younger than an hour is left{}, and {}",
                msg.chat_id,
                last.map(|l| format!(" ({l})")).unwrap_or_default(),
                if group {
                    "no application API is configured"
                } else {
                    "one-to-one chats have no other way"
                }
            ),
            retry: false,
        }
    }
}

/// The desk's plain text made inert for WeCom's markdown (stream content and markdown messages
/// are rendered): characters that would start markup become their full-width forms, which read
/// the same.
pub fn plain_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut start = true;
        for c in line.chars() {
            let r = match c {
                '*' => '＊',
                '_' => '＿',
                '`' => '｀',
                '~' => '～',
                '[' => '［',
                ']' => '］',
                '<' => '＜',
                '>' => '＞',
                '#' if start => '＃',
                '-' | '+' if start => '－',
                c => c,
            };
            if !c.is_whitespace() {
                start = false;
            }
            out.push(r);
        }
    }
    out
}

/// Whether a user id can go into a `<@userid>` mention as is.
fn mentionable(userid: &str) -> bool {
    !userid.is_empty()
        && userid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_text_is_inert_markdown() {
        assert_eq!(
            plain_markdown("# x\n**bold** [a](b) <@all> ~s~ 5% 9.43\n- item"),
            "＃ x\n＊＊bold＊＊ ［a］(b) ＜@all＞ ～s～ 5% 9.43\n－ item"
        );
        assert!(mentionable("zhang.san") && !mentionable("x> <@all"));
    }
}
