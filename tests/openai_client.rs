//! The OpenAI-compatible API as the ecosystem sees it: `tests/openai_client.py`, written with
//! the official `openai` Python package, against a real `deskmate serve` on 127.0.0.1 with the
//! fixture models (chat, streaming, JSON Schema and pydantic structured output, JSON mode,
//! embeddings, the models list, and errors).
//!
//! Python comes from `DESKMATE_PYTHON`, else the virtual environment `./x test` creates at
//! `~/.cache/deskmate/venv` (with `openai` from PyPI). Without one, this test fails and says
//! how to get one: it never skips on its own. `DESKMATE_SKIP_OPENAI_CLIENT=1` skips it on
//! purpose (and says so).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const CHAT: &str = "smollm2-135m-instruct";
const EMBED: &str = "all-minilm-l6-v2";
const MAX_CONTEXT: &str = "512";

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python() -> PathBuf {
    let p = std::env::var_os("DESKMATE_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/deskmate/venv/bin/python"))
        })
        .expect("neither DESKMATE_PYTHON nor HOME is set");
    let ok = Command::new(&p)
        .args(["-c", "import openai, pydantic"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{} cannot import `openai`: run `./x test` (it creates ~/.cache/deskmate/venv and installs \
         the pinned `openai` package from PyPI), or set DESKMATE_PYTHON to a Python that has it; \
         DESKMATE_SKIP_OPENAI_CLIENT=1 skips this test on purpose",
        p.display()
    );
    p
}

fn model_dir() -> String {
    std::env::var("DESKMATE_MODEL_CACHE").unwrap_or_else(|_| {
        format!(
            "{}/.cache/deskmate/models",
            std::env::var("HOME").unwrap_or_default()
        )
    })
}

/// Starts `deskmate serve` on a free port; returns it, its URL and the admin token it prints.
fn serve(dir: &Path) -> (Server, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_deskmate"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DESKMATE_") {
            c.env_remove(k);
        }
    }
    let child = c
        .arg("serve")
        .current_dir(dir)
        .env("DESKMATE_STORAGE_DATA_DIR", dir.join("data"))
        .env("DESKMATE_SERVER_BIND", "127.0.0.1:0")
        .env("DESKMATE_MODELS_DIR", model_dir())
        .env("DESKMATE_MODELS_GENERATOR", CHAT)
        .env("DESKMATE_MODELS_EMBEDDER", EMBED)
        .env("DESKMATE_MODELS_THREADS", "1")
        .env("DESKMATE_MODELS_MAX_CONTEXT", MAX_CONTEXT)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let mut lines = BufReader::new(server.0.stderr.take().unwrap()).lines();
    let (mut url, mut token) = (None, None);
    let mut seen = String::new();
    while url.is_none() || token.is_none() {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("the server exited before listening:\n{seen}"))
            .unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if let Some(rest) = line.split("Deskmate listening on ").nth(1) {
            url = Some(rest.trim().to_string());
        } else if line.trim_start().starts_with("dm_") {
            token = Some(line.trim().to_string());
        }
    }
    // Keep draining stderr so the server never blocks on a full pipe; show it on failure.
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            eprintln!("[server] {l}");
        }
    });
    (server, url.unwrap(), token.unwrap())
}

#[test]
fn the_official_openai_python_client_works_against_deskmate() {
    if std::env::var("DESKMATE_SKIP_OPENAI_CLIENT").is_ok_and(|v| v == "1") {
        eprintln!("skipped on purpose: DESKMATE_SKIP_OPENAI_CLIENT=1");
        return;
    }
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let (_server, url, token) = serve(dir.path());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/openai_client.py");
    let out = Command::new(&py)
        .arg(script)
        .env("DESKMATE_OPENAI_BASE_URL", format!("{url}/v1"))
        .env("DESKMATE_OPENAI_API_KEY", &token)
        .env("DESKMATE_OPENAI_CHAT_MODEL", CHAT)
        .env("DESKMATE_OPENAI_EMBED_MODEL", EMBED)
        .env("DESKMATE_OPENAI_MAX_CONTEXT", MAX_CONTEXT)
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the openai client test failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("ok: "), "{stdout}");
    eprintln!("{}", stdout.trim());
}
