//! The command implementations, one module per command group, and what they share: loading the
//! configuration and setting up logging.

pub mod admin;
pub mod approvals;
pub mod audit;
pub mod backup;
pub mod chat;
pub mod choice;
pub mod chunk;
pub mod completions;
pub mod compliance;
pub mod config;
pub mod demo;
pub mod draft;
pub mod eval;
pub mod extract;
pub mod generate;
pub mod knowledge;
pub mod market;
pub mod models;
pub mod price;
pub mod progress;
pub mod proofread;
pub mod rfq;
pub mod risk;
pub mod search;
pub mod server;
pub mod ui;

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

/// The workspace's crates: their logs are the product's; every other crate's are a developer's.
const OWN_CRATES: &[&str] = &[
    "deskmate",
    "assistant",
    "cjk",
    "compliance",
    "connectors",
    "drafting",
    "evals",
    "extraction",
    "kernels",
    "knowledge",
    "models",
    "policies",
    "research",
    "rfq",
    "web",
];

/// The log filter: `RUST_LOG` when set (developers, verbatim); else `log.level` for the
/// workspace's crates (lifted to `warn` for every command but `serve` while it is the default
/// `info`, so that a command prints its result and not its progress) and `error` for third-party crates
/// (their warnings, such as qdrant-edge's start-up notices, are not the user's business). A
/// `log.level` that is itself a directive list (`web=debug,info`) is taken verbatim.
pub fn log_filter(level: &str, server: bool, rust_log: Option<&str>) -> String {
    if let Some(f) = rust_log.filter(|f| !f.trim().is_empty()) {
        return f.to_string();
    }
    if level.contains('=') || level.contains(',') {
        return level.to_string();
    }
    let own = if !server && level == "info" {
        "warn"
    } else {
        level
    };
    let mut f = String::from("error");
    for c in OWN_CRATES {
        f.push_str(&format!(",{c}={own}"));
    }
    f
}

/// Logs to stderr, as text or JSON lines, filtered by [`log_filter`].
pub fn init_logging(config: &Config, server: bool) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let spec = log_filter(&config.log.level, server, rust_log.as_deref());
    let filter = tracing_subscriber::EnvFilter::try_new(&spec)
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
    // The error keeps its type (for the exit status) under the context.
    assistant::Assistant::open(loaded.config.clone()).map_err(|e| {
        anyhow::Error::new(e).context(format!(
            "cannot open data dir {}",
            loaded.config.storage.data_dir.display()
        ))
    })
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).expect("serialisable"));
}

#[cfg(test)]
mod tests {
    use super::{OWN_CRATES, log_filter};

    #[test]
    fn own_crates_are_the_workspace_members() {
        // A crate added to the workspace but not here would have its logs silenced as a
        // third party's.
        let manifest: toml::Value = toml::from_str(include_str!("../../Cargo.toml")).unwrap();
        let mut members: Vec<&str> = manifest["workspace"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .map(|m| if m == "." { "deskmate" } else { m })
            .collect();
        members.sort_unstable();
        let mut own = OWN_CRATES.to_vec();
        own.sort_unstable();
        assert_eq!(own, members);
    }

    #[test]
    fn third_party_logs_are_quiet_unless_a_developer_asks() {
        let f = log_filter("info", false, None);
        assert!(f.starts_with("error,"), "{f}");
        assert!(f.contains(",knowledge=warn"), "{f}");
        assert!(log_filter("info", true, None).contains(",web=info"));
        assert!(log_filter("debug", false, None).contains(",assistant=debug"));
        assert_eq!(log_filter("web=debug,info", false, None), "web=debug,info");
        assert_eq!(
            log_filter("info", false, Some("qdrant_edge=trace")),
            "qdrant_edge=trace"
        );
        assert!(log_filter("info", false, Some(" ")).starts_with("error,"));
    }
}
