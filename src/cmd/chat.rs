//! Starts the RFQ desk's chat connectors with the server: the Telegram bot when
//! `telegram.enabled`, the WeCom robot's outbox when `wecom.enabled` (its callback route is the
//! server's, on the same robot), and the webhook sender for each of `webhook.channels`.

use anyhow::Context;
use assistant::Assistant;
use assistant::desk::DeskBridge;
use connectors::chat::{ChatDesk, run_outbound, spawn_work};
use connectors::telegram::{self, TelegramSettings};
use connectors::webhook::{WebhookSender, WebhookSettings};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// Starts the configured connectors; they stop when `stop` turns true.
pub fn start(
    state: &web::AppState,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let assistant: Arc<Assistant> = state.assistant.clone();
    let cfg = assistant.config.clone();
    let every = Duration::from_millis(cfg.rfq.outbox_poll_ms);
    let desk: Arc<dyn ChatDesk> = Arc::new(DeskBridge::new(assistant));
    let mut tasks = Vec::new();
    if cfg.telegram.enabled {
        let settings = TelegramSettings {
            token: cfg.telegram.token.clone(),
            api_url: url::Url::parse(&cfg.telegram.api_url)
                .with_context(|| format!("telegram.api_url {:?}", cfg.telegram.api_url))?,
            poll_timeout_secs: cfg.telegram.poll_timeout_secs,
            outbox_every: every,
        };
        let (desk, stop) = (desk.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = telegram::run(settings, desk, stop).await {
                tracing::error!(error = %e, "the telegram bot stopped");
            }
        }));
    }
    if cfg.wecom.enabled {
        let robot = state
            .wecom
            .clone()
            .context("wecom.enabled but the WeCom robot could not start (see the log above)")?;
        tasks.push(tokio::spawn(robot.run(stop.clone())));
    }
    if !cfg.webhook.channels.is_empty() {
        let sender = Arc::new(WebhookSender::new(WebhookSettings {
            callback_url: url::Url::parse(&cfg.webhook.callback_url)
                .with_context(|| format!("webhook.callback_url {:?}", cfg.webhook.callback_url))?,
            secret: cfg.webhook.secret.clone(),
            timeout: Duration::from_secs(cfg.webhook.timeout_secs),
        })?);
        for channel in cfg.webhook.channels.clone() {
            let (desk, sender, stop) = (desk.clone(), sender.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let wake = Arc::new(Notify::new());
                let ch = channel.clone();
                match connectors::chat::blocking(&desk, move |d| d.recover(&ch)).await {
                    Ok(tickets) => {
                        for t in tickets {
                            spawn_work(&desk, t, wake.clone());
                        }
                    }
                    Err(e) => tracing::error!(%channel, error = %e, "webhook recovery failed"),
                }
                tracing::info!(%channel, "webhook sender started");
                run_outbound(desk, sender, channel, wake, every, stop).await;
            }));
        }
    }
    Ok(tasks)
}
