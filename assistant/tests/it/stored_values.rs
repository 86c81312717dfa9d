//! Statuses and kinds from the enum to the database and back: every trigger and CHECK list of
//! the schema equals its enum's values, the triggers refuse anything else, the SQL of the crate
//! compares each status column only with values of its enum, and a stored value that does not
//! decode (written past the triggers) is an error of the store, never a default.

use super::desk::{desk, trader};
use assistant::Assistant;
use assistant::AssistantError;
use assistant::approvals::{ApprovalFilter, ApprovalKind, NewApproval};
use assistant::config::Config;
use assistant::desk::{Direction, Disposition, MessageStatus, QuoteStatus, RfqStatus};
use assistant::idempotency::KeyState;
use assistant::jobs::{JobKind, JobState};
use assistant::model_risk::{AlertState, CallOutcome, ChainMode, VersionStatus};
use assistant::store::{Actor, DB_FILE, Store};
use extraction::FileStatus;
use policies::monitoring::Action;
use policies::{ApprovalState, DataClass, Principal, Role};
use rusqlite::Connection;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn names(v: impl IntoIterator<Item = &'static str>) -> BTreeSet<String> {
    v.into_iter().map(str::to_string).collect()
}

/// The quoted values of every `IN (…)` list in `sql`, in order.
fn in_lists(sql: &str) -> Vec<BTreeSet<String>> {
    let mut out = Vec::new();
    for (i, _) in sql.match_indices("IN") {
        let word_start = sql[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        let rest = sql[i + 2..].trim_start();
        if !word_start || !rest.starts_with('(') {
            continue;
        }
        let end = rest.find(')').expect("a closed list");
        out.push(
            rest[1..end]
                .split(',')
                .map(|v| v.trim().trim_matches('\'').to_string())
                .collect(),
        );
    }
    out
}

fn fresh() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    let c = Connection::open(dir.path().join(DB_FILE)).unwrap();
    // The rows below test one column each; they reference no real request or job.
    c.pragma_update(None, "foreign_keys", "OFF").unwrap();
    (dir, c)
}

fn schema(c: &Connection, kind: &str) -> BTreeMap<String, String> {
    let mut stmt = c
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = ?1 AND sql IS NOT NULL")
        .unwrap();
    stmt.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn every_trigger_lists_exactly_its_enums_values() {
    let (_dir, c) = fresh();
    let file_statuses = names(FileStatus::ALL.map(FileStatus::as_str));
    let expected: [(&str, Vec<BTreeSet<String>>); 5] = [
        ("rfqs_status", vec![names(RfqStatus::NAMES.iter().copied())]),
        (
            "rfq_quotes_status",
            vec![names(QuoteStatus::NAMES.iter().copied())],
        ),
        (
            "chat_messages_status",
            vec![
                names(Disposition::NAMES.iter().copied()),
                names(MessageStatus::NAMES.iter().copied()),
            ],
        ),
        ("extraction_files_status", vec![file_statuses]),
        ("jobs_kind", vec![names(JobKind::NAMES.iter().copied())]),
    ];
    let triggers = schema(&c, "trigger");
    let mut seen = BTreeSet::new();
    for (prefix, lists) in &expected {
        for when in ["insert", "update"] {
            let name = format!("{prefix}_{when}");
            let sql = triggers
                .get(&name)
                .unwrap_or_else(|| panic!("no trigger {name}: add it in a migration"));
            assert_eq!(
                &in_lists(sql),
                lists,
                "{name} does not list its enum's values: a variant was added or removed \
                 without a migration"
            );
            seen.insert(name);
        }
    }
    // The inbound list is the one under `direction = 'in'`.
    let chat = &triggers["chat_messages_status_insert"];
    assert!(
        chat.find("NEW.direction = 'in'").unwrap() < chat.find("NEW.direction = 'out'").unwrap()
    );
    let others: Vec<&String> = triggers
        .keys()
        .filter(|n| {
            // Immutability triggers are checked by their own tests below.
            !seen.contains(*n)
                && !n.starts_with("audit_log_no_")
                && !n.starts_with("draft_")
                && *n != "template_versions_no_update"
                && !n.starts_with("compliance_")
                && *n != "market_bars_no_update"
        })
        .collect();
    assert!(
        others.is_empty(),
        "triggers this test does not check: {others:?}"
    );
}

#[test]
fn every_check_constraint_lists_exactly_its_enums_values() {
    let (_dir, c) = fresh();
    let tables = schema(&c, "table");
    for (table, column, values) in [
        ("jobs", "state", names(JobState::NAMES.iter().copied())),
        (
            "approvals",
            "state",
            names(ApprovalState::ALL.map(ApprovalState::as_str)),
        ),
        (
            "chat_messages",
            "direction",
            names(Direction::NAMES.iter().copied()),
        ),
        (
            "idempotency_keys",
            "state",
            names(KeyState::NAMES.iter().copied()),
        ),
        (
            "model_versions",
            "status",
            names(VersionStatus::NAMES.iter().copied()),
        ),
        (
            "chain_modes",
            "mode",
            names(ChainMode::NAMES.iter().copied()),
        ),
        (
            "chain_calls",
            "outcome",
            names(CallOutcome::NAMES.iter().copied()),
        ),
        (
            "chain_calls",
            "mode",
            names(ChainMode::NAMES.iter().copied()),
        ),
        (
            "model_alerts",
            "action",
            names([Action::Alert, Action::Fallback, Action::Pause].map(Action::as_str)),
        ),
        (
            "model_alerts",
            "state",
            names(AlertState::NAMES.iter().copied()),
        ),
    ] {
        let sql = &tables[table];
        let at = sql
            .find(&format!("{column} "))
            .and_then(|i| sql[i..].find("CHECK").map(|j| i + j))
            .unwrap_or_else(|| panic!("{table}.{column} has no CHECK"));
        let list = in_lists(&sql[at..]).remove(0);
        assert_eq!(list, values, "{table}.{column}");
    }
}

/// A row of each table with a guarded column, as raw SQL with `{v}` for the value under test.
const ROWS: &[(&str, &str)] = &[
    (
        "rfqs.status",
        "INSERT INTO rfqs (id, channel, chat_id, message_id, sender, client_id, received_at, text,
            language, parse, confidence, path, problems, status, updated_at)
         VALUES ('r{n}', 'tg', 'g', 'm', 's', 'C', 't', 'x', 'zh', '{}', 1, 'rules', '[]', '{v}', 't')",
    ),
    (
        "rfq_quotes.status",
        "INSERT INTO rfq_quotes (id, rfq_id, idx, status, detail, created_at, updated_at)
         VALUES ('q{n}', 'r0', {n}, '{v}', '{}', 't', 't')",
    ),
    (
        "chat_messages.status",
        "INSERT INTO chat_messages (channel, chat_id, direction, event_key, kind, text,
            text_chars, time, received_at, status)
         VALUES ('tg', 'g', '{d}', 'e{n}', 'text', 'x', 1, 't', 't', '{v}')",
    ),
    (
        "jobs.kind",
        "INSERT INTO jobs (id, kind, state, classification, created_by, created_at, input)
         VALUES ('j{n}', '{v}', 'queued', 'general', 'u', 't', '{}')",
    ),
    (
        "extraction_files.status",
        "INSERT INTO extraction_files (job_id, idx, name, sha256, bytes, status, result,
            created_at)
         VALUES ('j0', {n}, 'f', 'h', 1, '{v}', '{}', 't')",
    ),
];

#[test]
fn the_triggers_refuse_a_value_outside_the_enum_on_insert_and_update() {
    let (_dir, c) = fresh();
    let valid: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::from([
        (
            "rfqs.status",
            RfqStatus::NAMES.iter().map(|v| ("", *v)).collect(),
        ),
        (
            "rfq_quotes.status",
            QuoteStatus::NAMES.iter().map(|v| ("", *v)).collect(),
        ),
        (
            "chat_messages.status",
            Disposition::NAMES
                .iter()
                .map(|v| ("in", *v))
                .chain(MessageStatus::NAMES.iter().map(|v| ("out", *v)))
                .collect(),
        ),
        (
            "jobs.kind",
            JobKind::NAMES.iter().map(|v| ("", *v)).collect(),
        ),
        (
            "extraction_files.status",
            FileStatus::ALL.iter().map(|v| ("", v.as_str())).collect(),
        ),
    ]);
    let mut n = 0;
    let sql = |column: &str, d: &str, v: &str, n: i32| {
        let (_, t) = ROWS.iter().find(|(c, _)| *c == column).unwrap();
        t.replace("{n}", &n.to_string())
            .replace("{d}", d)
            .replace("{v}", v)
    };
    for (column, _) in ROWS {
        for (d, v) in &valid[column] {
            c.execute(&sql(column, d, v, n), []).unwrap_or_else(|e| {
                panic!("{column} = {v:?} is one of the enum's values and is refused: {e}")
            });
            n += 1;
        }
        // Across directions, a value of the other enum is refused too.
        let bad: &[(&str, &str)] = if *column == "chat_messages.status" {
            &[("in", "sending"), ("out", "rfq"), ("out", "Pending")]
        } else {
            &[("", "bogus"), ("", "")]
        };
        for (d, v) in bad {
            let e = c.execute(&sql(column, d, v, n), []).unwrap_err();
            assert!(
                e.to_string().contains(&format!("invalid {column}: '{v}'")),
                "{column} {v:?}: {e}"
            );
            n += 1;
        }
    }
    for (column, update) in [
        ("rfqs.status", "UPDATE rfqs SET status = 'bogus'"),
        (
            "rfq_quotes.status",
            "UPDATE rfq_quotes SET status = 'bogus'",
        ),
        (
            "chat_messages.status",
            "UPDATE chat_messages SET status = 'sending' WHERE direction = 'in'",
        ),
        (
            "chat_messages.status",
            "UPDATE chat_messages SET direction = 'in' WHERE status = 'sending'",
        ),
        ("jobs.kind", "UPDATE jobs SET kind = 'ingest'"),
        (
            "extraction_files.status",
            "UPDATE extraction_files SET status = 'queued'",
        ),
    ] {
        let e = c.execute(update, []).unwrap_err();
        assert!(
            e.to_string().contains(&format!("invalid {column}")),
            "{update}: {e}"
        );
    }
}

/// Every `status`/`state`/`kind`/`direction` comparison with literal values in the crate's SQL
/// (`q.status = 'pending'`, `state IN ('queued', 'running')`): the column's table, and the
/// values compared.
#[derive(Debug)]
struct Comparison {
    file: String,
    table: String,
    column: String,
    values: Vec<String>,
    /// The direction the same statement restricts `chat_messages` to, if it does.
    direction: Option<String>,
}

/// The table aliases the crate's SQL uses (checked against every `FROM`/`JOIN` that names one).
const ALIASES: &[(&str, &str)] = &[
    ("a", "approvals"),
    ("f", "extraction_files"),
    ("j", "jobs"),
    ("m", "chat_messages"),
    ("q", "rfq_quotes"),
    ("r", "rfqs"),
    ("v", "approval_versions"),
];

/// The tables named in one SQL string, with their aliases.
fn tables_of(sql: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let mut tables = Vec::new();
    let mut aliases = BTreeMap::new();
    let words: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    for (i, w) in words.iter().enumerate() {
        if ["FROM", "JOIN", "UPDATE", "INTO"].contains(w) {
            let Some(t) = words.get(i + 1) else { continue };
            if !t.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                continue;
            }
            tables.push(t.to_string());
            // The crate's aliases are one letter (`FROM rfq_quotes q`).
            if let Some(a) = words.get(i + 2)
                && a.len() == 1
                && a.chars().all(|c| c.is_ascii_lowercase())
            {
                aliases.insert(a.to_string(), t.to_string());
            }
        }
    }
    tables.sort();
    tables.dedup();
    (tables, aliases)
}

/// The literal values after `op` at the start of `s` (`= 'x'`, `!= 'x'`, `IN ('a', ?1)`,
/// `NOT IN (…)`); `None` when the comparison is with a parameter or not one at all.
fn literal_values(s: &str) -> Option<Vec<String>> {
    let s = s.trim_start();
    let rest = ["!=", "<>", "NOT IN", "IN", "="]
        .iter()
        .find_map(|op| s.strip_prefix(op))?;
    if rest.starts_with('=') {
        return None; // Rust's `==`.
    }
    let rest = rest.trim_start();
    let values: Vec<String> = if let Some(list) = rest.strip_prefix('(') {
        list[..list.find(')')?]
            .split(',')
            .map(str::trim)
            .filter(|v| v.starts_with('\''))
            .map(|v| v.trim_matches('\'').to_string())
            .collect()
    } else if let Some(lit) = rest.strip_prefix('\'') {
        vec![lit[..lit.find('\'')?].to_string()]
    } else {
        return None;
    };
    (!values.is_empty()).then_some(values)
}

fn comparisons_in(file: &str, text: &str, problems: &mut Vec<String>) -> Vec<Comparison> {
    // Comments may quote SQL loosely; only code counts.
    let code: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    for column in ["status", "state", "kind", "direction"] {
        for (i, _) in code.match_indices(column) {
            let before = code[..i].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let after = &code[i + column.len()..];
            if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let Some(values) = literal_values(after) else {
                continue;
            };
            // SQL holds no double quotes: the string around the match is the statement.
            let start = code[..i].rfind('"').map_or(0, |j| j + 1);
            let end = code[i..].find('"').map_or(code.len(), |j| i + j);
            let sql = &code[start..end];
            let (tables, aliases) = tables_of(sql);
            for (a, t) in &aliases {
                match ALIASES.iter().find(|(x, _)| x == a) {
                    Some((_, want)) if want == t => {}
                    _ => problems.push(format!(
                        "{file}: alias {a} for {t}; the crate's aliases are {ALIASES:?}"
                    )),
                }
            }
            let alias = (before == Some('.')).then(|| {
                let head = &code[..i - 1];
                let start = head
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(0, |j| j + 1);
                &head[start..]
            });
            let table = match alias {
                Some("NEW") => continue, // a trigger's own list: checked against the enums above
                Some(a) => aliases.get(a).cloned().or_else(|| {
                    ALIASES
                        .iter()
                        .find(|(x, _)| *x == a)
                        .map(|(_, t)| t.to_string())
                }),
                None if tables.len() == 1 => Some(tables[0].clone()),
                None => None,
            };
            let Some(table) = table else {
                problems.push(format!(
                    "{file}: cannot tell the table of `{column}` in {:?}: name it with an alias",
                    sql.trim()
                ));
                continue;
            };
            let direction = ["in", "out"]
                .into_iter()
                .find(|d| sql.contains(&format!("direction = '{d}'")))
                .map(str::to_string);
            out.push(Comparison {
                file: file.to_string(),
                table,
                column: column.to_string(),
                values,
                direction,
            });
        }
    }
    out
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_crates_sql_compares_status_columns_only_with_their_enums_values() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut problems = Vec::new();
    let mut found = Vec::new();
    for f in &files {
        // The migrations' lists are checked against the enums above.
        if f.ends_with("store/migrations.rs") {
            continue;
        }
        let name = f.strip_prefix(&src).unwrap().display().to_string();
        found.extend(comparisons_in(
            &name,
            &std::fs::read_to_string(f).unwrap(),
            &mut problems,
        ));
    }
    let allowed = |c: &Comparison| -> Option<BTreeSet<String>> {
        Some(match (c.table.as_str(), c.column.as_str()) {
            ("rfqs", "status") => names(RfqStatus::NAMES.iter().copied()),
            ("rfq_quotes", "status") => names(QuoteStatus::NAMES.iter().copied()),
            ("chat_messages", "status") => match c.direction.as_deref() {
                Some("in") => names(Disposition::NAMES.iter().copied()),
                Some(_) => names(MessageStatus::NAMES.iter().copied()),
                None => names(
                    Disposition::NAMES
                        .iter()
                        .chain(MessageStatus::NAMES)
                        .copied(),
                ),
            },
            ("chat_messages", "direction") => names(Direction::NAMES.iter().copied()),
            ("jobs", "state") => names(JobState::NAMES.iter().copied()),
            ("jobs", "kind") => names(JobKind::NAMES.iter().copied()),
            ("approvals", "state") => names(ApprovalState::ALL.map(ApprovalState::as_str)),
            ("extraction_files", "status") => names(FileStatus::ALL.map(FileStatus::as_str)),
            ("idempotency_keys", "state") => names(KeyState::NAMES.iter().copied()),
            _ => return None,
        })
    };
    let mut checked = 0;
    for c in &found {
        let Some(allowed) = allowed(c) else { continue };
        checked += 1;
        for v in &c.values {
            if !allowed.contains(v) {
                problems.push(format!(
                    "{}: {}.{} compared with {v:?}, not one of {allowed:?}",
                    c.file, c.table, c.column
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The scanner finds what it should (a scanner that finds nothing passes vacuously).
    assert!(
        checked >= 25,
        "only {checked} comparisons found: {found:#?}"
    );
    for (table, column) in [
        ("rfqs", "status"),
        ("rfq_quotes", "status"),
        ("chat_messages", "status"),
        ("jobs", "state"),
        ("approvals", "state"),
        ("idempotency_keys", "state"),
    ] {
        assert!(
            found.iter().any(|c| c.table == table && c.column == column),
            "no comparison of {table}.{column} found"
        );
    }
}

#[test]
fn the_scanner_catches_a_misspelt_status() {
    let mut problems = Vec::new();
    let found = comparisons_in(
        "x.rs",
        r#"const A: &str = "SELECT 1 FROM rfq_quotes q WHERE q.status IN ('pending', 'aproved')";
           const B: &str = "UPDATE chat_messages SET status = 'sent' WHERE direction = 'out'";
           const C: &str = "SELECT 1 FROM rfqs r JOIN rfq_quotes q ON q.rfq_id = r.id WHERE status = 'x'";"#,
        &mut problems,
    );
    assert_eq!(found.len(), 3, "{found:#?}");
    assert_eq!(found[0].table, "rfq_quotes");
    assert_eq!(found[0].values, ["pending", "aproved"]);
    assert_eq!(found[1].table, "chat_messages");
    assert_eq!(found[1].direction.as_deref(), Some("out"));
    assert_eq!(
        (found[2].column.as_str(), found[2].values.as_slice()),
        ("direction", &["out".to_string()][..])
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("cannot tell the table"),
        "{problems:?}"
    );
}

// Values written past the triggers and constraints (a hand edit, a bad restore) are errors of
// the store when read, naming the column and the value.

fn assistant_in(dir: &Path) -> Assistant {
    let mut c = Config::default();
    c.storage.data_dir = dir.to_path_buf();
    Assistant::open(c).unwrap()
}

/// Runs `sql` on the database in `dir` with triggers and CHECK constraints out of the way.
fn corrupt(dir: &Path, sql: &str) {
    let c = Connection::open(dir.join(DB_FILE)).unwrap();
    c.pragma_update(None, "ignore_check_constraints", "ON")
        .unwrap();
    let triggers: Vec<String> = c
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'
             AND name NOT LIKE 'audit_log_%'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for t in triggers {
        c.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
    }
    c.execute_batch(sql).unwrap();
}

/// `r` is a store error whose message names `column` and `value`.
#[track_caller]
fn assert_corrupt<T: std::fmt::Debug>(r: assistant::Result<T>, column: &str, value: &str) {
    match r {
        Err(e @ AssistantError::Store(_)) => {
            let m = e.to_string();
            assert!(
                m.contains(&format!("invalid {column}")) && m.contains(value),
                "{m}"
            );
        }
        other => panic!("{column} = {value}: not a store error: {other:?}"),
    }
}

#[test]
fn a_corrupt_job_is_an_error_not_a_default() {
    let dir = tempfile::tempdir().unwrap();
    let a = assistant_in(dir.path());
    let sys = Actor::system();
    for (i, (set, column, value)) in [
        ("state = 'paused'", "jobs.state", "paused"),
        ("kind = 'ingest'", "jobs.kind", "ingest"),
        ("classification = 'secret'", "jobs.classification", "secret"),
        ("input = '{\"files\": ['", "jobs.input", "files"),
        ("result = 'not json'", "jobs.result", "not json"),
    ]
    .into_iter()
    .enumerate()
    {
        let job = a
            .create_job(&sys, JobKind::Eval, DataClass::GENERAL, json!({"n": i}))
            .unwrap();
        assert_eq!(a.get_job(&sys, &job.id).unwrap().state, JobState::Queued);
        corrupt(
            dir.path(),
            &format!("UPDATE jobs SET {set} WHERE id = '{}'", job.id),
        );
        assert_corrupt(a.get_job(&sys, &job.id), column, value);
        assert_corrupt(a.list_jobs(&sys, 100), column, value);
        corrupt(
            dir.path(),
            &format!("DELETE FROM jobs WHERE id = '{}'", job.id),
        );
    }
}

#[test]
fn a_corrupt_approval_is_an_error_not_a_default() {
    let dir = tempfile::tempdir().unwrap();
    let a = assistant_in(dir.path());
    let tina = Principal {
        user: "tina".into(),
        role: Role::Trader,
    };
    let actor = Actor::user(&tina, None);
    for (set, column, value) in [
        ("a.state = 'limbo'", "approvals.state", "limbo"),
        (
            "a.required_role = 'root'",
            "approvals.required_role",
            "root",
        ),
        (
            "a.classification = 'secret'",
            "approvals.classification",
            "secret",
        ),
        ("a.kind = ''", "approvals.kind", "\"\""),
        (
            "v.payload = '{\"note\": '",
            "approval_versions.payload",
            "note",
        ),
        ("v.diff = 'null'", "approval_versions.diff", "null"),
    ] {
        let apr = a
            .create_approval(
                &actor,
                NewApproval {
                    kind: "report".parse().unwrap(),
                    title: "weekly".into(),
                    payload: json!({"note": "x"}),
                    required_role: Role::Trader,
                    four_eyes: false,
                    expires_in: None,
                    class: DataClass::IMPORTANT,
                    supersedes: None,
                    idempotency_key: None,
                },
            )
            .unwrap();
        assert!(matches!(apr.kind, ApprovalKind::Other(_)));
        let (table, col) = set.split_once('.').unwrap();
        let sql = match table {
            "a" => format!("UPDATE approvals SET {col} WHERE id = '{}'", apr.id),
            _ => format!(
                "UPDATE approval_versions SET {col} WHERE approval_id = '{}'",
                apr.id
            ),
        };
        corrupt(dir.path(), &sql);
        assert_corrupt(a.get_approval(&actor, &apr.id), column, value);
        if table == "a" || col.starts_with("payload") {
            assert_corrupt(
                a.list_approvals(&actor, &ApprovalFilter::default()),
                column,
                value,
            );
        }
        corrupt(
            dir.path(),
            &format!(
                "DELETE FROM approval_versions WHERE approval_id = '{0}';
                 DELETE FROM approvals WHERE id = '{0}'",
                apr.id
            ),
        );
    }
}

#[test]
fn a_corrupt_quote_or_rfq_status_is_an_error_not_a_default() {
    let d = desk(|_| {});
    d.map("g1", "C001");
    let rfq = d
        .say(
            "g1",
            1,
            "@desk_bot 沪深300 12个月 平值看涨 名义本金1000万 期权费多少",
        )
        .rfq_id
        .unwrap();
    let q = d.a.rfq_price(&rfq).unwrap();
    assert_eq!(q[0].status, QuoteStatus::Pending);
    let approval = q[0].approval_id.clone().unwrap();
    let (_, ta) = trader();
    let data = d.dir.path().join("data");
    corrupt(&data, "UPDATE rfq_quotes SET status = 'waiting'");
    assert_corrupt(d.a.rfq_get(&ta, &rfq), "rfq_quotes.status", "waiting");
    // The approval shows where its quote's delivery stands: that read fails too.
    assert_corrupt(
        d.a.get_approval(&ta, &approval),
        "rfq_quotes.status",
        "waiting",
    );
    corrupt(
        &data,
        "UPDATE rfq_quotes SET status = 'pending'; UPDATE rfqs SET status = 'done'",
    );
    assert_corrupt(
        d.a.rfq_list(&ta, &Default::default()),
        "rfqs.status",
        "done",
    );
    corrupt(
        &data,
        "UPDATE rfqs SET status = 'quoted';
         UPDATE chat_messages SET status = 'delivered' WHERE direction = 'out'",
    );
    assert_corrupt(d.a.rfq_get(&ta, &rfq), "chat_messages.status", "delivered");
    // An inbound disposition is read as one: an outbound status there is corrupt.
    corrupt(
        &data,
        "UPDATE chat_messages SET status = 'sent' WHERE direction = 'out';
         UPDATE chat_messages SET status = 'sending' WHERE direction = 'in'",
    );
    assert_corrupt(d.a.rfq_get(&ta, &rfq), "chat_messages.status", "sending");
}

#[test]
fn a_saved_draft_version_is_never_changed() {
    let (_dir, c) = fresh();
    c.execute_batch(
        "INSERT INTO drafts (id, template, template_version, language, title, trade, source,
                             version, created_at, created_by, updated_at, updated_by)
         VALUES ('dr_1', 't', 1, 'en', 'T', '{}', 'given', 1, 'now', 'u', 'now', 'u');
         INSERT INTO draft_versions (draft_id, version, text, structure, sha256, saved_at,
                                     saved_by, note)
         VALUES ('dr_1', 1, 'text', NULL, 'x', 'now', 'u', 'n');",
    )
    .unwrap();
    let err = c
        .execute(
            "UPDATE draft_versions SET text = 'changed' WHERE draft_id = 'dr_1'",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("never changed"), "{err}");
    let err = c
        .execute("INSERT INTO drafts (id, template, template_version, language, title, trade, source, version, created_at, created_by, updated_at, updated_by) VALUES ('dr_2', 't', 1, 'fr', 'T', '{}', 'given', 1, 'n', 'u', 'n', 'u')", [])
        .unwrap_err();
    assert!(err.to_string().contains("CHECK"), "{err}");
}

#[test]
fn a_final_document_a_signed_copy_and_a_markup_are_never_changed_and_a_document_is_dated_once() {
    let (_dir, c) = fresh();
    c.execute_batch(
        "INSERT INTO drafts (id, template, template_version, language, title, trade, source,
                             version, created_at, created_by, updated_at, updated_by)
         VALUES ('dr_1', 't', 1, 'en', 'T', '{}', 'given', 1, 'now', 'u', 'now', 'u');
         INSERT INTO draft_versions (draft_id, version, text, structure, sha256, saved_at,
                                     saved_by, note)
         VALUES ('dr_1', 1, 'text', NULL, 'x', 'now', 'u', 'n');
         INSERT INTO approvals (id, kind, title, classification, maker, maker_role, required_role,
                                four_eyes, state, created_at, expires_at, version)
         VALUES ('apr_1', 'confirmation_draft', 'T', 'important', 'u', 'legal', 'legal', 1,
                 'approved', 'now', 'later', 1);
         INSERT INTO draft_finals (draft_id, version, approval_id, parties, pages, pdf,
                                   pdf_sha256, docx, docx_sha256, finalised_at, finalised_by)
         VALUES ('dr_1', 1, 'apr_1', '[]', 3, x'25504446', 'p', x'504b', 'd', 'now', 'u');
         INSERT INTO draft_signatures (draft_id, version, party, signed_on, file_name, file,
                                       file_sha256, similarity, ocr, uploaded_at, uploaded_by)
         VALUES ('dr_1', 1, 'party_a', '2026-12-06', 'a.pdf', x'00', 's', 1.0, 0, 'now', 'u');",
    )
    .unwrap();
    let refused = |sql: &str, why: &str| {
        let err = c.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains(why), "{sql}: {err}");
    };
    refused(
        "UPDATE draft_finals SET pdf = x'00' WHERE draft_id = 'dr_1'",
        "never changed",
    );
    refused(
        "UPDATE draft_finals SET pdf_sha256 = 'q' WHERE draft_id = 'dr_1'",
        "never changed",
    );
    refused(
        "UPDATE draft_signatures SET signed_on = '2026-01-01' WHERE draft_id = 'dr_1'",
        "never changed",
    );
    refused(
        "INSERT INTO draft_signatures (draft_id, version, party, signed_on, file_name, file,
             file_sha256, similarity, ocr, uploaded_at, uploaded_by)
         VALUES ('dr_1', 1, 'party_c', 'd', 'c.pdf', x'00', 's', 1.0, 0, 'now', 'u')",
        "CHECK",
    );
    c.execute_batch(
        "INSERT INTO draft_markups (id, draft_id, version, file_name, file, file_sha256, ocr,
                                    result, issues, received_at, received_by)
         VALUES ('mk_1', 'dr_1', 1, 'theirs.docx', x'00', 's', 0, '{}', '# Issues', 'now', 'u');",
    )
    .unwrap();
    refused(
        "UPDATE draft_markups SET issues = 'rewritten' WHERE id = 'mk_1'",
        "never changed",
    );
    // Dated once: the first dating is allowed, a second is refused.
    c.execute(
        "UPDATE draft_finals SET executed_on = '2026-12-06', conformed_pdf = x'25', conformed_sha256 = 'c' WHERE draft_id = 'dr_1'",
        [],
    )
    .unwrap();
    refused(
        "UPDATE draft_finals SET executed_on = '2026-12-07' WHERE draft_id = 'dr_1'",
        "dated once",
    );
}

#[test]
fn an_imported_template_version_is_never_changed() {
    let (_dir, c) = fresh();
    c.execute_batch(
        "INSERT INTO templates (id, version, title, language, families, updated_at, updated_by)
         VALUES ('t.en', 1, 'T', 'en', '[]', 'now', 'u');
         INSERT INTO template_versions (template_id, version, source, sha256, origin, note,
                                        imported_at, imported_by)
         VALUES ('t.en', 1, 'md', 'x', 'demo', 'n', 'now', 'u');",
    )
    .unwrap();
    let err = c
        .execute("UPDATE template_versions SET source = 'changed'", [])
        .unwrap_err();
    assert!(err.to_string().contains("never changed"), "{err}");
    let err = c
        .execute("INSERT INTO templates (id, version, title, language, families, updated_at, updated_by) VALUES ('t.fr', 1, 'T', 'fr', '[]', 'n', 'u')", [])
        .unwrap_err();
    assert!(err.to_string().contains("CHECK"), "{err}");
}

#[test]
fn a_rule_catalogue_version_is_never_changed() {
    let (_dir, c) = fresh();
    c.execute_batch(
        "INSERT INTO compliance_catalogues (version, seq, parent, origin, note, sha256, provisions,
                                           firm_provisions, jrt, loaded_at, loaded_by)
         VALUES ('v1', 1, NULL, 'shared', 'n', 'x', 1, 0, '[]', 'now', 'u');
         INSERT INTO compliance_provisions (version, ord, id, body)
         VALUES ('v1', 0, 'drr:1', '{}');",
    )
    .unwrap();
    for sql in [
        "UPDATE compliance_catalogues SET note = 'rewritten' WHERE version = 'v1'",
        "UPDATE compliance_provisions SET body = '{\"text\":\"other\"}' WHERE id = 'drr:1'",
    ] {
        let err = c.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("never changed"), "{sql}: {err}");
    }
}

#[test]
fn stored_market_bars_are_never_changed() {
    let (_dir, c) = fresh();
    c.execute_batch(
        "INSERT INTO market_files (id, sha256, name, bars, notices, uploaded_by, uploaded_at)
         VALUES ('mf_1', 'x', 'a.csv', 1, '[]', 'u', 'now');
         INSERT INTO market_bars (contract, date, close, file_id)
         VALUES ('IF2406', '2024-06-03', 3610, 'mf_1');",
    )
    .unwrap();
    let err = c
        .execute(
            "UPDATE market_bars SET close = 3700 WHERE contract = 'IF2406'",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("never changed"), "{err}");
    // A price of zero or below cannot be stored either.
    let err = c
        .execute(
            "INSERT INTO market_bars (contract, date, close, file_id)
             VALUES ('IF2406', '2024-06-04', 0, 'mf_1')",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("CHECK"), "{err}");
}
