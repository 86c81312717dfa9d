//! The `deskmate` binary: parses the command line, loads the configuration, and hands each
//! command to the crate that does the work. Commands live in `src/cmd/`, one module per group.
//!
//! A command ends with `Ok(())` or an error; [`status_of`] is the one place that turns an error
//! into the exit status of [`EXIT_STATUS`] (clap itself exits 2 on a usage error). A command
//! whose outcome is not an error of a lower layer (a broken audit chain, a batch with failed
//! files) returns an [`Exit`] naming its [`Status`].

mod cmd;

use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// The exit statuses, as `deskmate --help` and the README list them.
pub const EXIT_STATUS: &str = "\
Exit status:
  0  success
  1  failure (anything not below; an evaluation that fails its thresholds)
  2  usage error: an unknown command, flag or value (clap's own)
  3  configuration error (deskmate.toml, DESKMATE_* variables, a setting a flag needs)
  4  not found: an id, a name or a file that does not exist
  5  integrity failure: a broken audit chain, a backup that is not intact, corrupt stored data
  6  partial failure: some items of a batch failed (or came out incomplete), the others done";

/// An exit status of [`EXIT_STATUS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 1: any failure not named below.
    Failure = 1,
    /// 3: the configuration is invalid or lacks what a command needs.
    Config = 3,
    /// 4: an id, a name or a file that does not exist.
    NotFound = 4,
    /// 5: a broken audit chain, a backup that is not intact, corrupt stored data.
    Integrity = 5,
    /// 6: some items of a batch failed or came out incomplete; the others were done.
    Partial = 6,
}

/// A command's outcome that sets the exit status: printed after `error:` like any error.
#[derive(Debug)]
pub struct Exit {
    /// The exit status.
    pub status: Status,
    /// What happened.
    pub message: String,
}

impl Exit {
    /// An outcome with its status and message, as an error for `?`.
    pub fn error(status: Status, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Exit {
            status,
            message: message.into(),
        })
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// The exit status of a failed command: the first cause in the error's chain that names one
/// ([`Exit`], a configuration error, a lower layer's not-found or integrity error), else 1.
pub fn status_of(e: &anyhow::Error) -> Status {
    use assistant::AssistantError as A;
    use assistant::store::StoreError as S;
    for cause in e.chain() {
        if let Some(x) = cause.downcast_ref::<Exit>() {
            return x.status;
        }
        if cause.is::<assistant::config::ConfigError>() {
            return Status::Config;
        }
        if let Some(A::NotFound { .. }) = cause.downcast_ref::<A>() {
            return Status::NotFound;
        }
        if let Some(knowledge::KnowledgeError::NotFound(_)) = cause.downcast_ref() {
            return Status::NotFound;
        }
        if let Some(models::ModelError::UnknownModel { .. }) = cause.downcast_ref() {
            return Status::NotFound;
        }
        if let Some(evals::EvalError::UnknownSuite { .. }) = cause.downcast_ref() {
            return Status::NotFound;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::NotFound
        {
            return Status::NotFound;
        }
        if let Some(S::Invalid(_) | S::Corrupt { .. }) = cause.downcast_ref::<S>() {
            return Status::Integrity;
        }
        if let Some(assistant::backup::BackupError::NotIntact { .. }) = cause.downcast_ref() {
            return Status::Integrity;
        }
    }
    Status::Failure
}

/// Deskmate: a private GenAI assistant for OTC derivatives desks, on your own machines.
#[derive(Debug, Parser)]
#[command(name = "deskmate", version, about, long_about = None, after_long_help = EXIT_STATUS)]
struct Cli {
    /// Configuration file (default: ./deskmate.toml if it exists; see deskmate.example.toml).
    #[arg(long, global = true, env = "DESKMATE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run on embedded defaults for a first look: prepares the data dir, issues a fresh admin
    /// token, prints what to try, and serves on 127.0.0.1:8080.
    Up,
    /// Run the server (production): HTTP API on `server.bind`.
    Serve,
    /// Show or check the configuration.
    #[command(subcommand)]
    Config(cmd::config::ConfigCmd),
    /// Manage users.
    #[command(subcommand)]
    Users(cmd::admin::UsersCmd),
    /// Issue and revoke API tokens.
    #[command(subcommand)]
    Tokens(cmd::admin::TokensCmd),
    /// The approval queue.
    #[command(subcommand)]
    Approvals(cmd::approvals::ApprovalsCmd),
    /// Verify and export the audit log.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCmd),
    /// Write a consistent backup of the data dir (safe while the server runs).
    Backup(cmd::backup::BackupArgs),
    /// Replace the data dir with a backup (refused while a server runs).
    Restore(cmd::backup::RestoreArgs),
    /// Run an evaluation suite and write report.json and report.html.
    Eval(cmd::eval::EvalArgs),
    /// Price one product on the pricing core (value, standard error, Greeks, solvers).
    Price(cmd::price::PriceArgs),
    /// Revalue a book with Greeks and scenario grids.
    Risk(cmd::risk::RiskArgs),
    /// Install, register and list local models.
    Models(cmd::models::ModelsArgs),
    /// Generate text (or JSON with --json-schema) from a prompt; prints only the output.
    Generate(cmd::generate::GenerateArgs),
    /// Chat with a local model interactively (streams tokens).
    Chat(cmd::generate::ChatArgs),
    /// The RFQ desk: parse and quote chat requests, map chats to clients.
    Rfq(cmd::rfq::RfqArgs),
    /// Extract the key terms (and CDM) of confirmations; prints one key-terms JSON line per file.
    Extract(cmd::extract::ExtractArgs),
    /// Draft a confirmation from a trade on a clause-library template (values written from the
    /// trade, never by a model); `--check-template` checks a template file.
    Draft(cmd::draft::DraftArgs),
    /// Proofread a confirmation or agreement (text, PDF, DOCX): consistency inside it, its terms
    /// against a trade, its clauses against the template and the firm's fallback positions.
    Proofread(cmd::proofread::ProofreadArgs),
    /// Compare a counterparty's marked-up copy with our draft: changes by clause, classed and
    /// answered by the firm's policy; prints the issues list with talking points.
    Negotiate(cmd::proofread::NegotiateArgs),
    /// Compare a trade's reports across the reporting regimes: what every regime wants, where
    /// they differ and why (the provisions), and what the trade lacks to report it.
    Compare(cmd::compliance::CompareArgs),
    /// Trade-reporting compliance: validate a report, the rule catalogue's versions, the
    /// firm's own provisions, rule questions.
    #[command(subcommand)]
    Compliance(cmd::compliance::ComplianceCmd),
    /// Market data and events for research and risk: import daily bars (CSV/JSON), list the
    /// contracts and the moves found, open a risk event.
    #[command(subcommand)]
    Market(cmd::market::MarketCmd),
    /// Ingest files or folders into the knowledge base (idempotent by content hash).
    Ingest(cmd::knowledge::IngestArgs),
    /// Preview the chunks of a file (path, length, location, text) without indexing.
    Chunk(cmd::chunk::ChunkArgs),
    /// Retrieval only: the ranked chunks for a query with their scores.
    Search(cmd::search::SearchArgs),
    /// Ask the knowledge base: a cited answer from the local model.
    Ask(cmd::knowledge::AskArgs),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish.
    Completions(cmd::completions::CompletionsArgs),
    /// Write the man page (roff): `deskmate.1` to stdout, or one page per command to `--dir`.
    Man(cmd::completions::ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` logs its progress (operators read it); `up` and one-shot commands print results,
    // with warnings and errors only.
    let server = matches!(cli.command, Command::Serve);
    if !matches!(cli.command, Command::Serve | Command::Up | Command::Chat(_)) {
        // A one-shot command piped into `head` ends quietly when the pipe closes, as Unix tools
        // do, instead of panicking on the failed write (Rust ignores SIGPIPE by default).
        // Servers keep ignoring it: a client closing its connection must not stop them.
        // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid action.
        #[allow(unsafe_code)]
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // Completions and the man page describe the command line, whatever the configuration.
    let early = match &cli.command {
        Command::Completions(a) => Some(cmd::completions::completions(a, Cli::command())),
        Command::Man(a) => Some(cmd::completions::man(a, Cli::command())),
        _ => None,
    };
    if let Some(result) = early {
        return exit(result);
    }
    let loaded = match cmd::load_config(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return exit(Err(e.into())),
    };
    cmd::init_logging(&loaded.config, server);
    let result = match cli.command {
        Command::Up => cmd::server::up(loaded),
        Command::Serve => cmd::server::serve(loaded),
        Command::Config(c) => cmd::config::run(c, &loaded),
        Command::Users(c) => cmd::admin::users(c, loaded),
        Command::Tokens(c) => cmd::admin::tokens(c, loaded),
        Command::Approvals(c) => cmd::approvals::run(c, loaded),
        Command::Audit(c) => cmd::audit::run(c, loaded),
        Command::Backup(a) => cmd::backup::backup(a, loaded),
        Command::Restore(a) => cmd::backup::restore(a, loaded),
        Command::Eval(a) => cmd::eval::run(a, loaded),
        Command::Models(a) => cmd::models::run(a, &loaded),
        Command::Generate(a) => cmd::generate::run(a, &loaded),
        Command::Chat(a) => cmd::generate::chat(a, &loaded),
        Command::Price(a) => cmd::price::run(a),
        Command::Risk(a) => cmd::risk::run(a),
        Command::Rfq(a) => cmd::rfq::run(a, loaded),
        Command::Extract(a) => cmd::extract::run(a, loaded),
        Command::Draft(a) => cmd::draft::run(a),
        Command::Proofread(a) => cmd::proofread::run(a),
        Command::Negotiate(a) => cmd::proofread::negotiate(a),
        Command::Compare(a) => cmd::compliance::compare(a, loaded),
        Command::Compliance(c) => cmd::compliance::run(c, loaded),
        Command::Market(c) => cmd::market::run(c, loaded),
        Command::Ingest(a) => cmd::knowledge::ingest(a, loaded),
        Command::Chunk(a) => cmd::chunk::run(a),
        Command::Search(a) => cmd::knowledge::search(a, loaded),
        Command::Ask(a) => cmd::knowledge::ask(a, loaded),
        Command::Completions(_) | Command::Man(_) => {
            unreachable!("handled before the configuration")
        }
    };
    exit(result)
}

/// Prints a failed command's error and returns its exit status.
fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(status_of(&e) as u8)
        }
    }
}
