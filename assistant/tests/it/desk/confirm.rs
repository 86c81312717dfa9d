//! Confirmations drafted from the desk's approved quotes (`TradeSource::Quote`): every
//! structure the desk quotes becomes a draft whose terms are the quote's, as priced and
//! approved, in English and Chinese, clean under the proofreader; a quote that is not approved
//! (pending, rejected) or not a quote is refused, naming why.

use super::{desk, trader};
use assistant::drafts::{NewDraft, TradeSource};
use drafting::Language;
use policies::{Principal, Role};
use serde_json::Value;

fn legal() -> assistant::store::Actor {
    assistant::store::Actor::user(
        &Principal {
            user: "lars".into(),
            role: Role::Legal,
        },
        None,
    )
}

fn leaf<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .unwrap_or(&Value::Null)
}

/// A chat request, the family its quote is confirmed as, and key terms it must have.
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

#[test]
fn approved_quotes_are_drafted_with_the_quoted_terms() {
    let d = desk(|c| {
        c.drafting.firm_name = "Eastbank Securities Co., Ltd.".into();
        c.drafting.firm_name_zh = "东岸证券股份有限公司".into();
    });
    d.map("g1", "C001");
    let (tp, ta) = trader();
    let cases: &[Case] = &[
        (
            "@desk_bot 沪深300 12个月 平值看涨 名义本金1000万 期权费多少",
            "equity_option",
            &[
                ("option_type", "\"call\""),
                ("strike.value", "100"),
                ("strike.unit", "\"percent\""),
                ("underlier.id", "\"000300.SH\""),
                ("underlier.name", "\"沪深300\""),
                ("notional.amount", "10000000"),
                ("buyer", "\"party_b\""),
                ("initial_price.value", "100"),
            ],
        ),
        (
            "@desk_bot 中证500 雪球 12个月 敲出103 敲入75 报个票息 名义1000万",
            "snowball",
            &[
                ("autocall.knock_out_pct", "103"),
                ("autocall.knock_in_pct", "75"),
                ("autocall.knock_out_observation", "\"monthly\""),
            ],
        ),
        (
            "@desk_bot 沪深300 鲨鱼鳍 看涨 6个月 障碍120 参与率80% 名义1000万",
            "equity_option",
            &[
                ("barrier.kind", "\"knock_out\""),
                ("barrier.level", "120"),
                ("barrier.direction", "\"up\""),
                ("participation_pct", "80"),
            ],
        ),
    ];
    for (i, (message, family, expect)) in cases.iter().enumerate() {
        let rfq = d.say("g1", 10 + i as u32, message).rfq_id.unwrap();
        d.deliver();
        let quotes = d.a.rfq_price(&rfq).unwrap();
        let approval = quotes[0]
            .approval_id
            .clone()
            .unwrap_or_else(|| panic!("{message}: not queued: {quotes:?}"));
        // Not approved yet: refused, saying so.
        let e =
            d.a.draft_create(
                &legal(),
                NewDraft {
                    trade: TradeSource::Quote(approval.clone()),
                    template: None,
                    language: Language::En,
                    wordings: Default::default(),
                    other: Default::default(),
                },
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("pending") && e.contains("approved"), "{e}");
        d.a.approve(&ta, &tp, &approval, None).unwrap();
        let payload = d.a.get_approval(&ta, &approval).unwrap().payload;
        for language in [Language::En, Language::Zh] {
            let draft =
                d.a.draft_create(
                    &legal(),
                    NewDraft {
                        trade: TradeSource::Quote(approval.clone()),
                        template: None,
                        language,
                        wordings: Default::default(),
                        other: Default::default(),
                    },
                )
                .unwrap_or_else(|e| panic!("{message} ({language:?}): {e}"));
            let kt = &draft.trade.key_terms;
            if *family == "equity_option" && !message.contains("鲨鱼鳍") {
                assert!(kt.get("participation_pct").is_none(), "{kt}");
            }
            assert_eq!(draft.source, format!("quote:{approval}"));
            assert_eq!(kt["product_type"], *family, "{kt}");
            for (path, want) in *expect {
                let want: Value = serde_json::from_str(want).unwrap();
                let have = leaf(kt, path);
                assert!(
                    have == &want || have.as_f64().is_some() && have.as_f64() == want.as_f64(),
                    "{message}: {path} is {have}, want {want}\n{kt}"
                );
            }
            // The quoted figure is in the trade: the premium (figure × notional) or the solved
            // coupon.
            let figure = payload["quote"]["client"].as_f64().unwrap();
            let notional = payload["notional"].as_f64().unwrap();
            if *family == "snowball" {
                let c = kt["autocall"]["coupon_rate"].as_f64().unwrap();
                assert!((c - figure / 100.0).abs() < 1e-6, "{c} vs {figure}");
            } else {
                let p = kt["premium"]["amount"].as_f64().unwrap();
                assert!((p - figure / 100.0 * notional).abs() < 0.01, "{p}");
                assert!(
                    kt["premium"]["payment_date"].as_str().unwrap()
                        > kt["trade_date"].as_str().unwrap()
                );
            }
            let firm = if language == Language::Zh {
                "东岸证券股份有限公司"
            } else {
                "Eastbank Securities Co., Ltd."
            };
            assert_eq!(kt["party_a"], firm);
            assert_eq!(kt["party_b"], "Client One");
            assert!(draft.text.contains(firm), "{}", draft.text);
            assert!(draft.text.contains("000300.SH") || draft.text.contains("000905.SH"));
            let report = d.a.draft_proofread(&draft.id, None, &[]).unwrap();
            let errors: Vec<_> = report
                .findings
                .iter()
                .filter(|f| f.severity == drafting::proofread::Severity::Error)
                .collect();
            assert!(
                errors.is_empty(),
                "{message} ({language:?}): {errors:#?}\n{}",
                draft.text
            );
        }
    }
    // A rejected quote and an approval that is not a quote are refused.
    let rfq = d
        .say(
            "g1",
            30,
            "@desk_bot 沪深300 3个月 平值看跌 名义本金500万 期权费多少",
        )
        .rfq_id
        .unwrap();
    d.deliver();
    let approval = d.a.rfq_price(&rfq).unwrap()[0].approval_id.clone().unwrap();
    d.a.reject(&ta, &tp, &approval, "too wide").unwrap();
    let new = |id: &str| NewDraft {
        trade: TradeSource::Quote(id.into()),
        template: None,
        language: Language::En,
        wordings: Default::default(),
        other: Default::default(),
    };
    let e =
        d.a.draft_create(&legal(), new(&approval))
            .unwrap_err()
            .to_string();
    assert!(e.contains("rejected"), "{e}");
    let e =
        d.a.draft_create(&legal(), new("apr_nope"))
            .unwrap_err()
            .to_string();
    assert!(e.contains("apr_nope"), "{e}");
}
