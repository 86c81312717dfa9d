//! [`ChunkFilter`]: the restrictions every query carries into both indexes, the clearance
//! included, so that a chunk above the caller's clearance is never even scored.

use crate::document::Language;
use policies::{Clearance, DataClass, Level};

/// The restrictions of one query. Empty lists mean "no restriction", except `classes`, which
/// lists the only classifications the caller may see (empty: nothing at all).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkFilter {
    /// Allowed collections.
    pub collections: Vec<String>,
    /// Allowed document ids.
    pub doc_ids: Vec<String>,
    /// Allowed languages.
    pub languages: Vec<Language>,
    /// The normalised label key the path must start with (`第2章/第1节`).
    pub path_prefix: Option<String>,
    /// The classifications the caller may read (always applied).
    pub classes: Vec<String>,
}

/// Every classification a clearance may read, in the stored string form.
pub fn readable_classes(clearance: Clearance) -> Vec<String> {
    let mut out = Vec::new();
    for level in [Level::General, Level::Important, Level::Core] {
        for sensitive in [false, true] {
            let class = DataClass { level, sensitive };
            if clearance.can_read(class) {
                out.push(class.to_string());
            }
        }
    }
    out
}
