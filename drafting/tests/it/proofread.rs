//! The proofreader through its public API: a clean draft has no finding above info; each
//! seeded error of a kind a lawyer meets is found, in the right clause, by the right check;
//! an uploaded text with neither trade nor template still gets the document's own checks.

use super::library::vanilla;
use drafting::proofread::{Check, Kind, Report, Request, Severity, proofread};
use drafting::{Language, Trade, Wording, draft, draft_with, library};
use std::collections::BTreeMap;

fn check(text: &str, lang: Language, trade: Option<&Trade>) -> Report {
    let lib = library::demo().unwrap();
    let t = library::choose(&lib, "equity_option", lang)
        .unwrap()
        .clone();
    proofread(&Request {
        text,
        language: lang,
        template: Some(&t),
        trade,
        holidays: &[],
    })
}

fn notable(r: &Report) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .map(|f| format!("{:?} in {:?}: {}", f.kind, f.clause, f.message))
        .collect()
}

fn clean(lang: Language) -> (Trade, String) {
    let lib = library::demo().unwrap();
    let trade = Trade::from_key_terms(vanilla());
    let t = library::choose(&lib, "equity_option", lang).unwrap();
    (trade.clone(), draft(t, &trade).unwrap().to_text())
}

#[test]
fn a_clean_draft_has_no_finding_in_either_language() {
    for lang in [Language::En, Language::Zh] {
        let (trade, text) = clean(lang);
        let r = check(&text, lang, Some(&trade));
        assert!(
            notable(&r).is_empty(),
            "{lang:?}: {:?}\n{text}",
            notable(&r)
        );
        // Every section was aligned with its clause.
        assert!(
            r.sections.iter().all(|s| s.clause.is_some()),
            "{:?}",
            r.sections
        );
    }
}

fn found(r: &Report, kind: Kind, clause: &str) -> bool {
    r.findings
        .iter()
        .any(|f| f.kind == kind && f.clause.as_deref() == Some(clause))
}

#[test]
fn seeded_errors_are_found_in_their_clause() {
    let (trade, text) = clean(Language::En);
    // A premium amount off by one: against the trade, and its words no longer agree.
    let r = check(
        &text.replace("2,500,000.00", "2,500,001.00"),
        Language::En,
        Some(&trade),
    );
    assert!(
        found(&r, Kind::TermMismatch, "general-terms"),
        "{:?}",
        notable(&r)
    );
    assert!(
        found(&r, Kind::AmountWords, "general-terms"),
        "{:?}",
        notable(&r)
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.kind == Kind::AmountWords)
        .unwrap();
    assert_eq!(f.check, Check::Consistency);
    assert!(r.findings.iter().any(|f| {
        f.kind == Kind::AmountWords
            && text.replace("2,500,000.00", "2,500,001.00")[f.start..f.end]
                .starts_with("2,500,001.00")
    }));
    // A cross-reference to a section that does not exist.
    let r = check(
        &text.replace("Section 5", "Section 9"),
        Language::En,
        Some(&trade),
    );
    assert!(
        found(&r, Kind::BrokenReference, "exercise"),
        "{:?}",
        notable(&r)
    );
    // A term nobody defined.
    let r = check(
        &text.replace("governs the Agreement", "governs the Master Agreement"),
        Language::En,
        Some(&trade),
    );
    assert!(found(&r, Kind::UndefinedTerm, "law"), "{:?}", notable(&r));
    // A clause removed.
    let start = text.find("6 Governing Law").unwrap();
    let end = text.find("7 Confirmation").unwrap();
    let cut = format!("{}{}", &text[..start], &text[end..]);
    let r = check(&cut, Language::En, Some(&trade));
    assert!(found(&r, Kind::ClauseMissing, "law"), "{:?}", notable(&r));
    assert!(
        found(&r, Kind::Numbering, "signatures"),
        "{:?}",
        notable(&r)
    );
    // A signing party misspelt.
    let r = check(
        &text.replace(
            "For and on behalf of Harbour Fund Ltd",
            "For and on behalf of Harbor Fund Ltd",
        ),
        Language::En,
        Some(&trade),
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.kind == Kind::PartyName)
        .expect("party name");
    assert_eq!(f.suggestion.as_deref(), Some("Harbour Fund Ltd"));
    // Chinese capitals that disagree with the figures.
    let (trade_zh, zh) = clean(Language::Zh);
    assert!(zh.contains("贰佰伍拾万"), "{zh}");
    let r = check(
        &zh.replacen("贰佰伍拾万", "贰佰伍拾陆万", 1),
        Language::Zh,
        Some(&trade_zh),
    );
    assert!(
        found(&r, Kind::AmountWords, "general-terms"),
        "{:?}",
        notable(&r)
    );
    assert!(
        r.findings
            .iter()
            .all(|f| !f.message.is_ascii() || f.kind != Kind::AmountWords),
        "messages in the document's language"
    );
}

#[test]
fn fallback_wordings_carry_the_firms_position() {
    let lib = library::demo().unwrap();
    let t = library::choose(&lib, "equity_option", Language::En).unwrap();
    let trade = Trade::from_key_terms(vanilla());
    // Fallback 2 of the agreement clause is one the firm never accepts.
    let d = draft_with(
        t,
        &trade,
        &BTreeMap::from([("agreement".to_string(), Wording::Fallback(1))]),
    )
    .unwrap();
    let r = check(&d.to_text(), Language::En, Some(&trade));
    let f = r
        .findings
        .iter()
        .find(|f| f.kind == Kind::FallbackUsed)
        .expect("fallback found");
    assert_eq!(f.clause.as_deref(), Some("agreement"));
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.position, Some(drafting::Position::Never));
    assert_eq!(notable(&r).len(), 1, "{:?}", notable(&r));
    // A fallback that does not exist is refused by name.
    let err = draft_with(
        t,
        &trade,
        &BTreeMap::from([("agreement".to_string(), Wording::Fallback(7))]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("agreement"), "{err}");
}

#[test]
fn an_uploaded_text_without_trade_or_template_gets_the_documents_own_checks() {
    let text = "CONFIRMATION OF AN EQUITY OPTION\n\n1 Parties\nParty A: Alpha Bank plc\nParty B: Beta Fund LP\n\n2 Terms\nOption Type: Call\nUnderlying: S&P 500 Index\nTrade Date: 7 March 2026\nExpiration Date: 2 March 2026\nPremium: USD 1,000.00 (US Dollars one thousand one hundred)\nThe the Buyer pays the Premium as set out in Section 3.\n\n4 Signatures\nFor and on behalf of Alpha Bank plc\nFor and on behalf of Beta Funds LP\n";
    let r = proofread(&Request {
        text,
        language: Language::En,
        template: None,
        trade: None,
        holidays: &[],
    });
    let kinds: Vec<Kind> = r.findings.iter().map(|f| f.kind).collect();
    for k in [
        Kind::DateOrder,
        Kind::AmountWords,
        Kind::BrokenReference,
        Kind::Numbering,
        Kind::PartyName,
        Kind::RepeatedWord,
    ] {
        assert!(kinds.contains(&k), "{k:?} not in {kinds:?}");
    }
    assert!(r.findings.iter().all(|f| f.clause.is_none()));
    assert!(
        r.findings
            .iter()
            .all(|f| f.start <= f.end && f.end <= text.len())
    );
}

#[test]
fn text_spans_point_at_the_values_in_the_text() {
    let lib = library::demo().unwrap();
    for lang in [Language::En, Language::Zh] {
        let t = library::choose(&lib, "equity_option", lang).unwrap();
        let d = draft(t, &Trade::from_key_terms(vanilla())).unwrap();
        let text = d.to_text();
        let spans = d.text_spans();
        assert!(spans.len() > 15);
        for (r, s) in spans {
            let written = &text[r.clone()];
            let direct = drafting::format::write(
                s.format,
                drafting::format::LeafKind::of(&s.binding),
                &s.value,
                lang,
                &|r: &str| vanilla()[r].as_str().map(String::from),
            );
            if let Ok(w) = direct {
                assert_eq!(written, w, "{} at {r:?}", s.binding);
            }
        }
    }
}

#[test]
fn a_term_finding_spans_exactly_the_value_in_the_text() {
    for lang in [Language::En, Language::Zh] {
        let (trade, text) = clean(lang);
        let (from, to) = match lang {
            Language::En => ("4 September 2026", "11 September 2026"),
            Language::Zh => ("2026年9月4日", "2026年9月11日"),
        };
        let changed = text.replace(from, to);
        let r = check(&changed, lang, Some(&trade));
        let f = r
            .findings
            .iter()
            .find(|f| f.kind == Kind::TermMismatch)
            .expect("the expiry differs");
        assert_eq!(&changed[f.start..f.end], to, "{lang:?}: {f:?}");
    }
}
