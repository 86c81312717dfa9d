//! Engine cross-checks that need no external reference: Monte Carlo vs PDE on snowballs and
//! phoenixes, parity, convergence, Greeks, the random-number stream, bad input, books, grids
//! and solvers. The full snowball/phoenix parameter table runs with `DESKMATE_HEAVY_TESTS=1`;
//! without it a representative subset runs (and the skip is printed).

use kernels::mc::{McConfig, Sampler};
use kernels::pde::PdeConfig;
use kernels::pricing::{EngineKind, PricingRequest, price};
use kernels::{BackendChoice, Market, Product};

const EX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

fn example(name: &str) -> Product {
    let path = format!("{EX}/{name}");
    Product::from_json(&path, &std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn market() -> Market {
    let path = format!("{EX}/market.json");
    Market::from_json(&path, &std::fs::read_to_string(&path).unwrap()).unwrap()
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

fn heavy() -> bool {
    std::env::var("DESKMATE_HEAVY_TESTS").is_ok_and(|v| v == "1")
}

/// Snowball/phoenix: MC and PDE agree within 3 MC standard errors (plus the PDE's own
/// discretisation, bounded by 2e-4 of notional).
fn check_mc_vs_pde(p: &Product, m: &Market, paths: u64) -> (f64, f64, f64) {
    let mc = price(p, m, &req(EngineKind::Mc, paths)).unwrap();
    let pde = price(p, m, &req(EngineKind::Pde, 0)).unwrap();
    let tol = 3.0 * mc.std_error + 2e-4 * p.notional;
    eprintln!(
        "{:28} mc {:>14.2} ± {:>9.2}  pde {:>14.2}  diff {:>9.2} ({:.2} se)  pde {:.1} ms",
        p.id,
        mc.value,
        mc.std_error,
        pde.value,
        pde.value - mc.value,
        (pde.value - mc.value) / mc.std_error,
        pde.elapsed_ms
    );
    assert!(
        (mc.value - pde.value).abs() <= tol,
        "{}: mc {} ± {} vs pde {}",
        p.id,
        mc.value,
        mc.std_error,
        pde.value
    );
    (mc.value, mc.std_error, pde.value)
}

fn autocall(id: &str, ko: f64, ki: f64, months: u32, vol: f64, phoenix: bool) -> (Product, Market) {
    let mut p = example(if phoenix {
        "phoenix.json"
    } else {
        "snowball.json"
    });
    p.id = id.into();
    p.tenor = Some(format!("{months}M"));
    let a = p.autocall.as_mut().unwrap();
    a.ko_level = kernels::product::Level::Relative(ko);
    a.ki.as_mut().unwrap().level = kernels::product::Level::Relative(ki);
    let mut m = market();
    m.vol = kernels::market::Term::Flat(vol);
    (p, m)
}

#[test]
fn snowball_and_phoenix_mc_agree_with_pde_across_parameters() {
    let mut table = vec![(1.03, 0.75, 12, 0.22), (1.00, 0.70, 24, 0.30)];
    if heavy() {
        table.clear();
        for ko in [1.00, 1.03, 1.05] {
            for ki in [0.65, 0.75, 0.80] {
                for months in [6, 12, 24] {
                    for vol in [0.15, 0.25, 0.35] {
                        table.push((ko, ki, months, vol));
                    }
                }
            }
        }
    } else {
        eprintln!(
            "full snowball/phoenix table skipped: set DESKMATE_HEAVY_TESTS=1 to run all 81×2 cases"
        );
    }
    for (ko, ki, months, vol) in table {
        for phoenix in [false, true] {
            let id = format!(
                "{}-ko{ko}-ki{ki}-{months}m-v{vol}",
                if phoenix { "phx" } else { "snow" }
            );
            let (p, m) = autocall(&id, ko, ki, months, vol, phoenix);
            check_mc_vs_pde(&p, &m, 200_000);
        }
    }
}

#[test]
fn every_example_prices_with_every_applicable_engine() {
    let m = market();
    for f in std::fs::read_dir(EX).unwrap() {
        let path = f.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") || name.starts_with("market") {
            continue;
        }
        let p = example(&name);
        let auto = price(
            &p,
            &m,
            &PricingRequest {
                greeks: true,
                ..req(EngineKind::Auto, 20_000)
            },
        )
        .unwrap();
        assert!(auto.value.is_finite() && auto.greeks.is_some(), "{name}");
        eprintln!(
            "{name:28} auto={:?} value {:.2} greeks {:?}",
            auto.engine,
            auto.value,
            auto.greeks.unwrap()
        );
        let mc = price(&p, &m, &req(EngineKind::Mc, 20_000));
        if p.exercise == kernels::product::Exercise::American {
            assert!(mc.is_err(), "{name}: MC must refuse American exercise");
        } else {
            let mc = mc.unwrap();
            assert!(
                (mc.value - auto.value).abs() <= 4.0 * mc.std_error + 1e-3 * p.notional,
                "{name}: mc {} ± {} vs {:?} {}",
                mc.value,
                mc.std_error,
                auto.engine,
                auto.value
            );
        }
    }
}

#[test]
fn put_call_parity_holds_on_common_paths_and_on_the_grid() {
    let m = market();
    let mut call = example("european_call.json");
    let mut put = call.clone();
    put.payoff.legs[0] = serde_json::from_str(r#"{"type":"put","strike":"100%"}"#).unwrap();
    let mut fwd = call.clone();
    fwd.payoff.legs[0] = serde_json::from_str(r#"{"type":"forward","strike":"100%"}"#).unwrap();
    call.id = "parity".into();
    put.id = "parity".into();
    fwd.id = "parity".into();
    let f_exact = price(&fwd, &m, &req(EngineKind::Analytic, 0))
        .unwrap()
        .value;
    // Common random numbers (same id, same seed): C − P equals the forward path by path.
    let (c, p, f) = (
        price(&call, &m, &req(EngineKind::Mc, 100_000)).unwrap(),
        price(&put, &m, &req(EngineKind::Mc, 100_000)).unwrap(),
        price(&fwd, &m, &req(EngineKind::Mc, 100_000)).unwrap(),
    );
    assert!(
        (c.value - p.value - f.value).abs() < 1e-9 * call.notional,
        "pathwise parity"
    );
    assert!(
        (f.value - f_exact).abs() < 3.0 * f.std_error.max(1e-9 * call.notional),
        "forward vs closed form"
    );
    let (c, p) = (
        price(&call, &m, &req(EngineKind::Pde, 0)).unwrap(),
        price(&put, &m, &req(EngineKind::Pde, 0)).unwrap(),
    );
    assert!(
        ((c.value - p.value) - f_exact).abs() < 1e-4 * call.notional,
        "pde parity {} vs {}",
        c.value - p.value,
        f_exact
    );
}

#[test]
fn standard_error_falls_as_one_over_root_n_and_error_stays_within_it() {
    let m = market();
    let p = example("european_call.json");
    let exact = price(&p, &m, &req(EngineKind::Analytic, 0)).unwrap().value;
    let mut prev: Option<f64> = None;
    for n in [16_000u64, 64_000, 256_000] {
        let r = price(&p, &m, &req(EngineKind::Mc, n)).unwrap();
        assert!(
            (r.value - exact).abs() < 3.0 * r.std_error,
            "N={n}: {} vs {exact} ± {}",
            r.value,
            r.std_error
        );
        if let Some(s) = prev {
            let ratio = r.std_error / s;
            assert!(
                (ratio - 0.5).abs() < 0.05,
                "SE ratio for 4× paths is {ratio}, expected 0.5"
            );
        }
        prev = Some(r.std_error);
    }
    // Sobol + Brownian bridge converges too, with a smaller error than pseudo-random.
    let mut q = req(EngineKind::Mc, 64_000);
    q.mc.sampler = Sampler::SobolBridge;
    let r = price(&p, &m, &q).unwrap();
    let prn = price(&p, &m, &req(EngineKind::Mc, 64_000)).unwrap();
    assert!(
        (r.value - exact).abs() < 3.5 * r.std_error,
        "sobol {} vs {exact} ± {}",
        r.value,
        r.std_error
    );
    assert!(
        r.std_error < prn.std_error,
        "sobol se {} vs prn {}",
        r.std_error,
        prn.std_error
    );
}

#[test]
fn greeks_agree_across_engines() {
    let m = market();
    let p = example("european_call.json");
    let g = |e, n| {
        let mut q = req(e, n);
        q.greeks = true;
        price(&p, &m, &q).unwrap()
    };
    let a = g(EngineKind::Analytic, 0);
    let ag = a.greeks.unwrap();
    // Black-Scholes delta e^{-qT} N(d1) with S=K=100, r=2%, q=1%, σ=22%, T=1, notional/S0 = 10,000.
    let d1 = (0.02 - 0.01 + 0.5 * 0.22f64 * 0.22) / 0.22;
    let delta = (-0.01f64).exp() * kernels::math::norm_cdf(d1) * 10_000.0;
    assert!(
        (ag.delta - delta).abs() < 1e-6 * delta,
        "analytic delta {} vs {delta}",
        ag.delta
    );
    let mc = g(EngineKind::Mc, 400_000);
    let (mg, se) = (mc.greeks.unwrap(), mc.greeks_std_error.unwrap());
    // The 1% spot bump and 1-vol-point bump have O(h²) bias, well below these bounds.
    for (name, x, y, s) in [
        ("delta", mg.delta, ag.delta, se.delta),
        ("gamma", mg.gamma, ag.gamma, se.gamma),
        ("vega", mg.vega, ag.vega, se.vega),
        ("rho", mg.rho, ag.rho, se.rho),
        ("theta", mg.theta, ag.theta, se.theta),
    ] {
        eprintln!("mc {name}: {x:.4} ± {s:.4} vs analytic {y:.4}");
        assert!(
            (x - y).abs() <= 3.0 * s + 2e-3 * y.abs(),
            "mc {name} {x} ± {s} vs {y}"
        );
    }
    let pd = g(EngineKind::Pde, 0).greeks.unwrap();
    for (name, x, y) in [
        ("delta", pd.delta, ag.delta),
        ("gamma", pd.gamma, ag.gamma),
        ("vega", pd.vega, ag.vega),
        ("rho", pd.rho, ag.rho),
        ("theta", pd.theta, ag.theta),
    ] {
        eprintln!("pde {name}: {x:.4} vs analytic {y:.4}");
        assert!((x - y).abs() <= 5e-3 * y.abs(), "pde {name} {x} vs {y}");
    }
}

#[test]
fn term_structures_price_consistently_in_every_engine() {
    let path = format!("{EX}/market_term_structure.json");
    let m = Market::from_json(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
    let p = example("european_call.json");
    let a = price(&p, &m, &req(EngineKind::Analytic, 0)).unwrap();
    let mc = price(&p, &m, &req(EngineKind::Mc, 200_000)).unwrap();
    let pde = price(
        &p,
        &m,
        &PricingRequest {
            pde: PdeConfig::fine(),
            ..req(EngineKind::Pde, 0)
        },
    )
    .unwrap();
    assert!(
        (mc.value - a.value).abs() < 3.0 * mc.std_error,
        "mc {} ± {} vs {}",
        mc.value,
        mc.std_error,
        a.value
    );
    assert!(
        (pde.value - a.value).abs() < 1e-4 * a.value,
        "pde {} vs {}",
        pde.value,
        a.value
    );
}

#[test]
fn philox_matches_the_random123_known_answers() {
    use kernels::math::philox4x32_10;
    // Known-answer vectors of Random123's kat_vectors for philox4x32_10.
    assert_eq!(
        philox4x32_10([0; 4], [0; 2]),
        [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
    );
    assert_eq!(
        philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
        [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
    );
    assert_eq!(
        philox4x32_10(
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
            [0xa409_3822, 0x299f_31d0]
        ),
        [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
    );
}

#[test]
fn inverse_normal_is_accurate() {
    use kernels::math::{inv_norm_cdf, inv_norm_cdf_precise, norm_cdf};
    for i in 1..2000 {
        let p = i as f64 / 2000.0;
        let exact = inv_norm_cdf_precise(p);
        assert!((norm_cdf(exact) - p).abs() < 1e-15 + 1e-13 * p, "p={p}");
        // Acklam's published bound: relative error below 1.15e-9.
        assert!(
            (inv_norm_cdf(p) - exact).abs() <= 1.15e-9 * exact.abs() + 1e-15,
            "p={p}"
        );
    }
}

#[test]
fn sobol_covers_a_daily_snowball_and_refuses_past_its_table() {
    // A daily-monitored snowball has ~250 steps: every dimension from Joe and Kuo's table.
    let (p, m) = (example("snowball.json"), market());
    let mut q = req(EngineKind::Mc, 64_000);
    q.mc.sampler = Sampler::SobolBridge;
    let s = price(&p, &m, &q).unwrap();
    let prn = price(&p, &m, &req(EngineKind::Mc, 64_000)).unwrap();
    let pde = price(&p, &m, &req(EngineKind::Pde, 0)).unwrap();
    let tol = 3.0 * (s.std_error.powi(2) + prn.std_error.powi(2)).sqrt();
    assert!(
        (s.value - prn.value).abs() < tol,
        "sobol {} vs philox {} (±{tol})",
        s.value,
        prn.value
    );
    assert!(
        (s.value - pde.value).abs() < 3.0 * s.std_error + 2e-3 * p.notional,
        "sobol {} vs pde {}",
        s.value,
        pde.value
    );
    // More steps than the table has dimensions: refused, naming the limit.
    let barrier = example("barrier_up_out_call.json");
    q.mc.steps_per_year = 10_000;
    let err = price(&barrier, &m, &q).unwrap_err().to_string();
    assert!(err.contains("8192") && err.contains("philox"), "{err}");
}
