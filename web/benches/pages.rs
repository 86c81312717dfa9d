//! Page server time (issue #17's figure: p99 < 50 ms for the RFQ blotter with 10,000 RFQs and
//! the document list with 1,000 documents, release build, 127.0.0.1).
//!
//! `cargo bench -p web --bench pages` starts the real server ([`web::serve`] on a loopback
//! port) on a temporary data dir and loads it:
//! - **RFQs**: one request for quote goes through the whole desk loop (parse, price with the
//!   demo configuration's illustrative market data, approval queue); its rows (`rfqs`,
//!   `rfq_quotes`) are then copied in SQL to 10,000 requests a second apart, so every row has the
//!   shape the desk writes.
//! - **Documents**: 1,000 rows of the documents table naming the shared corpus's real files
//!   (`shared/data/regulation-*`, repeated across collections to reach 1,000). The list page
//!   reads only that table; the rows are not indexed (generated bench data, not ingested).
//!
//! Then `CONNECTIONS` keep-alive clients send `REQUESTS` GETs to each page (after a warm-up),
//! signed in as a trader (blotter) and a legal user (documents), and the latencies measured at
//! the client over loopback are printed as p50 / p90 / p99 / max with the throughput. It states
//! the CPU it ran on.

use assistant::Assistant;
use assistant::config::Config;
use assistant::store::Actor;
use policies::Role;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use web::AppState;

mod common;
use common::{cpu, markets, pct, workspace};

const RFQS: u32 = 10_000;
const DOCUMENTS: usize = 1_000;
const CONNECTIONS: usize = 4;
const WARMUP: usize = 50;
const REQUESTS: usize = 2_000;
const PASSWORD: &str = "bench password 1234";

fn load_rfqs(a: &Assistant) {
    let system = Actor::system();
    let one = a
        .rfq_quote_local(
            &system,
            "沪深300 12个月 平值看涨 名义本金1000万 期权费多少",
            "DEMO",
        )
        .expect("the desk loop");
    let id = one.rfq.id.clone();
    a.store()
        .write(&system, |tx| {
            let c = tx.conn();
            c.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
                 INSERT INTO rfqs (id, channel, chat_id, message_id, sender, client_id,
                    received_at, text, language, parse, confidence, path, problems, status,
                    follow_up_of, error, updated_at)
                 SELECT r.id || '-' || n.i, r.channel, r.chat_id, r.message_id || '-' || n.i,
                    r.sender, r.client_id,
                    strftime('%Y-%m-%dT%H:%M:%fZ', r.received_at, '-' || n.i || ' seconds'),
                    r.text, r.language, r.parse, r.confidence, r.path, r.problems, r.status,
                    NULL, r.error, r.updated_at
                 FROM rfqs r, n WHERE r.id = ?1",
                rusqlite::params![id, RFQS - 1],
            )?;
            c.execute(
                "INSERT INTO rfq_quotes (id, rfq_id, idx, underlying, structure, status,
                    approval_id, desk_delta, desk_vega, detail, valid_until, created_at,
                    updated_at, sent_at)
                 SELECT q.id || '-' || substr(r.id, length(?1) + 2), r.id, q.idx, q.underlying,
                    q.structure, q.status, NULL, q.desk_delta, q.desk_vega, q.detail,
                    q.valid_until, q.created_at, q.updated_at, q.sent_at
                 FROM rfq_quotes q, rfqs r
                 WHERE q.rfq_id = ?1 AND r.id LIKE ?1 || '-%'",
                rusqlite::params![id],
            )?;
            Ok::<_, assistant::store::StoreError>(())
        })
        .expect("copying the RFQ rows");
}

fn load_documents(a: &Assistant) {
    let mut files = Vec::new();
    for dir in ["regulation-zh", "regulation-en"] {
        collect(&workspace().join("../shared/data").join(dir), &mut files);
    }
    assert!(
        !files.is_empty(),
        "shared/data/regulation-* (see shared/data/MANIFEST.md)"
    );
    files.sort();
    let now = "2026-12-05T00:00:00Z";
    a.store()
        .write(&Actor::system(), |tx| {
            let c = tx.conn();
            for i in 0..DOCUMENTS {
                let f = &files[i % files.len()];
                let title = f.file_stem().unwrap().to_string_lossy().to_string();
                let lang = if f.to_string_lossy().contains("regulation-zh") {
                    "zh"
                } else {
                    "en"
                };
                c.execute(
                    "INSERT INTO documents (id, collection, title, source, language,
                        classification, content_hash, version, chunks, pages, format,
                        created_by, created_at, updated_by, updated_at, deleted_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'general', ?6, 1, 0, 0, 'markdown', 'bench',
                        ?7, 'bench', ?7, NULL)",
                    rusqlite::params![
                        format!("doc-bench-{i:04}"),
                        format!("regulation-{}", i / files.len()),
                        title,
                        f.display().to_string(),
                        lang,
                        format!("{i:064x}"),
                        now
                    ],
                )?;
            }
            Ok::<_, assistant::store::StoreError>(())
        })
        .expect("the document rows");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn session(a: &Assistant, name: &str, role: Role) -> String {
    a.create_user(&Actor::system(), name, role).unwrap();
    a.set_password(&Actor::system(), name, PASSWORD).unwrap();
    let s = a
        .sign_in(name, PASSWORD, "127.0.0.1", "bench", None)
        .unwrap();
    format!("dm_session={}", s.secret)
}

/// Sends `n` GETs of `url` over `CONNECTIONS` keep-alive connections; the latencies.
async fn load(url: &str, cookie: &str, n: usize) -> (Vec<Duration>, Duration, usize) {
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let (url, cookie) = (url.to_string(), cookie.to_string());
        let share = n / CONNECTIONS + usize::from(c < n % CONNECTIONS);
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .unwrap();
            let mut out = Vec::with_capacity(share);
            let mut bytes = 0;
            for _ in 0..share {
                let t = Instant::now();
                let resp = client
                    .get(&url)
                    .header("Cookie", &cookie)
                    .header("Accept", "text/html")
                    .send()
                    .await
                    .unwrap();
                assert!(resp.status().is_success(), "{url}: {}", resp.status());
                bytes = resp.bytes().await.unwrap().len();
                out.push(t.elapsed());
            }
            (out, bytes)
        }));
    }
    let mut all = Vec::with_capacity(n);
    let mut bytes = 0;
    for t in tasks {
        let (d, b) = t.await.unwrap();
        all.extend(d);
        bytes = b;
    }
    (all, t0.elapsed(), bytes)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::load(
        Some(&workspace().join("demo/deskmate.demo.toml")),
        &BTreeMap::new(),
    )
    .unwrap()
    .config;
    c.storage.data_dir = dir.path().join("data");
    c.rfq.market_data = markets(dir.path()).display().to_string();
    c.server.user_rate_burst = 1_000_000;
    let a = Assistant::open(c).unwrap();
    let t = Instant::now();
    load_rfqs(&a);
    load_documents(&a);
    let trader = session(&a, "tina", Role::Trader);
    let legal = session(&a, "lena", Role::Legal);
    let rfqs: i64 = a
        .store()
        .read(|c| c.query_row("SELECT count(*) FROM rfqs", [], |r| r.get(0)))
        .unwrap();
    let docs: i64 = a
        .store()
        .read(|c| c.query_row("SELECT count(*) FROM documents", [], |r| r.get(0)))
        .unwrap();
    eprintln!(
        "loaded {rfqs} RFQs and {docs} documents in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let state = AppState::new(a);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = {
        let state = state.clone();
        tokio::spawn(async move {
            let app = web::app(state.clone());
            let shutdown = async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            };
            web::serve(listener, state, app, shutdown).await.unwrap();
        })
    };

    println!(
        "page server time, {CONNECTIONS} keep-alive connections, {REQUESTS} requests each, \
         release build, 127.0.0.1, {} ({} CPUs)",
        cpu(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "page                          rows    bytes   p50 ms   p90 ms   p99 ms   max ms    req/s"
    );
    for (name, path, cookie, rows) in [
        ("RFQ blotter (latest 200)", "/rfqs", &trader, rfqs),
        (
            "RFQ blotter, client filter",
            "/rfqs?client=DEMO",
            &trader,
            rfqs,
        ),
        ("document list", "/knowledge", &legal, docs),
    ] {
        let url = format!("{base}{path}");
        load(&url, cookie, WARMUP).await;
        let (mut d, wall, bytes) = load(&url, cookie, REQUESTS).await;
        d.sort();
        println!(
            "{name:<28} {rows:>6} {bytes:>8} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.0}",
            pct(&d, 0.50),
            pct(&d, 0.90),
            pct(&d, 0.99),
            pct(&d, 1.0),
            REQUESTS as f64 / wall.as_secs_f64()
        );
    }
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
}
