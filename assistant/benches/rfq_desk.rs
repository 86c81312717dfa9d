//! End-to-end RFQ desk latency: from an inbound chat message to the quote sitting in the trader's
//! approval queue, on the real desk over a temporary data dir (SQLite with `synchronous = FULL`,
//! audit entries, market file, limits with an exposure limit so pending exposure is summed).
//!
//! Run with `cargo bench -p assistant --bench rfq_desk`. Two cases, each `BENCH_DESK_N` messages
//! (default 200 vanillas, 20 snowballs), one at a time:
//! - a 12M European vanilla, priced in closed form (target p99 < 100 ms);
//! - a 12M snowball 103/75 whose coupon is solved on Monte Carlo with `BENCH_DESK_PATHS` paths
//!   (default 100,000), CPU, with Greeks for the limit check (target p99 < 3 s on 2 cores);
//!   `BENCH_DESK_ENGINE=pde` runs the PDE engine instead (the desk's default, `rfq.autocall_engine`).
//!
//! For each it prints p50/p99/max of: receive (archive, parse, acknowledgement queued: what the
//! client waits for before "received, pricing"), price-and-queue, and the whole path; and the
//! process's peak memory. The peer figure is the pricing core's own time for the same product
//! (`pricing.elapsed_ms` of the payload), so the desk's overhead is the difference.
//!
//! Then the engine cross-check behind `rfq.autocall_engine`: the snowball's fair coupon and time
//! on Monte Carlo (100k paths, and 1M paths as the reference) and on the PDE.

use assistant::Assistant;
use assistant::config::{AutocallEngine, Config};
use assistant::desk::{InboundMessage, MessageKind, QuoteStatus, desk_actor};
use assistant::store::Actor;
use policies::{Principal, Role};
use std::time::{Duration, Instant};

const MARKETS: &str = r#"{"markets": {
  "000905.SH": {"valuation_date": "2026-01-05", "spot": 100.0, "rate": 0.02, "dividend": 0.01, "vol": 0.22},
  "000300.SH": {"valuation_date": "2026-01-05", "spot": 100.0, "rate": 0.02, "dividend": 0.01, "vol": 0.22}
}}"#;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn report(name: &str, xs: &mut [Duration]) {
    xs.sort();
    println!(
        "  {name:<16} p50 {:>9.2} ms   p99 {:>9.2} ms   max {:>9.2} ms",
        ms(percentile(xs, 0.5)),
        ms(percentile(xs, 0.99)),
        ms(*xs.last().unwrap())
    );
}

fn run(a: &Assistant, label: &str, text: &str, n: usize, chat: &str) {
    let (mut recv, mut price, mut total, mut core) = (vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let msg = InboundMessage {
            channel: "bench".into(),
            event_id: format!("{chat}:{i}"),
            chat_id: chat.into(),
            message_id: i.to_string(),
            sender: "1 @bench".into(),
            kind: MessageKind::Text,
            text: text.into(),
            time: time::OffsetDateTime::now_utc(),
            addressed: true,
            bot_mention: Some("@desk_bot".into()),
            reply_url: None,
        };
        let t0 = Instant::now();
        let r = a.chat_receive(&desk_actor(), msg).expect("receive");
        let t1 = Instant::now();
        let rfq = r.rfq_id.expect("an rfq");
        assert!(r.needs_pricing, "{label}: {}", r.disposition);
        let q = a.rfq_price(&rfq).expect("price");
        let t2 = Instant::now();
        assert_eq!(
            q[0].status,
            QuoteStatus::Pending,
            "{label}: the quote must reach the queue"
        );
        recv.push(t1 - t0);
        price.push(t2 - t1);
        total.push(t2 - t0);
        let detail = a.rfq_get(&desk_actor(), &rfq).expect("detail");
        let core_ms = detail.quote_details[0].detail["pricing"]["elapsed_ms"]
            .as_f64()
            .unwrap_or(0.0);
        core.push(Duration::from_secs_f64(core_ms / 1e3));
    }
    println!("{label} ({n} messages)");
    report("receive + ack", &mut recv);
    report("price + queue", &mut price);
    report("message → queue", &mut total);
    report("peer: core only", &mut core);
}

fn cross_check() {
    use assistant::config::RfqConfig;
    use assistant::desk::price::{Conventions, price};
    use rfq::{ParseContext, RfqParser};
    let out = RfqParser::builtin().parse(
        "中证500 雪球 敲出103 敲入75 12个月 1000万 票息多少",
        &ParseContext::from_iso("2026-01-05").expect("date"),
    );
    let req = &out.parse.requests[0];
    let market = kernels::MarketSet::from_json("bench", MARKETS)
        .expect("markets")
        .get("000905.SH")
        .expect("market")
        .clone();
    println!("snowball fair coupon by engine (the desk's conventions, 000905.SH, vol 22%)");
    for (engine, paths) in [
        (AutocallEngine::Mc, 100_000),
        (AutocallEngine::Mc, 1_000_000),
        (AutocallEngine::Pde, 0),
    ] {
        let conv = Conventions::from_config(&RfqConfig {
            autocall_engine: engine,
            mc_paths: paths.max(2),
            ..RfqConfig::default()
        });
        let t = Instant::now();
        let p = price("bench", req, &market, &conv).expect("price");
        println!(
            "  {engine:<3} {:>9}  fair coupon {:>8.4}% p.a.  value s.e. {:.4}% of notional  {:>8.1} ms",
            if paths > 0 {
                format!("{paths} paths")
            } else {
                "grid".into()
            },
            p.quote.fair,
            p.std_error_pct,
            ms(t.elapsed())
        );
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("markets.json"), MARKETS).expect("market file");
    let mut c = Config::default();
    c.storage.data_dir = dir.path().join("data");
    c.rfq.market_data = dir.path().join("markets.json").display().to_string();
    c.rfq.mc_paths = env_or("BENCH_DESK_PATHS", 100_000);
    c.rfq.autocall_engine = match std::env::var("BENCH_DESK_ENGINE").as_deref() {
        Ok("pde") => AutocallEngine::Pde,
        Ok("mc") | Err(_) => AutocallEngine::Mc,
        Ok(other) => panic!("BENCH_DESK_ENGINE={other:?}: use mc or pde"),
    };
    c.rfq.throttle_messages = 1_000_000;
    c.rfq.quote_expiry_secs = 3600;
    c.limits = toml::from_str(
        r#"
        [clients.C001]
        structures = ["vanilla", "snowball"]
        max_notional = 1e9
        max_tenor_months = 36
        [default_exposure]
        max_abs_vega = 1e15
        max_abs_delta = 1e15
        "#,
    )
    .expect("limits");
    let a = Assistant::open(c.clone()).expect("open");
    let admin = Actor::user(
        &Principal {
            user: "bench".into(),
            role: Role::Admin,
        },
        None,
    );
    for chat in ["v", "s"] {
        a.rfq_chat_set(&admin, "bench", chat, "C001", None)
            .expect("map");
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "RFQ desk end to end: {threads} CPU threads, autocall engine {}, {} MC paths",
        c.rfq.autocall_engine, c.rfq.mc_paths
    );
    run(
        &a,
        "vanilla (analytic)",
        "@desk_bot 沪深300 12个月 平值看涨 名义本金1000万 期权费多少",
        env_or("BENCH_DESK_N", 200),
        "v",
    );
    run(
        &a,
        "snowball (coupon solved)",
        "@desk_bot 中证500 雪球 敲出103 敲入75 12个月 1000万 票息多少",
        env_or("BENCH_DESK_N_SNOWBALL", 20),
        "s",
    );
    cross_check();
    if let Some(kib) = peak_rss_kib() {
        println!("peak RSS {:.1} MiB", kib as f64 / 1024.0);
    }
}
