//! The trader's day in the browser (issue #17 item 6, scenario b): a request for quote arrives
//! through the webhook and appears on the open blotter without a reload (the delay measured);
//! the trader edits the quote's price on its approval page; four-eyes sends them to a second
//! trader, who approves; the chat system gets the edited quote, labelled machine-generated.
//! Also the first page load's figures (bytes, time to interactive) and the blotter read with
//! JavaScript off.

use super::{Browser, Desk, PASSWORD, RFQ_TEXT, Script, Tools, WAIT};
use anyhow::{Context, ensure};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Issue #17's figures: first page load, and a new request on an open blotter.
const MAX_FIRST_LOAD_BYTES: u64 = 300 * 1024;
const MAX_INTERACTIVE_MS: f64 = 1000.0;
const MAX_LIVE_MS: f64 = 1000.0;

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rfq_appears_live_and_the_edited_quote_goes_out_after_a_second_trader_approves() {
    let Some(tools) = Tools::find() else { return };
    let desk = Desk::start().await;
    let b = Browser::open(&tools, "rfq_live", &desk.base, Script::On).await;
    b.run(async |b| {
        // Signed out, the blotter sends the browser to the sign-in form, which comes back to it.
        b.step("sign-in");
        b.goto("/rfqs").await?;
        b.wait_for("#password", WAIT).await?;
        ensure!(
            b.path().await?.starts_with("/sign-in?next=/rfqs"),
            "{}",
            b.path().await?
        );
        b.page_shot("sign-in").await?;
        b.submit_sign_in("tina", PASSWORD).await?;
        ensure!(
            b.path().await? == "/rfqs",
            "after sign-in: {}",
            b.path().await?
        );

        // The first load of the blotter, as a first visit (empty cache).
        b.step("first-load");
        b.clear_cache().await?;
        b.goto("/rfqs").await?;
        let f = b.load_figures().await?;
        for asset in [".css", ".js"] {
            ensure!(
                f.resources
                    .iter()
                    .any(|(url, bytes)| url.contains("/assets/app.")
                        && url.ends_with(asset)
                        && *bytes > 0),
                "the {asset} asset did not come over the network: {:?}",
                f.resources
            );
        }
        println!(
            "first load of /rfqs: {} bytes transferred ({} resources), domInteractive {:.0} ms",
            f.transferred,
            f.resources.len(),
            f.interactive_ms
        );
        ensure!(f.transferred < MAX_FIRST_LOAD_BYTES, "{f:?}");
        ensure!(f.interactive_ms < MAX_INTERACTIVE_MS, "{f:?}");

        // A request arrives through the webhook while the blotter is open.
        b.step("live-row");
        b.wait_for("[data-live-note]:not([hidden])", WAIT).await?;
        // The script has opened its event stream; give it time to connect (the stream's
        // starting point is the audit head when it connects).
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.js("window.__rowSeenAt = null;
             const rows = document.getElementById('blotter-rows');
             new MutationObserver((_, o) => {
               if (rows.querySelector('tr[data-id]')) {
                 window.__rowSeenAt = performance.timeOrigin + performance.now();
                 o.disconnect();
               }
             }).observe(rows, {childList: true, subtree: true});")
            .await?;
        let sent = epoch_ms();
        let r = desk.inbound("m-1", RFQ_TEXT).await?;
        let rfq = r["rfq_id"].as_str().context("rfq_id")?.to_string();
        let row = format!("#blotter-rows tr[data-id='{rfq}']");
        b.wait_for(&row, WAIT).await?;
        let seen = b.js("return window.__rowSeenAt;").await?;
        let live_ms = seen
            .as_f64()
            .context("the row was not seen by the observer")?
            - sent;
        println!("a new RFQ appeared on the open blotter {live_ms:.0} ms after the webhook call");
        ensure!(live_ms < MAX_LIVE_MS, "{live_ms:.0} ms");
        let text = b.text_of(&row).await?;
        ensure!(text.contains("DEMO") && text.contains("沪深300"), "{text}");

        // Priced, the quote's approval link appears in the same row, still without a reload.
        b.step("quote-queued");
        let link = format!("{row} a[href^='/approvals/']");
        b.wait_for(&link, WAIT).await?;
        b.page_shot("blotter").await?;
        b.click(&link).await?;

        // The trader edits the price in the payload form.
        b.step("edit");
        b.wait_for("textarea[name=payload]", WAIT).await?;
        let approval = b.path().await?;
        let before = b
            .prop_of("textarea[name=payload]", "value")
            .await?
            .context("the payload")?;
        let mut payload: Value = serde_json::from_str(&before)?;
        let desk_price = payload["quote"]["client"]
            .as_f64()
            .context("quote.client")?;
        let price = ((desk_price + 0.25) * 100.0).round() / 100.0;
        payload["quote"]["client"] = price.into();
        b.fill(
            "textarea[name=payload]",
            &serde_json::to_string_pretty(&payload)?,
        )
        .await?;
        b.fill("#edit-note", "client relationship: +25bp").await?;
        b.click("form[action$='/edit'] button[type=submit]").await?;
        b.wait_for(".flash.ok", WAIT).await?;
        let diff = b.text_of("main section.card table").await.ok();
        let versions = b.text_of("main").await?;
        ensure!(
            versions.contains("/quote/client") && versions.contains(&price.to_string()),
            "the diff does not show the edit: {versions} {diff:?}"
        );
        b.page_shot("approval").await?;

        // Four-eyes: the editor may not approve their own edit.
        b.step("four-eyes");
        b.click("form[action$='/approve'] button[type=submit]")
            .await?;
        let h1 = b
            .wait_text("main h1", |h| h.starts_with("403"), WAIT)
            .await?;
        let page = b.text_of("main").await?;
        ensure!(
            h1 == "403 · You may not do this." && page.contains("four-eyes"),
            "{h1}: {page}"
        );

        // A second trader signs in, sees the quote waiting at home, and approves it.
        b.step("second-trader");
        b.goto("/").await?;
        b.sign_out().await?;
        b.submit_sign_in("tom", PASSWORD).await?;
        b.wait_for("a[href='/approvals?state=pending&kind=quote']", WAIT)
            .await?;
        b.page_shot("home").await?;
        b.goto(&approval).await?;
        b.click("form[action$='/approve'] button[type=submit]")
            .await?;
        b.wait_for(".flash.ok", WAIT).await?;
        b.wait_for(".status.approved", WAIT).await?;

        // The chat system gets the edited price, labelled machine-generated.
        b.step("reply");
        let quote = desk.reply("quote", WAIT).await?;
        let text = quote["text"].as_str().context("the reply's text")?;
        let figure = format!("{price:.2}%");
        ensure!(
            text.starts_with("【机器生成·仅供参考】") && text.contains(&figure),
            "expected the label and {figure}: {text}"
        );
        ensure!(quote["reply_to_message_id"] == "m-1", "{quote}");
        b.goto("/rfqs").await?;
        b.wait_for(&format!("{row} .status.sent"), WAIT).await?;

        // The request's trail: each parsed field with where it came from (the rules here).
        b.step("trail");
        b.goto(&format!("/rfqs/{rfq}")).await?;
        b.wait_for("table.fields", WAIT).await?;
        let fields = b.text_of("table.fields").await?;
        ensure!(
            fields.contains("underlying")
                && fields.contains("000300.SH")
                && fields.contains("rules"),
            "{fields}"
        );
        b.page_shot("rfq-trail").await?;
        Ok(())
    })
    .await;
    desk.stop().await;
}

/// With JavaScript off, the blotter still shows its rows (server-rendered) and says that live
/// updates need JavaScript; signing in works as a plain form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blotter_reads_without_javascript() {
    let Some(tools) = Tools::find() else { return };
    let desk = Desk::start().await;
    let r = desk.inbound("m-2", RFQ_TEXT).await.unwrap();
    let rfq = r["rfq_id"].as_str().unwrap().to_string();
    let b = Browser::open(&tools, "no_script", &desk.base, Script::Off).await;
    b.run(async |b| {
        b.step("sign-in");
        b.sign_in("tina", PASSWORD).await?;
        b.step("blotter");
        b.goto("/rfqs").await?;
        let row = b
            .text_of(&format!("#blotter-rows tr[data-id='{rfq}']"))
            .await?;
        ensure!(row.contains("DEMO") && row.contains("沪深300"), "{row}");
        let note = b.text_of("main noscript p").await?;
        ensure!(note.contains("need JavaScript"), "{note}");
        let live = b.wait_for("[data-live-note]", WAIT).await?;
        ensure!(
            !live.is_displayed().await?,
            "the live note shows without a script"
        );
        Ok(())
    })
    .await;
    desk.stop().await;
}
