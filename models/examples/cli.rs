//! The `deskmate models|generate|chat` commands run on their own, from this crate:
//! `cargo run -p models --example cli -- models install --fixtures`. It compiles the very
//! modules the `deskmate` binary wires in (`src/cmd/models.rs`, `src/cmd/generate.rs`), so they
//! are built and checked with this crate.

use clap::Parser;

#[path = "../../src/cmd/generate.rs"]
mod generate_cmd;
#[path = "../../src/cmd/models.rs"]
mod models_cmd;

/// Deskmate's model commands.
#[derive(Debug, Parser)]
enum Cli {
    /// Install, register and list models.
    Models(models_cmd::ModelsArgs),
    /// Generate one answer on stdout.
    Generate(generate_cmd::GenerateArgs),
    /// Chat interactively.
    Chat(generate_cmd::ChatArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse() {
        Cli::Models(a) => models_cmd::run(a),
        Cli::Generate(a) => generate_cmd::run(a),
        Cli::Chat(a) => generate_cmd::chat(a),
    }
}
