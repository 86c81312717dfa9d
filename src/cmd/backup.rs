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
    let ui = super::ui::Ui::from_env();
    let head = m
        .audit_head
        .map(|h| h.seq.to_string())
        .unwrap_or_else(|| ui.t("empty", "空").into());
    println!(
        "{}",
        if ui.lang == super::ui::Lang::Zh {
            format!(
                "备份已写入 {}（数据库版本 {}，审计日志最新记录 {head}）",
                args.dir.display(),
                m.schema_version
            )
        } else {
            format!(
                "backup written to {} (schema {}, audit head {head})",
                args.dir.display(),
                m.schema_version
            )
        }
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
    let ui = super::ui::Ui::from_env();
    let (from, to) = (
        args.dir.display().to_string(),
        loaded.config.storage.data_dir.display().to_string(),
    );
    println!(
        "{}",
        ui.t(
            &format!("restored {from} into {to}"),
            &format!("已将 {from} 恢复到 {to}")
        )
    );
    if let Some(prev) = r.previous_data_dir {
        let prev = prev.display().to_string();
        println!(
            "{}",
            ui.t(
                &format!("the previous data dir was kept at {prev}"),
                &format!("原数据目录保留在 {prev}")
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}
