//! The README is a test: every command of its "Quick start" and "Using it" sections runs, in
//! the README's order, the way a newcomer types them into a fresh clone, and fails when a
//! command fails or prints a log line meant for developers (a tracing line of any level, a
//! panic).
//!
//! The set-up is the README's own: `./x up` is the release build, `deskmate models install
//! default e5` and `deskmate up` (this test checks that `x` still does exactly that), so the test
//! installs the models with the built binary and starts `deskmate up` in a fresh directory
//! beside the shared data, reads its banner, runs the lines it prints (the `PATH` and
//! `DESKMATE_TOKEN` line, `curl` calls, and the three demo questions once the background ingest
//! is done), then every command of "Using it" in a second "terminal" while `up` runs, stops
//! `up`, and runs the production block (`serve`, `restore`). `./x test` is the command that runs
//! this test, so it is not run again.
//!
//! Two modes, the same code paths:
//! - **fast** (default, CI): the small fixture models stand in for the full ones: the generator
//!   is SmolLM2-135M (`DESKMATE_MODELS_GENERATOR=smollm2`, so `generate` and `ask` run the same
//!   local generation path with a smaller model), and `models install default e5` installs
//!   `smollm2 e5` instead; the first-run demo ingests a subset of the same documents
//!   (`DESKMATE_DEMO_DATA`: 期货和衍生品法 and the first 1,100 lines of the ESMA guidelines,
//!   the part the demo's EMIR question and the README's `search` need), which keeps CI within
//!   its time.
//! - **full** (`DESKMATE_README_FULL=1`, with `DESKMATE_MODEL_CACHE` holding `default` and `e5`):
//!   exactly as written, all demo documents, the 1.5B generator.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The fenced `sh` blocks of one `## ` section of the README, each as its command lines.
fn sh_blocks(readme: &str, section: &str) -> Vec<Vec<String>> {
    let start = readme
        .find(&format!("\n## {section}"))
        .unwrap_or_else(|| panic!("README has no section `## {section}`"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    let body = &rest[..end];
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in body.lines() {
        if line.starts_with("```") {
            match current.take() {
                Some(b) => blocks.push(b),
                None if line.trim() == "```sh" => current = Some(Vec::new()),
                None => {}
            }
        } else if let Some(b) = current.as_mut() {
            let t = line.trim();
            if !t.is_empty() && !t.starts_with('#') {
                b.push(t.to_string());
            }
        }
    }
    blocks
}

/// A line of output a user should not see: a tracing log line (`2026-…Z  WARN …`) or a panic.
fn developer_noise(text: &str) -> Option<&str> {
    text.lines().find(|l| {
        let b = l.as_bytes();
        let log_line = b.len() > 30
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4] == b'-'
            && b[10] == b'T'
            && [" TRACE ", " DEBUG ", " INFO ", " WARN ", " ERROR "]
                .iter()
                .any(|lvl| l.contains(lvl));
        log_line || l.contains("panicked at") || l.contains("RUST_BACKTRACE")
    })
}

/// The fresh clone: the repository's files (linked) without build output, data or settings,
/// beside a `shared` that links the real shared data.
fn fresh_clone(root: &Path) -> PathBuf {
    let clone = root.join("deskmate");
    std::fs::create_dir(&clone).unwrap();
    for e in std::fs::read_dir(REPO).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        let skip = [
            "target",
            "data",
            "deskmate.toml",
            "eval-reports",
            ".git",
            "trade.json",
        ];
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        std::os::unix::fs::symlink(e.path(), clone.join(&name)).unwrap();
    }
    let shared = Path::new(REPO).join("../shared");
    assert!(
        shared.join("data").is_dir(),
        "the shared data must sit beside the clone ({}): the README's commands use it",
        shared.display()
    );
    std::os::unix::fs::symlink(shared.canonicalize().unwrap(), root.join("shared")).unwrap();
    clone
}

/// The fast mode's demo documents: the same layout as the shared data, fewer documents.
fn demo_subset(root: &Path) -> PathBuf {
    let shared = Path::new(REPO).join("../shared/data");
    let dir = root.join("demo-data");
    let law = "regulation-zh/经济法/期货和衍生品法(2022-04-20).md";
    std::fs::create_dir_all(dir.join(law).parent().unwrap()).unwrap();
    std::fs::copy(shared.join(law), dir.join(law)).unwrap();
    let esma = "regulation-en/esma-emir-refit-guidelines/esma74-362-2281_final_report_guidelines_emir_refit.md";
    let text = std::fs::read_to_string(shared.join(esma)).unwrap();
    let head: Vec<&str> = text.lines().take(1100).collect();
    std::fs::create_dir_all(dir.join(esma).parent().unwrap()).unwrap();
    std::fs::write(dir.join(esma), head.join("\n")).unwrap();
    dir
}

struct Shell {
    cwd: PathBuf,
    env: Vec<(String, String)>,
    timings: Vec<(f64, String)>,
}

impl Shell {
    fn command(&self, line: &str) -> Command {
        let mut c = Command::new("bash");
        c.arg("-c").arg(line).current_dir(&self.cwd);
        for (k, _) in std::env::vars() {
            if k.starts_with("DESKMATE_") || k == "RUST_LOG" {
                c.env_remove(k);
            }
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs one README line as a user would type it; fails the test with its output when it
    /// fails or prints developer noise.
    fn run(&mut self, line: &str) -> String {
        let t = Instant::now();
        let out = self.command(line).output().unwrap();
        let secs = t.elapsed().as_secs_f64();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{secs:7.1} s  {line}");
        assert!(
            out.status.success(),
            "README command failed ({}):\n  {line}\n{text}",
            out.status
        );
        if let Some(noise) = developer_noise(&text) {
            panic!(
                "README command printed a line meant for developers:\n  {line}\n  {noise}\n{text}"
            );
        }
        self.timings.push((secs, line.to_string()));
        text
    }
}

/// Lines of a child's standard output, through a channel (so waits can time out).
fn lines_of(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads lines until one contains `marker`; returns everything read.
fn read_until(rx: &Receiver<String>, marker: &str, timeout: Duration, what: &str) -> String {
    let t = Instant::now();
    let mut text = String::new();
    loop {
        let left = timeout.saturating_sub(t.elapsed());
        match rx.recv_timeout(left) {
            Ok(l) => {
                text.push_str(&l);
                text.push('\n');
                if l.contains(marker) {
                    return text;
                }
            }
            Err(e) => panic!("{what}: no `{marker}` within {timeout:?} ({e}); printed:\n{text}"),
        }
    }
}

fn stop(child: &mut Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the server did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ready(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = write!(
        s,
        "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200")
}

#[test]
fn the_readme_quick_start_and_using_it_work_as_written() {
    let full = std::env::var("DESKMATE_README_FULL").is_ok_and(|v| v == "1");
    let readme = std::fs::read_to_string(Path::new(REPO).join("README.md")).unwrap();
    let quick = sh_blocks(&readme, "Quick start");
    let using = sh_blocks(&readme, "Using it");
    assert_eq!(quick.len(), 1, "one sh block in Quick start");
    assert_eq!(
        using.len(),
        2,
        "Using it: the commands, then the production block"
    );
    let first_words: Vec<&str> = quick[0]
        .iter()
        .map(|l| l.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(first_words, ["./x up", "./x test"]);
    // `./x up` = the release build, the default models, then `deskmate up`: keep it so.
    let x = std::fs::read_to_string(Path::new(REPO).join("x")).unwrap();
    let up_fn = &x[x.find("cmd_up() {").expect("x has cmd_up")..];
    let up_fn = &up_fn[..up_fn.find("\n}").unwrap()];
    assert!(up_fn.contains("models install default e5"), "{up_fn}");
    assert!(up_fn.contains("\"$bin\" up"), "{up_fn}");

    let root = tempfile::tempdir().unwrap();
    let clone = fresh_clone(root.path());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let bin = Path::new(env!("CARGO_BIN_EXE_deskmate"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), path),
        ("DESKMATE_SERVER_BIND".into(), format!("127.0.0.1:{port}")),
    ];
    for k in ["DESKMATE_MODEL_CACHE", "DESKMATE_PYTHON"] {
        if let Ok(v) = std::env::var(k) {
            env.push((k.into(), v));
        }
    }
    if !full {
        env.push(("DESKMATE_MODELS_GENERATOR".into(), "smollm2".into()));
        env.push((
            "DESKMATE_DEMO_DATA".into(),
            demo_subset(root.path()).display().to_string(),
        ));
    }
    let mut sh = Shell {
        cwd: clone.clone(),
        env,
        timings: Vec::new(),
    };

    // ./x up: the models, then `deskmate up` in the clone.
    sh.run(if full {
        "deskmate models install default e5"
    } else {
        "deskmate models install smollm2 e5"
    });
    let t = Instant::now();
    let mut up = sh
        .command("exec deskmate up")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up_err = up.stderr.take().unwrap();
    let err_text = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = up_err.read_to_string(&mut s);
        s
    });
    let rx = lines_of(&mut up);
    let banner = read_until(
        &rx,
        "Every command and page",
        Duration::from_secs(120),
        "deskmate up",
    );
    eprintln!("{:7.1} s  deskmate up (banner)", t.elapsed().as_secs_f64());
    if let Some(noise) = developer_noise(&banner) {
        panic!("`deskmate up` printed a line meant for developers: {noise}\n{banner}");
    }
    let export = banner
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("export PATH="))
        .unwrap_or_else(|| panic!("no `export PATH=… DESKMATE_TOKEN=…` line:\n{banner}"));
    let token = export
        .split("DESKMATE_TOKEN=")
        .nth(1)
        .expect("the export line sets DESKMATE_TOKEN")
        .trim()
        .to_string();
    let exported_dir = export
        .trim_start_matches("export PATH=\"")
        .split(':')
        .next()
        .unwrap();
    assert!(
        Path::new(exported_dir).join("deskmate").is_file(),
        "the PATH line names {exported_dir}, which holds no deskmate"
    );
    sh.env.push(("DESKMATE_TOKEN".into(), token));
    // The banner's other lines to try (curl, deskmate).
    let try_lines: Vec<String> = banner
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("export PATH="))
        .skip(1)
        .take_while(|l| l.starts_with("deskmate ") || l.starts_with("curl "))
        .map(str::to_string)
        .collect();
    assert!(try_lines.len() >= 3, "{banner}");
    for l in &try_lines {
        sh.run(l);
    }
    // The first run's demo documents, then the three questions it prints.
    let done = read_until(
        &rx,
        "Ask them",
        Duration::from_secs(if full { 1800 } else { 900 }),
        "the demo ingest",
    );
    eprintln!(
        "{:7.1} s  deskmate up (demo ingested)",
        t.elapsed().as_secs_f64()
    );
    assert!(
        done.contains("prc-laws") && done.contains("emir-guidelines"),
        "{done}"
    );
    let mut questions = Vec::new();
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(5)) {
        if l.trim().is_empty() {
            break;
        }
        questions.push(l.trim().to_string());
    }
    assert_eq!(questions.len(), 3, "{questions:?}");
    for q in &questions {
        let out = sh.run(q);
        assert!(!out.trim().is_empty(), "{q}: no output");
    }

    // "Using it", in order, while `up` runs.
    for line in &using[0] {
        sh.run(line);
    }
    assert!(clone.join("eval-reports/audit/report.html").is_file());

    // Production: stop `up`, then `serve` and `restore`.
    stop(&mut up);
    let up_log = err_text.join().unwrap();
    if let Some(noise) = developer_noise(&up_log) {
        panic!("`deskmate up` printed a line meant for developers: {noise}");
    }
    for line in &using[1] {
        if line.starts_with("deskmate serve") {
            let mut serve = sh
                .command(&format!("exec {line}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let t = Instant::now();
            while !ready(port) {
                assert!(
                    serve.try_wait().unwrap().is_none(),
                    "`deskmate serve` exited"
                );
                assert!(
                    t.elapsed() < Duration::from_secs(120),
                    "`deskmate serve` not ready"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
            stop(&mut serve);
            eprintln!(
                "{:7.1} s  {line} (ready, stopped)",
                t.elapsed().as_secs_f64()
            );
        } else {
            sh.run(line);
        }
    }
    let total: f64 = sh.timings.iter().map(|(s, _)| s).sum();
    eprintln!(
        "README: {} commands in {total:.0} s ({} mode)",
        sh.timings.len(),
        if full { "full" } else { "fast" }
    );
}

#[test]
fn developer_noise_is_recognised() {
    assert!(
        developer_noise("2026-12-06T16:52:15.244206Z  INFO assistant::store: applied").is_some()
    );
    assert!(
        developer_noise("2026-12-06T16:52:15.244206Z  WARN qdrant_edge: Feature flags").is_some()
    );
    assert!(developer_noise("thread 'main' panicked at src/x.rs:1:1").is_some());
    assert!(developer_noise("Trade Date: 2026-02-27 INFO").is_none());
    assert!(developer_noise("audit log intact: 122 entries").is_none());
}
