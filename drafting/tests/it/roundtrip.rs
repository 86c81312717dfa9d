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

/// The shared data's FpML/CDM example of a credit default swap.
fn shared_cds(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../../shared/data/cdm/fpml-cdm/fpml-5-13-products-credit-derivatives/{name}"
    ));
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the shared data directory sits beside the checkout)",
            path.display()
        )
    })
}

#[test]
fn credit_default_swaps_from_fpml_cdm_and_key_terms_read_back_to_their_terms() {
    let ex = Extractor::new(Settings::default());
    let lib = library::demo().unwrap();
    let fonts = drafting::render::Fonts::load(&drafting::render::FontPaths::default())
        .unwrap_or_else(|e| panic!("{e}"));
    // The CDM project's CDX index trade as FpML and as its CDM 6 TradeState, and a single-name
    // trade generated for this test (not a real trade or entity: CNY notional, a RED-style id,
    // physical settlement, the buyer paying the upfront).
    let fpml = ex.extract(
        shared_cds("cdindex-ex01-cdx.fpml.xml").as_bytes(),
        "cdx.fpml.xml",
    );
    let cdm: Value =
        serde_json::from_str(&shared_cds("cdindex-ex01-cdx.cdm6-legacy.json")).unwrap();
    let from_cdm = extraction::cdm_read::key_terms(&cdm, None).unwrap();
    let generated = serde_json::json!({
        "product_type": "credit_default_swap",
        "trade_date": "2026-03-16",
        "effective_date": "2026-03-17",
        "termination_date": "2031-06-20",
        "party_a": "Eastbank Securities Co., Ltd.",
        "party_b": "Harbour Credit Fund Ltd",
        "buyer": "party_b",
        "seller": "party_a",
        "underlier": {"name": "Generated Example Property Co., Ltd.", "id": "GX00A1"},
        "notional": {"amount": 50_000_000, "currency": "CNY"},
        "fixed_rate": 0.01,
        "day_count": "ACT/360",
        "settlement": "physical",
        "other": {
            "initial_payment": {
                "amount": 1_250_000, "currency": "CNY", "payer": "party_b",
                "payment_date": "2026-03-19"
            },
            "calculation_agent": "Eastbank Securities Co., Ltd."
        }
    });
    // What the FpML and the TradeState say of the CDX trade (the upfront is paid by the
    // protection seller, party1).
    for kt in [&fpml.key_terms, &from_cdm] {
        assert_eq!(kt["buyer"], "party_b", "{kt}");
        assert_eq!(kt["seller"], "party_a", "{kt}");
        assert_eq!(kt["underlier"]["name"], "Dow Jones CDX NA IG.2", "{kt}");
        assert_eq!(kt["termination_date"], "2009-03-20", "{kt}");
        assert_eq!(kt["notional"]["amount"], 25_000_000, "{kt}");
        assert_eq!(kt["fixed_rate"], 0.006, "{kt}");
        assert_eq!(kt["other"]["initial_payment"]["amount"], 16_000, "{kt}");
        assert_eq!(kt["other"]["initial_payment"]["payer"], "party_a", "{kt}");
    }
    // Protection that starts before the trade is no problem for a CDS.
    assert!(
        fpml.problems.iter().all(|p| p.kind != "cross_check"),
        "{:?}",
        fpml.problems
    );
    let mut failures = Vec::new();
    let mut drafted = 0;
    for (id, kt) in [
        ("cdx-fpml", fpml.key_terms.clone()),
        ("cdx-cdm", from_cdm),
        ("generated-single-name", generated),
    ] {
        let trade = Trade::checked(kt.clone(), None).unwrap_or_else(|e| panic!("{id}: {e}"));
        let want = extraction::score::Expected {
            id: id.into(),
            source: id.into(),
            held_out: false,
            lang: "en".into(),
            key_terms: kt.clone(),
            unscored: Vec::new(),
            other: Value::Null,
        };
        for lang in [drafting::Language::En, drafting::Language::Zh] {
            let t = library::choose(&lib, "credit_default_swap", lang).unwrap();
            let d = draft(t, &trade).unwrap_or_else(|e| panic!("{id} on {}: {e}", t.id));
            let text = d.to_text();
            let report = drafting::proofread::proofread(&drafting::proofread::Request {
                text: &text,
                language: lang,
                template: Some(t),
                trade: Some(&trade),
                holidays: &[],
            });
            let notable: Vec<_> = report
                .findings
                .iter()
                .filter(|f| f.severity != drafting::proofread::Severity::Info)
                .map(|f| format!("{:?}: {}", f.kind, f.message))
                .collect();
            if !notable.is_empty() {
                failures.push(format!("{id} on {}: proofread {notable:?}\n{text}", t.id));
            }
            for (variant, bytes) in [
                ("text", text.as_bytes().to_vec()),
                ("pdf", extraction::synth::text_pdf(&text)),
                ("final", final_pdf(&text, lang, &trade, &fonts)),
            ] {
                let r = ex.extract(&bytes, &format!("{id}.{}.{variant}", t.id));
                drafted += 1;
                let s = score(&want, &r.key_terms);
                let upfront = &r.key_terms["other"]["initial_payment"];
                if !s.exact || *upfront != kt["other"]["initial_payment"] {
                    failures.push(format!(
                        "{id} on {} ({variant}): {:?}, initial payment {upfront}\n{text}",
                        t.id, s.errors
                    ));
                }
            }
        }
    }
    assert_eq!(drafted, 18);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
