//! Two clients the ecosystem builds on, unchanged, against a real `deskmate serve` on
//! 127.0.0.1 with the fixture models (`tests/ecosystem_clients.py`): LangChain's `ChatOpenAI`
//! calling a tool (forced, `any`, streamed, its answer sent back, structured output both ways),
//! and lm-evaluation-harness scoring FinEval multiple-choice questions by log-likelihood through
//! `/v1/completions` (echo and logprobs, token-id prompts, our `/tokenize` as its tokenizer)
//! and by generation through `/v1/chat/completions`.
//!
//! The clients live in their own virtual environment (`DESKMATE_CLIENTS_VENV`, default
//! `~/.cache/deskmate/venv-clients`, outside the clone), filled from PyPI with the pins of
//! `tests/ecosystem-requirements.txt` by `./x test` or, when missing, by this test. The server
//! runs with `models.redact_personal = false`: the exam questions name people ("张某"), and a
//! prompt the privacy policy would rewrite cannot be scored token by token (such a request is
//! refused, naming the setting).

use std::path::PathBuf;
use std::process::Command;

use crate::openai_client::{install_into, serve_with};

const CHAT: &str = "smollm2-135m-instruct";
/// Questions lm-evaluation-harness scores (4 requests each), and at most 10 by generation.
const LIMIT: &str = "12";
const PINS: &str = include_str!("../ecosystem-requirements.txt");

/// The clients' Python: `DESKMATE_CLIENTS_PYTHON`, else the virtual environment, created and
/// filled from PyPI when it lacks the pins.
fn python() -> PathBuf {
    let can_import = |py: &PathBuf| {
        Command::new(py)
            .args(["-c", "import langchain_openai, lm_eval"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Some(p) = std::env::var_os("DESKMATE_CLIENTS_PYTHON") {
        let p = PathBuf::from(p);
        assert!(
            can_import(&p),
            "DESKMATE_CLIENTS_PYTHON={} cannot import langchain_openai and lm_eval: install \
             tests/ecosystem-requirements.txt there or unset the variable",
            p.display()
        );
        return p;
    }
    let venv = std::env::var_os("DESKMATE_CLIENTS_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/deskmate/venv-clients"))
        })
        .expect("neither DESKMATE_CLIENTS_VENV nor HOME is set");
    let py = venv.join("bin/python");
    if can_import(&py) {
        return py;
    }
    let pins: Vec<&str> = PINS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    install_into(&venv, &pins);
    assert!(
        can_import(&py),
        "{} still cannot import the clients",
        py.display()
    );
    py
}

#[test]
fn langchain_and_lm_evaluation_harness_work_against_deskmate() {
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let (_server, url, token) = serve_with(
        dir.path(),
        &[
            ("DESKMATE_MODELS_MAX_CONTEXT", "2048"),
            ("DESKMATE_MODELS_THREADS", "2"),
            ("DESKMATE_MODELS_REDACT_PERSONAL", "false"),
        ],
    );
    let fineval = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/qa/fineval");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ecosystem_clients.py");
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(&py)
        .arg(script)
        .current_dir(work.path())
        .env("DESKMATE_OPENAI_BASE_URL", format!("{url}/v1"))
        .env("DESKMATE_OPENAI_API_KEY", &token)
        .env("DESKMATE_OPENAI_CHAT_MODEL", CHAT)
        .env("DESKMATE_FINEVAL_DIR", fineval)
        .env("DESKMATE_LMEVAL_LIMIT", LIMIT)
        .env("HF_HOME", work.path().join("hf"))
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the ecosystem clients failed:\n{stdout}\n{}",
        &stderr[stderr.len().saturating_sub(6000)..]
    );
    assert!(stdout.contains("ok: "), "{stdout}");
    eprintln!("{}", stdout.trim());
}
