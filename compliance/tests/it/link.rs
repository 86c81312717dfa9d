//! Field linking on the shared catalogue: a rule question's field found per named regime by
//! the fields' names, in English and Chinese, including "the same" field of another regime.

use compliance::link::fields_named;

fn linked(question: &str, regimes: &[&str]) -> Vec<(String, String, bool)> {
    let cat = crate::drr::catalogue();
    fields_named(&cat, question, regimes)
        .into_iter()
        .map(|l| (l.regime, l.field_key, l.by_row))
        .collect()
}

#[test]
fn an_english_field_name_is_found_in_each_named_regime() {
    assert_eq!(
        linked(
            "Is the Cleared flag reported the same way to ESMA and the CFTC?",
            &["esma", "cftc"]
        ),
        vec![
            ("esma".into(), "cleared".into(), false),
            ("cftc".into(), "cleared".into(), false),
        ]
    );
    // The rare word carries the match; a generic one ("identifier") hardly counts.
    let l = linked("What goes in the platform field for CFTC?", &["cftc"]);
    assert_eq!(l[0].1, "platformIdentifier", "{l:?}");
}

#[test]
fn the_more_specific_name_wins_and_an_abbreviation_is_a_name() {
    let l = linked(
        "How is counterparty 2 identified on an ESMA report: which identifier type?",
        &["esma"],
    );
    assert_eq!(l[0].1, "counterparty2IdentifierType", "{l:?}");
    let l = linked("Who generates the UTI under UK EMIR?", &["fca"]);
    assert_eq!(l[0].1, "uniqueTransactionIdentifier", "{l:?}");
}

#[test]
fn a_chinese_name_reaches_jrt_and_an_english_regime() {
    let l = linked("欧盟和国内的清算标识符取值一样吗？", &["esma", "jrt"]);
    assert_eq!(l.len(), 2, "{l:?}");
    assert_eq!(l[0].1, "cleared", "{l:?}");
    assert!(l[1].0 == "jrt" && l[1].1 == "cleared", "{l:?}");
    let l = linked("抵押类别有哪些取值？", &["jrt"]);
    assert_eq!(l[0].1, "jrt.5.6.19", "{l:?}");
}

#[test]
fn a_question_without_a_field_links_nothing() {
    assert!(linked("When is the reporting deadline?", &["mas"]).is_empty());
    assert!(linked("Which regimes apply?", &[]).is_empty());
}
