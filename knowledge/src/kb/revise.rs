//! Chunk revision: [`KnowledgeBase::revise_chunk`] corrects one chunk's text or splits it in
//! two, and commits the result as the document's next version through the same protocol as
//! ingestion ([`KnowledgeBase::commit_version`]): only that document is re-embedded and
//! re-indexed, the other documents are not touched, and a search never sees half an edit.
//!
//! The edited version keeps the document's metadata (title, source, collection,
//! classification, language); its content hash becomes the hash of the chunks' texts, so that
//! uploading the original source again is an ingestion (re-chunking from the source, which
//! replaces the edit), not a no-op.

use super::{IngestReport, IngestStatus, KnowledgeBase};
use crate::document::{Chunk, DocId, content_hash};
use crate::error::{InputError, KnowledgeError};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The most characters a corrected chunk may hold.
pub const MAX_CHUNK_CHARS: usize = 20_000;

/// An edit of one chunk of a document's current version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChunkEdit {
    /// Replace the chunk's text (an OCR or extraction error, a wrong line break).
    Correct {
        /// The chunk's position in the document.
        ordinal: u32,
        /// The corrected text.
        text: String,
    },
    /// Split the chunk in two before the first occurrence of `before` (two provisions that
    /// were chunked together).
    Split {
        /// The chunk's position in the document.
        ordinal: u32,
        /// Text of the chunk that starts the second part.
        before: String,
    },
}

impl ChunkEdit {
    /// The chunk edited.
    pub fn ordinal(&self) -> u32 {
        match self {
            ChunkEdit::Correct { ordinal, .. } | ChunkEdit::Split { ordinal, .. } => *ordinal,
        }
    }

    /// `correct` or `split`.
    pub fn action(&self) -> &'static str {
        match self {
            ChunkEdit::Correct { .. } => "correct",
            ChunkEdit::Split { .. } => "split",
        }
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> KnowledgeError {
    InputError::Invalid {
        field,
        reason: reason.into(),
    }
    .into()
}

/// The chunks after `edit`, renumbered from 0; an error naming the problem when the edit
/// cannot apply (no such chunk, an empty or unchanged text, a split point that is not in the
/// chunk or would leave an empty part).
pub fn apply(chunks: &[Chunk], edit: &ChunkEdit) -> Result<Vec<Chunk>, KnowledgeError> {
    let i = chunks
        .iter()
        .position(|c| c.ordinal == edit.ordinal())
        .ok_or_else(|| {
            invalid(
                "ordinal",
                format!(
                    "the document has no chunk {} (it has {})",
                    edit.ordinal(),
                    chunks.len()
                ),
            )
        })?;
    let old = &chunks[i];
    let mut out: Vec<Chunk> = chunks[..i].to_vec();
    match edit {
        ChunkEdit::Correct { text, .. } => {
            let text = text.trim();
            if text.is_empty() {
                return Err(invalid(
                    "text",
                    "a chunk cannot be empty (delete the document or split instead)",
                ));
            }
            if text.chars().count() > MAX_CHUNK_CHARS {
                return Err(invalid(
                    "text",
                    format!("over {MAX_CHUNK_CHARS} characters"),
                ));
            }
            if text == old.text.trim() {
                return Err(invalid("text", "the text is unchanged"));
            }
            out.push(Chunk {
                text: text.to_string(),
                ..old.clone()
            });
        }
        ChunkEdit::Split { before, .. } => {
            let before = before.trim();
            if before.is_empty() {
                return Err(invalid(
                    "before",
                    "give the text that starts the second part",
                ));
            }
            let at = old.text.find(before).ok_or_else(|| {
                invalid(
                    "before",
                    format!("{before:?} does not occur in chunk {}", old.ordinal),
                )
            })?;
            let (a, b) = old.text.split_at(at);
            let (a, b) = (a.trim(), b.trim());
            if a.is_empty() || b.is_empty() {
                return Err(invalid(
                    "before",
                    format!("splitting before {before:?} would leave an empty part"),
                ));
            }
            // Parts of a unit are fragments, no longer whole retrieval units.
            for part in [a, b] {
                out.push(Chunk {
                    text: part.to_string(),
                    whole_unit: false,
                    ..old.clone()
                });
            }
        }
    }
    out.extend(chunks[i + 1..].iter().cloned());
    for (n, c) in out.iter_mut().enumerate() {
        c.ordinal = n as u32;
    }
    Ok(out)
}

impl KnowledgeBase {
    /// Applies `edit` to the current version of document `id`, which must be `version` (the
    /// one the editor saw), and commits the result as the next version: only this document's
    /// chunks are embedded and indexed again.
    pub fn revise_chunk(
        &self,
        id: &DocId,
        version: u64,
        edit: &ChunkEdit,
    ) -> Result<IngestReport, KnowledgeError> {
        let t = Instant::now();
        let entry = self
            .document(id)
            .ok_or_else(|| KnowledgeError::NotFound(id.to_string()))?;
        if entry.meta.version != version {
            return Err(invalid(
                "version",
                format!(
                    "{id} is at version {}, not {version}: reload it",
                    entry.meta.version
                ),
            ));
        }
        let stored = self
            .chunks(id)?
            .ok_or_else(|| KnowledgeError::NotFound(id.to_string()))?;
        let current: Vec<Chunk> = stored
            .into_iter()
            .map(|c| Chunk {
                ordinal: c.ordinal,
                path: c.path,
                text: c.text,
                location: c.location,
                whole_unit: c.whole_unit,
                group: c.ordinal,
            })
            .collect();
        let revised = apply(&current, edit)?;
        let joined: Vec<&str> = revised.iter().map(|c| c.text.as_str()).collect();
        let mut meta = entry.meta.clone();
        meta.content_hash = content_hash(&joined.join("\n\n"));
        let chunk_ms = t.elapsed().as_secs_f64() * 1000.0;
        let done = self.commit_version(meta, &revised, entry.pages, Some(version))?;
        Ok(IngestReport {
            doc_id: id.to_string(),
            version: done.version,
            status: IngestStatus::Replaced {
                previous: done.previous.unwrap_or(version),
            },
            title: entry.meta.title,
            chunks: revised.len(),
            pages: entry.pages,
            merged: 0,
            encoding: String::new(),
            problems: Vec::new(),
            chunk_ms,
            embed_ms: done.embed_ms,
            index_ms: done.index_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Location, SectionPath};

    fn chunk(ordinal: u32, text: &str) -> Chunk {
        Chunk {
            ordinal,
            path: SectionPath::default(),
            text: text.into(),
            location: Location::default(),
            whole_unit: true,
            group: ordinal,
        }
    }

    #[test]
    fn a_correction_replaces_one_chunk_and_a_split_renumbers_the_rest() {
        let doc = [
            chunk(0, "第一条 总则。"),
            chunk(1, "第二条 期货交易。第三条 衍生品交易。"),
            chunk(2, "第四条 附则。"),
        ];
        let fixed = apply(
            &doc,
            &ChunkEdit::Correct {
                ordinal: 0,
                text: " 第一条 为了规范期货交易。 ".into(),
            },
        )
        .unwrap();
        assert_eq!(fixed.len(), 3);
        assert_eq!(fixed[0].text, "第一条 为了规范期货交易。");
        assert_eq!(fixed[1], doc[1]);

        let split = apply(
            &doc,
            &ChunkEdit::Split {
                ordinal: 1,
                before: "第三条".into(),
            },
        )
        .unwrap();
        let texts: Vec<&str> = split.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "第一条 总则。",
                "第二条 期货交易。",
                "第三条 衍生品交易。",
                "第四条 附则。"
            ]
        );
        assert_eq!(
            split.iter().map(|c| c.ordinal).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert!(!split[1].whole_unit && !split[2].whole_unit && split[3].whole_unit);
    }

    #[test]
    fn edits_that_cannot_apply_name_the_problem() {
        let doc = [chunk(0, "第一条 总则。第二条 定义。")];
        let cases = [
            (
                ChunkEdit::Correct {
                    ordinal: 5,
                    text: "x".into(),
                },
                "no chunk 5",
            ),
            (
                ChunkEdit::Correct {
                    ordinal: 0,
                    text: "  ".into(),
                },
                "cannot be empty",
            ),
            (
                ChunkEdit::Correct {
                    ordinal: 0,
                    text: "第一条 总则。第二条 定义。".into(),
                },
                "unchanged",
            ),
            (
                ChunkEdit::Correct {
                    ordinal: 0,
                    text: "长".repeat(MAX_CHUNK_CHARS + 1),
                },
                "over 20000",
            ),
            (
                ChunkEdit::Split {
                    ordinal: 0,
                    before: "第九条".into(),
                },
                "does not occur",
            ),
            (
                ChunkEdit::Split {
                    ordinal: 0,
                    before: "第一条".into(),
                },
                "empty part",
            ),
            (
                ChunkEdit::Split {
                    ordinal: 0,
                    before: " ".into(),
                },
                "second part",
            ),
        ];
        for (edit, want) in cases {
            let e = apply(&doc, &edit).unwrap_err().to_string();
            assert!(e.contains(want), "{edit:?}: {e}");
        }
    }

    #[test]
    fn edits_read_from_json_with_their_action() {
        let e: ChunkEdit =
            serde_json::from_str(r#"{"action":"split","ordinal":3,"before":"第三条"}"#).unwrap();
        assert_eq!(e.action(), "split");
        assert_eq!(e.ordinal(), 3);
        assert!(serde_json::from_str::<ChunkEdit>(r#"{"action":"merge","ordinal":3}"#).is_err());
        assert!(
            serde_json::from_str::<ChunkEdit>(
                r#"{"action":"correct","ordinal":1,"text":"x","x":1}"#
            )
            .is_err()
        );
    }
}
