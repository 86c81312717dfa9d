//! Constrained JSON without a model: the automaton accepts exactly the valid prefixes of valid
//! documents, random walks through it always end in documents the independent validator accepts,
//! and the token mask equals a brute-force check of every token.

use models::generate::sampler::Rng;
use models::json::{Automaton, Schema, TokenTable, validate};
use serde_json::{Value, json};

fn rfq_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "underlying": {"type": "string", "maxLength": 20},
            "structure": {"enum": ["snowball", "shark_fin", "vanilla", "digital"]},
            "direction": {"type": "string", "enum": ["buy", "sell"]},
            "notional": {"type": "number"},
            "tenor_months": {"type": "integer"},
            "strike": {"type": ["number", "null"]},
            "barriers": {"type": "array", "items": {"type": "number"}, "maxItems": 3},
            "client": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "confirmed": {"type": "boolean"},
            "legs": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/leg"}}
        },
        "required": ["underlying", "structure", "notional", "legs"],
        "additionalProperties": false,
        "$defs": {
            "leg": {"type": "object", "properties": {"kind": {"const": "call"}, "qty": {"type": "integer"}}, "required": ["kind"]}
        }
    })
}

/// `doc` fed byte by byte: accepted as a complete document or refused.
fn check(schema: &Value, doc: &str, expect: bool) {
    let aut = Automaton::new(Schema::compile(schema).unwrap());
    let mut st = aut.start();
    let fed = aut.feed_all(&mut st, doc.as_bytes());
    let accepted = fed && aut.is_accepting(&st);
    assert_eq!(accepted, expect, "document {doc}");
    if accepted {
        let v: Value = serde_json::from_str(doc).unwrap();
        assert!(
            validate(schema, &v).is_empty(),
            "{doc}: {:?}",
            validate(schema, &v)
        );
    }
}

#[test]
fn accepts_valid_and_refuses_invalid_documents() {
    let s = rfq_schema();
    let leg = r#""legs":[{"kind":"call"}]"#;
    check(
        &s,
        &format!(r#"{{"underlying":"中证500","structure":"snowball","notional":1e7,{leg}}}"#),
        true,
    );
    check(
        &s,
        &format!(
            r#"{{ "underlying" : "IF", "structure": "vanilla", "notional": -0.5, "strike": null, "barriers": [1, 2.5], {leg} }}"#
        ),
        true,
    );
    check(
        &s,
        &format!(
            r#"{{"underlying":"a\"b\\u4e2d","structure":"digital","notional":0,"client":"x","confirmed":true,{leg}}}"#
        ),
        true,
    );
    // Missing required, unknown key, duplicate key, bad enum, leading zero, too many items.
    check(
        &s,
        &format!(r#"{{"underlying":"IF","notional":1,{leg}}}"#),
        false,
    );
    check(
        &s,
        &format!(r#"{{"underlying":"IF","structure":"vanilla","notional":1,"x":1,{leg}}}"#),
        false,
    );
    check(
        &s,
        &format!(
            r#"{{"underlying":"IF","underlying":"IF","structure":"vanilla","notional":1,{leg}}}"#
        ),
        false,
    );
    check(
        &s,
        &format!(r#"{{"underlying":"IF","structure":"barrier","notional":1,{leg}}}"#),
        false,
    );
    check(
        &s,
        &format!(r#"{{"underlying":"IF","structure":"vanilla","notional":01,{leg}}}"#),
        false,
    );
    check(
        &s,
        &format!(
            r#"{{"underlying":"IF","structure":"vanilla","notional":1,"barriers":[1,2,3,4],{leg}}}"#
        ),
        false,
    );
    check(
        &s,
        r#"{"underlying":"IF","structure":"vanilla","notional":1,"legs":[]}"#,
        false,
    );
    check(
        &s,
        &format!(
            r#"{{"underlying":"IF","structure":"vanilla","notional":1,"tenor_months":1.5,{leg}}}"#
        ),
        false,
    );
    // Lone surrogate escapes and raw control characters are not valid strings.
    check(
        &s,
        &format!(r#"{{"underlying":"\ud800","structure":"vanilla","notional":1,{leg}}}"#),
        false,
    );
    check(
        &s,
        &format!("{{\"underlying\":\"a\nb\",\"structure\":\"vanilla\",\"notional\":1,{leg}}}"),
        false,
    );
    // maxLength counts characters.
    check(
        &s,
        &format!(
            r#"{{"underlying":"一二三四五六七八九十一二三四五六七八九十","structure":"vanilla","notional":1,{leg}}}"#
        ),
        true,
    );
    check(
        &s,
        &format!(
            r#"{{"underlying":"一二三四五六七八九十一二三四五六七八九十一","structure":"vanilla","notional":1,{leg}}}"#
        ),
        false,
    );
    // Numeric enums where one value is a prefix of another.
    let e =
        json!({"type": "object", "properties": {"n": {"enum": [1, 10, null]}}, "required": ["n"]});
    check(&e, r#"{"n":1}"#, true);
    check(&e, r#"{"n":10}"#, true);
    check(&e, r#"{"n":100}"#, false);
    check(&e, r#"{"n":null}"#, true);
    // A top-level number ends at the end of input.
    check(&json!({"type": "integer"}), "42", true);
    check(&json!({"type": "integer"}), "4.2", false);
}

#[test]
fn invalid_schemas_are_refused_with_the_problem_named() {
    for (schema, needle) in [
        (json!({"type": "string", "pattern": "^a"}), "`pattern`"),
        (json!({"type": "number", "minimum": 0}), "`minimum`"),
        (
            json!({"type": "object", "required": ["a"], "properties": {}}),
            "required property `a`",
        ),
        (json!({"type": "array"}), "without `items`"),
        (json!({"type": "wat"}), "unknown type"),
        (
            json!({"anyOf": [{"type": "string"}, {"type": "number"}]}),
            "anyOf",
        ),
        (json!({"$ref": "#/$defs/missing"}), "$ref"),
        (json!("string"), "must be an object"),
    ] {
        let err = Schema::compile(&schema).unwrap_err().to_string();
        assert!(err.contains(needle), "{schema}: {err}");
        assert!(err.starts_with("JSON schema at #"), "{err}");
    }
}

/// Documents cut anywhere close into valid documents (what happens when max_tokens runs out).
#[test]
fn every_prefix_closes_into_a_valid_document() {
    let s = rfq_schema();
    let aut = Automaton::new(Schema::compile(&s).unwrap());
    for doc in [
        r#"{"underlying":"中证500\u4e2d","structure":"snowball","notional":123456789012345.5e-12,"strike":null,"legs":[{"kind":"call","qty":-7}],"barriers":[1.5,2]}"#,
        r#"{"notional":-0.0,"legs":[{"qty":1,"kind":"call"},{"kind":"call"}],"structure":"shark_fin","underlying":"IF","confirmed":false,"client":"A"}"#,
        r#"{"notional":1234567890123456,"legs":[]}"#,
        r#"{"notional":123456789012345.123}"#,
    ] {
        let mut st = aut.start();
        for (i, &b) in doc.as_bytes().iter().enumerate() {
            let Some(close) = aut.closing_bytes(&st) else {
                panic!(
                    "cannot close after {:?}",
                    String::from_utf8_lossy(&doc.as_bytes()[..i])
                )
            };
            let mut text = doc.as_bytes()[..i].to_vec();
            text.extend_from_slice(&close);
            let text = String::from_utf8(text).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(validate(&s, &v).is_empty(), "{text}");
            if !aut.feed(&mut st, b) {
                break; // the rest of this document is invalid on purpose (too many digits)
            }
        }
    }
}

/// Random walks through the automaton, closed the shortest way, always validate.
#[test]
fn random_walks_end_in_valid_documents() {
    let s = rfq_schema();
    let aut = Automaton::new(Schema::compile(&s).unwrap());
    let mut rng = Rng::new(7);
    for walk in 0..300 {
        let mut st = aut.start();
        let mut doc = Vec::new();
        let steps = 5 + (rng.next_u64() % 200) as usize;
        for _ in 0..steps {
            if aut.is_done(&st) {
                break;
            }
            // Bias toward ASCII so walks make progress; any accepted byte is fine.
            let ok: Vec<u8> = (0u8..=255)
                .filter(|&b| {
                    let mut t = st;
                    aut.feed(&mut t, b)
                })
                .collect();
            assert!(
                !ok.is_empty(),
                "walk {walk}: dead end after {:?}",
                String::from_utf8_lossy(&doc)
            );
            let b = ok[(rng.next_u64() % ok.len() as u64) as usize];
            assert!(aut.feed(&mut st, b));
            doc.push(b);
        }
        let close = aut.closing_bytes(&st).expect("closable");
        doc.extend_from_slice(&close);
        let text = String::from_utf8(doc).expect("UTF-8");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(
            validate(&s, &v).is_empty(),
            "{text}: {:?}",
            validate(&s, &v)
        );
    }
}

/// The trie-based mask equals trying every token's bytes one by one.
#[test]
fn token_mask_matches_brute_force() {
    let s = rfq_schema();
    let aut = Automaton::new(Schema::compile(&s).unwrap());
    // A vocabulary of all single bytes plus multi-byte pieces a BPE model would have.
    let mut vocab: Vec<Option<Vec<u8>>> = (0u8..=255).map(|b| Some(vec![b])).collect();
    for piece in [
        "{\"",
        "\":",
        "\":\"",
        "\",\"",
        "\"}",
        "\"},",
        "underlying",
        "\"underlying\"",
        "structure",
        "snow",
        "ball",
        "\"snowball\"",
        "12",
        "0.",
        "e5",
        "null",
        "true",
        " ",
        "  ",
        "\n",
        "中证",
        "500",
        "\\u",
        "\\\"",
        "},",
        "}]",
        "]}",
        "[{",
        "notional",
        "legs",
        "\":[",
        "call",
        "qty",
    ] {
        vocab.push(Some(piece.as_bytes().to_vec()));
    }
    vocab.push(None); // a special token
    let eos = vocab.len() as u32;
    vocab.push(None);
    let table = TokenTable::new(vocab.clone(), vec![eos]);
    let doc = r#"{"underlying":"中证500","structure":"snowball","notional":12.5,"legs":[{"kind":"call"}]}"#;
    let mut st = aut.start();
    let mut mask = vec![0u64; vocab.len().div_ceil(64)];
    for (i, &b) in doc.as_bytes().iter().enumerate() {
        table.allowed(&aut, &st, &mut mask);
        for (t, bytes) in vocab.iter().enumerate() {
            let expect = match bytes {
                Some(bytes) => {
                    let mut c = st;
                    aut.feed_all(&mut c, bytes)
                }
                None => t as u32 == eos && aut.is_accepting(&st),
            };
            let got = mask[t / 64] & (1 << (t % 64)) != 0;
            assert_eq!(
                got,
                expect,
                "after {:?}, token {t} {:?}",
                String::from_utf8_lossy(&doc.as_bytes()[..i]),
                bytes
            );
        }
        assert!(aut.feed(&mut st, b));
    }
    assert!(aut.is_done(&st));
}

/// A vocabulary of the 256 single bytes (token id = byte) and one end-of-sequence token.
fn byte_table() -> std::sync::Arc<TokenTable> {
    let bytes: Vec<Option<Vec<u8>>> = (0..=255u8).map(|b| Some(vec![b])).chain([None]).collect();
    std::sync::Arc::new(TokenTable::new(bytes, vec![256]))
}

#[test]
fn forced_bytes_are_what_every_continuation_starts_with() {
    use models::json::JsonConstraint;
    let schema = json!({
        "type": "object",
        "properties": {
            "requests": {"type": "array", "items": {
                "type": "object",
                "properties": {"kind": {"enum": ["x y", "xz"]}, "n": {"type": "integer"}},
                "required": ["kind", "n"],
                "additionalProperties": false
            }}
        },
        "required": ["requests"],
        "additionalProperties": false
    });
    let mut c = JsonConstraint::new(&schema, byte_table()).unwrap();
    let feed = |c: &mut JsonConstraint, s: &str| {
        for b in s.bytes() {
            assert!(c.advance(u32::from(b)), "{s}");
        }
    };
    let forced = |c: &JsonConstraint| String::from_utf8(c.forced_bytes(64)).unwrap();
    // One key is possible at the start: `{"requests":[` is forced (then `{` or `]`).
    assert_eq!(forced(&c), r#"{"requests":["#);
    // Properties come in the declared order, so with both required the first key is forced.
    let mut probe = JsonConstraint::new(&schema, byte_table()).unwrap();
    feed(&mut probe, r#"{"requests":[{"#);
    assert_eq!(forced(&probe), r#""kind":"x"#);
    let aut = Automaton::new(Schema::compile(&schema).unwrap());
    let mut st = aut.start();
    assert!(
        !aut.feed_all(&mut st, br#"{"requests":[{"n":1,"#),
        "out of declared order"
    );
    feed(&mut c, r#"{"requests":[{"kind":"x"#);
    // A space inside a string is text, not a gap: "x y" and "xz" both remain.
    assert_eq!(forced(&c), "");
    feed(&mut c, "z");
    assert_eq!(forced(&c), r#"","n":"#);
    // Taking forced tokens at once: all or nothing.
    let toks: Vec<u32> = r#"","n":"#.bytes().map(u32::from).collect();
    assert!(
        !c.advance_all(&[u32::from(b'"'), 256]),
        "eos is never forced"
    );
    assert!(c.advance_all(&toks));
    feed(&mut c, "7");
    assert_eq!(forced(&c), "");
    feed(&mut c, "}]");
    assert_eq!(forced(&c), "}");
    feed(&mut c, "}");
    assert!(c.is_done());
    assert_eq!(
        String::from_utf8(c.text().to_vec()).unwrap(),
        r#"{"requests":[{"kind":"xz","n":7}]}"#
    );
}
