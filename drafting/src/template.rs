//! Templates: a confirmation's clause tree (section → clause → sub-clause) whose variable parts
//! are typed placeholders, written as Markdown with TOML front matter so that legal staff can
//! read, diff and edit them, and parsed into [`Template`] with every placeholder checked.
//!
//! ```text
//! +++
//! id = "equity-option.en"
//! title = "Confirmation of an OTC Equity Option Transaction"
//! families = ["equity_option"]
//! language = "en"
//! version = 1
//! +++
//!
//! # 2 General Terms {#general tags="economic"}
//!
//! Trade Date: {{trade_date|date}}
//!
//! ## 2.4 Barrier {#barrier when="barrier.kind"}
//!
//! Barrier Event: ... {{barrier.level|amount}} ...
//!
//! ::: fallback needs_approval
//! The wording the firm accepts with a legal approval.
//! :::
//!
//! ::: note
//! Why the preferred wording is preferred.
//! :::
//! ```
//!
//! A heading's level (`#` count) places the clause in the tree; its number (`2.4`) is kept as
//! written. Attributes in braces: `#id` (stable id, else derived from the number or heading),
//! `tags="a b"`, `when="leaf"` (the clause applies only when the trade states that key term) or
//! `when="leaf=value"`. The text under a heading, outside `:::` blocks, is the preferred wording;
//! `::: fallback POSITION` blocks are the ordered fallback wordings (POSITION is `acceptable`,
//! `needs_approval` or `never`), `::: note` blocks the notes. Text before the first heading is the
//! preamble clause.
//!
//! A line may start with a condition, `[if leaf]`, `[if leaf=value]` or `[unless leaf]`, or
//! several in a row that must all hold: it is kept only when the trade meets them (a percent
//! strike and a price strike written apart).
//! A placeholder is `{{path}}` or `{{path|format}}` (`{{path?}}`: optional; a line of which
//! no placeholder has a value is left out; a line that states some value but lacks an optional
//! one refuses the draft like a required one, so a stated term is never dropped nor blanked):
//! `path` is a key-term leaf
//! (`shared/schemas/key-terms.md`: `trade_date`, `premium.amount`, `other.governing_law`) or a
//! CDM path `cdm:trade.tradeDate.value` into the trade's TradeState; `format` says how the value
//! is written ([`Format`]) and must suit the leaf's kind. An unknown leaf, an unknown format,
//! a format that does not suit the value, or an unclosed `{{` refuses the whole template, naming
//! the clause and the placeholder.

use crate::format::{Format, LeafKind};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// The language a template (and every draft made from it) is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// English.
    En,
    /// Chinese (simplified).
    Zh,
}

impl Language {
    /// `en` or `zh`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Zh => "zh",
        }
    }
}

/// The firm's position on a fallback wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// The firm accepts it without further approval.
    Acceptable,
    /// The firm accepts it only with a legal approval.
    NeedsApproval,
    /// The firm never accepts it (kept so that a counterparty's request can be recognised).
    Never,
}

impl Position {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Position::Acceptable => "acceptable",
            Position::NeedsApproval => "needs_approval",
            Position::Never => "never",
        }
    }

    fn parse(s: &str) -> Option<Position> {
        [
            Position::Acceptable,
            Position::NeedsApproval,
            Position::Never,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// A fallback wording and the firm's position on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fallback {
    /// The position.
    pub position: Position,
    /// The wording (may hold placeholders).
    pub text: String,
}

/// When a clause applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// The key-term leaf the trade must state.
    pub field: String,
    /// The value it must have (any value when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
}

/// One clause of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clause {
    /// Stable id, unique in the template.
    pub id: String,
    /// The number as written (`2.4`), empty when the heading has none.
    pub number: String,
    /// The heading without number and attributes (empty for the preamble).
    pub heading: String,
    /// The heading level (1 to 6; 0 for the preamble).
    pub level: u8,
    /// The preferred wording (may hold placeholders).
    pub text: String,
    /// Fallback wordings, in the order the firm offers them.
    #[serde(default)]
    pub fallbacks: Vec<Fallback>,
    /// Notes for the legal team.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Tags (`economic`, `termination` …).
    #[serde(default)]
    pub tags: Vec<String>,
    /// When the clause applies (always when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// Passages the local model writes (`{{free:ID}}` lines of the preferred wording).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub free: Vec<FreeSpec>,
    /// Sub-clauses.
    #[serde(default)]
    pub children: Vec<Clause>,
}

/// A passage of a clause that the local model writes, through a prompt chain, from facts the
/// trade states (`::: free ID` block; its place is the `{{free:ID}}` line of the clause's
/// preferred wording). Values are never the model's: the passage only describes what the
/// facts say, and its every figure must be one the trade states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreeSpec {
    /// Its id, unique in the clause (`bespoke-feature`).
    pub id: String,
    /// The key-term leaf holding the facts (`other.bespoke_feature`): the passage is written
    /// only when the trade states it.
    pub facts: String,
    /// What the passage is for.
    pub goal: String,
    /// The most words (English) or twice as many characters (Chinese).
    pub max_words: usize,
    /// Further constraints.
    pub constraints: Vec<String>,
    /// Examples of the legal department's wording.
    pub examples: Vec<String>,
}

impl FreeSpec {
    /// The block's body as the template writes it.
    fn to_block(&self) -> String {
        let mut out = format!(
            "facts: {}\ngoal: {}\nmax_words: {}\n",
            self.facts, self.goal, self.max_words
        );
        for c in &self.constraints {
            out.push_str(&format!("constraint: {c}\n"));
        }
        for e in &self.examples {
            out.push_str(&format!("example: {e}\n"));
        }
        out
    }

    fn parse(id: &str, body: &str) -> Result<FreeSpec, String> {
        let mut spec = FreeSpec {
            id: id.to_string(),
            facts: String::new(),
            goal: String::new(),
            max_words: 120,
            constraints: Vec::new(),
            examples: Vec::new(),
        };
        for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| format!("free `{id}`: `{line}` is not `key: value`"))?;
            let v = v.trim().to_string();
            match k.trim() {
                "facts" => spec.facts = v,
                "goal" => spec.goal = v,
                "max_words" => {
                    spec.max_words = v
                        .parse()
                        .ok()
                        .filter(|n| (10..=400).contains(n))
                        .ok_or_else(|| format!("free `{id}`: max_words `{v}` is not 10 to 400"))?
                }
                "constraint" => spec.constraints.push(v),
                "example" => spec.examples.push(v),
                other => {
                    return Err(format!(
                        "free `{id}`: unknown key `{other}` (facts, goal, max_words, constraint, example)"
                    ));
                }
            }
        }
        if !extraction::terms::is_leaf(&spec.facts) {
            return Err(format!(
                "free `{id}`: facts `{}` is not a key-terms field",
                spec.facts
            ));
        }
        if spec.goal.is_empty() {
            return Err(format!("free `{id}`: a goal is required"));
        }
        Ok(spec)
    }
}

/// The `{{free:ID}}` line of a wording, if `line` is one.
pub fn free_marker(line: &str) -> Option<&str> {
    let id = line.trim().strip_prefix("{{free:")?.strip_suffix("}}")?;
    (!id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    .then_some(id)
}

/// A template: front matter and the clause tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// Stable id (`equity-option.en`).
    pub id: String,
    /// The document title.
    pub title: String,
    /// The product types (`key-terms.md`'s `product_type`) it confirms.
    pub families: Vec<String>,
    /// Its language.
    pub language: Language,
    /// Its version (a new import of the same id must raise it).
    pub version: u32,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The clause tree (the preamble first when there is one).
    pub clauses: Vec<Clause>,
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The front matter is missing or malformed.
    #[error("front matter: {0}")]
    FrontMatter(String),
    /// A placeholder names no key-term leaf or CDM path, or its format is unknown or unsuitable.
    #[error("clause `{clause}`: placeholder `{{{{{placeholder}}}}}`: {reason}")]
    Placeholder {
        /// The clause id.
        clause: String,
        /// The placeholder as written, without braces.
        placeholder: String,
        /// What is wrong.
        reason: String,
    },
    /// Anything else wrong in the body, with its line (1-based).
    #[error("line {line}: {reason}")]
    Body {
        /// The line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Where a placeholder's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "source", content = "path", rename_all = "snake_case")]
pub enum Binding {
    /// A key-term leaf (`premium.amount`).
    KeyTerm(String),
    /// A path into the CDM TradeState (`trade.tradeDate.value`, `a.b[0].c`).
    Cdm(String),
}

impl Binding {
    /// As written in a template (`premium.amount`, `cdm:trade.tradeDate.value`).
    pub fn written(&self) -> String {
        match self {
            Binding::KeyTerm(p) => p.clone(),
            Binding::Cdm(p) => format!("cdm:{p}"),
        }
    }
}

/// A parsed placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placeholder {
    /// Where the value comes from.
    pub binding: Binding,
    /// How it is written.
    pub format: Format,
    /// Written `{{path?}}`: when the trade lacks the value, the line holding the placeholder is
    /// left out of the draft (a term the trade does not have), instead of refusing the draft.
    pub optional: bool,
}

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{([^{}]*)\}\}").unwrap());
static CDM_PATH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?(\.[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?)*$").unwrap()
});
static HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(#{1,6})\s+(?:(\d+(?:\.\d+)*)\.?\s+)?(.*?)\s*(?:\{([^{}]*)\})?\s*$").unwrap()
});
static ATTR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"#([A-Za-z0-9_.-]+)|([a-z]+)="([^"]*)""#).unwrap());

/// Parses one placeholder's inside (`premium.amount|words`).
pub fn parse_placeholder(inside: &str) -> Result<Placeholder, String> {
    let (path, format) = match inside.split_once('|') {
        Some((p, f)) => (p.trim(), Some(f.trim())),
        None => (inside.trim(), None),
    };
    let (path, optional) = match path.strip_suffix('?') {
        Some(p) => (p.trim_end(), true),
        None => (path, false),
    };
    if path.is_empty() {
        return Err("empty placeholder".into());
    }
    let binding = if let Some(p) = path.strip_prefix("cdm:") {
        if !CDM_PATH.is_match(p) {
            return Err(format!(
                "`{p}` is not a CDM path (names separated by dots, e.g. trade.tradeDate.value)"
            ));
        }
        Binding::Cdm(p.to_string())
    } else {
        if !extraction::terms::is_leaf(path) {
            return Err(format!(
                "`{path}` is not a key-terms field (shared/schemas/key-terms.md) nor a cdm: path"
            ));
        }
        Binding::KeyTerm(path.to_string())
    };
    let kind = match &binding {
        Binding::KeyTerm(p) => LeafKind::of(p),
        Binding::Cdm(_) => LeafKind::Text,
    };
    let format = match format {
        None => kind.default_format(),
        Some(f) => {
            let f = Format::parse(f).ok_or_else(|| {
                format!(
                    "unknown format `{f}` (one of {})",
                    Format::ALL
                        .iter()
                        .map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            if !f.suits(kind) && !matches!(binding, Binding::Cdm(_)) {
                return Err(format!(
                    "format `{}` does not suit {} (a {} value)",
                    f.as_str(),
                    path,
                    kind.as_str()
                ));
            }
            f
        }
    };
    Ok(Placeholder {
        binding,
        format,
        optional,
    })
}

/// The placeholders of a wording, in order, with their byte ranges (braces included).
pub fn placeholders(text: &str) -> Vec<(std::ops::Range<usize>, Result<Placeholder, String>)> {
    PLACEHOLDER
        .captures_iter(text)
        .map(|c| {
            let whole = c.get(0).unwrap();
            (whole.range(), parse_placeholder(&c[1]))
        })
        .collect()
}

static LINE_IF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*\[(if|unless)\s+([a-z0-9_.]+)(?:\s*=\s*([A-Za-z0-9_.-]+))?\]\s?").unwrap()
});

/// A line's condition: `[if leaf]`, `[if leaf=value]` or `[unless leaf]` at its start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineCondition {
    /// `false` for `unless`.
    pub positive: bool,
    /// The condition.
    pub condition: Condition,
}

/// Splits a line into its conditions (none, one, or several that must all hold:
/// `[if strike.unit=price] [unless strike.currency] …`) and the rest.
pub fn line_condition(line: &str) -> Result<(Vec<LineCondition>, &str), String> {
    let mut conds = Vec::new();
    let mut rest = line;
    loop {
        let Some(c) = LINE_IF.captures(rest) else {
            if rest.trim_start().starts_with("[if ") || rest.trim_start().starts_with("[unless ") {
                return Err(format!(
                    "cannot read the line condition in `{}`",
                    line.trim()
                ));
            }
            return Ok((conds, rest));
        };
        let field = c[2].to_string();
        if !extraction::terms::is_leaf(&field) {
            return Err(format!(
                "`{field}` in a line condition is not a key-terms field"
            ));
        }
        conds.push(LineCondition {
            positive: &c[1] == "if",
            condition: Condition {
                field,
                equals: c.get(3).map(|m| m.as_str().to_string()),
            },
        });
        rest = &rest[c.get(0).map_or(0, |m| m.end())..];
    }
}

/// Checks every placeholder and line condition of a wording: unknown ones and unclosed braces
/// are refused.
fn check_wording(clause: &str, text: &str) -> Result<(), TemplateError> {
    for line in text.lines() {
        line_condition(line).map_err(|reason| TemplateError::Placeholder {
            clause: clause.into(),
            placeholder: line.trim().chars().take(60).collect(),
            reason,
        })?;
    }
    for c in PLACEHOLDER.captures_iter(text) {
        // A model-written passage (`{{free:ID}}`, on a line of its own): checked against the
        // clause's `::: free` blocks by the caller.
        if c[1].trim().starts_with("free:") {
            let whole = c.get(0).map_or("", |m| m.as_str());
            if !text
                .lines()
                .any(|l| l.trim() == whole && free_marker(l).is_some())
            {
                return Err(TemplateError::Placeholder {
                    clause: clause.into(),
                    placeholder: c[1].trim().to_string(),
                    reason: "a `{{free:ID}}` passage stands alone on its line".into(),
                });
            }
            continue;
        }
        if let Err(reason) = parse_placeholder(&c[1]) {
            return Err(TemplateError::Placeholder {
                clause: clause.into(),
                placeholder: c[1].trim().to_string(),
                reason,
            });
        }
    }
    let stripped = PLACEHOLDER.replace_all(text, "");
    if stripped.contains("{{") || stripped.contains("}}") {
        return Err(TemplateError::Placeholder {
            clause: clause.into(),
            placeholder: stripped
                .split("{{")
                .nth(1)
                .unwrap_or(&stripped)
                .chars()
                .take(40)
                .collect(),
            reason: "unbalanced `{{` or `}}`".into(),
        });
    }
    Ok(())
}

/// The front matter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Front {
    id: String,
    title: String,
    families: Vec<String>,
    language: Language,
    version: u32,
    #[serde(default)]
    description: String,
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Which block of a clause the parser is in.
enum Block {
    Text,
    Fallback(Position),
    Note,
    Free(String),
}

/// A clause being read, with the heading level that places it.
struct Open {
    clause: Clause,
    fallback_text: String,
}

fn finish_text(s: &str) -> String {
    s.trim().to_string()
}

/// Parses a template from Markdown with TOML front matter; every placeholder is checked.
pub fn parse(markdown: &str) -> Result<Template, TemplateError> {
    let text = markdown.strip_prefix('\u{feff}').unwrap_or(markdown);
    let rest = text
        .strip_prefix("+++\n")
        .or_else(|| text.strip_prefix("+++\r\n"))
        .ok_or_else(|| {
            TemplateError::FrontMatter("the file must start with a `+++` line".into())
        })?;
    let end = rest
        .find("\n+++")
        .ok_or_else(|| TemplateError::FrontMatter("no closing `+++` line".into()))?;
    let front: Front =
        toml::from_str(&rest[..end]).map_err(|e| TemplateError::FrontMatter(e.to_string()))?;
    if front.id.is_empty()
        || !front
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(TemplateError::FrontMatter(format!(
            "id `{}` must be letters, digits, `-`, `.` or `_`",
            front.id
        )));
    }
    if front.families.is_empty() {
        return Err(TemplateError::FrontMatter(
            "families must name at least one product type".into(),
        ));
    }
    for f in &front.families {
        if !extraction::terms::PRODUCT_TYPES.contains(&f.as_str()) {
            return Err(TemplateError::FrontMatter(format!(
                "family `{f}` is not a product type of shared/schemas/key-terms.md"
            )));
        }
    }
    if front.version == 0 {
        return Err(TemplateError::FrontMatter("version starts at 1".into()));
    }
    let body = &rest[end + 4..];
    let first_line = text[..text.len() - body.len()].lines().count();
    let body = body.strip_prefix('\n').unwrap_or(body);

    // Read clauses flat (with levels), then nest.
    let mut flat: Vec<Open> = vec![Open {
        clause: Clause {
            id: "preamble".into(),
            number: String::new(),
            heading: String::new(),
            level: 0,
            text: String::new(),
            fallbacks: vec![],
            notes: vec![],
            tags: vec![],
            when: None,
            free: vec![],
            children: vec![],
        },
        fallback_text: String::new(),
    }];
    let mut block = Block::Text;
    let mut note = String::new();
    for (i, line) in body.lines().enumerate() {
        let lineno = first_line + i + 1;
        let trimmed = line.trim();
        let cur = flat.last_mut().unwrap();
        if let Some(open) = trimmed.strip_prefix(":::") {
            let open = open.trim();
            match (&block, open) {
                (Block::Text, "") => {
                    return Err(TemplateError::Body {
                        line: lineno,
                        reason: "`:::` closes nothing".into(),
                    });
                }
                (Block::Text, o) => {
                    let mut words = o.split_whitespace();
                    block = match (words.next(), words.next(), words.next()) {
                        (Some("note"), None, _) => Block::Note,
                        (Some("free"), Some(id), None) => Block::Free(id.to_string()),
                        (Some("fallback"), Some(p), None) => {
                            Block::Fallback(Position::parse(p).ok_or_else(|| {
                                TemplateError::Body {
                                    line: lineno,
                                    reason: format!(
                                        "fallback position `{p}`: expected acceptable, needs_approval or never"
                                    ),
                                }
                            })?)
                        }
                        _ => {
                            return Err(TemplateError::Body {
                                line: lineno,
                                reason: format!(
                                    "`::: {o}`: expected `::: fallback POSITION`, `::: note` or `::: free ID`"
                                ),
                            });
                        }
                    };
                }
                (Block::Fallback(p), "") => {
                    cur.clause.fallbacks.push(Fallback {
                        position: *p,
                        text: finish_text(&cur.fallback_text),
                    });
                    cur.fallback_text.clear();
                    block = Block::Text;
                }
                (Block::Note, "") => {
                    cur.clause.notes.push(finish_text(&note));
                    note.clear();
                    block = Block::Text;
                }
                (Block::Free(id), "") => {
                    let spec =
                        FreeSpec::parse(id, &note).map_err(|reason| TemplateError::Body {
                            line: lineno,
                            reason,
                        })?;
                    cur.clause.free.push(spec);
                    note.clear();
                    block = Block::Text;
                }
                _ => {
                    return Err(TemplateError::Body {
                        line: lineno,
                        reason: "a `:::` block cannot open inside another".into(),
                    });
                }
            }
            continue;
        }
        match block {
            Block::Fallback(_) => {
                cur.fallback_text.push_str(line);
                cur.fallback_text.push('\n');
                continue;
            }
            Block::Note | Block::Free(_) => {
                note.push_str(line);
                note.push('\n');
                continue;
            }
            Block::Text => {}
        }
        if let Some(h) = HEADING.captures(line) {
            let level = h[1].len() as u8;
            let number = h.get(2).map_or("", |m| m.as_str()).to_string();
            let heading = h[3].trim().to_string();
            let mut clause = Clause {
                id: String::new(),
                number: number.clone(),
                heading: heading.clone(),
                level,
                text: String::new(),
                fallbacks: vec![],
                notes: vec![],
                tags: vec![],
                when: None,
                free: vec![],
                children: vec![],
            };
            if let Some(attrs) = h.get(4) {
                let mut seen = 0;
                for a in ATTR.captures_iter(attrs.as_str()) {
                    seen += a[0].len();
                    if let Some(id) = a.get(1) {
                        clause.id = id.as_str().to_string();
                    } else {
                        let value = a[3].trim().to_string();
                        match &a[2] {
                            "tags" => {
                                clause.tags = value.split_whitespace().map(String::from).collect()
                            }
                            "when" => {
                                let (field, equals) = match value.split_once('=') {
                                    Some((f, v)) => (f.trim(), Some(v.trim().to_string())),
                                    None => (value.as_str(), None),
                                };
                                if !extraction::terms::is_leaf(field) {
                                    return Err(TemplateError::Body {
                                        line: lineno,
                                        reason: format!(
                                            "when=\"{value}\": `{field}` is not a key-terms field"
                                        ),
                                    });
                                }
                                clause.when = Some(Condition {
                                    field: field.into(),
                                    equals,
                                });
                            }
                            other => {
                                return Err(TemplateError::Body {
                                    line: lineno,
                                    reason: format!(
                                        "unknown attribute `{other}` (expected #id, tags, when)"
                                    ),
                                });
                            }
                        }
                    }
                }
                let spaces = attrs.as_str().chars().filter(|c| c.is_whitespace()).count();
                if seen + spaces < attrs.as_str().len() {
                    return Err(TemplateError::Body {
                        line: lineno,
                        reason: format!("cannot read the attributes `{{{}}}`", attrs.as_str()),
                    });
                }
            }
            if clause.id.is_empty() {
                clause.id = if number.is_empty() {
                    slug(&heading)
                } else {
                    format!("s{}", number.replace('.', "-"))
                };
            }
            if clause.id.is_empty() {
                return Err(TemplateError::Body {
                    line: lineno,
                    reason: "a heading needs a number, a title or an #id".into(),
                });
            }
            flat.push(Open {
                clause,
                fallback_text: String::new(),
            });
            continue;
        }
        cur.clause.text.push_str(line);
        cur.clause.text.push('\n');
    }
    if !matches!(block, Block::Text) {
        return Err(TemplateError::Body {
            line: first_line + body.lines().count(),
            reason: "a `:::` block is not closed".into(),
        });
    }
    let mut ids = BTreeSet::new();
    for o in &mut flat {
        o.clause.text = finish_text(&o.clause.text);
        if !ids.insert(o.clause.id.clone()) {
            return Err(TemplateError::Body {
                line: 0,
                reason: format!("clause id `{}` is used twice", o.clause.id),
            });
        }
        check_wording(&o.clause.id, &o.clause.text)?;
        for f in &o.clause.fallbacks {
            check_wording(&o.clause.id, &f.text)?;
        }
        let markers: Vec<&str> = o.clause.text.lines().filter_map(free_marker).collect();
        for m in &markers {
            if !o.clause.free.iter().any(|f| f.id == *m) {
                return Err(TemplateError::Placeholder {
                    clause: o.clause.id.clone(),
                    placeholder: format!("free:{m}"),
                    reason: "no `::: free` block describes it".into(),
                });
            }
        }
        for f in &o.clause.free {
            if markers.iter().filter(|m| **m == f.id).count() != 1 {
                return Err(TemplateError::Placeholder {
                    clause: o.clause.id.clone(),
                    placeholder: format!("free:{}", f.id),
                    reason: "a `::: free` block needs exactly one `{{free:ID}}` line in the clause's preferred wording".into(),
                });
            }
        }
    }
    let mut clauses: Vec<Clause> = flat.into_iter().map(|o| o.clause).collect();
    if clauses[0].text.is_empty() && clauses[0].fallbacks.is_empty() && clauses[0].notes.is_empty()
    {
        clauses.remove(0);
    }
    if clauses.is_empty() {
        return Err(TemplateError::Body {
            line: first_line,
            reason: "the template has no clauses".into(),
        });
    }
    Ok(Template {
        id: front.id,
        title: front.title,
        families: front.families,
        language: front.language,
        version: front.version,
        description: front.description,
        clauses: nest(clauses),
    })
}

/// Nests clauses read in order by their heading levels.
fn nest(flat: Vec<Clause>) -> Vec<Clause> {
    let mut roots: Vec<Clause> = Vec::new();
    let mut stack: Vec<Clause> = Vec::new();
    for c in flat {
        // The preamble (level 0) is a root of its own.
        while stack
            .last()
            .is_some_and(|top| top.level >= c.level || top.level == 0)
        {
            let done = stack.pop().unwrap();
            match stack.last_mut() {
                Some(parent) => parent.children.push(done),
                None => roots.push(done),
            }
        }
        stack.push(c);
    }
    while let Some(done) = stack.pop() {
        match stack.last_mut() {
            Some(parent) => parent.children.push(done),
            None => roots.push(done),
        }
    }
    roots
}

impl Template {
    /// Every clause, depth first, with its parents' ids.
    pub fn walk(&self) -> Vec<(&Clause, Vec<&str>)> {
        fn go<'a>(
            c: &'a Clause,
            parents: &mut Vec<&'a str>,
            out: &mut Vec<(&'a Clause, Vec<&'a str>)>,
        ) {
            out.push((c, parents.clone()));
            parents.push(&c.id);
            for ch in &c.children {
                go(ch, parents, out);
            }
            parents.pop();
        }
        let mut out = Vec::new();
        for c in &self.clauses {
            go(c, &mut Vec::new(), &mut out);
        }
        out
    }

    /// The clause with this id.
    pub fn clause(&self, id: &str) -> Option<&Clause> {
        self.walk().into_iter().map(|(c, _)| c).find(|c| c.id == id)
    }

    /// Every binding the template's preferred and fallback wordings use, and the `when` fields.
    pub fn bindings(&self) -> BTreeSet<Binding> {
        let mut out = BTreeSet::new();
        for (c, _) in self.walk() {
            for text in std::iter::once(&c.text).chain(c.fallbacks.iter().map(|f| &f.text)) {
                for (_, p) in placeholders(text) {
                    if let Ok(p) = p {
                        out.insert(p.binding);
                    }
                }
            }
        }
        out
    }

    /// Writes the template back as Markdown with front matter; [`parse`] reads it back to an
    /// equal template.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("+++\n");
        out.push_str(&format!("id = {}\n", toml_str(&self.id)));
        out.push_str(&format!("title = {}\n", toml_str(&self.title)));
        out.push_str(&format!(
            "families = [{}]\n",
            self.families
                .iter()
                .map(|f| toml_str(f))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out.push_str(&format!("language = \"{}\"\n", self.language.as_str()));
        out.push_str(&format!("version = {}\n", self.version));
        if !self.description.is_empty() {
            out.push_str(&format!("description = {}\n", toml_str(&self.description)));
        }
        out.push_str("+++\n");
        for (c, _) in self.walk() {
            out.push('\n');
            if c.level > 0 {
                out.push_str(&"#".repeat(c.level as usize));
                out.push(' ');
                if !c.number.is_empty() {
                    out.push_str(&c.number);
                    out.push(' ');
                }
                out.push_str(&c.heading);
                let mut attrs = vec![format!("#{}", c.id)];
                if !c.tags.is_empty() {
                    attrs.push(format!("tags=\"{}\"", c.tags.join(" ")));
                }
                if let Some(w) = &c.when {
                    attrs.push(match &w.equals {
                        Some(v) => format!("when=\"{}={v}\"", w.field),
                        None => format!("when=\"{}\"", w.field),
                    });
                }
                out.push_str(&format!(" {{{}}}\n\n", attrs.join(" ")));
            }
            if !c.text.is_empty() {
                out.push_str(&c.text);
                out.push('\n');
            }
            for f in &c.fallbacks {
                out.push_str(&format!(
                    "\n::: fallback {}\n{}\n:::\n",
                    f.position.as_str(),
                    f.text
                ));
            }
            for n in &c.notes {
                out.push_str(&format!("\n::: note\n{n}\n:::\n"));
            }
            for f in &c.free {
                out.push_str(&format!("\n::: free {}\n{}:::\n", f.id, f.to_block()));
            }
        }
        out
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "+++\nid = \"t.en\"\ntitle = \"T\"\nfamilies = [\"equity_option\"]\nlanguage = \"en\"\nversion = 1\n+++\n\nDear Sir or Madam,\n\n# 1 Terms {#terms tags=\"economic\"}\n\nTrade Date: {{trade_date|date}}\n\n## 1.1 Barrier {when=\"barrier.kind=knock_out\"}\n\nLevel: {{barrier.level|amount}}\n\n::: fallback needs_approval\nLevel as agreed.\n:::\n\n::: note\nKeep it short.\n:::\n\n# 2 Law\n\nEnglish law.\n";

    #[test]
    fn parses_the_tree_and_round_trips() {
        let t = parse(SMALL).unwrap();
        assert_eq!(t.clauses.len(), 3, "{:#?}", t.clauses);
        assert_eq!(t.clauses[0].id, "preamble");
        assert_eq!(t.clauses[1].id, "terms");
        assert_eq!(t.clauses[1].tags, vec!["economic"]);
        let barrier = &t.clauses[1].children[0];
        assert_eq!(barrier.id, "s1-1");
        assert_eq!(barrier.number, "1.1");
        assert_eq!(
            barrier.when,
            Some(Condition {
                field: "barrier.kind".into(),
                equals: Some("knock_out".into())
            })
        );
        assert_eq!(barrier.fallbacks[0].position, Position::NeedsApproval);
        assert_eq!(barrier.fallbacks[0].text, "Level as agreed.");
        assert_eq!(barrier.notes, vec!["Keep it short."]);
        assert_eq!(t.clauses[2].id, "s2");
        assert_eq!(parse(&t.to_markdown()).unwrap(), t);
    }

    #[test]
    fn unknown_placeholders_and_formats_are_refused_by_name() {
        let why = |src: String| parse(&src).unwrap_err().to_string();
        let bad = SMALL.replace("{{trade_date|date}}", "{{trade_dat|date}}");
        let e = parse(&bad).unwrap_err();
        assert!(
            matches!(&e, TemplateError::Placeholder { clause, placeholder, .. } if clause == "terms" && placeholder == "trade_dat|date"),
            "{e}"
        );
        let bad = SMALL.replace("{{trade_date|date}}", "{{trade_date|words}}");
        assert!(why(bad).contains("does not suit"));
        let bad = SMALL.replace("{{trade_date|date}}", "{{trade_date|bold}}");
        assert!(why(bad).contains("unknown format"));
        let bad = SMALL.replace("{{trade_date|date}}", "{{trade_date");
        assert!(why(bad).contains("unbalanced"));
        let bad = SMALL.replace("when=\"barrier.kind", "when=\"barrier.kin");
        assert!(why(bad).contains("barrier.kin"));
        let bad = SMALL.replace("::: note\nKeep it short.\n:::", "::: note\nKeep");
        assert!(parse(&bad).is_err());
        assert!(parse("no front matter").is_err());
        let bad = SMALL.replace("[\"equity_option\"]", "[\"toaster\"]");
        assert!(why(bad).contains("toaster"));
    }

    #[test]
    fn cdm_paths_are_accepted() {
        let p = parse_placeholder(
            "cdm:trade.tradeIdentifier[0].assignedIdentifier[0].identifier.value",
        )
        .unwrap();
        assert!(matches!(p.binding, Binding::Cdm(_)));
        assert!(parse_placeholder("cdm:trade..x").is_err());
    }
}
