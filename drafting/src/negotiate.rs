//! Negotiation: a counterparty's marked-up copy compared with our draft clause by clause.
//!
//! Both texts are read as sections and aligned with the template's clauses (the trade's own
//! draft gives the expected layout). A copy that shares too little of our draft — its clauses
//! or its parties — is refused as a mark-up of a different document. Each clause whose text
//! differs becomes a [`Change`] with its redline (line diff) and a class:
//! - **economic**: an economic term read from their text (by our extraction, as for any
//!   uploaded confirmation) differs from the trade in that clause, or an amount's words or
//!   currency no longer agree with its figures;
//! - **cosmetic**: the texts are equal once spacing, punctuation width and letter case are
//!   set aside;
//! - **substantive**: anything else (a wording changed, a clause removed or added).
//!
//! A substantive change is matched against the clause library: their wording may be one of
//! the clause's fallbacks, with the firm's position on it. The firm's response follows from
//! the class and the position, never from what their text says (it is compared, never
//! obeyed): cosmetic → accept; economic → reject (the trade was agreed; its value is restated);
//! a fallback the firm accepts → accept; one that needs approval or that the firm never
//! accepts → counter with the clause's first acceptable fallback when it has one, else reject;
//! an unknown wording → counter (or reject) the same way, for a lawyer to review. Each response
//! carries its reason, its impact (the terms or the clause's tags it touches) and talking
//! points (the clause's notes). [`Negotiation::issues_list`] writes the issues list.

use crate::diff::{self, Line};
use crate::document::{Document, Section};
use crate::draft::{Draft, Trade, draft};
use crate::proofread::{Kind, Request, proofread};
use crate::template::{Language, Position, Template, line_condition, placeholders};
use regex::Regex;
use serde::Serialize;
use std::collections::BTreeSet;

/// How a change is classed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// An economic term differs from the trade.
    Economic,
    /// The wording's meaning may change.
    Substantive,
    /// Spacing, punctuation width or case only.
    Cosmetic,
}

/// The firm's answer to a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Response {
    /// Take their wording.
    Accept,
    /// Offer fallback `fallback` (0-based) of the clause instead, or our wording (`None`).
    Counter {
        /// The fallback offered; `None` for our own (preferred) wording.
        fallback: Option<usize>,
        /// The text offered.
        text: String,
    },
    /// Keep our wording.
    Reject,
}

/// One economic term that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TermChange {
    /// The key-term leaf.
    pub field: String,
    /// What the finding says.
    pub message: String,
}

/// One clause's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The template clause, when the section is aligned with one.
    pub clause: Option<String>,
    /// The section as written (theirs, else ours).
    pub section: String,
    /// Its class.
    pub kind: ChangeKind,
    /// Our text of the clause (empty when they added it).
    pub ours: String,
    /// Their text (empty when they removed it).
    pub theirs: String,
    /// The redline: their text against ours, line by line.
    pub redline: Vec<Line>,
    /// Economic terms that differ from the trade.
    pub terms: Vec<TermChange>,
    /// The library fallback their wording is, with the firm's position.
    pub fallback: Option<(usize, Position)>,
    /// The firm's response.
    pub response: Response,
    /// Why.
    pub reason: String,
    /// What it does to the trade or the relationship.
    pub impact: String,
    /// Talking points for the call.
    pub talking_points: Vec<String>,
}

/// The comparison of a mark-up with our draft.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Negotiation {
    /// The changes, in the order of the document.
    pub changes: Vec<Change>,
    /// How many of our clauses their copy has (for the reader's trust in the alignment).
    pub clauses_matched: usize,
    /// How many clauses our draft has.
    pub clauses_ours: usize,
}

/// Why a mark-up was not compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiateError {
    /// Their copy is not a mark-up of our draft.
    #[error("the mark-up is not a copy of this draft: {0}")]
    DifferentDocument(String),
}

fn body(doc: &Document, s: &Section) -> String {
    doc.text[s.body.clone()]
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text with spacing, punctuation width and case set aside.
fn cosmetic_key(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '，' => ',',
            '：' => ':',
            '；' => ';',
            '（' => '(',
            '）' => ')',
            '。' => '.',
            '“' | '”' => '"',
            '‘' | '’' => '\'',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `text` follows wording `source` (placeholders as wildcards), line for line.
fn follows(source: &str, text: &str) -> bool {
    let pats: Vec<Regex> = source
        .lines()
        .filter_map(|raw| {
            let (_, line) = line_condition(raw).ok()?;
            let line = line.trim();
            if line.is_empty() {
                return None;
            }
            let mut pat = String::from("^");
            let mut last = 0;
            for (range, _) in placeholders(line) {
                pat.push_str(&regex::escape(&line[last..range.start]));
                pat.push_str(".+?");
                last = range.end;
            }
            pat.push_str(&regex::escape(&line[last..]));
            pat.push('$');
            Regex::new(&pat).ok()
        })
        .collect();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    !lines.is_empty()
        && lines.iter().all(|l| pats.iter().any(|p| p.is_match(l)))
        && pats.len() <= lines.len() + 2
}

/// Compares their copy with ours.
pub fn compare(
    ours: &str,
    theirs: &str,
    language: Language,
    template: &Template,
    trade: &Trade,
) -> Result<Negotiation, NegotiateError> {
    let expected: Option<Draft> = draft(template, trade).ok();
    let mut a = Document::parse(ours);
    let mut b = Document::parse(theirs);
    a.align(template, expected.as_ref());
    b.align(template, expected.as_ref());
    let our_clauses: Vec<&Section> = a.sections.iter().filter(|s| s.clause.is_some()).collect();
    let matched = our_clauses
        .iter()
        .filter(|s| {
            b.section_of(s.clause.as_deref().unwrap_or_default())
                .is_some()
        })
        .count();
    // A different document: under half our clauses, or neither party named.
    let parties: Vec<&str> = ["party_a", "party_b"]
        .iter()
        .filter_map(|r| trade.leaf(r).and_then(|v| v.as_str()))
        .collect();
    if matched * 2 < our_clauses.len().max(1) {
        return Err(NegotiateError::DifferentDocument(format!(
            "it has {matched} of our {} clauses",
            our_clauses.len()
        )));
    }
    if !parties.is_empty() && !parties.iter().any(|p| theirs.contains(p)) {
        return Err(NegotiateError::DifferentDocument(format!(
            "it names neither party ({})",
            parties.join(", ")
        )));
    }
    // Economic terms of their text against the trade, by clause.
    let report = proofread(&Request {
        text: theirs,
        language,
        template: Some(template),
        trade: Some(trade),
        holidays: &[],
    });
    // What our own text already says against the trade is not their change.
    let ours_report = proofread(&Request {
        text: ours,
        language,
        template: Some(template),
        trade: Some(trade),
        holidays: &[],
    });
    let already: BTreeSet<(Option<String>, String)> = ours_report
        .findings
        .iter()
        .map(|f| (f.clause.clone(), f.message.clone()))
        .collect();
    let mut changes = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let order: Vec<String> = template.walk().iter().map(|(c, _)| c.id.clone()).collect();
    let mut ids: Vec<String> = a
        .sections
        .iter()
        .chain(&b.sections)
        .filter_map(|s| s.clause.clone())
        .collect();
    ids.sort_by_key(|id| order.iter().position(|o| o == id));
    ids.dedup();
    for id in ids {
        if !seen.insert(id.clone()) {
            continue;
        }
        let (sa, sb) = (a.section_of(&id), b.section_of(&id));
        let ours_text = sa.map(|s| body(&a, s)).unwrap_or_default();
        let theirs_text = sb.map(|s| body(&b, s)).unwrap_or_default();
        let terms: Vec<TermChange> = report
            .findings
            .iter()
            .filter(|f| {
                f.clause.as_deref() == Some(id.as_str())
                    && matches!(
                        f.kind,
                        Kind::TermMismatch
                            | Kind::TermConflict
                            | Kind::TermMissing
                            | Kind::TermExtra
                            | Kind::AmountWords
                            | Kind::CurrencyMismatch
                    )
                    && sb.is_some()
                    && !already.contains(&(f.clause.clone(), f.message.clone()))
            })
            .map(|f| TermChange {
                field: f
                    .message
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                message: f.message.clone(),
            })
            .collect();
        if ours_text == theirs_text && terms.is_empty() {
            continue;
        }
        let section = sb.or(sa).map(Section::label).unwrap_or_default();
        let clause = template.clause(&id);
        let kind = if !terms.is_empty() {
            ChangeKind::Economic
        } else if sa.is_some()
            && sb.is_some()
            && cosmetic_key(&ours_text) == cosmetic_key(&theirs_text)
        {
            ChangeKind::Cosmetic
        } else {
            ChangeKind::Substantive
        };
        let fallback = match (kind, clause) {
            (ChangeKind::Substantive, Some(c)) if sb.is_some() => c
                .fallbacks
                .iter()
                .enumerate()
                .find(|(_, f)| follows(&f.text, &theirs_text))
                .map(|(i, f)| (i, f.position)),
            _ => None,
        };
        let acceptable = clause.and_then(|c| {
            c.fallbacks
                .iter()
                .enumerate()
                .find(|(i, f)| {
                    f.position == Position::Acceptable && Some(*i) != fallback.map(|x| x.0)
                })
                .map(|(i, _)| i)
        });
        let zh = language == Language::Zh;
        let say = |en: String, zh_s: String| if zh { zh_s } else { en };
        let fill = |i: usize| -> String {
            // The fallback as the trade fills it.
            let Some(c) = clause else {
                return String::new();
            };
            let w = std::collections::BTreeMap::from([(
                id.clone(),
                crate::draft::Wording::Fallback(i),
            )]);
            crate::draft::draft_with(template, trade, &w)
                .ok()
                .and_then(|d| {
                    d.walk()
                        .into_iter()
                        .find(|x| x.id == c.id)
                        .map(|x| x.text.clone())
                })
                .unwrap_or_else(|| c.fallbacks[i].text.clone())
        };
        let counter = |because: String| -> (Response, String) {
            match acceptable {
                Some(i) => (
                    Response::Counter {
                        fallback: Some(i),
                        text: fill(i),
                    },
                    because,
                ),
                None => (Response::Reject, because),
            }
        };
        let (response, reason) = match (kind, fallback, sb.is_some(), sa.is_some()) {
            (ChangeKind::Cosmetic, ..) => (
                Response::Accept,
                say("spacing, punctuation or case only: the meaning is unchanged".into(), "仅空格、标点或大小写不同，含义不变".into()),
            ),
            (ChangeKind::Economic, ..) => (
                Response::Reject,
                say(
                    "an economic term differs from the trade as agreed; the confirmation must state the trade".into(),
                    "经济条款与已达成的交易不一致，确认书须如实载明交易".into(),
                ),
            ),
            (_, Some((_, Position::Acceptable)), ..) => (
                Response::Accept,
                say("their wording is a fallback the firm accepts".into(), "对方措辞为本公司可接受的备选条款".into()),
            ),
            (_, Some((_, Position::NeedsApproval)), ..) => counter(say(
                "their wording is a fallback that needs approval; offer an acceptable one first".into(),
                "对方措辞为须经审批的备选条款，先提出可接受的备选条款".into(),
            )),
            (_, Some((_, Position::Never)), ..) => counter(say(
                "their wording is one the firm never accepts".into(),
                "对方措辞为本公司不接受的条款".into(),
            )),
            (_, None, false, _) => (
                Response::Reject,
                say("they removed a clause of the firm's template".into(), "对方删除了本公司模板中的条款".into()),
            ),
            (_, None, true, false) => (
                Response::Reject,
                say("they added a clause the firm's template does not have; a lawyer reviews it".into(), "对方新增了本公司模板中没有的条款，须由法务审阅".into()),
            ),
            (_, None, true, true) => counter(say(
                "their wording is not in the clause library; a lawyer reviews it".into(),
                "对方措辞不在条款库中，须由法务审阅".into(),
            )),
        };
        let tags = clause.map(|c| c.tags.join(", ")).unwrap_or_default();
        let impact = match kind {
            ChangeKind::Economic => say(
                format!(
                    "changes the trade's economics: {}",
                    terms
                        .iter()
                        .map(|t| t.message.clone())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                format!(
                    "改变交易经济条款：{}",
                    terms
                        .iter()
                        .map(|t| t.message.clone())
                        .collect::<Vec<_>>()
                        .join("；")
                ),
            ),
            ChangeKind::Cosmetic => say("none".into(), "无".into()),
            ChangeKind::Substantive => say(
                format!(
                    "changes the {} terms of the clause",
                    if tags.is_empty() {
                        "legal".into()
                    } else {
                        tags.clone()
                    }
                ),
                format!(
                    "改变该条款的{}约定",
                    if tags.is_empty() {
                        "法律".into()
                    } else {
                        tags.clone()
                    }
                ),
            ),
        };
        let mut talking_points: Vec<String> = clause.map(|c| c.notes.clone()).unwrap_or_default();
        if let Response::Counter {
            fallback: Some(i), ..
        } = &response
        {
            talking_points.push(say(
                format!(
                    "offer fallback {} of the clause, which the firm accepts",
                    i + 1
                ),
                format!("提出该条款的备选措辞 {}（本公司可接受）", i + 1),
            ));
        }
        changes.push(Change {
            clause: Some(id.clone()),
            section,
            kind,
            redline: diff::lines(&ours_text, &theirs_text),
            ours: ours_text,
            theirs: theirs_text,
            terms,
            fallback,
            response,
            reason,
            impact,
            talking_points,
        });
    }
    // Sections of theirs aligned with no clause: added text.
    for s in b
        .sections
        .iter()
        .filter(|s| s.clause.is_none() && s.level > 0)
    {
        let t = body(&b, s);
        changes.push(Change {
            clause: None,
            section: s.label(),
            kind: ChangeKind::Substantive,
            ours: String::new(),
            redline: diff::lines("", &t),
            theirs: t,
            terms: Vec::new(),
            fallback: None,
            response: Response::Reject,
            reason: if language == Language::Zh {
                "对方新增了本公司模板中没有的条款，须由法务审阅".into()
            } else {
                "they added a section the firm's template does not have; a lawyer reviews it".into()
            },
            impact: String::new(),
            talking_points: Vec::new(),
        });
    }
    Ok(Negotiation {
        changes,
        clauses_matched: matched,
        clauses_ours: our_clauses.len(),
    })
}

impl Negotiation {
    /// The issues list with talking points, as Markdown (one issue per change, cosmetic ones
    /// listed together at the end).
    pub fn issues_list(&self, title: &str, language: Language) -> String {
        let zh = language == Language::Zh;
        let mut out = format!(
            "# {} — {}\n\n",
            if zh {
                "谈判问题清单"
            } else {
                "Issues list"
            },
            title
        );
        let mut n = 0;
        for c in self
            .changes
            .iter()
            .filter(|c| c.kind != ChangeKind::Cosmetic)
        {
            n += 1;
            let action = match &c.response {
                Response::Accept => {
                    if zh {
                        "接受".to_string()
                    } else {
                        "Accept".into()
                    }
                }
                Response::Reject => {
                    if zh {
                        "拒绝".to_string()
                    } else {
                        "Reject".into()
                    }
                }
                Response::Counter {
                    fallback: Some(i), ..
                } => {
                    if zh {
                        format!("反提议（备选措辞 {}）", i + 1)
                    } else {
                        format!("Counter with fallback {}", i + 1)
                    }
                }
                Response::Counter { fallback: None, .. } => {
                    if zh {
                        "反提议（本公司措辞）".into()
                    } else {
                        "Counter with our wording".into()
                    }
                }
            };
            out.push_str(&format!("## {n}. {} ({:?})\n\n", c.section, c.kind));
            out.push_str(&format!(
                "- {}: {action}\n",
                if zh { "回应" } else { "Response" }
            ));
            out.push_str(&format!(
                "- {}: {}\n",
                if zh { "理由" } else { "Reason" },
                c.reason
            ));
            if !c.impact.is_empty() {
                out.push_str(&format!(
                    "- {}: {}\n",
                    if zh { "影响" } else { "Impact" },
                    c.impact
                ));
            }
            for t in &c.talking_points {
                out.push_str(&format!(
                    "- {}: {t}\n",
                    if zh { "要点" } else { "Talking point" }
                ));
            }
            out.push_str("\n```diff\n");
            for l in &c.redline {
                match l {
                    Line::Same(t) => out.push_str(&format!("  {t}\n")),
                    Line::Removed(t) => out.push_str(&format!("- {t}\n")),
                    Line::Added(t) => out.push_str(&format!("+ {t}\n")),
                }
            }
            out.push_str("```\n\n");
        }
        let cosmetic: Vec<&str> = self
            .changes
            .iter()
            .filter(|c| c.kind == ChangeKind::Cosmetic)
            .map(|c| c.section.as_str())
            .collect();
        if !cosmetic.is_empty() {
            out.push_str(&format!(
                "{}: {}\n",
                if zh {
                    "格式性修改（接受）"
                } else {
                    "Cosmetic changes (accepted)"
                },
                cosmetic.join(", ")
            ));
        }
        if n == 0 && cosmetic.is_empty() {
            out.push_str(if zh {
                "无修改。\n"
            } else {
                "No changes.\n"
            });
        }
        out
    }
}
