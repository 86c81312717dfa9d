//! `deskmate chunk FILE [--json]`: previews the chunks of a file (path, length, location, text)
//! without indexing anything. The JSON form is `knowledge::report::ChunkPreview`
//! (`deskmate.chunk.v1`).

use anyhow::Context;
use clap::Args;
use knowledge::chunk::{self, ChunkOptions, Format, SourceText};
use knowledge::decode::{DEFAULT_MAX_BYTES, decode};
use knowledge::report::ChunkPreview;
use std::path::PathBuf;

/// Arguments of `deskmate chunk`.
#[derive(Debug, Args)]
pub struct ChunkArgs {
    /// The file to chunk (Markdown or plain text; GBK and other encodings are detected).
    pub file: PathBuf,
    /// Print the stable JSON document instead of text.
    #[arg(long)]
    pub json: bool,
    /// The largest chunk in approximate model tokens.
    #[arg(long, default_value_t = 400)]
    pub max_tokens: usize,
    /// The document title (found in the text when not given).
    #[arg(long)]
    pub title: Option<String>,
}

/// Runs the command.
pub fn run(args: ChunkArgs) -> anyhow::Result<()> {
    let origin = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {origin}"))?;
    let decoded = decode(&bytes, &origin, DEFAULT_MAX_BYTES)?;
    let source = SourceText::new(decoded.text, Format::from_path(&origin));
    let stem = args
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let options = ChunkOptions {
        max_tokens: args.max_tokens,
        title: args.title,
    };
    let chunked = chunk::chunk(&source, &stem, &options);
    let preview = ChunkPreview::new(&origin, decoded.encoding, &chunked);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&preview)?);
        return Ok(());
    }
    println!(
        "{} ({}, {}, {} pages, {} chunks)",
        preview.title,
        preview.language,
        preview.encoding,
        preview.pages,
        preview.chunks.len()
    );
    for c in &preview.chunks {
        println!(
            "\n#{} {} [{} chars, p.{}-{}, chars {}..{}]{}",
            c.ordinal,
            c.path_display,
            c.chars,
            c.location.page_start,
            c.location.page_end,
            c.location.char_start,
            c.location.char_end,
            if c.whole_unit { "" } else { " (part)" }
        );
        println!("{}", c.text);
    }
    for p in &preview.problems {
        eprintln!("note: line {}: {}", p.line, p.message);
    }
    Ok(())
}
