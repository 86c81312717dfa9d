//! The compliance core against ISDA DRR's expected reports: every regime's generated report
//! field by field, the difference list against the expected reports' own, and every CDM
//! sample of the shared set read (or refused by name).

use std::path::PathBuf;

use compliance::elements::RunFacts;
use compliance::{cdm, elements, regime, score};
use serde_json::Value;

/// The DRR example trades' folders, in name order.
fn trades() -> Vec<std::fs::DirEntry> {
    let mut trades: Vec<_> = std::fs::read_dir(drr_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    trades.sort_by_key(|e| e.file_name());
    trades
}

pub fn drr_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/regulation-en/drr-reports")
}

#[test]
fn drr_expected_reports() {
    let dir = drr_dir();
    assert!(
        dir.is_dir(),
        "{} missing: the shared data folder must sit beside the checkout",
        dir.display()
    );
    let mut total = 0;
    let mut right = 0;
    for tdir in trades() {
        let input: Value =
            serde_json::from_slice(&std::fs::read(tdir.path().join("input.cdm.json")).unwrap())
                .unwrap();
        let t =
            cdm::read(&input, None).unwrap_or_else(|e| panic!("{}: {e}", tdir.path().display()));
        let run = RunFacts {
            reporting_timestamp: "2024-04-29T00:00:00Z".into(),
        };
        let e = elements::elements(&t, &run);
        for r in regime::regimes() {
            let p = tdir.path().join(format!("{}.json", r.id));
            let Ok(bytes) = std::fs::read(&p) else {
                continue;
            };
            let expected: Value = serde_json::from_slice(&bytes).unwrap();
            let rep = regime::report(r, &t, &e);
            for o in score::score(&expected, &rep) {
                total += 1;
                if o.correct {
                    right += 1;
                } else if std::env::var("SHOW").is_ok() {
                    eprintln!(
                        "{:40} {:18} {:45} exp {} got {:?}",
                        tdir.file_name().to_string_lossy(),
                        r.id,
                        o.field,
                        o.expected,
                        o.got
                    );
                }
            }
        }
    }
    eprintln!(
        "accuracy {right}/{total} = {:.3}",
        right as f64 / total as f64
    );
}

pub fn catalogue() -> compliance::catalogue::Catalogue {
    let base = drr_dir().join("..");
    let prov = std::fs::read_to_string(base.join("drr-field-provisions.jsonl")).unwrap();
    let jrt = std::fs::read_to_string(
        base.join("../regulation-zh/jr-t-0294.3-2024/JR_T_0294.3-2024_other_CDE_elements.json"),
    )
    .unwrap();
    compliance::catalogue::Catalogue::from_sources("test", &prov, &jrt).unwrap()
}

#[test]
fn differences_match_the_expected_reports() {
    let cat = catalogue();
    let mut tp = 0;
    let mut fp = 0;
    let mut fn_ = 0;
    for tdir in trades() {
        let input: Value =
            serde_json::from_slice(&std::fs::read(tdir.path().join("input.cdm.json")).unwrap())
                .unwrap();
        let t = cdm::read(&input, None).unwrap();
        let run = RunFacts {
            reporting_timestamp: "2024-04-29T00:00:00Z".into(),
        };
        let e = elements::elements(&t, &run);
        let mut regs = Vec::new();
        let mut expected_cols = Vec::new();
        for r in regime::regimes() {
            let Ok(bytes) = std::fs::read(tdir.path().join(format!("{}.json", r.id))) else {
                continue;
            };
            let expected: Value = serde_json::from_slice(&bytes).unwrap();
            expected_cols.push((r.id.to_owned(), score::flatten(&expected)));
            regs.push((r, regime::Role::Requested));
        }
        let cmp = compliance::compare::compare(&t, &e, &regs, &cat);
        let want: std::collections::BTreeSet<_> = compliance::compare::differences(&expected_cols)
            .into_iter()
            .collect();
        let got: std::collections::BTreeSet<_> = cmp.differences.iter().cloned().collect();
        for d in got.difference(&want) {
            fp += 1;
            if std::env::var("SHOW").is_ok() {
                eprintln!("FP {} {:?}", tdir.file_name().to_string_lossy(), d);
            }
        }
        for d in want.difference(&got) {
            fn_ += 1;
            if std::env::var("SHOW").is_ok() {
                eprintln!("FN {} {:?}", tdir.file_name().to_string_lossy(), d);
            }
        }
        tp += got.intersection(&want).count();
        if std::env::var("SHOW").is_ok() && tdir.file_name().to_string_lossy().starts_with("IR") {
            for s in cmp.summary.iter().take(30) {
                eprintln!("  {s}");
            }
        }
    }
    let p = tp as f64 / (tp + fp) as f64;
    let r = tp as f64 / (tp + fn_) as f64;
    eprintln!("differences: precision {p:.3} recall {r:.3} (tp {tp}, fp {fp}, fn {fn_})");
}

/// Every CDM sample TradeState of the shared set reads, or is refused with a named reason,
/// and its reports are generated without a panic.
#[test]
fn cdm_samples_read_or_refuse_by_name() {
    let root = drr_dir().join("../../cdm/fpml-cdm");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(
        files.len() > 50,
        "expected the CDM samples under {}",
        root.display()
    );
    let facts = compliance::cdm::GivenFacts {
        ..Default::default()
    };
    let mut read = 0;
    let mut untranslated = std::collections::BTreeSet::new();
    for f in &files {
        let doc: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        match cdm::read(&doc, Some(&facts)) {
            Ok(t) => {
                read += 1;
                let e = elements::elements(
                    &t,
                    &RunFacts {
                        reporting_timestamp: "2026-12-06T10:00:00Z".into(),
                    },
                );
                for r in regime::regimes() {
                    let rep = regime::report(r, &t, &e);
                    // What people read about a cell has its Chinese.
                    for c in rep.values() {
                        if let compliance::elements::Cell::Missing { needed: s }
                        | compliance::elements::Cell::Default { reason: s, .. } = c
                            && compliance::i18n::try_zh(s).is_none()
                        {
                            untranslated.insert(s.clone());
                        }
                    }
                    if std::env::var("SHOW").is_ok() && r.id == "esma-emir-trade" {
                        let missing: Vec<_> = rep
                            .iter()
                            .filter(|(_, c)| {
                                matches!(c, compliance::elements::Cell::Missing { .. })
                            })
                            .map(|(k, _)| k.clone())
                            .collect();
                        eprintln!(
                            "{}: {} fields, missing {:?}",
                            f.file_name().unwrap().to_string_lossy(),
                            rep.len(),
                            missing
                        );
                    }
                }
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains('$'),
                    "{}: error without a JSON path: {msg}",
                    f.display()
                );
                if std::env::var("SHOW").is_ok() {
                    eprintln!(
                        "{}: refused: {msg}",
                        f.file_name().unwrap().to_string_lossy()
                    );
                }
            }
        }
    }
    eprintln!("{read} of {} samples read", files.len());
    assert!(
        untranslated.is_empty(),
        "reasons and needs without Chinese (add them to compliance::i18n): {untranslated:#?}"
    );
}
