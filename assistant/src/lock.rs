//! The data-dir lock: one server per data dir, and no restore under a running server.
//!
//! The server holds an exclusive advisory lock on `deskmate.lock` for its lifetime; the file says
//! who holds it. Commands that replace the data dir wholesale (restore) take the same lock and so
//! refuse to run while a server is up. Ordinary writes need no lock: SQLite serialises them.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file name inside the data dir.
pub const LOCK_FILE: &str = "deskmate.lock";

/// Why the lock cannot be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Someone else holds it.
    #[error("the data dir {dir} is in use ({holder}); stop that process first")]
    Held {
        /// The data dir.
        dir: PathBuf,
        /// What the lock file says about its holder.
        holder: String,
    },
    /// The lock file cannot be opened.
    #[error("cannot open lock file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A held data-dir lock, released on drop.
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
}

impl DataDirLock {
    /// Takes the lock for `purpose` (`server`, `restore`) or says who holds it.
    pub fn acquire(dir: &Path, purpose: &str) -> Result<DataDirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if let Err(e) = file.try_lock() {
            if let TryLockError::Error(source) = e {
                return Err(LockError::Io { path, source });
            }
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(LockError::Held {
                dir: dir.to_path_buf(),
                holder: if holder.trim().is_empty() {
                    "unknown holder".into()
                } else {
                    holder.trim().into()
                },
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{purpose}, pid {}", std::process::id()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(DataDirLock { file })
    }
}

impl Drop for DataDirLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let held = DataDirLock::acquire(dir.path(), "server").unwrap();
        let err = DataDirLock::acquire(dir.path(), "restore")
            .unwrap_err()
            .to_string();
        assert!(err.contains("server, pid"), "{err}");
        drop(held);
        DataDirLock::acquire(dir.path(), "restore").unwrap();
    }
}
