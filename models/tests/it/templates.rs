//! Chat templates rendered as Hugging Face renders them: for every bundled generator, the
//! prompts transformers' own renderer made of a set of conversations (system prompt or none,
//! multi-turn history, tools, Chinese text; `models/tests/golden/chat_templates/`, made by
//! `models/scripts/chat_template_goldens.py` from the models' GGUF templates) are what ours
//! makes, byte for byte. The fixture model is also checked end to end: its GGUF's template is
//! the stored one and the loaded generator renders the same prompts.

use models::generate::template::ChatTemplate;
use models::store::ModelStore;
use models::{ChatRequest, GeneratorOptions, LocalGenerator, Message, Role};
use serde_json::Value;
use std::path::PathBuf;

/// The golden files, with each case's tools as JSON text in the order Python wrote them.
fn goldens() -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/chat_templates");
    let mut out: Vec<Value> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            let mut g: Value = serde_json::from_str(&text).unwrap();
            // minijinja keeps a map's order (serde_json's Value would sort the keys).
            let ordered: minijinja::Value = serde_json::from_str(&text).unwrap();
            for (i, case) in g["cases"].as_array_mut().unwrap().iter_mut().enumerate() {
                let tools = ordered
                    .get_attr("cases")
                    .unwrap()
                    .get_item(&minijinja::Value::from(i))
                    .unwrap()
                    .get_attr("tools")
                    .unwrap();
                if !tools.is_none() {
                    case["tools_json"] = Value::String(serde_json::to_string(&tools).unwrap());
                }
            }
            g
        })
        .collect();
    out.sort_by_key(|g| g["model"].as_str().unwrap().to_string());
    out
}

fn messages(case: &Value) -> Vec<Message> {
    case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let role = match m["role"].as_str().unwrap() {
                "system" => Role::System,
                "user" => Role::User,
                _ => Role::Assistant,
            };
            Message::new(role, m["content"].as_str().unwrap())
        })
        .collect()
}

#[test]
fn every_bundled_template_renders_as_transformers_does() {
    let all = goldens();
    let names: Vec<&str> = all.iter().map(|g| g["model"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["qwen2.5-coder-1.5b-instruct", "smollm2-135m-instruct"],
        "a golden per bundled generator (qwen2.5-coder-0.5b-instruct ships the 1.5B's template)"
    );
    for g in &all {
        let t = ChatTemplate::new(
            g["chat_template"].as_str(),
            g["bos_token"].as_str().unwrap(),
            g["eos_token"].as_str().unwrap(),
        )
        .unwrap();
        for case in g["cases"].as_array().unwrap() {
            let ours = t
                .render_with_tools(&messages(case), case["tools_json"].as_str())
                .unwrap();
            assert_eq!(
                ours,
                case["prompt"].as_str().unwrap(),
                "{} / {}",
                g["model"],
                case["name"]
            );
        }
    }
}

#[test]
fn the_fixture_model_renders_its_own_template_as_stored() {
    let store = ModelStore::from_env();
    let entry = store.get("smollm2-135m-instruct").unwrap_or_else(|_| {
        panic!(
            "test fixture `smollm2-135m-instruct` is not installed in {}: run `deskmate models install --fixtures` first",
            store.root().display()
        )
    });
    let g = LocalGenerator::load(&entry, GeneratorOptions::default()).unwrap();
    let golden = goldens()
        .into_iter()
        .find(|g| g["model"] == "smollm2-135m-instruct")
        .unwrap();
    for case in golden["cases"].as_array().unwrap() {
        if !case["tools"].is_null() {
            continue;
        }
        let prompt = g.render(&ChatRequest::new(messages(case))).unwrap();
        assert_eq!(prompt, case["prompt"].as_str().unwrap(), "{}", case["name"]);
    }
}
