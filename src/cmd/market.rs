//! `deskmate market …`: market data and events for research and risk from the command line
//! (the same workflow as `/v1/market-data` and `/v1/events`, run as the local operator).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::{LoadedConfig, open, print_json};

/// Which events to list.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum EventKind {
    /// Moves found in the market data.
    Move,
    /// Risk events opened by hand.
    Risk,
}

/// `deskmate market …`.
#[derive(Debug, Subcommand)]
pub enum MarketCmd {
    /// Import a CSV or JSON file of daily bars (date, contract, open/high/low/close,
    /// settlement, volume, open interest); refused whole naming the row and column of a bad
    /// value; prints the notices and the move events found.
    Import {
        /// The file.
        file: PathBuf,
        /// The contract of a file without a contract column (a FRED series is named by its
        /// code otherwise).
        #[arg(long)]
        contract: Option<String>,
        /// What the prices are in (`USD/bbl`, `CNY/t`, `points`) when the file has no unit
        /// column.
        #[arg(long)]
        unit: Option<String>,
        /// Print the import as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The contracts with market data, each with its first and last day.
    Contracts {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Events, newest first: moves found in the data, risk events opened by hand.
    Events {
        /// Only this kind.
        #[arg(long, value_enum)]
        kind: Option<EventKind>,
        /// Only this contract.
        #[arg(long)]
        contract: Option<String>,
        /// Chinese descriptions of moves.
        #[arg(long)]
        zh: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Open a risk event by hand: a topic, the products it concerns and its window.
    Open {
        /// What the event is about.
        #[arg(long)]
        topic: String,
        /// The products or contracts (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        products: Vec<String>,
        /// The first day of its window (YYYY-MM-DD).
        #[arg(long)]
        from: String,
        /// The last day of its window (YYYY-MM-DD).
        #[arg(long)]
        until: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `deskmate market …`.
pub fn run(cmd: MarketCmd, loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    let actor = super::admin::operator();
    match cmd {
        MarketCmd::Import {
            file,
            contract,
            unit,
            json,
        } => {
            let bytes = std::fs::read(&file).with_context(|| format!("{}", file.display()))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.display().to_string());
            let r = a.market_import(&actor, &name, &bytes, contract.as_deref(), unit.as_deref())?;
            if json {
                print_json(&r);
                return Ok(());
            }
            println!(
                "{name}: {} new bar(s), {} already held, contracts {}",
                r.bars_new,
                r.bars_known,
                r.contracts.join(", ")
            );
            for n in &r.notices {
                println!("  notice: {}", n.message);
            }
            for e in &r.events {
                println!("  move: {}", e.topic);
            }
        }
        MarketCmd::Contracts { json } => {
            let c = a.market_contracts(&actor)?;
            if json {
                print_json(&c);
                return Ok(());
            }
            for s in &c {
                println!(
                    "{}\t{} .. {}\t{} bar(s)",
                    s.contract, s.first, s.last, s.bars
                );
            }
        }
        MarketCmd::Events {
            kind,
            contract,
            zh,
            json,
        } => {
            let kind = kind.map(|k| match k {
                EventKind::Move => "move",
                EventKind::Risk => "risk",
            });
            let events = a.market_events(&actor, kind, contract.as_deref())?;
            if json {
                print_json(&events);
                return Ok(());
            }
            for e in &events {
                let text = match (e.kind.as_str(), zh) {
                    ("move", true) => e.details["description_zh"]
                        .as_str()
                        .unwrap_or(&e.topic)
                        .to_string(),
                    ("risk", _) => {
                        format!("{} [{} .. {}] {}", e.contract, e.date, e.until, e.topic)
                    }
                    _ => e.topic.clone(),
                };
                println!("{}\t{}\t{text}", e.id, e.kind);
            }
        }
        MarketCmd::Open {
            topic,
            products,
            from,
            until,
            json,
        } => {
            let e = a.event_open(&actor, &topic, &products, &from, &until)?;
            if json {
                print_json(&e);
            } else {
                println!("{} opened: {}", e.id, e.topic);
            }
        }
    }
    Ok(())
}
