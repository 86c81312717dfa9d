//! The models of a running process: each installed model is loaded at most once, on first use,
//! and shared as an `Arc` by every caller; remote backends can be registered under a name too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use policies::redact::PromptPolicy;

use crate::embed::{BertEmbedder, Embedder};
use crate::error::ModelError;
use crate::generate::{Generator, GeneratorOptions, LocalGenerator};
use crate::privacy::Redacting;
use crate::store::{ModelStore, Role};

/// A model name with what it is, for listings (`/v1/models`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// The name to ask for.
    pub id: String,
    /// What it does.
    pub role: Role,
    /// `local` or `remote`.
    pub backend: &'static str,
}

/// Loaded models by name.
pub struct Models {
    store: ModelStore,
    opts: GeneratorOptions,
    generators: Mutex<HashMap<String, Arc<dyn Generator>>>,
    embedders: Mutex<HashMap<String, Arc<dyn Embedder>>>,
    prompt_policy: Arc<RwLock<PromptPolicy>>,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Models {
    /// Models from `store`, generators loaded with `opts`; prompts are redacted by
    /// [`PromptPolicy::standard`] with no client names until [`Models::set_prompt_policy`].
    pub fn new(store: ModelStore, opts: GeneratorOptions) -> Self {
        Self {
            store,
            opts,
            generators: Mutex::new(HashMap::new()),
            embedders: Mutex::new(HashMap::new()),
            prompt_policy: Arc::new(RwLock::new(PromptPolicy::standard(Vec::new()))),
        }
    }

    /// What every generator of this registry redacts before a prompt (applies to generators
    /// already loaded too).
    pub fn set_prompt_policy(&self, policy: PromptPolicy) {
        *self
            .prompt_policy
            .write()
            .unwrap_or_else(|p| p.into_inner()) = policy;
    }

    /// The current redaction policy.
    pub fn prompt_policy(&self) -> PromptPolicy {
        self.prompt_policy
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn wrap(&self, g: Arc<dyn Generator>) -> Arc<dyn Generator> {
        Arc::new(Redacting::new(g, self.prompt_policy.clone()))
    }

    /// The model store.
    pub fn store(&self) -> &ModelStore {
        &self.store
    }

    /// The installed model called `name`, catalog aliases (`default`, `fast`) resolved as
    /// [`Models::generator`] resolves them.
    pub fn entry(&self, name: &str) -> Result<crate::ModelEntry, ModelError> {
        self.store.get(resolve(name))
    }

    /// The generator called `name`: a registered one, else the installed model (loaded now if it
    /// is the first request for it). Catalog aliases (`default`, `fast`) resolve to their model.
    pub fn generator(&self, name: &str) -> Result<Arc<dyn Generator>, ModelError> {
        let name = resolve(name);
        let mut map = self.generators.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(g) = map.get(name) {
            return Ok(g.clone());
        }
        let entry = self.store.get(name)?;
        if entry.manifest.role != Role::Generator {
            return Err(ModelError::InvalidInput(format!(
                "model `{name}` is not a generator"
            )));
        }
        let g = self.wrap(Arc::new(LocalGenerator::load(&entry, self.opts.clone())?));
        map.insert(name.to_string(), g.clone());
        Ok(g)
    }

    /// The embedder called `name` (registered, else installed and loaded on first use).
    pub fn embedder(&self, name: &str) -> Result<Arc<dyn Embedder>, ModelError> {
        let name = resolve(name);
        let mut map = self.embedders.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.get(name) {
            return Ok(e.clone());
        }
        let entry = self.store.get(name)?;
        if entry.manifest.role != Role::Embedder {
            return Err(ModelError::InvalidInput(format!(
                "model `{name}` is not an embedder"
            )));
        }
        let e: Arc<dyn Embedder> = Arc::new(BertEmbedder::load(&entry)?);
        map.insert(name.to_string(), e.clone());
        Ok(e)
    }

    /// Registers a generator (e.g. a [`crate::remote::RemoteGenerator`]) under its id; it is
    /// handed out redacting like every other.
    pub fn add_generator(&self, g: Arc<dyn Generator>) {
        let g = self.wrap(g);
        let mut map = self.generators.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(g.id().to_string(), g);
    }

    /// Registers an embedder under its id.
    pub fn add_embedder(&self, e: Arc<dyn Embedder>) {
        let mut map = self.embedders.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(e.id().to_string(), e);
    }

    /// Every model that can be asked for: installed ones and registered ones, sorted by id.
    pub fn list(&self) -> Result<Vec<ModelInfo>, ModelError> {
        let mut out: Vec<ModelInfo> = self
            .store
            .list()?
            .into_iter()
            .map(|e| ModelInfo {
                id: e.manifest.name,
                role: e.manifest.role,
                backend: "local",
            })
            .collect();
        let known: Vec<String> = out.iter().map(|m| m.id.clone()).collect();
        let gens = self.generators.lock().unwrap_or_else(|p| p.into_inner());
        for id in gens.keys().filter(|k| !known.contains(k)) {
            out.push(ModelInfo {
                id: id.clone(),
                role: Role::Generator,
                backend: "remote",
            });
        }
        drop(gens);
        let embs = self.embedders.lock().unwrap_or_else(|p| p.into_inner());
        for id in embs.keys().filter(|k| !known.contains(k)) {
            out.push(ModelInfo {
                id: id.clone(),
                role: Role::Embedder,
                backend: "remote",
            });
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

fn resolve(name: &str) -> &str {
    crate::install::catalog_entry(name).map_or(name, |e| e.name)
}
