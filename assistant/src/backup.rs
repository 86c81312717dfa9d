//! Backup and restore of the data dir.
//!
//! A backup is a directory holding a consistent snapshot of the database (SQLite's online backup
//! API, so a running server keeps serving), the audit anchor matching that snapshot, and
//! `MANIFEST.json` with the SHA-256 of every file. Restore checks the hashes and the audit chain
//! of the backup before touching anything, refuses while a server holds the data dir, keeps the
//! replaced data dir beside the new one, and swaps directories by rename so that a crash leaves
//! either the old or the new data dir, never a mixture.

use crate::lock::{DataDirLock, LockError};
use crate::store::{self, AnchorFile, Store, StoreError, time};
use policies::audit::AuditAnchor;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The manifest file of a backup.
pub const MANIFEST: &str = "MANIFEST.json";

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// When it was taken.
    pub created_at: String,
    /// The Deskmate version that took it.
    pub deskmate_version: String,
    /// The database schema version.
    pub schema_version: i64,
    /// The audit head in the snapshot.
    pub audit_head: Option<AuditAnchor>,
    /// File name → SHA-256 (hex).
    pub files: BTreeMap<String, String>,
}

/// Why a backup or restore failed; nothing was changed when it does.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The destination exists and is not empty.
    #[error("backup destination {0} already exists and is not empty")]
    DestinationNotEmpty(PathBuf),
    /// The backup is incomplete or was altered.
    #[error("backup {dir} is not intact: {problem}")]
    NotIntact {
        /// The backup directory.
        dir: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A server holds the data dir.
    #[error(transparent)]
    Locked(#[from] LockError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn sha256_file(path: &Path) -> Result<String, BackupError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Writes a backup of `store` to the new directory `dest`.
pub fn backup(store: &Store, dest: &Path) -> Result<BackupManifest, BackupError> {
    if dest.exists() && std::fs::read_dir(dest).map_err(io(dest))?.next().is_some() {
        return Err(BackupError::DestinationNotEmpty(dest.to_path_buf()));
    }
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let tmp = parent.join(format!(
        ".{}.partial",
        dest.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("backup")
    ));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let db = tmp.join(store::DB_FILE);
    store.snapshot_to(&db)?;
    // The anchor must describe the snapshot, not the live database, which may have moved on.
    let snap =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(StoreError::from)?;
    let report = store::verify_chain(&snap, None)?;
    if let Some(b) = report.first_break {
        return Err(BackupError::NotIntact {
            dir: store.data_dir().to_path_buf(),
            problem: format!("the live audit chain is broken: {b}; run `deskmate audit verify`"),
        });
    }
    let schema_version: i64 = snap
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(StoreError::from)?;
    drop(snap);
    if let Some(head) = &report.head {
        AnchorFile::new(&tmp).write_unconditionally(head)?;
    }
    let mut files = BTreeMap::new();
    for name in [store::DB_FILE, store::ANCHOR_FILE] {
        let p = tmp.join(name);
        if p.exists() {
            files.insert(name.to_string(), sha256_file(&p)?);
        }
    }
    let manifest = BackupManifest {
        created_at: time::fmt(time::now()),
        deskmate_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        audit_head: report.head,
        files,
    };
    let mpath = tmp.join(MANIFEST);
    std::fs::write(
        &mpath,
        serde_json::to_vec_pretty(&manifest).expect("manifest serialises"),
    )
    .map_err(io(&mpath))?;
    if dest.exists() {
        std::fs::remove_dir(dest).map_err(io(dest))?;
    }
    std::fs::rename(&tmp, dest).map_err(io(dest))?;
    Ok(manifest)
}

/// Checks a backup's files and audit chain without changing anything.
pub fn check(dir: &Path) -> Result<BackupManifest, BackupError> {
    let not_intact = |problem: String| BackupError::NotIntact {
        dir: dir.to_path_buf(),
        problem,
    };
    let mpath = dir.join(MANIFEST);
    let text =
        std::fs::read_to_string(&mpath).map_err(|e| not_intact(format!("{MANIFEST}: {e}")))?;
    let manifest: BackupManifest =
        serde_json::from_str(&text).map_err(|e| not_intact(format!("{MANIFEST}: {e}")))?;
    if !manifest.files.contains_key(store::DB_FILE) {
        return Err(not_intact(format!(
            "the manifest lists no {}",
            store::DB_FILE
        )));
    }
    for (name, want) in &manifest.files {
        let p = dir.join(name);
        if !p.exists() {
            return Err(not_intact(format!("{name} is missing")));
        }
        if &sha256_file(&p)? != want {
            return Err(not_intact(format!(
                "{name} does not match its SHA-256 in the manifest"
            )));
        }
    }
    let anchor = AnchorFile::new(dir).read()?;
    let conn = rusqlite::Connection::open_with_flags(
        dir.join(store::DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .map_err(StoreError::from)?;
    let report = store::verify_chain(&conn, anchor)?;
    if let Some(b) = report.first_break {
        return Err(not_intact(format!("audit chain: {b}")));
    }
    Ok(manifest)
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The restored backup's manifest.
    pub manifest: BackupManifest,
    /// Where the replaced data dir was kept, if there was one.
    pub previous_data_dir: Option<PathBuf>,
}

/// Replaces `data_dir` with the backup in `dir`.
pub fn restore(dir: &Path, data_dir: &Path) -> Result<RestoreReport, BackupError> {
    let manifest = check(dir)?;
    let lock = if data_dir.exists() {
        Some(DataDirLock::acquire(data_dir, "restore")?)
    } else {
        None
    };
    let name = data_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("data");
    let parent = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let staging = parent.join(format!(".{name}.restoring"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    for file in manifest.files.keys() {
        let to = staging.join(file);
        std::fs::copy(dir.join(file), &to).map_err(io(&to))?;
        std::fs::File::open(&to)
            .and_then(|f| f.sync_all())
            .map_err(io(&to))?;
    }
    let previous = if data_dir.exists() {
        let stamp = time::fmt(time::now()).replace([':', '.'], "-");
        let kept = parent.join(format!("{name}.before-restore-{stamp}"));
        std::fs::rename(data_dir, &kept).map_err(io(data_dir))?;
        Some(kept)
    } else {
        None
    };
    drop(lock);
    std::fs::rename(&staging, data_dir).map_err(io(data_dir))?;
    Ok(RestoreReport {
        manifest,
        previous_data_dir: previous,
    })
}
