//! The command implementations, one module per command group, and what they share: loading the
//! configuration and setting up logging.

pub mod admin;
pub mod approvals;
pub mod audit;
pub mod backup;
pub mod chat;
pub mod chunk;
pub mod compliance;
pub mod config;
pub mod demo;
pub mod draft;
pub mod eval;
pub mod extract;
pub mod generate;
pub mod knowledge;
pub mod models;
pub mod price;
pub mod proofread;
pub mod rfq;
pub mod risk;
pub mod search;
pub mod server;

use assistant::config::{Config, ConfigError, LoadedConfig};
use std::collections::BTreeMap;
use std::path::Path;

/// Loads the configuration: `--config`/`DESKMATE_CONFIG`, else `./deskmate.toml` if present,
/// then `DESKMATE_*` variables.
pub fn load_config(file: Option<&Path>) -> Result<LoadedConfig, ConfigError> {
    let default = Path::new("deskmate.toml");
    let file = file.or_else(|| default.exists().then_some(default));
    let env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("DESKMATE_"))
        .collect();
    Config::load(file, &env)
}

/// Logs to stderr, as text or JSON lines.
pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    if config.log.format == assistant::config::LogFormat::Json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Sets the CPU threads of local inference once for the process, before any model runs:
/// `requested` (a command-line flag), else `models.threads`, where 0 means every core.
pub fn set_model_threads(config: &Config, requested: Option<usize>) -> usize {
    let n = match requested.unwrap_or(config.models.threads as usize) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    ::models::runtime::set_threads(n)
}

/// Opens the assistant over the configured data dir.
pub fn open(loaded: &LoadedConfig) -> anyhow::Result<assistant::Assistant> {
    assistant::Assistant::open(loaded.config.clone()).map_err(|e| {
        anyhow::anyhow!(
            "cannot open data dir {}: {e}",
            loaded.config.storage.data_dir.display()
        )
    })
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}
