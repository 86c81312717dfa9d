//! The model fallback with a real local model: the `models` crate's constrained decoding (the
//! same request `assistant::inference::JsonModel` makes, without its audit entry), asked by
//! `RfqParser::parse_with_model` about messages the rules cannot fully parse (taken from the
//! golden sets by their rule confidence).
//!
//! The SmolLM2-135M fixture (English only, 135M parameters) answers poorly: these tests check
//! the plumbing and that whatever it says is constrained, validated and, when wrong, rejected.
//! An `#[ignore]`d test runs the default 1.5B model on the same messages (`--ignored`; it must
//! be installed; slow: about half a minute a message on two cores).

use models::{ChatRequest, ChatResponse, Generator, Message, ResponseFormat};
use rfq::eval::{EVAL_TODAY, HOLDOUT_JSONL, ROBUSTNESS_JSONL, load_cases};
use rfq::model::{ModelOutputError, fallback_prompt, fallback_schema, validate};
use rfq::{
    DEFAULT_FALLBACK_THRESHOLD, JsonGenerator, ParseContext, ParseOutcome, ParsePath, Problem,
    RfqParser,
};
use serde_json::{Value, json};
use std::sync::Arc;

const FIXTURE: &str = "smollm2-135m-instruct";

fn ctx() -> ParseContext {
    ParseContext::new(EVAL_TODAY)
}

fn parser() -> &'static RfqParser {
    RfqParser::builtin()
}

/// An installed generator asked with the prompt as written (the schema is enforced by
/// constrained decoding, not shown), greedy, at most `max_tokens` tokens.
struct LocalJson {
    generator: Arc<dyn Generator>,
    max_tokens: usize,
}

impl LocalJson {
    fn generate(&self, prompt: &str, schema: &Value) -> Result<ChatResponse, models::ModelError> {
        let mut req = ChatRequest::new(vec![Message::user(prompt)]);
        req.max_tokens = self.max_tokens;
        req.response_format = ResponseFormat::JsonSchema(schema.clone());
        self.generator.chat(&req)
    }
}

impl JsonGenerator for LocalJson {
    type Error = String;

    fn generate_json(&mut self, prompt: &str, schema: &Value) -> Result<String, String> {
        self.generate(prompt, schema)
            .map(|r| r.text)
            .map_err(|e| e.to_string())
    }
}

fn json_model(name: &str, max_tokens: usize) -> LocalJson {
    models::runtime::set_threads(1);
    let models = models::Models::new(
        models::store::ModelStore::from_env(),
        models::GeneratorOptions::default(),
    );
    let generator = models.generator(name).unwrap_or_else(|e| {
        panic!("model `{name}` is not installed ({e}): run `deskmate models install --fixtures`")
    });
    LocalJson {
        generator,
        max_tokens,
    }
}

/// Golden messages (robustness and held-out sets, and the dev set when `shared/` is there)
/// that the rules parse below the fallback threshold and do not flag: the fallback's inputs.
fn unsure_messages() -> Vec<String> {
    let mut sets = vec![
        (ROBUSTNESS_JSONL.to_string(), "robustness"),
        (HOLDOUT_JSONL.to_string(), "holdout"),
    ];
    if let Ok(d) = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/rfq/dev.jsonl"
    )) {
        sets.push((d, "dev"));
    }
    let mut out = Vec::new();
    for (text, name) in &sets {
        for c in load_cases(text, name).unwrap() {
            let r = parser().parse(&c.message, &ctx());
            if r.confidence < DEFAULT_FALLBACK_THRESHOLD && !r.flagged() {
                out.push(c.message);
            }
        }
    }
    // A message of the kind the rules cannot settle, in case the golden sets have too few.
    out.push("呃 中证500 嗯 xyz 看涨 qwe 三个月 abc 一千万 平值 zzz 8 yyy 9 hmm".into());
    out
}

/// What every outcome of the fallback must satisfy, whatever the model said.
fn check_outcome(msg: &str, out: &ParseOutcome) {
    let rules = parser().parse(msg, &ctx());
    match out.path {
        ParsePath::Model => {
            assert!(out.confidence <= 0.75, "{msg}: {}", out.confidence);
            // What was kept is grounded: validating the kept parse again drops nothing.
            let again = validate(parser(), msg, &ctx(), &out.parse.to_json())
                .unwrap_or_else(|e| panic!("{msg}: the accepted parse fails validation: {e}"));
            assert!(
                !again
                    .1
                    .iter()
                    .any(|p| matches!(p, Problem::ModelFieldUngrounded { .. })),
                "{msg}: an ungrounded value survived: {}",
                out.parse.to_json()
            );
            for r in &out.parse.requests {
                if let Some(u) = &r.underlying {
                    assert!(parser().lexicon().is_known_code(u), "{msg}: {u}");
                }
            }
        }
        ParsePath::Rules => {
            assert_eq!(
                out.parse, rules.parse,
                "{msg}: a rejected answer changed the parse"
            );
            assert!(
                out.problems
                    .iter()
                    .any(|p| matches!(p, Problem::ModelRejected { .. })),
                "{msg}: the rules were kept without a reason: {:?}",
                out.problems
            );
        }
    }
}

#[test]
fn the_fixture_model_answers_under_constraint_and_is_checked_by_the_lexicon() {
    let mut model = json_model(FIXTURE, 160);
    let msgs = unsure_messages();
    for msg in msgs.iter().rev().take(3) {
        // The raw answer is a document of the fallback schema (constrained decoding).
        let schema = fallback_schema(parser(), msg, &ctx());
        let raw = model
            .generate(&fallback_prompt(parser(), msg, &ctx()), &schema)
            .unwrap();
        let doc: Value = serde_json::from_str(&raw.text).unwrap();
        assert!(
            models::json::validate(&schema, &doc).is_empty(),
            "{msg}: {}",
            raw.text
        );
        assert!(raw.usage.prompt_tokens > 300, "the prompt: {:?}", raw.usage);
        // Through the parser: accepted only as far as the message supports it, or rejected.
        let out = parser().parse_with_model(msg, &ctx(), &mut model);
        eprintln!("{msg}\n  -> {:?} {}", out.path, out.parse.to_json());
        check_outcome(msg, &out);
    }
}

#[test]
fn the_fallback_schema_compiles_for_constrained_decoding() {
    for msg in unsure_messages().iter().chain(
        [
            "中证500 雪球 敲出103 敲入75 12个月 票息?另外1000的同样结构也报一下",
            "螺纹5月 看涨 平值",
            "hello",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .iter(),
    ) {
        let s = fallback_schema(parser(), msg, &ctx());
        models::json::Schema::compile(&s).unwrap_or_else(|e| panic!("{msg}: {e}"));
        // The underlying can only be a code the message names, or null.
        let codes = s["properties"]["requests"]["items"]["properties"]["underlying"]["enum"]
            .as_array()
            .unwrap()
            .clone();
        for c in codes.iter().filter_map(Value::as_str) {
            assert!(parser().lexicon().is_known_code(c), "{c}");
        }
        assert!(codes.contains(&Value::Null));
    }
}

#[test]
fn unknown_underlying_codes_from_a_real_model_are_rejected() {
    // With the fallback schema the model cannot write an unknown code. A remote server's
    // constraint is not trusted, so the validation must hold on its own: ask the fixture
    // with the underlying left as free text, about names that are not in the lexicon.
    let model = json_model(FIXTURE, 160);
    let mut rejected = 0;
    for msg in [
        "XYZ Corp 3 month call at 105, notional 10mm",
        "Quote a 6M put on ACME Holdings, strike 95%",
    ] {
        let mut schema = fallback_schema(parser(), msg, &ctx());
        schema["properties"]["requests"]["items"]["properties"]["underlying"] =
            json!({"type": ["string", "null"], "maxLength": 16});
        schema["properties"]["requests"]["minItems"] = json!(1);
        let prompt = format!(
            "Write the request for quote in this message as JSON. The underlying is the \
             company's ticker as written in the message.\n\nMessage: {msg}"
        );
        let raw = model.generate(&prompt, &schema).unwrap().text;
        let doc: Value = serde_json::from_str(&raw).unwrap();
        let code = doc["requests"][0]["underlying"].as_str().map(String::from);
        let known = code
            .as_deref()
            .is_some_and(|c| parser().lexicon().is_known_code(c));
        match validate(parser(), msg, &ctx(), &raw) {
            Err(ModelOutputError::UnknownUnderlying(c)) => {
                assert_eq!(Some(c), code);
                assert!(!known);
                rejected += 1;
            }
            Ok((parse, _, _)) => {
                assert!(code.is_none() || known, "{raw} was accepted");
                assert!(
                    parse
                        .requests
                        .iter()
                        .all(|r| r.underlying.is_none() || known)
                );
            }
            Err(e) => panic!("{msg}: {raw}: {e}"),
        }
        eprintln!("{msg}\n  -> {raw}");
    }
    assert!(
        rejected >= 1,
        "the fixture named no unknown code: the rejection path was not exercised"
    );
}

/// The default 1.5B model on the messages the rules cannot fully parse: needs
/// `deskmate models install default`; CI reports it as ignored.
#[test]
#[ignore = "needs the 1.1 GB default model: deskmate models install default, then --ignored"]
fn the_default_model_parses_what_the_rules_cannot() {
    let mut model = json_model("default", 384);
    let msgs = unsure_messages();
    let mut accepted = 0;
    for msg in msgs.iter().take(6) {
        let t = std::time::Instant::now();
        let out = parser().parse_with_model(msg, &ctx(), &mut model);
        eprintln!(
            "{:.1} s  {msg}\n  -> {:?} {:.2} {}\n  problems {:?}",
            t.elapsed().as_secs_f64(),
            out.path,
            out.confidence,
            out.parse.to_json(),
            out.problems
        );
        check_outcome(msg, &out);
        if out.path == ParsePath::Model && !out.parse.requests.is_empty() {
            accepted += 1;
        }
    }
    assert!(
        accepted >= 1,
        "the default model's answers were all rejected"
    );
}
