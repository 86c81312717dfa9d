//! The knowledge base's settings: [`KbConfig`] and where its vectors live ([`VectorBackend`]).
//! Under `cfg(test)` or the `testing` feature it also carries the crash-recovery tests' fault
//! injection (`CrashPoint`, `KbConfig::crash_at`), which the product's API does not have.

use crate::chunk::ChunkOptions;
use crate::decode::DEFAULT_MAX_BYTES;
use crate::search::FusionWeights;
use serde::{Deserialize, Serialize};

/// Where dense vectors live.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum VectorBackend {
    /// Embedded Qdrant Edge in `<dir>/vectors` (the default).
    Edge,
    /// A Qdrant server or cluster (gRPC URL) and a collection name.
    Server {
        /// `http://host:6334`.
        url: String,
        /// The collection.
        collection: String,
        /// The server's API key (sent with every request), if it requires one; never written
        /// to disk nor printed.
        #[serde(skip)]
        api_key: Option<String>,
    },
}

impl std::fmt::Debug for VectorBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VectorBackend::Edge => f.write_str("Edge"),
            VectorBackend::Server {
                url,
                collection,
                api_key,
            } => f
                .debug_struct("Server")
                .field("url", url)
                .field("collection", collection)
                .field("api_key", &api_key.as_ref().map(|_| "***"))
                .finish(),
        }
    }
}

/// A step of the ingestion protocol, for crash-recovery tests.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CrashPoint {
    /// After the intent is written, before either index changes.
    AfterIntent,
    /// After the vectors are stored, before the lexical index changes.
    AfterVectors,
    /// After both indexes hold the new version, before the manifest commits it.
    AfterLexical,
    /// After the manifest commit, before the old version is deleted.
    AfterManifest,
}

/// Knowledge-base settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbConfig {
    /// Where vectors live.
    pub vector: VectorBackend,
    /// Chunker settings.
    pub chunk: ChunkOptions,
    /// Fusion weights.
    pub fusion: FusionWeights,
    /// The largest input file accepted, in bytes.
    pub max_bytes: usize,
    /// Texts per embedding call.
    pub embed_batch: usize,
    /// Build the embedded store's vector index (HNSW) once this many points were added since
    /// it was last built (0: never). Below Qdrant's indexing threshold a search scans every
    /// vector: at 100k chunks that alone is ~16 ms a query on 2 cores, against ~2 ms with the
    /// index (`cargo bench -p knowledge`). The ingest that crosses the line pays for the build
    /// (about a minute at 100k points on 2 cores).
    #[serde(default = "default_optimize_every")]
    pub optimize_every: usize,
    /// Stop ingestion at this step as if the process died (crash-recovery tests only: it
    /// exists under `cfg(test)` and the `testing` feature).
    #[cfg(any(test, feature = "testing"))]
    #[serde(skip)]
    pub crash_at: Option<CrashPoint>,
}

fn default_optimize_every() -> usize {
    20_000
}

impl Default for KbConfig {
    fn default() -> Self {
        KbConfig {
            vector: VectorBackend::Edge,
            chunk: ChunkOptions::default(),
            fusion: FusionWeights::default(),
            max_bytes: DEFAULT_MAX_BYTES,
            embed_batch: 16,
            optimize_every: default_optimize_every(),
            #[cfg(any(test, feature = "testing"))]
            crash_at: None,
        }
    }
}
