//! Fact-level comparison of two CDM documents.
//!
//! Both documents are flattened into scalar facts `(path, value)`:
//! - the path is the chain of object keys with array indices dropped
//!   (`trade.party[].partyId[].identifier.value`), so array order does not matter and facts are
//!   compared as multisets per path;
//! - `globalKey` and `globalReference` (content hashes the CDM runtime computes) are dropped
//!   everywhere: they carry no business fact and cannot be reproduced without the CDM's own
//!   hashing; `externalKey` / `externalReference` (the FpML ids) and document addresses
//!   (`quantity-1`…) are kept, as they are deterministic functions of the input;
//! - numbers compare numerically (`50000000.0` = `50000000`), strings exactly, booleans as
//!   booleans.
//!
//! Recall is the share of the expected facts found in the actual document, precision the share
//! of the actual facts found in the expected one. A missing fact whose path exists in the actual
//! document with other values is reported as wrong, otherwise as missing.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// Keys dropped before comparing (hashes computed by the CDM runtime).
pub const IGNORED_KEYS: &[&str] = &["globalKey", "globalReference"];

/// One scalar fact.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Fact {
    /// The key path, array indices dropped.
    pub path: String,
    /// The value, canonical: numbers without trailing zeros, strings quoted.
    pub value: String,
}

/// How well `actual` reproduces `expected`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Agreement {
    /// Number of scalar facts in the expected document.
    pub expected: usize,
    /// Number of scalar facts in the actual document.
    pub actual: usize,
    /// Facts in both (multiset intersection).
    pub matched: usize,
    /// Expected facts whose path is absent from the actual document.
    pub missing: Vec<Fact>,
    /// Expected facts whose path is present in the actual document with another value.
    pub wrong: Vec<Fact>,
    /// Actual facts the expected document does not have.
    pub extra: Vec<Fact>,
}

impl Agreement {
    /// matched / expected (1 for an empty expectation).
    pub fn recall(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.matched as f64 / self.expected as f64
        }
    }

    /// matched / actual (1 for an empty actual document).
    pub fn precision(&self) -> f64 {
        if self.actual == 0 {
            1.0
        } else {
            self.matched as f64 / self.actual as f64
        }
    }
}

/// Flattens a JSON document into its scalar facts, sorted.
pub fn facts(doc: &Value) -> Vec<Fact> {
    fn walk(v: &Value, path: &mut String, out: &mut Vec<Fact>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    if IGNORED_KEYS.contains(&k.as_str()) {
                        continue;
                    }
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    walk(x, path, out);
                    path.truncate(len);
                }
            }
            Value::Array(a) => {
                let len = path.len();
                path.push_str("[]");
                for x in a {
                    walk(x, path, out);
                }
                path.truncate(len);
            }
            Value::Null => {}
            scalar => out.push(Fact {
                path: path.clone(),
                value: canonical(scalar),
            }),
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut String::new(), &mut out);
    out.sort();
    out
}

fn canonical(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            Some(f) => format!("{f}"),
            None => n.to_string(),
        },
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Compares `actual` against `expected`.
pub fn compare(expected: &Value, actual: &Value) -> Agreement {
    let exp = facts(expected);
    let act = facts(actual);
    let mut pool: BTreeMap<&Fact, usize> = BTreeMap::new();
    for f in &act {
        *pool.entry(f).or_default() += 1;
    }
    let actual_paths: std::collections::BTreeSet<&str> =
        act.iter().map(|f| f.path.as_str()).collect();
    let mut a = Agreement {
        expected: exp.len(),
        actual: act.len(),
        ..Agreement::default()
    };
    for f in &exp {
        match pool.get_mut(f) {
            Some(n) if *n > 0 => {
                *n -= 1;
                a.matched += 1;
            }
            _ if actual_paths.contains(f.path.as_str()) => a.wrong.push(f.clone()),
            _ => a.missing.push(f.clone()),
        }
    }
    for (f, n) in pool {
        for _ in 0..n {
            a.extra.push(f.clone());
        }
    }
    a
}
