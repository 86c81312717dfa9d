//! Validation against QuantLib reference values (golden file written by
//! `kernels/scripts/quantlib_refs.py`, QuantLib version recorded in the file): closed forms to
//! 1e-10 relative, fine-grid PDE to 1e-4 relative (2e-4 for American vs QuantLib's own FD),
//! Monte Carlo within the stated number of standard errors.

use kernels::mc::McConfig;
use kernels::pde::PdeConfig;
use kernels::pricing::{EngineKind, PricingRequest, price};
use kernels::{BackendChoice, Market, Product};
use serde_json::Value;

const GOLDEN: &str = include_str!("../golden/quantlib.json");

fn request(engine: EngineKind) -> PricingRequest {
    PricingRequest {
        engine,
        backend: BackendChoice::Cpu,
        mc: McConfig {
            paths: 400_000,
            ..McConfig::default()
        },
        pde: PdeConfig::fine(),
        ..PricingRequest::default()
    }
}

/// Checks one golden case with one engine; returns a failure message or None.
fn check(case: &Value, engine: &str, tol: f64) -> Option<String> {
    let name = case["name"].as_str().unwrap();
    let want = case["value"].as_f64().unwrap();
    let p: Product = serde_json::from_value(case["product"].clone()).unwrap();
    let m = Market::from_json(name, &case["market"].to_string()).unwrap();
    let e = match engine {
        "analytic" => EngineKind::Analytic,
        "pde_fine" => EngineKind::Pde,
        _ => EngineKind::Mc,
    };
    let r = match price(&p, &m, &request(e)) {
        Ok(r) => r,
        Err(err) => return Some(format!("{name} [{engine}]: error {err}")),
    };
    let got = r.value;
    let ok = if engine == "mc_se" {
        (got - want).abs() <= tol * r.std_error
    } else {
        (got - want).abs() <= tol * want.abs().max(1e-6)
    };
    let line = format!(
        "{name:45} [{engine:8}] ours {got:.10} quantlib {want:.10} diff {:.2e} (rel {:.2e}, se {:.2e})",
        got - want,
        (got - want) / want.abs().max(1e-12),
        r.std_error
    );
    eprintln!("{line}");
    (!ok).then_some(line)
}

fn run(engines: &[&str]) {
    let g: Value = serde_json::from_str(GOLDEN).unwrap();
    let mut failures = vec![];
    let mut n = 0;
    for case in g["cases"].as_array().unwrap() {
        for (engine, tol) in case["checks"].as_object().unwrap() {
            if engines.contains(&engine.as_str()) {
                n += 1;
                if let Some(f) = check(case, engine, tol.as_f64().unwrap()) {
                    failures.push(f);
                }
            }
        }
    }
    assert!(n > 0, "no golden case for {engines:?}");
    assert!(
        failures.is_empty(),
        "{} of {n} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn closed_forms_match_quantlib_to_1e_10() {
    run(&["analytic"]);
}

#[test]
fn fine_grid_pde_matches_quantlib() {
    run(&["pde_fine"]);
}

#[test]
fn monte_carlo_is_within_standard_errors_of_quantlib() {
    run(&["mc_se"]);
}
