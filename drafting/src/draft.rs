//! A draft: a template's clause tree filled from one trade. Every placeholder is written
//! deterministically from the trade's key terms (or its CDM TradeState) by [`crate::format`];
//! a clause whose `when` the trade does not meet is left out; a placeholder whose value the
//! trade lacks refuses the draft, naming every missing field and the clauses that need it
//! (never a blank). Each filled value keeps its span in the clause text, its binding and the
//! value it came from, so that the UI can highlight it and the proofreader can check it.

use crate::format::{self, LeafKind};
use crate::template::{
    Binding, Clause, Condition, FreeSpec, Language, Template, free_marker, line_condition,
    placeholders,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The trade a draft is made from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    /// Its key terms (`shared/schemas/key-terms.md`).
    pub key_terms: Value,
    /// Its CDM TradeState, when there is one (needed by `cdm:` placeholders only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdm: Option<Value>,
}

impl Trade {
    /// A trade known by its key terms only (no CDM TradeState).
    pub fn from_key_terms(key_terms: Value) -> Trade {
        Trade {
            key_terms,
            cdm: None,
        }
    }

    /// A trade from its key terms (and CDM TradeState), every leaf checked as an extraction's
    /// or a reviewer's value is (`shared/schemas/key-terms.md`); the error names the leaf.
    pub fn checked(key_terms: Value, cdm: Option<Value>) -> Result<Trade, String> {
        let Some(obj) = key_terms.as_object() else {
            return Err("the key terms must be a JSON object".into());
        };
        if obj.is_empty() {
            return Err("the trade has no key terms".into());
        }
        for (leaf, value) in extraction::terms::leaves_of(&key_terms) {
            if !extraction::terms::is_leaf(&leaf) {
                return Err(format!("`{leaf}` is not a key-terms field"));
            }
            extraction::terms::check_leaf(&leaf, &value).map_err(|e| e.to_string())?;
        }
        if cdm.as_ref().is_some_and(|c| !c.is_object()) {
            return Err("the CDM TradeState must be a JSON object".into());
        }
        Ok(Trade { key_terms, cdm })
    }

    /// A trade given as JSON: its key terms alone, or `{"key_terms", "cdm"}`; checked as
    /// [`Trade::checked`] checks.
    pub fn from_json(v: Value) -> Result<Trade, String> {
        let (key_terms, cdm) = match v.get("key_terms") {
            Some(kt) => (kt.clone(), v.get("cdm").cloned().filter(|c| !c.is_null())),
            None => (v, None),
        };
        Trade::checked(key_terms, cdm)
    }

    /// A key-term leaf's value (`premium.amount`), if the trade states it.
    pub fn leaf(&self, path: &str) -> Option<&Value> {
        let mut v = &self.key_terms;
        for part in path.split('.') {
            v = v.get(part)?;
        }
        (!v.is_null()).then_some(v)
    }

    /// A CDM path's value (`trade.tradeDate.value`, `a.b[0].c`).
    pub fn cdm_value(&self, path: &str) -> Option<&Value> {
        let mut v = self.cdm.as_ref()?;
        for part in path.split('.') {
            let (name, index) = match part.split_once('[') {
                Some((n, i)) => (n, Some(i.trim_end_matches(']').parse::<usize>().ok()?)),
                None => (part, None),
            };
            v = v.get(name)?;
            if let Some(i) = index {
                v = v.get(i)?;
            }
        }
        (!v.is_null()).then_some(v)
    }

    fn value(&self, b: &Binding) -> Option<&Value> {
        match b {
            Binding::KeyTerm(p) => self.leaf(p),
            Binding::Cdm(p) => self.cdm_value(p),
        }
    }

    pub(crate) fn meets(&self, c: &Condition) -> bool {
        match (self.leaf(&c.field), &c.equals) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(v), Some(want)) => match v {
                Value::String(s) => s == want,
                Value::Number(n) => n.to_string() == *want,
                other => other.as_str() == Some(want.as_str()),
            },
        }
    }
}

/// A filled value inside a clause's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Byte offset of its first byte in the clause text.
    pub start: usize,
    /// Byte offset after its last byte.
    pub end: usize,
    /// Where it came from, as the template wrote it (`premium.amount`, `cdm:…`).
    pub binding: String,
    /// The format it was written in.
    pub format: format::Format,
    /// The trade's value.
    pub value: Value,
}

/// A passage of a clause written by the local model (marked as machine-written wherever the
/// draft is shown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineText {
    /// Byte offset of its first byte in the clause text.
    pub start: usize,
    /// Byte offset after its last byte.
    pub end: usize,
    /// The template's `::: free` id.
    pub id: String,
    /// The model that wrote it.
    pub model: String,
}

/// A passage the draft still needs written: its clause, its spec and the facts the trade
/// states for it.
#[derive(Debug, Clone, PartialEq)]
pub struct FreeSlot {
    /// The clause id.
    pub clause: String,
    /// What to write.
    pub spec: FreeSpec,
    /// The trade's facts (the spec's `facts` leaf).
    pub facts: String,
}

/// Which wording a drafted clause uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "index", rename_all = "snake_case")]
pub enum Wording {
    /// The template's preferred wording.
    Preferred,
    /// Fallback number `n` (0-based) of the clause.
    Fallback(usize),
}

/// One clause of a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DraftClause {
    /// The template clause's id.
    pub id: String,
    /// Its number as written.
    pub number: String,
    /// Its heading.
    pub heading: String,
    /// Its heading level (0 for the preamble).
    pub level: u8,
    /// The wording used.
    pub wording: Wording,
    /// The filled text.
    pub text: String,
    /// The filled values, in order.
    pub spans: Vec<Span>,
    /// Passages the local model wrote, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub machine: Vec<MachineText>,
    /// Sub-clauses that apply.
    pub children: Vec<DraftClause>,
}

/// A draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The template's id.
    pub template: String,
    /// The template's version.
    pub template_version: u32,
    /// The language.
    pub language: Language,
    /// The title.
    pub title: String,
    /// The clauses that apply, filled.
    pub clauses: Vec<DraftClause>,
}

/// Why no draft was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    /// The trade lacks values the template needs: (binding, clause ids).
    #[error("the trade lacks what the template needs: {}", missing.iter().map(|(b, c)| format!("{b} (clause {})", c.join(", "))).collect::<Vec<_>>().join("; "))]
    Missing {
        /// Each missing binding with the clauses that need it.
        missing: Vec<(String, Vec<String>)>,
    },
    /// A value cannot be written in the format asked for.
    #[error("clause `{clause}`: {binding}: {reason}")]
    Value {
        /// The clause id.
        clause: String,
        /// The binding.
        binding: String,
        /// What is wrong.
        reason: String,
    },
    /// A wording asked for that the clause does not have.
    #[error("clause `{clause}`: {reason}")]
    Wording {
        /// The clause id.
        clause: String,
        /// What is wrong.
        reason: String,
    },
    /// The template does not confirm this product type.
    #[error("template `{template}` confirms {families}, not {product}")]
    Product {
        /// The template id.
        template: String,
        /// Its families.
        families: String,
        /// The trade's product type.
        product: String,
    },
}

/// Fills one wording: the text and its spans, or the bindings it lacks. A line holding an
/// optional placeholder the trade lacks is left out.
fn fill_text(
    text: &str,
    trade: &Trade,
    lang: Language,
    clause: &str,
    free: &[FreeSpec],
    missing: &mut BTreeMap<String, Vec<String>>,
) -> Result<(String, Vec<Span>), DraftError> {
    let party = |r: &str| trade.leaf(r).and_then(Value::as_str).map(str::to_string);
    let mut out = String::new();
    let mut spans = Vec::new();
    for line in text.split_inclusive('\n') {
        // A model-written passage: its marker stays (the assistant's prompt chain replaces
        // it, [`Draft::fill_free`]) when the trade states its facts; else the line goes.
        if let Some(id) = free_marker(line) {
            let states = free
                .iter()
                .find(|f| f.id == id)
                .and_then(|f| trade.leaf(&f.facts))
                .and_then(Value::as_str)
                .is_some_and(|v| !v.trim().is_empty());
            if states {
                out.push_str(line);
            }
            continue;
        }
        let (cond, line) = line_condition(line).map_err(|reason| DraftError::Value {
            clause: clause.into(),
            binding: line.trim().to_string(),
            reason,
        })?;
        if cond.iter().any(|c| trade.meets(&c.condition) != c.positive) {
            continue;
        }
        // Lines left out must not leave blank lines behind: no blank line first, none doubled.
        if line.trim().is_empty() && (out.is_empty() || out.ends_with("\n\n")) {
            continue;
        }
        let mut filled = String::new();
        let mut line_spans = Vec::new();
        let mut last = 0;
        let (mut optional_missing, mut stated) = (Vec::new(), false);
        for (range, p) in placeholders(line) {
            // Templates are checked at import: a placeholder here always parses.
            let p = p.map_err(|reason| DraftError::Value {
                clause: clause.into(),
                binding: line[range.clone()].to_string(),
                reason,
            })?;
            filled.push_str(&line[last..range.start]);
            last = range.end;
            let Some(value) = trade.value(&p.binding) else {
                if p.optional {
                    optional_missing.push(p.binding.written());
                } else {
                    missing
                        .entry(p.binding.written())
                        .or_default()
                        .push(clause.to_string());
                }
                continue;
            };
            stated = true;
            let kind = match &p.binding {
                Binding::KeyTerm(path) => LeafKind::of(path),
                Binding::Cdm(_) => LeafKind::Text,
            };
            let written = format::write(p.format, kind, value, lang, &party).map_err(|reason| {
                DraftError::Value {
                    clause: clause.into(),
                    binding: p.binding.written(),
                    reason,
                }
            })?;
            let start = out.len() + filled.len();
            filled.push_str(&written);
            line_spans.push(Span {
                start,
                end: start + written.len(),
                binding: p.binding.written(),
                format: p.format,
                value: value.clone(),
            });
        }
        if !optional_missing.is_empty() {
            if !stated {
                // A term the trade does not have: the line is left out.
                continue;
            }
            // Part of a stated term is missing (an amount without its currency, or an
            // optional value beside a required one): refused, never a blank.
            for b in optional_missing {
                missing.entry(b).or_default().push(clause.to_string());
            }
        }
        filled.push_str(&line[last..]);
        out.push_str(&filled);
        spans.extend(line_spans);
    }
    // A left-out last line may leave a trailing newline behind.
    while out.ends_with('\n') {
        out.pop();
    }
    Ok((out, spans))
}

fn fill_clause(
    c: &Clause,
    trade: &Trade,
    lang: Language,
    wordings: &BTreeMap<String, Wording>,
    missing: &mut BTreeMap<String, Vec<String>>,
) -> Result<Option<DraftClause>, DraftError> {
    if c.when.as_ref().is_some_and(|w| !trade.meets(w)) {
        return Ok(None);
    }
    let wording = wordings.get(&c.id).copied().unwrap_or(Wording::Preferred);
    let source = match wording {
        Wording::Preferred => &c.text,
        Wording::Fallback(n) => {
            &c.fallbacks
                .get(n)
                .ok_or_else(|| DraftError::Wording {
                    clause: c.id.clone(),
                    reason: format!(
                        "it has {} fallback wording(s); fallback {n} does not exist",
                        c.fallbacks.len()
                    ),
                })?
                .text
        }
    };
    let (text, spans) = fill_text(source, trade, lang, &c.id, &c.free, missing)?;
    let mut children = Vec::new();
    for ch in &c.children {
        if let Some(d) = fill_clause(ch, trade, lang, wordings, missing)? {
            children.push(d);
        }
    }
    renumber(&mut children, c.children.len());
    Ok(Some(DraftClause {
        id: c.id.clone(),
        number: c.number.clone(),
        heading: c.heading.clone(),
        level: c.level,
        wording,
        text,
        spans,
        machine: Vec::new(),
        children,
    }))
}

/// Drafts a confirmation of `trade` from `template` with the preferred wordings.
pub fn draft(template: &Template, trade: &Trade) -> Result<Draft, DraftError> {
    draft_with(template, trade, &BTreeMap::new())
}

/// Drafts with a chosen wording per clause id (the preferred one where none is chosen). A
/// fallback is a complete alternative wording of its clause: it replaces the clause's text
/// (its sub-clauses stay).
pub fn draft_with(
    template: &Template,
    trade: &Trade,
    wordings: &BTreeMap<String, Wording>,
) -> Result<Draft, DraftError> {
    if let Some(id) = wordings.keys().find(|id| template.clause(id).is_none()) {
        return Err(DraftError::Wording {
            clause: id.clone(),
            reason: format!("template `{}` has no such clause", template.id),
        });
    }
    if let Some(product) = trade.leaf("product_type").and_then(Value::as_str)
        && !template.families.iter().any(|f| f == product)
    {
        return Err(DraftError::Product {
            template: template.id.clone(),
            families: template.families.join(", "),
            product: product.into(),
        });
    }
    let mut missing = BTreeMap::new();
    let mut clauses = Vec::new();
    for c in &template.clauses {
        if let Some(d) = fill_clause(c, trade, template.language, wordings, &mut missing)? {
            clauses.push(d);
        }
    }
    let numbered = template.clauses.iter().filter(|c| c.level > 0).count();
    let body = clauses
        .iter()
        .position(|c| c.level > 0)
        .unwrap_or(clauses.len());
    renumber(&mut clauses[body..], numbered);
    if !missing.is_empty() {
        return Err(DraftError::Missing {
            missing: missing
                .into_iter()
                .map(|(b, mut c)| {
                    c.dedup();
                    (b, c)
                })
                .collect(),
        });
    }
    Ok(Draft {
        template: template.id.clone(),
        template_version: template.version,
        language: template.language,
        title: template.title.clone(),
        clauses,
    })
}

/// Numbers siblings consecutively when some of the template's `of` siblings were left out
/// (`4.2` becomes `4.1` when `4.1` does not apply; `（二）` becomes `（一）`), so that a draft
/// never shows a gap in its numbering.
fn renumber(siblings: &mut [DraftClause], of: usize) {
    if siblings.len() == of {
        return;
    }
    for (i, c) in siblings.iter_mut().enumerate() {
        let n = i + 1;
        if !c.number.is_empty() {
            let mut parts: Vec<String> = c.number.split('.').map(str::to_string).collect();
            if let Some(last) = parts.last_mut() {
                *last = n.to_string();
            }
            c.number = parts.join(".");
        } else if let Some(rest) = c.heading.strip_prefix('（')
            && let Some((num, tail)) = rest.split_once('）')
            && cjk::numeral_value(&num.chars().collect::<Vec<_>>()).is_some()
        {
            c.heading = format!("（{}）{tail}", zh_ordinal(n));
        } else if let Some((num, tail)) = c.heading.split_once('、')
            && !num.is_empty()
            && cjk::numeral_value(&num.chars().collect::<Vec<_>>()).is_some()
        {
            c.heading = format!("{}、{tail}", zh_ordinal(n));
        }
    }
}

/// 1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (up to 99).
pub fn zh_ordinal(n: usize) -> String {
    const D: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0 => "零".into(),
        1..=9 => D[n].into(),
        10..=19 => format!("十{}", D[n % 10]),
        _ => format!("{}十{}", D[(n / 10) % 10], D[n % 10]),
    }
}

impl Draft {
    /// The passages left for the model to write (their `{{free:ID}}` lines), with their specs
    /// from `template` and the facts from `trade`.
    pub fn free_slots(&self, template: &Template, trade: &Trade) -> Vec<FreeSlot> {
        let mut out = Vec::new();
        for c in self.walk() {
            for id in c.text.lines().filter_map(free_marker) {
                let Some(spec) = template
                    .clause(&c.id)
                    .and_then(|t| t.free.iter().find(|f| f.id == id))
                else {
                    continue;
                };
                let facts = trade
                    .leaf(&spec.facts)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                out.push(FreeSlot {
                    clause: c.id.clone(),
                    spec: spec.clone(),
                    facts,
                });
            }
        }
        out
    }

    /// Puts a written passage in place of its `{{free:ID}}` line in `clause` (one paragraph:
    /// line breaks become spaces), shifting the spans after it; marked as machine-written by
    /// `model` unless `model` is empty (legal's placeholder for a passage the model could not
    /// write). Returns whether the marker was found.
    pub fn fill_free(&mut self, clause: &str, id: &str, text: &str, model: &str) -> bool {
        fn go(c: &mut DraftClause, clause: &str, id: &str, text: &str, model: &str) -> bool {
            if c.id == clause {
                let marker = format!("{{{{free:{id}}}}}");
                let Some(start) = c.text.find(&marker) else {
                    return false;
                };
                let para = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let end = start + marker.len();
                let delta = para.len() as isize - marker.len() as isize;
                c.text.replace_range(start..end, &para);
                for sp in &mut c.spans {
                    if sp.start >= end {
                        sp.start = (sp.start as isize + delta) as usize;
                        sp.end = (sp.end as isize + delta) as usize;
                    }
                }
                for m in &mut c.machine {
                    if m.start >= end {
                        m.start = (m.start as isize + delta) as usize;
                        m.end = (m.end as isize + delta) as usize;
                    }
                }
                if !model.is_empty() {
                    c.machine.push(MachineText {
                        start,
                        end: start + para.len(),
                        id: id.to_string(),
                        model: model.to_string(),
                    });
                    c.machine.sort_by_key(|m| m.start);
                }
                return true;
            }
            c.children
                .iter_mut()
                .any(|ch| go(ch, clause, id, text, model))
        }
        self.clauses
            .iter_mut()
            .any(|c| go(c, clause, id, text, model))
    }

    /// Every clause, depth first.
    pub fn walk(&self) -> Vec<&DraftClause> {
        fn go<'a>(c: &'a DraftClause, out: &mut Vec<&'a DraftClause>) {
            out.push(c);
            for ch in &c.children {
                go(ch, out);
            }
        }
        let mut out = Vec::new();
        for c in &self.clauses {
            go(c, &mut out);
        }
        out
    }

    /// The draft as plain text: the title, then each clause's heading line (number and
    /// heading) and its text, a blank line between clauses.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n", self.title);
        for c in self.walk() {
            out.push('\n');
            let head = match (c.number.is_empty(), c.heading.is_empty()) {
                (true, true) => String::new(),
                (true, false) => c.heading.clone(),
                (false, true) => c.number.clone(),
                (false, false) => format!("{} {}", c.number, c.heading),
            };
            if !head.is_empty() {
                out.push_str(&head);
                out.push('\n');
            }
            if !c.text.is_empty() {
                out.push_str(&c.text);
                out.push('\n');
            }
        }
        out
    }

    /// Every filled value with its byte range in [`Draft::to_text`]'s text, in order: what a
    /// page highlights.
    pub fn text_spans(&self) -> Vec<(std::ops::Range<usize>, &Span)> {
        let mut out = Vec::new();
        let mut pos = self.title.len() + 1;
        for c in self.walk() {
            pos += 1;
            let head = match (c.number.is_empty(), c.heading.is_empty()) {
                (true, true) => 0,
                (true, false) => c.heading.len() + 1,
                (false, true) => c.number.len() + 1,
                (false, false) => c.number.len() + 1 + c.heading.len() + 1,
            };
            pos += head;
            for s in &c.spans {
                out.push((pos + s.start..pos + s.end, s));
            }
            if !c.text.is_empty() {
                pos += c.text.len() + 1;
            }
        }
        out
    }

    /// The model-written passages with their byte ranges in [`Draft::to_text`].
    pub fn machine_spans(&self) -> Vec<(std::ops::Range<usize>, &MachineText)> {
        let mut out = Vec::new();
        let mut pos = self.title.len() + 1;
        for c in self.walk() {
            pos += 1;
            pos += match (c.number.is_empty(), c.heading.is_empty()) {
                (true, true) => 0,
                (true, false) => c.heading.len() + 1,
                (false, true) => c.number.len() + 1,
                (false, false) => c.number.len() + 1 + c.heading.len() + 1,
            };
            for m in &c.machine {
                out.push((pos + m.start..pos + m.end, m));
            }
            if !c.text.is_empty() {
                pos += c.text.len() + 1;
            }
        }
        out
    }

    /// The draft as Markdown (headings by level), for review and export.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n", self.title);
        for c in self.walk() {
            out.push('\n');
            if c.level > 0 {
                out.push_str(&"#".repeat(c.level as usize + 1));
                out.push(' ');
                if !c.number.is_empty() {
                    out.push_str(&c.number);
                    out.push(' ');
                }
                out.push_str(&c.heading);
                out.push_str("\n\n");
            }
            if !c.text.is_empty() {
                out.push_str(&c.text);
                out.push('\n');
            }
        }
        out
    }
}
