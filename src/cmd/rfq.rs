//! `deskmate rfq`: the RFQ desk from the command line.
//!
//! `deskmate rfq parse "MESSAGE"` prints the canonical JSON of `shared/schemas/rfq.md` for the
//! message on standard output, as one compact line (`{"requests":[...],"missing":[...]}`, every
//! request with all seventeen fields in schema order), followed by a newline: this exact output
//! is what evaluation compares. `--pretty` indents it instead; `--explain` adds the confidence,
//! the path, the problems and the clarifying question on standard error, leaving standard output
//! unchanged. `--model` (opt-in) asks the default generator when the rules are not confident
//! (below `rfq.model_fallback_threshold`), with schema-constrained JSON checked by the same
//! lexicon; the rule path stays the default. This command needs no data dir, so its model
//! calls are not audited (the desk's are).
//!
//! `deskmate rfq quote "MESSAGE" --client C` runs the desk's whole loop without a chat, on the
//! data dir: parse, clarifying question or pricing with the desk's conventions, market data and
//! margin, limit checks with the desk's exposure, and the approval queue. It prints the request
//! with its quotes and approvals as JSON (a trader then decides with `deskmate approvals`).
//! `deskmate rfq chats` maps chats to clients (administrators).

use super::admin::operator;
use super::{open, print_json};
use anyhow::Context;
use assistant::config::LoadedConfig;
use assistant::inference::{self, JsonModel};
use clap::{Args, Subcommand};
use rfq::clarify::question;
use rfq::{Lexicon, ParseContext, RfqParser};
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
    /// Run the whole desk loop for a message without a chat; print the queued quotes as JSON.
    Quote(QuoteArgs),
    /// Chat → client mappings of the desk.
    #[command(subcommand)]
    Chats(ChatsCmd),
    /// Show the desk's market data as loaded from rfq.market_data.
    MarketData,
}

/// Arguments of `deskmate rfq quote`.
#[derive(Debug, Args)]
pub struct QuoteArgs {
    /// The request, as a client would write it.
    pub message: String,
    /// The client id (a key of `[limits.clients]`).
    #[arg(long)]
    pub client: String,
}

/// `deskmate rfq chats` commands.
#[derive(Debug, Subcommand)]
pub enum ChatsCmd {
    /// List the mappings.
    List,
    /// Map a chat to a client (replacing the chat's mapping).
    Add {
        /// `telegram` or a webhook channel.
        #[arg(long)]
        channel: String,
        /// The chat's id (a Telegram group id such as -1001234567890).
        #[arg(long, allow_hyphen_values = true)]
        chat: String,
        /// The client id (a key of `[limits.clients]`).
        #[arg(long)]
        client: String,
        /// A note (the group's name).
        #[arg(long)]
        label: Option<String>,
    },
    /// Remove a mapping by its id.
    Remove {
        /// The id (`chat_…`).
        id: String,
    },
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
    /// Ask the local model (`models.generator`, or `--model-name`) when the rules are not
    /// confident; its answer is validated by the lexicon. Off: the rules alone.
    #[arg(long)]
    pub model: bool,
    /// The generator `--model` asks (default: the configured default generator).
    #[arg(long, requires = "model")]
    pub model_name: Option<String>,
}

/// Runs `deskmate rfq`.
pub fn run(args: RfqArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    match args.command {
        RfqCommand::Parse(a) => parse(a, &loaded),
        RfqCommand::Quote(q) => {
            let a = open(&loaded)?;
            let actor = operator();
            let detail = a.rfq_quote_local(&actor, &q.message, &q.client)?;
            print_json(&detail);
            Ok(())
        }
        RfqCommand::Chats(c) => {
            let a = open(&loaded)?;
            match c {
                ChatsCmd::List => print_json(&serde_json::json!({"chats": a.rfq_chats()?})),
                ChatsCmd::Add {
                    channel,
                    chat,
                    client,
                    label,
                } => print_json(&a.rfq_chat_set(
                    &operator(),
                    &channel,
                    &chat,
                    &client,
                    label.as_deref(),
                )?),
                ChatsCmd::Remove { id } => {
                    a.rfq_chat_remove(&operator(), &id)?;
                    eprintln!("removed {id}");
                }
            }
            Ok(())
        }
        RfqCommand::MarketData => {
            let a = open(&loaded)?;
            print_json(&a.desk().market().summary());
            Ok(())
        }
    }
}

fn parse(a: ParseArgs, loaded: &LoadedConfig) -> anyhow::Result<()> {
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
    let out = if a.model {
        let cfg = &loaded.config;
        super::set_model_threads(cfg, None);
        let models = std::sync::Arc::new(inference::registry(cfg)?);
        let name = a
            .model_name
            .clone()
            .unwrap_or_else(|| inference::default_generator_name(cfg).to_string());
        let mut model = JsonModel::new(
            models,
            &name,
            cfg.rfq.model_max_tokens as usize,
            "rfq.parse",
        );
        parser.parse_with_model_below(
            &a.message,
            &ctx,
            cfg.rfq.model_fallback_threshold as f32,
            &mut model,
        )
    } else {
        parser.parse(&a.message, &ctx)
    };
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
