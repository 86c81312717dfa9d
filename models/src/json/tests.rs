//! Hostile and unsatisfiable schemas (issue #15 item 7) through the public API: each is refused
//! with a specific [`SchemaError`]; schemas just inside every limit compile and decode; and
//! random nested schemas either are refused or decode to valid documents without a dead end,
//! which is what used to surface as a 500.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Contradiction, JsonConstraint, Schema, SchemaError, SchemaLimits, TokenTable};
use crate::generate::sampler::Rng;

/// `n` objects, each requiring the next: `{"a": {"a": … "text"}}`.
fn required_nesting(n: usize) -> Value {
    (0..n).fold(
        json!({"type": "string"}),
        |inner, _| json!({"type": "object", "properties": {"a": inner}, "required": ["a"]}),
    )
}

/// `n` objects, each with the next as an optional property.
fn optional_nesting(n: usize) -> Value {
    (0..n).fold(
        json!({"type": "string"}),
        |inner, _| json!({"type": "object", "properties": {"a": inner}}),
    )
}

/// `#` followed by `/properties/a` `n` times.
fn deep_path(n: usize) -> String {
    format!("#{}", "/properties/a".repeat(n))
}

fn object_with(n: usize) -> Value {
    let props: serde_json::Map<String, Value> = (0..n)
        .map(|i| (format!("p{i}"), json!({"type": "integer"})))
        .collect();
    json!({"type": "object", "properties": props})
}

fn enum_of(n: usize) -> Value {
    json!({"enum": (0..n).collect::<Vec<_>>()})
}

fn bounds(
    min_keyword: &'static str,
    min: i64,
    max_keyword: &'static str,
    max: i64,
) -> Contradiction {
    Contradiction::Bounds {
        min_keyword,
        min: min.into(),
        max_keyword,
        max: max.into(),
    }
}

fn unsat(path: &str, reason: Contradiction) -> SchemaError {
    SchemaError::Unsatisfiable {
        path: path.into(),
        reason,
    }
}

/// A schema for a failure message, cut short.
fn show(schema: &Value) -> String {
    let mut s = schema.to_string();
    if s.len() > 300 {
        s.truncate(300);
        s.push('…');
    }
    s
}

/// Compiles `schema` and expects exactly `expect`.
fn check_refused(schema: &Value, expect: SchemaError) {
    match Schema::compile(schema) {
        Ok(_) => panic!("accepted: {}", show(schema)),
        Err(e) => {
            assert_eq!(e, expect, "{}", show(schema));
            let msg = e.to_string();
            assert!(msg.starts_with("JSON schema"), "{msg}");
        }
    }
}

#[test]
fn hostile_and_unsatisfiable_schemas_are_refused_with_a_specific_error() {
    let d = SchemaLimits::default();
    let many_nodes: serde_json::Map<String, Value> = (0..40)
        .map(|i| {
            let props: serde_json::Map<String, Value> =
                (0..60).map(|j| (format!("{j}"), json!({}))).collect();
            (format!("o{i}"), json!({"properties": props}))
        })
        .collect();
    let long = "x".repeat(2000);
    let big = json!({"type": "string", "description": "x".repeat(70_000)});
    let too_long_array = json!({"type": "array", "minItems": 1000, "items": {
        "type": "object",
        "properties": {"a_rather_long_property_name": {"type": "string"}},
        "required": ["a_rather_long_property_name"]
    }});
    let deep_names: String = std::iter::once("#".to_string())
        .chain((0..12).rev().map(|i| format!("/properties/{i:0>100}")))
        .collect();
    let cases: Vec<(Value, SchemaError)> = vec![
        // The three reported by the tester.
        (
            json!({
                "$defs": {"node": {"type": "object",
                                   "properties": {"child": {"$ref": "#/$defs/node"}},
                                   "required": ["child"]}},
                "$ref": "#/$defs/node"
            }),
            unsat("#/$defs/node", Contradiction::RequiredRecursion),
        ),
        (
            required_nesting(60),
            SchemaError::TooDeep {
                path: deep_path(32),
                limit: 32,
            },
        ),
        (
            json!({"type": "array", "items": {"type": "integer"}, "minItems": 100000}),
            SchemaError::BoundTooLarge {
                path: "#".into(),
                keyword: "minItems",
                value: 100000,
                limit: d.max_min_items,
            },
        ),
        // Required recursion through the root and through two definitions.
        (
            json!({"type": "object", "properties": {"me": {"$ref": "#"}}, "required": ["me"]}),
            unsat("#", Contradiction::RequiredRecursion),
        ),
        (
            json!({
                "$defs": {
                    "a": {"type": "object", "properties": {"b": {"$ref": "#/$defs/b"}}, "required": ["b"]},
                    "b": {"type": "array", "items": {"$ref": "#/$defs/a"}, "minItems": 1}
                },
                "$ref": "#/$defs/a"
            }),
            unsat("#/$defs/a", Contradiction::RequiredRecursion),
        ),
        // Nesting just past the schema depth, and past the automaton's depth.
        (
            required_nesting(32),
            SchemaError::TooDeep {
                path: deep_path(32),
                limit: 32,
            },
        ),
        (
            optional_nesting(40),
            SchemaError::TooDeep {
                path: deep_path(32),
                limit: 32,
            },
        ),
        (
            required_nesting(24),
            SchemaError::DocumentTooDeep {
                path: deep_path(24),
                depth: 25,
                limit: 24,
            },
        ),
        (
            required_nesting(31),
            SchemaError::DocumentTooDeep {
                path: deep_path(24),
                depth: 32,
                limit: 24,
            },
        ),
        // Bounds over their caps.
        (
            json!({"type": "array", "items": {}, "maxItems": 10_000_000}),
            SchemaError::BoundTooLarge {
                path: "#".into(),
                keyword: "maxItems",
                value: 10_000_000,
                limit: d.max_upper_bound,
            },
        ),
        (
            json!({"type": "object", "properties": {"s": {"type": "string", "maxLength": 1u64 << 40}}}),
            SchemaError::BoundTooLarge {
                path: "#/properties/s".into(),
                keyword: "maxLength",
                value: 1 << 40,
                limit: d.max_upper_bound,
            },
        ),
        // Bounds that leave nothing, reported as such even where the keyword is unsupported.
        (
            json!({"type": "array", "items": {}, "minItems": 5, "maxItems": 2}),
            unsat("#", bounds("minItems", 5, "maxItems", 2)),
        ),
        (
            json!({"type": "number", "minimum": 5, "maximum": 1}),
            unsat("#", bounds("minimum", 5, "maximum", 1)),
        ),
        (
            json!({"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1}),
            unsat("#", bounds("exclusiveMinimum", 1, "exclusiveMaximum", 1)),
        ),
        (
            json!({"type": "object", "properties": {"s": {"type": "string", "minLength": 3, "maxLength": 2}}}),
            unsat("#/properties/s", bounds("minLength", 3, "maxLength", 2)),
        ),
        (
            json!({"type": "object", "properties": {"a": {}, "b": {}}, "required": ["a", "b"], "maxProperties": 1}),
            unsat(
                "#",
                Contradiction::TooFewProperties {
                    max: 1,
                    required: 2,
                },
            ),
        ),
        // Required properties that cannot or may not be written.
        (
            json!({"type": "object", "properties": {"a": {}}, "required": ["a", "b"], "additionalProperties": false}),
            unsat("#", Contradiction::RequiredForbidden("b".into())),
        ),
        (
            json!({"type": "object", "properties": {"a": {}}, "required": ["b"]}),
            SchemaError::RequiredUndeclared {
                path: "#".into(),
                name: "b".into(),
            },
        ),
        (
            json!({"type": "object", "properties": {"a": false}, "required": ["a"]}),
            unsat("#/properties/a", Contradiction::FalseSchema),
        ),
        // Empty and impossible value sets.
        (json!({"type": []}), unsat("#", Contradiction::EmptyType)),
        (json!({"enum": []}), unsat("#", Contradiction::EmptyEnum)),
        (
            json!({"type": "string", "const": 5}),
            unsat("#", Contradiction::NoValueFits),
        ),
        (
            json!({"type": "string", "maxLength": 2, "enum": ["abc", "abcd", 7]}),
            unsat("#", Contradiction::NoValueFits),
        ),
        (
            json!({"type": "array", "items": false, "minItems": 1}),
            unsat("#", Contradiction::ItemsForbidden(1)),
        ),
        (false.into(), unsat("#", Contradiction::FalseSchema)),
        // Sizes.
        (
            enum_of(65),
            SchemaError::TooManyValues {
                path: "#".into(),
                count: 65,
                limit: 64,
            },
        ),
        (
            object_with(65),
            SchemaError::TooManyProperties {
                path: "#".into(),
                count: 65,
                limit: 64,
            },
        ),
        (
            json!({"enum": ["short", long]}),
            SchemaError::LiteralTooLong {
                path: "#/enum/1".into(),
                what: "an enum value",
                bytes: 2002,
                limit: 1024,
            },
        ),
        // Paths of problems found after compiling are kept to their last 1024 bytes (here 12
        // levels of 100-byte names above an array whose smallest value is too long).
        (
            (0..12).fold(
                too_long_array.clone(),
                |inner, i| json!({"type": "object", "properties": {format!("{i:0>100}"): inner}}),
            ),
            SchemaError::OutputTooLarge {
                path: format!("…{}", &deep_names[deep_names.len() - 1024..]),
                bytes: 1000 * 35 + 1,
                limit: 16 * 1024,
            },
        ),
        (
            json!({"type": "object", "properties": {long.clone(): {}}}),
            SchemaError::LiteralTooLong {
                path: format!("#/properties/{long}"),
                what: "a property name",
                bytes: 2002,
                limit: 1024,
            },
        ),
        (
            big.clone(),
            SchemaError::TooLarge {
                bytes: big.to_string().len(),
                limit: 64 * 1024,
            },
        ),
        (
            json!({"type": "object", "properties": many_nodes}),
            SchemaError::TooManyNodes {
                // The root, 33 objects of 61 nodes, then the object o33 and 33 of its properties.
                path: "#/properties/o33/properties/33".into(),
                limit: 2048,
            },
        ),
        (
            too_long_array.clone(),
            SchemaError::OutputTooLarge {
                path: "#".into(),
                bytes: 1000 * 35 + 1,
                limit: 16 * 1024,
            },
        ),
        // References.
        (
            json!({"$ref": "#/$defs/missing"}),
            SchemaError::UnresolvedRef {
                path: "#".into(),
                reference: "#/$defs/missing".into(),
            },
        ),
        (
            json!({"type": "object", "properties": {"x": {"$ref": "https://example.com/s.json"}}}),
            SchemaError::UnresolvedRef {
                path: "#/properties/x".into(),
                reference: "https://example.com/s.json".into(),
            },
        ),
        (
            json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
            SchemaError::RefCycle {
                path: "#/$defs/a".into(),
                reference: "#/$defs/b".into(),
            },
        ),
        (
            json!({"anyOf": [{"$ref": "#"}, {"type": "null"}]}),
            SchemaError::RefCycle {
                path: "#/anyOf/0".into(),
                reference: "#".into(),
            },
        ),
        // Not schemas, and what constrained decoding cannot enforce.
        (
            json!({"anyOf": [{"type": "string"}, {"type": "null", "not": {}}]}),
            SchemaError::UnsupportedKeyword {
                path: "#/anyOf/1".into(),
                keyword: "not".into(),
            },
        ),
        (
            json!("string"),
            SchemaError::Malformed {
                path: "#".into(),
                keyword: "schema",
                expected: "an object or a boolean",
            },
        ),
        (
            json!({"type": "array", "items": {}, "maxItems": -1}),
            SchemaError::Malformed {
                path: "#".into(),
                keyword: "maxItems",
                expected: "a non-negative integer",
            },
        ),
        (
            json!({"type": "object", "properties": {"p": {"type": "string", "pattern": "^a"}}}),
            SchemaError::UnsupportedKeyword {
                path: "#/properties/p".into(),
                keyword: "pattern".into(),
            },
        ),
        (
            json!({"type": "integer", "minimum": 0}),
            SchemaError::UnsupportedKeyword {
                path: "#".into(),
                keyword: "minimum".into(),
            },
        ),
        (
            json!({"anyOf": [{"type": "string"}, {"type": "integer"}]}),
            SchemaError::Unsupported {
                path: "#".into(),
                what: "`anyOf`/`oneOf` other than [schema] or [schema, {\"type\": \"null\"}]",
            },
        ),
        (
            json!({"oneOf": [{}, {"type": "null"}]}),
            SchemaError::Unsupported {
                path: "#".into(),
                what: "`oneOf` whose non-null alternative also allows null",
            },
        ),
        (
            json!({"type": "string", "anyOf": [{"type": "integer"}, {"type": "null"}]}),
            SchemaError::Combined {
                path: "#".into(),
                keyword: "type",
                with: "anyOf",
            },
        ),
        (
            json!({"type": "object", "properties": {}, "additionalProperties": {"type": "string"}}),
            SchemaError::Unsupported {
                path: "#".into(),
                what: "`additionalProperties` other than true or false",
            },
        ),
        (
            json!({"type": "nope"}),
            SchemaError::UnknownType {
                path: "#".into(),
                name: "nope".into(),
            },
        ),
    ];
    assert!(cases.len() >= 40);
    for (schema, expect) in cases {
        check_refused(&schema, expect);
    }
}

#[test]
fn limits_are_configurable() {
    let tight = SchemaLimits {
        max_depth: 3,
        max_nodes: 4,
        max_properties: 2,
        max_enum_values: 2,
        max_literal_bytes: 8,
        max_min_items: 3,
        max_upper_bound: 10,
        max_min_output_bytes: 20,
        max_schema_bytes: 200,
    };
    let refused = |s: Value| Schema::compile_with(&s, &tight).unwrap_err();
    assert!(matches!(
        refused(required_nesting(3)),
        SchemaError::TooDeep { limit: 3, .. }
    ));
    assert!(matches!(
        refused(object_with(3)),
        SchemaError::TooManyProperties { limit: 2, .. }
    ));
    assert!(matches!(
        refused(enum_of(3)),
        SchemaError::TooManyValues { limit: 2, .. }
    ));
    assert!(matches!(
        refused(json!({"const": "123456789"})),
        SchemaError::LiteralTooLong { limit: 8, .. }
    ));
    assert!(matches!(
        refused(json!({"type": "array", "items": {}, "minItems": 4})),
        SchemaError::BoundTooLarge { limit: 3, .. }
    ));
    assert!(matches!(
        refused(json!({"type": "string", "maxLength": 11})),
        SchemaError::BoundTooLarge { limit: 10, .. }
    ));
    // Just inside: three `false,` and the brackets are 19 bytes.
    Schema::compile_with(
        &json!({"type": "array", "items": {"type": "boolean"}, "minItems": 3}),
        &tight,
    )
    .unwrap();
    assert_eq!(
        refused(json!({"type": "array", "items": {"const": "123456"}, "minItems": 3})),
        SchemaError::OutputTooLarge {
            path: "#".into(),
            bytes: 28,
            limit: 20
        }
    );
    // Above what the automaton's bitsets track, a limit acts as 64.
    let loose = SchemaLimits {
        max_properties: 1000,
        max_enum_values: 1000,
        ..SchemaLimits::default()
    };
    assert!(matches!(
        Schema::compile_with(&object_with(65), &loose),
        Err(SchemaError::TooManyProperties { limit: 64, .. })
    ));
    assert!(matches!(
        Schema::compile_with(&enum_of(65), &loose),
        Err(SchemaError::TooManyValues { limit: 64, .. })
    ));
    assert!(matches!(
        refused(json!({"description": "x".repeat(200)})),
        SchemaError::TooLarge { limit: 200, .. }
    ));
    // A free-form object is two nodes (the object and its values).
    assert_eq!(
        refused(
            json!({"type": "object", "properties": {"a": {"type": "object"}, "b": {"type": "object"}}})
        ),
        SchemaError::TooManyNodes {
            path: "#/properties/b".into(),
            limit: 4
        }
    );
}

/// A vocabulary of the 256 single bytes (token id = byte) and one end-of-sequence token.
fn byte_table() -> Arc<TokenTable> {
    let bytes: Vec<Option<Vec<u8>>> = (0..=255u8).map(|b| Some(vec![b])).chain([None]).collect();
    Arc::new(TokenTable::new(bytes, vec![256]))
}

const EOS: u32 = 256;

/// Decodes like the local generator does, with random choices instead of a model: at each
/// step the mask must offer something (a dead end is what used to become a 500), the chosen
/// token must be accepted; after `steps` the document is closed the shortest way and must
/// validate. Biased toward structure (brackets, quotes, commas) so that walks go deep.
fn decode(schema: &Value, rng: &mut Rng, steps: usize) -> Value {
    let table = byte_table();
    let mut c = JsonConstraint::new(schema, table.clone()).unwrap();
    const STRUCTURE: &[u8] = b"{[\",:]}ntf0123456789-";
    for step in 0..steps {
        if c.is_done() {
            break;
        }
        let mask = c.allowed().to_vec();
        let allowed: Vec<u32> = (0..=EOS)
            .filter(|&t| mask[t as usize / 64] & (1 << (t % 64)) != 0)
            .collect();
        assert!(
            !allowed.is_empty(),
            "{schema}: dead end at step {step} after {:?}",
            String::from_utf8_lossy(c.text())
        );
        let structural: Vec<u32> = allowed
            .iter()
            .copied()
            .filter(|&t| t < 256 && STRUCTURE.contains(&(t as u8)))
            .collect();
        let pool = if !structural.is_empty() && !rng.next_u64().is_multiple_of(4) {
            &structural
        } else {
            &allowed
        };
        let t = pool[(rng.next_u64() % pool.len() as u64) as usize];
        if t == EOS {
            break;
        }
        assert!(
            c.advance(t),
            "{schema}: the mask allowed {t}, advance refused it"
        );
    }
    let mut text = c.text().to_vec();
    if !c.is_complete() {
        let close = c.closing_bytes().unwrap_or_else(|| {
            panic!(
                "{schema}: cannot close {:?}",
                String::from_utf8_lossy(&text)
            )
        });
        text.extend_from_slice(&close);
    }
    let text = String::from_utf8(text).expect("UTF-8");
    let doc: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{schema}: {text}: {e}"));
    let problems = super::validate(schema, &doc);
    assert!(problems.is_empty(), "{schema}: {text}: {problems:?}");
    doc
}

#[test]
fn schemas_just_inside_the_limits_compile_and_decode() {
    let exactly_1024 = "y".repeat(1022);
    let tree = json!({
        "$defs": {"node": {"type": "object",
                           "properties": {"name": {"type": "string", "maxLength": 3},
                                          "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                                          "next": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]}},
                           "required": ["name", "next"]}},
        "$ref": "#/$defs/node"
    });
    let schemas = [
        required_nesting(23),
        optional_nesting(31),
        json!({"type": "array", "items": {"type": "integer"}, "minItems": 1024}),
        json!({"type": "array", "items": {"type": "integer"}, "maxItems": 1_000_000}),
        json!({"type": "string", "maxLength": 1_000_000}),
        enum_of(64),
        object_with(64),
        json!({"const": exactly_1024}),
        json!({"type": "number", "minimum": 1, "maximum": 1, "description": "bounds are checked, then refused as unsupported"}),
        tree.clone(),
        json!({"type": "object", "properties": {"me": {"$ref": "#"}, "n": {"type": "integer"}}, "required": ["n"]}),
        json!({"type": "object", "properties": {"gone": false, "kept": true}, "required": ["kept"]}),
        json!({"type": "array", "items": false}),
        json!({"type": ["null"]}),
        json!({"type": "string", "maxLength": 2, "enum": ["ab", "abc", 1, null]}),
        json!({"oneOf": [{"type": "string"}, {"type": "null"}]}),
        json!({"type": "object", "properties": {"a/b~c": {"type": "boolean"}}, "required": ["a/b~c"]}),
    ];
    let mut rng = Rng::new(15);
    for s in &schemas {
        match Schema::compile(s) {
            Ok(_) => {
                for _ in 0..3 {
                    decode(s, &mut rng, 400);
                }
            }
            Err(SchemaError::UnsupportedKeyword { keyword, .. }) if keyword == "minimum" => {}
            Err(e) => panic!("{s}: {e}"),
        }
    }
    // Enum values the rest of the schema refuses are dropped, not offered.
    let s =
        Schema::compile(&json!({"type": "string", "maxLength": 2, "enum": ["ab", "abc", 1, null]}))
            .unwrap();
    assert_eq!(
        s.nodes[s.root],
        super::schema::Node::Enum(vec![b"\"ab\"".to_vec()])
    );
    // A recursive tree may go as deep as the automaton allows and still close: walk it deep.
    for _ in 0..50 {
        decode(&tree, &mut rng, 2000);
    }
}

/// Optional values are offered only where their smallest value fits on the automaton's stack,
/// so that a document the model wanders deep into can still be closed.
#[test]
fn optional_values_are_offered_only_where_they_fit() {
    let schema = json!({
        "$defs": {"n": {"type": "object", "properties": {
            "deeper": {"$ref": "#/$defs/n"},
            "leaf": {"type": "object",
                     "properties": {"x": {"type": "object", "properties": {"y": {"type": "integer"}},
                                          "required": ["y"]}},
                     "required": ["x"]}
        }}},
        "$ref": "#/$defs/n"
    });
    let aut = super::Automaton::new(Schema::compile(&schema).unwrap());
    let at_depth = |k: usize| {
        let mut st = aut.start();
        let prefix = format!("{}{{", "{\"deeper\":".repeat(k - 1));
        assert!(aut.feed_all(&mut st, prefix.as_bytes()), "{prefix}");
        st
    };
    let takes = |k: usize, bytes: &str| {
        let mut st = at_depth(k);
        aut.feed_all(&mut st, bytes.as_bytes())
    };
    // `leaf` needs three frames (two objects and the integer), `deeper` one.
    assert!(takes(21, "\"leaf\":{\"x\":{\"y\":1}}"));
    assert!(!takes(22, "\"l"));
    assert!(takes(22, "\"deeper\":{"));
    assert!(takes(23, "\"deeper\":{"));
    assert!(!takes(24, "\""));
    assert!(takes(24, "}"));
    for k in [21, 22, 23, 24] {
        let st = at_depth(k);
        let close = aut.closing_bytes(&st).expect("closable");
        let text = format!(
            "{}{{{}",
            "{\"deeper\":".repeat(k - 1),
            String::from_utf8(close).unwrap()
        );
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert!(super::validate(&schema, &doc).is_empty(), "{text}");
    }
}

/// A random schema of the shapes clients send, valid or not, up to `depth` levels.
fn random_schema(rng: &mut Rng, depth: usize) -> Value {
    let pick = |rng: &mut Rng, n: u64| rng.next_u64() % n;
    if depth == 0 {
        return match pick(rng, 6) {
            0 => json!({"type": "string", "maxLength": pick(rng, 5)}),
            1 => json!({"type": "integer"}),
            2 => json!({"enum": ["a", 1, null]}),
            3 => json!({"$ref": "#"}),
            4 => json!({"type": ["number", "null"]}),
            _ => json!({}),
        };
    }
    match pick(rng, 9) {
        0..=2 => {
            let n = 1 + pick(rng, 4) as usize;
            let mut props = serde_json::Map::new();
            let mut required = Vec::new();
            for i in 0..n {
                let name = format!("k{i}");
                props.insert(name.clone(), random_schema(rng, depth - 1));
                if pick(rng, 2) == 0 {
                    required.push(name);
                }
            }
            if pick(rng, 8) == 0 {
                required.push("undeclared".into());
            }
            let mut o = json!({"type": "object", "properties": props, "required": required});
            if pick(rng, 3) == 0 {
                o["additionalProperties"] = json!(false);
            }
            o
        }
        3 | 4 => {
            let mut a = json!({"type": "array", "items": random_schema(rng, depth - 1)});
            if pick(rng, 2) == 0 {
                a["minItems"] = json!([0, 1, 2, 3, 5000][pick(rng, 5) as usize]);
            }
            if pick(rng, 3) == 0 {
                a["maxItems"] = json!(pick(rng, 4));
            }
            a
        }
        5 => json!({"anyOf": [random_schema(rng, depth - 1), {"type": "null"}]}),
        6 => json!({"$defs": {"d": random_schema(rng, depth - 1)}, "$ref": "#/$defs/d"}),
        7 => {
            let mut s = random_schema(rng, depth - 1);
            if let Some(o) = s.as_object_mut() {
                let kw = ["nullable", "minimum", "pattern", "maxProperties"][pick(rng, 4) as usize];
                o.insert(
                    kw.into(),
                    if kw == "nullable" {
                        json!(true)
                    } else {
                        json!(1)
                    },
                );
            }
            s
        }
        _ => {
            json!({"type": "object", "properties": {"x": random_schema(rng, depth - 1)}, "required": ["x"]})
        }
    }
}

#[test]
fn random_nested_schemas_are_refused_or_decode_to_valid_documents() {
    let mut rng = Rng::new(2024);
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..2000 {
        let depth = 1 + (rng.next_u64() % 6) as usize;
        let mut schema = random_schema(&mut rng, depth);
        if rng.next_u64().is_multiple_of(4) {
            // Deep wrappers, some levels required, to meet the depth limits from both sides.
            for _ in 0..10 + rng.next_u64() % 20 {
                schema = json!({"type": "object", "properties": {"w": schema, "v": {"type": "integer"}}});
                if !rng.next_u64().is_multiple_of(3) {
                    schema["required"] = json!(["w"]);
                }
            }
        }
        match Schema::compile(&schema) {
            Ok(_) => {
                accepted += 1;
                decode(&schema, &mut rng, 150);
            }
            Err(e) => {
                refused += 1;
                assert!(e.to_string().starts_with("JSON schema"), "{e}");
            }
        }
    }
    // Both sides are exercised.
    assert!(
        accepted > 400 && refused > 400,
        "{accepted} accepted, {refused} refused"
    );
}
