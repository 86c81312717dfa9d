//! RFQ parse latency and throughput on the rule path.
//!
//! Run with `cargo bench -p rfq --bench rfq_parse`. Messages: every golden message (the dev
//! set when `shared/` is present, the robustness, held-out and injection sets), parsed in rounds,
//! one parse timed at a time; then the worst cases: a message just under the length limit full of
//! requests, one of unknown text, and one over the limit (refused). Prints p50/p99/max latency,
//! messages per second on one thread, the one-off cost of building the parser, and the process's
//! peak memory. The peer figure is the cost of serialising the canonical JSON of each parse in the
//! same loop, the floor of any parser that prints it.
//!
//! The model path is opt-in: `DESKMATE_BENCH_RFQ_MODEL=default` (or another installed
//! generator) parses golden messages through the model fallback
//! (the generator asked with the prompt as written, as `assistant::inference::JsonModel` asks it,
//! constrained JSON, validated by the lexicon) on
//! `DESKMATE_BENCH_THREADS` CPU threads (default 2): first the messages the rules are not
//! confident about, then others with the fallback forced, `DESKMATE_BENCH_RFQ_MODEL_N` in all
//! (default 12). Prints p50/p99/max latency of the whole parse (rules + model + validation),
//! tokens per call, and how many answers were accepted or rejected.

use rfq::eval::{EVAL_TODAY, HOLDOUT_JSONL, INJECTION_JSONL, ROBUSTNESS_JSONL, load_cases};
use rfq::{Lexicon, MAX_MESSAGE_CHARS, ParseContext, RfqParser};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let t = Instant::now();
    let parser = RfqParser::new(
        Lexicon::from_sources(
            rfq::lexicon::BUILTIN_UNDERLYINGS,
            rfq::lexicon::BUILTIN_FUTURES,
            rfq::lexicon::BUILTIN_VOCAB,
            rfq::lexicon::BUILTIN_VARIANTS,
        )
        .expect("built-in lexicon"),
    );
    let build = t.elapsed();

    let mut messages: Vec<String> = Vec::new();
    let dev = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/rfq/dev.jsonl"
    ));
    let mut sets = vec![
        (ROBUSTNESS_JSONL.to_string(), "robustness"),
        (HOLDOUT_JSONL.to_string(), "holdout"),
    ];
    sets.push((INJECTION_JSONL.to_string(), "injection"));
    if let Ok(d) = dev {
        sets.push((d, "dev"));
    }
    for (text, name) in &sets {
        for c in load_cases(text, name).expect("golden set loads") {
            messages.push(c.message);
        }
    }
    let ctx = ParseContext::new(EVAL_TODAY);
    // Warm-up: one round.
    for m in &messages {
        black_box(parser.parse(m, &ctx));
    }
    let rounds = 200;
    let mut lat = Vec::with_capacity(rounds * messages.len());
    let mut json_time = Duration::ZERO;
    let wall = Instant::now();
    for _ in 0..rounds {
        for m in &messages {
            let t = Instant::now();
            let out = parser.parse(black_box(m), &ctx);
            lat.push(t.elapsed());
            let t = Instant::now();
            black_box(out.parse.to_json());
            json_time += t.elapsed();
        }
    }
    let total = wall.elapsed();
    lat.sort();
    let n = lat.len();
    let parse_sum: Duration = lat.iter().sum();
    println!(
        "rfq_parse: {} golden messages x {rounds} rounds = {n} parses (rule path, 1 thread)",
        messages.len()
    );
    println!(
        "  latency p50 {:.1} us, p99 {:.1} us, max {:.1} us; {:.0} messages/s",
        us(percentile(&lat, 0.5)),
        us(percentile(&lat, 0.99)),
        us(lat[n - 1]),
        n as f64 / total.as_secs_f64()
    );
    println!(
        "  peer: serialising the canonical JSON takes {:.1}% of the parse time ({:.2} us per message)",
        100.0 * json_time.as_secs_f64() / parse_sum.as_secs_f64(),
        us(json_time) / n as f64
    );
    println!(
        "  parser construction (lexicon + indexes): {:.2} ms",
        build.as_secs_f64() * 1e3
    );

    let legs: String = (0..200)
        .map(|i| format!("中证500 看涨 行权价{} 3个月；", 50 + i % 150))
        .collect();
    let worst: Vec<(&str, String)> = vec![
        (
            "2,000 chars of requests",
            legs.chars().take(MAX_MESSAGE_CHARS).collect(),
        ),
        (
            "2,000 chars of unknown text",
            "啊吧从的额分个和i就看了吗你哦平去人是他与"
                .chars()
                .cycle()
                .take(MAX_MESSAGE_CHARS)
                .collect(),
        ),
        (
            "10,000 chars (refused)",
            "中证500 雪球 敲出103 "
                .chars()
                .cycle()
                .take(10_000)
                .collect(),
        ),
    ];
    for (name, msg) in &worst {
        let mut l: Vec<Duration> = (0..20)
            .map(|_| {
                let t = Instant::now();
                black_box(parser.parse(black_box(msg), &ctx));
                t.elapsed()
            })
            .collect();
        l.sort();
        println!(
            "  {name}: median {:.2} ms, max {:.2} ms",
            us(l[10]) / 1e3,
            us(l[19]) / 1e3
        );
    }
    if let Some(kib) = peak_rss_kib() {
        println!("  peak RSS {:.1} MiB", kib as f64 / 1024.0);
    }
    if let Ok(model) = std::env::var("DESKMATE_BENCH_RFQ_MODEL") {
        model_path(&parser, &messages, &ctx, &model);
    }
}

/// The model path: the whole parse of messages that go to the model, timed one by one.
fn model_path(parser: &RfqParser, messages: &[String], ctx: &ParseContext, model: &str) {
    use models::{ChatRequest, Message, ResponseFormat};
    use rfq::{JsonGenerator, ParsePath, Problem};
    let threads: usize = std::env::var("DESKMATE_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let n: usize = std::env::var("DESKMATE_BENCH_RFQ_MODEL_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    models::runtime::set_threads(threads);
    let models = models::Models::new(
        models::store::ModelStore::from_env(),
        models::GeneratorOptions::default(),
    );
    let t = Instant::now();
    let generator = models.generator(model).expect("the model is installed");
    let load = t.elapsed();
    let threshold = rfq::DEFAULT_FALLBACK_THRESHOLD;
    // Messages the rules are not confident about first, then others (forced to the model).
    let mut picked: Vec<(&String, f32)> = Vec::new();
    let eligible = |m: &String| {
        let out = parser.parse(m, ctx);
        let too_long = out
            .problems
            .iter()
            .any(|p| matches!(p, Problem::TooLong { .. }));
        (!out.flagged() && !too_long).then_some(out.confidence)
    };
    let mut low: Vec<&String> = Vec::new();
    let mut rest: Vec<&String> = Vec::new();
    for m in messages {
        match eligible(m) {
            Some(c) if c < threshold => low.push(m),
            Some(_) => rest.push(m),
            None => {}
        }
    }
    let n_low = low.len();
    for m in low.into_iter().take(n) {
        picked.push((m, threshold));
    }
    // Spread the forced ones over the sets rather than taking the first few.
    let step = (rest.len() / n.max(1)).max(1);
    for m in rest.into_iter().step_by(step) {
        if picked.len() >= n {
            break;
        }
        picked.push((m, 1.01));
    }
    println!(
        "rfq_parse model path: `{}` on {threads} threads (loaded in {:.1} s); {} messages \
         ({n_low} of the golden ones are below the {threshold} threshold; the rest forced)",
        generator.id(),
        load.as_secs_f64(),
        picked.len()
    );
    // The desk's default `rfq.model_max_tokens`.
    let max_tokens = 384;
    let mut lat = Vec::new();
    let (mut accepted, mut rejected, mut prompt_tokens, mut completion_tokens) = (0, 0, 0, 0);
    for (m, th) in &picked {
        let t = Instant::now();
        let mut g = json_counting(
            generator.as_ref(),
            max_tokens,
            &mut prompt_tokens,
            &mut completion_tokens,
        );
        let out = parser.parse_with_model_below(m, ctx, *th, &mut g);
        let d = t.elapsed();
        lat.push(d);
        match out.path {
            ParsePath::Model => accepted += 1,
            ParsePath::Rules => rejected += 1,
        }
        println!(
            "  {:>6.2} s  {:?}  {}",
            d.as_secs_f64(),
            out.path,
            m.chars().take(60).collect::<String>()
        );
    }
    lat.sort();
    let k = lat.len().max(1);
    if !lat.is_empty() {
        println!(
            "  latency p50 {:.2} s, p99 {:.2} s, max {:.2} s; {:.0} prompt + {:.0} generated tokens per call; \
             {accepted} answers accepted, {rejected} rejected (rule parse kept)",
            percentile(&lat, 0.5).as_secs_f64(),
            percentile(&lat, 0.99).as_secs_f64(),
            lat[lat.len() - 1].as_secs_f64(),
            prompt_tokens as f64 / k as f64,
            completion_tokens as f64 / k as f64,
        );
    }
    if let Some(kib) = peak_rss_kib() {
        println!("  peak RSS {:.1} MiB", kib as f64 / 1024.0);
    }

    /// A [`JsonGenerator`] over `generator` (the prompt as written, greedy, constrained by the
    /// schema) that adds up the token usage of its calls.
    fn json_counting<'a>(
        generator: &'a dyn models::Generator,
        max_tokens: usize,
        prompt: &'a mut usize,
        completion: &'a mut usize,
    ) -> impl JsonGenerator<Error = String> + 'a {
        move |p: &str, schema: &serde_json::Value| {
            let mut req = ChatRequest::new(vec![Message::user(p)]);
            req.max_tokens = max_tokens;
            req.response_format = ResponseFormat::JsonSchema(schema.clone());
            let r = generator.chat(&req).map_err(|e| e.to_string())?;
            *prompt += r.usage.prompt_tokens;
            *completion += r.usage.completion_tokens;
            Ok::<String, String>(r.text)
        }
    }
}
