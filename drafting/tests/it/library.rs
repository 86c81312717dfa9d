//! The demo library and bad templates.

use drafting::template::{TemplateError, parse};
use drafting::{Language, Position, Trade, draft, library};
use serde_json::json;

#[test]
fn the_demo_library_parses_and_round_trips_through_markdown() {
    let lib = library::demo().unwrap();
    assert!(lib.len() >= 2);
    for t in &lib {
        let again = parse(&t.to_markdown()).unwrap();
        assert_eq!(&again, t, "{}", t.id);
        // Every clause has an id, the agreement clause has ordered fallbacks with positions.
        let agreement = t.clause("agreement").unwrap();
        assert_eq!(
            agreement
                .fallbacks
                .iter()
                .map(|f| f.position)
                .collect::<Vec<_>>(),
            vec![Position::Acceptable, Position::Never]
        );
        assert!(!agreement.notes.is_empty());
    }
    let en = library::choose(&lib, "equity_option", Language::En).unwrap();
    assert_eq!(en.id, "equity-option.en");
    let zh = library::choose(&lib, "equity_option", Language::Zh).unwrap();
    assert_eq!(zh.id, "equity-option.zh");
    // Every family the issue names has a template in both languages.
    for family in [
        "equity_option",
        "snowball",
        "phoenix",
        "equity_swap",
        "interest_rate_swap",
        "credit_default_swap",
    ] {
        for lang in [Language::En, Language::Zh] {
            assert!(
                library::choose(&lib, family, lang).is_some(),
                "{family} {lang:?}"
            );
        }
    }
    assert!(library::choose(&lib, "fx_option", Language::En).is_none());
}

#[test]
fn a_template_naming_an_unknown_field_is_refused_at_import() {
    let src = library::DEMO[0]
        .1
        .replace("{{premium.payment_date|date}}", "{{premium.paid_on|date}}");
    match parse(&src) {
        Err(TemplateError::Placeholder {
            clause,
            placeholder,
            reason,
        }) => {
            assert_eq!(clause, "general-terms");
            assert_eq!(placeholder, "premium.paid_on|date");
            assert!(reason.contains("not a key-terms field"), "{reason}");
        }
        other => panic!("expected a placeholder error, got {other:?}"),
    }
}

pub(crate) fn vanilla() -> serde_json::Value {
    json!({
        "product_type": "equity_option",
        "trade_date": "2026-03-05",
        "party_a": "Eastbank Securities Co., Ltd.",
        "party_b": "Harbour Fund Ltd",
        "buyer": "party_b",
        "seller": "party_a",
        "underlier": {"name": "S&P 500 Index", "id": ".SPX"},
        "option_type": "call",
        "exercise_style": "european",
        "strike": {"value": 5000, "unit": "price", "currency": "USD"},
        "number_of_options": 1000,
        "expiration_date": "2026-09-04",
        "premium": {"amount": 2500000, "currency": "USD", "payment_date": "2026-03-09"},
        "settlement": "cash"
    })
}

#[test]
fn a_trade_lacking_a_term_is_refused_naming_it_and_its_clause() {
    let lib = library::demo().unwrap();
    let mut kt = vanilla();
    kt["premium"]
        .as_object_mut()
        .unwrap()
        .remove("payment_date");
    kt.as_object_mut().unwrap().remove("expiration_date");
    let e = draft(&lib[0], &Trade::from_key_terms(kt)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("premium.payment_date (clause general-terms)"),
        "{msg}"
    );
    assert!(msg.contains("expiration_date (clause exercise)"), "{msg}");
    // A trade of another product is refused, not drafted on the wrong template.
    let mut kt = vanilla();
    kt["product_type"] = json!("interest_rate_swap");
    let e = draft(&lib[0], &Trade::from_key_terms(kt)).unwrap_err();
    assert!(e.to_string().contains("interest_rate_swap"), "{e}");
}

#[test]
fn a_line_is_left_out_only_when_it_states_nothing() {
    let src = "+++\nid = \"t.en\"\ntitle = \"T\"\nfamilies = [\"equity_option\"]\nlanguage = \"en\"\nversion = 1\n+++\n\n# 1 Terms\n\nUnderlying: {{underlier.name}} ({{underlier.id?}})\nReference: {{other.reference?}}\nTrade Date: {{trade_date|date}}\n";
    let t = parse(src).unwrap();
    let mut kt = vanilla();
    kt["underlier"].as_object_mut().unwrap().remove("id");
    // The underlier's name is stated, its optional id is not: refused, not dropped nor blank.
    let e = draft(&t, &Trade::from_key_terms(kt.clone())).unwrap_err();
    assert!(e.to_string().contains("underlier.id (clause s1)"), "{e}");
    // A line of optional values only, none stated, is left out.
    kt["underlier"]["id"] = json!(".SPX");
    let d = draft(&t, &Trade::from_key_terms(kt)).unwrap();
    assert_eq!(
        d.clauses[0].text,
        "Underlying: S&P 500 Index (.SPX)\nTrade Date: 5 March 2026"
    );
}

#[test]
fn placeholders_keep_their_spans_and_values() {
    let lib = library::demo().unwrap();
    let d = draft(&lib[0], &Trade::from_key_terms(vanilla())).unwrap();
    let terms = d
        .walk()
        .into_iter()
        .find(|c| c.id == "general-terms")
        .unwrap();
    let premium = terms
        .spans
        .iter()
        .find(|s| s.binding == "premium.amount")
        .unwrap();
    assert_eq!(&terms.text[premium.start..premium.end], "2,500,000.00");
    assert_eq!(premium.value, json!(2500000));
    for s in &terms.spans {
        assert!(terms.text.is_char_boundary(s.start) && s.end <= terms.text.len());
    }
    // Lines of terms the trade does not have are left out; conditional lines pick the strike's
    // form; the barrier clauses do not apply.
    assert!(!terms.text.contains("Notional Amount"), "{}", terms.text);
    assert!(
        terms.text.contains("Strike Price: USD 5,000.00\n"),
        "{}",
        terms.text
    );
    assert!(!terms.text.contains("of the Initial Price"));
    assert!(d.walk().iter().all(|c| !c.id.starts_with("knock")));
    assert!(d.to_text().contains("Trade Date: 5 March 2026"));
}

#[test]
fn chinese_drafts_write_amounts_in_capitals() {
    let lib = library::demo().unwrap();
    let zh = library::choose(&lib, "equity_option", Language::Zh).unwrap();
    let mut kt = vanilla();
    kt["premium"] = json!({"amount": 185000, "currency": "CNY", "payment_date": "2026-03-06"});
    kt["notional"] = json!({"amount": 10000000, "currency": "CNY"});
    let text = draft(zh, &Trade::from_key_terms(kt)).unwrap().to_text();
    assert!(
        text.contains("期权费：人民币185,000.00元（大写：人民币壹拾捌万伍仟元整）"),
        "{text}"
    );
    assert!(text.contains("名义本金：人民币10,000,000.00元（大写：人民币壹仟万元整）"));
    assert!(text.contains("交易日：2026年3月5日"));
    assert!(text.contains("期权买方：乙方"));
}
