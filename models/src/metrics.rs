//! Process-wide model metrics for the server's `/metrics` (Prometheus text format): per model,
//! calls by outcome, prompt and generated tokens, time to first token, decode speed and the
//! request queue's depth; per chain, the fallbacks taken when a model could not answer (a rule
//! parse kept, an answer from retrieval alone).
//!
//! Generators record their own calls ([`record_chat`] at the end of every `chat_stream`, local
//! and remote), the request queue its depth, and workflows their fallbacks
//! ([`record_fallback`]). Like the Prometheus client libraries' default registry, the state is
//! one per process: every `Models` registry of the process adds to it.

use crate::error::ModelError;
use crate::generate::ChatResponse;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Upper bounds of the time-to-first-token histogram, in seconds (a CPU prefill of a long
/// prompt takes tens of seconds; generations are bounded by `models.generation_timeout_secs`).
pub const TTFT_BUCKETS: [f64; 13] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];

#[derive(Default)]
struct PerModel {
    calls: BTreeMap<&'static str, u64>,
    prompt_tokens: u64,
    completion_tokens: u64,
    ttft_counts: [u64; TTFT_BUCKETS.len()],
    ttft_sum: f64,
    ttft_count: u64,
    decode_seconds: f64,
    last_tokens_per_second: f64,
    queue_depth: usize,
}

#[derive(Default)]
struct State {
    models: BTreeMap<String, PerModel>,
    fallbacks: BTreeMap<(String, String), u64>,
}

fn state() -> MutexGuard<'static, State> {
    static S: OnceLock<Mutex<State>> = OnceLock::new();
    S.get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Records one chat call of `model`: its outcome (`stop`, `length`, `cancelled`, or the error's
/// [`ModelError::kind`]) and, when it ran, its tokens and timings.
pub fn record_chat(model: &str, r: &Result<ChatResponse, ModelError>) {
    let mut s = state();
    let m = s.models.entry(model.to_string()).or_default();
    match r {
        Ok(c) => {
            *m.calls.entry(c.finish_reason.as_str()).or_default() += 1;
            m.prompt_tokens += c.usage.prompt_tokens as u64;
            m.completion_tokens += c.usage.completion_tokens as u64;
            let ttft = (c.timings.queued + c.timings.prefill).as_secs_f64();
            for (i, b) in TTFT_BUCKETS.iter().enumerate() {
                if ttft <= *b {
                    m.ttft_counts[i] += 1;
                }
            }
            m.ttft_sum += ttft;
            m.ttft_count += 1;
            let decode = c.timings.decode.as_secs_f64();
            m.decode_seconds += decode;
            if decode > 0.0 && c.usage.completion_tokens > 1 {
                m.last_tokens_per_second = (c.usage.completion_tokens - 1) as f64 / decode;
            }
        }
        Err(e) => *m.calls.entry(e.kind()).or_default() += 1,
    }
}

/// Sets the number of requests waiting for or running on `model`.
pub fn set_queue_depth(model: &str, depth: usize) {
    state()
        .models
        .entry(model.to_string())
        .or_default()
        .queue_depth = depth;
}

/// Counts a fallback of `chain` (`rfq.parse`, `knowledge.ask`, …) for `reason` (`timeout`,
/// `rejected`, `error`, `busy`).
pub fn record_fallback(chain: &str, reason: &str) {
    *state()
        .fallbacks
        .entry((chain.to_string(), reason.to_string()))
        .or_default() += 1;
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Appends the metrics in the Prometheus text format to `out`.
pub fn render(out: &mut String) {
    let s = state();
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(
        out,
        "deskmate_model_calls_total",
        "counter",
        "Model chat calls by model and outcome (finish reason or error kind).",
    );
    for (name, m) in &s.models {
        for (outcome, n) in &m.calls {
            let _ = writeln!(
                out,
                "deskmate_model_calls_total{{model=\"{}\",outcome=\"{outcome}\"}} {n}",
                escape(name)
            );
        }
    }
    type Field = fn(&PerModel) -> f64;
    let series: [(&str, &str, &str, Field); 5] = [
        (
            "deskmate_model_prompt_tokens_total",
            "counter",
            "Prompt tokens processed, by model.",
            |m| m.prompt_tokens as f64,
        ),
        (
            "deskmate_model_generated_tokens_total",
            "counter",
            "Tokens generated, by model.",
            |m| m.completion_tokens as f64,
        ),
        (
            "deskmate_model_decode_seconds_total",
            "counter",
            "Seconds spent generating after the first token, by model.",
            |m| m.decode_seconds,
        ),
        (
            "deskmate_model_tokens_per_second",
            "gauge",
            "Decode speed of the model's last call, in tokens per second.",
            |m| m.last_tokens_per_second,
        ),
        (
            "deskmate_model_queue_depth",
            "gauge",
            "Requests waiting for or running on the model now.",
            |m| m.queue_depth as f64,
        ),
    ];
    for (metric, kind, help, f) in series {
        family(out, metric, kind, help);
        for (name, m) in &s.models {
            let _ = writeln!(out, "{metric}{{model=\"{}\"}} {}", escape(name), f(m));
        }
    }
    let h = "deskmate_model_time_to_first_token_seconds";
    family(
        out,
        h,
        "histogram",
        "Time to the first token (queueing and prompt processing), by model.",
    );
    for (name, m) in s.models.iter().filter(|(_, m)| m.ttft_count > 0) {
        let name = escape(name);
        for (i, b) in TTFT_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{h}_bucket{{model=\"{name}\",le=\"{b}\"}} {}",
                m.ttft_counts[i]
            );
        }
        let _ = writeln!(
            out,
            "{h}_bucket{{model=\"{name}\",le=\"+Inf\"}} {}",
            m.ttft_count
        );
        let _ = writeln!(out, "{h}_sum{{model=\"{name}\"}} {}", m.ttft_sum);
        let _ = writeln!(out, "{h}_count{{model=\"{name}\"}} {}", m.ttft_count);
    }
    family(
        out,
        "deskmate_chain_fallbacks_total",
        "counter",
        "Fallbacks a chain took because its model could not answer, by chain and reason.",
    );
    for ((chain, reason), n) in &s.fallbacks {
        let _ = writeln!(
            out,
            "deskmate_chain_fallbacks_total{{chain=\"{}\",reason=\"{}\"}} {n}",
            escape(chain),
            escape(reason)
        );
    }
}
