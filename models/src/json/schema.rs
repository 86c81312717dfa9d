//! The JSON Schema subset that constrained decoding supports, compiled into a small graph of
//! nodes the automaton walks: objects (properties, required), arrays (items, minItems,
//! maxItems), strings (maxLength), numbers, integers, booleans, null, enums/const, nullable
//! types (`type: [T, "null"]`, `anyOf`/`oneOf` of T and null), local `$ref`s (`#`, `#/$defs/x`,
//! recursion included) and the boolean schemas (`true` is any value; an optional property whose
//! schema is `false` is never written). Free-form JSON too: the empty schema `{}` is any JSON
//! value, and `{"type": "object"}` without `properties` is any object (the OpenAI `json_object`
//! response format). An object *with* `properties` takes only those properties, whatever
//! `additionalProperties` says. `format` is an annotation (as JSON Schema itself says by
//! default) and is not enforced.
//!
//! Keywords that would constrain the output in ways the automaton cannot enforce (`pattern`,
//! `minimum`, `allOf`, ...) are refused with an error naming the keyword and where it is, so
//! that a schema that compiles is one whose every constraint holds by construction. A schema
//! that nothing satisfies (`minimum` above `maximum`, `type: []`, a required recursion, a
//! required property that `additionalProperties: false` forbids) is refused with the reason,
//! and a schema over a [`SchemaLimits`] cap with the cap: see [`SchemaError`]. `enum`/`const`
//! values that break the rest of their subschema are dropped (they could never validate).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::error::{Contradiction, SchemaError};
use super::limits::{SchemaLimits, analyse};

/// One schema node.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// An object with these properties (any order, each at most once); `required` is a bitset
    /// over the property indexes.
    Object {
        /// `(name, the key as JSON bytes with its quotes, value node)`.
        props: Vec<(String, Vec<u8>, usize)>,
        /// Which properties must appear (bit i = props[i]).
        required: u64,
    },
    /// An array of `items`.
    Array {
        /// The item node.
        items: usize,
        /// Fewest items.
        min: usize,
        /// Most items.
        max: Option<usize>,
    },
    /// A string, optionally at most `max_len` characters.
    String {
        /// The longest allowed length in characters.
        max_len: Option<usize>,
    },
    /// Any JSON number.
    Number,
    /// An integer (written without fraction or exponent).
    Integer,
    /// `true` or `false`.
    Boolean,
    /// `null`.
    Null,
    /// One of these JSON values, each as its compact JSON bytes.
    Enum(Vec<Vec<u8>>),
    /// `null` or the inner node.
    Nullable(usize),
    /// Any JSON value (objects with any keys, arrays, strings, numbers, literals).
    Any,
    /// An object with any keys, each value of node `values` (an [`Node::Any`]).
    FreeObject {
        /// The node of every value.
        values: usize,
    },
}

/// A compiled schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// Every node; edges are indexes into this vector.
    pub nodes: Vec<Node>,
    /// The document's node.
    pub root: usize,
    /// Per node: the stack frames its smallest value needs (the automaton offers an optional
    /// property or an array item only where it fits).
    pub(crate) min_depth: Vec<u8>,
    /// An upper bound on the steps needed to close a document from any state.
    pub(crate) closing_steps: usize,
}

/// Keywords that give a schema its shape when `type` is absent (without any, it is `{}`).
const HANDLED_BY_TYPE: &[&str] = &[
    "properties",
    "required",
    "items",
    "maxLength",
    "minItems",
    "maxItems",
];

/// Keywords the compiler enforces.
const HANDLED: &[&str] = &[
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "maxLength",
    "minItems",
    "maxItems",
    "nullable",
];

/// Keywords that only annotate and are ignored (`additionalProperties` is checked apart: an
/// object with `properties` is closed anyway).
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "default",
    "examples",
    "$schema",
    "$id",
    "$comment",
    "format",
    "$defs",
    "definitions",
    "additionalProperties",
    "readOnly",
    "writeOnly",
    "deprecated",
    "strict",
];

/// Numeric bound pairs: `(lower, upper, exclusive)`; exclusive pairs need lower < upper.
const NUMBER_BOUNDS: &[(&str, &str, bool)] = &[
    ("minimum", "maximum", false),
    ("exclusiveMinimum", "maximum", true),
    ("minimum", "exclusiveMaximum", true),
    ("exclusiveMinimum", "exclusiveMaximum", true),
];

/// Count bound pairs (`lower <= upper`).
const COUNT_BOUNDS: &[(&str, &str)] = &[
    ("minLength", "maxLength"),
    ("minItems", "maxItems"),
    ("minProperties", "maxProperties"),
    ("minContains", "maxContains"),
];

impl Schema {
    /// Compiles a JSON Schema under the default [`SchemaLimits`].
    pub fn compile(schema: &Value) -> Result<Self, SchemaError> {
        Self::compile_with(schema, &SchemaLimits::default())
    }

    /// Compiles a JSON Schema; errors name the unsupported, unsatisfiable or oversized part,
    /// its path and the limit.
    pub fn compile_with(schema: &Value, limits: &SchemaLimits) -> Result<Self, SchemaError> {
        let limits = &limits.effective();
        let bytes = json_len(schema);
        if bytes > limits.max_schema_bytes {
            return Err(SchemaError::TooLarge {
                bytes,
                limit: limits.max_schema_bytes,
            });
        }
        let mut c = Compiler {
            root: schema,
            limits,
            nodes: Vec::new(),
            paths: Vec::new(),
            refs: HashMap::new(),
            aliases: Vec::new(),
            one_of: Vec::new(),
            depth: 0,
        };
        let root = c.node(schema, "#")?;
        c.resolve_aliases()?;
        c.check_one_of()?;
        let a = analyse(&c.nodes, &c.paths, root, limits)?;
        Ok(Schema {
            nodes: c.nodes,
            root,
            min_depth: a.min_depth,
            closing_steps: a.closing_steps,
        })
    }
}

/// The length of a value as compact JSON, without building the text.
fn json_len(v: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    // Writing a `Value` into a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

/// A property name as a JSON-pointer segment (RFC 6901: `~` → `~0`, `/` → `~1`).
fn pointer_segment(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The most bytes of a path kept per node for errors found after compiling.
const KEPT_PATH: usize = 1024;

/// A path as kept per node: its last [`KEPT_PATH`] bytes behind `…` when longer, so that the
/// memory of a compiled schema stays in proportion to its node count (paths of deep schemas
/// with long property names would otherwise be kilobytes per node).
fn kept_path(path: &str) -> String {
    if path.len() <= KEPT_PATH {
        return path.to_string();
    }
    let mut cut = path.len() - KEPT_PATH;
    while !path.is_char_boundary(cut) {
        cut += 1;
    }
    format!("…{}", &path[cut..])
}

/// A placeholder reserved for a `$ref`, replaced by a copy of `target` once compiling ends.
struct Alias {
    id: usize,
    target: usize,
    path: String,
    reference: String,
}

struct Compiler<'a> {
    root: &'a Value,
    limits: &'a SchemaLimits,
    nodes: Vec<Node>,
    /// Where each node was compiled (for errors found after compiling).
    paths: Vec<String>,
    refs: HashMap<String, usize>,
    aliases: Vec<Alias>,
    /// The non-null alternative of each `oneOf` [schema, null], and where the `oneOf` is.
    one_of: Vec<(usize, String)>,
    depth: usize,
}

type Obj = Map<String, Value>;

fn unsat(path: &str, reason: Contradiction) -> SchemaError {
    SchemaError::Unsatisfiable {
        path: path.to_string(),
        reason,
    }
}

fn malformed(path: &str, keyword: &'static str, expected: &'static str) -> SchemaError {
    SchemaError::Malformed {
        path: path.to_string(),
        keyword,
        expected,
    }
}

fn unsupported(path: &str, what: &'static str) -> SchemaError {
    SchemaError::Unsupported {
        path: path.to_string(),
        what,
    }
}

/// The JSON type names, as `&'static str`.
fn type_name(t: &str) -> Option<&'static str> {
    [
        "object", "array", "string", "number", "integer", "boolean", "null",
    ]
    .into_iter()
    .find(|n| *n == t)
}

/// Refuses bounds that leave no value and required lists that `additionalProperties: false`
/// or `maxProperties` contradict; checked before support, so that the reason given for an
/// impossible schema is that it is impossible.
fn contradictions(obj: &Obj, path: &str) -> Result<(), SchemaError> {
    for &(lo, hi, exclusive) in NUMBER_BOUNDS {
        if let (Some(Value::Number(a)), Some(Value::Number(b))) = (obj.get(lo), obj.get(hi))
            && let (Some(x), Some(y)) = (a.as_f64(), b.as_f64())
            && (x > y || (exclusive && x >= y))
        {
            return Err(unsat(
                path,
                Contradiction::Bounds {
                    min_keyword: lo,
                    min: a.clone(),
                    max_keyword: hi,
                    max: b.clone(),
                },
            ));
        }
    }
    for &(lo, hi) in COUNT_BOUNDS {
        if let (Some(Value::Number(a)), Some(Value::Number(b))) = (obj.get(lo), obj.get(hi))
            && let (Some(x), Some(y)) = (a.as_u64(), b.as_u64())
            && x > y
        {
            return Err(unsat(
                path,
                Contradiction::Bounds {
                    min_keyword: lo,
                    min: a.clone(),
                    max_keyword: hi,
                    max: b.clone(),
                },
            ));
        }
    }
    if obj
        .get("type")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        return Err(unsat(path, Contradiction::EmptyType));
    }
    if obj
        .get("enum")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        return Err(unsat(path, Contradiction::EmptyEnum));
    }
    if let Some(req) = obj.get("required").and_then(Value::as_array) {
        let props = obj.get("properties").and_then(Value::as_object);
        if obj.get("additionalProperties") == Some(&Value::Bool(false)) {
            for name in req.iter().filter_map(Value::as_str) {
                if !props.is_some_and(|p| p.contains_key(name)) {
                    return Err(unsat(
                        path,
                        Contradiction::RequiredForbidden(name.to_string()),
                    ));
                }
            }
        }
        if let Some(max) = obj.get("maxProperties").and_then(Value::as_u64) {
            let names: std::collections::HashSet<&str> =
                req.iter().filter_map(Value::as_str).collect();
            if (names.len() as u64) > max {
                return Err(unsat(
                    path,
                    Contradiction::TooFewProperties {
                        max,
                        required: names.len(),
                    },
                ));
            }
        }
    }
    Ok(())
}

impl<'a> Compiler<'a> {
    fn push(&mut self, n: Node, path: &str) -> Result<usize, SchemaError> {
        if self.nodes.len() >= self.limits.max_nodes {
            return Err(SchemaError::TooManyNodes {
                path: path.to_string(),
                limit: self.limits.max_nodes,
            });
        }
        self.nodes.push(n);
        self.paths.push(kept_path(path));
        Ok(self.nodes.len() - 1)
    }

    /// Compiles the subschema `s` found at `path`, one level deeper than its parent.
    fn node(&mut self, s: &'a Value, path: &str) -> Result<usize, SchemaError> {
        if self.depth >= self.limits.max_depth {
            return Err(SchemaError::TooDeep {
                path: path.to_string(),
                limit: self.limits.max_depth,
            });
        }
        self.depth += 1;
        let r = self.subschema(s, path);
        self.depth -= 1;
        r
    }

    fn subschema(&mut self, s: &'a Value, path: &str) -> Result<usize, SchemaError> {
        let obj = match s {
            Value::Object(o) => o,
            Value::Bool(true) => return self.push(Node::Any, path),
            Value::Bool(false) => return Err(unsat(path, Contradiction::FalseSchema)),
            _ => return Err(malformed(path, "schema", "an object or a boolean")),
        };
        if let Some(r) = obj.get("$ref") {
            let r = r
                .as_str()
                .ok_or_else(|| malformed(path, "$ref", "a string"))?;
            return self.reference(r, path);
        }
        contradictions(obj, path)?;
        for k in obj.keys() {
            if !HANDLED.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()) {
                return Err(SchemaError::UnsupportedKeyword {
                    path: path.to_string(),
                    keyword: k.clone(),
                });
            }
        }
        if let Some(ap) = obj.get("additionalProperties")
            && !ap.is_boolean()
        {
            return Err(unsupported(
                path,
                "`additionalProperties` other than true or false",
            ));
        }
        let nullable_flag = obj
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let id = self.inner(obj, path, None)?;
        if nullable_flag {
            self.push(Node::Nullable(id), path)
        } else {
            Ok(id)
        }
    }

    /// The literals of `const` or `enum` that are valid against the rest of `obj`.
    fn literals(&mut self, obj: &'a Obj, path: &str) -> Result<Option<usize>, SchemaError> {
        let (values, at): (Vec<&Value>, String) = if let Some(c) = obj.get("const") {
            (vec![c], format!("{path}/const"))
        } else if let Some(e) = obj.get("enum") {
            let vals = e
                .as_array()
                .ok_or_else(|| malformed(path, "enum", "a non-empty array"))?;
            let limit = self.limits.max_enum_values;
            if vals.len() > limit {
                return Err(SchemaError::TooManyValues {
                    path: path.to_string(),
                    count: vals.len(),
                    limit,
                });
            }
            (vals.iter().collect(), format!("{path}/enum"))
        } else {
            return Ok(None);
        };
        let mut lits = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let lit = literal(v);
            if lit.len() > self.limits.max_literal_bytes {
                let (path, what) = if obj.contains_key("const") {
                    (at.clone(), "the const value")
                } else {
                    (format!("{at}/{i}"), "an enum value")
                };
                return Err(SchemaError::LiteralTooLong {
                    path,
                    what,
                    bytes: lit.len(),
                    limit: self.limits.max_literal_bytes,
                });
            }
            // A value the rest of the subschema refuses could never validate: drop it.
            if super::validate::fits(self.root, obj, v) && !lits.contains(&lit) {
                lits.push(lit);
            }
        }
        if lits.is_empty() {
            return Err(unsat(path, Contradiction::NoValueFits));
        }
        self.push(Node::Enum(lits), path).map(Some)
    }

    fn alternatives(&mut self, obj: &'a Obj, path: &str) -> Result<Option<usize>, SchemaError> {
        for key in ["anyOf", "oneOf"] {
            let Some(alts) = obj.get(key) else { continue };
            let with: &'static str = if key == "anyOf" { "anyOf" } else { "oneOf" };
            for &other in HANDLED {
                if other != key && other != "nullable" && obj.contains_key(other) {
                    return Err(SchemaError::Combined {
                        path: path.to_string(),
                        keyword: other,
                        with,
                    });
                }
            }
            let alts = alts
                .as_array()
                .ok_or_else(|| malformed(path, with, "an array"))?;
            let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
            // The null alternatives are compiled only to vet their keywords (one that also
            // says `not` or `allOf` must not pass for a plain null).
            for (i, v) in alts.iter().enumerate().filter(|(_, v)| is_null(v)) {
                self.node(v, &format!("{path}/{key}/{i}"))?;
            }
            let non_null: Vec<(usize, &Value)> = alts
                .iter()
                .enumerate()
                .filter(|(_, v)| !is_null(v))
                .collect();
            return match (alts.len(), non_null.as_slice()) {
                (2, [(i, v)]) => {
                    let inner = self.node(v, &format!("{path}/{key}/{i}"))?;
                    if key == "oneOf" {
                        // Checked once `$ref`s are resolved: null must not match both.
                        self.one_of.push((inner, path.to_string()));
                    }
                    self.push(Node::Nullable(inner), path).map(Some)
                }
                (1, [(i, v)]) => self.node(v, &format!("{path}/{key}/{i}")).map(Some),
                _ => Err(unsupported(
                    path,
                    "`anyOf`/`oneOf` other than [schema] or [schema, {\"type\": \"null\"}]",
                )),
            };
        }
        Ok(None)
    }

    fn inner(
        &mut self,
        obj: &'a Obj,
        path: &str,
        forced_type: Option<&'static str>,
    ) -> Result<usize, SchemaError> {
        if let Some(id) = self.literals(obj, path)? {
            return Ok(id);
        }
        if let Some(id) = self.alternatives(obj, path)? {
            return Ok(id);
        }
        let ty: &'static str = match (forced_type, obj.get("type")) {
            (Some(t), _) => t,
            (None, Some(Value::String(t))) => {
                type_name(t).ok_or_else(|| SchemaError::UnknownType {
                    path: path.to_string(),
                    name: t.clone(),
                })?
            }
            (None, Some(Value::Array(ts))) => {
                let mut names: Vec<&'static str> = Vec::new();
                for t in ts {
                    let t = t.as_str().ok_or_else(|| {
                        malformed(path, "type", "a type name or a list of type names")
                    })?;
                    let t = type_name(t).ok_or_else(|| SchemaError::UnknownType {
                        path: path.to_string(),
                        name: t.to_string(),
                    })?;
                    if !names.contains(&t) {
                        names.push(t);
                    }
                }
                let non_null: Vec<&'static str> =
                    names.iter().copied().filter(|t| *t != "null").collect();
                match (names.len(), non_null.as_slice()) {
                    (2, [t]) => {
                        let inner = self.inner(obj, path, Some(*t))?;
                        return self.push(Node::Nullable(inner), path);
                    }
                    (1, [t]) => t,
                    (1, []) => "null",
                    _ => {
                        return Err(unsupported(
                            path,
                            "a `type` list other than [type] or [type, \"null\"]",
                        ));
                    }
                }
            }
            (None, Some(_)) => {
                return Err(malformed(
                    path,
                    "type",
                    "a type name or a list of type names",
                ));
            }
            (None, None) if obj.contains_key("properties") => "object",
            (None, None) if obj.contains_key("items") => "array",
            (None, None) if !obj.keys().any(|k| HANDLED_BY_TYPE.contains(&k.as_str())) => {
                // The empty schema (annotations at most): any JSON value.
                return self.push(Node::Any, path);
            }
            (None, None) => {
                return Err(unsupported(
                    path,
                    "a constraint without `type` (nor enum, const, anyOf, $ref)",
                ));
            }
        };
        let count = |k: &'static str| -> Result<Option<u64>, SchemaError> {
            match obj.get(k) {
                None => Ok(None),
                Some(v) => v
                    .as_u64()
                    .map(Some)
                    .ok_or_else(|| malformed(path, k, "a non-negative integer")),
            }
        };
        let capped = |k: &'static str, limit: u64| -> Result<Option<usize>, SchemaError> {
            match count(k)? {
                Some(v) if v > limit => Err(SchemaError::BoundTooLarge {
                    path: path.to_string(),
                    keyword: k,
                    value: v,
                    limit,
                }),
                v => Ok(v.map(|v| v as usize)),
            }
        };
        let only = |allowed: &[&str]| -> Result<(), SchemaError> {
            for k in HANDLED_BY_TYPE {
                if obj.contains_key(*k) && !allowed.contains(k) {
                    return Err(SchemaError::NotForType {
                        path: path.to_string(),
                        keyword: k,
                        ty,
                    });
                }
            }
            Ok(())
        };
        match ty {
            "object" => {
                only(&["properties", "required"])?;
                self.object(obj, path)
            }
            "array" => {
                only(&["items", "minItems", "maxItems"])?;
                let items = obj
                    .get("items")
                    .ok_or_else(|| unsupported(path, "an array without `items`"))?;
                let min = capped("minItems", self.limits.max_min_items)?.unwrap_or(0);
                let mut max = capped("maxItems", self.limits.max_upper_bound)?;
                let id = self.push(Node::Null, path)?;
                let items = if items == &Value::Bool(false) {
                    // No item is valid: the array must stay empty.
                    if min > 0 {
                        return Err(unsat(path, Contradiction::ItemsForbidden(min as u64)));
                    }
                    max = Some(0);
                    self.push(Node::Null, &format!("{path}/items"))?
                } else {
                    self.node(items, &format!("{path}/items"))?
                };
                self.nodes[id] = Node::Array { items, min, max };
                Ok(id)
            }
            "string" => {
                only(&["maxLength"])?;
                let max_len = capped("maxLength", self.limits.max_upper_bound)?;
                self.push(Node::String { max_len }, path)
            }
            "number" => {
                only(&[])?;
                self.push(Node::Number, path)
            }
            "integer" => {
                only(&[])?;
                self.push(Node::Integer, path)
            }
            "boolean" => {
                only(&[])?;
                self.push(Node::Boolean, path)
            }
            _ => {
                only(&[])?;
                self.push(Node::Null, path)
            }
        }
    }

    fn object(&mut self, obj: &'a Obj, path: &str) -> Result<usize, SchemaError> {
        let closed = obj.get("additionalProperties") == Some(&Value::Bool(false));
        if !obj.contains_key("properties") && !obj.contains_key("required") && !closed {
            // No declared properties and extra ones not refused: any object.
            let values = self.push(Node::Any, path)?;
            return self.push(Node::FreeObject { values }, path);
        }
        let mut required_names: Vec<&str> = Vec::new();
        if let Some(r) = obj.get("required") {
            let r = r
                .as_array()
                .ok_or_else(|| malformed(path, "required", "an array of property names"))?;
            for name in r {
                let name = name
                    .as_str()
                    .ok_or_else(|| malformed(path, "required", "an array of property names"))?;
                required_names.push(name);
            }
        }
        let declared = match obj.get("properties") {
            None => None,
            Some(p) => Some(
                p.as_object()
                    .ok_or_else(|| malformed(path, "properties", "an object"))?,
            ),
        };
        for name in &required_names {
            if !declared.is_some_and(|p| p.contains_key(*name)) {
                // With `additionalProperties: false` this was refused as unsatisfiable.
                return Err(SchemaError::RequiredUndeclared {
                    path: path.to_string(),
                    name: (*name).to_string(),
                });
            }
        }
        let id = self.push(Node::Null, path)?;
        let mut props = Vec::new();
        if let Some(p) = declared {
            let limit = self.limits.max_properties;
            if p.len() > limit {
                return Err(SchemaError::TooManyProperties {
                    path: path.to_string(),
                    count: p.len(),
                    limit,
                });
            }
            for (name, sub) in p {
                let at = format!("{path}/properties/{}", pointer_segment(name));
                let key = literal(&Value::String(name.clone()));
                if key.len() > self.limits.max_literal_bytes {
                    return Err(SchemaError::LiteralTooLong {
                        path: at,
                        what: "a property name",
                        bytes: key.len(),
                        limit: self.limits.max_literal_bytes,
                    });
                }
                if sub == &Value::Bool(false) && !required_names.contains(&name.as_str()) {
                    // A property that may not appear: never offer it.
                    continue;
                }
                let child = self.node(sub, &at)?;
                props.push((name.clone(), key, child));
            }
        }
        let mut required = 0u64;
        for name in required_names {
            if let Some(i) = props.iter().position(|(n, _, _)| n == name) {
                required |= 1 << i;
            }
        }
        self.nodes[id] = Node::Object { props, required };
        Ok(id)
    }

    fn reference(&mut self, r: &str, path: &str) -> Result<usize, SchemaError> {
        if let Some(&id) = self.refs.get(r) {
            return Ok(id);
        }
        let unresolved = || SchemaError::UnresolvedRef {
            path: path.to_string(),
            reference: r.to_string(),
        };
        // A local JSON pointer: `#` is the root, `#/a/b` a path from it.
        let pointer = r.strip_prefix('#').ok_or_else(unresolved)?;
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            return Err(unresolved());
        }
        let target = self.root.pointer(pointer).ok_or_else(unresolved)?;
        // Reserve the id first so recursive references resolve to it; the compiled target is
        // copied in once everything is compiled (it may itself be a placeholder until then).
        let id = self.push(Node::Null, r)?;
        self.refs.insert(r.to_string(), id);
        let target = self.node(target, r)?;
        self.aliases.push(Alias {
            id,
            target,
            path: kept_path(path),
            reference: r.to_string(),
        });
        Ok(id)
    }

    /// Replaces every `$ref` placeholder by a copy of what it refers to, following chains of
    /// `$ref`s; a chain that comes back to itself has no schema to copy.
    fn resolve_aliases(&mut self) -> Result<(), SchemaError> {
        let target: HashMap<usize, usize> = self.aliases.iter().map(|a| (a.id, a.target)).collect();
        for a in &self.aliases {
            let mut t = a.target;
            let mut hops = 0;
            while let Some(&next) = target.get(&t) {
                t = next;
                hops += 1;
                if hops > self.aliases.len() {
                    return Err(SchemaError::RefCycle {
                        path: a.path.clone(),
                        reference: a.reference.clone(),
                    });
                }
            }
            self.nodes[a.id] = self.nodes[t].clone();
        }
        // A nullable value whose non-null side comes back to itself (`X = anyOf [X, null]`)
        // would send the automaton round that loop without writing a byte.
        for start in 0..self.nodes.len() {
            let mut at = start;
            let mut seen = Vec::new();
            while let Node::Nullable(inner) = self.nodes[at] {
                seen.push(at);
                at = inner;
                if at == start {
                    let a = self.aliases.iter().find(|a| seen.contains(&a.id));
                    return Err(SchemaError::RefCycle {
                        path: a.map_or_else(|| self.paths[start].clone(), |a| a.path.clone()),
                        reference: a.map_or_else(String::new, |a| a.reference.clone()),
                    });
                }
                if seen.len() > self.nodes.len() {
                    break; // a loop that does not pass `start`: found from one of its own nodes
                }
            }
        }
        Ok(())
    }
}

impl Compiler<'_> {
    /// `oneOf` [schema, null] is satisfiable by null only if the schema refuses null.
    fn check_one_of(&self) -> Result<(), SchemaError> {
        for (inner, path) in &self.one_of {
            let null = match &self.nodes[*inner] {
                Node::Null | Node::Nullable(_) | Node::Any => true,
                Node::Enum(v) => v.iter().any(|l| l == b"null"),
                Node::Object { .. }
                | Node::Array { .. }
                | Node::String { .. }
                | Node::Number
                | Node::Integer
                | Node::Boolean
                | Node::FreeObject { .. } => false,
            };
            if null {
                return Err(unsupported(
                    path,
                    "`oneOf` whose non-null alternative also allows null",
                ));
            }
        }
        Ok(())
    }
}

/// The compact JSON bytes of a literal value.
fn literal(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}
