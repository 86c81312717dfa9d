//! The first-look set-up of `deskmate up`: illustrative demo market data and a demo client.
//!
//! When `up` runs with no configuration file, it writes `./deskmate.toml` from
//! `demo/deskmate.demo.toml` (so every later command in that directory sees the same settings,
//! and the user can edit them) and `DATA_DIR/demo/markets.json` from `demo/markets.json`,
//! stamped with today's date. An existing configuration is never touched. `serve` never calls
//! this. See `demo/README.md`.
//!
//! On a data dir without market data, `up` also imports the real daily series of
//! `demo/market-data/` (S&P 500, NASDAQ Composite, WTI crude, 2018; provenance in its
//! MANIFEST.md), so the research page has moves to show.

use std::path::{Path, PathBuf};

const MARKETS: &str = include_str!("../../demo/markets.json");
const CONFIG: &str = include_str!("../../demo/deskmate.demo.toml");

/// The demo's real market data: (file name, contract, unit, bytes).
const MARKET_DATA: &[(&str, &str, &str, &[u8])] = &[
    (
        "sp500-2018.csv",
        "S&P 500",
        "points",
        include_bytes!("../../demo/market-data/sp500-2018.csv"),
    ),
    (
        "nasdaq-2018.csv",
        "NASDAQ Composite",
        "points",
        include_bytes!("../../demo/market-data/nasdaq-2018.csv"),
    ),
    (
        "wti-2018.csv",
        "WTI crude",
        "USD/bbl",
        include_bytes!("../../demo/market-data/wti-2018.csv"),
    ),
];

/// Imports the demo's market data when the store holds none; returns what it did, for the
/// start-up message.
pub fn import_market_data(a: &assistant::Assistant) -> anyhow::Result<Option<String>> {
    let actor = super::admin::operator();
    if !a.market_contracts(&actor)?.is_empty() {
        return Ok(None);
    }
    let mut moves = 0;
    for (name, contract, unit, bytes) in MARKET_DATA {
        moves += a
            .market_import(&actor, name, bytes, Some(contract), Some(unit))?
            .events
            .len();
    }
    Ok(Some(format!(
        "real 2018 daily prices of the S&P 500, NASDAQ Composite and WTI crude (demo/market-data): {moves} moves on /research"
    )))
}

/// Writes the demo market data into `data_dir/demo/markets.json`, dated today.
pub fn write_markets(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let mut v: serde_json::Value = serde_json::from_str(MARKETS)?;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("_note");
    }
    if let Some(markets) = v["markets"].as_object_mut() {
        for m in markets.values_mut() {
            m["valuation_date"] = serde_json::Value::String(today.clone());
        }
    }
    let dir = data_dir.join("demo");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("markets.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&v)?)?;
    Ok(path)
}

/// Writes the demo configuration to `path` unless a file is there; returns whether it wrote.
pub fn write_config(path: &Path) -> anyhow::Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    std::fs::write(path, CONFIG)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn demo_files_are_valid_and_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("deskmate.toml");
        assert!(write_config(&cfg).unwrap());
        let loaded = assistant::Config::load(Some(&cfg), &BTreeMap::new())
            .unwrap()
            .config;
        assert_eq!(loaded.rfq.market_data, "data/demo/markets.json");
        assert!(loaded.limits.clients.contains_key("DEMO"));
        std::fs::write(&cfg, "# mine\n").unwrap();
        assert!(!write_config(&cfg).unwrap());
        assert_eq!(std::fs::read_to_string(&cfg).unwrap(), "# mine\n");
        let markets = write_markets(dir.path()).unwrap();
        let set = kernels::MarketSet::from_json("demo", &std::fs::read_to_string(markets).unwrap());
        assert_eq!(set.unwrap().get("000905.SH").unwrap().spot, 6000.0);
    }

    #[test]
    fn the_demo_market_data_is_imported_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = assistant::config::Config::default();
        c.storage.data_dir = dir.path().to_path_buf();
        let a = assistant::Assistant::open(c).unwrap();
        let said = import_market_data(&a).unwrap().unwrap();
        assert!(said.contains("moves on /research"), "{said}");
        let actor = crate::cmd::admin::operator();
        let contracts = a.market_contracts(&actor).unwrap();
        assert_eq!(
            contracts
                .iter()
                .map(|c| c.contract.as_str())
                .collect::<Vec<_>>(),
            ["NASDAQ Composite", "S&P 500", "WTI crude"]
        );
        assert!(import_market_data(&a).unwrap().is_none(), "only once");
    }
}
