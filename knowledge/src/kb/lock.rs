//! The single-writer lock of a knowledge-base directory ([`KbLock`] on [`LOCK_FILE`]): one
//! process at a time opens a knowledge base, and the lock file names the one that holds it.

use crate::error::KnowledgeError;
use std::path::Path;

/// The lock file inside the knowledge-base directory.
pub const LOCK_FILE: &str = "kb.lock";

/// The single-writer lock of a knowledge-base directory: an exclusive advisory lock on
/// [`LOCK_FILE`], whose content names the holder. Released when dropped (or when the process
/// dies).
#[derive(Debug)]
pub struct KbLock {
    _file: std::fs::File,
}

impl KbLock {
    /// Takes the lock for `holder` (`server`, `deskmate ingest`), or says who holds it.
    pub fn acquire(dir: &Path, holder: &str) -> Result<KbLock, KnowledgeError> {
        use std::io::{Read, Seek, Write};
        let path = dir.join(LOCK_FILE);
        let io = |source| KnowledgeError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if let Err(e) = file.try_lock() {
            if let std::fs::TryLockError::Error(source) = e {
                return Err(io(source));
            }
            let mut who = String::new();
            let _ = file.read_to_string(&mut who);
            return Err(KnowledgeError::Locked {
                path: dir.to_path_buf(),
                holder: if who.trim().is_empty() {
                    "another process".into()
                } else {
                    who.trim().to_string()
                },
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{holder}, pid {}", std::process::id()).map_err(io)?;
        Ok(KbLock { _file: file })
    }
}
