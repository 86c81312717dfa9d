//! Scoring a generated report against an expected one (the eval's measure): field-level
//! accuracy over the expected report's reportable fields, values compared after normalising
//! numbers (`1e+20` = `100000000000000000000`, `10000000.0` = `10000000`) and timestamps (a
//! fraction of a second of zeros dropped).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::elements::Cell;

/// The expected report's fields, flattened to the dotted names we generate
/// (`leg1.notionalAmount`, `basketConstituents[0].identifier`). DRR's `nonReportable` block
/// (its own working data, not reported) is left out.
pub fn flatten(report: &Value) -> BTreeMap<String, Value> {
    fn walk(v: &Value, prefix: &str, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if prefix.is_empty() && k == "nonReportable" {
                        continue;
                    }
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(x, &p, out);
                }
            }
            Value::Array(a) if a.first().is_some_and(|x| x.is_object() || x.is_array()) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{prefix}[{i}]"), out);
                }
            }
            other => {
                out.insert(prefix.to_owned(), other.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(report, "", &mut out);
    out
}

/// Nests dotted names back into a JSON report (`leg1.notionalAmount` → `{"leg1":
/// {"notionalAmount": …}}`, `a[0].b` → `{"a": [{"b": …}]}`).
pub fn nest(fields: &BTreeMap<String, Value>) -> Value {
    fn put(cur: &mut Value, parts: &[&str], v: &Value) {
        let Some((part, rest)) = parts.split_first() else {
            *cur = v.clone();
            return;
        };
        if !cur.is_object() {
            *cur = Value::Object(serde_json::Map::new());
        }
        let (name, index) = match part.split_once('[') {
            Some((n, r)) => (n, r.trim_end_matches(']').parse::<usize>().ok()),
            None => (*part, None),
        };
        let obj = cur.as_object_mut().expect("made an object above");
        let slot = obj.entry(name.to_owned()).or_insert(Value::Null);
        match index {
            None => put(slot, rest, v),
            Some(ix) => {
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                let a = slot.as_array_mut().expect("made an array above");
                while a.len() <= ix {
                    a.push(Value::Null);
                }
                put(&mut a[ix], rest, v);
            }
        }
    }
    let mut root = Value::Object(serde_json::Map::new());
    for (k, v) in fields {
        let parts: Vec<&str> = k.split('.').collect();
        put(&mut root, &parts, v);
    }
    root
}

fn norm_ts(s: &str) -> String {
    // `…:29.000Z` → `…:29Z`; `2024-04-29T00:00:00Z` stays.
    if let Some((head, frac)) = s.split_once('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        let rest = &frac[digits.len()..];
        let trimmed = digits.trim_end_matches('0');
        if trimmed.is_empty() {
            return format!("{head}{rest}");
        }
        return format!("{head}.{trimmed}{rest}");
    }
    s.to_owned()
}

/// Whether two values are the same after normalisation.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || ((x - y).abs() <= 1e-9 * x.abs().max(y.abs()))
        }
        (Value::String(x), Value::String(y)) => x == y || norm_ts(x) == norm_ts(y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        _ => a == b,
    }
}

/// One field's outcome.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldOutcome {
    /// The field (dotted name), as in the expected report.
    pub field: String,
    /// The expected value.
    pub expected: Value,
    /// What we generated (`None`: not generated, or listed as missing).
    pub got: Option<Value>,
    /// Whether what we generated is the expected value ([`same`]).
    pub correct: bool,
}

/// Every expected field against what was generated.
pub fn score(expected: &Value, generated: &BTreeMap<String, Cell>) -> Vec<FieldOutcome> {
    flatten(expected)
        .into_iter()
        .map(|(field, exp)| {
            let got = generated.get(&field).and_then(Cell::value).cloned();
            let correct = got.as_ref().is_some_and(|g| same(g, &exp));
            FieldOutcome {
                field,
                expected: exp,
                got,
                correct,
            }
        })
        .collect()
}
