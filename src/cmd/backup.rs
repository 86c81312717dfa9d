//! `deskmate backup` and `deskmate restore`.

use assistant::backup;
use assistant::config::LoadedConfig;
use assistant::store::Store;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

/// `deskmate backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// A new (or empty) directory to write the backup into.
    pub dir: PathBuf,
}

/// `deskmate restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A backup directory written by `deskmate backup`.
    pub dir: PathBuf,
    /// Only check the backup (hashes and audit chain); change nothing.
    #[arg(long)]
    pub check: bool,
}

/// Writes a backup.
pub fn backup(args: BackupArgs, loaded: LoadedConfig) -> anyhow::Result<ExitCode> {
    let store = Store::open(&loaded.config.storage.data_dir)?;
    let m = backup::backup(&store, &args.dir)?;
    println!(
        "backup written to {} (schema {}, audit head {})",
        args.dir.display(),
        m.schema_version,
        m.audit_head
            .map(|h| h.seq.to_string())
            .unwrap_or_else(|| "empty".into())
    );
    Ok(ExitCode::SUCCESS)
}

/// Restores a backup, or checks one.
pub fn restore(args: RestoreArgs, loaded: LoadedConfig) -> anyhow::Result<ExitCode> {
    if args.check {
        let m = backup::check(&args.dir)?;
        println!(
            "backup {} is intact (taken {})",
            args.dir.display(),
            m.created_at
        );
        return Ok(ExitCode::SUCCESS);
    }
    let r = backup::restore(&args.dir, &loaded.config.storage.data_dir)?;
    println!(
        "restored {} into {}",
        args.dir.display(),
        loaded.config.storage.data_dir.display()
    );
    if let Some(prev) = r.previous_data_dir {
        println!("the previous data dir was kept at {}", prev.display());
    }
    Ok(ExitCode::SUCCESS)
}
