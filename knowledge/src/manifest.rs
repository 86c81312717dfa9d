//! The commit protocol that keeps the two indexes agreeing about which document versions
//! exist.
//!
//! `manifest.json` is the single source of truth: the committed version of every document.
//! Hits from either index whose version is not the committed one are never shown. A change
//! runs as:
//!
//! 1. write `intent.json` (what is about to be added and removed), durably;
//! 2. add the new version to the vector store (flushed) and to the lexical index (committed);
//! 3. write the new manifest atomically (temp file, fsync, rename, fsync directory): this is
//!    the commit point, and the in-memory copy is swapped under a lock at the same moment;
//! 4. delete the old version from both indexes;
//! 5. remove `intent.json`.
//!
//! At open, an intent left by a crash is resolved (a version the manifest does not name is
//! deleted from both indexes; one it names is kept), then both indexes are swept for any
//! version the manifest does not name. Deletion is idempotent, so a crash during recovery is
//! recovered the same way.

use crate::document::DocumentMeta;
use crate::error::KnowledgeError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The manifest format version written by this code.
pub const FORMAT: u32 = 1;

/// One committed document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Its metadata (the version is the committed one).
    pub meta: DocumentMeta,
    /// The number of chunks in both indexes.
    pub chunks: usize,
    /// The number of pages of the source.
    pub pages: u32,
}

/// Everything committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The embedder id the vectors were made with.
    pub embedder: String,
    /// Their dimension.
    pub dim: usize,
    /// Committed documents by id.
    pub documents: BTreeMap<String, ManifestEntry>,
}

/// A change in flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The document.
    pub doc_id: String,
    /// The version being added (`{doc}@v{n}`), if any.
    pub add: Option<String>,
    /// The version being removed, if any.
    pub remove: Option<String>,
}

fn merr(path: &Path, e: impl std::fmt::Display) -> KnowledgeError {
    KnowledgeError::Manifest {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes `bytes` to `path` atomically and durably.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), KnowledgeError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp: PathBuf = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| merr(&tmp, e))?;
    f.write_all(bytes).map_err(|e| merr(&tmp, e))?;
    f.sync_all().map_err(|e| merr(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| merr(path, e))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

impl Manifest {
    /// Reads the manifest in `dir`, or `None` when there is none yet.
    pub fn load(dir: &Path) -> Result<Option<Manifest>, KnowledgeError> {
        let path = dir.join("manifest.json");
        match std::fs::read(&path) {
            Ok(bytes) => {
                let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| merr(&path, e))?;
                if m.format != FORMAT {
                    return Err(merr(
                        &path,
                        format!("format {} is not the supported {FORMAT}", m.format),
                    ));
                }
                Ok(Some(m))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(merr(&path, e)),
        }
    }

    /// Writes the manifest to `dir` atomically (the commit point).
    pub fn save(&self, dir: &Path) -> Result<(), KnowledgeError> {
        let path = dir.join("manifest.json");
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| merr(&path, e))?;
        write_atomic(&path, &bytes)
    }

    /// The committed version key of every document.
    pub fn version_keys(&self) -> std::collections::BTreeSet<String> {
        self.documents
            .values()
            .map(|e| crate::document::version_key(&e.meta.id, e.meta.version))
            .collect()
    }
}

impl Intent {
    /// Records the intent in `dir` durably.
    pub fn save(&self, dir: &Path) -> Result<(), KnowledgeError> {
        let path = dir.join("intent.json");
        let bytes = serde_json::to_vec(self).map_err(|e| merr(&path, e))?;
        write_atomic(&path, &bytes)
    }

    /// The intent left in `dir`, if any.
    pub fn load(dir: &Path) -> Result<Option<Intent>, KnowledgeError> {
        let path = dir.join("intent.json");
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(
                serde_json::from_slice(&bytes).map_err(|e| merr(&path, e))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(merr(&path, e)),
        }
    }

    /// Removes the intent file (the change is complete).
    pub fn clear(dir: &Path) -> Result<(), KnowledgeError> {
        let path = dir.join("intent.json");
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(merr(&path, e)),
        }
    }
}
