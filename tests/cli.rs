//! The `deskmate` binary as a user runs it: configuration errors before anything starts,
//! users and tokens, the audit log's verify and export, backup and restore, and eval reports.

use std::path::Path;
use std::process::{Command, Output};

fn deskmate(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_deskmate"));
    c.args(args).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("DESKMATE_") && k != "DESKMATE_MODEL_CACHE" {
            c.env_remove(k);
        }
    }
    c.env("DESKMATE_STORAGE_DATA_DIR", dir.join("data"));
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
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
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
    assert_eq!(o.status.code(), Some(2));
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
    let o = deskmate(d, &["audit", "verify"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("BROKEN at entry 2"), "{}", text(&o));
    let o = deskmate(d, &["serve"], &[("DESKMATE_SERVER_BIND", "127.0.0.1:0")]);
    assert!(
        !o.status.success() && text(&o).contains("broken at entry 2"),
        "{}",
        text(&o)
    );
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
    let o = deskmate(dir.path(), &["eval", "nonsense"], &[]);
    assert!(!o.status.success() && text(&o).contains("available: audit"));
}
