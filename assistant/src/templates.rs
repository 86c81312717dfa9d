//! The clause library in the store: templates with every imported version, audited.
//!
//! - The library starts as the demo library (`drafting::library::demo`): each demo template the
//!   store lacks is imported as version 1 by `system` when the library is read (so an upgrade
//!   brings new demo templates, and never overwrites one the firm has revised).
//! - [`Assistant::template_import`] takes a template as Markdown with TOML front matter; it is
//!   checked by `drafting::template::parse` (an unknown placeholder, format or malformed clause
//!   is refused by name, nothing stored), given the next version of its id (a front-matter
//!   version above the stored one is kept), and stored in its canonical form. Audited
//!   (`template.import`, with the SHA-256 and where it came from).
//! - [`Assistant::template_import_docx`] reads a firm's existing template from a DOCX (through
//!   `connectors`): numbered headings become clauses, Word merge fields (`«trade_date»`) and
//!   `{{…}}` placeholders become placeholders, and the result goes through the same checks.
//! - [`Assistant::template_search`] finds clauses (heading, preferred wording, fallbacks, notes,
//!   tags) across the current versions, with each clause's fallbacks and the firm's positions.
//! - Drafts keep the template version they were made on; proofreading, mark-ups and approval
//!   use that version ([`Assistant::template_at`]).

use drafting::template::{Clause, Template};
use drafting::{Language, library};
use policies::DataClass;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::json;

use crate::Assistant;
use crate::drafts::{invalid, sha};
use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord, WriteTx, time};

/// One imported version of a template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateVersionInfo {
    /// Its number.
    pub version: u32,
    /// SHA-256 of its Markdown.
    pub sha256: String,
    /// Where it came from (`demo`, `markdown`, `docx:<file>`).
    pub origin: String,
    /// Why it was imported.
    pub note: String,
    /// When.
    pub imported_at: String,
    /// By whom.
    pub imported_by: String,
}

/// A template of the library as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateRecord {
    /// Its id.
    pub id: String,
    /// The current version.
    pub version: u32,
    /// The document title.
    pub title: String,
    /// Its language.
    pub language: Language,
    /// The product types it confirms.
    pub families: Vec<String>,
    /// Every version, oldest first.
    pub versions: Vec<TemplateVersionInfo>,
}

/// A clause found by a search, with its wordings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClauseHit {
    /// The template.
    pub template: String,
    /// Its current version.
    pub version: u32,
    /// The template's language.
    pub language: Language,
    /// The clause.
    pub clause: Clause,
    /// Where the words were found (`heading`, `preferred`, `fallback 2`, `note`, `tag`).
    pub matched: Vec<String>,
}

/// Stores `t` as the next version of its id inside `tx`; returns the version.
fn store_version(tx: &mut WriteTx<'_>, mut t: Template, origin: &str, note: &str) -> Result<u32> {
    let current: Option<u32> = tx
        .conn()
        .query_row(
            "SELECT version FROM templates WHERE id = ?1",
            [&t.id],
            |r| r.get(0),
        )
        .optional()?;
    let next = match current {
        Some(c) => t.version.max(c + 1),
        None => t.version.max(1),
    };
    t.version = next;
    let source = t.to_markdown();
    let digest = sha(&source);
    let now = time::fmt(time::now());
    let user = tx.actor().user.clone();
    let families = serde_json::to_string(&t.families).unwrap_or_else(|_| "[]".into());
    if current.is_some() {
        tx.conn().execute(
            "UPDATE templates SET version = ?2, title = ?3, language = ?4, families = ?5,
                 updated_at = ?6, updated_by = ?7 WHERE id = ?1",
            params![
                t.id,
                next,
                t.title,
                t.language.as_str(),
                families,
                now,
                user
            ],
        )?;
    } else {
        tx.conn().execute(
            "INSERT INTO templates (id, version, title, language, families, updated_at, updated_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                t.id,
                next,
                t.title,
                t.language.as_str(),
                families,
                now,
                user
            ],
        )?;
    }
    tx.conn().execute(
        "INSERT INTO template_versions (template_id, version, source, sha256, origin, note,
             imported_at, imported_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![t.id, next, source, digest, origin, note, now, user],
    )?;
    let clauses = count(&t.clauses);
    tx.audit(AuditRecord {
        action: "template.import",
        object_kind: "template",
        object_id: &t.id,
        class: DataClass::IMPORTANT,
        details: json!({
            "version": next, "previous": current, "sha256": digest, "origin": origin,
            "note": note, "clauses": clauses, "language": t.language.as_str(),
        }),
    })?;
    Ok(next)
}

fn count(clauses: &[Clause]) -> usize {
    clauses.iter().map(|c| 1 + count(&c.children)).sum()
}

fn slug(heading: &str, n: usize, taken: &mut std::collections::BTreeSet<String>) -> String {
    let mut s: String = heading
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-').to_string();
    let mut id = if s.is_empty() || s.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        format!("clause-{n}")
    } else {
        s
    };
    while !taken.insert(id.clone()) {
        id.push('x');
    }
    id
}

/// A firm's DOCX template (its text, one paragraph per line) as template Markdown: numbered
/// headings become clauses, merge fields `«name»` become `{{name}}`.
pub fn markdown_from_docx_text(
    text: &str,
    id: &str,
    title: &str,
    families: &[String],
    language: Language,
) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut out = format!(
        "+++\nid = \"{}\"\ntitle = \"{}\"\nfamilies = [{}]\nlanguage = \"{}\"\nversion = 1\ndescription = \"Imported from a DOCX template.\"\n+++\n\n",
        esc(id),
        esc(title),
        families
            .iter()
            .map(|f| format!("\"{}\"", esc(f)))
            .collect::<Vec<_>>()
            .join(", "),
        language.as_str()
    );
    let mut taken = std::collections::BTreeSet::new();
    let mut n = 0;
    let mut titled = false;
    for line in text.lines() {
        let l = line.trim();
        if !titled && !l.is_empty() && l == title.trim() {
            // The title is the front matter's.
            titled = true;
            continue;
        }
        let l = l.replace('«', "{{").replace('»', "}}");
        if drafting::document::heading(&l).is_some() {
            n += 1;
            let id = slug(&l, n, &mut taken);
            out.push_str(&format!("\n# {l} {{#{id}}}\n\n"));
        } else {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

impl Assistant {
    /// Imports each demo template the store does not hold yet (as version 1, by `system`); a
    /// template already in the store is never touched, whatever its version.
    fn template_seed(&self) -> Result<()> {
        if self.templates_seeded.get().is_some() {
            return Ok(());
        }
        let demo = library::demo()
            .map_err(|e| AssistantError::Invalid(format!("the demo clause library: {e}")))?;
        let held: Vec<String> = self.store.read(|c| {
            let mut stmt = c.prepare("SELECT id FROM templates")?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<std::result::Result<Vec<String>, _>>()?;
            Ok::<_, AssistantError>(ids)
        })?;
        if demo.iter().all(|t| held.contains(&t.id)) {
            let _ = self.templates_seeded.set(());
            return Ok(());
        }
        self.store.write(&Actor::system(), |tx| {
            for t in demo {
                let exists: Option<i64> = tx
                    .conn()
                    .query_row("SELECT 1 FROM templates WHERE id = ?1", [&t.id], |r| {
                        r.get(0)
                    })
                    .optional()?;
                if exists.is_none() {
                    store_version(tx, t, "demo", "the demo library shipped with Deskmate")?;
                }
            }
            Ok::<_, AssistantError>(())
        })?;
        let _ = self.templates_seeded.set(());
        Ok(())
    }

    /// The current version of every template.
    pub fn library(&self) -> Result<Vec<Template>> {
        self.template_seed()?;
        let sources: Vec<String> = self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT v.source FROM templates t JOIN template_versions v
                   ON v.template_id = t.id AND v.version = t.version ORDER BY t.id",
            )?;
            let rows = stmt
                .query_map([], |r| r.get(0))?
                .collect::<std::result::Result<Vec<String>, _>>()?;
            Ok::<_, AssistantError>(rows)
        })?;
        sources
            .iter()
            .map(|s| {
                drafting::template::parse(s)
                    .map_err(|e| AssistantError::Invalid(format!("a stored template: {e}")))
            })
            .collect()
    }

    /// Version `version` of template `id`.
    pub fn template_at(&self, id: &str, version: u32) -> Result<Template> {
        self.template_seed()?;
        let source: Option<String> = self.store.read(|c| {
            Ok::<_, AssistantError>(
                c.query_row(
                    "SELECT source FROM template_versions WHERE template_id = ?1 AND version = ?2",
                    params![id, version],
                    |r| r.get(0),
                )
                .optional()?,
            )
        })?;
        let source = source.ok_or_else(|| AssistantError::NotFound {
            kind: "template version",
            id: format!("{id} v{version}"),
        })?;
        drafting::template::parse(&source)
            .map_err(|e| AssistantError::Invalid(format!("stored template {id} v{version}: {e}")))
    }

    /// The library's templates with their versions.
    pub fn template_list(&self) -> Result<Vec<TemplateRecord>> {
        self.template_seed()?;
        self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, version, title, language, families FROM templates ORDER BY id",
            )?;
            let heads = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, u32>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let mut out = Vec::new();
            for (id, version, title, language, families) in heads {
                let mut stmt = c.prepare(
                    "SELECT version, sha256, origin, note, imported_at, imported_by
                     FROM template_versions WHERE template_id = ?1 ORDER BY version",
                )?;
                let versions = stmt
                    .query_map([&id], |r| {
                        Ok(TemplateVersionInfo {
                            version: r.get(0)?,
                            sha256: r.get(1)?,
                            origin: r.get(2)?,
                            note: r.get(3)?,
                            imported_at: r.get(4)?,
                            imported_by: r.get(5)?,
                        })
                    })?
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                out.push(TemplateRecord {
                    id,
                    version,
                    title,
                    language: if language == "zh" {
                        Language::Zh
                    } else {
                        Language::En
                    },
                    families: serde_json::from_str(&families).unwrap_or_default(),
                    versions,
                });
            }
            Ok::<_, AssistantError>(out)
        })
    }

    /// A template as listed, with the Markdown of `version` (the current one when `None`).
    pub fn template_get(
        &self,
        id: &str,
        version: Option<u32>,
    ) -> Result<(TemplateRecord, Template, String)> {
        let rec = self
            .template_list()?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| AssistantError::NotFound {
                kind: "template",
                id: id.into(),
            })?;
        let t = self.template_at(id, version.unwrap_or(rec.version))?;
        let md = t.to_markdown();
        Ok((rec, t, md))
    }

    /// Imports a template written as Markdown with front matter (see the module doc).
    pub fn template_import(
        &self,
        actor: &Actor,
        markdown: &str,
        origin: &str,
        note: &str,
    ) -> Result<TemplateRecord> {
        if markdown.len() > 1024 * 1024 {
            return Err(invalid(
                "markdown",
                format!("{} bytes; a template is at most 1 MiB", markdown.len()),
            ));
        }
        let note = note.trim();
        if note.is_empty() {
            return Err(invalid(
                "note",
                "say why the template is imported (kept with the version and in the audit log)",
            ));
        }
        let t =
            drafting::template::parse(markdown).map_err(|e| invalid("markdown", e.to_string()))?;
        self.template_seed()?;
        let id = t.id.clone();
        self.store
            .write(actor, |tx| store_version(tx, t, origin, note).map(|_| ()))?;
        self.template_list()?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| AssistantError::NotFound {
                kind: "template",
                id,
            })
    }

    /// Imports a firm's DOCX template (see the module doc).
    #[allow(clippy::too_many_arguments)]
    pub fn template_import_docx(
        &self,
        actor: &Actor,
        name: &str,
        bytes: &[u8],
        id: &str,
        title: &str,
        families: &[String],
        language: Language,
        note: &str,
    ) -> Result<TemplateRecord> {
        if id.trim().is_empty() || title.trim().is_empty() || families.is_empty() {
            return Err(invalid(
                "template",
                "a DOCX template needs its id, title and product types",
            ));
        }
        let doc = connectors::document::extract_text(
            connectors::document::Input::Bytes { bytes, name },
            &self.config.extract.settings().limits,
        )?;
        if doc.format != connectors::document::Format::Docx {
            return Err(invalid(
                "file",
                format!("{name}: not a DOCX ({:?})", doc.format),
            ));
        }
        let md = markdown_from_docx_text(&doc.text(), id.trim(), title.trim(), families, language);
        self.template_import(actor, &md, &format!("docx:{name}"), note)
    }

    /// Clauses of the current templates whose heading, wordings, notes or tags hold every word
    /// of `query` (case-insensitive), with their fallbacks; at most 50.
    pub fn template_search(&self, query: &str) -> Result<Vec<ClauseHit>> {
        let words: Vec<String> = query
            .split_whitespace()
            .map(str::to_lowercase)
            .filter(|w| !w.is_empty())
            .collect();
        let mut hits = Vec::new();
        for t in self.library()? {
            let mut stack: Vec<&Clause> = t.clauses.iter().collect();
            while let Some(c) = stack.pop() {
                stack.extend(c.children.iter());
                let mut fields: Vec<(String, String)> = vec![
                    ("heading".into(), c.heading.to_lowercase()),
                    ("preferred".into(), c.text.to_lowercase()),
                ];
                for (i, f) in c.fallbacks.iter().enumerate() {
                    fields.push((format!("fallback {}", i + 1), f.text.to_lowercase()));
                }
                for n in &c.notes {
                    fields.push(("note".into(), n.to_lowercase()));
                }
                fields.push(("tag".into(), c.tags.join(" ").to_lowercase()));
                let all = fields
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                if words.is_empty() || !words.iter().all(|w| all.contains(w.as_str())) {
                    continue;
                }
                let mut matched: Vec<String> = fields
                    .iter()
                    .filter(|(_, v)| words.iter().any(|w| v.contains(w.as_str())))
                    .map(|(k, _)| k.clone())
                    .collect();
                matched.dedup();
                let mut clause = c.clone();
                clause.children.clear();
                hits.push(ClauseHit {
                    template: t.id.clone(),
                    version: t.version,
                    language: t.language,
                    clause,
                    matched,
                });
                if hits.len() >= 50 {
                    return Ok(hits);
                }
            }
        }
        Ok(hits)
    }
}
