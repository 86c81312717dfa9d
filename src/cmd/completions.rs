//! `deskmate completions SHELL` and `deskmate man [--dir DIR]`: the shell completion scripts and
//! the man pages, generated from the command line's own definition by `clap_complete` and
//! `clap_mangen`, so they list every command, flag and choice as this binary has them.
//!
//! Install them, e.g. `deskmate completions bash > /etc/bash_completion.d/deskmate`,
//! `deskmate completions zsh > "${fpath[1]}/_deskmate"`, `deskmate man --dir /usr/local/share/man/man1`.

use anyhow::Context;
use clap::Args;
use clap_complete::Shell;
use std::path::PathBuf;

/// Arguments of `deskmate completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Arguments of `deskmate man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `deskmate.1` and one page per command (`deskmate-audit-verify.1`, …) into this
    /// directory instead of `deskmate.1` to standard output.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Prints the completion script of `args.shell` for `cmd`.
pub fn completions(args: &CompletionsArgs, mut cmd: clap::Command) -> anyhow::Result<()> {
    let name = cmd.get_name().to_string();
    // Into a buffer first: the generator panics on a failed write.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, name, &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script)
        .context("writing the completion script")
}

/// Writes the man page(s) of `cmd`.
pub fn man(args: &ManArgs, cmd: clap::Command) -> anyhow::Result<()> {
    match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("writing the man pages into {}", dir.display()))?;
            eprintln!("man pages written to {}", dir.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("writing the man page")?;
        }
    }
    Ok(())
}
