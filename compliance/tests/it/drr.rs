use std::path::PathBuf;

use compliance::elements::RunFacts;
use compliance::{cdm, elements, regime, score};
use serde_json::Value;

fn drr_dir() -> PathBuf {
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
    let mut trades: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    trades.sort_by_key(|e| e.file_name());
    for tdir in trades {
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
