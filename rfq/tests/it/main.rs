//! Tests of the RFQ parser, the clarifying question, the model fallback's validation and the
//! evaluation, all through `rfq`'s public API.

mod eval;
mod lexicon;
mod model;
mod model_local;
mod parse;
mod robust;

use rfq::eval::EVAL_TODAY;
use rfq::{ParseContext, ParseOutcome, RfqParser};
use serde_json::Value;

/// Parses `msg` on the rule path with the evaluation date.
pub fn parse(msg: &str) -> ParseOutcome {
    RfqParser::builtin().parse(msg, &ParseContext::new(EVAL_TODAY))
}

/// Parses `msg` and checks the fields given in `expect` (`{"requests": [...], "missing": [...]}`,
/// JSON text): only the fields present are compared, requests in order; `missing` when given.
pub fn check(msg: &str, expect: &str) {
    let expect: Value = serde_json::from_str(expect).expect("the expectation is JSON");
    let out = parse(msg);
    let got = serde_json::to_value(&out.parse).expect("a parse serialises");
    let want = expect["requests"]
        .as_array()
        .expect("expect.requests is a list");
    let have = got["requests"].as_array().expect("requests is a list");
    let ctx = || {
        format!(
            "message {msg:?}\n  got {}\n  problems {:?}",
            out.parse.to_json(),
            out.problems
        )
    };
    assert_eq!(have.len(), want.len(), "number of requests\n{}", ctx());
    for (w, h) in want.iter().zip(have) {
        for (k, v) in w.as_object().expect("a request is an object") {
            let g = &h[k];
            let same = match (g.as_f64(), v.as_f64()) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                _ => g == v,
            };
            assert!(same, "field {k}: got {g}, want {v}\n{}", ctx());
        }
    }
    if let Some(m) = expect.get("missing") {
        assert_eq!(&got["missing"], m, "missing\n{}", ctx());
    }
}
