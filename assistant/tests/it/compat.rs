//! Compatibility with existing installations, against checked-in fixtures (`compat/`):
//! shipped migrations are never edited (their SHA-256 are recorded), the schema they build is
//! the recorded one, and a data dir written by an earlier version opens, migrates and verifies.
//!
//! A new migration appends its hash to `compat/migrations.sha256` and the new schema to
//! `compat/schema.sql` (`DESKMATE_BLESS=1` writes both, and a data dir `compat/v{N}/` for the new
//! version when there is none); nothing else here may change.

use assistant::Assistant;
use assistant::approvals::ApprovalFilter;
use assistant::config::Config;
use assistant::store::migrations::MIGRATIONS;
use assistant::store::{ANCHOR_FILE, Actor, DB_FILE};
use policies::{DataClass, Principal, Role};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn compat() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/compat"))
}

fn bless() -> bool {
    std::env::var("DESKMATE_BLESS").is_ok_and(|v| v == "1")
}

/// The schema of a fresh store: every table, index and trigger, as SQLite stores it, by name.
fn schema_of(dir: &Path) -> String {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL
             AND name NOT LIKE 'sqlite_%' ORDER BY type, name",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok(format!(
                "-- {} {}\n{};\n",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?
            ))
        })
        .unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
}

#[test]
fn shipped_migrations_are_never_edited() {
    let hashes: Vec<String> = MIGRATIONS
        .iter()
        .map(|m| hex::encode(Sha256::digest(m.as_bytes())))
        .collect();
    let path = compat().join("migrations.sha256");
    if bless() {
        std::fs::write(&path, hashes.join("\n") + "\n").unwrap();
    }
    let recorded = std::fs::read_to_string(&path).unwrap();
    let recorded: Vec<&str> = recorded.lines().collect();
    for (i, (r, h)) in recorded.iter().zip(&hashes).enumerate() {
        assert_eq!(
            r,
            h,
            "migration {} was edited after it shipped: add a new migration instead",
            i + 1
        );
    }
    assert_eq!(
        recorded.len(),
        hashes.len(),
        "a migration was added or removed: record its hash (DESKMATE_BLESS=1) with the new \
         schema and a fixture data dir"
    );
}

#[test]
fn the_migrations_build_the_recorded_schema() {
    let dir = tempfile::tempdir().unwrap();
    let store = assistant::Store::open(dir.path()).unwrap();
    assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len() as i64);
    drop(store);
    let schema = schema_of(dir.path());
    let path = compat().join("schema.sql");
    if bless() {
        std::fs::write(&path, &schema).unwrap();
    }
    let recorded = std::fs::read_to_string(&path).unwrap();
    assert!(
        recorded == schema,
        "the schema differs from compat/schema.sql:\n{schema}"
    );
}

/// Writes a small installation at the current version: three users, an approved four-eyes quote
/// and a pending one, and their audit entries.
fn write_fixture(dest: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.path().to_path_buf();
    let a = Assistant::open(c).unwrap();
    for (name, role) in [
        ("tina", Role::Trader),
        ("tom", Role::Trader),
        ("olga", Role::Ops),
    ] {
        a.create_user(&Actor::system(), name, role).unwrap();
    }
    let tina = Principal {
        user: "tina".into(),
        role: Role::Trader,
    };
    let tom = Principal {
        user: "tom".into(),
        role: Role::Trader,
    };
    // A kind no workflow acts on (`v4/` has `quote` here, from before quote payloads were typed).
    let new = |title: &str| assistant::approvals::NewApproval {
        kind: "term_sheet".parse().unwrap(),
        title: title.into(),
        payload: json!({"price": {"coupon_pct": 15.2}, "notional": 10_000_000, "note": "中证500 雪球"}),
        required_role: Role::Trader,
        four_eyes: true,
        expires_in: Some(::time::Duration::days(366)),
        class: DataClass::IMPORTANT,
        supersedes: None,
        idempotency_key: None,
    };
    let first = a
        .create_approval(&Actor::user(&tina, None), new("000905.SH snowball 12M"))
        .unwrap();
    a.approve(&Actor::user(&tom, None), &tom, &first.id, Some("ok"))
        .unwrap();
    a.create_approval(&Actor::user(&tina, None), new("IC 3M ATM call"))
        .unwrap();
    drop(a);
    std::fs::create_dir_all(dest).unwrap();
    for f in [DB_FILE, ANCHOR_FILE] {
        std::fs::copy(dir.path().join(f), dest.join(f)).unwrap();
    }
}

#[test]
fn data_dirs_of_earlier_versions_open_migrate_and_verify() {
    let current = compat().join(format!("v{}", MIGRATIONS.len()));
    if bless() && !current.exists() {
        write_fixture(&current);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir(compat())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    versions.sort();
    assert!(
        !versions.is_empty(),
        "no fixture data dir in {}",
        compat().display()
    );
    for fixture in versions {
        let dir = tempfile::tempdir().unwrap();
        for f in [DB_FILE, ANCHOR_FILE] {
            std::fs::copy(fixture.join(f), dir.path().join(f)).unwrap();
        }
        let mut c = Config::default();
        c.storage.data_dir = dir.path().to_path_buf();
        let a = Assistant::open(c)
            .unwrap_or_else(|e| panic!("{}: does not open: {e}", fixture.display()));
        let name = fixture.display();
        assert_eq!(
            a.store().schema_version().unwrap(),
            MIGRATIONS.len() as i64,
            "{name}: not migrated to the current version"
        );
        let report = a.store().verify_audit().unwrap();
        assert!(report.ok(), "{name}: audit chain: {:?}", report.first_break);
        assert!(report.entries_verified >= 6, "{name}: {report:?}");
        let users: Vec<String> = a
            .list_users()
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        for u in ["tina", "tom", "olga"] {
            assert!(
                users.iter().any(|n| n == u),
                "{name}: user {u} in {users:?}"
            );
        }
        let tom = Actor::user(
            &Principal {
                user: "tom".into(),
                role: Role::Trader,
            },
            None,
        );
        let all = a.list_approvals(&tom, &ApprovalFilter::default()).unwrap();
        assert_eq!(all.len(), 2, "{name}: {all:?}");
        assert!(
            all.iter()
                .any(|x| x.title == "000905.SH snowball 12M" && x.payload["note"] == "中证500 雪球"),
            "{name}: {all:?}"
        );
        // Migration 6's triggers guard the migrated tables: a kind outside `JobKind` is refused.
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        let e = conn
            .execute(
                "INSERT INTO jobs (id, kind, state, classification, created_by, created_at, input)
                 VALUES ('job_x', 'ingest', 'queued', 'general', 'tina', 't', '{}')",
                [],
            )
            .unwrap_err();
        assert!(e.to_string().contains("invalid jobs.kind"), "{name}: {e}");
        drop(conn);
        // The installation keeps working: a new entry extends the old chain.
        a.create_user(&Actor::system(), "newcomer", Role::Legal)
            .unwrap();
        assert!(a.store().verify_audit().unwrap().ok(), "{name}");
    }
}
