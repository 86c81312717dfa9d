//! Deskmate's workflows and state.
//!
//! [`Assistant`] is the facade the HTTP layer and the CLI call: it owns the configuration and the
//! [`store::Store`] and exposes each workflow as methods: identity in [`identity`], approvals in
//! [`approvals`], jobs in [`jobs`], the RFQ desk in [`desk`] (around the `rfq` crate's parser),
//! upload-and-extract jobs and their ops review in [`extraction_review`] (around the `extraction`
//! crate), model calls with their audit entries in [`inference`], the knowledge base (ingest,
//! search, cited answers) in [`documents`]. Every method that changes state takes an
//! [`store::Actor`] and writes its audit entry in the same transaction as the change.
//!
//! Where the next workflows go (decided with the crate split): a workflow whose core needs no
//! store, approvals or configuration (a parser, an extractor, a report generator) gets a crate of
//! its own, as `rfq` and `extraction` did; its jobs, approvals, audit entries and wiring live
//! here, one module per workflow (`desk`, `extraction_review`, and the drafting, compliance,
//! reports and model-risk modules as they land).

pub mod approvals;
pub mod audit;
pub mod backup;
pub mod config;
pub mod desk;
pub mod documents;
pub mod draft_execution;
pub mod draft_free;
pub mod draft_precedents;
pub mod draft_sources;
pub mod drafts;
pub mod error;
pub mod extraction_review;
pub mod idempotency;
pub mod identity;
pub mod inference;
pub mod jobs;
pub mod lock;
pub mod market;
pub mod model_risk;
pub mod reporting;
pub mod sessions;
pub mod store;
pub mod templates;

pub use config::Config;
pub use error::{AssistantError, Result};
pub use store::{Actor, Store};

/// The workflows over one data dir.
pub struct Assistant {
    /// The effective configuration.
    pub config: Config,
    store: Store,
    desk: desk::Desk,
    models: std::sync::Arc<models::Models>,
    extractor: extraction::Extractor,
    knowledge: std::sync::OnceLock<std::sync::Arc<documents::Knowledge>>,
    /// Serialises extraction submissions (their duplicate check and job creation).
    submit_lock: std::sync::Mutex<()>,
    /// Set once the demo templates the store lacked have been imported (once per process).
    templates_seeded: std::sync::OnceLock<()>,
    /// The current rule catalogue, cached (`reporting`).
    compliance: reporting::CatalogueCache,
    /// Each chain's configured model and weights (`model_risk`), worked out once.
    configured_models: model_risk::ConfiguredModels,
}

impl Assistant {
    /// Opens the data dir named by the configuration. Models are registered, not loaded (see
    /// [`inference`]); with `rfq.model_fallback` the desk's parser gets the default generator.
    pub fn open(config: Config) -> Result<Assistant> {
        let store = Store::open(&config.storage.data_dir)?;
        let models = std::sync::Arc::new(inference::registry(&config)?);
        let desk = desk::Desk::new(&config);
        let extractor = extraction::Extractor::new(config.extract.settings());
        let a = Assistant {
            config,
            store,
            desk,
            models,
            extractor,
            knowledge: std::sync::OnceLock::new(),
            submit_lock: std::sync::Mutex::new(()),
            templates_seeded: std::sync::OnceLock::new(),
            compliance: reporting::CatalogueCache::default(),
            configured_models: Default::default(),
        };
        if a.config.rfq.model_fallback {
            let name = inference::default_generator_name(&a.config).to_string();
            a.desk
                .set_named_model(&name, Box::new(a.rfq_json_model_named(&name)));
        }
        // A configured model not yet in the inventory becomes a version waiting for model risk.
        a.model_risk_sync()?;
        Ok(a)
    }

    /// Attaches the opened knowledge base (the server does at start; it holds the knowledge
    /// base's single-writer lock). Attaching twice keeps the first.
    pub fn attach_knowledge(&self, k: documents::Knowledge) {
        let _ = self.knowledge.set(std::sync::Arc::new(k));
    }

    /// The attached knowledge base, or a conflict saying it is not available here.
    pub fn knowledge(&self) -> Result<std::sync::Arc<documents::Knowledge>> {
        self.knowledge.get().cloned().ok_or_else(|| {
            AssistantError::Conflict(
                "the knowledge base is not open in this process (its models are missing or \
                 another process holds it); see the server log"
                    .into(),
            )
        })
    }

    /// The store (for audit verification, backups and health checks).
    pub fn store(&self) -> &Store {
        &self.store
    }
}
