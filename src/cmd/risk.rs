//! `deskmate risk`: revalue a book (JSON Lines, one product per line) with Greeks, or value it
//! over a scenario grid; prints a table per contract with the book's totals, or the grid's values
//! (`--json`: the kernels' result as JSON). Contracts that fail carry their error in the output;
//! the command fails only when nothing can be read.
//!
//! `deskmate risk --book kernels/examples/book.jsonl --market kernels/examples/markets_by_underlying.json
//! [--grid spot=80:120:1,vol=-5:5:1,days=0;30] [--engine auto|analytic|mc|pde] [--paths N]
//! [--backend auto|cpu|cuda] [--no-greeks]`

use std::path::PathBuf;

use super::choice::{Backend, Engine};
use anyhow::Context;
use clap::Args;
use kernels::MarketSet;
use kernels::risk::{
    GridSpec, parse_book, revalue_book_with_progress, scenario_grid_with_progress,
};

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
    /// The engine.
    #[arg(long, value_enum, default_value_t = Engine::Auto)]
    pub engine: Engine,
    /// Monte Carlo paths.
    #[arg(long)]
    pub paths: Option<u64>,
    /// The Monte Carlo backend.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// Skip Greeks in book revaluation.
    #[arg(long)]
    pub no_greeks: bool,
    /// Print the result as JSON (the kernels' revaluation or grid, unchanged).
    #[arg(long)]
    pub json: bool,
}

/// Runs `deskmate risk`.
pub fn run(args: RiskArgs) -> anyhow::Result<()> {
    let btext = std::fs::read_to_string(&args.book)
        .with_context(|| format!("reading {}", args.book.display()))?;
    let mtext = std::fs::read_to_string(&args.market)
        .with_context(|| format!("reading {}", args.market.display()))?;
    let book = parse_book(&args.book.display().to_string(), &btext);
    let markets = MarketSet::from_json(&args.market.display().to_string(), &mtext)?;
    let req = super::price::request(args.engine, args.backend, !args.no_greeks, args.paths, None);
    let bar = super::progress::Bar::new(book.len() as u64, "contracts");
    let on_progress = |done: usize, total: usize| bar.set(done as u64, total as u64);
    let out = match &args.grid {
        Some(g) => serde_json::to_value(scenario_grid_with_progress(
            &book,
            &markets,
            &GridSpec::parse(g)?,
            &req,
            &on_progress,
        )?)?,
        None => serde_json::to_value(revalue_book_with_progress(
            &book,
            &markets,
            &req,
            &on_progress,
        )?)?,
    };
    drop(bar);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let ui = super::ui::Ui::from_env();
    let mut currencies: Vec<&str> = book
        .iter()
        .filter_map(|c| c.as_ref().ok().map(|p| p.currency.as_str()))
        .collect();
    currencies.sort_unstable();
    currencies.dedup();
    let ccy = match currencies.as_slice() {
        [one] => one.to_string(),
        _ => ui
            .t(
                "(mixed currencies, summed as numbers)",
                "（多币种，按数值加总）",
            )
            .to_string(),
    };
    if args.grid.is_some() {
        print_grid(&ui, &out, &ccy);
    } else {
        print_book(&ui, &out, &ccy);
    }
    Ok(())
}

fn print_book(ui: &super::ui::Ui, out: &serde_json::Value, ccy: &str) {
    use super::ui::grouped;
    let money = |v: &serde_json::Value| v.as_f64().map_or("-".into(), |x| grouped(x, 0));
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for c in out["contracts"].as_array().into_iter().flatten() {
        let r = &c["result"];
        if r.is_object() {
            rows.push(vec![
                c["id"].as_str().unwrap_or("").to_string(),
                money(&r["value"]),
                money(&r["greeks"]["delta"]),
                money(&r["greeks"]["vega"]),
                money(&r["greeks"]["theta"]),
                r["engine"].as_str().unwrap_or("").to_string(),
            ]);
        } else {
            failed.push(format!(
                "  {}: {}",
                c["id"].as_str().unwrap_or(""),
                ui.bad(c["error"]["message"].as_str().unwrap_or("error"))
            ));
        }
    }
    let t = &out["total_greeks"];
    rows.push(vec![
        ui.bold(ui.t("TOTAL", "合计")),
        ui.bold(&money(&out["total_value"])),
        money(&t["delta"]),
        money(&t["vega"]),
        money(&t["theta"]),
        String::new(),
    ]);
    ui.table(
        &[
            ui.t("CONTRACT", "合约"),
            ui.t("VALUE", "估值"),
            "DELTA",
            "VEGA",
            "THETA",
            ui.t("ENGINE", "引擎"),
        ],
        &rows,
    );
    if !failed.is_empty() {
        println!();
        println!("{}", ui.t("Not priced:", "未能定价："));
        for f in failed {
            println!("{f}");
        }
    }
    println!();
    println!(
        "{} {ccy}; {} {}, {} {}; {:.0} ms",
        ui.t("Amounts in", "金额单位："),
        out["priced"],
        ui.t("priced", "笔已定价"),
        out["failed"],
        ui.t("failed", "笔失败"),
        out["elapsed_ms"].as_f64().unwrap_or(0.0)
    );
}

fn print_grid(ui: &super::ui::Ui, out: &serde_json::Value, ccy: &str) {
    use super::ui::grouped;
    let axes = &out["axes"];
    let spots: Vec<f64> = axes["spot_pct"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_f64())
        .collect();
    let vols: Vec<f64> = axes["vol_shift"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_f64())
        .collect();
    let days: Vec<i64> = axes["days"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_i64())
        .collect();
    println!(
        "{} ({ccy})",
        ui.bold(ui.t("Book value by scenario", "各情景下的组合估值"))
    );
    for (d, day) in days.iter().enumerate() {
        println!();
        println!(
            "{} +{day} {}",
            ui.t("Days forward:", "前移天数："),
            ui.t("days", "天")
        );
        let mut headers = vec![ui.t("SPOT % \\ VOL", "现价% \\ 波动率").to_string()];
        headers.extend(vols.iter().map(|v| format!("{v:+}")));
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = spots
            .iter()
            .enumerate()
            .map(|(s, spot)| {
                let mut r = vec![format!("{spot}")];
                for v in 0..vols.len() {
                    // value[day][vol][spot]
                    r.push(
                        out["value"][d][v][s]
                            .as_f64()
                            .map_or("-".into(), |x| grouped(x, 0)),
                    );
                }
                r
            })
            .collect();
        ui.table(&headers, &rows);
    }
    let errors = out["errors"].as_array().map_or(0, Vec::len);
    if errors > 0 {
        println!();
        println!(
            "{} {errors} ({})",
            ui.t("Contracts left out:", "未计入的合约："),
            ui.t("--json lists them with their errors", "--json 列出其错误")
        );
    }
}
