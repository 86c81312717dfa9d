//! The `deskmate` binary as a user runs it: configuration errors before anything starts,
//! users and tokens, the audit log's verify and export, backup and restore, and eval reports.

use std::path::Path;
use std::process::{Command, Output};

/// The `deskmate` binary without the caller's `DESKMATE_*` settings (but the model cache), in
/// an English locale.
fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_deskmate"));
    for (k, _) in std::env::vars() {
        if (k.starts_with("DESKMATE_") && k != "DESKMATE_MODEL_CACHE")
            || ["LC_ALL", "LC_MESSAGES", "LANGUAGE"].contains(&k.as_str())
        {
            c.env_remove(k);
        }
    }
    // The English texts these tests read (a Chinese locale gets Chinese, see `src/cmd/ui.rs`).
    c.env("LANG", "C.UTF-8");
    c
}

fn deskmate(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = bin();
    c.args(args).current_dir(dir);
    c.env("DESKMATE_STORAGE_DATA_DIR", dir.join("data"));
    // These servers never generate: do not load the default model (gigabytes) at start.
    c.env("DESKMATE_MODELS_PRELOAD", "false");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn invalid_configuration_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let o = deskmate(
        dir.path(),
        &["serve"],
        &[("DESKMATE_SERVER_BIND", "nowhere")],
    );
    // 3: a configuration error (2 is a usage error, clap's own).
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("server.bind"), "{}", text(&o));
    assert!(
        !dir.path().join("data").exists(),
        "the data dir was created despite the error"
    );
    std::fs::write(
        dir.path().join("deskmate.toml"),
        "[models]\nbackend = \"gpu\"\n",
    )
    .unwrap();
    let o = deskmate(dir.path(), &["config", "show"], &[]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        text(&o).contains("allowed values: local, remote"),
        "{}",
        text(&o)
    );
}

#[test]
fn config_show_masks_secrets_and_names_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let o = deskmate(
        dir.path(),
        &["config", "show"],
        &[
            ("DESKMATE_MODELS_REMOTE_API_KEY", "sk-very-secret"),
            ("DESKMATE_SERVER_CONCURRENCY_LIMIT", "9"),
        ],
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("concurrency_limit = 9")
            && t.contains("overridden by DESKMATE_SERVER_CONCURRENCY_LIMIT"),
        "{t}"
    );
    assert!(
        t.contains("remote_api_key = \"****\"") && !t.contains("sk-very-secret"),
        "{t}"
    );
}

#[test]
fn users_tokens_audit_backup_restore_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = deskmate(
        d,
        &["users", "add", "tina", "--role", "trader", "--token"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("token (shown once"));
    let o = deskmate(d, &["users", "add", "x", "--role", "king"], &[]);
    assert!(
        !o.status.success() && text(&o).contains("model_risk"),
        "{}",
        text(&o)
    );
    let o = deskmate(d, &["tokens", "issue", "tina", "--ttl-days", "1"], &[]);
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).starts_with("dm_"),
        "{}",
        text(&o)
    );

    let o = deskmate(d, &["audit", "verify"], &[]);
    assert!(
        o.status.success() && text(&o).contains("intact: 3 entries"),
        "{}",
        text(&o)
    );
    let o = deskmate(
        d,
        &["audit", "export", "--from", "2000-01-01T00:00:00Z"],
        &[],
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["action"], "user.create");
    let o = deskmate(d, &["audit", "export", "--from", "last tuesday"], &[]);
    assert!(!o.status.success() && text(&o).contains("RFC 3339"));

    let o = deskmate(d, &["backup", "bk"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = deskmate(d, &["restore", "bk", "--check"], &[]);
    assert!(
        o.status.success() && text(&o).contains("intact"),
        "{}",
        text(&o)
    );

    // Tamper with the live database: verify fails naming the entry; restore brings it back.
    let c = rusqlite::Connection::open(d.join("data/deskmate.db")).unwrap();
    c.execute_batch(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 2;",
    )
    .unwrap();
    drop(c);
    // 5: an integrity failure, from `audit verify` and from a server refusing to start on it.
    let o = deskmate(d, &["audit", "verify"], &[]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(text(&o).contains("BROKEN at entry 2"), "{}", text(&o));
    let o = deskmate(d, &["audit", "verify", "--json"], &[]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    let o = deskmate(d, &["serve"], &[("DESKMATE_SERVER_BIND", "127.0.0.1:0")]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(text(&o).contains("broken at entry 2"), "{}", text(&o));
    let o = deskmate(d, &["restore", "bk"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = deskmate(d, &["audit", "verify"], &[]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn eval_writes_json_and_html_reports() {
    let dir = tempfile::tempdir().unwrap();
    let o = deskmate(dir.path(), &["eval", "--list"], &[]);
    assert!(text(&o).contains("audit"));
    let o = deskmate(dir.path(), &["eval", "audit", "--out", "rep"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("detection_rate"));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("rep/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["passed"], true);
    assert!(dir.path().join("rep/report.html").exists());
    // An unknown suite is a usage error that lists the suites.
    let o = deskmate(dir.path(), &["eval", "nonsense"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("possible values: audit"), "{}", text(&o));
}

/// Starts `deskmate serve` on a free port and returns the child and its base URL.
fn start_server(dir: &Path) -> (std::process::Child, String) {
    start_server_with(dir, &[])
}

/// [`start_server`] with extra environment.
fn start_server_with(dir: &Path, env: &[(&str, &str)]) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let mut c = bin();
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c
        .arg("serve")
        .current_dir(dir)
        .env("DESKMATE_STORAGE_DATA_DIR", dir.join("data"))
        .env("DESKMATE_SERVER_BIND", "127.0.0.1:0")
        .env("DESKMATE_MODELS_PRELOAD", "false")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        if let Some(rest) = line.split("Deskmate listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

fn http_get(url: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn the_server_stops_cleanly_on_sigterm_and_keeps_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = start_server(dir.path());
    assert!(http_get(&url, "/healthz").contains("\"status\":\"ok\""));
    // A second server on the same data dir is refused while the first runs.
    let o = deskmate(
        dir.path(),
        &["serve"],
        &[("DESKMATE_SERVER_BIND", "127.0.0.1:0")],
    );
    assert!(
        !o.status.success() && text(&o).contains("in use"),
        "{}",
        text(&o)
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let t0 = std::time::Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed().as_secs() < 20,
            "server did not stop on SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(code.success(), "exit status {code:?}");
    // The bootstrap admin created by the first run is still there after a restart.
    let (mut child, url) = start_server(dir.path());
    assert!(http_get(&url, "/readyz").contains("ready"));
    child.kill().unwrap();
    child.wait().unwrap();
    let o = deskmate(dir.path(), &["users", "list", "--json"], &[]);
    assert!(text(&o).contains("\"admin\""), "{}", text(&o));
}

#[test]
fn rfq_quote_runs_the_desk_loop_without_a_chat_and_chats_are_mapped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("markets.json"),
        r#"{"markets": {"000300.SH": {"valuation_date": "2026-01-05", "spot": 100.0, "rate": 0.02, "dividend": 0.01, "vol": 0.22}}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("deskmate.toml"),
        "[rfq]\nmarket_data = \"markets.json\"\n\
         [limits.clients.C001]\nstructures = [\"vanilla\"]\nmax_notional = 1e8\nmax_tenor_months = 24\n",
    )
    .unwrap();
    let o = deskmate(
        dir.path(),
        &[
            "rfq",
            "quote",
            "沪深300 12个月 平值看涨 名义本金1000万 期权费多少",
            "--client",
            "C001",
            "--json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], "quoted", "{v}");
    assert_eq!(v["quotes"][0]["status"], "pending");
    let approval = v["quotes"][0]["approval_id"].as_str().unwrap();
    let payload = &v["quote_details"][0]["approval"]["payload"];
    assert_eq!(payload["quote"]["kind"], "premium");
    assert!(
        payload["quote"]["client"].as_f64().unwrap() > payload["quote"]["fair"].as_f64().unwrap()
    );
    // The quote is in the queue for traders.
    let o = deskmate(dir.path(), &["approvals", "list", "--kind", "quote"], &[]);
    assert!(text(&o).contains(approval), "{}", text(&o));
    // A client the limits do not know is refused in plain words.
    let o = deskmate(
        dir.path(),
        &[
            "rfq",
            "quote",
            "沪深300 12个月 平值看涨 名义本金1000万 期权费多少",
            "--client",
            "C404",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("rejected: no permissions are configured for client C404"),
        "{}",
        text(&o)
    );
    // Chats are mapped to clients by the operator.
    let o = deskmate(
        dir.path(),
        &[
            "rfq",
            "chats",
            "add",
            "--channel",
            "telegram",
            "--chat",
            "-1001234",
            "--client",
            "C001",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = deskmate(dir.path(), &["rfq", "chats", "list", "--json"], &[]);
    assert!(
        text(&o).contains("-1001234") && text(&o).contains("\"client_configured\": true"),
        "{}",
        text(&o)
    );
}

#[test]
fn extract_prints_key_terms_writes_cdm_and_flags_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let letter = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/confirmations/irs-letter/interest-rate-swap-sample.md"
    );
    let broken = dir.path().join("broken.pdf");
    std::fs::write(&broken, b"%PDF-1.4 cut").unwrap();
    // Default output: one compact key-terms line per file, in order ({} for an unreadable one).
    let o = deskmate(
        dir.path(),
        &["extract", letter, broken.to_str().unwrap()],
        &[],
    );
    assert!(!o.status.success(), "an unreadable file fails the run");
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0]["trade_date"], "2005-06-23");
    assert_eq!(lines[0]["notional"]["amount"], 300000000);
    assert_eq!(lines[1], serde_json::json!({}));
    assert!(text(&o).contains("unreadable"), "{}", text(&o));
    // --json: full results with evidence; --cdm: the TradeState written.
    let cdm = dir.path().join("irs.cdm.json");
    let o = deskmate(
        dir.path(),
        &["extract", letter, "--json", "--cdm", cdm.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let full: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(full[0]["status"], "extracted");
    let fields = full[0]["fields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .all(|f| !f["evidence"].as_array().unwrap().is_empty())
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&cdm).unwrap()).unwrap();
    assert_eq!(doc["trade"]["tradeDate"]["value"], "2005-06-23");
}

#[test]
fn extract_writes_an_incomplete_fpml_trade_state_with_what_it_lacks_and_exits_partial() {
    let dir = tempfile::tempdir().unwrap();
    // The FpML gives no followUpConfirmation, which CDM 6.30 requires of an exercise procedure.
    let fpml = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/cdm/fpml-cdm/fpml-5-13-products-equity-options/eqd-ex12-vanilla-short-form.fpml.xml"
    );
    let cdm = dir.path().join("eqd.cdm.json");
    let missing = dir.path().join("eqd.missing.json");
    let o = deskmate(
        dir.path(),
        &["extract", fpml, "--cdm", cdm.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    assert!(text(&o).contains("written incomplete"), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&cdm).unwrap()).unwrap();
    assert_eq!(doc["trade"]["tradeDate"]["value"], "2001-07-13");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&missing).unwrap()).unwrap();
    assert_eq!(m["schema"], "deskmate.cdm-missing/1");
    assert_eq!(m["complete"], false);
    assert_eq!(m["missing_required"][0]["property"], "followUpConfirmation");
    assert_eq!(m["missing_required"][0]["in_source"], "no");
    // A whole document together with an incomplete one: still partial (and the whole one's
    // stale list from an earlier run is removed); with an unreadable file: partial too; the
    // unreadable file alone: 1.
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("interest-rate-swap-sample.missing.json"), "stale").unwrap();
    let letter = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/confirmations/irs-letter/interest-rate-swap-sample.md"
    );
    let o = deskmate(
        dir.path(),
        &["extract", letter, fpml, "--cdm", out.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    assert!(out.join("interest-rate-swap-sample.cdm.json").is_file());
    assert!(!out.join("interest-rate-swap-sample.missing.json").exists());
    assert!(
        out.join("eqd-ex12-vanilla-short-form.fpml.missing.json")
            .is_file()
    );
    let broken = dir.path().join("broken.pdf");
    std::fs::write(&broken, b"%PDF-1.4 cut").unwrap();
    let o = deskmate(
        dir.path(),
        &[
            "extract",
            fpml,
            broken.to_str().unwrap(),
            "--cdm",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(6), "{}", text(&o));
    assert!(text(&o).contains("1 of 2 files failed"), "{}", text(&o));
    let o = deskmate(dir.path(), &["extract", broken.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

/// The knowledge-base settings of these tests: the fixture models (installed by `./x setup`).
const KB_ENV: &[(&str, &str)] = &[
    ("DESKMATE_KNOWLEDGE_EMBEDDER", "all-minilm-l6-v2"),
    ("DESKMATE_KNOWLEDGE_GENERATOR", "smollm2-135m-instruct"),
];

#[test]
fn ingest_search_and_chunk_directly_and_through_the_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("docs/sub")).unwrap();
    std::fs::write(
        d.join("docs/emir.md"),
        "# REGULATION ON OTC DERIVATIVES\n\n## Article 9\n\n1. Counterparties shall report every derivative contract to a trade repository.\n\n2. Counterparties shall keep a record of any derivative contract for at least five years.\n",
    )
    .unwrap();
    std::fs::write(
        d.join("docs/sub/margin.txt"),
        "Initial margin for uncleared swaps is exchanged within one business day of the trade date. Variation margin is exchanged daily.",
    )
    .unwrap();
    std::fs::write(d.join("broken.pdf"), b"%PDF-1.7\n1 0 obj << /Type /Cat").unwrap();

    // Preview without indexing.
    let o = deskmate(d, &["chunk", "docs/emir.md", "--json"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let preview: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(preview["schema"], "deskmate.chunk.v1");
    assert!(!preview["chunks"].as_array().unwrap().is_empty());

    // Directly on the data dir: a folder, recursively.
    let o = deskmate(
        d,
        &["ingest", "docs", "--collection", "regulation-en", "--json"],
        KB_ENV,
    );
    assert!(o.status.success(), "{}", text(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{}", text(&o));
    assert!(lines.iter().all(|l| l["ok"] == true), "{}", text(&o));
    let o = deskmate(d, &["search", "Article 9(2)", "--k", "2", "--json"], KB_ENV);
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["schema"], "deskmate.search.v1");
    assert_eq!(r["hits"][0]["exact"], true, "{r}");
    assert!(
        r["hits"][0]["text"]
            .as_str()
            .unwrap()
            .contains("five years")
    );

    // A user who may write documents, with a token.
    let o = deskmate(
        d,
        &["users", "add", "lena", "--role", "legal", "--token"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let token = text(&o)
        .split("store it now): ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("a token")
        .to_string();

    // The server holds the knowledge base: ingest goes through it with a token.
    let (mut child, url) = start_server_with(d, KB_ENV);
    std::fs::write(
        d.join("late.md"),
        "# Collateral rules\n\n## Section 5\n\nEligible collateral is cash in CNY, USD or EUR and government bonds rated AA- or better.\n",
    )
    .unwrap();
    let o = deskmate(d, &["ingest", "late.md", "--collection", "rules"], KB_ENV);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("in use by server") && text(&o).contains("--token"),
        "{}",
        text(&o)
    );
    let o = deskmate(
        d,
        &[
            "ingest",
            "late.md",
            "broken.pdf",
            "--collection",
            "rules",
            "--token",
            &token,
            "--server",
            &url,
            "--json",
        ],
        KB_ENV,
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(o.status.code(), Some(6), "one file failed: {}", text(&o));
    assert!(text(&o).contains("ingesting through"), "{}", text(&o));
    assert!(text(&o).contains("1 of 2 files failed"), "{}", text(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let late = lines.iter().find(|l| l["file"] == "late.md").unwrap();
    assert_eq!(late["ok"], true, "{late}");
    let broken = lines.iter().find(|l| l["file"] == "broken.pdf").unwrap();
    assert_eq!(broken["ok"], false, "{broken}");
    assert!(
        broken["error"].as_str().unwrap().contains("broken.pdf"),
        "{broken}"
    );

    // After the server stopped, the document it ingested is searchable directly.
    let o = deskmate(
        d,
        &[
            "search",
            "eligible collateral",
            "--collection",
            "rules",
            "--json",
        ],
        KB_ENV,
    );
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        r["hits"][0]["text"]
            .as_str()
            .unwrap()
            .contains("government bonds"),
        "{r}"
    );
    let o = deskmate(d, &["audit", "verify"], &[]);
    assert!(o.status.success(), "{}", text(&o));
}

/// `deskmate up` in an empty directory: it writes the demo configuration, prints the address,
/// the admin's password and the demo users' password, and each printed credential signs in to
/// the web application (a trader and an ops user land on their pages).
#[test]
fn up_prints_the_address_and_credentials_that_sign_in() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut c = bin();
    let mut child = c
        .arg("up")
        .current_dir(dir.path())
        .env("DESKMATE_STORAGE_DATA_DIR", dir.path().join("data"))
        .env("DESKMATE_SERVER_BIND", "127.0.0.1:0")
        .env("DESKMATE_MODELS_PRELOAD", "false")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut url, mut admin, mut demo) = (None, None, None);
    let mut printed = String::new();
    while demo.is_none() {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("up exited early:\n{printed}"))
            .unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(rest) = line.split("web app:").nth(1) {
            let mut words = rest.split_whitespace();
            url = words.next().map(|u| u.trim_end_matches('/').to_string());
            admin = rest.split("admin / ").nth(1).map(|p| p.trim().to_string());
        }
        if let Some(rest) = line.split("demo users:   password ").nth(1) {
            demo = rest.split_whitespace().next().map(str::to_string);
        }
    }
    // The rest of the banner: every role is listed with its users.
    for _ in 0..8 {
        if let Some(Ok(l)) = lines.next() {
            printed.push_str(&l);
            printed.push('\n');
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let url = url.expect("the web app's address");
    for role in [
        "trader",
        "ops",
        "legal",
        "compliance",
        "risk",
        "model_risk",
        "client",
    ] {
        assert!(printed.contains(role), "{role} missing from:\n{printed}");
    }
    assert!(dir.path().join("deskmate.toml").is_file());
    let sign_in = |name: &str, password: &str| {
        let body = format!("name={name}&password={password}&next=%2F");
        let addr = url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "POST /sign-in HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    for (name, password) in [
        ("admin", admin.clone().expect("the admin's password")),
        ("tina", demo.clone().unwrap()),
        ("olga", demo.clone().unwrap()),
        ("tom", demo.clone().unwrap()),
    ] {
        let r = sign_in(name, &password);
        assert!(
            r.starts_with("HTTP/1.1 303") && r.to_ascii_lowercase().contains("set-cookie:"),
            "{name}: {r}"
        );
    }
    assert!(!sign_in("tina", "wrong password").starts_with("HTTP/1.1 303"));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn draft_writes_a_confirmation_from_an_extraction_or_fpml_and_refuses_gaps_by_name() {
    let dir = tempfile::tempdir().unwrap();
    // A Chinese confirmation of the generated set, extracted, then drafted again in Chinese.
    let doc = include_str!("../../evals/data/extraction/zh/documents.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|d| d["id"] == "zh-vanilla-50etf-call")
        .unwrap();
    let original = dir.path().join("original.txt");
    std::fs::write(&original, doc["text"].as_str().unwrap()).unwrap();
    let o = deskmate(dir.path(), &["extract", original.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let trade = dir.path().join("trade.json");
    std::fs::write(&trade, &o.stdout).unwrap();
    let o = deskmate(
        dir.path(),
        &[
            "draft",
            "--trade",
            trade.to_str().unwrap(),
            "--language",
            "zh",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let zh = String::from_utf8_lossy(&o.stdout);
    assert!(zh.contains("交易日：2026年3月5日"), "{zh}");
    assert!(
        zh.contains("名义本金：人民币10,000,000.00元（大写：人民币壹仟万元整）"),
        "{zh}"
    );
    assert!(!zh.starts_with('\n') && !zh.contains("\n\n\n"), "{zh}");
    // Rendered as PDF and DOCX (a preview of the final documents): the PDF reads back as the
    // draft, with its signature pages.
    let out = dir.path().join("final");
    let o = deskmate(
        dir.path(),
        &[
            "draft",
            "--trade",
            trade.to_str().unwrap(),
            "--language",
            "zh",
            "--render",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let pdf = std::fs::read(out.join("equity-option.zh.pdf")).unwrap();
    let docx = std::fs::read(out.join("equity-option.zh.docx")).unwrap();
    assert!(pdf.starts_with(b"%PDF") && docx.starts_with(b"PK"));
    let o = deskmate(
        dir.path(),
        &[
            "extract",
            out.join("equity-option.zh.pdf").to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let read: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        read["notional"]["amount"].as_f64(),
        Some(10_000_000.0),
        "{read:#}"
    );
    assert_eq!(read["party_b"], "明远一号私募证券投资基金", "{read:#}");
    // FpML in: the message gives the strike without its currency, and the draft says so.
    let fpml = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/cdm/fpml-cdm/fpml-5-13-incomplete-products-equity-options/eqd-ex01-american-call-stock-long-form.fpml.xml"
    );
    let o = deskmate(dir.path(), &["draft", "--trade", fpml], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Strike Price: 32.00\n"),
        "{}",
        text(&o)
    );
    // The CDM project's TradeState of the same message, in: its strike carries the currency.
    let cdm = fpml.replace(".fpml.xml", ".cdm6-legacy.json");
    let o = deskmate(
        dir.path(),
        &["draft", "--trade", &cdm, "--language", "zh"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let zh = String::from_utf8_lossy(&o.stdout);
    assert!(zh.contains("行权价格：欧元32.00"), "{zh}");
    assert!(
        zh.contains("STMicroelectronics N.V. ordinary shares（STM-FP）"),
        "{zh}"
    );
    // A credit default swap (the CDM project's CDX index trade) in FpML: the credit template,
    // the upfront paid by the protection seller.
    let cdx = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/cdm/fpml-cdm/fpml-5-13-products-credit-derivatives/cdindex-ex01-cdx.fpml.xml"
    );
    let o = deskmate(
        dir.path(),
        &["draft", "--trade", cdx, "--language", "zh"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let zh = String::from_utf8_lossy(&o.stdout);
    for line in [
        "信用违约互换交易确认书",
        "约定到期日：2009年3月20日",
        "信用保护买方：乙方",
        "参考实体：Dow Jones CDX NA IG.2",
        "名义本金：美元25,000,000.00（大写：美元贰仟伍佰万元整）",
        "信用保护费率：0.6%（年化）",
        "前端费用支付方：甲方",
    ] {
        assert!(zh.contains(line), "{line} in\n{zh}");
    }
    // A bespoke feature: the command line runs no model and leaves the passage for legal.
    let o = deskmate(
        dir.path(),
        &[
            "draft",
            "--trade",
            fpml,
            "--set",
            "other.bespoke_feature=Knock-out observed monthly only",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let en = String::from_utf8_lossy(&o.stdout);
    assert!(
        en.contains("6 Additional Terms") && en.contains("[Legal to write:"),
        "{en}"
    );
    assert!(!en.contains("{{free:"), "{en}");
    let o = deskmate(
        dir.path(),
        &[
            "draft",
            "--trade",
            fpml,
            "--set",
            "strike.currency=EUR",
            "--output",
            "json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["template"], "equity-option.en");
    let o = deskmate(
        dir.path(),
        &["draft", "--trade", fpml, "--set", "strike.currency=EURO"],
        &[],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("ISO 4217"), "{}", text(&o));
    // A template naming an unknown field is refused at the check, by clause and placeholder.
    let bad = dir.path().join("bad.md");
    std::fs::write(
        &bad,
        include_str!("../../drafting/library/equity-option.en.md")
            .replace("{{trade_date|date}}", "{{trade_day|date}}"),
    )
    .unwrap();
    let o = deskmate(
        dir.path(),
        &["draft", "--check-template", bad.to_str().unwrap()],
        &[],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("clause `general-terms`: placeholder `{{trade_day|date}}`"),
        "{}",
        text(&o)
    );
}

#[test]
fn proofread_checks_a_pdf_against_its_trade_and_its_template() {
    let dir = tempfile::tempdir().unwrap();
    let trade = dir.path().join("trade.json");
    std::fs::write(
        &trade,
        serde_json::json!({
            "product_type": "equity_option", "trade_date": "2026-03-05",
            "party_a": "Eastbank Securities Co., Ltd.", "party_b": "Harbour Fund Ltd",
            "buyer": "party_b", "seller": "party_a",
            "underlier": {"name": "S&P 500 Index", "id": ".SPX"},
            "option_type": "call", "exercise_style": "european",
            "strike": {"value": 5000, "unit": "price", "currency": "USD"},
            "number_of_options": 1000, "expiration_date": "2026-09-04",
            "premium": {"amount": 2500000, "currency": "USD", "payment_date": "2026-03-09"},
            "settlement": "cash"
        })
        .to_string(),
    )
    .unwrap();
    let o = deskmate(
        dir.path(),
        &["draft", "--trade", trade.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let clean = String::from_utf8_lossy(&o.stdout).to_string();
    // The counterparty's copy came back as a PDF with the expiry moved and a reference broken.
    let changed = clean
        .replace("4 September 2026", "11 September 2026")
        .replace("Section 5", "Section 8");
    let pdf = dir.path().join("returned.pdf");
    std::fs::write(&pdf, extraction::synth::text_pdf(&changed)).unwrap();
    let o = deskmate(
        dir.path(),
        &[
            "proofread",
            pdf.to_str().unwrap(),
            "--trade",
            trade.to_str().unwrap(),
            "--output",
            "json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = r["findings"].as_array().unwrap();
    let has = |kind: &str, clause: &str| {
        findings
            .iter()
            .any(|f| f["kind"] == kind && f["clause"] == clause)
    };
    assert!(has("term_mismatch", "exercise"), "{findings:#?}");
    assert!(has("broken_reference", "exercise"), "{findings:#?}");
    // The clean draft as text: nothing above info.
    let txt = dir.path().join("clean.txt");
    std::fs::write(&txt, &clean).unwrap();
    let o = deskmate(
        dir.path(),
        &[
            "proofread",
            txt.to_str().unwrap(),
            "--trade",
            trade.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("0 error(s), 0 warning(s)"),
        "{}",
        text(&o)
    );
    // A file that is not a document is refused by name.
    let junk = dir.path().join("junk.pdf");
    std::fs::write(&junk, b"%PDF-1.4 truncated").unwrap();
    let o = deskmate(dir.path(), &["proofread", junk.to_str().unwrap()], &[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("junk.pdf"), "{}", text(&o));
}

#[test]
fn exit_statuses_say_what_went_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The table is in the long help.
    let o = deskmate(d, &["--help"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    for line in [
        "3  configuration error",
        "5  integrity failure",
        "6  partial failure",
    ] {
        assert!(text(&o).contains(line), "{line}: {}", text(&o));
    }
    // 2: a usage error, with the values a choice flag takes.
    let o = deskmate(
        d,
        &[
            "price",
            "--product",
            "p.json",
            "--market",
            "m.json",
            "--engine",
            "warp",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("possible values: auto, analytic, mc, pde"),
        "{}",
        text(&o)
    );
    let o = deskmate(d, &["approvals", "list", "--state", "open"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = deskmate(
        d,
        &[
            "price",
            "--product",
            "p.json",
            "--market",
            "m.json",
            "--solve",
            "strike",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--lo"), "{}", text(&o));
    let o = deskmate(d, &["models", "install", "gpt-17"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("smollm2"), "{}", text(&o));
    // Spellings kept: `gpu` is still an alias of `cuda`.
    let o = deskmate(d, &["risk", "--help"], &[]);
    assert!(text(&o).contains("- cuda:"), "{}", text(&o));
    // 4: an unknown id, a missing file.
    let o = deskmate(d, &["approvals", "show", "apr_nope"], &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("not found"), "{}", text(&o));
    let o = deskmate(d, &["tokens", "revoke", "tok_nope"], &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let o = deskmate(
        d,
        &["price", "--product", "p.json", "--market", "m.json"],
        &[],
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    // 3: a configuration file that does not parse.
    std::fs::write(d.join("bad.toml"), "[server\n").unwrap();
    let o = deskmate(d, &["--config", "bad.toml", "users", "list"], &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    // 5: a backup whose files were altered.
    let o = deskmate(d, &["backup", "bk"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let db = d.join("bk/deskmate.db");
    assert!(db.is_file(), "the backup layout changed");
    let mut bytes = std::fs::read(&db).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&db, bytes).unwrap();
    let o = deskmate(d, &["restore", "bk", "--check"], &[]);
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
}

#[test]
fn completions_and_man_pages_come_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = deskmate(d, &["completions", shell], &[]);
        assert!(o.status.success(), "{shell}: {}", text(&o));
        let script = String::from_utf8(o.stdout).unwrap();
        for name in ["deskmate", "ingest", "approvals", "completions"] {
            assert!(script.contains(name), "{shell} script lacks {name}");
        }
        if shell == "bash" {
            std::fs::write(d.join("deskmate.bash"), &script).unwrap();
            let check = Command::new("bash")
                .arg("-n")
                .arg(d.join("deskmate.bash"))
                .output()
                .unwrap();
            assert!(check.status.success(), "{}", text(&check));
            // The choices of a ValueEnum flag are completed.
            assert!(script.contains("analytic"), "no --engine values");
        }
    }
    // Completions do not need a valid configuration.
    std::fs::write(d.join("bad.toml"), "[server\n").unwrap();
    let o = deskmate(d, &["--config", "bad.toml", "completions", "fish"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = deskmate(d, &["completions", "tcsh"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    let o = deskmate(d, &["man"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH deskmate 1"),
        "{page}"
    );
    assert!(
        page.contains("deskmate\\-ingest") || page.contains("ingest"),
        "{page}"
    );
    let o = deskmate(d, &["man", "--dir", "man1"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    for page in ["deskmate.1", "deskmate-ingest.1", "deskmate-audit-verify.1"] {
        let p = d.join("man1").join(page);
        assert!(
            std::fs::metadata(&p).map(|m| m.len() > 0).unwrap_or(false),
            "{} missing",
            p.display()
        );
    }
}

#[test]
fn results_for_people_have_a_json_form() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let json = |o: &Output| -> serde_json::Value {
        assert!(o.status.success(), "{}", text(o));
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
    };
    let v = json(&deskmate(
        d,
        &[
            "users", "add", "tina", "--role", "trader", "--token", "--json",
        ],
        &[],
    ));
    assert_eq!(v["user"]["name"], "tina");
    assert!(
        v["token"]["token"].as_str().unwrap().starts_with("dm_"),
        "{v}"
    );
    let v = json(&deskmate(d, &["tokens", "issue", "tina", "--json"], &[]));
    assert_eq!(v["user"], "tina");
    assert!(v["token"].as_str().unwrap().starts_with("dm_"), "{v}");
    let v = json(&deskmate(d, &["config", "keys", "--json"], &[]));
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|k| k["env"] == "DESKMATE_SERVER_BIND"),
        "{v}"
    );
    let v = json(&deskmate(d, &["eval", "--list", "--json"], &[]));
    assert!(
        v.as_array().unwrap().iter().any(|s| s["name"] == "audit"),
        "{v}"
    );
    let v = json(&deskmate(d, &["backup", "bk", "--json"], &[]));
    assert!(v["schema_version"].is_number(), "{v}");
    let v = json(&deskmate(d, &["restore", "bk", "--check", "--json"], &[]));
    assert!(v["schema_version"].is_number(), "{v}");
    let v = json(&deskmate(
        d,
        &["eval", "audit", "--out", "rep", "--json"],
        &[],
    ));
    assert_eq!(v["report"]["suite"], "audit");
    assert_eq!(v["report"]["passed"], true);
    assert!(v["audit_seq"].is_number(), "{v}");
}

#[test]
fn progress_bars_draw_nothing_when_standard_error_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/kernels/examples");
    let o = deskmate(
        dir.path(),
        &[
            "risk",
            "--book",
            &format!("{examples}/book.jsonl"),
            "--market",
            &format!("{examples}/markets_by_underlying.json"),
            "--json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = deskmate(
        dir.path(),
        &[
            "risk",
            "--book",
            &format!("{examples}/book.jsonl"),
            "--market",
            &format!("{examples}/markets_by_underlying.json"),
            "--grid",
            "spot=90:110:10,vol=-1:1:1,days=0",
            "--json",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn market_data_is_imported_and_its_moves_listed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let wti = concat!(env!("CARGO_MANIFEST_DIR"), "/demo/market-data/wti-2018.csv");
    let o = deskmate(
        dir.path(),
        &[
            "market",
            "import",
            wti,
            "--contract",
            "WTI crude",
            "--unit",
            "USD/bbl",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("249 new bar(s), 0 already held, contracts WTI crude"),
        "{out}"
    );
    assert!(
        out.contains("12 row(s) have no price and were left out"),
        "{out}"
    );
    // 13 Nov 2018: WTI fell 7.05% (the real series).
    assert!(
        out.contains(
            "WTI crude 2018-11-13 close 55.63 USD/bbl, down 7.05% from 59.85 USD/bbl on 2018-11-12"
        ),
        "{out}"
    );
    let o = deskmate(
        dir.path(),
        &["market", "events", "--kind", "move", "--zh", "--json"],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let events: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(events.as_array().unwrap().len(), 30);
    let o = deskmate(
        dir.path(),
        &[
            "market",
            "open",
            "--topic",
            "OPEC+ 减产预期",
            "--products",
            "WTI crude,SC",
            "--from",
            "2018-11-01",
            "--until",
            "2018-12-31",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    // A bad file: refused naming the row.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "date,contract,close\n2018-11-13,SC1901,0\n").unwrap();
    let o = deskmate(
        dir.path(),
        &["market", "import", bad.to_str().unwrap()],
        &[],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("bad.csv: row 1, column close: a price of 0"),
        "{}",
        text(&o)
    );
    let o = deskmate(dir.path(), &["market", "contracts"], &[]);
    assert!(
        text(&o).contains("WTI crude\t2018-01-02 .. 2018-12-28\t249 bar(s)"),
        "{}",
        text(&o)
    );
}
