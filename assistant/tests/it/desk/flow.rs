//! The desk's loop: message → ack → queue → approve/edit/reject → reply once; limits with
//! pending exposure; expiry at approval and at send time; restarts; clarifications.

use super::{desk, msg, trader};
use assistant::approvals::{ApprovalFilter, ApprovalKind};
use assistant::desk::blotter::RfqFilter;
use assistant::desk::{
    ChatStatus, Disposition, MessageStatus, QuoteStatus, RfqStatus, SendOutcome, desk_actor,
};
use policies::ApprovalState;
use serde_json::json;

const SNOWBALL: &str = "@desk_bot 中证500 雪球 敲出103 敲入75 12个月 1000万 票息多少";
const VANILLA: &str = "@desk_bot 沪深300 12个月 平值看涨 名义本金1000万 期权费多少";

#[test]
fn a_request_is_acknowledged_queued_approved_and_answered_once() {
    let d = desk(|_| {});
    d.map("g1", "C001");
    let r = d.say("g1", 7, SNOWBALL);
    assert!(r.new && r.needs_pricing, "{r:?}");
    let rfq = r.rfq_id.clone().unwrap();
    // The acknowledgement is queued before pricing, as a reply to the client's message.
    let ack = d.deliver();
    assert_eq!(ack.len(), 1);
    assert_eq!(ack[0].kind, "ack");
    assert_eq!(ack[0].reply_to.as_deref(), Some("7"));
    assert!(ack[0].text.contains("已收到，正在报价"), "{}", ack[0].text);
    // Pricing puts one quote in the trader's queue with everything the trader needs.
    let quotes = d.a.rfq_price(&rfq).unwrap();
    assert_eq!(quotes.len(), 1);
    assert_eq!(quotes[0].status, QuoteStatus::Pending);
    let (tp, ta) = trader();
    let queue =
        d.a.list_approvals(
            &ta,
            &ApprovalFilter {
                kind: Some(ApprovalKind::Quote),
                state: Some(ApprovalState::Pending),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(queue.len(), 1);
    let p = &queue[0].payload;
    for field in [
        "request",
        "quote",
        "greeks",
        "limits",
        "pricing",
        "product",
        "terms",
        "reply_preview",
    ] {
        assert!(!p[field].is_null(), "payload lacks {field}: {p}");
    }
    assert_eq!(p["limits"]["passed"], true);
    assert_eq!(p["quote"]["kind"], "coupon");
    assert_eq!(queue[0].required_role, policies::Role::Trader);
    // Nothing goes out before approval.
    assert!(d.claim().is_empty());
    // The trader rounds the coupon down to the half point (within the 10% a trader may move a
    // quote without a reason), then approves: the reply carries the edited figure.
    let desk_coupon = p["quote"]["client"].as_f64().unwrap();
    let rounded = (desk_coupon * 2.0).floor() / 2.0;
    assert!(rounded > desk_coupon * 0.9, "{desk_coupon}");
    let mut edited = p.clone();
    edited["quote"]["client"] = json!(rounded);
    d.a.edit_approval(&ta, &tp, &queue[0].id, edited, Some("round down"))
        .unwrap();
    d.a.approve(&ta, &tp, &queue[0].id, None).unwrap();
    let out = d.deliver();
    assert_eq!(out.len(), 1, "{out:?}");
    let reply = &out[0];
    assert_eq!(reply.kind, "quote");
    assert_eq!(reply.reply_to.as_deref(), Some("7"));
    assert!(
        reply.text.starts_with("【机器生成·仅供参考】"),
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains(&format!("年化票息：{rounded:.2}%")),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("10,000,000 CNY"), "{}", reply.text);
    assert!(
        reply.text.contains("中证500（000905.SH）"),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("锁定期3个月"), "{}", reply.text);
    // Sent once: nothing more to send, the quote is `sent`, the trail has it all.
    assert!(d.claim().is_empty());
    let detail = d.a.rfq_get(&ta, &rfq).unwrap();
    assert_eq!(detail.rfq.quotes[0].status, QuoteStatus::Sent);
    let actions: Vec<&str> = detail.audit.iter().map(|e| e.action.as_str()).collect();
    for a in [
        "chat.inbound",
        "rfq.create",
        "chat.outbound.queue",
        "chat.outbound.sent",
        "rfq.quote.queue",
        "approval.create",
        "approval.edit",
        "approval.approve",
    ] {
        assert!(actions.contains(&a), "trail lacks {a}: {actions:?}");
    }
    let versions = &detail.quote_details[0].approval.as_ref().unwrap().versions;
    assert_eq!(versions.len(), 2);
    assert!(versions[1].diff.iter().any(|c| c.path == "/quote/client"));
    let v = d.a.store().verify_audit().unwrap();
    assert!(v.ok(), "{v:?}");
    // The blotter lists it by client and status.
    let rows =
        d.a.rfq_list(
            &ta,
            &RfqFilter {
                client: Some("C001".into()),
                status: Some(RfqStatus::Quoted),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        d.a.rfq_list(
            &ta,
            &RfqFilter {
                client: Some("C002".into()),
                ..Default::default()
            }
        )
        .unwrap()
        .is_empty()
    );
}

#[test]
fn a_rejected_quote_gets_neutral_words_and_the_reason_stays_inside() {
    let d = desk(|_| {});
    d.map("g1", "C001");
    let rfq = d.say("g1", 1, VANILLA).rfq_id.unwrap();
    d.deliver();
    let q = d.a.rfq_price(&rfq).unwrap();
    let (tp, ta) = trader();
    d.a.reject(
        &ta,
        &tp,
        q[0].approval_id.as_ref().unwrap(),
        "vol stale, call them",
    )
    .unwrap();
    let out = d.deliver();
    assert_eq!(out.len(), 1);
    assert!(out[0].text.contains("未能确认"), "{}", out[0].text);
    assert!(!out[0].text.contains("vol stale"));
}

#[test]
fn limits_block_with_a_plain_reason_and_neutral_client_words() {
    let d = desk(|_| {});
    d.map("g2", "C002");
    // Client C002 may trade vanillas only, up to 5m and 6 months.
    let rfq = d.say("g2", 1, SNOWBALL).rfq_id.unwrap();
    d.deliver();
    let q = d.a.rfq_price(&rfq).unwrap();
    assert_eq!(q[0].status, QuoteStatus::Blocked);
    assert!(q[0].approval_id.is_none());
    let (_, ta) = trader();
    let detail = d.a.rfq_get(&ta, &rfq).unwrap();
    assert_eq!(detail.rfq.status, RfqStatus::Blocked);
    let reasons = detail.quote_details[0].detail["limits"]["breaches"].to_string();
    assert!(
        reasons.contains("拒绝：客户 客户 C 无雪球交易权限"),
        "{reasons}"
    );
    assert!(
        reasons.contains("exceeds client 客户 C's limit of 5,000,000 CNY"),
        "{reasons}"
    );
    let out = d.deliver();
    assert_eq!(out.len(), 1);
    assert!(
        out[0].text.contains("超出了可在此报价的范围"),
        "{}",
        out[0].text
    );
    assert!(!out[0].text.contains("5,000,000") && !out[0].text.contains("雪球交易权限"));
}

#[test]
fn pending_quotes_count_toward_the_exposure_limit() {
    // Each 10m 1Y ATM call sold is about −39k CNY per vol point (S·e^{-qT}·n(d1)·√T = 39.0 per
    // unit, 1e5 units, / 100); a 60k limit takes one quote and blocks the second while the first
    // is pending.
    let d = desk(|c| {
        c.limits.exposure.insert(
            "000300.SH".into(),
            toml::from_str("max_abs_vega = 60000").unwrap(),
        );
    });
    d.map("g1", "C001");
    let first = d.say("g1", 1, VANILLA).rfq_id.unwrap();
    assert_eq!(
        d.a.rfq_price(&first).unwrap()[0].status,
        QuoteStatus::Pending
    );
    let second = d.say("g1", 2, VANILLA).rfq_id.unwrap();
    let q = d.a.rfq_price(&second).unwrap();
    assert_eq!(q[0].status, QuoteStatus::Blocked);
    let (_, ta) = trader();
    let b = d.a.rfq_get(&ta, &second).unwrap().quote_details[0].detail["limits"].clone();
    assert!(
        b["breaches"][0]["reason_en"]
            .as_str()
            .unwrap()
            .starts_with("rejected: exceeds the 60,000 CNY vega limit on 000300.SH"),
        "{b}"
    );
    assert!(
        b["exposure_before"]["pending_vega_per_point"]
            .as_f64()
            .unwrap()
            < -30_000.0,
        "{b}"
    );
}

#[test]
fn an_unapproved_quote_expires_and_is_never_sent() {
    let d = desk(|c| c.rfq.quote_expiry_secs = 1);
    d.map("g1", "C001");
    let rfq = d.say("g1", 1, VANILLA).rfq_id.unwrap();
    d.deliver();
    let q = d.a.rfq_price(&rfq).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // Too late to approve.
    let (tp, ta) = trader();
    assert!(
        d.a.approve(&ta, &tp, q[0].approval_id.as_ref().unwrap(), None)
            .is_err()
    );
    let out = d.deliver();
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].text.contains("已超时失效"), "{}", out[0].text);
    assert_eq!(
        d.a.rfq_get(&ta, &rfq).unwrap().rfq.quotes[0].status,
        QuoteStatus::Expired
    );
}

#[test]
fn an_approved_quote_past_its_validity_at_send_time_is_dropped() {
    let d = desk(|c| c.rfq.quote_expiry_secs = 2);
    d.map("g1", "C001");
    let rfq = d.say("g1", 1, VANILLA).rfq_id.unwrap();
    d.deliver();
    let q = d.a.rfq_price(&rfq).unwrap();
    let (tp, ta) = trader();
    d.a.approve(&ta, &tp, q[0].approval_id.as_ref().unwrap(), None)
        .unwrap();
    // The sender was down past the validity: when it comes back the quote is not sent.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = d.deliver();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].kind, "notice");
    assert!(out[0].text.contains("已超时失效"));
    assert_eq!(
        d.a.rfq_get(&ta, &rfq).unwrap().rfq.quotes[0].status,
        QuoteStatus::Expired
    );
}

#[test]
fn a_claimed_quote_that_went_stale_before_sending_is_not_sent() {
    let d = desk(|_| {});
    d.map("g1", "C001");
    let rfq = d.say("g1", 1, VANILLA).rfq_id.unwrap();
    d.deliver();
    let q = d.a.rfq_price(&rfq).unwrap();
    let (tp, ta) = trader();
    d.a.approve(&ta, &tp, q[0].approval_id.as_ref().unwrap(), None)
        .unwrap();
    let out = d.claim();
    assert_eq!(out.len(), 1);
    assert!(out[0].not_after.is_some());
    // The connector found it stale just before sending.
    d.a.chat_finish(out[0].id, SendOutcome::Stale).unwrap();
    assert_eq!(
        d.a.rfq_get(&ta, &rfq).unwrap().rfq.quotes[0].status,
        QuoteStatus::Expired
    );
    let notice = d.deliver();
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0].kind, "notice");
}

#[test]
fn a_restart_neither_loses_pending_quotes_nor_sends_twice() {
    let d = desk(|_| {});
    d.map("g1", "C001");
    let rfq = d.say("g1", 1, VANILLA).rfq_id.unwrap();
    d.deliver();
    let q = d.a.rfq_price(&rfq).unwrap();
    // Restart with the quote pending: it is still in the queue and can be approved.
    let d = d.restart();
    let (tp, ta) = trader();
    d.a.approve(&ta, &tp, q[0].approval_id.as_ref().unwrap(), None)
        .unwrap();
    let claimed = d.claim();
    assert_eq!(claimed.len(), 1);
    // Crash while sending: after the restart the reply is uncertain, never sent again.
    let d = d.restart();
    assert!(d.a.chat_recover("tg").unwrap().is_empty());
    assert!(d.claim().is_empty());
    assert_eq!(
        d.a.rfq_get(&ta, &rfq).unwrap().rfq.quotes[0].status,
        QuoteStatus::Uncertain
    );
    // A redelivered inbound message is archived once and answered once.
    let again =
        d.a.chat_receive(&desk_actor(), msg("g1", 1, VANILLA))
            .unwrap();
    assert!(!again.new);
    assert!(d.claim().is_empty());
}

#[test]
fn pricing_interrupted_by_a_crash_resumes_once() {
    let d = desk(|_| {});
    d.map("g1", "C001");
    let rfq = d.say("g1", 1, VANILLA).rfq_id.unwrap();
    let d = d.restart();
    assert_eq!(d.a.chat_recover("tg").unwrap(), vec![rfq.clone()]);
    assert_eq!(d.a.rfq_price(&rfq).unwrap().len(), 1);
    // Pricing again changes nothing.
    assert_eq!(d.a.rfq_price(&rfq).unwrap().len(), 1);
    assert!(d.a.chat_recover("tg").unwrap().is_empty());
}

#[test]
fn a_missing_term_is_asked_for_and_the_answer_completes_the_request() {
    let d = desk(|_| {});
    d.map("g1", "C001");
    let r = d.say("g1", 1, "@desk_bot 中证500 雪球 敲出103 敲入75 票息多少");
    assert_eq!(r.disposition, Disposition::Clarify);
    let q = d.deliver();
    assert_eq!(q[0].kind, "clarify");
    assert!(
        q[0].text.contains("期限和名义本金分别是多少"),
        "{}",
        q[0].text
    );
    let r2 = d.say("g1", 2, "@desk_bot 12个月 1000万");
    assert_eq!(r2.disposition, Disposition::Rfq, "{r2:?}");
    let (_, ta) = trader();
    let detail = d.a.rfq_get(&ta, r2.rfq_id.as_ref().unwrap()).unwrap();
    assert_eq!(detail.rfq.follow_up_of, r.rfq_id);
    assert_eq!(detail.rfq.parse["requests"][0]["tenor_months"], 12);
    assert_eq!(detail.rfq.parse["requests"][0]["notional"], 10_000_000);
    assert_eq!(
        d.a.rfq_get(&ta, r.rfq_id.as_ref().unwrap())
            .unwrap()
            .rfq
            .status,
        RfqStatus::Answered
    );
}

#[test]
fn english_requests_get_english_replies_with_units() {
    let d = desk(|c| c.rfq.autocall_engine = assistant::config::AutocallEngine::Pde);
    d.map("g1", "C001");
    let rfq = d
        .say(
            "g1",
            1,
            "@desk_bot quote 12m 100% call on 000300, notional 10mm",
        )
        .rfq_id
        .unwrap();
    let ack = d.deliver();
    assert!(
        ack[0].text.starts_with("[Automated reply] Received"),
        "{}",
        ack[0].text
    );
    let q = d.a.rfq_price(&rfq).unwrap();
    let (tp, ta) = trader();
    d.a.approve(&ta, &tp, q[0].approval_id.as_ref().unwrap(), None)
        .unwrap();
    let out = d.deliver();
    let t = &out[0].text;
    assert!(t.starts_with("[Machine-generated, indicative only]"), "{t}");
    assert!(
        t.contains("Premium: ") && t.contains("% of notional (") && t.contains(" CNY)"),
        "{t}"
    );
    assert!(t.contains("Notional: 10,000,000 CNY"), "{t}");
    assert!(t.contains("(UTC+08:00)"), "{t}");
}

#[test]
fn market_data_changes_are_used_without_a_restart() {
    let d = desk(|_| {});
    d.map("g1", "C001");
    let first = d.say("g1", 1, VANILLA).rfq_id.unwrap();
    d.a.rfq_price(&first).unwrap();
    std::fs::write(
        super::market_file(&d.dir),
        super::MARKETS.replace(
            r#""000300.SH": {"valuation_date": "2026-01-05", "spot": 100.0"#,
            r#""000300.SH": {"valuation_date": "2026-01-05", "spot": 104.0"#,
        ),
    )
    .unwrap();
    let second = d.say("g1", 2, VANILLA).rfq_id.unwrap();
    d.a.rfq_price(&second).unwrap();
    let (_, ta) = trader();
    let spot = |id: &str| {
        d.a.rfq_get(&ta, id).unwrap().quote_details[0].detail["pricing"]["market"]["spot"]
            .as_f64()
            .unwrap()
    };
    assert_eq!((spot(&first), spot(&second)), (100.0, 104.0));
    // A broken file is not half-read: the quote fails with the file's error.
    std::fs::write(
        super::market_file(&d.dir),
        "{\"markets\": {\"000300.SH\": {\"spot\": -1}}}",
    )
    .unwrap();
    let third = d.say("g1", 3, VANILLA).rfq_id.unwrap();
    let q = d.a.rfq_price(&third).unwrap();
    assert_eq!(q[0].status, QuoteStatus::Error);
    let detail = d.a.rfq_get(&ta, &third).unwrap();
    assert!(
        detail.quote_details[0].detail["error"]
            .as_str()
            .unwrap()
            .contains("markets.json"),
        "{}",
        detail.quote_details[0].detail
    );
    assert_eq!(detail.rfq.status, RfqStatus::Failed);
}

#[test]
fn the_cli_loop_queues_a_quote_without_a_chat() {
    let d = desk(|_| {});
    let (_, ta) = trader();
    let detail =
        d.a.rfq_quote_local(
            &ta,
            "沪深300 12个月 平值看涨 名义本金1000万 期权费多少",
            "C001",
        )
        .unwrap();
    assert_eq!(detail.rfq.channel, "cli");
    assert_eq!(detail.rfq.quotes[0].status, QuoteStatus::Pending);
    assert!(detail.quote_details[0].approval.is_some());
    // Its replies are recorded but never delivered.
    assert!(
        detail
            .messages
            .iter()
            .any(|m| m.kind == "ack" && m.status == ChatStatus::Out(MessageStatus::Local))
    );
    assert!(d.a.chat_claim("cli", 10).unwrap().is_empty());
}

/// Issue #15, finding 9: event ids are unique per chat, not per channel. A webhook client's
/// event id that collides with another client's room is a new message there, never answered
/// with the other client's RFQ (and never dropped).
#[test]
fn colliding_event_ids_in_two_chats_are_two_messages() {
    let d = desk(|_| {});
    d.map("g1", "C001");
    d.map("g2", "C002");
    let mut first = msg("g1", 1, VANILLA);
    first.event_id = "evt-1".into();
    let mut second = msg("g2", 1, VANILLA);
    second.event_id = "evt-1".into();
    let a = d.a.chat_receive(&desk_actor(), first.clone()).unwrap();
    let b = d.a.chat_receive(&desk_actor(), second).unwrap();
    assert!(a.new && b.new, "{a:?} {b:?}");
    let (ra, rb) = (a.rfq_id.unwrap(), b.rfq_id.unwrap());
    assert_ne!(ra, rb);
    // A true redelivery in the first chat is still recognised.
    let again = d.a.chat_receive(&desk_actor(), first).unwrap();
    assert!(!again.new);
    assert_eq!(again.rfq_id.as_deref(), Some(ra.as_str()));
}
