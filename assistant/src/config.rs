//! Deskmate's configuration: one TOML file with documented defaults, every key overridable by an
//! environment variable.
//!
//! The variable for key `KEY` of section `[SECTION]` is `DESKMATE_SECTION_KEY` in upper case
//! (`[server] bind` → `DESKMATE_SERVER_BIND`). Lists are comma-separated in variables. Precedence:
//! defaults < file < environment. Unknown keys and invalid values are errors naming the key and
//! the allowed values, reported before anything starts. `deskmate.example.toml` at the repository
//! root documents every key; a test keeps it equal to [`Config::default`].

pub use kernels::product::{InOut, MonitoringKind};
use policies::DataClass;
use policies::limits::LimitsConfig;
use policies::redact::ClientNames;
pub use rfq::{Exercise, Side};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Declares a configuration choice: a closed set of snake_case names, read and written by serde
/// (an unknown name is an error naming the key and the allowed values), with its name.
macro_rules! choice {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $var),+
        }

        impl $name {
            /// The name as written in the configuration.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    };
}

choice!(
    /// `knowledge.vector_backend`: where vectors live.
    VectorStore {
        /// Embedded Qdrant Edge on disk.
        Edge => "edge",
        /// A Qdrant server or cluster at `knowledge.qdrant_url`.
        Server => "server",
    }
);

choice!(
    /// `knowledge.fusion_method`: how BM25 and dense rankings are fused.
    FusionMethod {
        /// Weighted reciprocal rank fusion (weights `fusion_bm25`, `fusion_dense`, rank
        /// constant `fusion_k`).
        Rrf => "rrf",
        /// A convex combination of min-max normalised scores (weights `fusion_bm25`,
        /// `fusion_dense`).
        Convex => "convex",
    }
);

choice!(
    /// `models.backend`: who answers for the default generator.
    ModelBackend {
        /// candle, in-process.
        Local => "local",
        /// An OpenAI-compatible server.
        Remote => "remote",
    }
);

choice!(
    /// `models.remote_embedder_prefixes`: how the remote embedder tells queries from passages.
    EmbedderPrefixes {
        /// Symmetric models: nothing.
        None => "none",
        /// `query: ` / `passage: ` prefixes added here.
        E5 => "e5",
        /// An `input_type` field, as Deskmate's own server reads it.
        InputType => "input_type",
    }
);

choice!(
    /// `log.format`.
    LogFormat {
        /// Human-readable lines.
        Text => "text",
        /// One JSON object a line.
        Json => "json",
    }
);

choice!(
    /// `rfq.autocall_ko_frequency`: knock-out observations of autocallables.
    KoFrequency {
        /// Every month.
        Monthly => "monthly",
        /// Every three months.
        Quarterly => "quarterly",
    }
);

impl KoFrequency {
    /// Observations per year.
    pub fn per_year(self) -> f64 {
        match self {
            KoFrequency::Monthly => 12.0,
            KoFrequency::Quarterly => 4.0,
        }
    }
}

choice!(
    /// `rfq.asian_fixings`: averaging fixings of Asian options.
    AsianFixings {
        /// Every business day.
        Daily => "daily",
        /// Every week.
        Weekly => "weekly",
        /// Every month.
        Monthly => "monthly",
    }
);

choice!(
    /// `rfq.autocall_engine`: the pricing engine of autocallables.
    AutocallEngine {
        /// Monte Carlo.
        Mc => "mc",
        /// Finite differences.
        Pde => "pde",
    }
);

impl From<AutocallEngine> for kernels::pricing::EngineKind {
    fn from(e: AutocallEngine) -> Self {
        match e {
            AutocallEngine::Mc => kernels::pricing::EngineKind::Mc,
            AutocallEngine::Pde => kernels::pricing::EngineKind::Pde,
        }
    }
}

choice!(
    /// `rfq.unknown_chats`: what the desk does in chats without a client mapping.
    UnknownChats {
        /// A polite reply, at most hourly.
        Refuse => "refuse",
        /// Nothing.
        Silent => "silent",
    }
);

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
    /// The RFQ desk: market data, conventions, margins, throttling.
    pub rfq: RfqConfig,
    /// Risk limits on quotes (`policies::limits`; an open table, checked by its type).
    pub limits: LimitsConfig,
    /// The Telegram bot.
    pub telegram: TelegramConfig,
    /// The JSON webhook adapter for other chat systems.
    pub webhook: WebhookConfig,
    /// The WeCom (企业微信) intelligent robot.
    pub wecom: WecomConfig,
    /// Upload-and-extract: document limits, OCR, CDM schemas, the model.
    pub extract: ExtractConfig,
    /// The knowledge base: embedder, indexes, retrieval and answers.
    pub knowledge: KnowledgeConfig,
    /// Ad-hoc pricing and risk (`POST /v1/price`, `/v1/risk/book`, `/v1/risk/grid`): bounds.
    pub pricing: PricingConfig,
    /// Legal drafting: the fonts final documents are set in.
    pub drafting: DraftingConfig,
    /// Trade-reporting compliance: where the rule catalogue is first loaded from, and what
    /// rule questions are answered from.
    pub compliance: ComplianceConfig,
    /// Model risk: where monitoring alerts are also sent.
    pub model_risk: ModelRiskConfig,
    /// Research and risk: the thresholds that make a day's price change a move event.
    pub research: ResearchConfig,
}

/// `[research]`: what makes a day's price change a move event (research and risk reports start
/// from these).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResearchConfig {
    /// The absolute change in percent (settlement to settlement, else close to close) that
    /// makes a move: 3.0 = 3%.
    pub move_threshold_pct: f64,
    /// Per product: a contract name, or the letters it starts with (`SC` for `SC2407`), and
    /// its threshold in percent; the longest matching name wins.
    pub move_thresholds: BTreeMap<String, f64>,
}

impl Default for ResearchConfig {
    fn default() -> Self {
        ResearchConfig {
            move_threshold_pct: 3.0,
            move_thresholds: BTreeMap::new(),
        }
    }
}

/// `[model_risk]`: the chat the model-risk team hears alerts in (besides the dashboard and the
/// audit log).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelRiskConfig {
    /// The channel alerts go out on: `telegram`, `wecom` or `webhook` (that channel's connector
    /// must be configured); empty: the dashboard and the audit log only.
    pub alert_channel: String,
    /// The chat of that channel (a Telegram chat id, a WeCom chat id, a webhook chat id).
    pub alert_chat_id: String,
}

/// `[compliance]`: the sources of the first rule catalogue (later versions live in the store)
/// and the knowledge-base collections rule questions are answered from, beside the rule
/// corpus's own (`regulation-drr`, `regulation-jrt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceConfig {
    /// The ISDA DRR field provisions (JSON lines); empty: `regulation-en/drr-field-provisions.jsonl`
    /// of the shared data set, found as the CDM schemas are (`DESKMATE_SHARED_DATA`,
    /// `shared/data`, `../shared/data`).
    pub provisions: String,
    /// The JR/T 0294.3—2024 elements (JSON); empty: found in the shared data set likewise.
    pub jrt: String,
    /// Further collections rule questions may cite (the ESMA guidelines, the Chinese laws).
    pub ask_collections: Vec<String>,
}

impl ComplianceConfig {
    /// The provisions file and the JR/T file, configured or found in the shared data set.
    pub fn sources(&self) -> (PathBuf, PathBuf) {
        let find = |configured: &str, rel: &str| -> PathBuf {
            if !configured.trim().is_empty() {
                return expand_home(configured.trim());
            }
            [
                std::env::var_os("DESKMATE_SHARED_DATA").map(PathBuf::from),
                Some(PathBuf::from("shared/data")),
                Some(PathBuf::from("../shared/data")),
                Some(PathBuf::from(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../shared/data"
                ))),
            ]
            .into_iter()
            .flatten()
            .map(|d| d.join(rel))
            .find(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("../shared/data").join(rel))
        };
        (
            find(&self.provisions, "regulation-en/drr-field-provisions.jsonl"),
            find(
                &self.jrt,
                "regulation-zh/jr-t-0294.3-2024/JR_T_0294.3-2024_other_CDE_elements.json",
            ),
        )
    }
}

impl Default for ComplianceConfig {
    fn default() -> Self {
        ComplianceConfig {
            provisions: String::new(),
            jrt: String::new(),
            ask_collections: vec!["regulation-en".into(), "regulation-zh".into()],
        }
    }
}

/// `[drafting]`: the firm as party A of confirmations drafted from quotes, and the fonts of the
/// final documents (`drafting::render`); each font is embedded, as a
/// subset, in every final PDF.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DraftingConfig {
    /// Latin body text (TrueType).
    pub font_latin: PathBuf,
    /// Latin headings and titles (TrueType).
    pub font_latin_bold: PathBuf,
    /// Chinese text and any character the Latin fonts lack (TrueType or a collection).
    pub font_cjk: PathBuf,
    /// The firm's legal name in English documents: party A of a confirmation drafted from one
    /// of the desk's quotes.
    pub firm_name: String,
    /// The firm's legal name in Chinese documents.
    pub firm_name_zh: String,
    /// Business days (Monday to Friday) from the trade date to the premium payment date of a
    /// confirmation drafted from a quote.
    pub premium_settlement_days: u32,
}

impl Default for DraftingConfig {
    fn default() -> Self {
        let f = drafting::render::FontPaths::default();
        DraftingConfig {
            font_latin: f.latin,
            font_latin_bold: f.latin_bold,
            font_cjk: f.cjk,
            firm_name: "Deskmate Demo Securities Co., Ltd.".into(),
            firm_name_zh: "Deskmate演示证券有限公司".into(),
            premium_settlement_days: 2,
        }
    }
}

impl DraftingConfig {
    /// The font files as the renderer takes them.
    pub fn fonts(&self) -> drafting::render::FontPaths {
        drafting::render::FontPaths {
            latin: self.font_latin.clone(),
            latin_bold: self.font_latin_bold.clone(),
            cjk: self.font_cjk.clone(),
        }
    }
}

/// `[pricing]`: bounds on ad-hoc pricing and risk requests, so one request cannot hold the
/// machine (`assistant::desk::adhoc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PricingConfig {
    /// Most Monte Carlo paths a request may ask for.
    pub max_paths: u64,
    /// Most contracts in one book.
    pub max_book_contracts: usize,
    /// Most valuations in one scenario grid (cells × contracts).
    pub max_grid_cells: usize,
}

impl Default for PricingConfig {
    fn default() -> Self {
        PricingConfig {
            max_paths: 2_000_000,
            max_book_contracts: 10_000,
            max_grid_cells: 200_000,
        }
    }
}

/// `[knowledge]`: the knowledge base in `data_dir/knowledge` (documents, indexes, answers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KnowledgeConfig {
    /// The embedder (an installed model name or alias; empty: `models.embedder`). A knowledge
    /// base keeps the embedder it was built with; changing it means re-indexing (a new data dir
    /// or `knowledge/` removed).
    pub embedder: String,
    /// The generator that writes answers (an installed model name or alias; empty: the
    /// default generator of `[models]`).
    pub generator: String,
    /// Where vectors live: `edge` (embedded Qdrant Edge on disk) or `server` (a Qdrant server
    /// or cluster at `qdrant_url`).
    pub vector_backend: VectorStore,
    /// The Qdrant server's gRPC URL when `vector_backend = "server"` (`http://host:6334`).
    pub qdrant_url: String,
    /// The Qdrant collection when `vector_backend = "server"`.
    pub qdrant_collection: String,
    /// The Qdrant server's API key, when it requires one (secret: masked by `config show`;
    /// `DESKMATE_KNOWLEDGE_QDRANT_API_KEY_FILE` reads it from a file).
    pub qdrant_api_key: String,
    /// How BM25 and dense rankings are fused: `rrf` or `convex`.
    pub fusion_method: FusionMethod,
    /// Weight of the BM25 ranking in the fusion.
    pub fusion_bm25: f64,
    /// Weight of the dense ranking in the fusion.
    pub fusion_dense: f64,
    /// The rank constant of reciprocal rank fusion (60 in the original paper).
    pub fusion_k: f64,
    /// Candidates each retriever returns, as a multiple of the hits asked for.
    pub candidates_per_hit: u32,
    /// Each retriever's first this many candidates are always among the hits (0 to 3).
    pub fusion_keep_firsts: u32,
    /// The largest chunk in approximate model tokens; longer articles are split at their 款 or
    /// paragraphs.
    pub chunk_max_tokens: u32,
    /// The largest file accepted for ingestion, in bytes (200 MiB).
    pub max_file_bytes: u64,
    /// Texts per embedding call during ingestion.
    pub embed_batch: u32,
    /// OCR pages of PDFs without a usable text layer, and images, when ingesting.
    pub ocr: bool,
    /// Chunks retrieved as evidence for an answer.
    pub answer_k: u32,
    /// The least question-to-chunk cosine similarity for evidence to count (exact structural
    /// hits always count); below it the answer says the knowledge base has no evidence.
    pub answer_min_similarity: f64,
    /// The most tokens of an answer.
    pub answer_max_tokens: u32,
    /// The most characters of retrieved text put into an answer's prompt.
    pub answer_max_evidence_chars: u32,
    /// Re-order the best candidates of every search and answer by the generator's relevance
    /// grade (one short generation per candidate; off by default: the retrieval eval reports
    /// whether it helps).
    pub rerank: bool,
    /// Candidates the rerank step grades.
    pub rerank_candidates: u32,
    /// The collections whose documents may state policy (margins, limits, thresholds,
    /// approval rules): names, prefixes ending in `*` (`regulation-*`), or `*` for all. A
    /// sentence of an answer about a policy subject is kept only when cited evidence from one
    /// of them supports it; otherwise it is dropped (`knowledge::answer::check_values`).
    pub authoritative_collections: Vec<String>,
}

impl Default for KnowledgeConfig {
    fn default() -> Self {
        KnowledgeConfig {
            embedder: String::new(),
            generator: String::new(),
            vector_backend: VectorStore::Edge,
            qdrant_url: String::new(),
            qdrant_collection: "deskmate".into(),
            qdrant_api_key: String::new(),
            fusion_method: FusionMethod::Rrf,
            fusion_bm25: 1.0,
            fusion_dense: 1.0,
            fusion_k: 60.0,
            candidates_per_hit: 8,
            fusion_keep_firsts: 2,
            chunk_max_tokens: 400,
            max_file_bytes: 200 * 1024 * 1024,
            embed_batch: 16,
            ocr: true,
            answer_k: 5,
            answer_min_similarity: 0.80,
            answer_max_tokens: 400,
            answer_max_evidence_chars: 4000,
            rerank: false,
            rerank_candidates: 10,
            authoritative_collections: knowledge::answer::default_authoritative_collections(),
        }
    }
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
    /// Requests served at once; more are refused with 503 and `Retry-After`. A request takes its
    /// place only once its body has arrived, so slow clients cannot hold the places.
    pub concurrency_limit: u32,
    /// How long shutdown waits for in-flight requests, in seconds.
    pub shutdown_grace_secs: u64,
    /// Longest time a client may take to send a request's line and headers, in seconds; the
    /// connection is closed when they are not complete by then. A kept-alive connection may sit
    /// idle between requests for as long.
    pub header_read_timeout_secs: u64,
    /// Longest gap with no bytes of a request body arriving, in seconds; a client that stalls
    /// longer is answered 408 and its connection closed. The whole body must also arrive within
    /// the request's time limit (`request_timeout_secs`, or the route's own).
    pub body_idle_timeout_secs: u64,
    /// Requests one user may have in progress at once (body upload included); more are refused
    /// with 429 and `Retry-After`.
    pub user_concurrency_limit: u32,
    /// Requests one client IP address may have in progress at once (body upload included; health
    /// checks exempt); more are refused with 429 and `Retry-After`. Behind a reverse proxy every
    /// client has the proxy's address: raise it to `concurrency_limit` there.
    pub ip_concurrency_limit: u32,
    /// Requests per second one user may make, sustained (a token bucket refilled at this rate);
    /// more are refused with 429 and `Retry-After`.
    pub user_rate_per_sec: u32,
    /// Requests one user may make at once above the sustained rate (the bucket's size).
    pub user_rate_burst: u32,
    /// How long a web sign-in lasts, in hours; the session cookie expires with it.
    pub session_hours: u64,
    /// Failed web sign-ins for one user name, or from one client address, within
    /// `sign_in_window_mins` after which further attempts are refused until the window passes.
    pub sign_in_max_failures: u32,
    /// The window over which failed sign-ins are counted, in minutes.
    pub sign_in_window_mins: u64,
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
            header_read_timeout_secs: 10,
            body_idle_timeout_secs: 10,
            user_concurrency_limit: 8,
            ip_concurrency_limit: 16,
            user_rate_per_sec: 20,
            user_rate_burst: 40,
            session_hours: 12,
            sign_in_max_failures: 5,
            sign_in_window_mins: 15,
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
    pub four_eyes_kinds: Vec<crate::approvals::ApprovalKind>,
    /// How often the server marks overdue requests as expired, in seconds.
    pub sweep_interval_secs: u64,
}

impl Default for ApprovalsConfig {
    fn default() -> Self {
        ApprovalsConfig {
            default_expiry_secs: 24 * 3600,
            four_eyes_kinds: ["extraction", "confirmation_draft", "report"]
                .into_iter()
                .map(|k| k.parse().expect("a valid approval kind"))
                .collect(),
            sweep_interval_secs: 5,
        }
    }
}

/// `[models]`: where model files are, which models answer by default, and which backend serves
/// them. See `assistant::inference` for how these become the process's one model registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// The model directory (`~` is the home directory). `DESKMATE_MODEL_CACHE`, the model
    /// crate's own variable, is read as an alias of `DESKMATE_MODELS_DIR` (which wins).
    pub dir: String,
    /// `local` (candle, in-process) or `remote` (an OpenAI-compatible server answers for the
    /// default generator and, when `remote_embedder` is set, the default embedder).
    pub backend: ModelBackend,
    /// The default generator: an installed model's name or alias (`default`, `fast`).
    pub generator: String,
    /// The default embedder: an installed model's name or alias (`embedder`, `minilm`).
    pub embedder: String,
    /// CPU threads for local inference (0 = all cores). Set once at start-up.
    pub threads: u32,
    /// Requests that may wait for or run on one local generator; more get 503 + Retry-After.
    pub queue_capacity: u32,
    /// Longest prompt plus answer, in tokens, for local generators (at most the model's own).
    pub max_context: u32,
    /// Load the default generator and embedder when the server starts (in the background, so
    /// start-up stays fast); `false`: on first use.
    pub preload: bool,
    /// Longest time a generation request (`/v1/chat/completions`, streamed or not) may take, in
    /// seconds; it replaces `server.request_timeout_secs` on those routes.
    pub generation_timeout_secs: u64,
    /// Longest time one model call of a governed chain (a cited answer, a drafted passage) may
    /// take, waiting for the model included, in milliseconds; past it the call is given up and that
    /// request falls back (the retrieved passages; the passage left to the lawyer) and is
    /// counted as an error by the model-risk monitoring. The RFQ desk has its own,
    /// `rfq.model_timeout_ms`.
    pub chain_timeout_ms: u64,
    /// Base URL of the remote OpenAI-compatible server (`http://10.0.0.5:8000/v1`), used when
    /// `backend = "remote"`.
    pub remote_base_url: String,
    /// API key for the remote server (secret: masked by `config show`).
    pub remote_api_key: String,
    /// A PEM file of CA certificates to trust for the remote server, besides the bundled web
    /// roots and the system's (a server behind a corporate CA); empty: none.
    pub remote_ca_file: String,
    /// The generator's name on the remote server (required when `backend = "remote"`).
    pub remote_model: String,
    /// The embedder's name on the remote server; empty: embeddings stay local.
    pub remote_embedder: String,
    /// Length of the remote embedder's vectors.
    pub remote_embedder_dim: u32,
    /// How the remote embedder tells queries from passages: `none` (symmetric models), `e5`
    /// (`query: `/`passage: ` prefixes added here) or `input_type` (sent as a field, as
    /// Deskmate's own server reads it).
    pub remote_embedder_prefixes: EmbedderPrefixes,
    /// The remote generator's context length in tokens, for callers that budget prompts.
    pub remote_context_length: u32,
    /// Timeout of each connect and read to the remote server, in seconds.
    pub remote_timeout_secs: u64,
    /// Retries of a remote call after a connection failure, 429 or 5xx (with backoff).
    pub remote_retries: u32,
    /// The most restricted data a remote generator may receive (`general`, `important`,
    /// `core`, optionally `+sensitive`; default `important`): retrieval for a prompt to it is
    /// limited to this class, and a prompt declaring more is refused before anything is sent.
    #[serde(with = "class_str")]
    pub remote_max_class: DataClass,
    /// Replace personal and secret data (names of natural persons, ID card, passport, phone,
    /// card and account numbers, e-mail addresses, passwords and API keys) by placeholders
    /// before any prompt is built, restoring them in the output (`policies::redact`).
    pub redact_personal: bool,
    /// When the names of clients in `[limits.clients]` are replaced too: `never`, `remote`
    /// (prompts to a remote backend only, the default) or `always`.
    pub redact_client_names: ClientNames,
}

/// A [`DataClass`] written as its name (`important`, `core+sensitive`).
mod class_str {
    use policies::DataClass;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(c: &DataClass, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(c)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DataClass, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            dir: "~/.cache/deskmate/models".into(),
            backend: ModelBackend::Local,
            generator: "default".into(),
            embedder: "embedder".into(),
            threads: 0,
            queue_capacity: 8,
            max_context: 8192,
            preload: true,
            generation_timeout_secs: 600,
            chain_timeout_ms: 120_000,
            remote_base_url: String::new(),
            remote_api_key: String::new(),
            remote_ca_file: String::new(),
            remote_model: String::new(),
            remote_embedder: String::new(),
            remote_embedder_dim: 384,
            remote_embedder_prefixes: EmbedderPrefixes::None,
            remote_context_length: 8192,
            remote_timeout_secs: 60,
            remote_retries: 2,
            remote_max_class: DataClass::IMPORTANT,
            redact_personal: true,
            redact_client_names: ClientNames::Remote,
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
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// `[rfq]`: the RFQ desk. The conventions turn a parsed request into a product for the pricing
/// core where the client does not say (see `assistant::desk::price`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RfqConfig {
    /// Market data: a JSON file (one market, or `{"markets": {"000905.SH": {...}}}`) or a
    /// directory of such files; re-read when a file changes. Empty: quotes cannot be priced.
    pub market_data: String,
    /// How long a quote is valid, in seconds: the trader must approve within it and a quote
    /// past it is never sent.
    pub quote_expiry_secs: u64,
    /// Margin on options (vanilla, digital, barrier, shark fin, Asian), in basis points of
    /// notional, applied against the client.
    pub margin_bps: f64,
    /// Margin on autocallables (snowball, phoenix), in basis points of notional.
    pub margin_bps_autocall: f64,
    /// Direction when the client does not say: `client_buys` or `client_sells`.
    pub default_side: Side,
    /// Exercise when the client does not say: `european` or `american`.
    pub default_exercise: Exercise,
    /// Autocallables: months without knock-out observation after the start.
    pub autocall_lockup_months: u32,
    /// Autocallables: knock-out observation frequency (`monthly`, `quarterly`).
    pub autocall_ko_frequency: KoFrequency,
    /// Snowballs: knock-in monitoring (`daily`, `continuous`, `at_maturity`).
    pub snowball_ki_monitoring: MonitoringKind,
    /// Phoenixes: knock-in monitoring (`daily`, `continuous`, `at_maturity`).
    pub phoenix_ki_monitoring: MonitoringKind,
    /// Phoenixes: missed coupons are paid later when the coupon barrier is met again.
    pub phoenix_memory: bool,
    /// Barrier options: `out` (knock-out) or `in` (knock-in); up or down follows the level.
    pub barrier_kind: InOut,
    /// Barrier options and shark fins: `daily`, `continuous` or `at_maturity`.
    pub barrier_monitoring: MonitoringKind,
    /// Shark fins: rebate paid at expiry after a knock-out, in percent of notional.
    pub shark_fin_rebate_pct: f64,
    /// Asian options: averaging fixings (`daily`, `weekly`, `monthly`).
    pub asian_fixings: AsianFixings,
    /// Engine for autocallables: `pde` (default: as accurate as 1M Monte Carlo paths and about
    /// 8 times faster than 100k, measured by `benches/rfq_desk.rs`) or `mc` (Monte Carlo).
    pub autocall_engine: AutocallEngine,
    /// Monte Carlo paths.
    pub mc_paths: u64,
    /// Monte Carlo seed (fixed, so a quote can be reproduced).
    pub mc_seed: u64,
    /// Requests for quote priced at once (more wait their turn).
    pub pricing_workers: u32,
    /// Messages to the bot accepted per chat within `throttle_window_secs`; more are archived
    /// and not answered (one notice per window).
    pub throttle_messages: u32,
    /// The throttling window, in seconds.
    pub throttle_window_secs: u64,
    /// Chats without a client mapping: `refuse` (a polite reply, at most hourly) or `silent`.
    pub unknown_chats: UnknownChats,
    /// A message answering a clarifying question within this many seconds completes the
    /// request it answers.
    pub clarify_window_secs: u64,
    /// How long a sent quote still counts in the desk's pending exposure, in seconds.
    pub sent_quote_hold_secs: u64,
    /// Optional JSON file of the book's exposure per underlying (`{"000905.SH": {"delta": cash
    /// delta, "vega": vega per vol point}}`), written by the risk system; re-read on change.
    pub book_exposure_file: String,
    /// UTC offset of the times shown in replies (`+08:00`).
    pub reply_utc_offset: String,
    /// How often the outbox is checked when nothing wakes it, in milliseconds.
    pub outbox_poll_ms: u64,
    /// Attempts to deliver a reply that failed for certain (rate limits, receiver down).
    pub send_max_attempts: u32,
    /// First retry delay in milliseconds (doubling, at most a minute).
    pub send_retry_ms: u64,
    /// Ask the default generator when the rule parser is not confident (its answer is
    /// validated by the lexicon); off: the rules answer alone.
    pub model_fallback: bool,
    /// Rule parses below this confidence go to the model when `model_fallback` is on.
    pub model_fallback_threshold: f64,
    /// The most tokens of a model answer.
    pub model_max_tokens: u32,
    /// Longest time the model may take on one request, waiting included, in milliseconds; past it
    /// the rule parse stands for that request (what it cannot read goes to a trader).
    pub model_timeout_ms: u64,
}

impl Default for RfqConfig {
    fn default() -> Self {
        RfqConfig {
            market_data: String::new(),
            quote_expiry_secs: 120,
            margin_bps: 30.0,
            margin_bps_autocall: 100.0,
            default_side: Side::ClientBuys,
            default_exercise: Exercise::European,
            autocall_lockup_months: 3,
            autocall_ko_frequency: KoFrequency::Monthly,
            snowball_ki_monitoring: MonitoringKind::Daily,
            phoenix_ki_monitoring: MonitoringKind::AtMaturity,
            phoenix_memory: true,
            barrier_kind: InOut::Out,
            barrier_monitoring: MonitoringKind::Daily,
            shark_fin_rebate_pct: 0.0,
            asian_fixings: AsianFixings::Monthly,
            autocall_engine: AutocallEngine::Pde,
            mc_paths: 100_000,
            mc_seed: 20_260_105,
            pricing_workers: 1,
            throttle_messages: 10,
            throttle_window_secs: 60,
            unknown_chats: UnknownChats::Refuse,
            clarify_window_secs: 600,
            sent_quote_hold_secs: 900,
            book_exposure_file: String::new(),
            reply_utc_offset: "+08:00".into(),
            outbox_poll_ms: 200,
            send_max_attempts: 8,
            send_retry_ms: 500,
            model_fallback: false,
            model_fallback_threshold: 0.6,
            model_max_tokens: 384,
            model_timeout_ms: 20_000,
        }
    }
}

/// `[telegram]`: the Telegram bot, started by `serve`/`up` when enabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    /// Run the bot.
    pub enabled: bool,
    /// The bot token from @BotFather (secret: masked by `config show`).
    pub token: String,
    /// The Bot API base URL (a local Bot API server can replace Telegram's).
    pub api_url: String,
    /// Long-polling timeout in seconds.
    pub poll_timeout_secs: u32,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            enabled: false,
            token: String::new(),
            api_url: "https://api.telegram.org".into(),
            poll_timeout_secs: 30,
        }
    }
}

/// `[webhook]`: the JSON webhook adapter (`POST /v1/chat/inbound`, replies to a callback).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Channel names accepted on `POST /v1/chat/inbound` (`wecom`); empty: the adapter is off.
    pub channels: Vec<String>,
    /// Users whose tokens may post inbound messages (the adapters' service accounts).
    pub gateway_users: Vec<String>,
    /// Where replies are POSTed.
    pub callback_url: String,
    /// Sent as `Authorization: Bearer …` with each reply (secret: masked by `config show`).
    pub secret: String,
    /// Per-request timeout of a callback, in seconds.
    pub timeout_secs: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            channels: Vec::new(),
            gateway_users: Vec::new(),
            callback_url: String::new(),
            secret: String::new(),
            timeout_secs: 10,
        }
    }
}

/// `[wecom]`: the WeCom (企业微信) intelligent robot in API mode (`connectors::wecom`): callbacks
/// at `GET`/`POST /v1/wecom/callback`, replies by streaming passive reply, `response_url`, or
/// the application API. Secrets may come from files (`*_file`) or `DESKMATE_WECOM_*`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WecomConfig {
    /// Run the robot (and serve its callback route).
    pub enabled: bool,
    /// The robot's callback Token (secret: masked by `config show`).
    pub token: String,
    /// A file holding the Token (instead of `token`).
    pub token_file: String,
    /// The 43-character EncodingAESKey (secret: masked by `config show`).
    pub encoding_aes_key: String,
    /// A file holding the EncodingAESKey.
    pub encoding_aes_key_file: String,
    /// The robot's name as users @-mention it; set, group messages without the mention are
    /// archived and ignored.
    pub bot_name: String,
    /// The corp id (企业ID) of the application API (optional; with `agent_id` and `secret`).
    pub corp_id: String,
    /// The self-built application's agent id (0: no application API).
    pub agent_id: i64,
    /// The application's secret (masked by `config show`).
    pub secret: String,
    /// A file holding the application's secret.
    pub secret_file: String,
    /// The WeCom server API (a test points it at a local fake).
    pub api_url: String,
    /// Member user ids alerted through the application API (a group without a client mapping).
    pub admin_users: Vec<String>,
    /// How far a callback's timestamp may be from now, in seconds.
    pub max_skew_secs: u64,
    /// How long WeCom refreshes a streaming reply, from the user's message, in seconds.
    pub stream_window_secs: u64,
    /// How long a reply waits for WeCom's next stream refresh, in milliseconds.
    pub stream_wait_ms: u64,
    /// How long the answer to a new message waits for the desk's acknowledgement, in
    /// milliseconds (WeCom waits 5 s for the answer).
    pub first_wait_ms: u64,
    /// Per-request timeout of active sends, in seconds.
    pub timeout_secs: u64,
}

impl Default for WecomConfig {
    fn default() -> Self {
        WecomConfig {
            enabled: false,
            token: String::new(),
            token_file: String::new(),
            encoding_aes_key: String::new(),
            encoding_aes_key_file: String::new(),
            bot_name: String::new(),
            corp_id: String::new(),
            agent_id: 0,
            secret: String::new(),
            secret_file: String::new(),
            api_url: "https://qyapi.weixin.qq.com".into(),
            admin_users: Vec::new(),
            max_skew_secs: 300,
            stream_window_secs: 360,
            stream_wait_ms: 5000,
            first_wait_ms: 1500,
            timeout_secs: 10,
        }
    }
}

impl WecomConfig {
    /// Reads `token_file`, `encoding_aes_key_file` and `secret_file` into their values.
    fn read_files(&mut self) -> Result<(), ConfigError> {
        for (key, file, value) in [
            ("wecom.token_file", &self.token_file, &mut self.token),
            (
                "wecom.encoding_aes_key_file",
                &self.encoding_aes_key_file,
                &mut self.encoding_aes_key,
            ),
            ("wecom.secret_file", &self.secret_file, &mut self.secret),
        ] {
            if file.is_empty() {
                continue;
            }
            if !value.is_empty() {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    message: "set either the value or the file, not both".into(),
                });
            }
            let path = expand_home(file);
            *value = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError::Invalid {
                    key: key.into(),
                    message: format!("cannot read {}: {e}", path.display()),
                })?
                .trim()
                .to_string();
        }
        Ok(())
    }

    /// Whether the application API is configured.
    pub fn has_api(&self) -> bool {
        self.agent_id != 0
    }
}

/// `[extract]`: upload-and-extract of confirmations (the `extraction` crate; jobs and the ops
/// review in `assistant::extraction_review`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractConfig {
    /// Largest file accepted, in bytes (each file of an upload).
    pub max_bytes: u64,
    /// Most pages accepted in one PDF (a longer file is refused, not cut).
    pub max_pages: u32,
    /// Most files in one upload.
    pub max_files: u32,
    /// OCR pages without a usable text layer, and images.
    pub ocr: bool,
    /// Rasterization resolution for OCR of PDF pages.
    pub ocr_dpi: u32,
    /// Tesseract languages in priority order (`chi_sim+eng` keeps Chinese unspaced).
    pub ocr_languages: String,
    /// Tesseract data directory; empty: the library's default.
    pub tessdata: String,
    /// The `pdftoppm` program (poppler-utils) used to rasterize PDF pages.
    pub pdftoppm: String,
    /// Build and validate CDM TradeStates from the key terms.
    pub cdm: bool,
    /// The CDM 6.30.0 JSON Schema directory; empty: the shared data set's
    /// `cdm/jsonschema-6.30.0` if found (an error names this key when none is).
    pub cdm_schema_dir: String,
    /// The model asked for key terms the rules do not find (`default`, `fast`, an installed
    /// model's name); empty: rules only.
    pub model: String,
    /// Characters of a document shown to the model.
    pub model_max_chars: u32,
    /// Tokens the model may write per document.
    pub model_max_tokens: u32,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        ExtractConfig {
            max_bytes: 50 * 1024 * 1024,
            max_pages: 300,
            max_files: 50,
            ocr: true,
            ocr_dpi: 300,
            ocr_languages: "chi_sim+eng".into(),
            tessdata: String::new(),
            pdftoppm: "pdftoppm".into(),
            cdm: true,
            cdm_schema_dir: String::new(),
            model: String::new(),
            model_max_chars: 6000,
            model_max_tokens: 400,
        }
    }
}

impl ExtractConfig {
    /// The extractor's settings from this section (`~` expanded in the schema directory).
    pub fn settings(&self) -> extraction::Settings {
        let dir = self.cdm_schema_dir.trim();
        extraction::Settings {
            limits: connectors::document::Limits {
                max_bytes: self.max_bytes,
                max_pages: self.max_pages,
                ocr: self.ocr,
                ocr_dpi: self.ocr_dpi,
                ocr_languages: self.ocr_languages.clone(),
                tessdata: (!self.tessdata.is_empty()).then(|| PathBuf::from(&self.tessdata)),
                pdftoppm: PathBuf::from(&self.pdftoppm),
            },
            cdm: self.cdm,
            cdm_schema_dir: extraction::schemas::resolve_dir(
                (!dir.is_empty()).then(|| expand_home(dir)).as_deref(),
            ),
            model_max_chars: self.model_max_chars as usize,
            model_max_tokens: self.model_max_tokens as usize,
        }
    }
}

/// Sections taken as written and checked by their types alone: they hold maps whose keys are
/// the user's (`[limits.clients.C001]`), which defaults cannot list.
const OPEN_SECTIONS: [&str; 1] = ["limits"];

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

const SECRET_MARKERS: [&str; 5] = ["api_key", "aes_key", "token", "secret", "password"];

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
        let env = with_aliases(env);
        let env_overrides = apply_env(&mut merged, &defaults, &env)?;
        let config: Config =
            serde_path_to_error::deserialize(merged).map_err(|e| ConfigError::Invalid {
                key: e.path().to_string(),
                message: allowed_values_message(&e.inner().to_string()),
            })?;
        let mut config = config;
        config.wecom.read_files()?;
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
        let research = std::iter::once((
            "research.move_threshold_pct".to_string(),
            self.research.move_threshold_pct,
        ))
        .chain(
            self.research
                .move_thresholds
                .iter()
                .map(|(k, v)| (format!("research.move_thresholds.{k}"), *v)),
        );
        for (key, v) in research {
            if !(v.is_finite() && v > 0.0 && v < 100.0) {
                return Err(invalid(
                    &key,
                    format!("{v} is not a threshold in percent between 0 and 100"),
                ));
            }
        }
        let mr = &self.model_risk;
        match mr.alert_channel.trim() {
            "" => {}
            "telegram" | "wecom" | "webhook" if !mr.alert_chat_id.trim().is_empty() => {}
            "telegram" | "wecom" | "webhook" => {
                return Err(invalid(
                    "model_risk.alert_chat_id",
                    "names the chat alerts go to; it is required with model_risk.alert_channel"
                        .into(),
                ));
            }
            other => {
                return Err(invalid(
                    "model_risk.alert_channel",
                    format!("{other:?}: allowed values: telegram, wecom, webhook, or empty"),
                ));
            }
        }
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
                "server.header_read_timeout_secs",
                self.server.header_read_timeout_secs,
            ),
            (
                "server.body_idle_timeout_secs",
                self.server.body_idle_timeout_secs,
            ),
            (
                "server.user_concurrency_limit",
                u64::from(self.server.user_concurrency_limit),
            ),
            (
                "server.ip_concurrency_limit",
                u64::from(self.server.ip_concurrency_limit),
            ),
            (
                "server.user_rate_per_sec",
                u64::from(self.server.user_rate_per_sec),
            ),
            (
                "server.user_rate_burst",
                u64::from(self.server.user_rate_burst),
            ),
            ("server.session_hours", self.server.session_hours),
            (
                "server.sign_in_max_failures",
                u64::from(self.server.sign_in_max_failures),
            ),
            (
                "server.sign_in_window_mins",
                self.server.sign_in_window_mins,
            ),
            (
                "approvals.default_expiry_secs",
                self.approvals.default_expiry_secs,
            ),
            (
                "approvals.sweep_interval_secs",
                self.approvals.sweep_interval_secs,
            ),
            ("pricing.max_paths", self.pricing.max_paths),
            (
                "pricing.max_book_contracts",
                self.pricing.max_book_contracts as u64,
            ),
            ("pricing.max_grid_cells", self.pricing.max_grid_cells as u64),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be greater than 0".into()));
            }
        }
        if self.storage.data_dir.as_os_str().is_empty() {
            return Err(invalid("storage.data_dir", "must not be empty".into()));
        }
        self.validate_models()?;
        self.validate_desk()?;
        self.validate_wecom()?;
        self.validate_extract()?;
        self.validate_drafting()?;
        self.validate_knowledge()?;
        Ok(())
    }

    fn validate_drafting(&self) -> Result<(), ConfigError> {
        let d = &self.drafting;
        for (key, name) in [
            ("drafting.firm_name", &d.firm_name),
            ("drafting.firm_name_zh", &d.firm_name_zh),
        ] {
            let n = name.trim().chars().count();
            if n == 0 || n > 200 || name.chars().any(char::is_control) {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    message: "the firm's legal name: 1 to 200 characters, no control characters"
                        .into(),
                });
            }
        }
        if d.premium_settlement_days > 10 {
            return Err(ConfigError::Invalid {
                key: "drafting.premium_settlement_days".into(),
                message: format!(
                    "{} is more than 10 business days",
                    d.premium_settlement_days
                ),
            });
        }
        Ok(())
    }

    fn validate_knowledge(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.into(),
            message,
        };
        let k = &self.knowledge;
        if k.vector_backend == VectorStore::Server
            && !k.qdrant_url.starts_with("http://")
            && !k.qdrant_url.starts_with("https://")
        {
            return Err(invalid(
                "knowledge.qdrant_url",
                "must be an http(s) URL when knowledge.vector_backend = \"server\"".into(),
            ));
        }
        if k.qdrant_collection.trim().is_empty() {
            return Err(invalid(
                "knowledge.qdrant_collection",
                "must not be empty".into(),
            ));
        }
        for (key, v) in [
            ("knowledge.fusion_bm25", k.fusion_bm25),
            ("knowledge.fusion_dense", k.fusion_dense),
        ] {
            if !(v.is_finite() && (0.0..=100.0).contains(&v)) {
                return Err(invalid(key, format!("{v} is not between 0 and 100")));
            }
        }
        if k.fusion_bm25 + k.fusion_dense <= 0.0 {
            return Err(invalid(
                "knowledge.fusion_dense",
                "fusion_bm25 and fusion_dense cannot both be 0".into(),
            ));
        }
        if !(k.fusion_k.is_finite() && k.fusion_k > 0.0) {
            return Err(invalid(
                "knowledge.fusion_k",
                "must be greater than 0".into(),
            ));
        }
        if k.fusion_keep_firsts > 3 {
            return Err(invalid(
                "knowledge.fusion_keep_firsts",
                format!("{} is not between 0 and 3", k.fusion_keep_firsts),
            ));
        }
        if !(k.answer_min_similarity.is_finite() && (-1.0..=1.0).contains(&k.answer_min_similarity))
        {
            return Err(invalid(
                "knowledge.answer_min_similarity",
                "must be a cosine similarity between -1 and 1".into(),
            ));
        }
        for (key, v) in [
            (
                "knowledge.candidates_per_hit",
                u64::from(k.candidates_per_hit),
            ),
            ("knowledge.max_file_bytes", k.max_file_bytes),
            ("knowledge.embed_batch", u64::from(k.embed_batch)),
            ("knowledge.answer_k", u64::from(k.answer_k)),
            (
                "knowledge.rerank_candidates",
                u64::from(k.rerank_candidates),
            ),
            (
                "knowledge.answer_max_tokens",
                u64::from(k.answer_max_tokens),
            ),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be greater than 0".into()));
            }
        }
        if !(16..=8192).contains(&k.chunk_max_tokens) {
            return Err(invalid(
                "knowledge.chunk_max_tokens",
                format!("{} is not between 16 and 8192", k.chunk_max_tokens),
            ));
        }
        if k.authoritative_collections.is_empty() {
            return Err(invalid(
                "knowledge.authoritative_collections",
                "must name at least one collection (\"*\" for all)".into(),
            ));
        }
        for pattern in &k.authoritative_collections {
            let stem = pattern.strip_suffix('*').unwrap_or(pattern);
            if pattern != "*"
                && let Err(e) = knowledge::validate_collection(stem)
            {
                return Err(invalid(
                    "knowledge.authoritative_collections",
                    format!("{pattern:?}: a collection name, a prefix ending in *, or *: {e}"),
                ));
            }
        }
        if k.answer_max_evidence_chars < 200 {
            return Err(invalid(
                "knowledge.answer_max_evidence_chars",
                "must be at least 200".into(),
            ));
        }
        Ok(())
    }

    fn validate_models(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.into(),
            message,
        };
        let m = &self.models;
        for (key, v) in [
            ("models.generator", &m.generator),
            ("models.embedder", &m.embedder),
        ] {
            if v.trim().is_empty() {
                return Err(invalid(key, "must name a model".into()));
            }
        }
        for (key, v) in [
            ("models.queue_capacity", u64::from(m.queue_capacity)),
            ("models.max_context", u64::from(m.max_context)),
            ("models.generation_timeout_secs", m.generation_timeout_secs),
            ("models.chain_timeout_ms", m.chain_timeout_ms),
            (
                "models.remote_embedder_dim",
                u64::from(m.remote_embedder_dim),
            ),
            (
                "models.remote_context_length",
                u64::from(m.remote_context_length),
            ),
            ("models.remote_timeout_secs", m.remote_timeout_secs),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be greater than 0".into()));
            }
        }
        if m.max_context < 64 {
            return Err(invalid(
                "models.max_context",
                format!(
                    "{} tokens leave no room for a prompt; use at least 64",
                    m.max_context
                ),
            ));
        }
        if m.backend == ModelBackend::Remote {
            if m.remote_base_url.is_empty() {
                return Err(invalid(
                    "models.remote_base_url",
                    "must be set when models.backend = \"remote\"".into(),
                ));
            }
            if m.remote_model.trim().is_empty() {
                return Err(invalid(
                    "models.remote_model",
                    "must name the server's generator when models.backend = \"remote\"".into(),
                ));
            }
        }
        if !m.remote_base_url.is_empty()
            && !m.remote_base_url.starts_with("http://")
            && !m.remote_base_url.starts_with("https://")
        {
            return Err(invalid(
                "models.remote_base_url",
                format!("{:?} is not an http(s) URL", m.remote_base_url),
            ));
        }
        if !m.remote_ca_file.is_empty() && !expand_home(&m.remote_ca_file).is_file() {
            return Err(invalid(
                "models.remote_ca_file",
                format!("{:?} is not a file", m.remote_ca_file),
            ));
        }
        Ok(())
    }

    fn validate_desk(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.into(),
            message,
        };
        let r = &self.rfq;
        for (key, v) in [
            ("rfq.quote_expiry_secs", r.quote_expiry_secs),
            ("rfq.pricing_workers", u64::from(r.pricing_workers)),
            ("rfq.throttle_messages", u64::from(r.throttle_messages)),
            ("rfq.throttle_window_secs", r.throttle_window_secs),
            ("rfq.outbox_poll_ms", r.outbox_poll_ms),
            ("rfq.send_max_attempts", u64::from(r.send_max_attempts)),
            ("webhook.timeout_secs", self.webhook.timeout_secs),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be greater than 0".into()));
            }
        }
        if r.quote_expiry_secs > 366 * 24 * 3600 {
            return Err(invalid(
                "rfq.quote_expiry_secs",
                "must be at most a year".into(),
            ));
        }
        if !(2..=1_000_000_000).contains(&r.mc_paths) {
            return Err(invalid(
                "rfq.mc_paths",
                format!("{} is not between 2 and 1e9", r.mc_paths),
            ));
        }
        for (key, v) in [
            ("rfq.margin_bps", r.margin_bps),
            ("rfq.margin_bps_autocall", r.margin_bps_autocall),
            ("rfq.shark_fin_rebate_pct", r.shark_fin_rebate_pct),
        ] {
            if !(v.is_finite() && (0.0..=10_000.0).contains(&v)) {
                return Err(invalid(key, format!("{v} is not between 0 and 10000")));
            }
        }
        if !(0.0..=1.0).contains(&r.model_fallback_threshold) {
            return Err(invalid(
                "rfq.model_fallback_threshold",
                format!("{} is not between 0 and 1", r.model_fallback_threshold),
            ));
        }
        if !(1..=3_600_000).contains(&r.model_timeout_ms) {
            return Err(invalid(
                "rfq.model_timeout_ms",
                format!("{} is not between 1 and 3600000", r.model_timeout_ms),
            ));
        }
        if !(16..=8192).contains(&r.model_max_tokens) {
            return Err(invalid(
                "rfq.model_max_tokens",
                format!("{} is not between 16 and 8192", r.model_max_tokens),
            ));
        }
        if utc_offset(&r.reply_utc_offset).is_none() {
            return Err(invalid(
                "rfq.reply_utc_offset",
                format!("{:?} is not an offset like +08:00", r.reply_utc_offset),
            ));
        }
        self.limits.validate().map_err(|e| ConfigError::Invalid {
            key: format!("limits.{}", e.entry),
            message: e.problem,
        })?;
        if self.telegram.enabled {
            if self.telegram.token.trim().is_empty() {
                return Err(invalid(
                    "telegram.token",
                    "must be set when telegram.enabled = true".into(),
                ));
            }
            if !self.telegram.api_url.starts_with("http://")
                && !self.telegram.api_url.starts_with("https://")
            {
                return Err(invalid(
                    "telegram.api_url",
                    format!("{:?} is not an http(s) URL", self.telegram.api_url),
                ));
            }
        }
        let w = &self.webhook;
        for ch in &w.channels {
            if ch.is_empty()
                || ch.len() > 32
                || !ch
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
                || ch == "telegram"
                || ch == "cli"
            {
                return Err(invalid(
                    "webhook.channels",
                    format!(
                        "{ch:?} must be 1-32 characters of a-z, 0-9, '_', '-', and not telegram or cli"
                    ),
                ));
            }
        }
        if !w.channels.is_empty()
            && !w.callback_url.starts_with("http://")
            && !w.callback_url.starts_with("https://")
        {
            return Err(invalid(
                "webhook.callback_url",
                "must be an http(s) URL when webhook.channels is set".into(),
            ));
        }
        Ok(())
    }

    fn validate_wecom(&self) -> Result<(), ConfigError> {
        let w = &self.wecom;
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.into(),
            message,
        };
        if !w.enabled {
            return Ok(());
        }
        if w.token.trim().is_empty() {
            return Err(invalid(
                "wecom.token",
                "is required when wecom.enabled (the robot's API settings: Token)".into(),
            ));
        }
        let k = w.encoding_aes_key.trim();
        if k.chars().count() != 43
            || !k
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        {
            return Err(invalid(
                "wecom.encoding_aes_key",
                format!(
                    "must be the 43-character EncodingAESKey of the robot's API settings (this one has {} characters)",
                    k.chars().count()
                ),
            ));
        }
        for (key, v) in [
            ("wecom.max_skew_secs", w.max_skew_secs),
            ("wecom.stream_window_secs", w.stream_window_secs),
            ("wecom.stream_wait_ms", w.stream_wait_ms),
            ("wecom.first_wait_ms", w.first_wait_ms),
            ("wecom.timeout_secs", w.timeout_secs),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be greater than 0".into()));
            }
        }
        if w.first_wait_ms > 4000 {
            return Err(invalid(
                "wecom.first_wait_ms",
                "must be at most 4000: WeCom waits 5 s for the answer".into(),
            ));
        }
        if w.has_api() || !w.corp_id.is_empty() || !w.secret.is_empty() {
            if !w.has_api() || w.corp_id.is_empty() || w.secret.is_empty() {
                return Err(invalid(
                    "wecom.agent_id",
                    "the application API needs corp_id, agent_id and secret together".into(),
                ));
            }
            if !w.api_url.starts_with("http://") && !w.api_url.starts_with("https://") {
                return Err(invalid(
                    "wecom.api_url",
                    format!("{:?} is not an http(s) URL", w.api_url),
                ));
            }
        } else if !w.admin_users.is_empty() {
            return Err(invalid(
                "wecom.admin_users",
                "admins are alerted through the application API: set corp_id, agent_id and secret"
                    .into(),
            ));
        }
        if self.webhook.channels.iter().any(|c| c == "wecom") {
            return Err(invalid(
                "webhook.channels",
                "\"wecom\" is the native WeCom robot's channel while wecom.enabled; name the webhook channel otherwise".into(),
            ));
        }
        Ok(())
    }

    fn validate_extract(&self) -> Result<(), ConfigError> {
        let e = &self.extract;
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.into(),
            message,
        };
        for (key, v) in [
            ("extract.max_bytes", e.max_bytes),
            ("extract.max_pages", u64::from(e.max_pages)),
            ("extract.max_files", u64::from(e.max_files)),
            ("extract.model_max_chars", u64::from(e.model_max_chars)),
            ("extract.model_max_tokens", u64::from(e.model_max_tokens)),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be greater than 0".into()));
            }
        }
        if !(72..=1200).contains(&e.ocr_dpi) {
            return Err(invalid(
                "extract.ocr_dpi",
                format!("{} is not between 72 and 1200", e.ocr_dpi),
            ));
        }
        if e.ocr_languages.is_empty()
            || !e
                .ocr_languages
                .split('+')
                .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(invalid(
                "extract.ocr_languages",
                format!(
                    "{:?} is not a list of Tesseract languages such as chi_sim+eng",
                    e.ocr_languages
                ),
            ));
        }
        if e.pdftoppm.trim().is_empty() {
            return Err(invalid("extract.pdftoppm", "must not be empty".into()));
        }
        if !e.cdm_schema_dir.trim().is_empty()
            && !expand_home(e.cdm_schema_dir.trim())
                .join("cdm-event-common-TradeState.schema.json")
                .is_file()
        {
            return Err(invalid(
                "extract.cdm_schema_dir",
                format!(
                    "{:?} holds no cdm-event-common-TradeState.schema.json (the CDM 6.30.0 JSON Schemas)",
                    e.cdm_schema_dir
                ),
            ));
        }
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

    /// Every key that holds a value (not a table) as `(dotted key, environment variable)`, in
    /// file order. Tables (`limits.clients`) are set in the file only.
    pub fn keys() -> Vec<(String, String)> {
        let defaults = toml::Value::try_from(Config::default()).expect("defaults serialise");
        let mut out = Vec::new();
        if let toml::Value::Table(sections) = defaults {
            for (section, table) in sections {
                if let toml::Value::Table(keys) = table {
                    for (key, v) in keys.iter() {
                        if v.is_table() {
                            continue;
                        }
                        out.push((format!("{section}.{key}"), env_name(&section, key)));
                    }
                }
            }
        }
        out
    }
}

/// Variables read as another key's variable when that one is not set: `(alias, variable)`.
/// `DESKMATE_MODEL_CACHE` is the `models` crate's own name for the model directory (tests and
/// the model CLI have always honoured it).
const ENV_ALIASES: [(&str, &str); 1] = [("DESKMATE_MODEL_CACHE", "DESKMATE_MODELS_DIR")];

fn with_aliases(env: &BTreeMap<String, String>) -> std::borrow::Cow<'_, BTreeMap<String, String>> {
    let mut env = std::borrow::Cow::Borrowed(env);
    for (alias, var) in ENV_ALIASES {
        if let Some(v) = env.get(alias).cloned()
            && !env.contains_key(var)
        {
            env.to_mut().insert(var.to_string(), v);
        }
    }
    env
}

/// serde's "unknown variant `xml`, expected `text` or `json`" in the configuration's words:
/// `"xml" is not allowed; allowed values: text, json`. Other messages pass unchanged.
fn allowed_values_message(serde_message: &str) -> String {
    let Some(rest) = serde_message
        .find("unknown variant `")
        .map(|i| &serde_message[i + "unknown variant `".len()..])
    else {
        return serde_message.to_string();
    };
    let Some((value, expected)) = rest.split_once('`') else {
        return serde_message.to_string();
    };
    let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    if allowed.is_empty() {
        return serde_message.to_string();
    }
    format!(
        "{value:?} is not allowed; allowed values: {}",
        allowed.join(", ")
    )
}

fn env_name(section: &str, key: &str) -> String {
    format!("DESKMATE_{}_{}", section.to_uppercase(), key.to_uppercase())
}

/// Parses a UTC offset written `+08:00`, `-05:30` or `Z`.
pub fn utc_offset(s: &str) -> Option<time::UtcOffset> {
    let s = s.trim();
    if s == "Z" || s == "+00:00" {
        return Some(time::UtcOffset::UTC);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    time::UtcOffset::from_hms(sign * h, sign * m, 0).ok()
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
            if SECRET_MARKERS.iter().any(|m| k.contains(m)) && !k.ends_with("_file") {
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
                if prefix.is_empty() && OPEN_SECTIONS.contains(&k.as_str()) {
                    if !v.is_table() {
                        return Err(ConfigError::Invalid {
                            key,
                            message: "must be a table (a [section])".into(),
                        });
                    }
                    *slot = v;
                } else if dv.is_table() {
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
            // A secret may come from a file named by `<VARIABLE>_FILE` (Docker and Kubernetes
            // secrets, systemd credentials): its content, trimmed, is the value.
            let secret = SECRET_MARKERS.iter().any(|m| key.contains(m)) && !key.ends_with("_file");
            let file_var = format!("{var}_FILE");
            let from_file;
            let raw = if secret && matches!(dv, toml::Value::String(_)) {
                known.insert(file_var.clone(), ());
                match (env.get(&var), env.get(&file_var)) {
                    (Some(_), Some(_)) => {
                        return Err(ConfigError::Invalid {
                            key: format!("{section}.{key}"),
                            message: format!("set {var} or {file_var}, not both"),
                        });
                    }
                    (Some(v), None) => v,
                    (None, Some(path)) => {
                        let path = expand_home(path.trim());
                        from_file = std::fs::read_to_string(&path)
                            .map_err(|e| ConfigError::Invalid {
                                key: format!("{section}.{key}"),
                                message: format!("{file_var}: cannot read {}: {e}", path.display()),
                            })?
                            .trim()
                            .to_string();
                        used.push(file_var.clone());
                        &from_file
                    }
                    (None, None) => continue,
                }
            } else {
                let Some(raw) = env.get(&var) else { continue };
                raw
            };
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
            if env.contains_key(&var) {
                used.push(var);
            }
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

    #[test]
    fn secrets_come_from_files_named_by_file_variables() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "123:abc\n").unwrap();
        let p = path.to_str().unwrap();
        let c = load_str("", &[("DESKMATE_TELEGRAM_TOKEN_FILE", p)]).unwrap();
        assert_eq!(c.telegram.token, "123:abc");
        let c = load_str("", &[("DESKMATE_MODELS_REMOTE_API_KEY_FILE", p)]).unwrap();
        assert_eq!(c.models.remote_api_key, "123:abc");
        let both = load_str(
            "",
            &[
                ("DESKMATE_TELEGRAM_TOKEN_FILE", p),
                ("DESKMATE_TELEGRAM_TOKEN", "x"),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(both.contains("not both"), "{both}");
        let missing = load_str("", &[("DESKMATE_TELEGRAM_TOKEN_FILE", "/no/such/file")])
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("/no/such/file") && !missing.contains("123"),
            "{missing}"
        );
        // Only secrets have file variables.
        assert!(load_str("", &[("DESKMATE_SERVER_BIND_FILE", p)]).is_err());
    }

    /// `[extract]`'s defaults and the extraction crate's own defaults are the same settings.
    #[test]
    fn extract_defaults_agree_with_the_extraction_crate() {
        assert_eq!(
            format!("{:?}", ExtractConfig::default().settings()),
            format!("{:?}", extraction::Settings::default())
        );
    }

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
        assert_eq!(c.log.format, LogFormat::Json);
        assert_eq!(
            c.approvals.four_eyes_kinds,
            vec![crate::approvals::ApprovalKind::Quote]
        );
        let c = load_str("", &[("DESKMATE_APPROVALS_FOUR_EYES_KINDS", "a, b")]).unwrap();
        let kinds: Vec<&str> = c
            .approvals
            .four_eyes_kinds
            .iter()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(kinds, vec!["a", "b"]);
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
                "allowed keys here: approvals, compliance, drafting, extract, knowledge, limits, log, model_risk, models, pricing, research, rfq, server, storage, telegram, webhook, wecom",
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
                "[server]\nheader_read_timeout_secs = 0",
                &[],
                "server.header_read_timeout_secs",
            ),
            (
                "[server]\nbody_idle_timeout_secs = 0",
                &[],
                "server.body_idle_timeout_secs",
            ),
            (
                "[server]\nuser_concurrency_limit = 0",
                &[],
                "server.user_concurrency_limit",
            ),
            (
                "",
                &[("DESKMATE_SERVER_IP_CONCURRENCY_LIMIT", "0")],
                "server.ip_concurrency_limit",
            ),
            (
                "[server]\nuser_rate_per_sec = 0",
                &[],
                "server.user_rate_per_sec",
            ),
            (
                "[server]\nuser_rate_burst = -1",
                &[],
                "server.user_rate_burst",
            ),
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
            (
                "[models]\nbackend = \"remote\"\nremote_base_url = \"http://127.0.0.1:9/v1\"",
                &[],
                "models.remote_model",
            ),
            (
                "[models]\nremote_base_url = \"127.0.0.1:9\"",
                &[],
                "is not an http(s) URL",
            ),
            (
                "[models]\nremote_embedder_prefixes = \"query\"",
                &[],
                "allowed values: none, e5, input_type",
            ),
            ("[models]\nqueue_capacity = 0", &[], "models.queue_capacity"),
            ("[models]\nmax_context = 16", &[], "at least 64"),
            ("[models]\ngenerator = \" \"", &[], "models.generator"),
            ("server = 3", &[], "must be a table"),
            ("[server\n", &[], "not valid TOML"),
        ];
        for (text, vars, expect) in cases {
            let e = load_str(text, vars).unwrap_err().to_string();
            assert!(e.contains(expect), "{text:?}: {e:?} lacks {expect:?}");
        }
    }

    #[test]
    fn limits_with_the_users_own_keys_are_read_and_checked_by_type() {
        let c = load_str(
            "[limits]\nblocked_underlyings = [\"600519.SH\"]\n\
             [limits.clients.C001]\nstructures = [\"vanilla\"]\nmax_notional = 5e6\nmax_tenor_months = 6\n\
             [limits.exposure.\"000905.SH\"]\nmax_abs_vega = 5e6\n",
            &[("DESKMATE_RFQ_QUOTE_EXPIRY_SECS", "90")],
        )
        .unwrap();
        assert_eq!(c.limits.clients["C001"].max_notional, 5e6);
        assert_eq!(c.limits.exposure["000905.SH"].max_abs_vega, Some(5e6));
        assert_eq!(c.rfq.quote_expiry_secs, 90);
        let cases: &[(&str, &str)] = &[
            (
                "[limits.clients.C001]\nstructures = []\nmax_notional = 1\nmax_tenor_months = 1\nmax_notionl = 2\n",
                "max_notionl",
            ),
            (
                "[limits.clients.C001]\nstructures = [\"swap\"]\nmax_notional = 1\nmax_tenor_months = 1\n",
                "swap",
            ),
            (
                "[limits.clients.C001]\nstructures = []\nmax_notional = -1\nmax_tenor_months = 1\n",
                "limits.clients.C001.max_notional",
            ),
            (
                "[rfq]\nautocall_engine = \"gpu\"",
                "allowed values: mc, pde",
            ),
            ("[rfq]\nreply_utc_offset = \"CST\"", "rfq.reply_utc_offset"),
            ("[telegram]\nenabled = true", "telegram.token"),
            ("[webhook]\nchannels = [\"wecom\"]", "webhook.callback_url"),
            (
                "[webhook]\nchannels = [\"telegram\"]\ncallback_url = \"http://x\"",
                "webhook.channels",
            ),
        ];
        for (text, expect) in cases {
            let e = load_str(text, &[]).unwrap_err().to_string();
            assert!(e.contains(expect), "{text:?}: {e:?} lacks {expect:?}");
        }
        assert_eq!(
            utc_offset("+08:00"),
            time::UtcOffset::from_hms(8, 0, 0).ok()
        );
        assert_eq!(
            utc_offset("-05:30"),
            time::UtcOffset::from_hms(-5, -30, 0).ok()
        );
    }

    #[test]
    fn the_model_crates_cache_variable_is_an_alias_of_models_dir() {
        let c = load_str(
            "[models]\ndir = \"/from/file\"",
            &[("DESKMATE_MODEL_CACHE", "/from/cache-var")],
        )
        .unwrap();
        assert_eq!(c.models_dir(), PathBuf::from("/from/cache-var"));
        let c = load_str(
            "",
            &[
                ("DESKMATE_MODEL_CACHE", "/from/cache-var"),
                ("DESKMATE_MODELS_DIR", "/from/models-dir"),
            ],
        )
        .unwrap();
        assert_eq!(c.models_dir(), PathBuf::from("/from/models-dir"));
    }

    #[test]
    fn secrets_are_masked() {
        let c = load_str(
            "[models]\nremote_api_key = \"sk-123\"\n[telegram]\ntoken = \"123:bot-secret\"\n\
             [webhook]\nsecret = \"hook-secret\"",
            &[],
        )
        .unwrap();
        let shown = c.to_masked_toml();
        assert!(shown.contains("remote_api_key = \"****\""), "{shown}");
        assert!(!shown.contains("sk-123"));
        assert!(
            !shown.contains("bot-secret") && !shown.contains("hook-secret"),
            "{shown}"
        );
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
