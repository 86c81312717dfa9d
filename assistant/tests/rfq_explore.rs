use assistant::rfq::eval::*;
use assistant::rfq::*;

#[test]
fn explore() {
    let dev = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/rfq/dev.jsonl")).unwrap();
    let p = RfqParser::builtin();
    let which = std::env::var("SET").unwrap_or("dev".into());
    let cases = match which.as_str() {
        "dev" => load_cases(&dev, "dev").unwrap(),
        "rob" => load_cases(ROBUSTNESS_JSONL, "rob").unwrap(),
        "hold" => load_cases(include_str!("../data/rfq/eval/holdout.jsonl"), "hold").unwrap(),
        _ => load_cases(INJECTION_JSONL, "inj").unwrap(),
    };
    let r = evaluate(&cases, |c| p.parse(&c.message, &ParseContext::new(c.today)));
    for f in &r.failures {
        println!("MSG {}\n  exp {}\n  got {}  conf {}", f.message, f.expected, f.got.to_json(), f.confidence);
    }
    println!("req_em {:.3} msg_em {:.3} field {:.3} notrfq p {:.2} r {:.2} missing {:.2}/{}", r.request_exact_match, r.message_exact_match, r.field_accuracy_overall, r.not_rfq_precision, r.not_rfq_recall, r.missing_accuracy, r.missing_cases);
}

#[test]
fn probe() {
    let Ok(msgs) = std::env::var("MSGS") else { return };
    let p = RfqParser::builtin();
    for m in msgs.split('|') {
        let o = p.parse(m, &ParseContext::new(EVAL_TODAY));
        println!("MSG {m}\n  -> {}\n  conf {:.2} problems {:?}\n  q {:?}", serde_json::to_string(&o.parse.requests.iter().map(|r| { let v = serde_json::to_value(r).unwrap(); let o: serde_json::Map<String, serde_json::Value> = v.as_object().unwrap().iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect(); o }).collect::<Vec<_>>()).unwrap(), o.confidence, o.problems, assistant::rfq::clarify::question(&o.parse, o.language));
        println!("  missing {:?}", o.parse.missing);
    }
}
