//! The `deskmate` binary: parses the command line, loads the configuration, and hands each
//! command to the crate that does the work. Commands live in `src/cmd/`, one module per group.

mod cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Deskmate: a private GenAI assistant for OTC derivatives desks, on your own machines.
#[derive(Debug, Parser)]
#[command(name = "deskmate", version, about, long_about = None)]
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
    /// Ingest files or folders into the knowledge base (idempotent by content hash).
    Ingest(cmd::knowledge::IngestArgs),
    /// Preview the chunks of a file (path, length, location, text) without indexing.
    Chunk(cmd::chunk::ChunkArgs),
    /// Retrieval only: the ranked chunks for a query with their scores.
    Search(cmd::search::SearchArgs),
    /// Ask the knowledge base: a cited answer from the local model.
    Ask(cmd::knowledge::AskArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match cmd::load_config(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
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
        Command::Models(a) => cmd::models::run(a, &loaded).map(|()| ExitCode::SUCCESS),
        Command::Generate(a) => cmd::generate::run(a, &loaded).map(|()| ExitCode::SUCCESS),
        Command::Chat(a) => cmd::generate::chat(a, &loaded).map(|()| ExitCode::SUCCESS),
        Command::Price(a) => cmd::price::run(a).map(|()| ExitCode::SUCCESS),
        Command::Risk(a) => cmd::risk::run(a).map(|()| ExitCode::SUCCESS),
        Command::Rfq(a) => cmd::rfq::run(a, loaded).map(|()| ExitCode::SUCCESS),
        Command::Extract(a) => cmd::extract::run(a, loaded),
        Command::Draft(a) => cmd::draft::run(a).map(|()| ExitCode::SUCCESS),
        Command::Proofread(a) => cmd::proofread::run(a).map(|()| ExitCode::SUCCESS),
        Command::Negotiate(a) => cmd::proofread::negotiate(a).map(|()| ExitCode::SUCCESS),
        Command::Compare(a) => cmd::compliance::compare(a, loaded).map(|()| ExitCode::SUCCESS),
        Command::Compliance(c) => cmd::compliance::run(c, loaded).map(|()| ExitCode::SUCCESS),
        Command::Ingest(a) => cmd::knowledge::ingest(a, loaded).map(|()| ExitCode::SUCCESS),
        Command::Chunk(a) => cmd::chunk::run(a).map(|()| ExitCode::SUCCESS),
        Command::Search(a) => cmd::knowledge::search(a, loaded).map(|()| ExitCode::SUCCESS),
        Command::Ask(a) => cmd::knowledge::ask(a, loaded).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
