//! Post-validation of a JSON document against the raw JSON Schema, read independently of the
//! compiled form the automaton uses, so that a bug in one is caught by the other. Covers the
//! keywords [`super::schema`] accepts (and `additionalProperties: false`).

use serde_json::Value;

/// Every way `doc` breaks `schema`, as `"<JSON pointer>: <problem>"`; empty when valid.
pub fn validate(schema: &Value, doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check(schema, schema, doc, "", &mut problems, 0);
    problems
}

fn resolve<'a>(root: &'a Value, r: &str) -> Option<&'a Value> {
    r.strip_prefix("#/")?.split('/').try_fold(root, |v, part| {
        v.get(part.replace("~1", "/").replace("~0", "~"))
    })
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

fn check(root: &Value, s: &Value, v: &Value, at: &str, out: &mut Vec<String>, depth: usize) {
    if depth > 64 {
        out.push(format!("{at}: schema nesting too deep"));
        return;
    }
    let Some(obj) = s.as_object() else {
        return;
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        match resolve(root, r) {
            Some(target) => check(root, target, v, at, out, depth + 1),
            None => out.push(format!("{at}: unresolved $ref {r}")),
        }
        return;
    }
    if obj.get("nullable").and_then(Value::as_bool) == Some(true) && v.is_null() {
        return;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = obj.get(key).and_then(Value::as_array) {
            let passing = alts
                .iter()
                .filter(|a| {
                    let mut p = Vec::new();
                    check(root, a, v, at, &mut p, depth + 1);
                    p.is_empty()
                })
                .count();
            let ok = if key == "anyOf" {
                passing >= 1
            } else {
                passing == 1
            };
            if !ok {
                out.push(format!("{at}: matches {passing} of the {key} alternatives"));
            }
        }
    }
    if let Some(c) = obj.get("const")
        && c != v
    {
        out.push(format!("{at}: is not the constant {c}"));
    }
    if let Some(e) = obj.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        out.push(format!("{at}: {v} is not one of the enum values"));
    }
    match obj.get("type") {
        Some(Value::String(t)) if !type_matches(t, v) => {
            out.push(format!("{at}: expected {t}, got {v}"));
            return;
        }
        Some(Value::Array(ts))
            if !ts
                .iter()
                .filter_map(Value::as_str)
                .any(|t| type_matches(t, v)) =>
        {
            out.push(format!(
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
                        out.push(format!("{at}: missing required property `{r}`"));
                    }
                }
            }
            for (k, val) in m {
                match props.and_then(|p| p.get(k)) {
                    Some(ps) => check(root, ps, val, &format!("{at}/{k}"), out, depth + 1),
                    None if obj.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        out.push(format!("{at}: property `{k}` is not allowed"));
                    }
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(min) = obj.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                out.push(format!("{at}: {} items, fewer than {min}", items.len()));
            }
            if let Some(max) = obj.get("maxItems").and_then(Value::as_u64)
                && (items.len() as u64) > max
            {
                out.push(format!("{at}: {} items, more than {max}", items.len()));
            }
            if let Some(is) = obj.get("items") {
                for (i, it) in items.iter().enumerate() {
                    check(root, is, it, &format!("{at}/{i}"), out, depth + 1);
                }
            }
        }
        Value::String(text) => {
            if let Some(max) = obj.get("maxLength").and_then(Value::as_u64)
                && text.chars().count() as u64 > max
            {
                out.push(format!("{at}: longer than {max} characters"));
            }
        }
        _ => {}
    }
}
