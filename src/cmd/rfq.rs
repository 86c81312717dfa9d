//! `deskmate rfq`: the RFQ desk from the command line.
//!
//! `deskmate rfq parse "MESSAGE"` prints the canonical JSON of `shared/schemas/rfq.md` for the
//! message on standard output, as one compact line (`{"requests":[...],"missing":[...]}`, every
//! request with all seventeen fields in schema order), followed by a newline: this exact output
//! is what evaluation compares. `--pretty` indents it instead; `--explain` adds the confidence,
//! the path, the problems and the clarifying question on standard error, leaving standard output
//! unchanged.

use anyhow::Context;
use assistant::rfq::clarify::question;
use assistant::rfq::{Lexicon, ParseContext, RfqParser};
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Arguments of `deskmate rfq`.
#[derive(Debug, Args)]
pub struct RfqArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: RfqCommand,
}

/// The `rfq` subcommands.
#[derive(Debug, Subcommand)]
pub enum RfqCommand {
    /// Parse a chat message and print its canonical JSON (shared/schemas/rfq.md) on one line.
    Parse(ParseArgs),
}

/// Arguments of `deskmate rfq parse`.
#[derive(Debug, Args)]
pub struct ParseArgs {
    /// The chat message, as the client wrote it.
    pub message: String,
    /// Indent the JSON (evaluation compares the default one-line form).
    #[arg(long)]
    pub pretty: bool,
    /// Also print confidence, path, problems and the clarifying question on standard error.
    #[arg(long)]
    pub explain: bool,
    /// The date the message was received (YYYY-MM-DD), for futures months written without a
    /// year; default: today (UTC).
    #[arg(long)]
    pub today: Option<String>,
    /// A directory holding underlyings.toml, futures.toml, vocab.toml and variants.toml that
    /// replace the built-in lexicon.
    #[arg(long, env = "DESKMATE_RFQ_LEXICON")]
    pub lexicon: Option<PathBuf>,
}

/// Runs `deskmate rfq`.
pub fn run(args: RfqArgs) -> anyhow::Result<()> {
    match args.command {
        RfqCommand::Parse(a) => parse(a),
    }
}

fn parse(a: ParseArgs) -> anyhow::Result<()> {
    let ctx = match &a.today {
        Some(d) => ParseContext::from_iso(d)
            .with_context(|| format!("--today {d:?} is not a YYYY-MM-DD date"))?,
        None => ParseContext::today_utc(),
    };
    let owned;
    let parser = match &a.lexicon {
        Some(dir) => {
            let lex = Lexicon::load_dir(dir)
                .with_context(|| format!("loading the RFQ lexicon from {}", dir.display()))?;
            owned = RfqParser::new(lex);
            &owned
        }
        None => RfqParser::builtin(),
    };
    let out = parser.parse(&a.message, &ctx);
    if a.pretty {
        println!("{}", serde_json::to_string_pretty(&out.parse)?);
    } else {
        println!("{}", out.parse.to_json());
    }
    if a.explain {
        eprintln!("confidence {:.2}, path {:?}", out.confidence, out.path);
        for p in &out.problems {
            eprintln!("problem: {p}");
        }
        if let Some(q) = question(&out.parse, out.language) {
            eprintln!("question: {q}");
        }
    }
    Ok(())
}
