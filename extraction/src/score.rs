//! Scoring extracted key terms against expected ones: per-field precision, recall and F1, and
//! per-document exact match. Used by the `extraction` evaluation suite and the tests.
//!
//! Leaves are compared one by one (`notional.amount`, `notional.currency`); `other.*` leaves are
//! not scored. A predicted leaf is a true positive when the expectation has the same value
//! (numbers within 1e-9 relative, strings ignoring case), a false positive when the value
//! differs or the expectation does not have the leaf (unless the leaf is listed as unscored for
//! that document); an expected leaf not predicted with its value is a false negative.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::terms::{leaves_of, same_value};

/// One document of an expectation file.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// Document id.
    pub id: String,
    /// Where its text is: a path under the shared data dir, or `file.jsonl#id` for one record
    /// of a JSON Lines file (its `text` field).
    pub source: String,
    /// Kept out of development.
    pub held_out: bool,
    /// The document's language (`en`, `zh`); `en` when the file does not say.
    pub lang: String,
    /// The expected key-terms object.
    pub key_terms: Value,
    /// Leaves not scored for this document.
    pub unscored: Vec<String>,
    /// Expected `other` values (reported, not scored).
    pub other: Value,
}

/// Reads an expectation file (`{"documents": [...]}`).
pub fn load_expected(json: &str) -> Result<Vec<Expected>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("expectations: {e}"))?;
    let docs = v["documents"]
        .as_array()
        .ok_or("expectations: no `documents` array")?;
    docs.iter()
        .map(|d| {
            Ok(Expected {
                id: d["id"].as_str().ok_or("a document without id")?.to_owned(),
                source: d["source"]
                    .as_str()
                    .ok_or("a document without source")?
                    .to_owned(),
                held_out: d["held_out"].as_bool().unwrap_or(false),
                lang: d["lang"].as_str().unwrap_or("en").to_owned(),
                key_terms: d["key_terms"].clone(),
                unscored: d["unscored"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                other: d["other"].clone(),
            })
        })
        .collect()
}

/// The text of a source under the shared data dir.
pub fn source_text(shared: &Path, source: &str) -> Result<String, String> {
    match source.split_once('#') {
        Some((file, id)) => {
            let path = shared.join(file);
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let v: Value =
                    serde_json::from_str(line).map_err(|e| format!("{}: {e}", path.display()))?;
                if v["id"] == id {
                    return v["text"]
                        .as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{}#{id} has no text", path.display()));
                }
            }
            Err(format!("{}: no record {id}", path.display()))
        }
        None => {
            let path = shared.join(source);
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
        }
    }
}

/// Counts for one field (or for everything).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Correct predictions.
    pub tp: usize,
    /// Wrong or unexpected predictions.
    pub fp: usize,
    /// Expected values not predicted.
    pub fn_: usize,
}

impl Counts {
    /// tp / (tp + fp), 1 when nothing was predicted.
    pub fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }

    /// tp / (tp + fn), 1 when nothing was expected.
    pub fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }

    /// The harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    /// Adds another count.
    pub fn add(&mut self, o: Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

/// One document's score.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DocScore {
    /// Totals.
    pub counts: Counts,
    /// Per leaf.
    pub fields: BTreeMap<String, Counts>,
    /// Every scored leaf right and nothing extra.
    pub exact: bool,
    /// What was wrong, one line each.
    pub errors: Vec<String>,
}

/// Scores a predicted key-terms object against an expectation.
pub fn score(expected: &Expected, predicted: &Value) -> DocScore {
    let exp: Vec<(String, Value)> = leaves_of(&expected.key_terms)
        .into_iter()
        .filter(|(f, _)| !f.starts_with("other"))
        .collect();
    let got: Vec<(String, Value)> = leaves_of(predicted)
        .into_iter()
        .filter(|(f, _)| !f.starts_with("other"))
        .collect();
    let mut s = DocScore::default();
    for (field, want) in &exp {
        let c = s.fields.entry(field.clone()).or_default();
        match got.iter().find(|(f, _)| f == field) {
            Some((_, v)) if same_value(v, want) => c.tp += 1,
            Some((_, v)) => {
                c.fp += 1;
                c.fn_ += 1;
                s.errors.push(format!("{field}: expected {want}, got {v}"));
            }
            None => {
                c.fn_ += 1;
                s.errors
                    .push(format!("{field}: expected {want}, got nothing"));
            }
        }
    }
    for (field, v) in &got {
        if exp.iter().any(|(f, _)| f == field) || expected.unscored.contains(field) {
            continue;
        }
        s.fields.entry(field.clone()).or_default().fp += 1;
        s.errors.push(format!("{field}: not expected, got {v}"));
    }
    for c in s.fields.values() {
        s.counts.add(*c);
    }
    s.exact = s.counts.fp == 0 && s.counts.fn_ == 0;
    s
}

/// How many expected `other` values the prediction has (matched, expected).
pub fn other_agreement(expected: &Expected, predicted: &Value) -> (usize, usize) {
    let Some(exp) = expected.other.as_object() else {
        return (0, 0);
    };
    let got = predicted.get("other");
    let matched = exp
        .iter()
        .filter(|(k, v)| {
            got.and_then(|g| g.get(k.as_str()))
                .is_some_and(|g| g == *v || same_value(g, v))
        })
        .count();
    (matched, exp.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_and_exact_match() {
        let e = Expected {
            id: "x".into(),
            source: String::new(),
            held_out: false,
            lang: "en".into(),
            key_terms: json!({"trade_date": "2005-06-23", "notional": {"amount": 5, "currency": "USD"}}),
            unscored: vec!["party_a".into()],
            other: json!({}),
        };
        let s = score(
            &e,
            &json!({"trade_date": "2005-06-23", "notional": {"amount": 5.0, "currency": "USD"}, "party_a": "X"}),
        );
        assert!(s.exact, "{s:?}");
        let s = score(
            &e,
            &json!({"trade_date": "2005-06-24", "notional": {"amount": 5}, "party_b": "Y"}),
        );
        assert_eq!(
            s.counts,
            Counts {
                tp: 1,
                fp: 2,
                fn_: 2
            }
        );
        assert!(!s.exact);
        assert!((s.counts.f1() - 2.0 * (1.0 / 3.0) * (1.0 / 3.0) / (2.0 / 3.0)).abs() < 1e-12);
    }
}
