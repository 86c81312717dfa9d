//! Opt-in tests of the 1.1 GB default generator (Qwen2.5-Coder-1.5B-Instruct Q4_K_M) and the
//! fast 0.5B: `deskmate models install default fast`, then
//! `cargo test -p models --test it default_model -- --ignored`. CI installs only the small
//! fixtures, so it reports them as ignored (never as passed).

use std::path::PathBuf;

use models::generate::LocalGenerator;
use models::store::ModelStore;
use models::{ChatRequest, Generator, GeneratorOptions, Message, generate_json};
use serde_json::{Value, json};

fn load(name: &str) -> Option<LocalGenerator> {
    models::runtime::set_threads(1);
    let entry = ModelStore::from_env()
        .get(name)
        .unwrap_or_else(|e| panic!("{e}: run `deskmate models install {name}` first"));
    Some(LocalGenerator::load(&entry, GeneratorOptions::default()).unwrap())
}

fn golden(file: &str, value: &Value) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(file);
    if std::env::var("DESKMATE_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, serde_json::to_string_pretty(value).unwrap() + "\n").unwrap();
        return value.clone();
    }
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
#[ignore = "needs the 1.1 GB default model: deskmate models install default, then --ignored"]
fn qwen_tokenizer_ids_and_answers() {
    let Some(g) = load("qwen2.5-coder-1.5b-instruct") else {
        return;
    };
    let texts = [
        "中证500 雪球 12个月 敲出103 敲入75 报个票息",
        "沪深300 3M 95% put, 5000w notional, pls quote",
        "第一条 为了规范期货交易行为，保护期货交易当事人的合法权益。",
    ];
    let ids: Vec<Vec<u32>> = texts.iter().map(|t| g.encode(t).unwrap()).collect();
    let got = json!(ids);
    assert_eq!(got, golden("qwen_tokenizer_ids.json", &got));
    // Round trip: byte-level BPE decodes back to the exact text.
    for (t, i) in texts.iter().zip(&ids) {
        assert_eq!(&g.tokenizer().decode(i, false).unwrap(), t);
    }
    let mut req = ChatRequest::new(vec![Message::user("中国的首都是哪个城市？用一句话回答。")]);
    req.max_tokens = 32;
    let zh = g.chat(&req).unwrap();
    assert!(zh.text.contains("北京"), "{}", zh.text);
    let mut req = ChatRequest::user("What is 17 + 25? Answer with the number only.");
    req.max_tokens = 8;
    let en = g.chat(&req).unwrap();
    assert!(en.text.contains("42"), "{}", en.text);
    let schema = json!({
        "type": "object",
        "properties": {
            "underlying": {"type": "string"},
            "structure": {"enum": ["snowball", "shark_fin", "vanilla", "digital"]},
            "tenor_months": {"type": "integer"},
            "knock_out_pct": {"type": ["number", "null"]},
            "knock_in_pct": {"type": ["number", "null"]}
        },
        "required": ["underlying", "structure", "tenor_months", "knock_out_pct", "knock_in_pct"]
    });
    let doc = generate_json(
        &g,
        "Parse this RFQ: 中证500 雪球 12个月 敲出103 敲入75 报个票息",
        &schema,
        128,
        &[],
    )
    .unwrap();
    assert_eq!(doc["structure"], "snowball", "{doc}");
    assert_eq!(doc["tenor_months"], 12, "{doc}");
}

#[test]
#[ignore = "needs the fast model: deskmate models install fast, then --ignored"]
fn fast_model_answers() {
    let Some(g) = load("qwen2.5-coder-0.5b-instruct") else {
        return;
    };
    let mut req = ChatRequest::user("What is the capital of France? One word.");
    req.max_tokens = 8;
    let r = g.chat(&req).unwrap();
    assert!(r.text.contains("Paris"), "{}", r.text);
}
