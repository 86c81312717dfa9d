//! The first-look set-up of `deskmate up`: illustrative demo market data and a demo client.
//!
//! When `up` runs with no configuration file, it writes `./deskmate.toml` from
//! `demo/deskmate.demo.toml` (so every later command in that directory sees the same settings,
//! and the user can edit them) and `DATA_DIR/demo/markets.json` from `demo/markets.json`,
//! stamped with today's date. An existing configuration is never touched. `serve` never calls
//! this. See `demo/README.md`.

use std::path::{Path, PathBuf};

const MARKETS: &str = include_str!("../../demo/markets.json");
const CONFIG: &str = include_str!("../../demo/deskmate.demo.toml");

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
}
