//! `deskmate price`: price one product file against a market file; prints the value in the
//! product's currency, the Greeks and the engine (`--json`: the kernels' result as JSON).
//!
//! `deskmate price --product kernels/examples/snowball.json --market kernels/examples/market.json
//! [--greeks] [--engine auto|analytic|mc|pde] [--paths N] [--backend auto|cpu|cuda] [--seed N]
//! [--solve coupon|strike|barrier|ko_level|ki_level|participation --target X --lo A --hi B]`

use std::path::PathBuf;

use super::choice::{Backend, Engine, Solve};
use anyhow::Context;
use clap::Args;
use kernels::pricing::{PricingRequest, price};
use kernels::solve::{SolveSpec, solve};
use kernels::{MarketSet, Product};

/// Arguments of `deskmate price`.
#[derive(Debug, Args)]
pub struct PriceArgs {
    /// Product JSON file (see kernels/examples/).
    #[arg(long)]
    pub product: PathBuf,
    /// Market JSON file: one market, or `{"markets": {...}}` keyed by underlying.
    #[arg(long)]
    pub market: PathBuf,
    /// Also compute delta, gamma, vega, theta, rho.
    #[arg(long)]
    pub greeks: bool,
    /// The engine.
    #[arg(long, value_enum, default_value_t = Engine::Auto)]
    pub engine: Engine,
    /// Monte Carlo paths.
    #[arg(long)]
    pub paths: Option<u64>,
    /// The Monte Carlo backend.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// Monte Carlo seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Solve for a parameter instead (with --lo and --hi).
    #[arg(long, value_enum, requires_all = ["lo", "hi"])]
    pub solve: Option<Solve>,
    /// Target value per unit notional for --solve (holder's side).
    #[arg(long, default_value_t = 0.0)]
    pub target: f64,
    /// Lower end of the --solve bracket.
    #[arg(long)]
    pub lo: Option<f64>,
    /// Upper end of the --solve bracket.
    #[arg(long)]
    pub hi: Option<f64>,
    /// Print the result as JSON (the kernels' result or solve result, unchanged).
    #[arg(long)]
    pub json: bool,
}

/// Builds the pricing request shared by `price` and `risk`.
pub fn request(
    engine: Engine,
    backend: Backend,
    greeks: bool,
    paths: Option<u64>,
    seed: Option<u64>,
) -> PricingRequest {
    let mut req = PricingRequest {
        engine: engine.into(),
        backend: backend.into(),
        greeks,
        ..PricingRequest::default()
    };
    if let Some(p) = paths {
        req.mc.paths = p;
    }
    if let Some(s) = seed {
        req.mc.seed = s;
    }
    req
}

/// Runs `deskmate price`.
pub fn run(args: PriceArgs) -> anyhow::Result<()> {
    let ptext = std::fs::read_to_string(&args.product)
        .with_context(|| format!("reading {}", args.product.display()))?;
    let mtext = std::fs::read_to_string(&args.market)
        .with_context(|| format!("reading {}", args.market.display()))?;
    let product = Product::from_json(&args.product.display().to_string(), &ptext)?;
    let markets = MarketSet::from_json(&args.market.display().to_string(), &mtext)?;
    let market = markets.get(&product.underlying)?;
    let req = request(
        args.engine,
        args.backend,
        args.greeks,
        args.paths,
        args.seed,
    );
    let out = match &args.solve {
        None => serde_json::to_value(price(&product, market, &req)?)?,
        Some(p) => {
            let parameter = (*p).into();
            let (lo, hi) = match (args.lo, args.hi) {
                (Some(a), Some(b)) => (a, b),
                _ => anyhow::bail!("--solve needs --lo and --hi"),
            };
            serde_json::to_value(solve(
                &product,
                market,
                &req,
                &SolveSpec {
                    parameter,
                    target: args.target,
                    lo,
                    hi,
                    tol: 1e-7,
                },
            )?)?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_result(&super::ui::Ui::from_env(), &product, &out);
    }
    Ok(())
}

/// The human form of one pricing (or solve) result.
fn print_result(ui: &super::ui::Ui, product: &Product, out: &serde_json::Value) {
    use super::ui::grouped;
    let ccy = product.currency.as_str();
    println!(
        "{}  {} {}, {} {} {ccy}",
        ui.bold(&product.id),
        product.kind.as_deref().unwrap_or(""),
        product.underlying,
        ui.t("notional", "名义本金"),
        grouped(product.notional, 0)
    );
    let num = |k: &str| out[k].as_f64().unwrap_or(0.0);
    let mut rows: Vec<(&str, String)> = Vec::new();
    if let Some(parameter) = out["parameter"].as_str() {
        rows.push((
            ui.t("solved", "求解"),
            ui.bold(&format!("{parameter} = {:.6}", num("solution"))),
        ));
        rows.push((
            ui.t("value", "估值"),
            format!(
                "{:.4}% {}",
                num("value_per_notional") * 100.0,
                ui.t("of notional", "名义本金")
            ),
        ));
        rows.push((
            ui.t("evaluations", "定价次数"),
            out["evaluations"].to_string(),
        ));
    } else {
        let mut value = format!(
            "{} {ccy} ({:.4}% {})",
            grouped(num("value"), 2),
            num("value_per_notional") * 100.0,
            ui.t("of notional", "名义本金")
        );
        if num("std_error") > 0.0 {
            value.push_str(&format!(
                ", {} {} {ccy}",
                ui.t("std error", "标准误差"),
                grouped(num("std_error"), 2)
            ));
        }
        rows.push((ui.t("value", "估值"), ui.bold(&value)));
        let mut engine = format!(
            "{} {} {}",
            out["engine"].as_str().unwrap_or(""),
            ui.t("on", "于"),
            out["backend"].as_str().unwrap_or("")
        );
        if let Some(p) = out["paths"].as_u64() {
            engine.push_str(&format!(
                ", {} {}",
                grouped(p as f64, 0),
                ui.t("paths", "条路径")
            ));
        }
        if let (Some(t), Some(x)) = (out["time_steps"].as_u64(), out["space_nodes"].as_u64()) {
            engine.push_str(&format!(", {t} × {x} {}", ui.t("grid", "网格")));
        }
        engine.push_str(&format!(", {:.0} ms", num("elapsed_ms")));
        rows.push((ui.t("engine", "引擎"), engine));
        let g = &out["greeks"];
        if g.is_object() {
            let f = |k: &str| grouped(g[k].as_f64().unwrap_or(0.0), 2);
            rows.push((
                "delta",
                format!(
                    "{} {ccy} {}",
                    f("delta"),
                    ui.t("per 1.00 of spot", "每 1.00 标的价格")
                ),
            ));
            rows.push((
                "gamma",
                format!(
                    "{} {ccy} {}",
                    f("gamma"),
                    ui.t("per 1.00 of spot, squared", "每 1.00 标的价格（二阶）")
                ),
            ));
            rows.push((
                "vega",
                format!(
                    "{} {ccy} {}",
                    f("vega"),
                    ui.t(
                        "per 1.00 of vol (100 vol points)",
                        "每 1.00 波动率（100 个波动率点）"
                    )
                ),
            ));
            rows.push((
                "theta",
                format!(
                    "{} {ccy} {}",
                    f("theta"),
                    ui.t("per calendar day", "每自然日")
                ),
            ));
            rows.push((
                "rho",
                format!(
                    "{} {ccy} {}",
                    f("rho"),
                    ui.t("per 1.00 of rate", "每 1.00 利率")
                ),
            ));
        }
    }
    ui.fields(&rows);
}
