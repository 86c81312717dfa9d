//! The embedded SQLite store and the audit log written inside its transactions.
//!
//! One file, `deskmate.db`, in the data dir, in WAL mode with foreign keys on and `synchronous =
//! FULL`, so that a committed write survives a crash or power loss and an interrupted one leaves
//! no trace. Every write goes through [`Store::write`]: one `BEGIN IMMEDIATE` transaction in which
//! the change and its audit entries are written together, so the audit log can never miss a
//! change nor record one that did not happen. After each commit that appended entries, the chain
//! head is written to the anchor file `audit.anchor` (and the server log), which is how
//! `audit verify` detects truncation of the newest entries.

mod anchor;
pub use anchor::ANCHOR_FILE;
pub mod migrations;
pub mod sql;
pub mod time;

pub use anchor::AnchorFile;

use policies::audit::{AuditAnchor, AuditEntry, ChainBreak, ChainVerifier, GENESIS_HASH};
use policies::{DataClass, Principal, Role};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The database file name inside the data dir.
pub const DB_FILE: &str = "deskmate.db";
const READERS: usize = 4;

/// A failure of the storage layer (our bug, the disk's, or a database someone tampered with).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file in the data dir cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database was written by a newer Deskmate.
    #[error(
        "database schema version {found} is newer than this binary supports ({supported}); upgrade deskmate"
    )]
    SchemaTooNew {
        /// The version in the file.
        found: i64,
        /// The newest this binary knows.
        supported: i64,
    },
    /// A stored value its column does not allow (a tampered or corrupt database).
    #[error("corrupt data: {0}")]
    Invalid(#[from] sql::InvalidStored),
    /// Stored data does not decode (a tampered or corrupt database).
    #[error("corrupt data in {table}: {message}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What does not decode.
        message: String,
    },
}

/// Actor names the system writes under (the system itself, the local operator's CLI, the RFQ
/// desk): no user may be created with one of them, in any letter case, so that an audit entry
/// under such a name is always the system's or the operator's own.
pub const RESERVED_ACTORS: &[&str] = &[SYSTEM_ACTOR, OPERATOR_ACTOR, DESK_ACTOR];
/// The system acting on its own.
pub const SYSTEM_ACTOR: &str = "system";
/// The local operator's CLI (`deskmate users …`, `deskmate ingest …`).
pub const OPERATOR_ACTOR: &str = "cli-operator";
/// The RFQ desk's automatic replies and quotes.
pub const DESK_ACTOR: &str = "rfq-desk";

/// Whether `name` is one of [`RESERVED_ACTORS`], ignoring letter case.
pub fn is_reserved_actor(name: &str) -> bool {
    RESERVED_ACTORS.iter().any(|r| r.eq_ignore_ascii_case(name))
}

/// Who is acting, for permissions and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The user name (`system` for the system itself).
    pub user: String,
    /// The user's role; `None` for the system itself.
    pub role: Option<Role>,
    /// The HTTP request id, when acting for a request.
    pub request_id: Option<String>,
}

impl Actor {
    /// The system acting on its own (expiry sweeps, migrations, bootstrap).
    pub fn system() -> Actor {
        Actor {
            user: SYSTEM_ACTOR.into(),
            role: None,
            request_id: None,
        }
    }

    /// A user acting through a request (or the CLI, with no request id).
    pub fn user(principal: &Principal, request_id: Option<String>) -> Actor {
        Actor {
            user: principal.user.clone(),
            role: Some(principal.role),
            request_id,
        }
    }

    /// What the actor may read: the role's clearance, or everything for the system and the
    /// CLI operator acting without a role.
    pub fn clearance(&self) -> policies::Clearance {
        self.role
            .map(policies::Clearance::of)
            .unwrap_or(policies::Clearance {
                max_level: policies::Level::Core,
                sensitive: true,
            })
    }

    /// The role name written to the audit log.
    pub fn role_name(&self) -> &'static str {
        self.role.map(Role::as_str).unwrap_or("system")
    }
}

/// What an audit entry records, besides who and when (taken from the [`Actor`] and the clock).
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    /// Dotted action name (`approval.approve`).
    pub action: &'a str,
    /// Kind of object acted on.
    pub object_kind: &'a str,
    /// Id of the object.
    pub object_id: &'a str,
    /// The object's classification.
    pub class: DataClass,
    /// Everything else worth keeping.
    pub details: Value,
}

/// A write transaction; dropped without [`Store::write`] returning `Ok`, it rolls back.
pub struct WriteTx<'c> {
    tx: rusqlite::Transaction<'c>,
    actor: &'c Actor,
    head: (u64, [u8; 32]),
    appended: bool,
}

impl WriteTx<'_> {
    /// The connection, for the change's own statements.
    pub fn conn(&self) -> &Connection {
        &self.tx
    }

    /// The acting user.
    pub fn actor(&self) -> &Actor {
        self.actor
    }

    /// Appends an audit entry in this transaction; returns its sequence number.
    pub fn audit(&mut self, rec: AuditRecord<'_>) -> Result<u64, StoreError> {
        let mut e = AuditEntry {
            seq: self.head.0 + 1,
            time: time::fmt(time::now()),
            actor: self.actor.user.clone(),
            role: self.actor.role_name().into(),
            action: rec.action.into(),
            object_kind: rec.object_kind.into(),
            object_id: rec.object_id.into(),
            classification: rec.class.to_string(),
            request_id: self.actor.request_id.clone(),
            details: rec.details,
            prev_hash: String::new(),
            hash: String::new(),
        };
        e.seal(&self.head.1);
        let mut canonical = Vec::new();
        policies::audit::write_canonical(&e.details, &mut canonical);
        self.tx.execute(
            "INSERT INTO audit_log (seq, time, actor, role, action, object_kind, object_id,
                classification, request_id, details, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                e.seq as i64,
                e.time,
                e.actor,
                e.role,
                e.action,
                e.object_kind,
                e.object_id,
                e.classification,
                e.request_id,
                String::from_utf8(canonical).expect("JSON is UTF-8"),
                e.prev_hash,
                e.hash
            ],
        )?;
        let mut h = [0u8; 32];
        hex::decode_to_slice(&e.hash, &mut h).expect("we just wrote hex");
        self.head = (e.seq, h);
        self.appended = true;
        Ok(e.seq)
    }
}

struct Inner {
    data_dir: PathBuf,
    // Readers are declared (and so dropped) before the writer: the last connection to close
    // checkpoints the WAL into the main file, and only the read-write one can.
    readers: Vec<Mutex<Connection>>,
    writer: Mutex<Connection>,
    next_reader: AtomicUsize,
    anchor: AnchorFile,
}

/// The store: a writer connection, a few reader connections, and the anchor file. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// The result of walking the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Entries that verified before the first break (all of them when intact).
    pub entries_verified: u64,
    /// The last entry in the database.
    pub head: Option<AuditAnchor>,
    /// The anchor read from outside the database.
    pub anchor: Option<AuditAnchor>,
    /// The first break, if any.
    pub first_break: Option<ChainBreak>,
}

impl VerifyReport {
    /// Whether the chain is intact and agrees with the anchor.
    pub fn ok(&self) -> bool {
        self.first_break.is_none()
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir` and applies pending migrations.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        let data_dir = data_dir.canonicalize().map_err(io_err(data_dir))?;
        let db = data_dir.join(DB_FILE);
        let mut writer = Connection::open(&db)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt {
                table: "pragma",
                message: format!("journal_mode is {mode}, WAL could not be enabled"),
            });
        }
        configure(&writer)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| {
                let c = Connection::open_with_flags(
                    &db,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&c)?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let anchor = AnchorFile::new(&data_dir);
        Ok(Store {
            inner: Arc::new(Inner {
                data_dir,
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                anchor,
            }),
        })
    }

    /// The (canonical) data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// The anchor file beside the database.
    pub fn anchor(&self) -> &AnchorFile {
        &self.inner.anchor
    }

    /// Runs `f` in one write transaction with audit entries appended through [`WriteTx::audit`].
    /// Commits if `f` returns `Ok`, rolls back otherwise; then anchors the new audit head.
    pub fn write<T, E>(
        &self,
        actor: &Actor,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let (out, head, appended) = {
            let mut conn = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::from)?;
            let head = read_head(&tx)?;
            let mut wtx = WriteTx {
                tx,
                actor,
                head,
                appended: false,
            };
            let out = f(&mut wtx)?;
            let WriteTx {
                tx, head, appended, ..
            } = wtx;
            tx.commit().map_err(StoreError::from)?;
            (out, head, appended)
        };
        if appended {
            let a = AuditAnchor {
                seq: head.0,
                hash: hex::encode(head.1),
            };
            tracing::info!(target: "deskmate::audit", seq = a.seq, hash = %a.hash, "audit head");
            if let Err(e) = self.inner.anchor.advance(&a) {
                // The change is committed; a stale anchor only weakens truncation detection until
                // the next commit, so log loudly rather than fail the request.
                tracing::error!(error = %e, "could not write the audit anchor");
            }
        }
        Ok(out)
    }

    /// Runs `f` on a read-only connection (a consistent snapshot for the statement's duration).
    pub fn read<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E> {
        let n = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        let readers = &self.inner.readers;
        // Prefer a free reader; wait for one only if all are busy.
        let guard = (0..readers.len())
            .find_map(|i| readers[(n + i) % readers.len()].try_lock().ok())
            .unwrap_or_else(|| {
                readers[n % readers.len()]
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
            });
        f(&guard)
    }

    /// Walks the whole audit chain and compares its head with the anchor.
    pub fn verify_audit(&self) -> Result<VerifyReport, StoreError> {
        let anchor = self.inner.anchor.read()?;
        self.read(|c| verify_chain(c, anchor))
    }

    /// Audit entries with `from_seq <= seq`, optionally bounded by time, oldest first.
    pub fn audit_entries(
        &self,
        from_seq: u64,
        from_time: Option<&str>,
        to_time: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT seq, time, actor, role, action, object_kind, object_id, classification,
                        request_id, details, prev_hash, hash
                 FROM audit_log
                 WHERE seq >= ?1 AND (?2 IS NULL OR time >= ?2) AND (?3 IS NULL OR time < ?3)
                 ORDER BY seq LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![from_seq as i64, from_time, to_time, limit as i64],
                row_to_entry,
            )?;
            let mut out = Vec::new();
            for r in rows {
                out.push(r??);
            }
            Ok(out)
        })
    }

    /// The current audit head, if the log is not empty.
    pub fn audit_head(&self) -> Result<Option<AuditAnchor>, StoreError> {
        self.read(|c| {
            let (seq, hash) = read_head(c)?;
            Ok((seq > 0).then(|| AuditAnchor {
                seq,
                hash: hex::encode(hash),
            }))
        })
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?))
    }

    /// Checks that the database answers (for `/readyz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        self.read(|c| {
            Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())?)
        })
    }

    /// Copies a consistent snapshot of the database to `dest` (online: writers may keep going).
    pub fn snapshot_to(&self, dest: &Path) -> Result<(), StoreError> {
        self.read(|c| {
            c.backup(
                rusqlite::MAIN_DB,
                dest,
                None::<fn(rusqlite::backup::Progress)>,
            )?;
            Ok(())
        })
    }
}

/// The audit entries of the given objects (`(object_kind, object_id)` pairs), oldest first, at
/// most `limit`: an object's trail.
pub(crate) fn audit_of_objects(
    c: &Connection,
    objects: &[(String, String)],
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    let pairs = vec!["(?, ?)"; objects.len()].join(", ");
    let mut stmt = c.prepare(&format!(
        "SELECT seq, time, actor, role, action, object_kind, object_id, classification,
                request_id, details, prev_hash, hash
         FROM audit_log WHERE (object_kind, object_id) IN (VALUES {pairs})
         ORDER BY seq LIMIT {limit}"
    ))?;
    let flat: Vec<&dyn rusqlite::ToSql> = objects
        .iter()
        .flat_map(|(k, i)| [k as &dyn rusqlite::ToSql, i as &dyn rusqlite::ToSql])
        .collect();
    let rows = stmt.query_map(flat.as_slice(), row_to_entry)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r??);
    }
    Ok(out)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let supported = migrations::MIGRATIONS.len() as i64;
    if current > supported {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported,
        });
    }
    for (i, sql) in migrations::MIGRATIONS
        .iter()
        .enumerate()
        .skip(current as usize)
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied database migration");
    }
    Ok(())
}

fn read_head(c: &Connection) -> Result<(u64, [u8; 32]), StoreError> {
    let row: Option<(i64, String)> = c
        .query_row(
            "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        None => Ok((0, GENESIS_HASH)),
        Some((seq, hash)) => {
            let mut h = [0u8; 32];
            hex::decode_to_slice(&hash, &mut h).map_err(|_| StoreError::Corrupt {
                table: "audit_log",
                message: format!("entry {seq} has a malformed hash; run `deskmate audit verify`"),
            })?;
            Ok((seq as u64, h))
        }
    }
}

type EntryResult = Result<AuditEntry, StoreError>;

fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntryResult> {
    let seq: i64 = r.get(0)?;
    let details: String = r.get(9)?;
    let details = match serde_json::from_str(&details) {
        Ok(v) => v,
        Err(e) => {
            return Ok(Err(StoreError::Corrupt {
                table: "audit_log",
                message: format!("entry {seq}: details are not JSON: {e}"),
            }));
        }
    };
    Ok(Ok(AuditEntry {
        seq: seq as u64,
        time: r.get(1)?,
        actor: r.get(2)?,
        role: r.get(3)?,
        action: r.get(4)?,
        object_kind: r.get(5)?,
        object_id: r.get(6)?,
        classification: r.get(7)?,
        request_id: r.get(8)?,
        details,
        prev_hash: r.get(10)?,
        hash: r.get(11)?,
    }))
}

/// Walks the chain in `c`, reading rows in physical (rowid) order so that no index can hide a
/// reordering, and checks the head against `anchor`.
pub fn verify_chain(
    c: &Connection,
    anchor: Option<AuditAnchor>,
) -> Result<VerifyReport, StoreError> {
    let mut v = ChainVerifier::new(anchor.clone());
    let mut stmt = c.prepare(
        "SELECT seq, time, actor, role, action, object_kind, object_id, classification,
                request_id, details, prev_hash, hash
         FROM audit_log ORDER BY rowid",
    )?;
    let mut rows = stmt.query([])?;
    let mut last: Option<AuditAnchor> = None;
    while let Some(row) = rows.next()? {
        // A row whose columns do not even decode counts as modified content.
        let entry = match row_to_entry(row) {
            Ok(Ok(e)) => e,
            Ok(Err(_)) | Err(_) => {
                let seq: i64 = row.get(0).unwrap_or(-1);
                let mut broken = AuditEntry {
                    seq: seq.max(0) as u64,
                    time: String::new(),
                    actor: String::new(),
                    role: String::new(),
                    action: String::new(),
                    object_kind: String::new(),
                    object_id: String::new(),
                    classification: String::new(),
                    request_id: None,
                    details: Value::Null,
                    prev_hash: String::new(),
                    hash: String::new(),
                };
                broken.hash = "not a hash".into();
                broken
            }
        };
        last = Some(AuditAnchor {
            seq: entry.seq,
            hash: entry.hash.clone(),
        });
        if !v.push(&entry) {
            break;
        }
    }
    let (entries_verified, first_break) = v.finish();
    let head = read_head(c).ok().and_then(|(seq, hash)| {
        (seq > 0).then(|| AuditAnchor {
            seq,
            hash: hex::encode(hash),
        })
    });
    Ok(VerifyReport {
        entries_verified,
        head: head.or(last),
        anchor,
        first_break,
    })
}
