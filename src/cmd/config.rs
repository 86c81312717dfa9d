//! `deskmate config`.

use assistant::config::{Config, LoadedConfig};
use clap::Subcommand;

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Print the effective configuration (defaults < file < environment), secrets masked.
    Show {
        /// As JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
    /// List every key with its environment variable.
    Keys {
        /// As JSON: `[{"key", "env"}]`.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a configuration command.
pub fn run(cmd: ConfigCmd, loaded: &LoadedConfig) -> anyhow::Result<()> {
    match cmd {
        ConfigCmd::Show { json } => {
            if json {
                super::print_json(&loaded.config.masked());
            } else {
                match &loaded.file {
                    Some(f) => println!("# from {} and the built-in defaults", f.display()),
                    None => println!("# built-in defaults (no config file)"),
                }
                for var in &loaded.env_overrides {
                    println!("# overridden by {var}");
                }
                print!("{}", loaded.config.to_masked_toml());
            }
        }
        ConfigCmd::Keys { json: true } => {
            let keys: Vec<serde_json::Value> = Config::keys()
                .into_iter()
                .map(|(key, env)| serde_json::json!({"key": key, "env": env}))
                .collect();
            super::print_json(&keys);
        }
        ConfigCmd::Keys { json: false } => {
            for (key, var) in Config::keys() {
                println!("{key:40} {var}");
            }
        }
    }
    Ok(())
}
