//! Pricing benchmarks (a small harness; `cargo bench -p kernels --bench pricing -- <suite>`).
//!
//! Suites (default: all, at reduced sizes; set the env vars for the full sizes):
//! * `peer`: the Monte Carlo cases of `kernels/scripts/bench_vs_quantlib.py` (European call,
//!   continuous up-and-out call with 252 steps, monthly arithmetic Asian), same paths and steps
//!   as the QuantLib side; prints one JSON line per case with paths/s.
//! * `book`: a book of snowballs (`BENCH_BOOK` contracts, default 100; the issue's is 2000) with
//!   `BENCH_PATHS` paths (default 100000), 252 daily steps, monthly knock-out, delta, gamma and
//!   vega: wall time, path-steps per second, and the time per contract with the PDE engine.
//! * `grid`: a 41 spot × 11 vol grid over `BENCH_GRID_BOOK` snowballs (default 20) by PDE.
//!
//! GPU runs use `--features cuda` and `BENCH_BACKEND=cuda`.

use std::time::Instant;

use kernels::mc::{McConfig, Program, Scenario};
use kernels::pricing::{EngineKind, PricingRequest};
use kernels::risk::{GridSpec, revalue_book, scenario_grid};
use kernels::{BackendChoice, Market, MarketSet, Product};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn backend() -> BackendChoice {
    std::env::var("BENCH_BACKEND")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(BackendChoice::Cpu)
}

fn market() -> Market {
    Market::from_json(
        "bench",
        r#"{"valuation_date":"2026-01-05","spot":100,"rate":0.03,"dividend":0.01,"vol":0.25}"#,
    )
    .unwrap()
}

fn product(json: &str) -> Product {
    Product::from_json("bench", json).unwrap()
}

fn peer() {
    let m = market();
    let paths = env("BENCH_PEER_PATHS", 1_000_000);
    let fix: Vec<String> = (1..=12)
        .map(|i| {
            let d = kernels::dates::Date::from_ymd(2026, 1, 5)
                .unwrap()
                .add_days((365.0 * f64::from(i) / 12.0).round() as i32);
            format!("\"{d}\"")
        })
        .collect();
    let cases = [
        ("european_call", r#"{"underlying":"X","notional":100,"initial_price":100,"start":"2026-01-05","maturity":"2027-01-05","payoff":{"legs":[{"type":"call","strike":100}]}}"#.to_string(), paths),
        ("up_out_call_252", r#"{"underlying":"X","notional":100,"initial_price":100,"start":"2026-01-05","maturity":"2027-01-05","payoff":{"legs":[{"type":"call","strike":100}]},"barrier":{"direction":"up","kind":"out","level":120,"rebate":0}}"#.to_string(), paths / 10),
        ("arithmetic_asian_12", format!(r#"{{"underlying":"X","notional":100,"initial_price":100,"start":"2026-01-05","maturity":"2027-01-05","payoff":{{"legs":[{{"type":"call","strike":100}}]}},"averaging":{{"schedule":{{"dates":[{}]}}}}}}"#, fix.join(",")), paths),
    ];
    for (name, json, n) in cases {
        let p = product(&json);
        let c = p.compile(&m).unwrap();
        let cfg = McConfig {
            paths: n,
            ..McConfig::default()
        };
        let prog = Program::build(&c, &m, &[Scenario::default()], &cfg).unwrap();
        let mut b = kernels::Backend::select(backend()).unwrap();
        let stream = kernels::math::Stream::new(cfg.seed, 0);
        b.run_mc(&[(&prog, stream)], &cfg).unwrap(); // warm-up
        let t = Instant::now();
        let o = b.run_mc(&[(&prog, stream)], &cfg).unwrap().remove(0);
        let s = t.elapsed().as_secs_f64();
        println!(
            "{{\"suite\":\"peer\",\"case\":\"{name}\",\"paths\":{n},\"steps\":{},\"value\":{:.6},\"std_error\":{:.6},\"seconds\":{s:.4},\"paths_per_s\":{:.0},\"path_steps_per_s\":{:.0},\"backend\":\"{}\",\"threads\":{}}}",
            prog.n_steps,
            o.mean[0],
            o.se(0),
            n as f64 / s,
            n as f64 * prog.n_steps as f64 / s,
            b.name,
            rayon::current_num_threads()
        );
    }
}

fn snowball_book(n: usize) -> Vec<kernels::Result<Product>> {
    (0..n)
        .map(|i| {
            let ko = 1.00 + 0.01 * (i % 6) as f64;
            let ki = 0.65 + 0.05 * (i % 4) as f64;
            let cpn = 0.08 + 0.01 * (i % 9) as f64;
            Ok(product(&format!(
                r#"{{"id":"SB-{i}","underlying":"X","notional":1000000,"direction":"sell","initial_price":100,"start":"2026-01-05","tenor":"12M","autocall":{{"ko_level":"{}%","ko_schedule":{{"frequency":"monthly","lockup_months":3}},"ko_coupon":{cpn},"ki":{{"level":"{}%"}}}}}}"#,
                ko * 100.0,
                ki * 100.0
            )))
        })
        .collect()
}

fn book() {
    let n = env("BENCH_BOOK", 100) as usize;
    let paths = env("BENCH_PATHS", 100_000);
    let markets = MarketSet::Single(market());
    let b = snowball_book(n);
    let req = PricingRequest {
        engine: EngineKind::Mc,
        greeks: true,
        backend: backend(),
        mc: McConfig {
            paths,
            ..McConfig::default()
        },
        ..PricingRequest::default()
    };
    let t = Instant::now();
    let r = revalue_book(&b, &markets, &req).unwrap();
    let s = t.elapsed().as_secs_f64();
    let steps = r.contracts[0].result.as_ref().unwrap().time_steps.unwrap();
    let ps = n as f64 * paths as f64 * steps as f64;
    println!(
        "{{\"suite\":\"book\",\"engine\":\"mc\",\"contracts\":{n},\"paths\":{paths},\"steps\":{steps},\"scenarios\":8,\"seconds\":{s:.3},\"seconds_per_contract\":{:.4},\"path_steps_per_s\":{:.3e},\"scenario_path_steps_per_s\":{:.3e},\"extrapolated_2000_s\":{:.1},\"backend\":\"{}\",\"failed\":{}}}",
        s / n as f64,
        ps / s,
        8.0 * ps / s,
        s / n as f64 * 2000.0,
        r.backend,
        r.failed
    );
    let req = PricingRequest {
        engine: EngineKind::Pde,
        greeks: true,
        ..req
    };
    let t = Instant::now();
    let r = revalue_book(&b, &markets, &req).unwrap();
    let s = t.elapsed().as_secs_f64();
    let single = Instant::now();
    kernels::price(
        b[0].as_ref().unwrap(),
        &market(),
        &PricingRequest {
            greeks: false,
            ..req
        },
    )
    .unwrap();
    let one = single.elapsed().as_secs_f64();
    println!(
        "{{\"suite\":\"book\",\"engine\":\"pde\",\"contracts\":{n},\"seconds\":{s:.3},\"seconds_per_contract\":{:.4},\"extrapolated_2000_s\":{:.1},\"single_price_ms\":{:.1},\"failed\":{}}}",
        s / n as f64,
        s / n as f64 * 2000.0,
        one * 1e3,
        r.failed
    );
}

fn grid() {
    let n = env("BENCH_GRID_BOOK", 20) as usize;
    let markets = MarketSet::Single(market());
    let b = snowball_book(n);
    let g = GridSpec::parse("spot=80:120:1,vol=-5:5:1").unwrap();
    let req = PricingRequest {
        engine: EngineKind::Pde,
        ..PricingRequest::default()
    };
    let t = Instant::now();
    let r = scenario_grid(&b, &markets, &g, &req).unwrap();
    let s = t.elapsed().as_secs_f64();
    println!(
        "{{\"suite\":\"grid\",\"engine\":\"pde\",\"contracts\":{n},\"cells\":{},\"seconds\":{s:.3},\"extrapolated_2000_s\":{:.1},\"errors\":{}}}",
        g.spot_pct.len() * g.vol_shift.len(),
        s / n as f64 * 2000.0,
        r.errors.len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let all = args.is_empty();
    let want = |s: &str| all || args.iter().any(|a| a == s);
    if want("peer") {
        peer();
    }
    if want("book") {
        book();
    }
    if want("grid") {
        grid();
    }
}
