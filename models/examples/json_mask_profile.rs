//! Where constrained-JSON masking time goes on the RFQ-shaped schema
//! (`tests/data/rfq_schema.json`): drives the mask along a valid answer tokenized by the model
//! and prints the per-token mask time (mean, max, and the slowest steps with their position).
//! `cargo run --release -p models --example json_mask_profile -- [MODEL [generate [THREADS]]]`:
//! with `generate`, a real constrained generation from a fallback-sized prompt, timed.

use std::time::Instant;

use models::generate::LocalGenerator;
use models::json::JsonConstraint;
use models::{ChatRequest, Generator, GeneratorOptions, ModelStore, ResponseFormat};
use serde_json::Value;

const SCHEMA: &str = include_str!("../tests/data/rfq_schema.json");
const ANSWER: &str = r#"{"requests":[{"underlying":"000905.SH","structure":"snowball","option_type":null,"exercise":null,"side":"client_buys","strike_pct":null,"knock_out_pct":103,"knock_in_pct":75,"barrier_pct":null,"coupon_pct":null,"coupon_barrier_pct":null,"payout_pct":null,"participation_pct":null,"tenor_months":24,"notional":10000000,"currency":"CNY","solve_for":"coupon"},{"underlying":"IF2412","structure":"vanilla","option_type":"call","exercise":"european","side":"client_sells","strike_pct":102.5,"knock_out_pct":null,"knock_in_pct":null,"barrier_pct":null,"coupon_pct":null,"coupon_barrier_pct":null,"payout_pct":null,"participation_pct":null,"tenor_months":3,"notional":50000000,"currency":"CNY","solve_for":"premium"}]}"#;

/// A prompt of the fallback's size and shape (instructions, an example, the message).
fn prompt() -> String {
    format!(
        "# Role\nYou read requests for quote (RFQs) sent by clients of an OTC derivatives desk.\n\n\
# Goal\nTurn the client's message into the desk's canonical JSON: one entry in \"requests\" per \
priced structure, or an empty list when the message is not a request for quote.\n\n\
# Known content\nUnderlyings named in the message: - 000905.SH: 中证500, 500, IC\n\
Fields: structure is one of vanilla, digital, barrier, shark_fin, asian, snowball, phoenix. \
option_type is call or put. Levels are percent of initial spot. tenor_months is whole months. \
notional is a plain number (1000万 = 10000000).\n\n\
<message>\n中证500 雪球 敲出103 敲入75 两年 名义1000万 票息多少\n</message>\n\n\
# Output rules\nOne JSON object {{\"requests\": [...]}} and nothing else.\n\n\
# Example\n{ANSWER}\n\nAnswer with one JSON document that follows this JSON Schema:\n{SCHEMA}"
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("smollm2-135m-instruct", String::as_str);
    // Threads must be set before the first model loads (candle sizes its pool once).
    models::runtime::set_threads(args.get(3).and_then(|t| t.parse().ok()).unwrap_or(1));
    let entry = ModelStore::from_env().get(name).unwrap();
    // DESKMATE_JUMP_FORWARD=0 decodes forced bytes token by token (for comparison).
    let opts = GeneratorOptions {
        jump_forward: std::env::var("DESKMATE_JUMP_FORWARD").map_or(true, |v| v != "0"),
        ..GeneratorOptions::default()
    };
    let g = LocalGenerator::load(&entry, opts).unwrap();
    let t = Instant::now();
    let table = g.token_table();
    println!(
        "{name}: {} tokens, table built in {:.0} ms",
        table.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    if args.get(2).is_some_and(|a| a == "generate") {
        let mut req = ChatRequest::user(prompt());
        req.max_tokens = 384;
        req.response_format = ResponseFormat::JsonSchema(schema.clone());
        let t = Instant::now();
        let r = g.chat(&req).unwrap();
        let n = r.usage.completion_tokens.max(1) as f64;
        println!(
            "generate: {} prompt + {} tokens in {:.2} s: prefill {:.2} s, decode {:.1} ms/token \
             of which mask {:.3} ms/token; finish {:?}\n{}",
            r.usage.prompt_tokens,
            r.usage.completion_tokens,
            t.elapsed().as_secs_f64(),
            r.timings.prefill.as_secs_f64(),
            r.timings.decode.as_secs_f64() * 1e3 / n,
            r.timings.masking.as_secs_f64() * 1e3 / n,
            r.finish_reason,
            r.text
        );
        return;
    }
    let ids = g.encode(ANSWER).unwrap();
    for round in 0..2 {
        let mut c = JsonConstraint::new(&schema, table.clone()).unwrap();
        let mut times = Vec::new();
        for (i, &tok) in ids.iter().enumerate() {
            let t = Instant::now();
            let m = c.allowed();
            let allowed = m.iter().map(|w| w.count_ones()).sum::<u32>();
            let ms = t.elapsed().as_secs_f64() * 1e3;
            assert!(
                m[tok as usize / 64] & (1 << (tok % 64)) != 0,
                "token {i} ({tok}) not allowed after {:?}",
                String::from_utf8_lossy(c.text())
            );
            let before = String::from_utf8_lossy(c.text()).into_owned();
            assert!(c.advance(tok));
            times.push((ms, i, allowed, before));
        }
        let total: f64 = times.iter().map(|t| t.0).sum();
        println!(
            "round {round}: {} steps, mask mean {:.3} ms/token, max {:.3} ms",
            times.len(),
            total / times.len() as f64,
            times.iter().map(|t| t.0).fold(0.0, f64::max)
        );
        if round == 1 {
            times.sort_by(|a, b| b.0.total_cmp(&a.0));
            for (ms, i, allowed, before) in times.iter().take(12) {
                let tail: String = before
                    .chars()
                    .rev()
                    .take(40)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                println!("  {ms:8.3} ms  step {i:3}  allowed {allowed:6}  after …{tail}");
            }
        }
    }
}
