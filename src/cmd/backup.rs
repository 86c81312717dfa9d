//! `deskmate backup` and `deskmate restore`.

use assistant::backup;
use assistant::config::LoadedConfig;
use assistant::store::Store;
use clap::Args;
use std::path::PathBuf;

/// `deskmate backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// A new (or empty) directory to write the backup into.
    pub dir: PathBuf,
    /// Print the backup's manifest as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `deskmate restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A backup directory written by `deskmate backup`.
    pub dir: PathBuf,
    /// Only check the backup (hashes and audit chain); change nothing.
    #[arg(long)]
    pub check: bool,
    /// Print JSON: the backup's manifest with `--check`, else what the restore did.
    #[arg(long)]
    pub json: bool,
}

/// Writes a backup.
pub fn backup(args: BackupArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    let store = Store::open(&loaded.config.storage.data_dir)?;
    let m = backup::backup(&store, &args.dir)?;
    if args.json {
        super::print_json(&m);
        return Ok(());
    }
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
    Ok(())
}

/// Restores a backup, or checks one.
pub fn restore(args: RestoreArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    if args.check {
        let m = backup::check(&args.dir)?;
        if args.json {
            super::print_json(&m);
            return Ok(());
        }
        println!(
            "backup {} is intact (taken {})",
            args.dir.display(),
            m.created_at
        );
        return Ok(());
    }
    let r = backup::restore(&args.dir, &loaded.config.storage.data_dir)?;
    if args.json {
        super::print_json(&r);
        return Ok(());
    }
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
    Ok(())
}
