//! The audit anchor: the chain head written outside the database after every commit.
//!
//! Someone who can edit the database can delete the newest audit entries without breaking the
//! chain; the anchor file (and the same line in the server log) still names the head they removed.
//! Writes are atomic (temporary file, fsync, rename) and monotonic: a process never moves the
//! anchor backwards, even if another process committed a newer head first.

use super::StoreError;
use policies::audit::AuditAnchor;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The anchor file name inside the data dir.
pub const ANCHOR_FILE: &str = "audit.anchor";

/// The anchor file of one data dir.
#[derive(Debug, Clone)]
pub struct AnchorFile {
    path: PathBuf,
    lock_path: PathBuf,
}

impl AnchorFile {
    /// The anchor of the data dir `dir`.
    pub fn new(dir: &Path) -> AnchorFile {
        AnchorFile {
            path: dir.join(ANCHOR_FILE),
            lock_path: dir.join("audit.anchor.lock"),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the anchor; `None` if none was ever written.
    pub fn read(&self) -> Result<Option<AuditAnchor>, StoreError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| StoreError::Corrupt {
                    table: "audit.anchor",
                    message: format!("{} is not a valid anchor: {e}", self.path.display()),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Moves the anchor to `head` unless it already names a later entry.
    pub fn advance(&self, head: &AuditAnchor) -> Result<(), StoreError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(io(&self.lock_path))?;
        lock.lock().map_err(io(&self.lock_path))?;
        if let Some(cur) = self.read()?
            && cur.seq >= head.seq
        {
            return Ok(());
        }
        self.write_unconditionally(head)
    }

    /// Replaces the anchor (used by restore, which installs a backup's own anchor).
    pub fn write_unconditionally(&self, head: &AuditAnchor) -> Result<(), StoreError> {
        let tmp = self.path.with_extension("anchor.tmp");
        let io = |source| StoreError::Io {
            path: tmp.clone(),
            source,
        };
        let mut f = File::create(&tmp).map_err(io)?;
        f.write_all(
            serde_json::to_string(head)
                .expect("anchor serialises")
                .as_bytes(),
        )
        .map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}
