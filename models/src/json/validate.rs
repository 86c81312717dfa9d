//! Post-validation of a JSON document against the raw JSON Schema, read independently of the
//! compiled form the automaton uses, so that a bug in one is caught by the other. Covers the
//! keywords [`super::schema`] accepts (and `additionalProperties: false`, boolean schemas).
//!
//! The work is bounded: a document is checked against at most [`MAX_VISITS`] subschemas (a
//! schema that branches through `anyOf` and `$ref` at every level could otherwise take time
//! exponential in the document's depth); past it the answer is a problem, never a hang.

use serde_json::{Map, Value};

/// Most (subschema, value) pairs one validation checks.
pub const MAX_VISITS: usize = 1_000_000;

/// Deepest nesting of subschemas (`$ref`s followed included) one check goes through: well
/// past what a compiled schema and the automaton's documents reach (32 levels of schema, 24 of
/// document).
const MAX_NESTING: usize = 256;

/// Most pairs checked when the compiler tries an `enum`/`const` value against its subschema.
const LITERAL_VISITS: usize = 10_000;

/// Every way `doc` breaks `schema`, as `"<JSON pointer>: <problem>"`; empty when valid.
pub fn validate(schema: &Value, doc: &Value) -> Vec<String> {
    let mut c = Checker {
        root: schema,
        visits: MAX_VISITS,
        problems: Vec::new(),
    };
    c.check(schema, doc, "", 0);
    c.problems
}

/// Whether `v` is valid against the subschema `obj` of `root` (the compiler's filter for
/// `enum` and `const` values).
pub(crate) fn fits(root: &Value, obj: &Map<String, Value>, v: &Value) -> bool {
    let mut c = Checker {
        root,
        visits: LITERAL_VISITS,
        problems: Vec::new(),
    };
    c.check_obj(obj, v, "", 0);
    c.problems.is_empty()
}

fn resolve<'a>(root: &'a Value, r: &str) -> Option<&'a Value> {
    let pointer = r.strip_prefix('#')?;
    if !(pointer.is_empty() || pointer.starts_with('/')) {
        return None;
    }
    root.pointer(pointer)
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => {
            v.as_i64().is_some()
                || v.as_u64().is_some()
                || v.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    }
}

struct Checker<'a> {
    root: &'a Value,
    visits: usize,
    problems: Vec<String>,
}

impl<'a> Checker<'a> {
    fn check(&mut self, s: &'a Value, v: &Value, at: &str, depth: usize) {
        match s {
            Value::Object(obj) => self.check_obj(obj, v, at, depth),
            Value::Bool(false) => self.problems.push(format!("{at}: no value is allowed")),
            _ => {}
        }
    }

    fn check_obj(&mut self, obj: &'a Map<String, Value>, v: &Value, at: &str, depth: usize) {
        if depth > MAX_NESTING {
            self.problems.push(format!("{at}: schema nesting too deep"));
            return;
        }
        if self.visits == 0 {
            self.problems
                .push(format!("{at}: the schema is too complex to check"));
            return;
        }
        self.visits -= 1;
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            match resolve(self.root, r) {
                Some(target) => self.check(target, v, at, depth + 1),
                None => self.problems.push(format!("{at}: unresolved $ref {r}")),
            }
            return;
        }
        if obj.get("nullable").and_then(Value::as_bool) == Some(true) && v.is_null() {
            return;
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alts) = obj.get(key).and_then(Value::as_array) {
                let mut passing = 0;
                for a in alts {
                    let before = self.problems.len();
                    self.check(a, v, at, depth + 1);
                    if self.problems.len() == before {
                        passing += 1;
                    }
                    self.problems.truncate(before);
                    if self.visits == 0 {
                        break;
                    }
                }
                let ok = if key == "anyOf" {
                    passing >= 1
                } else {
                    passing == 1
                };
                if self.visits == 0 {
                    self.problems
                        .push(format!("{at}: the schema is too complex to check"));
                } else if !ok {
                    self.problems
                        .push(format!("{at}: matches {passing} of the {key} alternatives"));
                }
            }
        }
        if let Some(c) = obj.get("const")
            && c != v
        {
            self.problems.push(format!("{at}: is not the constant {c}"));
        }
        if let Some(e) = obj.get("enum").and_then(Value::as_array)
            && !e.contains(v)
        {
            self.problems
                .push(format!("{at}: {v} is not one of the enum values"));
        }
        match obj.get("type") {
            Some(Value::String(t)) if !type_matches(t, v) => {
                self.problems.push(format!("{at}: expected {t}, got {v}"));
                return;
            }
            Some(Value::Array(ts))
                if !ts
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|t| type_matches(t, v)) =>
            {
                self.problems.push(format!(
                    "{at}: expected one of {}, got {v}",
                    Value::Array(ts.clone())
                ));
                return;
            }
            _ => {}
        }
        match v {
            Value::Object(m) => {
                let props = obj.get("properties").and_then(Value::as_object);
                if let Some(req) = obj.get("required").and_then(Value::as_array) {
                    for r in req.iter().filter_map(Value::as_str) {
                        if !m.contains_key(r) {
                            self.problems
                                .push(format!("{at}: missing required property `{r}`"));
                        }
                    }
                }
                for (k, val) in m {
                    match props.and_then(|p| p.get(k)) {
                        Some(ps) => self.check(ps, val, &format!("{at}/{k}"), depth + 1),
                        None if obj.get("additionalProperties") == Some(&Value::Bool(false)) => {
                            self.problems
                                .push(format!("{at}: property `{k}` is not allowed"));
                        }
                        None => {}
                    }
                }
            }
            Value::Array(items) => {
                if let Some(min) = obj.get("minItems").and_then(Value::as_u64)
                    && (items.len() as u64) < min
                {
                    self.problems
                        .push(format!("{at}: {} items, fewer than {min}", items.len()));
                }
                if let Some(max) = obj.get("maxItems").and_then(Value::as_u64)
                    && (items.len() as u64) > max
                {
                    self.problems
                        .push(format!("{at}: {} items, more than {max}", items.len()));
                }
                if let Some(is) = obj.get("items") {
                    for (i, it) in items.iter().enumerate() {
                        self.check(is, it, &format!("{at}/{i}"), depth + 1);
                    }
                }
            }
            Value::String(text) => {
                if let Some(max) = obj.get("maxLength").and_then(Value::as_u64)
                    && text.chars().count() as u64 > max
                {
                    self.problems
                        .push(format!("{at}: longer than {max} characters"));
                }
            }
            _ => {}
        }
    }
}
