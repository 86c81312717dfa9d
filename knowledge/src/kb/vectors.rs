//! The knowledge base's side of the vector store: opening the configured backend
//! ([`VectorBackend`]), sharing the embedded store with the optimiser that builds its index,
//! and the file that records how many points wait for that index across restarts.

use super::config::VectorBackend;
use crate::error::KnowledgeError;
use crate::filter::ChunkFilter;
use crate::vector::edge::EdgeStore;
use crate::vector::server::ServerStore;
use crate::vector::{VectorHit, VectorPoint, VectorStore};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// The configured vector store, opened.
pub(super) struct OpenedVectors {
    /// The store every write and search goes through.
    pub store: Box<dyn VectorStore>,
    /// The embedded store behind it, for its optimiser (`None` for a server).
    pub edge: Option<Arc<EdgeStore>>,
    /// Points added to the embedded store since its index was last built (0 for a server).
    pub unindexed: usize,
}

/// Opens the vector store of the knowledge base in `dir` for `dim`-dimensional vectors.
pub(super) fn open(
    dir: &Path,
    backend: &VectorBackend,
    dim: usize,
) -> Result<OpenedVectors, KnowledgeError> {
    let (store, edge): (Box<dyn VectorStore>, Option<Arc<EdgeStore>>) = match backend {
        VectorBackend::Edge => {
            let e = Arc::new(EdgeStore::open(&dir.join("vectors"), dim)?);
            (
                Box::new(SharedEdge(e.clone())) as Box<dyn VectorStore>,
                Some(e),
            )
        }
        VectorBackend::Server {
            url,
            collection,
            api_key,
        } => (
            Box::new(ServerStore::open(url, collection, dim, api_key.as_deref())?)
                as Box<dyn VectorStore>,
            None,
        ),
    };
    // Points added since the index was last built, as recorded at the last write; a base
    // without the record (written before it existed) counts every point.
    let unindexed = match &edge {
        Some(e) => match read_unindexed(dir) {
            Some(n) => n.min(e.count()?),
            None => e.count()?,
        },
        None => 0,
    };
    Ok(OpenedVectors {
        store,
        edge,
        unindexed,
    })
}

/// An [`EdgeStore`] shared between the knowledge base and its optimiser.
struct SharedEdge(Arc<EdgeStore>);

impl VectorStore for SharedEdge {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn upsert(&self, points: &[VectorPoint]) -> Result<(), KnowledgeError> {
        self.0.upsert(points)
    }
    fn delete_version(&self, key: &str) -> Result<(), KnowledgeError> {
        self.0.delete_version(key)
    }
    fn search(
        &self,
        v: &[f32],
        f: &ChunkFilter,
        limit: usize,
    ) -> Result<Vec<VectorHit>, KnowledgeError> {
        self.0.search(v, f, limit)
    }
    fn version_keys(&self) -> Result<BTreeSet<String>, KnowledgeError> {
        self.0.version_keys()
    }
    fn count(&self) -> Result<usize, KnowledgeError> {
        self.0.count()
    }
    fn flush(&self) -> Result<(), KnowledgeError> {
        self.0.flush()
    }
}

/// The file recording how many points the embedded vector store holds beyond its last built
/// index, so that a restart does not count every point as new and rebuild the whole index on
/// the next ingest (about a minute at 100k points on 2 cores).
const UNINDEXED_FILE: &str = "vectors-unindexed";

fn read_unindexed(dir: &Path) -> Option<usize> {
    std::fs::read_to_string(dir.join(UNINDEXED_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Records `n` (write to a temporary file, then rename). A failure only means a later restart
/// counts too many points as unindexed, so it is logged, not raised.
pub(super) fn write_unindexed(dir: &Path, n: usize) {
    let tmp = dir.join(format!("{UNINDEXED_FILE}.tmp"));
    let done = std::fs::write(&tmp, n.to_string())
        .and_then(|()| std::fs::rename(&tmp, dir.join(UNINDEXED_FILE)));
    if let Err(e) = done {
        tracing::warn!(error = %e, "knowledge base: cannot record the unindexed point count");
    }
}
