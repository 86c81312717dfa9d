//! The RFQ desk through its public API: pricing with the desk's conventions and margin, limits
//! with pending exposure, the approval loop to the reply, expiry, restart safety, bad input and
//! throttling, clarifying questions, chat mappings and market-data reloads.

mod bad_input;
mod confirm;
mod flow;
mod injection;
mod model_fallback;
mod pricing;

use assistant::Assistant;
use assistant::config::Config;
use assistant::desk::{InboundMessage, MessageKind, OutboundMessage, desk_actor};
use assistant::store::Actor;
use policies::{Principal, Role};
use std::path::PathBuf;

/// The market file of the tests: flat markets on 2026-01-05 (the kernels examples' date).
pub const MARKETS: &str = r#"{"markets": {
  "000905.SH": {"valuation_date": "2026-01-05", "spot": 100.0, "rate": 0.02, "dividend": 0.01, "vol": 0.22},
  "000300.SH": {"valuation_date": "2026-01-05", "spot": 100.0, "rate": 0.02, "dividend": 0.01, "vol": 0.22},
  "510050.SH": {"valuation_date": "2026-01-05", "spot": 100.0, "rate": 0.02, "dividend": 0.02, "vol": 0.2}
}}"#;

/// A desk over a temporary data dir with the test markets and one client, `C001`, permitted
/// every structure up to 100m CNY and 36 months; `f` adjusts the configuration.
pub struct TestDesk {
    /// The assistant.
    pub a: Assistant,
    /// The data dir (and the market file beside it).
    pub dir: tempfile::TempDir,
}

/// The market file's path in a test dir.
pub fn market_file(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("markets.json")
}

/// The configuration of [`desk`] before `f`.
pub fn config(dir: &tempfile::TempDir) -> Config {
    std::fs::write(market_file(dir), MARKETS).unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.path().join("data");
    c.rfq.market_data = market_file(dir).display().to_string();
    c.rfq.mc_paths = 20_000;
    let limits = r#"
        [clients.C001]
        name = "Client One"
        structures = ["vanilla", "digital", "barrier", "shark_fin", "asian", "snowball", "phoenix"]
        max_notional = 100_000_000
        max_tenor_months = 36
        [clients.C002]
        name = "客户 C"
        structures = ["vanilla"]
        max_notional = 5_000_000
        max_tenor_months = 6
    "#;
    c.limits = toml::from_str(limits).unwrap();
    c
}

/// A desk with [`config`] adjusted by `f`.
pub fn desk(f: impl FnOnce(&mut Config)) -> TestDesk {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(&dir);
    f(&mut c);
    TestDesk {
        a: Assistant::open(c).unwrap(),
        dir,
    }
}

impl TestDesk {
    /// Reopens the same data dir (a restart), with the same configuration.
    pub fn restart(self) -> TestDesk {
        let config = self.a.config.clone();
        drop(self.a);
        TestDesk {
            a: Assistant::open(config).unwrap(),
            dir: self.dir,
        }
    }

    /// Maps `chat` of channel `tg` to `client`.
    pub fn map(&self, chat: &str, client: &str) {
        let admin = Actor::user(
            &Principal {
                user: "root".into(),
                role: Role::Admin,
            },
            None,
        );
        self.a
            .rfq_chat_set(&admin, "tg", chat, client, Some("test group"))
            .unwrap();
    }

    /// Receives a text message addressed to the bot in `chat`.
    pub fn say(&self, chat: &str, id: u32, text: &str) -> assistant::desk::Received {
        self.a
            .chat_receive(&desk_actor(), msg(chat, id, text))
            .unwrap()
    }

    /// Claims everything due on channel `tg`.
    pub fn claim(&self) -> Vec<OutboundMessage> {
        self.a.chat_claim("tg", 100).unwrap()
    }

    /// Claims everything due and marks it sent; returns it.
    pub fn deliver(&self) -> Vec<OutboundMessage> {
        let out = self.claim();
        for m in &out {
            self.a
                .chat_finish(
                    m.id,
                    assistant::desk::SendOutcome::Sent {
                        message_id: Some(format!("bot-{}", m.id)),
                    },
                )
                .unwrap();
        }
        out
    }
}

/// A text message addressed to the bot.
pub fn msg(chat: &str, id: u32, text: &str) -> InboundMessage {
    InboundMessage {
        channel: "tg".into(),
        event_id: format!("m:{chat}:{id}"),
        chat_id: chat.into(),
        message_id: id.to_string(),
        sender: "42 @alice".into(),
        kind: MessageKind::Text,
        text: text.into(),
        time: time::OffsetDateTime::now_utc(),
        addressed: true,
        bot_mention: Some("@desk_bot".into()),
        reply_url: None,
    }
}

/// A trader.
pub fn trader() -> (Principal, Actor) {
    let p = Principal {
        user: "tina".into(),
        role: Role::Trader,
    };
    let a = Actor::user(&p, None);
    (p, a)
}

/// Approves the desk model's pending version as a model-risk user (the inventory proposes the
/// configured model at open; it serves only once approved).
pub fn approve_model(a: &Assistant) {
    let n = crate::approve_models(a, &[assistant::model_risk::RFQ_CHAIN]);
    assert_eq!(n, 1, "one RFQ model version waits");
    assert!(
        a.chain_serves_model(assistant::model_risk::RFQ_CHAIN)
            .unwrap()
    );
}
