//! What model-risk monitoring costs (issue #21's figure: < 1 ms per call). On a temporary data
//! dir (SQLite, `synchronous = FULL`): `BENCH_MON_N` (default 2,000) write transactions that
//! write one audit entry (as every inbound message's transaction does) and record one chain
//! call, against the same number that write the audit entry alone; the difference per call is
//! monitoring's cost on the request path (the commit is shared, as on the real path); then the
//! same for an answer's call, which also stores its question's embedding. Then one `monitor` run (every
//! watched figure, drift included) over those calls plus a 7-day baseline of the same size: the
//! background cost per minute.
//!
//! Run with `cargo bench -p assistant --bench monitoring`.

use assistant::Assistant;
use assistant::config::Config;
use assistant::model_risk::{CallOutcome, CallRecord, ChainMode, RFQ_CHAIN, record_call};
use assistant::store::{Actor, AuditRecord};
use std::time::Instant;

fn audit(tx: &mut assistant::store::WriteTx<'_>) -> Result<(), assistant::AssistantError> {
    tx.audit(AuditRecord {
        action: "bench.inbound",
        object_kind: "bench",
        object_id: "m",
        class: policies::DataClass::IMPORTANT,
        details: serde_json::json!({"text": "中证500 雪球 12个月 敲出103 敲入75"}),
    })?;
    Ok(())
}

fn main() {
    let n: usize = std::env::var("BENCH_MON_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.storage.data_dir = dir.path().to_path_buf();
    let a = Assistant::open(c).unwrap();
    let actor = Actor::system();
    let call = CallRecord {
        chain: RFQ_CHAIN,
        subject: Some("rfq_bench"),
        outcome: CallOutcome::Rules,
        mode: ChainMode::Model,
        confidence: Some(0.9),
        latency_ms: 0.2,
        input_chars: 42,
        language: "zh",
        product: Some("snowball"),
        embedding: None,
    };
    // An answer's call carries its question's embedding (384 numbers, as all-MiniLM-L6-v2 and
    // multilingual-e5-small give).
    let vector: Vec<f32> = (0..384).map(|i| (i as f32 * 0.37).sin() / 14.0).collect();
    let answer_call = CallRecord {
        chain: assistant::model_risk::ANSWERS_CHAIN,
        subject: Some("ask_bench"),
        outcome: CallOutcome::Model,
        mode: ChainMode::Model,
        confidence: Some(0.8),
        latency_ms: 900.0,
        input_chars: 60,
        language: "en",
        product: None,
        embedding: Some(&vector),
    };
    // Warm up.
    for _ in 0..50 {
        a.store().write(&actor, audit).unwrap();
    }
    let t0 = Instant::now();
    for _ in 0..n {
        a.store().write(&actor, audit).unwrap();
    }
    let empty = t0.elapsed().as_secs_f64() * 1e3 / n as f64;
    let t0 = Instant::now();
    for _ in 0..n {
        a.store()
            .write(&actor, |tx| {
                audit(tx)?;
                record_call(tx, &call)
            })
            .unwrap();
    }
    let with = t0.elapsed().as_secs_f64() * 1e3 / n as f64;
    println!("monitoring on the request path, {n} calls (one write transaction each):");
    println!("  audit entry alone      {empty:>8.4} ms");
    println!("  with the call recorded {with:>8.4} ms");
    println!("  cost of monitoring     {:>8.4} ms per call", with - empty);
    let t0 = Instant::now();
    for _ in 0..n {
        a.store()
            .write(&actor, |tx| {
                audit(tx)?;
                record_call(tx, &answer_call)
            })
            .unwrap();
    }
    let with_vector = t0.elapsed().as_secs_f64() * 1e3 / n as f64;
    println!(
        "  an answer's call with its 384-number embedding {with_vector:>8.4} ms: {:>8.4} ms per call",
        with_vector - empty
    );
    let t0 = Instant::now();
    let opened = a
        .monitor(time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .unwrap();
    println!(
        "one monitor run over {n} recorded calls: {:.2} ms ({} alerts)",
        t0.elapsed().as_secs_f64() * 1e3,
        opened.len()
    );
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!("CPU: {cpu}");
}
