//! Prints each regime's report for a CDM document: `cargo run -p compliance --example project -- T.json [REGIME]`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&args[1]).expect("read")).expect("json");
    let facts = compliance::cdm::GivenFacts {
        ..Default::default()
    };
    let given = if doc.get("reportableInformation").is_some() {
        None
    } else {
        Some(&facts)
    };
    let t = compliance::cdm::read(&doc, given).expect("read");
    let e = compliance::elements::elements(
        &t,
        &compliance::elements::RunFacts {
            reporting_timestamp: "2026-12-06T10:00:00Z".into(),
        },
    );
    for r in compliance::regime::regimes() {
        if args.get(2).is_some_and(|x| x != r.id) {
            continue;
        }
        println!("== {}", r.id);
        for (k, c) in compliance::regime::report(r, &t, &e) {
            println!("  {k:60} {}", serde_json::to_string(&c).unwrap());
        }
    }
}
