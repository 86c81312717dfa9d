//! The CDM JSON Schemas, one compiled set per directory per process.
//!
//! Compiling the TradeState validator costs about 1.5 GB and 5 s (measured by `connectors`), so
//! every extractor, test and evaluation in a process shares one [`CdmSchemas`] per directory,
//! loaded on first use.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use connectors::cdm::CdmSchemas;

use super::ExtractError;

/// The file that marks a CDM 6.30.0 schema directory.
const MARKER: &str = "cdm-event-common-TradeState.schema.json";

/// The schema directory: the configured one (if it holds the schemas), else the shared data
/// set's `cdm/jsonschema-6.30.0` found from `DESKMATE_SHARED_DATA`, the working directory, its
/// parent, or beside the source tree this was built from. `None` when none is found.
pub fn resolve_dir(configured: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = configured {
        return p.join(MARKER).is_file().then(|| p.to_path_buf());
    }
    let rel = "cdm/jsonschema-6.30.0";
    [
        std::env::var_os("DESKMATE_SHARED_DATA").map(|d| PathBuf::from(d).join(rel)),
        Some(PathBuf::from("shared/data").join(rel)),
        Some(PathBuf::from("../shared/data").join(rel)),
        Some(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")).join(rel)),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.join(MARKER).is_file())
}

static LOADED: Mutex<Vec<(PathBuf, Arc<CdmSchemas>)>> = Mutex::new(Vec::new());

/// The process's schemas for `dir` (loaded on the first call for it).
pub fn shared(dir: &Path) -> Result<Arc<CdmSchemas>, ExtractError> {
    let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, s)) = loaded.iter().find(|(d, _)| *d == key) {
        return Ok(s.clone());
    }
    let s = Arc::new(CdmSchemas::open(&key)?);
    if s.is_empty() {
        return Err(ExtractError::NoSchemaDir);
    }
    loaded.push((key, s.clone()));
    Ok(s)
}
