//! The lexicon's data files.

use rfq::{Lexicon, LexiconError, RfqParser, UnderlyingKind};
use std::collections::BTreeMap;
use std::path::Path;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data");
const VARIETY_MAP: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/rfq/commodity-rfq-spec/variety_map.json"
));

#[test]
fn every_product_of_the_commodity_spec_is_known_with_its_name() {
    let map: BTreeMap<String, String> =
        serde_json::from_str(VARIETY_MAP).expect("variety_map.json parses");
    let lex = Lexicon::builtin();
    let codes = lex.codes();
    let mut checked = 0;
    for (code, name) in &map {
        // Custom spreads and monthly-average contracts are not products one quotes options on.
        if code.contains('_') {
            continue;
        }
        let upper = code.to_uppercase();
        let main = codes
            .iter()
            .find(|c| c.split('.').next() == Some(upper.as_str()))
            .unwrap_or_else(|| panic!("{code} ({name}) missing from futures.toml"));
        assert!(
            lex.aliases_of(main)
                .iter()
                .any(|a| a == &name.to_lowercase()),
            "{main} lacks its name {name}"
        );
        let info = lex.underlying(main).expect("a main code is known");
        assert_eq!(info.kind, UnderlyingKind::Future);
        checked += 1;
    }
    assert_eq!(checked, 87);
}

#[test]
fn the_glossary_underlyings_resolve() {
    // shared/BRIEF.md, "Common underlyings".
    let glossary = [
        ("沪深300", "000300.SH"),
        ("中证500", "000905.SH"),
        ("中证1000", "000852.SH"),
        ("上证50", "000016.SH"),
        ("50ETF", "510050.SH"),
        ("300ETF", "510300.SH"),
        ("500ETF", "510500.SH"),
        ("创业板指", "399006.SZ"),
        ("科创50", "000688.SH"),
        ("IF", "IF.CFFEX"),
        ("IC", "IC.CFFEX"),
        ("IM", "IM.CFFEX"),
        ("IH", "IH.CFFEX"),
        ("AU", "AU.SHFE"),
        ("AG", "AG.SHFE"),
        ("CU", "CU.SHFE"),
        ("RB", "RB.SHFE"),
        ("SC", "SC.INE"),
    ];
    for (alias, code) in glossary {
        let out = super::parse(&format!("{alias} 平值看涨 3个月 1000万"));
        assert_eq!(
            out.parse.requests[0].underlying.as_deref(),
            Some(code),
            "{alias}"
        );
    }
}

#[test]
fn codes_and_months_are_validated() {
    let lex = Lexicon::builtin();
    assert!(lex.is_known_code("000905.SH"));
    assert!(lex.is_known_code("RB.SHFE"));
    assert!(lex.is_known_code("RB2605.SHFE"));
    assert!(lex.is_known_code("SR2609.CZCE"));
    assert!(!lex.is_known_code("RB2613.SHFE"), "month 13");
    assert!(!lex.is_known_code("RB2605.DCE"), "wrong exchange");
    assert!(!lex.is_known_code("HACK.US"));
    assert!(!lex.is_known_code("000905"));
    assert_eq!(
        lex.underlying("0700.HK").map(|u| u.currency),
        Some("HKD".to_string())
    );
    assert_eq!(lex.currencies(), ["CNY", "EUR", "HKD", "JPY", "USD"]);
}

#[test]
fn a_lexicon_directory_replaces_the_built_in_one() {
    let lex = Lexicon::load_dir(Path::new(DATA)).expect("rfq/data loads");
    assert_eq!(lex.codes(), Lexicon::builtin().codes());
    let parser = RfqParser::new(lex);
    let out = parser.parse(
        "中证500 平值看涨 3个月",
        &rfq::ParseContext::new(rfq::eval::EVAL_TODAY),
    );
    assert_eq!(
        out.parse.requests[0].underlying.as_deref(),
        Some("000905.SH")
    );
    let e = Lexicon::load_dir(Path::new("/nonexistent")).expect_err("no files");
    assert!(matches!(e, LexiconError::Read { .. }), "{e}");
}

#[test]
fn data_mistakes_are_named() {
    let read = |f: &str| std::fs::read_to_string(Path::new(DATA).join(f)).expect("data file");
    let (u, f, v, var) = (
        read("underlyings.toml"),
        read("futures.toml"),
        read("vocab.toml"),
        read("variants.toml"),
    );
    // An alias of two underlyings.
    let twice = format!(
        "{u}\n[[underlying]]\ncode = \"X.SH\"\ncurrency = \"CNY\"\nkind = \"index\"\naliases = [\"中证500\"]\n"
    );
    let e = Lexicon::from_sources(&twice, &f, &v, &var).expect_err("ambiguous");
    assert!(
        matches!(&e, LexiconError::Ambiguous { alias, .. } if alias == "中证500"),
        "{e}"
    );
    // A vocabulary word that is also an underlying.
    let clash = v.replacen("vanilla = [\"香草\"", "vanilla = [\"恒指\", \"香草\"", 1);
    assert!(matches!(
        Lexicon::from_sources(&u, &f, &clash, &var),
        Err(LexiconError::Ambiguous { .. })
    ));
    // Syntax errors name the file.
    let e = Lexicon::from_sources(&u, "[[product]\n", &v, &var).expect_err("syntax");
    assert!(
        e.to_string().starts_with("lexicon file futures.toml"),
        "{e}"
    );
    // Unknown currency of an underlying.
    let bad = u.replacen("currency = \"CNY\"", "currency = \"XXX\"", 1);
    assert!(matches!(
        Lexicon::from_sources(&bad, &f, &v, &var),
        Err(LexiconError::Invalid { .. })
    ));
}
