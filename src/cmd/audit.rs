//! `deskmate audit verify` and `deskmate audit export`.

use super::open;
use anyhow::Context;
use assistant::config::LoadedConfig;
use assistant::store::time;
use clap::Subcommand;
use std::io::Write;
use std::path::PathBuf;

/// Audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Walk the hash chain and compare its head with the anchor; exit 1 naming the first broken
    /// entry if anything was edited, deleted, inserted, reordered or truncated.
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write entries as JSON lines (to stdout or `--out`).
    Export {
        /// Entries at or after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z).
        #[arg(long)]
        from: Option<String>,
        /// Entries before this time.
        #[arg(long)]
        to: Option<String>,
        /// Output file (default stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn when(flag: &str, v: Option<String>) -> anyhow::Result<Option<String>> {
    v.map(|s| {
        time::parse(&s).map(time::fmt).with_context(|| {
            format!("{flag} {s:?} is not an RFC 3339 time such as 2026-11-01T00:00:00Z")
        })
    })
    .transpose()
}

/// Runs an audit command.
pub fn run(cmd: AuditCmd, loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    match cmd {
        AuditCmd::Verify { json } => {
            let r = a.store().verify_audit()?;
            if json {
                super::print_json(&r);
            } else {
                let ui = super::ui::Ui::from_env();
                match (&r.first_break, &r.head) {
                    (None, Some(h)) => {
                        let anchor = r.anchor.is_some();
                        println!(
                            "{}",
                            ui.good(&if ui.lang == super::ui::Lang::Zh {
                                format!(
                                    "审计日志完整：{} 条记录，最新 {} {}{}",
                                    r.entries_verified,
                                    h.seq,
                                    h.hash,
                                    if anchor {
                                        "，与锚点一致"
                                    } else {
                                        "（尚无锚点）"
                                    }
                                )
                            } else {
                                format!(
                                    "audit log intact: {} entries, head {} {}{}",
                                    r.entries_verified,
                                    h.seq,
                                    h.hash,
                                    if anchor {
                                        ", matches the anchor"
                                    } else {
                                        " (no anchor yet)"
                                    }
                                )
                            })
                        );
                    }
                    (None, None) => println!("{}", ui.t("audit log is empty", "审计日志为空")),
                    (Some(b), _) => println!(
                        "{}",
                        ui.bad(&if ui.lang == super::ui::Lang::Zh {
                            format!(
                                "审计日志在第 {} 条处断裂：{b}（此前已核验 {} 条）",
                                b.seq, r.entries_verified
                            )
                        } else {
                            format!(
                                "AUDIT LOG BROKEN at entry {}: {b} ({} entries verified before it)",
                                b.seq, r.entries_verified
                            )
                        })
                    ),
                }
            }
            match &r.first_break {
                None => Ok(()),
                Some(b) => Err(crate::Exit::error(
                    crate::Status::Integrity,
                    format!("the audit log is broken at entry {}", b.seq),
                )),
            }
        }
        AuditCmd::Export { from, to, out } => {
            let (from, to) = (when("--from", from)?, when("--to", to)?);
            let mut sink: Box<dyn Write> = match &out {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("cannot create {}", p.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut next = 1;
            let mut n = 0usize;
            loop {
                let batch = a
                    .store()
                    .audit_entries(next, from.as_deref(), to.as_deref(), 5000)?;
                let Some(last) = batch.last() else { break };
                next = last.seq + 1;
                for e in &batch {
                    serde_json::to_writer(&mut sink, e)?;
                    sink.write_all(b"\n")?;
                    n += 1;
                }
            }
            sink.flush()?;
            eprintln!("exported {n} entries");
            Ok(())
        }
    }
}
