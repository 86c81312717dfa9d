//! Deletion: [`KnowledgeBase::delete`] removes a document from the manifest (the commit point)
//! and then from both indexes, under the same intent protocol as ingestion (see
//! [`crate::manifest`]).

use super::KnowledgeBase;
use crate::document::{DocId, version_key};
use crate::error::KnowledgeError;
use crate::manifest::{Intent, Manifest};
use std::sync::Arc;

impl KnowledgeBase {
    /// Deletes a document from both indexes; `false` when there was no such document.
    pub fn delete(&self, id: &DocId) -> Result<bool, KnowledgeError> {
        let _w = self.writer.lock().unwrap();
        let Some(entry) = self
            .manifest
            .read()
            .unwrap()
            .documents
            .get(id.as_str())
            .cloned()
        else {
            return Ok(false);
        };
        let key = version_key(id, entry.meta.version);
        Intent {
            doc_id: id.to_string(),
            add: None,
            remove: Some(key.clone()),
        }
        .save(&self.dir)?;
        {
            let mut m = self.manifest.write().unwrap();
            let mut next = Manifest::clone(&m);
            next.documents.remove(id.as_str());
            next.save(&self.dir)?;
            *m = Arc::new(next);
        }
        let _exclusive = self.gate.write().unwrap();
        self.lexical.delete_version(&key);
        self.lexical.commit()?;
        self.vectors.delete_version(&key)?;
        self.vectors.flush()?;
        Intent::clear(&self.dir)?;
        Ok(true)
    }
}
