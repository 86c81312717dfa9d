//! FpML → CDM against the CDM project's expected TradeStates (all 32 shared pairs).
//!
//! Six files, chosen before development began, one per product category that has several files,
//! were held out: the mapper was never tuned on them and their figure is reported separately.

use std::path::{Path, PathBuf};

use connectors::cdm::CdmSchemas;
use connectors::fpml::compare::{Agreement, compare};
use connectors::fpml::fpml_to_cdm;

/// Held out from development (never looked at while writing the mapper).
const HELD_OUT: &[&str] = &[
    "eqd-ex09-bermuda-long-form",
    "com-ex46-simple-financial-put-option",
    "cdindex-ex01-cdx",
    "fx-ex10-amer-opt",
    "ird-ex07-ois-swap",
    "eqs-ex06-single-index-long-form",
];

fn data(rel: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/cdm/"
    ))
    .join(rel)
}

fn pairs() -> Vec<(String, String, PathBuf)> {
    pairs_in(&data("fpml-cdm"))
}

/// Every `<category>/<stem>.fpml.xml` with its `<stem>.cdm6-legacy.json` under `root`.
fn pairs_in(root: &Path) -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).unwrap() {
        let dir = dir.unwrap().path();
        let category = dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace("fpml-5-13-", "");
        for f in std::fs::read_dir(&dir).unwrap() {
            let p = f.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".fpml.xml") {
                out.push((category.clone(), stem.to_owned(), dir.join(stem)));
            }
        }
    }
    out.sort();
    out
}

fn read(p: &Path, ext: &str) -> String {
    std::fs::read_to_string(format!("{}{ext}", p.display())).unwrap()
}

#[derive(Default)]
struct Sum {
    expected: usize,
    actual: usize,
    matched: usize,
}

impl Sum {
    fn add(&mut self, a: &Agreement) {
        self.expected += a.expected;
        self.actual += a.actual;
        self.matched += a.matched;
    }
    fn recall(&self) -> f64 {
        self.matched as f64 / self.expected.max(1) as f64
    }
    fn precision(&self) -> f64 {
        self.matched as f64 / self.actual.max(1) as f64
    }
}

#[test]
fn fpml_to_cdm_agrees_with_the_cdm_project() {
    let schemas = schemas();
    let detail = std::env::var("DESKMATE_FPML_DETAIL").ok();
    let mut dev = Sum::default();
    let mut held = Sum::default();
    let mut by_category: std::collections::BTreeMap<String, Sum> = Default::default();
    let mut schema_valid = 0;
    let mut expected_valid = 0;
    println!(
        "{:<45} {:>5} {:>5} {:>7} {:>9}",
        "file", "exp", "got", "recall", "precision"
    );
    for (category, stem, base) in pairs() {
        let (actual, problems) = fpml_to_cdm(&read(&base, ".fpml.xml"), schemas)
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
        let expected: serde_json::Value =
            serde_json::from_str(&read(&base, ".cdm6-legacy.json")).unwrap();
        let a = compare(&expected, &actual);
        let violations = schemas.validate_trade_state(&actual).unwrap();
        schema_valid += usize::from(violations.is_empty());
        expected_valid += usize::from(
            schemas
                .validate_trade_state(&expected)
                .is_ok_and(|v| v.is_empty()),
        );
        for v in &violations {
            println!("    schema {stem}: {v}");
        }
        // Like the CDM project's own outputs, ours may miss newer required properties that
        // FpML does not carry; it must never break a type or an enum.
        assert!(
            violations
                .iter()
                .all(|v| v.message.contains("is a required property")),
            "{stem}: {violations:#?}"
        );
        let held_out = HELD_OUT.contains(&stem.as_str());
        println!(
            "{:<45} {:>5} {:>5} {:>7.3} {:>9.3}{}",
            stem,
            a.expected,
            a.actual,
            a.recall(),
            a.precision(),
            if held_out { "  (held out)" } else { "" }
        );
        if detail.as_deref().is_some_and(|d| stem.contains(d)) && !held_out {
            for f in &a.missing {
                println!("    missing {} = {}", f.path, f.value);
            }
            for f in &a.wrong {
                println!("    wrong   {} = {}", f.path, f.value);
            }
            for f in &a.extra {
                println!("    extra   {} = {}", f.path, f.value);
            }
            for p in &problems {
                println!("    problem {}: {}", p.path, p.message);
            }
        }
        by_category.entry(category).or_default().add(&a);
        if held_out { held.add(&a) } else { dev.add(&a) }
    }
    for (c, s) in &by_category {
        println!(
            "{c:<45} {:>5} {:>5} {:>7.3} {:>9.3}",
            s.expected,
            s.actual,
            s.recall(),
            s.precision()
        );
    }
    let mut all = Sum::default();
    for s in [&dev, &held] {
        all.expected += s.expected;
        all.actual += s.actual;
        all.matched += s.matched;
    }
    println!(
        "development (26 files): recall {:.3} precision {:.3}",
        dev.recall(),
        dev.precision()
    );
    println!(
        "held out (6 files):     recall {:.3} precision {:.3}",
        held.recall(),
        held.precision()
    );
    println!(
        "all 32 files:           recall {:.3} precision {:.3}",
        all.recall(),
        all.precision()
    );
    println!("schema-valid outputs:   {schema_valid} of 32");
    println!("the CDM project's own expected outputs, schema-valid: {expected_valid} of 32");
    assert!(all.recall() >= 0.95, "recall {:.3}", all.recall());
    assert!(
        held.recall() >= 0.95,
        "held-out recall {:.3}",
        held.recall()
    );
    // Precision gates what the mapper invents (facts the CDM project does not state): measured
    // 0.993 on all 32 files and 0.986 held out (2026-12-04).
    assert!(all.precision() >= 0.97, "precision {:.3}", all.precision());
    assert!(
        held.precision() >= 0.95,
        "held-out precision {:.3}",
        held.precision()
    );
}

/// Which half of the further pairs a file belongs to: FNV-1a of its name, fixed before any of
/// them was run. Even: may be studied and tuned on; odd: never looked at file by file.
fn tunable(stem: &str) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stem.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h.is_multiple_of(2)
}

/// The mapper on further pairs from the CDM project (its `6.x.x` branch,
/// `ingest/input|output/fpml-confirmation-to-trade-state/fpml-5-13-*`, the product families of
/// the shared set, minus the shared 32: 167 pairs), laid out like `cdm/fpml-cdm/` in the
/// directory named by `DESKMATE_FPML_MORE` (`tests/fpml-more.sh` exports them from a clone).
/// Not part of the shared data, so opt-in: it measures how the mapper does on FpML it was not
/// written against. A file the mapper refuses counts as all facts missed. The pairs are split
/// by a hash of the file name, fixed before the first run: the mapper was extended while
/// studying the "tunable" half only; the "untouched" half is reported as a figure and never
/// looked at file by file.
#[test]
fn fpml_to_cdm_on_further_pairs_of_the_cdm_project() {
    let Some(root) = std::env::var_os("DESKMATE_FPML_MORE") else {
        eprintln!("DESKMATE_FPML_MORE is not set: no further pairs measured");
        return;
    };
    let schemas = schemas();
    let detail = std::env::var("DESKMATE_FPML_DETAIL").ok();
    let (mut tune, mut untouched) = (Sum::default(), Sum::default());
    let (mut n_tune, mut n_untouched, mut refused) = (0, 0, 0);
    let mut by_category: std::collections::BTreeMap<String, (Sum, Sum)> = Default::default();
    for (category, stem, base) in pairs_in(Path::new(&root)) {
        let expected: serde_json::Value =
            serde_json::from_str(&read(&base, ".cdm6-legacy.json")).unwrap();
        let a = match fpml_to_cdm(&read(&base, ".fpml.xml"), schemas) {
            Ok((actual, _)) => {
                if let Some(dump) = std::env::var_os("DESKMATE_FPML_DUMP")
                    && tunable(&stem)
                {
                    let out = Path::new(&dump).join(format!("{stem}.json"));
                    std::fs::write(out, serde_json::to_string_pretty(&actual).unwrap()).unwrap();
                }
                compare(&expected, &actual)
            }
            Err(e) => {
                refused += 1;
                if tunable(&stem) {
                    println!("{stem}: refused: {e}");
                }
                compare(&expected, &serde_json::json!({}))
            }
        };
        let t = tunable(&stem);
        if t {
            println!(
                "{:<60} {:>5} {:>5} {:>7.3} {:>9.3}",
                stem,
                a.expected,
                a.actual,
                a.recall(),
                a.precision()
            );
            if detail.as_deref().is_some_and(|d| stem.contains(d)) {
                for f in &a.missing {
                    println!("    missing {} = {}", f.path, f.value);
                }
                for f in &a.wrong {
                    println!("    wrong   {} = {}", f.path, f.value);
                }
            }
            tune.add(&a);
            n_tune += 1;
        } else {
            untouched.add(&a);
            n_untouched += 1;
        }
        let c = by_category.entry(category).or_default();
        if t { c.0.add(&a) } else { c.1.add(&a) }
    }
    for (c, (t, u)) in &by_category {
        println!(
            "{c:<50} tunable {:>7.3} ({:>5} facts)  untouched {:>7.3} ({:>5} facts)",
            t.recall(),
            t.expected,
            u.recall(),
            u.expected
        );
    }
    println!(
        "tunable half ({n_tune} files):   recall {:.3} precision {:.3}",
        tune.recall(),
        tune.precision()
    );
    println!(
        "untouched half ({n_untouched} files): recall {:.3} precision {:.3}",
        untouched.recall(),
        untouched.precision()
    );
    println!("refused by the mapper: {refused} files");
    assert!(tune.recall() >= 0.95, "tunable recall {:.3}", tune.recall());
    assert!(
        untouched.recall() >= 0.95,
        "untouched recall {:.3}",
        untouched.recall()
    );
}

fn schemas() -> &'static CdmSchemas {
    static S: std::sync::OnceLock<CdmSchemas> = std::sync::OnceLock::new();
    S.get_or_init(|| CdmSchemas::open(data("jsonschema-6.30.0")).unwrap())
}

#[test]
fn bad_fpml_is_an_error_not_a_panic() {
    use connectors::fpml::FpmlError;
    type Check = fn(&FpmlError) -> bool;
    let cases: [(&str, Check); 4] = [
        ("<requestConfirmation><trade>", |e| {
            matches!(e, FpmlError::Xml(_))
        }),
        ("<requestConfirmation/>", |e| {
            matches!(e, FpmlError::NoTrade)
        }),
        ("<a><trade><tradeHeader/></trade></a>", |e| {
            matches!(e, FpmlError::NoTrade)
        }),
        (
            "<a><trade><tradeHeader/><varianceSwap/></trade></a>",
            |e| matches!(e, FpmlError::UnsupportedProduct(p) if p == "varianceSwap"),
        ),
    ];
    for (xml, want) in cases {
        let e = fpml_to_cdm(xml, schemas()).unwrap_err();
        assert!(want(&e), "{xml}: {e}");
    }
    // A product element with nothing in it still maps, to an incomplete TradeState.
    let (doc, _) = fpml_to_cdm("<a><trade><tradeHeader/><swap/></trade></a>", schemas()).unwrap();
    assert_eq!(doc["trade"]["counterparty"][0]["role"], "Party1");
}

#[test]
fn codes_cdm_lacks_are_dropped_and_reported() {
    let xml = r#"<m xmlns="http://www.fpml.org/FpML-5/confirmation"><trade>
        <tradeHeader><tradeDate>2020-01-02</tradeDate></tradeHeader>
        <fxSingleLeg>
          <exchangedCurrency1><payerPartyReference href="a"/><receiverPartyReference href="b"/>
            <paymentAmount><currency>EUR</currency><amount>1</amount></paymentAmount></exchangedCurrency1>
          <valueDate>2020-01-06</valueDate>
        </fxSingleLeg>
        <documentation><contractualDefinitions>ISDA1998FXNoSuchBook</contractualDefinitions></documentation>
      </trade><party id="a"/><party id="b"/></m>"#;
    let (doc, problems) = fpml_to_cdm(xml, schemas()).unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.message.contains("ISDA1998FXNoSuchBook")),
        "{problems:?}"
    );
    assert!(!doc.to_string().contains("ISDA1998FXNoSuchBook"));
    assert_eq!(doc["trade"]["tradeDate"]["value"], "2020-01-02");
}

#[test]
fn comparison_normalises_order_numbers_and_hashes() {
    use serde_json::json;
    let expected = json!({
        "a": [ { "x": 1.0, "meta": { "globalKey": "h1" } }, { "x": 2 } ],
        "b": { "value": "EUR", "globalReference": "h2" },
        "c": true,
    });
    let cases = [
        // Same facts, other order, integer vs float, other hashes: perfect.
        (
            json!({ "c": true, "b": { "value": "EUR" }, "a": [ { "x": 2.0 }, { "x": 1 } ] }),
            4,
            0,
            0,
            0,
        ),
        // One value wrong, one fact missing, one extra.
        (
            json!({ "a": [ { "x": 1 }, { "x": 3 } ], "d": "extra" }),
            1,
            1,
            2,
            2,
        ),
    ];
    for (actual, matched, wrong, missing, extra) in cases {
        let a = compare(&expected, &actual);
        assert_eq!(a.expected, 4);
        assert_eq!(
            (a.matched, a.wrong.len(), a.missing.len(), a.extra.len()),
            (matched, wrong, missing, extra),
            "{actual}: {a:?}"
        );
    }
}
