//! `deskmate config`.

use assistant::config::{Config, LoadedConfig};
use clap::Subcommand;
use std::process::ExitCode;

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
    Keys,
}

/// Runs a configuration command.
pub fn run(cmd: ConfigCmd, loaded: &LoadedConfig) -> anyhow::Result<ExitCode> {
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
        ConfigCmd::Keys => {
            for (key, var) in Config::keys() {
                println!("{key:40} {var}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
