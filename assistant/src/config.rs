//! Deskmate's configuration: one TOML file with documented defaults, every key overridable by an
//! environment variable.
//!
//! The variable for key `KEY` of section `[SECTION]` is `DESKMATE_SECTION_KEY` in upper case
//! (`[server] bind` → `DESKMATE_SERVER_BIND`). Lists are comma-separated in variables. Precedence:
//! defaults < file < environment. Unknown keys and invalid values are errors naming the key and
//! the allowed values, reported before anything starts. `deskmate.example.toml` at the repository
//! root documents every key; a test keeps it equal to [`Config::default`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The HTTP server.
    pub server: ServerConfig,
    /// Where state lives.
    pub storage: StorageConfig,
    /// Approval queue policy.
    pub approvals: ApprovalsConfig,
    /// Model files and backends.
    pub models: ModelsConfig,
    /// Logging.
    pub log: LogConfig,
}

/// `[server]`: the HTTP API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub bind: String,
    /// Longest time a request may take before it is answered with a timeout error, in seconds.
    pub request_timeout_secs: u64,
    /// Largest JSON request body, in bytes.
    pub max_body_bytes: u64,
    /// Largest upload (multipart) body, in bytes.
    pub max_upload_bytes: u64,
    /// Requests served at once; more are refused with 503 and `Retry-After`.
    pub concurrency_limit: u32,
    /// How long shutdown waits for in-flight requests, in seconds.
    pub shutdown_grace_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            request_timeout_secs: 60,
            max_body_bytes: 2 * 1024 * 1024,
            max_upload_bytes: 200 * 1024 * 1024,
            concurrency_limit: 64,
            shutdown_grace_secs: 30,
        }
    }
}

/// `[storage]`: the data directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// The data directory: SQLite database, audit anchor, indexes. Relative paths are taken from
    /// the working directory.
    pub data_dir: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("data"),
        }
    }
}

/// `[approvals]`: the approval queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalsConfig {
    /// Deadline for a new approval request when its maker names none, in seconds.
    pub default_expiry_secs: u64,
    /// Artifact kinds that always need four eyes (approver ≠ maker), whatever the request says.
    pub four_eyes_kinds: Vec<String>,
    /// How often the server marks overdue requests as expired, in seconds.
    pub sweep_interval_secs: u64,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        ApprovalsConfig {
            default_expiry_secs: 24 * 3600,
            four_eyes_kinds: vec![
                "extraction".into(),
                "confirmation_draft".into(),
                "report".into(),
            ],
            sweep_interval_secs: 5,
        }
    }
}

/// `[models]`: where model files are and which backend serves them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// The model directory (`~` is the home directory).
    pub dir: String,
    /// `local` (candle, in-process) or `remote` (an OpenAI-compatible server).
    pub backend: String,
    /// CPU threads for local inference (0 = all cores).
    pub threads: u32,
    /// Base URL of the remote OpenAI-compatible server, used when `backend = "remote"`.
    pub remote_base_url: String,
    /// API key for the remote server (secret: masked by `config show`).
    pub remote_api_key: String,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            dir: "~/.cache/deskmate/models".into(),
            backend: "local".into(),
            threads: 0,
            remote_base_url: String::new(),
            remote_api_key: String::new(),
        }
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter (`info`, `deskmate=debug,info`).
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

/// A configuration that cannot be used; each variant names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A key that Deskmate does not know.
    #[error("unknown config key `{key}` (from {origin}); allowed keys here: {allowed}")]
    UnknownKey {
        /// The dotted key.
        key: String,
        /// The file or variable it came from.
        origin: String,
        /// The keys allowed at that level.
        allowed: String,
    },
    /// A value of the wrong type or outside the allowed set.
    #[error("invalid value for config key `{key}`: {message}")]
    Invalid {
        /// The dotted key.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}

/// The effective configuration and where its values came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The configuration.
    pub config: Config,
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// The environment variables that overrode a value.
    pub env_overrides: Vec<String>,
}

const SECRET_MARKERS: [&str; 4] = ["api_key", "token", "secret", "password"];

impl Config {
    /// Loads defaults, then `file` (if given), then `DESKMATE_*` variables from `env`, and
    /// validates the result.
    pub fn load(
        file: Option<&Path>,
        env: &BTreeMap<String, String>,
    ) -> Result<LoadedConfig, ConfigError> {
        let defaults = toml::Value::try_from(Config::default()).expect("defaults serialise");
        let mut merged = defaults.clone();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            let value: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            merge_checked(
                &mut merged,
                &defaults,
                toml::Value::Table(value),
                "",
                &path.display().to_string(),
            )?;
        }
        let env_overrides = apply_env(&mut merged, &defaults, env)?;
        let config: Config =
            serde_path_to_error::deserialize(merged).map_err(|e| ConfigError::Invalid {
                key: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        config.validate()?;
        Ok(LoadedConfig {
            config,
            file: file.map(Path::to_path_buf),
            env_overrides,
        })
    }

    /// Checks values the types alone do not constrain.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.into(),
            message,
        };
        self.server.bind.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "server.bind",
                format!(
                    "{:?} is not an address; use IP:PORT such as 127.0.0.1:8080",
                    self.server.bind
                ),
            )
        })?;
        for (key, v) in [
            (
                "server.request_timeout_secs",
                self.server.request_timeout_secs,
            ),
            ("server.max_body_bytes", self.server.max_body_bytes),
            ("server.max_upload_bytes", self.server.max_upload_bytes),
            (
                "server.concurrency_limit",
                u64::from(self.server.concurrency_limit),
            ),
            (
                "approvals.default_expiry_secs",
                self.approvals.default_expiry_secs,
            ),
            (
                "approvals.sweep_interval_secs",
                self.approvals.sweep_interval_secs,
            ),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be greater than 0".into()));
            }
        }
        if self.storage.data_dir.as_os_str().is_empty() {
            return Err(invalid("storage.data_dir", "must not be empty".into()));
        }
        one_of("models.backend", &self.models.backend, &["local", "remote"])?;
        if self.models.backend == "remote" && self.models.remote_base_url.is_empty() {
            return Err(invalid(
                "models.remote_base_url",
                "must be set when models.backend = \"remote\"".into(),
            ));
        }
        one_of("log.format", &self.log.format, &["text", "json"])?;
        Ok(())
    }

    /// The model directory with `~` expanded.
    pub fn models_dir(&self) -> PathBuf {
        expand_home(&self.models.dir)
    }

    /// A copy with every secret (keys naming an API key, token, secret or password) replaced
    /// by `****`, for display.
    pub fn masked(&self) -> Config {
        let mut v = toml::Value::try_from(self).expect("config serialises");
        mask(&mut v);
        v.try_into().expect("masking keeps the shape")
    }

    /// The configuration as TOML with secrets masked, for `deskmate config show`.
    pub fn to_masked_toml(&self) -> String {
        toml::to_string_pretty(&self.masked()).expect("config serialises")
    }

    /// Every key as `(dotted key, environment variable)`, in file order.
    pub fn keys() -> Vec<(String, String)> {
        let defaults = toml::Value::try_from(Config::default()).expect("defaults serialise");
        let mut out = Vec::new();
        if let toml::Value::Table(sections) = defaults {
            for (section, table) in sections {
                if let toml::Value::Table(keys) = table {
                    for key in keys.keys() {
                        out.push((format!("{section}.{key}"), env_name(&section, key)));
                    }
                }
            }
        }
        out
    }
}

fn one_of(key: &str, value: &str, allowed: &[&str]) -> Result<(), ConfigError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            key: key.into(),
            message: format!(
                "{value:?} is not allowed; allowed values: {}",
                allowed.join(", ")
            ),
        })
    }
}

fn env_name(section: &str, key: &str) -> String {
    format!("DESKMATE_{}_{}", section.to_uppercase(), key.to_uppercase())
}

/// Expands a leading `~` to `$HOME`.
pub fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ if p == "~" => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| p.into()),
        _ => PathBuf::from(p),
    }
}

fn mask(v: &mut toml::Value) {
    if let toml::Value::Table(t) = v {
        for (k, v) in t.iter_mut() {
            if SECRET_MARKERS.iter().any(|m| k.contains(m)) {
                if let toml::Value::String(s) = v
                    && !s.is_empty()
                {
                    *s = "****".into();
                }
            } else {
                mask(v);
            }
        }
    }
}

/// Merges `incoming` into `merged`, rejecting keys that `defaults` does not have.
fn merge_checked(
    merged: &mut toml::Value,
    defaults: &toml::Value,
    incoming: toml::Value,
    prefix: &str,
    origin: &str,
) -> Result<(), ConfigError> {
    match (merged, defaults, incoming) {
        (toml::Value::Table(m), toml::Value::Table(d), toml::Value::Table(inc)) => {
            for (k, v) in inc {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                let Some(dv) = d.get(&k) else {
                    return Err(ConfigError::UnknownKey {
                        key,
                        origin: origin.into(),
                        allowed: d.keys().cloned().collect::<Vec<_>>().join(", "),
                    });
                };
                let slot = m.get_mut(&k).expect("merged starts as defaults");
                if dv.is_table() {
                    if !v.is_table() {
                        return Err(ConfigError::Invalid {
                            key,
                            message: "must be a table (a [section])".into(),
                        });
                    }
                    merge_checked(slot, dv, v, &key, origin)?;
                } else {
                    *slot = v;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn apply_env(
    merged: &mut toml::Value,
    defaults: &toml::Value,
    env: &BTreeMap<String, String>,
) -> Result<Vec<String>, ConfigError> {
    let mut known = BTreeMap::new();
    let mut used = Vec::new();
    let (toml::Value::Table(m), toml::Value::Table(d)) = (merged, defaults) else {
        return Ok(used);
    };
    for (section, dtable) in d {
        let toml::Value::Table(dkeys) = dtable else {
            continue;
        };
        for (key, dv) in dkeys {
            let var = env_name(section, key);
            known.insert(var.clone(), ());
            let Some(raw) = env.get(&var) else { continue };
            let dotted = format!("{section}.{key}");
            let bad = |what: &str| ConfigError::Invalid {
                key: dotted.clone(),
                message: format!("{var}={raw:?} is not {what}"),
            };
            let value = match dv {
                toml::Value::String(_) => toml::Value::String(raw.clone()),
                toml::Value::Integer(_) => {
                    toml::Value::Integer(raw.trim().parse().map_err(|_| bad("an integer"))?)
                }
                toml::Value::Float(_) => {
                    toml::Value::Float(raw.trim().parse().map_err(|_| bad("a number"))?)
                }
                toml::Value::Boolean(_) => toml::Value::Boolean(match raw.trim() {
                    "true" | "1" | "yes" => true,
                    "false" | "0" | "no" => false,
                    _ => return Err(bad("a boolean (true/false)")),
                }),
                toml::Value::Array(_) => toml::Value::Array(
                    raw.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| toml::Value::String(s.into()))
                        .collect(),
                ),
                _ => continue,
            };
            if let Some(toml::Value::Table(mt)) = m.get_mut(section) {
                mt.insert(key.clone(), value);
            }
            used.push(var);
        }
    }
    // A variable under a section's prefix that names no key of it is a typo: say so. Other
    // DESKMATE_ variables (test and bench switches) are not configuration.
    let sections: Vec<String> = d
        .keys()
        .map(|k| format!("DESKMATE_{}_", k.to_uppercase()))
        .collect();
    for var in env.keys() {
        if sections.iter().any(|p| var.starts_with(p.as_str())) && !known.contains_key(var) {
            return Err(ConfigError::UnknownKey {
                key: var.clone(),
                origin: "the environment".into(),
                allowed: known.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
    }
    Ok(used)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load_str(toml_text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("deskmate.toml");
        std::fs::write(&p, toml_text).unwrap();
        Config::load(Some(&p), &env(vars)).map(|l| l.config)
    }

    #[test]
    fn defaults_are_valid() {
        let c = Config::load(None, &env(&[])).unwrap().config;
        assert_eq!(c, Config::default());
    }

    #[test]
    fn file_then_env_override() {
        let c = load_str(
            "[server]\nbind = \"0.0.0.0:9000\"\n[approvals]\nfour_eyes_kinds = [\"quote\"]\n",
            &[
                ("DESKMATE_SERVER_CONCURRENCY_LIMIT", "7"),
                ("DESKMATE_LOG_FORMAT", "json"),
            ],
        )
        .unwrap();
        assert_eq!(c.server.bind, "0.0.0.0:9000");
        assert_eq!(c.server.concurrency_limit, 7);
        assert_eq!(c.log.format, "json");
        assert_eq!(c.approvals.four_eyes_kinds, vec!["quote"]);
        let c = load_str("", &[("DESKMATE_APPROVALS_FOUR_EYES_KINDS", "a, b")]).unwrap();
        assert_eq!(c.approvals.four_eyes_kinds, vec!["a", "b"]);
    }

    #[test]
    fn errors_name_the_key_and_allowed_values() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case<'_>] = &[
            (
                "[server]\nbnd = \"x\"",
                &[],
                "unknown config key `server.bnd`",
            ),
            (
                "[serve]\n",
                &[],
                "allowed keys here: approvals, log, models, server, storage",
            ),
            ("[log]\nformat = \"xml\"", &[], "allowed values: text, json"),
            ("[server]\nbind = \"localhost\"", &[], "`server.bind`"),
            (
                "[server]\nconcurrency_limit = \"many\"",
                &[],
                "server.concurrency_limit",
            ),
            ("[server]\nrequest_timeout_secs = 0", &[], "greater than 0"),
            (
                "",
                &[("DESKMATE_SERVER_CONCURRENCY_LIMIT", "lots")],
                "is not an integer",
            ),
            (
                "",
                &[("DESKMATE_SERVER_BINDD", "x")],
                "DESKMATE_SERVER_BINDD",
            ),
            (
                "[models]\nbackend = \"remote\"",
                &[],
                "models.remote_base_url",
            ),
            ("server = 3", &[], "must be a table"),
            ("[server\n", &[], "not valid TOML"),
        ];
        for (text, vars, expect) in cases {
            let e = load_str(text, vars).unwrap_err().to_string();
            assert!(e.contains(expect), "{text:?}: {e:?} lacks {expect:?}");
        }
    }

    #[test]
    fn secrets_are_masked() {
        let c = load_str("[models]\nremote_api_key = \"sk-123\"", &[]).unwrap();
        let shown = c.to_masked_toml();
        assert!(shown.contains("remote_api_key = \"****\""), "{shown}");
        assert!(!shown.contains("sk-123"));
    }

    #[test]
    fn example_file_matches_defaults() {
        let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../deskmate.example.toml");
        let c = Config::load(Some(Path::new(p)), &env(&[])).unwrap().config;
        assert_eq!(
            c,
            Config::default(),
            "deskmate.example.toml drifted from Config::default()"
        );
        let text = std::fs::read_to_string(p).unwrap();
        for (key, var) in Config::keys() {
            let leaf = key.split('.').nth(1).unwrap();
            assert!(text.contains(&format!("{leaf} =")), "example lacks {key}");
            assert!(text.contains(&var), "example does not name {var}");
        }
    }
}
