//! `deskmate generate` (one answer on stdout, for scripts) and `deskmate chat` (interactive,
//! streaming). The logic lives in `models::generate`.

use std::io::{BufRead, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::Context;
use assistant::config::LoadedConfig;
use assistant::inference;
use clap::Args;
use models::{ChatRequest, Generator, Message, ResponseFormat, Role, Sampling};
use std::sync::Arc;

/// Settings shared by `generate` and `chat`.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The model (an installed name or `default`, `fast`; default: `models.generator`, or the
    /// remote model with `models.backend = "remote"`).
    #[arg(long)]
    pub model: Option<String>,
    /// The most tokens to generate.
    #[arg(long, default_value_t = 512)]
    pub max_tokens: usize,
    /// Sampling temperature (0 = greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Nucleus sampling threshold.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f32,
    /// Top-k (0 = off).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Repetition penalty (1 = off).
    #[arg(long, default_value_t = 1.0)]
    pub repetition_penalty: f32,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// CPU threads (default: `models.threads`; 0 = every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// A system prompt.
    #[arg(long)]
    pub system: Option<String>,
}

impl ModelArgs {
    fn sampling(&self) -> Sampling {
        Sampling {
            temperature: self.temperature,
            top_p: self.top_p,
            top_k: self.top_k,
            repetition_penalty: self.repetition_penalty,
            seed: self.seed,
            ..Sampling::default()
        }
    }

    /// The generator asked for, from the configured registry (model directory, backend).
    fn generator(&self, loaded: &LoadedConfig) -> anyhow::Result<Arc<dyn Generator>> {
        super::set_model_threads(&loaded.config, self.threads);
        let models = inference::registry(&loaded.config)?;
        let name = self
            .model
            .clone()
            .unwrap_or_else(|| inference::default_generator_name(&loaded.config).to_string());
        Ok(models.generator(&name)?)
    }
}

/// Arguments of `deskmate generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Model and sampling settings.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Constrain the answer to a JSON document valid against this JSON Schema file.
    #[arg(long)]
    pub json_schema: Option<PathBuf>,
    /// Stop before this string (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
    /// The prompt (`-` reads it from stdin).
    pub prompt: String,
}

/// Runs `deskmate generate`: prints only the generated text (or JSON document) on stdout.
pub fn run(args: GenerateArgs, loaded: &LoadedConfig) -> anyhow::Result<()> {
    let prompt = if args.prompt == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the prompt from stdin")?
    } else {
        args.prompt.clone()
    };
    let generator = args.model.generator(loaded)?;
    let mut messages = Vec::new();
    if let Some(s) = &args.model.system {
        messages.push(Message::system(s));
    }
    messages.push(Message::user(prompt));
    let mut req = ChatRequest::new(messages);
    req.max_tokens = args.model.max_tokens;
    req.sampling = args.model.sampling();
    req.stop = args.stop.clone();
    if let Some(path) = &args.json_schema {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let schema = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        req.response_format = ResponseFormat::JsonSchema(schema);
    }
    let resp = generator.chat(&req)?;
    match resp.json {
        Some(doc) => println!("{}", serde_json::to_string(&doc)?),
        None => println!("{}", resp.text),
    }
    eprintln!(
        "[{} | {} prompt + {} generated tokens | {} | prefill {:.2} s, decode {:.1} tok/s]",
        resp.model,
        resp.usage.prompt_tokens,
        resp.usage.completion_tokens,
        resp.finish_reason.as_str(),
        resp.timings.prefill.as_secs_f64(),
        resp.usage.completion_tokens as f64 / resp.timings.decode.as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// Arguments of `deskmate chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Model and sampling settings.
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Runs `deskmate chat`: an interactive conversation, answers streamed as they are generated.
/// An empty line or end of input quits.
pub fn chat(args: ChatArgs, loaded: &LoadedConfig) -> anyhow::Result<()> {
    let generator = args.model.generator(loaded)?;
    let mut history = Vec::new();
    if let Some(s) = &args.model.system {
        history.push(Message::system(s));
    }
    eprintln!("chatting with {} (empty line to quit)", generator.id());
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        eprint!("> ");
        std::io::stderr().flush()?;
        let Some(line) = lines.next() else { break };
        let line = line?;
        if line.trim().is_empty() {
            break;
        }
        history.push(Message::user(line));
        let mut req = ChatRequest::new(history.clone());
        req.max_tokens = args.model.max_tokens;
        req.sampling = args.model.sampling();
        let mut out = std::io::stdout();
        let resp = generator.chat_stream(&req, &mut |delta| {
            let _ = out.write_all(delta.as_bytes());
            let _ = out.flush();
            ControlFlow::Continue(())
        })?;
        println!();
        history.push(Message::new(Role::Assistant, resp.text));
    }
    Ok(())
}
