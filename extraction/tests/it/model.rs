//! The model fallback's plumbing with the SmolLM2 fixture (its answers are not expected to be
//! right: whatever it says is checked against the document), and, opt-in, the default 1.5B
//! model finding terms the rules cannot read.

use super::text::EQUITY_OPTION;
use extraction::text::Method;
use extraction::{Extractor, Settings};
use models::store::ModelStore;
use models::{GeneratorOptions, Models};
use std::sync::Arc;

fn generator(name: &str) -> Option<Arc<dyn models::Generator>> {
    models::runtime::set_threads(1);
    let models = Models::new(ModelStore::from_env(), GeneratorOptions::default());
    match models.generator(name) {
        Ok(g) => Some(g),
        Err(e) => {
            let why = format!(
                "model {name} is not installed ({e}); run `deskmate models install --fixtures`"
            );
            // `./x test` (CI) sets DESKMATE_REQUIRE_ALL: there a missing fixture fails the test.
            assert!(std::env::var_os("DESKMATE_REQUIRE_ALL").is_none(), "{why}");
            eprintln!("skipping: {why}");
            None
        }
    }
}

/// The letter with its terms written in prose only, where labels would not find them.
const PROSE: &str = "EQUITY OPTION TRANSACTION CONFIRMATION
Eastbank Securities Co., Ltd. (\"Party A\") confirms the Transaction with Harbour Fund Ltd (\"Party B\").
Trade Date: 27 February 2026
Party B buys from Party A one hundred thousand European call options on the ordinary shares of Tencent Holdings Limited, each at a strike of HKD 420.00, exercisable on 26 February 2027.
";

#[test]
fn the_fixture_model_is_asked_and_its_answers_are_checked() {
    let Some(g) = generator("smollm2-135m-instruct") else {
        return;
    };
    let e = Extractor::new(Settings {
        model_max_tokens: 120,
        ..Settings::default()
    });
    e.set_model(g);
    let r = e.extract(PROSE.as_bytes(), "prose.txt");
    assert!(
        r.timings.model_ms > 0.0,
        "the model was not asked: {:?}",
        r.notices
    );
    // Whatever the small model said, every value it contributed is in the text and was read by
    // our parsers; the rules' values are untouched.
    let chars: Vec<char> = PROSE.chars().collect();
    for f in &r.fields {
        for ev in f.evidence.iter().filter(|e| e.method == Method::Model) {
            let [start, end] = ev.span;
            assert!(
                start < end && end <= chars.len(),
                "{}: evidence span {start}..{end} outside the {}-character document",
                f.field,
                chars.len()
            );
            let quoted: String = chars[start..end].iter().collect();
            // The snippet joins the source lines with spaces.
            let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                words(&ev.snippet).contains(&words(&quoted)),
                "{}: the snippet {:?} does not hold the quoted {quoted:?}",
                f.field,
                ev.snippet
            );
            // The value was read from the quote by our parsers: a date names the quote's year,
            // a number comes from digits or number words in it.
            let value = f.value.to_string();
            let value = value.trim_matches('"');
            if let Some(year) = value
                .get(..4)
                .filter(|y| value.len() == 10 && y.chars().all(|c| c.is_ascii_digit()))
            {
                assert!(
                    quoted.contains(year),
                    "{}: date {value} not stated in {quoted:?}",
                    f.field
                );
            } else if value.parse::<f64>().is_ok() {
                let numeric = quoted.chars().any(|c| c.is_ascii_digit())
                    || [
                        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                        "ten", "hundred", "thousand", "million",
                    ]
                    .iter()
                    .any(|w| quoted.to_lowercase().contains(w));
                assert!(
                    numeric,
                    "{}: number {value} not stated in {quoted:?}",
                    f.field
                );
            }
        }
    }
    assert_eq!(r.key_terms["trade_date"], "2026-02-27");
    // A labelled confirmation needs no model for its family's terms.
    let r = e.extract(EQUITY_OPTION.as_bytes(), "option.txt");
    assert_eq!(r.timings.model_ms, 0.0, "{:?}", r.notices);
}

#[test]
#[ignore = "needs the 1.1 GB default model (about a minute): deskmate models install default, then --ignored"]
fn the_default_model_reads_prose_terms() {
    let g = generator("default").expect("the default model: deskmate models install default");
    let e = Extractor::new(Settings::default());
    e.set_model(g);
    let r = e.extract(PROSE.as_bytes(), "prose.txt");
    let by_model: Vec<&str> = r
        .fields
        .iter()
        .filter(|f| f.evidence.iter().any(|e| e.method == Method::Model))
        .map(|f| f.field.as_str())
        .collect();
    eprintln!("model found {by_model:?}: {}", r.key_terms);
    assert!(
        by_model.contains(&"expiration_date"),
        "{by_model:?} {:?}",
        r.notices
    );
    assert_eq!(r.key_terms["expiration_date"], "2027-02-26");
}
