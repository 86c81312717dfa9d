//! The audit log against a real SQLite file: every kind of tampering done directly to the file
//! is detected and named, state survives a restart, and a process killed in the middle of a
//! multi-row write leaves all of it or none of it.

use assistant::config::Config;
use assistant::jobs::JobKind;
use assistant::store::{Actor, AuditRecord, Store};
use assistant::{Assistant, backup};
use policies::audit::ChainBreakKind;
use policies::{DataClass, Role};
use rusqlite::Connection;
use serde_json::json;
use std::path::Path;

fn assistant(dir: &Path) -> Assistant {
    let mut config = Config::default();
    config.storage.data_dir = dir.to_path_buf();
    Assistant::open(config).unwrap()
}

/// Ten audited changes through the public API.
fn populate(a: &Assistant) {
    let sys = Actor::system();
    for i in 0..5 {
        a.create_user(&sys, &format!("user{i}"), Role::Trader)
            .unwrap();
        a.issue_token(&sys, &format!("user{i}"), "test", None)
            .unwrap();
    }
}

/// Opens the database file directly, as an attacker with file access would, with the
/// append-only triggers dropped.
fn tamper(dir: &Path, sql: &str) {
    let c = Connection::open(dir.join("deskmate.db")).unwrap();
    c.execute_batch(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;",
    )
    .unwrap();
    c.execute_batch(sql).unwrap();
}

fn verify(dir: &Path) -> Option<(u64, ChainBreakKind)> {
    let store = Store::open(dir).unwrap();
    let r = store.verify_audit().unwrap();
    r.first_break.map(|b| (b.seq, b.kind))
}

fn fresh() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    populate(&assistant(dir.path()));
    assert_eq!(verify(dir.path()), None);
    dir
}

#[test]
fn intact_log_verifies_and_is_append_only_through_sql() {
    let dir = fresh();
    let store = Store::open(dir.path()).unwrap();
    let r = store.verify_audit().unwrap();
    assert_eq!(r.entries_verified, 10);
    assert_eq!(r.head, r.anchor);
    let c = Connection::open(dir.path().join("deskmate.db")).unwrap();
    let err = c
        .execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = c
        .execute("DELETE FROM audit_log WHERE seq = 3", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}

#[test]
fn edit_is_detected() {
    let dir = fresh();
    tamper(
        dir.path(),
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 4",
    );
    assert_eq!(
        verify(dir.path()),
        Some((4, ChainBreakKind::ContentModified))
    );
    let dir = fresh();
    tamper(
        dir.path(),
        r#"UPDATE audit_log SET details = '{"role":"admin"}' WHERE seq = 1"#,
    );
    assert_eq!(
        verify(dir.path()),
        Some((1, ChainBreakKind::ContentModified))
    );
}

#[test]
fn deletion_is_detected() {
    let dir = fresh();
    tamper(dir.path(), "DELETE FROM audit_log WHERE seq = 6");
    assert_eq!(
        verify(dir.path()),
        Some((7, ChainBreakKind::Gap { expected: 6 }))
    );
}

#[test]
fn insertion_is_detected() {
    // Shift the tail up by one and insert a forged entry (copied from a real one) at seq 5.
    let dir = fresh();
    tamper(
        dir.path(),
        "UPDATE audit_log SET seq = seq + 100 WHERE seq >= 5;
         UPDATE audit_log SET seq = seq - 99 WHERE seq >= 105;
         INSERT INTO audit_log (seq, time, actor, role, action, object_kind, object_id,
             classification, request_id, details, prev_hash, hash)
           SELECT 5, time, 'mallory', role, action, object_kind, 'forged', classification,
             request_id, details, prev_hash, hash FROM audit_log WHERE seq = 4;",
    );
    assert_eq!(verify(dir.path()), Some((5, ChainBreakKind::LinkBroken)));
}

#[test]
fn reordering_is_detected() {
    // Swap the sequence numbers of entries 3 and 4.
    let dir = fresh();
    tamper(
        dir.path(),
        "UPDATE audit_log SET seq = 1003 WHERE seq = 3;
         UPDATE audit_log SET seq = 3 WHERE seq = 4;
         UPDATE audit_log SET seq = 4 WHERE seq = 1003;",
    );
    let got = verify(dir.path()).unwrap();
    assert_eq!(got.0, 3, "{got:?}");
}

#[test]
fn truncation_of_the_newest_entries_is_detected_by_the_anchor() {
    let dir = fresh();
    tamper(dir.path(), "DELETE FROM audit_log WHERE seq >= 9");
    assert_eq!(
        verify(dir.path()),
        Some((
            9,
            ChainBreakKind::Truncated {
                anchor_seq: 10,
                head_seq: 8
            }
        ))
    );
}

#[test]
fn a_fully_recomputed_chain_is_caught_by_the_anchor() {
    let dir = fresh();
    // Rewrite entry 2 and re-seal every entry after it, as someone with the database would.
    let c = Connection::open(dir.path().join("deskmate.db")).unwrap();
    c.execute_batch("DROP TRIGGER audit_log_no_update;")
        .unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut entries = store.audit_entries(1, None, None, 100).unwrap();
    entries[1].actor = "mallory".into();
    let mut prev = policies::audit::GENESIS_HASH;
    for e in &mut entries {
        e.seal(&prev);
        hex::decode_to_slice(&e.hash, &mut prev).unwrap();
        let mut details = Vec::new();
        policies::audit::write_canonical(&e.details, &mut details);
        c.execute(
            "UPDATE audit_log SET actor = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            rusqlite::params![e.actor, e.prev_hash, e.hash, e.seq as i64],
        )
        .unwrap();
    }
    assert_eq!(
        verify(dir.path()),
        Some((10, ChainBreakKind::AnchorMismatch))
    );
}

#[test]
fn state_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let token = {
        let a = assistant(dir.path());
        a.create_user(&Actor::system(), "alice", Role::Legal)
            .unwrap();
        a.issue_token(&Actor::system(), "alice", "laptop", None)
            .unwrap()
            .token
    };
    let a = assistant(dir.path());
    let p = a.authenticate(&token).unwrap().unwrap();
    assert_eq!((p.user.as_str(), p.role), ("alice", Role::Legal));
    assert_eq!(a.list_users().unwrap().len(), 1);
    assert!(a.store().verify_audit().unwrap().ok());
    // Migration 1 (identity, audit, approvals, jobs), 2 (the RFQ desk), 3 (extraction), 4
    // (documents), 5 (chat events per chat, idempotency keys), 6 (status and kind triggers), 7
    // (web passwords, sessions, sign-in attempts, languages), 8 (the fields of an RFQ's parse
    // the model supplied), … 13 (the compliance rule catalogue), 14 (chat reply URLs), 15
    // (model risk: versions, chain modes, monitored calls, alerts), 16 (ops corrections per
    // field), 17 (validation baselines of the drift figures), 18 (market data and events).
    assert_eq!(a.store().schema_version().unwrap(), 18);
}

#[test]
fn a_failed_write_leaves_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let a = assistant(dir.path());
    let store = a.store();
    let err: Result<(), assistant::AssistantError> = store.write(&Actor::system(), |tx| {
        tx.audit(AuditRecord {
            action: "test.partial",
            object_kind: "test",
            object_id: "1",
            class: DataClass::GENERAL,
            details: json!({}),
        })?;
        Err(assistant::AssistantError::Invalid(
            "second step failed".into(),
        ))
    });
    assert!(err.is_err());
    assert_eq!(store.audit_head().unwrap(), None);
    assert!(store.verify_audit().unwrap().ok());
}

const CHILD_ENV: &str = "DESKMATE_TEST_CHILD";
const ROWS: u64 = 20_000;

/// Run as a child process by `kill_9_mid_write_leaves_all_or_nothing`: one transaction that
/// writes many audit entries slowly, signalling once it is well under way.
#[test]
fn child_slow_multi_row_write() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::open(Path::new(&dir)).unwrap();
    let _: Result<(), assistant::AssistantError> = store.write(&Actor::system(), |tx| {
        for i in 0..ROWS {
            tx.audit(AuditRecord {
                action: "test.bulk",
                object_kind: "test",
                object_id: &i.to_string(),
                class: DataClass::GENERAL,
                details: json!({"i": i}),
            })?;
            if i == 1000 {
                std::fs::write(Path::new(&dir).join("started"), b"1").unwrap();
            }
            if i > 1000 {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
        Ok(())
    });
    std::fs::write(Path::new(&dir).join("finished"), b"1").unwrap();
}

#[test]
fn kill_9_mid_write_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    populate(&assistant(dir.path()));
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "audit_log::child_slow_multi_row_write",
            "--nocapture",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = dir.path().join("started");
    let t0 = std::time::Instant::now();
    while !started.exists() {
        assert!(t0.elapsed().as_secs() < 60, "child never started writing");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(
        !dir.path().join("finished").exists(),
        "the child finished before it was killed"
    );
    let store = Store::open(dir.path()).unwrap();
    let r = store.verify_audit().unwrap();
    assert!(r.ok(), "{r:?}");
    let n = r.head.map(|h| h.seq).unwrap_or(0);
    assert!(
        n == 10 || n == 10 + ROWS,
        "partial write visible: {n} entries"
    );
    assert_eq!(n, 10, "the killed transaction must not have committed");
}

#[test]
fn backup_then_restore_round_trips_and_refuses_tampered_backups() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let a = assistant(&data);
    populate(&a);
    let out = dir.path().join("backup1");
    let m = backup::backup(a.store(), &out).unwrap();
    assert_eq!(m.audit_head.as_ref().unwrap().seq, 10);
    // Changes after the backup are gone after restore; the old data dir is kept aside.
    a.create_user(&Actor::system(), "late", Role::Ops).unwrap();
    drop(a);
    let r = backup::restore(&out, &data).unwrap();
    assert!(r.previous_data_dir.unwrap().exists());
    let a = assistant(&data);
    assert!(a.list_users().unwrap().iter().all(|u| u.name != "late"));
    assert!(a.store().verify_audit().unwrap().ok());
    // A backup whose database was altered is refused before anything changes.
    let db = out.join("deskmate.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 0xff;
    std::fs::write(&db, bytes).unwrap();
    let err = backup::restore(&out, &data).unwrap_err().to_string();
    assert!(err.contains("SHA-256"), "{err}");
    // Restore refuses while a server holds the data dir.
    let fresh = dir.path().join("backup2");
    backup::backup(a.store(), &fresh).unwrap();
    let _server = assistant::lock::DataDirLock::acquire(&data, "server").unwrap();
    let err = backup::restore(&fresh, &data).unwrap_err().to_string();
    assert!(err.contains("in use"), "{err}");
}

/// Issue #15, finding 9: an ingest job a stopped process left running is marked failed with
/// the reason at the next start, not left `running` for ever; an extraction job is left to be
/// resumed.
#[test]
fn jobs_interrupted_by_a_stop_are_failed_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (ingest, extraction) = {
        let a = assistant(dir.path());
        let sys = Actor::system();
        let ingest = a
            .create_job(
                &sys,
                JobKind::DocumentIngest,
                DataClass::GENERAL,
                json!({"files": ["a.md"]}),
            )
            .unwrap();
        a.start_job(&ingest.id).unwrap();
        let extraction = a
            .create_job(
                &sys,
                JobKind::Extraction,
                DataClass::IMPORTANT,
                json!({"files": []}),
            )
            .unwrap();
        (ingest.id, extraction.id)
    };
    let a = assistant(dir.path());
    assert_eq!(a.fail_interrupted_jobs().unwrap(), vec![ingest.clone()]);
    let job = a.get_job(&Actor::system(), &ingest).unwrap();
    assert_eq!(job.state, assistant::jobs::JobState::Failed);
    assert!(job.error.unwrap().contains("interrupted"));
    let job = a.get_job(&Actor::system(), &extraction).unwrap();
    assert_eq!(job.state, assistant::jobs::JobState::Queued);
    assert!(a.fail_interrupted_jobs().unwrap().is_empty());
    assert!(a.store().verify_audit().unwrap().ok());
}
