//! The library API as callers use it: bad input gives errors naming the field (never a panic
//! or a NaN), books keep per-contract errors, grids have the right shape and agree with single
//! prices, solvers hit their targets, backends report their choice.

use kernels::market::MarketSet;
use kernels::mc::McConfig;
use kernels::pricing::{EngineKind, PricingRequest, price};
use kernels::risk::{
    GridSpec, parse_book, revalue_book, revalue_book_with_progress, scenario_grid,
    scenario_grid_with_progress,
};
use kernels::solve::{SolveParameter, SolveSpec, solve};
use kernels::{BackendChoice, Market, PricingError, Product};
use serde_json::{Value, json};

const EX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{EX}/{name}")).unwrap()
}

fn req(engine: EngineKind, paths: u64) -> PricingRequest {
    PricingRequest {
        engine,
        backend: BackendChoice::Cpu,
        mc: McConfig {
            paths,
            ..McConfig::default()
        },
        ..PricingRequest::default()
    }
}

/// Applies a JSON patch (object merge at a dotted path) to an example and expects an error
/// whose message names `field`.
fn check_bad(example: &str, market_patch: Value, product_patch: Value, field: &str) {
    let mut p: Value = serde_json::from_str(&read(example)).unwrap();
    let mut m: Value = serde_json::from_str(&read("market.json")).unwrap();
    merge(&mut p, &product_patch);
    merge(&mut m, &market_patch);
    let res = Market::from_json("market", &m.to_string())
        .and_then(|m| Product::from_json("product", &p.to_string()).map(|p| (p, m)))
        .and_then(|(p, m)| price(&p, &m, &req(EngineKind::Auto, 1000)));
    match res {
        Ok(r) => panic!(
            "{example} {product_patch} {market_patch}: expected an error naming `{field}`, got value {}",
            r.value
        ),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(field),
                "{example}: error `{msg}` does not name `{field}`"
            );
            assert!(
                e.is_input_error() || matches!(e, PricingError::Unsupported { .. }),
                "{msg}"
            );
        }
    }
}

fn merge(a: &mut Value, b: &Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b.clone(),
    }
}

#[test]
fn bad_input_names_the_field() {
    let none = json!({});
    check_bad(
        "european_call.json",
        json!({"vol": -0.2}),
        none.clone(),
        "market.vol",
    );
    check_bad(
        "european_call.json",
        json!({"spot": 0.0}),
        none.clone(),
        "market.spot",
    );
    check_bad(
        "european_call.json",
        json!({"rate": {"times": [1.0, 0.5], "values": [0.01, 0.02]}}),
        none.clone(),
        "market.rate.times[1]",
    );
    check_bad(
        "european_call.json",
        json!({"vol": {"times": [0.5, 1.0], "values": [0.3, 0.1]}}),
        none.clone(),
        "market.vol.values[1]",
    );
    check_bad(
        "european_call.json",
        json!({"valuation_date": "2028-01-01"}),
        none.clone(),
        "maturity",
    );
    check_bad(
        "european_call.json",
        none.clone(),
        json!({"notional": -5.0}),
        "notional",
    );
    check_bad(
        "european_call.json",
        none.clone(),
        json!({"payoff": {"legs": [{"type": "call", "strike": "-5%"}]}}),
        "payoff.legs[0].strike",
    );
    check_bad(
        "european_call.json",
        none.clone(),
        json!({"payoff": {"legs": [{"type": "call", "strike": "abc"}]}}),
        "abc",
    );
    check_bad(
        "european_call.json",
        none.clone(),
        json!({"tenor": "12X"}),
        "tenor",
    );
    check_bad(
        "barrier_up_out_call.json",
        none.clone(),
        json!({"barrier": {"level": "90%"}}),
        "barrier.level",
    );
    check_bad(
        "snowball.json",
        none.clone(),
        json!({"autocall": {"ki": {"level": "110%"}}}),
        "autocall.ki.level",
    );
    check_bad(
        "snowball.json",
        none.clone(),
        json!({"autocall": {"ko_schedule": {"frequency": "monthly", "lockup_months": 24}}}),
        "autocall.ko_schedule",
    );
    check_bad(
        "snowball.json",
        none.clone(),
        json!({"autocall": {"ko_schedule": {"dates": []}}}),
        "autocall.ko_schedule",
    );
    check_bad(
        "snowball.json",
        none.clone(),
        json!({"autocall": {"ko_coupon_typo": 0.1}}),
        "ko_coupon_typo",
    );
    // NaN cannot be written in JSON; the library API catches it.
    let mut m = Market::from_json("m", &read("market.json")).unwrap();
    m.spot = f64::NAN;
    let p = Product::from_json("p", &read("european_call.json")).unwrap();
    let e = price(&p, &m, &req(EngineKind::Auto, 1000)).unwrap_err();
    assert!(e.to_string().contains("market.spot"), "{e}");
    // Absurd path counts.
    let m = Market::from_json("m", &read("market.json")).unwrap();
    for paths in [0u64, 1, 10_000_000_000] {
        let e = price(&p, &m, &req(EngineKind::Mc, paths)).unwrap_err();
        assert!(e.to_string().contains("paths"), "{e}");
    }
    // An engine that cannot price a feature says so.
    let a = Product::from_json("p", &read("asian_arithmetic.json")).unwrap();
    let e = price(&a, &m, &req(EngineKind::Pde, 0)).unwrap_err();
    assert!(
        matches!(e, PricingError::Unsupported { engine: "pde", .. }),
        "{e}"
    );
}

#[test]
fn cuda_requested_without_gpu_fails_with_a_reason_and_auto_falls_back() {
    let m = Market::from_json("m", &read("market.json")).unwrap();
    let p = Product::from_json("p", &read("snowball.json")).unwrap();
    let mut q = req(EngineKind::Mc, 2000);
    q.backend = BackendChoice::Auto;
    let r = price(&p, &m, &q).unwrap();
    eprintln!("auto → {} ({})", r.backend, r.backend_reason);
    assert!(!r.backend_reason.is_empty());
    if r.backend == "cpu" {
        q.backend = BackendChoice::Cuda;
        match price(&p, &m, &q) {
            Err(PricingError::Backend { reason, .. }) => assert!(!reason.is_empty()),
            other => panic!("expected a backend error, got {other:?}"),
        }
    }
}

#[test]
fn book_revaluation_keeps_per_contract_errors() {
    let markets = MarketSet::from_json("markets", &read("markets_by_underlying.json")).unwrap();
    let mut text = read("book.jsonl");
    text.push_str("{not json\n");
    let book = parse_book("book.jsonl", &text);
    let mut q = req(EngineKind::Auto, 20_000);
    q.greeks = true;
    let r = revalue_book(&book, &markets, &q).unwrap();
    for c in &r.contracts {
        eprintln!(
            "{:12} {:?} {:?}",
            c.id,
            c.result.as_ref().map(|r| (r.engine, r.value)),
            c.error.as_ref().map(|e| &e.message)
        );
    }
    assert_eq!(r.contracts.len(), 9);
    assert_eq!(r.failed, 3);
    assert_eq!(r.priced, 6);
    let err = |id: &str| {
        r.contracts
            .iter()
            .find(|c| c.id == id)
            .unwrap()
            .error
            .clone()
            .unwrap()
            .message
    };
    assert!(err("B-BAD-1").contains("autocall.ki.level"));
    assert!(err("B-BAD-2").contains("999999.XX"));
    assert!(err("line-9").contains("book.jsonl:9"));
    // A contract in the book is priced exactly as alone (same random stream keyed by its id).
    let alone = price(
        book[0].as_ref().unwrap(),
        markets.get("000905.SH").unwrap(),
        &PricingRequest { greeks: true, ..q },
    )
    .unwrap();
    assert_eq!(alone.value, r.contracts[0].result.as_ref().unwrap().value);
    let total: f64 = r
        .contracts
        .iter()
        .filter_map(|c| c.result.as_ref())
        .map(|r| r.value)
        .sum();
    assert!((total - r.total_value).abs() < 1e-6);
}

#[test]
fn book_and_grid_progress_counts_every_contract_once() {
    use std::sync::Mutex;
    let markets = MarketSet::from_json("markets", &read("markets_by_underlying.json")).unwrap();
    let book = parse_book("book.jsonl", &read("book.jsonl"));
    let seen = Mutex::new(Vec::new());
    let hook = |done: usize, total: usize| seen.lock().unwrap().push((done, total));
    let q = req(EngineKind::Auto, 20_000);
    let with = revalue_book_with_progress(&book, &markets, &q, &hook).unwrap();
    // Same result as without the hook; the last report is the whole book.
    assert_eq!(
        with.total_value,
        revalue_book(&book, &markets, &q).unwrap().total_value
    );
    let mut s = seen.lock().unwrap().clone();
    s.sort_unstable();
    assert_eq!(s.last(), Some(&(book.len(), book.len())), "{s:?}");
    assert!(s.iter().all(|(d, t)| *t == book.len() && *d <= *t), "{s:?}");
    seen.lock().unwrap().clear();
    let g = GridSpec::parse("spot=90:110:10").unwrap();
    scenario_grid_with_progress(&book, &markets, &g, &req(EngineKind::Pde, 0), &hook).unwrap();
    let mut s = seen.lock().unwrap().clone();
    s.sort_unstable();
    let expect: Vec<(usize, usize)> = (1..=book.len()).map(|d| (d, book.len())).collect();
    assert_eq!(s, expect);
}

#[test]
fn scenario_grid_has_axes_and_matches_single_prices() {
    let markets = MarketSet::from_json("markets", &read("markets_by_underlying.json")).unwrap();
    let book = parse_book("book.jsonl", &read("book.jsonl"));
    let g = GridSpec::parse("spot=90:110:5,vol=-2:2:2,days=0;30").unwrap();
    assert_eq!(
        (g.spot_pct.len(), g.vol_shift.len(), g.days.len()),
        (5, 3, 2)
    );
    let r = scenario_grid(&book[..2], &markets, &g, &req(EngineKind::Pde, 0)).unwrap();
    assert_eq!(r.value.len(), 2);
    assert_eq!(r.value[0].len(), 3);
    assert_eq!(r.value[0][0].len(), 5);
    // The centre cell (spot 100%, vol shift 0, day 0) is the book's value.
    let single: f64 = book[..2]
        .iter()
        .map(|p| {
            let p = p.as_ref().unwrap();
            price(
                p,
                markets.get(&p.underlying).unwrap(),
                &req(EngineKind::Pde, 0),
            )
            .unwrap()
            .value
        })
        .sum();
    assert!(
        (r.value[0][1][2] - single).abs() < 1e-6 * single.abs().max(1.0),
        "{} vs {single}",
        r.value[0][1][2]
    );
    // Monte Carlo grid on the same book agrees within noise at the centre.
    let rm = scenario_grid(
        &book[..1],
        &markets,
        &GridSpec::parse("spot=95:105:5").unwrap(),
        &req(EngineKind::Mc, 50_000),
    )
    .unwrap();
    let pde = price(
        book[0].as_ref().unwrap(),
        markets.get("000905.SH").unwrap(),
        &req(EngineKind::Pde, 0),
    )
    .unwrap()
    .value;
    assert!(
        (rm.value[0][0][1] - pde).abs() < 0.01 * 10_000_000.0,
        "{} vs {pde}",
        rm.value[0][0][1]
    );
    assert!(GridSpec::parse("spot=120:80:1").is_err());
    assert!(
        GridSpec::parse("wind=1:2:1")
            .unwrap_err()
            .to_string()
            .contains("wind")
    );
}

#[test]
fn solvers_hit_their_targets() {
    let m = Market::from_json("m", &read("market.json")).unwrap();
    // Snowball coupon that makes the client's note worth −1% of notional to the holder
    // (the desk's margin), on common random numbers.
    let p = Product::from_json("p", &read("snowball.json")).unwrap();
    let q = req(EngineKind::Mc, 40_000);
    let spec = SolveSpec {
        parameter: SolveParameter::Coupon,
        target: -0.01,
        lo: 0.0,
        hi: 0.5,
        tol: 1e-7,
    };
    let s = solve(&p, &m, &q, &spec).unwrap();
    eprintln!(
        "snowball coupon {:.5} value {:.6} in {} evaluations",
        s.solution, s.value_per_notional, s.evaluations
    );
    assert!((s.value_per_notional + 0.01).abs() < 1e-6, "{s:?}");
    // Same with the PDE: the coupons agree within the MC error.
    let sp = solve(&p, &m, &req(EngineKind::Pde, 0), &spec).unwrap();
    assert!(
        (sp.solution - s.solution).abs() < 0.01,
        "pde {} vs mc {}",
        sp.solution,
        s.solution
    );
    // Strike of a call worth 5% of notional, in closed form.
    let c = Product::from_json("c", &read("european_call.json")).unwrap();
    let spec = SolveSpec {
        parameter: SolveParameter::Strike,
        target: 0.05,
        lo: 50.0,
        hi: 200.0,
        tol: 1e-9,
    };
    let s = solve(&c, &m, &req(EngineKind::Analytic, 0), &spec).unwrap();
    assert!((s.value_per_notional - 0.05).abs() < 1e-9, "{s:?}");
    // Shark-fin participation, and a barrier level.
    let sf = Product::from_json("s", &read("shark_fin.json")).unwrap();
    let spec = SolveSpec {
        parameter: SolveParameter::Participation,
        target: 0.02,
        lo: 0.0,
        hi: 3.0,
        tol: 1e-9,
    };
    let s = solve(&sf, &m, &req(EngineKind::Analytic, 0), &spec).unwrap();
    assert!((s.value_per_notional - 0.02).abs() < 1e-9, "{s:?}");
    let spec = SolveSpec {
        parameter: SolveParameter::Barrier,
        target: 0.03,
        lo: 101.0,
        hi: 200.0,
        tol: 1e-9,
    };
    let s = solve(&sf, &m, &req(EngineKind::Analytic, 0), &spec).unwrap();
    assert!((s.value_per_notional - 0.03).abs() < 1e-8, "{s:?}");
    // No root in the bracket is a clear error.
    let spec = SolveSpec {
        parameter: SolveParameter::Strike,
        target: 5.0,
        lo: 50.0,
        hi: 200.0,
        tol: 1e-9,
    };
    assert!(matches!(
        solve(&c, &m, &req(EngineKind::Analytic, 0), &spec),
        Err(PricingError::Solver { .. })
    ));
}

#[test]
fn results_serialise_with_the_documented_field_names() {
    let m = Market::from_json("m", &read("market.json")).unwrap();
    let p = Product::from_json("p", &read("digital_call.json")).unwrap();
    let r = price(
        &p,
        &m,
        &PricingRequest {
            greeks: true,
            ..req(EngineKind::Mc, 10_000)
        },
    )
    .unwrap();
    let v = serde_json::to_value(&r).unwrap();
    for k in [
        "value",
        "std_error",
        "greeks",
        "engine",
        "backend",
        "backend_reason",
        "paths",
        "elapsed_ms",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    for k in ["delta", "gamma", "vega", "theta", "rho"] {
        assert!(v["greeks"].get(k).is_some(), "missing greeks.{k}");
    }
    assert_eq!(v["engine"], "mc");
    // Products round-trip through JSON.
    let back: Product = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
    assert_eq!(back, p);
}
