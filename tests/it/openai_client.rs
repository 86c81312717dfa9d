//! The OpenAI-compatible API as the ecosystem sees it: `tests/openai_client.py`, written with
//! the official `openai` Python package, against a real `deskmate serve` on 127.0.0.1 with the
//! fixture models (chat, streaming, JSON Schema and pydantic structured output, JSON mode,
//! embeddings, the models list, and errors).
//!
//! Python comes from `DESKMATE_PYTHON`, else the virtual environment at `DESKMATE_VENV`
//! (default `~/.cache/deskmate/venv`, outside the clone), which `./x test` prepares and which
//! this test creates itself (`python3 -m venv`, then the pin of `tests/openai-requirements.txt`
//! from PyPI) when it is missing. It skips, saying so, only when there is no `python3` at all.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const CHAT: &str = "smollm2-135m-instruct";
const EMBED: &str = "all-minilm-l6-v2";
const MAX_CONTEXT: &str = "512";

/// Kills the server when the test ends, however it ends.
pub(crate) struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The pin `./x test` installs too.
const PIN: &str = include_str!("../openai-requirements.txt");

fn can_import_openai(py: &Path) -> bool {
    let want = PIN.trim().trim_start_matches("openai==");
    Command::new(py)
        .args([
            "-c",
            &format!("import openai, pydantic, sys; sys.exit(openai.__version__ != {want:?})"),
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A Python with the pinned `openai` package: `DESKMATE_PYTHON` as given, else the virtual
/// environment `DESKMATE_VENV` (default `~/.cache/deskmate/venv`, outside the clone), created
/// with `python3 -m venv` and filled from PyPI when it lacks the pin. `None` only when there is
/// no `python3` at all.
fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DESKMATE_PYTHON") {
        let p = PathBuf::from(p);
        assert!(
            can_import_openai(&p),
            "DESKMATE_PYTHON={} cannot import `openai` ({}): install it there or unset the variable",
            p.display(),
            PIN.trim()
        );
        return Some(p);
    }
    let venv = std::env::var_os("DESKMATE_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/deskmate/venv")))
        .expect("neither DESKMATE_VENV nor HOME is set");
    let py = venv.join("bin/python");
    if can_import_openai(&py) {
        return Some(py);
    }
    let has_python3 = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python3 {
        return None;
    }
    install_into(&venv, &[PIN.trim()]);
    assert!(
        can_import_openai(&py),
        "{} still cannot import openai",
        py.display()
    );
    Some(py)
}

/// Creates the virtual environment `venv` when missing (`python3 -m venv`) and installs
/// `pins` into it from PyPI; a failure names what to install or check.
pub(crate) fn install_into(venv: &Path, pins: &[&str]) {
    let py = venv.join("bin/python");
    if !py.exists() {
        eprintln!("creating {} (python3 -m venv)", venv.display());
        let out = Command::new("python3")
            .args(["-m", "venv"])
            .arg(venv)
            .output()
            .expect("python3 is missing: install python3 and python3-venv (apt-get)");
        assert!(
            out.status.success(),
            "python3 -m venv {} failed (on Debian: apt-get install python3-venv):\n{}",
            venv.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    eprintln!("installing {pins:?} into {} from PyPI", venv.display());
    let out = Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(pins)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pip install {pins:?} into {} failed (is PyPI reachable?):\n{}",
        venv.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(crate) fn model_dir() -> String {
    std::env::var("DESKMATE_MODEL_CACHE").unwrap_or_else(|_| {
        format!(
            "{}/.cache/deskmate/models",
            std::env::var("HOME").unwrap_or_default()
        )
    })
}

/// Starts `deskmate serve` on a free port; returns it, its URL and the admin token it prints.
fn serve(dir: &Path) -> (Server, String, String) {
    serve_with(dir, &[])
}

/// [`serve`] with more settings (`DESKMATE_…` variables) for the server.
pub(crate) fn serve_with(dir: &Path, settings: &[(&str, &str)]) -> (Server, String, String) {
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
        .envs(settings.iter().copied())
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
    let Some(py) = python() else {
        eprintln!(
            "SKIPPED the_official_openai_python_client_works_against_deskmate: no python3 on this \
             machine (install python3 to run it; the test installs `openai` itself)"
        );
        return;
    };
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
