//! The JSON Schema subset that constrained decoding supports, compiled into a small graph of
//! nodes the automaton walks: objects (properties, required), arrays (items, minItems,
//! maxItems), strings (maxLength), numbers, integers, booleans, null, enums/const, nullable
//! types (`type: [T, "null"]`, `anyOf`/`oneOf` of T and null) and local `$ref`s. Free-form
//! JSON too: the empty schema `{}` is any JSON value, and `{"type": "object"}` without
//! `properties` is any object (the OpenAI `json_object` response format). An object *with*
//! `properties` takes only those properties, whatever `additionalProperties` says.
//!
//! Keywords that would constrain the output in ways the automaton cannot enforce (`pattern`,
//! `minimum`, `allOf`, ...) are refused with an error naming the keyword and where it is, so
//! that a schema that compiles is one whose every constraint holds by construction.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::ModelError;

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

/// Keywords that only annotate and are ignored.
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

impl Schema {
    /// Compiles a JSON Schema; errors name the unsupported or malformed part and its path.
    pub fn compile(schema: &Value) -> Result<Self, ModelError> {
        let mut c = Compiler {
            root: schema,
            nodes: Vec::new(),
            refs: HashMap::new(),
        };
        let root = c.node(schema, "#")?;
        Ok(Schema {
            nodes: c.nodes,
            root,
        })
    }
}

struct Compiler<'a> {
    root: &'a Value,
    nodes: Vec<Node>,
    refs: HashMap<String, usize>,
}

fn invalid(path: &str, msg: impl std::fmt::Display) -> ModelError {
    ModelError::InvalidInput(format!("JSON schema at {path}: {msg}"))
}

impl<'a> Compiler<'a> {
    fn push(&mut self, n: Node) -> usize {
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    fn node(&mut self, s: &'a Value, path: &str) -> Result<usize, ModelError> {
        let obj = match s {
            Value::Object(o) => o,
            Value::Bool(_) => {
                return Err(invalid(path, "boolean schemas are not supported"));
            }
            _ => return Err(invalid(path, "a schema must be an object")),
        };
        if let Some(r) = obj.get("$ref") {
            let r = r
                .as_str()
                .ok_or_else(|| invalid(path, "`$ref` must be a string"))?;
            return self.reference(r, path);
        }
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
        for k in obj.keys() {
            if !HANDLED.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()) {
                return Err(invalid(
                    path,
                    format!("keyword `{k}` is not supported by constrained decoding"),
                ));
            }
        }
        if let Some(ap) = obj.get("additionalProperties")
            && !ap.is_boolean()
        {
            return Err(invalid(
                path,
                "`additionalProperties` must be true or false",
            ));
        }
        let nullable_flag = obj
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let id = self.inner(obj, path, None)?;
        Ok(if nullable_flag {
            self.push(Node::Nullable(id))
        } else {
            id
        })
    }

    fn inner(
        &mut self,
        obj: &'a serde_json::Map<String, Value>,
        path: &str,
        forced_type: Option<&str>,
    ) -> Result<usize, ModelError> {
        if let Some(c) = obj.get("const") {
            return Ok(self.push(Node::Enum(vec![literal(c)])));
        }
        if let Some(e) = obj.get("enum") {
            let vals = e
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| invalid(path, "`enum` must be a non-empty array"))?;
            if vals.len() > 64 {
                return Err(invalid(path, "`enum` has more than 64 values"));
            }
            return Ok(self.push(Node::Enum(vals.iter().map(literal).collect())));
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alts) = obj.get(key) {
                let alts = alts
                    .as_array()
                    .ok_or_else(|| invalid(path, format!("`{key}` must be an array")))?;
                let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null");
                let non_null: Vec<(usize, &Value)> = alts
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| !is_null(v))
                    .collect();
                return match (alts.len(), non_null.as_slice()) {
                    (2, [(i, v)]) => {
                        let inner = self.node(v, &format!("{path}/{key}/{i}"))?;
                        Ok(self.push(Node::Nullable(inner)))
                    }
                    (1, [(i, v)]) => self.node(v, &format!("{path}/{key}/{i}")),
                    _ => Err(invalid(
                        path,
                        format!("`{key}` is supported only as [schema, {{\"type\": \"null\"}}]"),
                    )),
                };
            }
        }
        let ty = match (forced_type, obj.get("type")) {
            (Some(t), _) => t.to_string(),
            (None, Some(Value::String(t))) => t.clone(),
            (None, Some(Value::Array(ts))) => {
                let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
                let non_null: Vec<&str> = names.iter().copied().filter(|t| *t != "null").collect();
                match (names.len(), non_null.as_slice()) {
                    (2, [t]) => {
                        let inner = self.inner(obj, path, Some(t))?;
                        return Ok(self.push(Node::Nullable(inner)));
                    }
                    (1, [t]) => (*t).to_string(),
                    _ => {
                        return Err(invalid(
                            path,
                            "`type` lists are supported only as [type, \"null\"]",
                        ));
                    }
                }
            }
            (None, Some(_)) => {
                return Err(invalid(path, "`type` must be a string or an array"));
            }
            (None, None) if obj.contains_key("properties") => "object".into(),
            (None, None) if obj.contains_key("items") => "array".into(),
            (None, None) if !obj.keys().any(|k| HANDLED_BY_TYPE.contains(&k.as_str())) => {
                // The empty schema (annotations at most): any JSON value.
                return Ok(self.push(Node::Any));
            }
            (None, None) => return Err(invalid(path, "no `type` (nor enum, const, anyOf, $ref)")),
        };
        let usize_kw = |k: &str| -> Result<Option<usize>, ModelError> {
            match obj.get(k) {
                None => Ok(None),
                Some(v) => v
                    .as_u64()
                    .map(|n| Some(n as usize))
                    .ok_or_else(|| invalid(path, format!("`{k}` must be a non-negative integer"))),
            }
        };
        let only = |allowed: &[&str]| -> Result<(), ModelError> {
            for k in [
                "properties",
                "required",
                "items",
                "maxLength",
                "minItems",
                "maxItems",
            ] {
                if obj.contains_key(k) && !allowed.contains(&k) {
                    return Err(invalid(
                        path,
                        format!("`{k}` does not apply to type `{ty}`"),
                    ));
                }
            }
            Ok(())
        };
        match ty.as_str() {
            "object" => {
                only(&["properties", "required"])?;
                let closed = obj.get("additionalProperties") == Some(&Value::Bool(false));
                if !obj.contains_key("properties") && !obj.contains_key("required") && !closed {
                    // No declared properties and extra ones not refused: any object.
                    let values = self.push(Node::Any);
                    return Ok(self.push(Node::FreeObject { values }));
                }
                let id = self.push(Node::Null);
                let mut props = Vec::new();
                if let Some(p) = obj.get("properties") {
                    let p = p
                        .as_object()
                        .ok_or_else(|| invalid(path, "`properties` must be an object"))?;
                    if p.len() > 64 {
                        return Err(invalid(path, "more than 64 properties"));
                    }
                    for (name, sub) in p {
                        let child = self.node(sub, &format!("{path}/properties/{name}"))?;
                        let key = serde_json::to_vec(name).unwrap_or_default();
                        props.push((name.clone(), key, child));
                    }
                }
                let mut required = 0u64;
                if let Some(r) = obj.get("required") {
                    let r = r
                        .as_array()
                        .ok_or_else(|| invalid(path, "`required` must be an array"))?;
                    for name in r {
                        let name = name
                            .as_str()
                            .ok_or_else(|| invalid(path, "`required` must list strings"))?;
                        let i = props
                            .iter()
                            .position(|(n, _, _)| n == name)
                            .ok_or_else(|| {
                                invalid(
                                    path,
                                    format!("required property `{name}` is not in `properties`"),
                                )
                            })?;
                        required |= 1 << i;
                    }
                }
                self.nodes[id] = Node::Object { props, required };
                Ok(id)
            }
            "array" => {
                only(&["items", "minItems", "maxItems"])?;
                let items = obj
                    .get("items")
                    .ok_or_else(|| invalid(path, "an array needs `items`"))?;
                let id = self.push(Node::Null);
                let items = self.node(items, &format!("{path}/items"))?;
                let min = usize_kw("minItems")?.unwrap_or(0);
                let max = usize_kw("maxItems")?;
                if max.is_some_and(|m| m < min) {
                    return Err(invalid(path, "`maxItems` is below `minItems`"));
                }
                self.nodes[id] = Node::Array { items, min, max };
                Ok(id)
            }
            "string" => {
                only(&["maxLength"])?;
                Ok(self.push(Node::String {
                    max_len: usize_kw("maxLength")?,
                }))
            }
            "number" => {
                only(&[])?;
                Ok(self.push(Node::Number))
            }
            "integer" => {
                only(&[])?;
                Ok(self.push(Node::Integer))
            }
            "boolean" => {
                only(&[])?;
                Ok(self.push(Node::Boolean))
            }
            "null" => {
                only(&[])?;
                Ok(self.push(Node::Null))
            }
            other => Err(invalid(path, format!("unknown type `{other}`"))),
        }
    }

    fn reference(&mut self, r: &str, path: &str) -> Result<usize, ModelError> {
        if let Some(&id) = self.refs.get(r) {
            return Ok(id);
        }
        let target = r
            .strip_prefix("#/")
            .and_then(|p| {
                p.split('/').try_fold(self.root, |v, part| {
                    v.get(part.replace("~1", "/").replace("~0", "~"))
                })
            })
            .ok_or_else(|| {
                invalid(
                    path,
                    format!("`$ref` {r} is not a local reference that resolves"),
                )
            })?;
        // Reserve the id first so recursive references resolve to it.
        let id = self.push(Node::Null);
        self.refs.insert(r.to_string(), id);
        let real = self.node(target, r)?;
        self.nodes[id] = self.nodes[real].clone();
        Ok(id)
    }
}

/// The compact JSON bytes of a literal value.
fn literal(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}
