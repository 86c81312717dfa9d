//! Precedents of a draft: earlier confirmations in the knowledge base for the same
//! counterparty or product, read clause by clause against the draft's template
//! (`drafting::precedents`), offered per clause where their wording deviates from it.
//!
//! # How precedents are found
//! The knowledge base is searched (hybrid BM25 + dense, as the caller: only documents they may
//! read) for the draft's counterparty, product and underlier, in the draft's language; the
//! first [`MAX_DOCUMENTS`] distinct documents are read back from their chunks (in order, each
//! section's heading restored from the chunk's path) and compared with the template. A document
//! that is not a confirmation on the template (an NDA, a regulation) is left out; one naming the
//! draft's counterparty comes first. Reads are audited (`draft.precedents`, with the documents
//! offered).

use std::collections::BTreeMap;

use drafting::Language;
use drafting::precedents::{ClauseWording, deviations};
use knowledge::search::Filters;
use policies::DataClass;
use serde::Serialize;
use serde_json::{Value, json};

use crate::Assistant;
use crate::documents::Knowledge;
use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord};

/// The most documents read as candidate precedents.
pub const MAX_DOCUMENTS: usize = 8;

/// A precedent's wording of one clause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrecedentWording {
    /// The knowledge-base document.
    pub doc_id: String,
    /// Its title.
    pub title: String,
    /// Its collection.
    pub collection: String,
    /// Whether it names the draft's counterparty.
    pub same_counterparty: bool,
    /// The clause as the precedent writes it, and how it deviates from the template.
    #[serde(flatten)]
    pub wording: ClauseWording,
}

/// The precedents of one clause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClausePrecedents {
    /// The template clause (`None`: a section the precedents add).
    pub clause: Option<String>,
    /// Their wordings, same counterparty first.
    pub precedents: Vec<PrecedentWording>,
}

/// What [`Assistant::draft_precedents`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Precedents {
    /// The query the knowledge base was searched with.
    pub query: String,
    /// The documents read as precedents (on the template), with whether each deviates.
    pub documents: Vec<Value>,
    /// Per clause, the precedents that word it differently.
    pub clauses: Vec<ClausePrecedents>,
}

/// A document's text from its chunks, in order, each section's heading restored from the
/// chunk's path where the chunk does not start with it.
fn text_of(chunks: &[knowledge::lexical::StoredChunk]) -> String {
    let mut out = String::new();
    let mut last_path: Option<String> = None;
    let mut ordered: Vec<&knowledge::lexical::StoredChunk> = chunks.iter().collect();
    ordered.sort_by_key(|c| c.ordinal);
    for c in ordered {
        let heading = c.path.segments.last().map(|s| s.display());
        let path = c.path.display("");
        if last_path.as_deref() != Some(path.as_str()) {
            if let Some(h) =
                heading.filter(|h| !h.is_empty() && !c.text.trim_start().starts_with(h.as_str()))
            {
                out.push_str(&h);
                out.push('\n');
            }
            last_path = Some(path);
        }
        out.push_str(c.text.trim_end());
        out.push('\n');
    }
    out
}

impl Assistant {
    /// The precedents of a draft (see the module doc).
    pub fn draft_precedents(&self, k: &Knowledge, actor: &Actor, id: &str) -> Result<Precedents> {
        let d = self.draft_get(id)?;
        let template = self.template_at(&d.template, d.template_version)?;
        let leaf = |p: &str| {
            d.trade
                .leaf(p)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let counterparty = leaf("party_b");
        let query = [
            counterparty.as_str(),
            d.title.as_str(),
            &leaf("underlier.name"),
        ]
        .iter()
        .filter(|s| !s.trim().is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
        let language = match d.language {
            Language::En => knowledge::Language::En,
            Language::Zh => knowledge::Language::Zh,
        };
        let report = self.search_documents(
            k,
            actor,
            &query,
            40,
            knowledge::Retrievers::Hybrid,
            Filters {
                languages: vec![language],
                ..Filters::default()
            },
        )?;
        let mut docs: Vec<String> = Vec::new();
        for h in &report.hits {
            if !docs.contains(&h.doc_id) {
                docs.push(h.doc_id.clone());
            }
            if docs.len() == MAX_DOCUMENTS {
                break;
            }
        }
        let mut read = Vec::new();
        let mut by_clause: BTreeMap<(usize, Option<String>), Vec<PrecedentWording>> =
            BTreeMap::new();
        let order: Vec<&str> = template.walk().iter().map(|(c, _)| c.id.as_str()).collect();
        for doc in &docs {
            let (rec, chunks) = match self.document_chunks(k, actor, doc) {
                Ok(x) => x,
                Err(AssistantError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            let text = text_of(&chunks);
            // The draft itself, filed in the knowledge base, is no precedent.
            if text.trim() == d.text.trim() {
                continue;
            }
            let own = self.extractor().extract(text.as_bytes(), "precedent.txt");
            let trade = drafting::Trade::checked(own.key_terms, None).ok();
            let Ok(found) = deviations(&text, d.language, &template, trade.as_ref()) else {
                continue;
            };
            let same = !counterparty.is_empty() && text.contains(&counterparty);
            read.push(json!({
                "doc_id": rec.id, "title": rec.title, "collection": rec.collection,
                "same_counterparty": same, "deviating_clauses": found.len(),
            }));
            for w in found {
                let pos = w
                    .clause
                    .as_deref()
                    .and_then(|c| order.iter().position(|o| *o == c))
                    .unwrap_or(usize::MAX);
                by_clause
                    .entry((pos, w.clause.clone()))
                    .or_default()
                    .push(PrecedentWording {
                        doc_id: rec.id.clone(),
                        title: rec.title.clone(),
                        collection: rec.collection.clone(),
                        same_counterparty: same,
                        wording: w,
                    });
            }
        }
        let clauses = by_clause
            .into_iter()
            .map(|((_, clause), mut precedents)| {
                precedents.sort_by_key(|p| !p.same_counterparty);
                ClausePrecedents { clause, precedents }
            })
            .collect();
        self.store.write(actor, |tx| {
            tx.audit(AuditRecord {
                action: "draft.precedents",
                object_kind: "draft",
                object_id: id,
                class: DataClass::IMPORTANT,
                details: json!({ "query": query, "documents": read }),
            })?;
            Ok::<_, AssistantError>(())
        })?;
        Ok(Precedents {
            query,
            documents: read,
            clauses,
        })
    }
}
