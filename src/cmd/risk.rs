//! `deskmate risk`: revalue a book (JSON Lines, one product per line) with Greeks, or value it
//! over a scenario grid, and print JSON. Contracts that fail carry their error in the output;
//! the command fails only when nothing can be read.
//!
//! `deskmate risk --book kernels/examples/book.jsonl --market kernels/examples/markets_by_underlying.json
//! [--grid spot=80:120:1,vol=-5:5:1,days=0;30] [--engine auto|analytic|mc|pde] [--paths N]
//! [--backend auto|cpu|cuda] [--no-greeks]`

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use kernels::MarketSet;
use kernels::risk::{GridSpec, parse_book, revalue_book, scenario_grid};

/// Arguments of `deskmate risk`.
#[derive(Debug, Args)]
pub struct RiskArgs {
    /// Book file, JSON Lines (one product per line).
    #[arg(long)]
    pub book: PathBuf,
    /// Market JSON file: one market, or `{"markets": {...}}` keyed by underlying.
    #[arg(long)]
    pub market: PathBuf,
    /// Scenario grid, e.g. `spot=80:120:1,vol=-5:5:1,days=0;30` (spot in % of current spot,
    /// vol shifts in vol points, days forward).
    #[arg(long)]
    pub grid: Option<String>,
    /// Engine: auto, analytic, mc or pde.
    #[arg(long, default_value = "auto")]
    pub engine: String,
    /// Monte Carlo paths.
    #[arg(long)]
    pub paths: Option<u64>,
    /// Monte Carlo backend: auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    pub backend: String,
    /// Skip Greeks in book revaluation.
    #[arg(long)]
    pub no_greeks: bool,
}

/// Runs `deskmate risk`.
pub fn run(args: RiskArgs) -> anyhow::Result<()> {
    let btext = std::fs::read_to_string(&args.book)
        .with_context(|| format!("reading {}", args.book.display()))?;
    let mtext = std::fs::read_to_string(&args.market)
        .with_context(|| format!("reading {}", args.market.display()))?;
    let book = parse_book(&args.book.display().to_string(), &btext);
    let markets = MarketSet::from_json(&args.market.display().to_string(), &mtext)?;
    let req = super::price::request(
        &args.engine,
        &args.backend,
        !args.no_greeks,
        args.paths,
        None,
    )?;
    let out = match &args.grid {
        Some(g) => {
            serde_json::to_value(scenario_grid(&book, &markets, &GridSpec::parse(g)?, &req)?)?
        }
        None => serde_json::to_value(revalue_book(&book, &markets, &req)?)?,
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
