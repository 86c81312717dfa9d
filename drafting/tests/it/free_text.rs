//! Model-written passages in templates and drafts: the `::: free ID` grammar (checked at
//! import, written back by `to_markdown`), the `{{free:ID}}` line kept only when the trade
//! states the facts, a written passage put in place with the values' spans shifted and the
//! passage marked machine-written, and legal's placeholder reported by the proofreader.

use drafting::proofread::{Kind, Request, Severity, proofread};
use drafting::{Language, Trade, library, template};
use serde_json::json;

const T: &str = "+++\nid = \"t.en\"\ntitle = \"T\"\nfamilies = [\"equity_option\"]\nlanguage = \"en\"\nversion = 1\n+++\n\n# 1 Terms {#terms}\n\nTrade Date: {{trade_date|date}}\n\n# 2 Additional Terms {#extra when=\"other.bespoke_feature\"}\n\nAgreed:\n{{free:feature}}\nPremium: {{premium.currency}} {{premium.amount|amount}}\n\n::: free feature\nfacts: other.bespoke_feature\ngoal: Describe the feature.\nmax_words: 60\nconstraint: No figures of your own.\nexample: The Knock-out Event is observed monthly.\n:::\n\n# 3 Law {#law}\n\nEnglish law.\n";

fn trade(feature: bool) -> Trade {
    let mut kt = json!({
        "product_type": "equity_option", "trade_date": "2026-03-05",
        "premium": {"amount": 1000, "currency": "EUR"}
    });
    if feature {
        kt["other"] = json!({"bespoke_feature": "monthly knock-out observation"});
    }
    Trade::from_key_terms(kt)
}

#[test]
fn free_blocks_are_read_checked_and_written_back() {
    let t = template::parse(T).unwrap();
    let c = t.clause("extra").unwrap();
    assert_eq!(c.free.len(), 1);
    assert_eq!(c.free[0].facts, "other.bespoke_feature");
    assert_eq!(c.free[0].max_words, 60);
    assert_eq!(c.free[0].examples.len(), 1);
    assert_eq!(template::parse(&t.to_markdown()).unwrap(), t);
    // A marker without its block, a block without its marker, facts that are no key term, an
    // unknown key: refused by name.
    for (bad, says) in [
        (T.replace("::: free feature", "::: free other"), "free:"),
        (T.replace("{{free:feature}}\n", ""), "free:feature"),
        (
            T.replace("facts: other.bespoke_feature", "facts: nonsense"),
            "not a key-terms field",
        ),
        (T.replace("max_words: 60", "length: 60"), "unknown key"),
        (
            T.replace("Agreed:\n{{free:feature}}", "Agreed: {{free:feature}}"),
            "stands alone",
        ),
    ] {
        let e = template::parse(&bad).unwrap_err().to_string();
        assert!(e.contains(says), "{says}: {e}");
    }
}

#[test]
fn a_passage_is_put_in_place_and_marked() {
    let t = template::parse(T).unwrap();
    // Without the facts, the clause (and the passage) is not drafted.
    let d = drafting::draft(&t, &trade(false)).unwrap();
    assert!(d.free_slots(&t, &trade(false)).is_empty());
    assert!(!d.to_text().contains("Additional Terms"));
    let tr = trade(true);
    let mut d = drafting::draft(&t, &tr).unwrap();
    let slots = d.free_slots(&t, &tr);
    assert_eq!(slots.len(), 1);
    assert_eq!(slots[0].facts, "monthly knock-out observation");
    assert!(d.to_text().contains("{{free:feature}}"));
    let passage =
        "The Knock-out Event is observed\non the last Scheduled Trading Day of each month.";
    assert!(d.fill_free("extra", "feature", passage, "qwen"));
    let text = d.to_text();
    assert!(!text.contains("{{free:"));
    // Its span is marked, and the premium's span after it still points at the premium.
    let (r, m) = &d.machine_spans()[0];
    assert_eq!(
        &text[r.clone()],
        "The Knock-out Event is observed on the last Scheduled Trading Day of each month."
    );
    assert_eq!(m.model, "qwen");
    let premium = d
        .text_spans()
        .into_iter()
        .find(|(_, s)| s.binding == "premium.amount")
        .unwrap()
        .0;
    assert_eq!(&text[premium], "1,000.00");
    // The proofreader finds no unwritten passage; legal's placeholder is an error.
    let clean = proofread(&Request {
        text: &text,
        language: Language::En,
        template: Some(&t),
        trade: Some(&tr),
        holidays: &[],
    });
    assert!(!clean.findings.iter().any(|f| f.kind == Kind::Unwritten));
    let mut left = drafting::draft(&t, &tr).unwrap();
    left.fill_free(
        "extra",
        "feature",
        "[Legal to write: Describe the feature. (the model's text was not used: it is empty)]",
        "",
    );
    assert!(left.machine_spans().is_empty());
    let r = proofread(&Request {
        text: &left.to_text(),
        language: Language::En,
        template: Some(&t),
        trade: Some(&tr),
        holidays: &[],
    });
    assert!(
        r.findings
            .iter()
            .any(|f| f.kind == Kind::Unwritten && f.severity == Severity::Error),
        "{:?}",
        r.findings
    );
}

#[test]
fn the_demo_equity_option_templates_leave_the_bespoke_feature_to_the_model() {
    for t in library::demo().unwrap() {
        if !t.id.starts_with("equity-option") {
            continue;
        }
        let c = t.clause("additional-terms").expect("the clause");
        assert_eq!(c.free[0].facts, "other.bespoke_feature");
        assert!(!c.free[0].examples.is_empty());
    }
}
