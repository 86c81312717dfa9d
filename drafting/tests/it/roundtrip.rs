//! Round trip: the equity options and autocallables of the Chinese confirmation set (`evals/data/extraction/zh/`,
//! terms from real trades' data), drafted on the demo templates in English and Chinese, read
//! back by our own extraction to exactly their expected key terms, as text, as a plain text PDF and
//! as the final PDF (`drafting::render`: embedded fonts, two-column terms, signature pages).

use drafting::{Trade, draft, library};
use extraction::score::{load_expected, score};
use extraction::{Extractor, Settings};
use serde_json::Value;

#[test]
fn drafts_of_the_chinese_sets_trades_read_back_to_their_terms() {
    let expected = load_expected(include_str!(
        "../../../evals/data/extraction/zh/expected.json"
    ))
    .unwrap();
    let docs: Vec<Value> = include_str!("../../../evals/data/extraction/zh/documents.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lib = library::demo().unwrap();
    let ex = Extractor::new(Settings::default());
    let mut drafted = 0;
    let fonts = drafting::render::Fonts::load(&drafting::render::FontPaths::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    for e in &expected {
        let product = e.key_terms["product_type"].as_str().unwrap();
        let templates: Vec<_> = lib
            .iter()
            .filter(|t| t.families.iter().any(|f| f == product))
            .collect();
        if templates.is_empty() {
            continue;
        }
        // The trade as an approved extraction holds it: the expected terms, plus the `other`
        // leaves extraction reads from the original (e.g. a barrier stated in percent).
        let original = docs
            .iter()
            .find(|d| d["id"] == e.id.as_str())
            .and_then(|d| d["text"].as_str())
            .unwrap();
        let mut key_terms = e.key_terms.clone();
        let read = ex.extract(original.as_bytes(), "original.txt");
        if let Some(other) = read.key_terms.get("other") {
            key_terms["other"] = other.clone();
        }
        let trade = Trade::from_key_terms(key_terms);
        for t in templates {
            let d = draft(t, &trade).unwrap_or_else(|err| panic!("{} on {}: {err}", e.id, t.id));
            let text = d.to_text();
            for (variant, bytes) in [
                ("text", text.as_bytes().to_vec()),
                ("pdf", extraction::synth::text_pdf(&text)),
                ("final", final_pdf(&text, t.language, &trade, &fonts)),
            ] {
                let r = ex.extract(&bytes, &format!("{}.{}.{variant}", e.id, t.id));
                let s = score(e, &r.key_terms);
                drafted += 1;
                if !s.exact {
                    failures.push(format!(
                        "{} on {} ({variant}): {:?}\n{text}",
                        e.id, t.id, s.errors
                    ));
                }
            }
        }
    }
    // 14 equity options and 7 autocallables, two languages, text, text PDF and final PDF.
    assert!(drafted >= 126, "{drafted} drafts read back");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The final PDF of a draft, as legal would send it for signature.
fn final_pdf(
    text: &str,
    language: drafting::Language,
    trade: &Trade,
    fonts: &drafting::render::Fonts,
) -> Vec<u8> {
    let options =
        drafting::render::Options::for_trade("dr_test v1".into(), trade, language).unwrap();
    drafting::render::render(text, language, &options, fonts)
        .unwrap_or_else(|e| panic!("{e}"))
        .pdf
}
