//! Active sending: a robot's `response_url` (one use, valid for an hour, "主动回复消息") and a
//! self-built application's server API (`gettoken`, `appchat/send` for group chats the
//! application created, `message/send` to members, e.g. alerts to admins).
//!
//! The access token is cached until five minutes before `expires_in` runs out and fetched
//! again when WeCom says it is invalid or expired (40014, 42001, 41001); such a request was
//! refused, so it is sent once more. `gettoken` is idempotent and retried on network errors
//! and "system busy" (-1, at most three tries as the documentation advises). Sends are not
//! idempotent: a broken connection after the request left is reported as uncertain and never
//! retried; rate limits (45009, 45033) and -1 are certain refusals, retried later by the outbox.

use crate::chat::SendOutcome;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How to reach the application API.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// `https://qyapi.weixin.qq.com` (a test points it at a local fake).
    pub base_url: url::Url,
    /// The corp id (企业ID).
    pub corp_id: String,
    /// The application's secret (secret).
    pub secret: String,
    /// The application's agent id.
    pub agent_id: i64,
    /// Per-request timeout.
    pub timeout: Duration,
}

/// What WeCom answered, sorted by what the caller may do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `errcode` 0, with the body.
    Ok(Value),
    /// A certain refusal; `retry` when trying again later may succeed.
    Refused {
        /// WeCom's error code (or the HTTP status for non-JSON answers).
        code: i64,
        /// Its message.
        message: String,
        /// Rate limit or system busy.
        retry: bool,
    },
    /// Not delivered: the connection could not be made.
    Unreachable(String),
    /// Perhaps delivered: the connection broke after the request left.
    Uncertain(String),
}

impl Answer {
    /// As a [`SendOutcome`] of a chat message.
    pub fn outcome(self, message_id: Option<String>) -> SendOutcome {
        match self {
            Answer::Ok(_) => SendOutcome::Sent { message_id },
            Answer::Refused {
                code,
                message,
                retry,
            } => SendOutcome::Failed {
                error: format!("WeCom errcode {code}: {message}"),
                retry,
            },
            Answer::Unreachable(e) => SendOutcome::Failed {
                error: e,
                retry: true,
            },
            Answer::Uncertain(error) => SendOutcome::Uncertain { error },
        }
    }
}

/// Codes after which a later try may succeed: system busy, API rate limits.
fn retryable(code: i64) -> bool {
    matches!(code, -1 | 45009 | 45033 | 45011)
}

/// Codes that mean the access token must be fetched again.
fn token_expired(code: i64) -> bool {
    matches!(code, 40014 | 42001 | 41001)
}

/// Sends `req` and sorts the answer.
async fn exchange(req: reqwest::RequestBuilder) -> Answer {
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) if e.is_connect() || e.is_builder() || e.is_request() && !e.is_timeout() => {
            return Answer::Unreachable(format!("cannot reach WeCom: {e}"));
        }
        Err(e) => return Answer::Uncertain(format!("the connection to WeCom broke: {e}")),
    };
    let status = resp.status();
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => return Answer::Uncertain(format!("WeCom's answer was cut off: {e}")),
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) if status.as_u16() == 429 || status.as_u16() == 503 => {
            return Answer::Refused {
                code: i64::from(status.as_u16()),
                message: format!("HTTP {status}"),
                retry: true,
            };
        }
        Err(_) if status.is_server_error() => {
            return Answer::Uncertain(format!("WeCom answered HTTP {status} without JSON"));
        }
        Err(_) => {
            return Answer::Refused {
                code: i64::from(status.as_u16()),
                message: format!("HTTP {status} without JSON"),
                retry: false,
            };
        }
    };
    let code = v.get("errcode").and_then(Value::as_i64).unwrap_or(0);
    if code == 0 && status.is_success() {
        return Answer::Ok(v);
    }
    let message = v
        .get("errmsg")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    Answer::Refused {
        code: if code == 0 {
            i64::from(status.as_u16())
        } else {
            code
        },
        message,
        retry: retryable(code) || status.as_u16() == 429,
    }
}

/// Posts `markdown` to a robot's `response_url` (one use; WeCom refuses a second).
pub async fn post_response_url(client: &reqwest::Client, url: &str, markdown: &str) -> Answer {
    let body = json!({"msgtype": "markdown", "markdown": {"content": markdown}});
    exchange(client.post(url).json(&body)).await
}

struct Cached {
    token: String,
    until: Instant,
}

/// A self-built application's API client.
pub struct AppApi {
    settings: ApiSettings,
    client: reqwest::Client,
    token: tokio::sync::Mutex<Option<Cached>>,
}

impl std::fmt::Debug for AppApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppApi")
            .field("base_url", &self.settings.base_url.as_str())
            .field("agent_id", &self.settings.agent_id)
            .finish_non_exhaustive()
    }
}

impl AppApi {
    /// A client for `settings`.
    pub fn new(settings: ApiSettings) -> Result<AppApi, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()?;
        Ok(AppApi {
            settings,
            client,
            token: tokio::sync::Mutex::new(None),
        })
    }

    fn url(&self, path: &str) -> url::Url {
        let mut u = self.settings.base_url.clone();
        u.set_path(&format!("/cgi-bin/{path}"));
        u
    }

    /// The cached access token, fetched when missing, expiring or `stale`.
    async fn token(&self, stale: bool) -> Result<String, Answer> {
        let mut slot = self.token.lock().await;
        if !stale
            && let Some(c) = slot.as_ref()
            && Instant::now() < c.until
        {
            return Ok(c.token.clone());
        }
        let mut wait = Duration::from_millis(200);
        let mut last = Answer::Unreachable("gettoken was not tried".into());
        for _ in 0..3 {
            let mut u = self.url("gettoken");
            u.query_pairs_mut()
                .append_pair("corpid", &self.settings.corp_id)
                .append_pair("corpsecret", &self.settings.secret);
            let a = exchange(self.client.get(u)).await;
            match a {
                Answer::Ok(v) => {
                    let Some(t) = v.get("access_token").and_then(Value::as_str) else {
                        return Err(Answer::Refused {
                            code: 0,
                            message: "gettoken answered without access_token".into(),
                            retry: true,
                        });
                    };
                    let secs = v.get("expires_in").and_then(Value::as_u64).unwrap_or(7200);
                    let keep = secs.saturating_sub(300).max(60);
                    *slot = Some(Cached {
                        token: t.to_string(),
                        until: Instant::now() + Duration::from_secs(keep),
                    });
                    return Ok(t.to_string());
                }
                // gettoken changes nothing: any failure but a refusal is tried again.
                Answer::Refused { retry: false, .. } => return Err(a),
                other => last = other,
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
        Err(match last {
            Answer::Uncertain(e) => Answer::Unreachable(e),
            other => other,
        })
    }

    /// POSTs `body` to `/cgi-bin/{path}` with the access token, fetching a new token once if
    /// WeCom says it expired.
    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        let mut stale = false;
        for _ in 0..2 {
            let token = match self.token(stale).await {
                Ok(t) => t,
                Err(a) => return a,
            };
            let mut u = self.url(path);
            u.query_pairs_mut().append_pair("access_token", &token);
            let a = exchange(self.client.post(u).json(body)).await;
            match &a {
                Answer::Refused { code, .. } if token_expired(*code) && !stale => {
                    stale = true;
                    continue;
                }
                _ => return a,
            }
        }
        Answer::Refused {
            code: 42001,
            message: "the access token expired twice in a row".into(),
            retry: true,
        }
    }

    /// Posts markdown to a group chat the application created (`appchat/send`).
    pub async fn appchat_send(&self, chatid: &str, markdown: &str) -> Answer {
        self.post(
            "appchat/send",
            &json!({"chatid": chatid, "msgtype": "markdown", "markdown": {"content": markdown}, "safe": 0}),
        )
        .await
    }

    /// Sends a text message to members (`message/send`), e.g. an alert to admins.
    pub async fn message_send(&self, users: &[String], text: &str) -> Answer {
        self.post(
            "message/send",
            &json!({
                "touser": users.join("|"),
                "msgtype": "text",
                "agentid": self.settings.agent_id,
                "text": {"content": text},
                "safe": 0,
            }),
        )
        .await
    }
}
