//! `deskmate price`: price one product file against a market file and print the result as JSON.
//!
//! `deskmate price --product kernels/examples/snowball.json --market kernels/examples/market.json
//! [--greeks] [--engine auto|analytic|mc|pde] [--paths N] [--backend auto|cpu|cuda] [--seed N]
//! [--solve coupon|strike|barrier|ko_level|ki_level|participation --target X --lo A --hi B]`

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use kernels::pricing::{EngineKind, PricingRequest, price};
use kernels::solve::{SolveParameter, SolveSpec, solve};
use kernels::{BackendChoice, MarketSet, Product};

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
    /// Engine: auto, analytic, mc or pde.
    #[arg(long, default_value = "auto")]
    pub engine: String,
    /// Monte Carlo paths.
    #[arg(long)]
    pub paths: Option<u64>,
    /// Monte Carlo backend: auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub backend: String,
    /// Monte Carlo seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Solve for a parameter instead: coupon, strike, barrier, ko_level, ki_level, participation.
    #[arg(long)]
    pub solve: Option<String>,
    /// Target value per unit notional for --solve (holder's side).
    #[arg(long, default_value_t = 0.0)]
    pub target: f64,
    /// Lower end of the --solve bracket.
    #[arg(long)]
    pub lo: Option<f64>,
    /// Upper end of the --solve bracket.
    #[arg(long)]
    pub hi: Option<f64>,
}

/// Builds the pricing request shared by `price` and `risk`.
pub fn request(
    engine: &str,
    backend: &str,
    greeks: bool,
    paths: Option<u64>,
    seed: Option<u64>,
) -> anyhow::Result<PricingRequest> {
    let mut req = PricingRequest {
        engine: engine.parse::<EngineKind>()?,
        backend: backend.parse::<BackendChoice>()?,
        greeks,
        ..PricingRequest::default()
    };
    if let Some(p) = paths {
        req.mc.paths = p;
    }
    if let Some(s) = seed {
        req.mc.seed = s;
    }
    Ok(req)
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
        &args.engine,
        &args.backend,
        args.greeks,
        args.paths,
        args.seed,
    )?;
    let out = match &args.solve {
        None => serde_json::to_value(price(&product, market, &req)?)?,
        Some(p) => {
            let parameter: SolveParameter = serde_json::from_value(serde_json::Value::String(p.clone()))
                .map_err(|_| anyhow::anyhow!("--solve: `{p}` is not one of coupon, strike, barrier, ko_level, ki_level, participation"))?;
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
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
