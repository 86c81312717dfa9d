//! `deskmate up` (first look, embedded defaults) and `deskmate serve` (production).

use super::admin::operator;
use super::open;
use anyhow::Context;
use assistant::Assistant;
use assistant::config::LoadedConfig;
use assistant::lock::DataDirLock;
use policies::Role;

/// The label of the admin token `deskmate up` issues at every start (older ones are revoked).
const UP_TOKEN_LABEL: &str = "deskmate-up";

/// The demo users `deskmate up` creates on the demo configuration, one or two per role (two
/// where four-eyes needs a second person), so that each role's pages can be tried at once.
const DEMO_USERS: &[(&str, Role)] = &[
    ("tina", Role::Trader),
    ("tom", Role::Trader),
    ("olga", Role::Ops),
    ("oscar", Role::Ops),
    ("lena", Role::Legal),
    ("chen", Role::Compliance),
    ("rita", Role::Risk),
    ("mona", Role::ModelRisk),
    ("carla", Role::Client),
];

/// On the demo configuration: creates the demo users that are missing and gives them all one
/// fresh password (printed once, like the admin's; their earlier browser sessions end).
fn demo_users(a: &Assistant) -> anyhow::Result<String> {
    let existing: Vec<String> = a.list_users()?.into_iter().map(|u| u.name).collect();
    let password = assistant::sessions::random_password();
    for (name, role) in DEMO_USERS {
        if !existing.iter().any(|e| e == name) {
            a.create_user(&operator(), name, *role)?;
        }
        a.set_password(&operator(), name, &password)?;
    }
    Ok(password)
}

/// The demo's model versions (first run, or any run while a chain's first version waits): runs
/// the evidence each pending first version's approval needs
/// (`policies::validation::approval_evidence`: the chain's validation, the bias audit, the red
/// team) as the demo's model-risk user mona, each report written to `data_dir/evals/SUITE` and
/// recorded in the audit log, then approves as mona the versions whose evidence passed; the rest
/// wait, and the chains serve their fallbacks meanwhile. Prints what it did. Demo only: `deskmate
/// serve` waits for a person on /model-risk.
fn demo_models(a: &Assistant) -> anyhow::Result<()> {
    use assistant::approvals::{ApprovalFilter, ApprovalKind};
    let principal = policies::Principal {
        user: "mona".into(),
        role: Role::ModelRisk,
    };
    let actor = assistant::store::Actor::user(&principal, Some("demo set-up".into()));
    let inventory = a.model_inventory(&actor)?;
    let pending: Vec<_> = a
        .list_approvals(
            &actor,
            &ApprovalFilter {
                kind: Some(ApprovalKind::ModelChange),
                state: Some(policies::ApprovalState::Pending),
                ..Default::default()
            },
        )?
        .into_iter()
        .filter(|p| p.payload["action"] == "approve_version")
        .filter(|p| {
            // Only a chain's first version: a later one waits for a person.
            p.payload["chain"].as_str().is_some_and(|c| {
                inventory
                    .iter()
                    .find(|e| e.chain.id == c)
                    .is_some_and(|e| e.versions.len() == 1)
            })
        })
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let mut suites: Vec<&str> = Vec::new();
    for p in &pending {
        if !a.approval_missing_evidence(&actor, p)?.is_empty() {
            let chain = p.payload["chain"].as_str().unwrap_or_default();
            suites.extend(policies::validation::approval_evidence(chain));
        }
    }
    suites.sort_unstable();
    suites.dedup();
    let t = std::time::Instant::now();
    let mut ran = Vec::new();
    for suite in suites {
        let dir = a.store().data_dir().join("evals").join(suite);
        let ctx = evals::context_for(a, suite);
        match evals::run_recorded(a, &actor, suite, &ctx, &dir) {
            Ok((r, _)) => ran.push(format!(
                "{suite} {}",
                if r.passed { "passed" } else { "FAILED" }
            )),
            Err(e) => ran.push(format!("{suite} could not run ({e})")),
        }
    }
    let (mut approved, mut waiting) = (Vec::new(), Vec::new());
    for p in &pending {
        let chain = p.payload["chain"].as_str().unwrap_or_default();
        match a.approve(
            &actor,
            &principal,
            &p.id,
            Some("approved by the demo set-up (deskmate up) on its evidence reports, not after a model-risk review"),
        ) {
            Ok(_) => approved.push(chain.to_owned()),
            Err(e) => waiting.push(format!("{chain} ({e})")),
        }
    }
    println!();
    if !ran.is_empty() {
        println!(
            "  Model evidence run as mona in {:.0} s: {} (reports on /model-risk).",
            t.elapsed().as_secs_f64(),
            ran.join(", ")
        );
    }
    if !approved.is_empty() {
        println!(
            "  Approved as the demo's model-risk user mona (demo only; `deskmate serve` waits for a person on /model-risk): {}.",
            approved.join(", ")
        );
    }
    for w in waiting {
        println!("  Waiting for model risk, serving its fallback meanwhile: {w}");
    }
    Ok(())
}

/// Makes sure an admin exists; with `issue`, returns a one-time token if one was just created.
fn bootstrap_admin(a: &Assistant, issue: bool) -> anyhow::Result<Option<String>> {
    if a.has_admin()? {
        return Ok(None);
    }
    a.create_user(&operator(), "admin", Role::Admin)?;
    if !issue {
        return Ok(None);
    }
    Ok(Some(
        a.issue_token(&operator(), "admin", "bootstrap", None)?
            .token,
    ))
}

fn check_audit(a: &Assistant) -> anyhow::Result<()> {
    let r = a.store().verify_audit()?;
    match r.first_break {
        None => {
            tracing::info!(entries = r.entries_verified, "audit chain verified");
            Ok(())
        }
        Some(b) => {
            // Tampering is a matter for people, not for the server to guess about: refuse to run
            // on a log that cannot be trusted.
            Err(crate::Exit::error(
                crate::Status::Integrity,
                format!(
                    "the audit log is broken at entry {}: {b}. Investigate with `deskmate audit verify`; \
                     restore a verified backup with `deskmate restore DIR` if needed",
                    b.seq
                ),
            ))
        }
    }
}

/// Serves until stopped; `banner` is called with the address once listening, and `after` with
/// the running assistant (its knowledge base open) on a thread of its own.
fn run_server(
    a: Assistant,
    banner: impl FnOnce(&str),
    after: impl FnOnce(std::sync::Arc<Assistant>) + Send + 'static,
) -> anyhow::Result<()> {
    let data_dir = a.store().data_dir().to_path_buf();
    let _lock = DataDirLock::acquire(&data_dir, "server")?;
    // The knowledge base (its models load now): without it the server still runs and the
    // document routes answer 409 with the reason.
    match assistant::documents::Knowledge::open_for(&a, "server") {
        Ok(k) => a.attach_knowledge(k),
        Err(e) => tracing::warn!(error = %e, "knowledge base not available"),
    }
    let bind = a.config.server.bind.clone();
    let threads = super::set_model_threads(&a.config, None);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .with_context(|| format!("cannot listen on {bind} (server.bind)"))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, data_dir = %data_dir.display(), "deskmate serving");
        banner(&format!("http://{addr}"));
        match a.fail_interrupted_jobs() {
            Ok(ids) if !ids.is_empty() => {
                tracing::warn!(jobs = ?ids, "jobs interrupted by the last stop marked failed")
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "cannot mark interrupted jobs failed"),
        }
        let state = web::AppState::new(a);
        let app = web::app(state.clone());
        {
            let a = state.assistant.clone();
            std::thread::spawn(move || after(a));
        }
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        if state.assistant.config.models.preload {
            // Loading the default generator takes seconds: the server answers meanwhile, and
            // a request that needs the model waits for the same load (it happens once).
            let a = state.assistant.clone();
            tokio::task::spawn_blocking(move || {
                let t0 = std::time::Instant::now();
                let failed = a.preload_models();
                for (name, e) in &failed {
                    tracing::warn!(model = %name, error = %e, "default model not loaded");
                }
                if failed.is_empty() {
                    tracing::info!(
                        threads,
                        secs = t0.elapsed().as_secs_f64(),
                        "default models loaded"
                    );
                }
            });
        }
        // Model-risk monitoring: every watched figure once a minute; a threshold crossed opens
        // an alert and applies its action (policies::monitoring).
        {
            let a = state.assistant.clone();
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stop.changed() => break,
                    }
                    let a = a.clone();
                    let r = tokio::task::spawn_blocking(move || {
                        a.monitor(time::OffsetDateTime::now_utc())
                    })
                    .await;
                    match r {
                        Ok(Ok(opened)) => {
                            for al in opened {
                                tracing::warn!(chain = %al.chain, metric = %al.metric, value = al.value, threshold = al.threshold, action = %al.action, "model-risk alert");
                            }
                        }
                        Ok(Err(e)) => tracing::error!(error = %e, "model-risk monitoring failed"),
                        Err(e) => tracing::error!(error = %e, "model-risk monitoring panicked"),
                    }
                }
            });
        }
        // The bias audit over the production blotter, nightly (issue #21 item 5): the first run
        // ten minutes after the start, then every 24 hours; the report is on /model-risk
        // (`bias-history`) and in the audit log.
        {
            let a = state.assistant.clone();
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let day = std::time::Duration::from_secs(24 * 3600);
                let first = tokio::time::Instant::now() + std::time::Duration::from_secs(600);
                let mut tick = tokio::time::interval_at(first, day);
                loop {
                    tokio::select! {
                        _ = tick.tick() => {}
                        _ = stop.changed() => break,
                    }
                    let a = a.clone();
                    let r = tokio::task::spawn_blocking(move || {
                        let dir = a
                            .config
                            .storage
                            .data_dir
                            .join("evals")
                            .join(super::eval::BIAS_HISTORY);
                        super::eval::bias_history(&a, &dir)
                    })
                    .await;
                    match r {
                        Ok(Ok((report, _))) if !report.passed => {
                            tracing::warn!("the nightly bias audit over the blotter failed its thresholds; see /model-risk")
                        }
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::error!(error = %e, "the nightly bias audit failed"),
                        Err(e) => tracing::error!(error = %e, "the nightly bias audit panicked"),
                    }
                }
            });
        }
        let chats = super::chat::start(&state, stop_rx)?;
        web::serve(listener, state, app, async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        })
        .await?;
        for c in chats {
            let _ = c.await;
        }
        tracing::info!("stopped");
        Ok::<_, anyhow::Error>(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// `deskmate serve`.
pub fn serve(loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    check_audit(&a)?;
    let first = bootstrap_admin(&a, true)?;
    run_server(
        a,
        |url| {
            eprintln!("Deskmate listening on {url}");
            if let Some(token) = first {
                eprintln!(
                    "Created user `admin`. Its token is shown this once; store it now:\n  {token}"
                );
            }
        },
        |_| {},
    )
}

/// First run only (an empty knowledge base): ingests the demo documents (see
/// [`super::knowledge::demo_sources`]) through the running server's knowledge base, in the
/// background, reporting each file on standard error; then prints what was ingested and the
/// questions to try on standard output. Best effort: a missing model is reported and skipped.
fn demo_documents(a: &Assistant, sources: Vec<super::knowledge::DemoSource>) {
    let k = match a.knowledge() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("  (demo documents skipped: {e})");
            return;
        }
    };
    let t = std::time::Instant::now();
    let mut lines = Vec::new();
    for s in sources {
        let (ok, failed) = super::knowledge::ingest_files(
            a,
            &k,
            &s.files,
            s.collection,
            policies::DataClass::GENERAL,
            false,
        );
        let failed = if failed > 0 {
            format!(", {failed} failed (see above)")
        } else {
            String::new()
        };
        lines.push(format!(
            "    {:<16} {ok} {}{failed}: {} / {}",
            s.collection,
            if ok == 1 { "document" } else { "documents" },
            s.about.0,
            s.about.1
        ));
    }
    println!();
    println!(
        "  Demo documents ingested in {:.0} s, in collections named for their content:",
        t.elapsed().as_secs_f64()
    );
    for l in lines {
        println!("{l}");
    }
    println!("  Ask them (in the terminal with DESKMATE_TOKEN set, see above):");
    for q in DEMO_QUESTIONS {
        println!("    {q}");
    }
    println!();
}

/// The three questions the demo answers (one Chinese law article, one English EMIR provision,
/// one RFQ), as commands.
pub const DEMO_QUESTIONS: [&str; 3] = [
    "deskmate ask \"期货和衍生品法第二十一条说了什么？\"",
    "deskmate ask \"Under EMIR Refit, who is responsible for reporting an OTC derivative concluded between a financial and a non-financial counterparty?\" --collection emir-guidelines",
    "deskmate rfq quote \"中证500 3个月 平值看涨 名义本金1000万 期权费多少\" --client DEMO",
];

/// `deskmate up`.
pub fn up(mut loaded: LoadedConfig) -> anyhow::Result<()> {
    let mut demo = Vec::new();
    if loaded.file.is_none() {
        let path = std::path::Path::new("deskmate.toml");
        if super::demo::write_config(path)? {
            demo.push(
                "wrote ./deskmate.toml with demo settings (edit it to use your own)".to_string(),
            );
        }
        loaded = super::load_config(Some(path))?;
    }
    let on_demo = loaded.config.rfq.market_data == "data/demo/markets.json";
    if on_demo {
        let p = super::demo::write_markets(&loaded.config.storage.data_dir)?;
        demo.push(format!(
            "illustrative demo market data, not live prices: {}",
            p.display()
        ));
    }
    let a = open(&loaded)?;
    check_audit(&a)?;
    bootstrap_admin(&a, false)?;
    a.revoke_tokens_labelled(&operator(), "admin", UP_TOKEN_LABEL)?;
    let token = a
        .issue_token(
            &operator(),
            "admin",
            UP_TOKEN_LABEL,
            Some(time::Duration::days(7)),
        )?
        .token;
    // A fresh web password for the bootstrap admin at each start, like the token: printed
    // once, and every earlier browser session of theirs ends.
    let password = assistant::sessions::random_password();
    a.set_password(&operator(), "admin", &password)?;
    let demo_password = if on_demo { Some(demo_users(&a)?) } else { None };
    if on_demo {
        match super::demo::import_market_data(&a) {
            Ok(Some(line)) => demo.push(line),
            Ok(None) => {}
            Err(e) => eprintln!("  (demo market data skipped: {e})"),
        }
    }
    // The first run's demo documents, ingested once the server runs (it answers meanwhile).
    // Whether the demo collections are there already (a later run): then the questions are
    // printed at once.
    let mut demo_ready = false;
    let mut kb_empty = false;
    let demo_sources = if on_demo {
        // The committed documents, from the manifest alone: loading models or opening the
        // indexes here would only be done again by the server a moment later.
        match assistant::documents::committed_collections(&loaded.config) {
            Ok(collections) if collections.is_empty() => {
                kb_empty = true;
                // Where the demo documents are: the shared data beside the clone, unless
                // DESKMATE_DEMO_DATA names another folder laid out the same way.
                let shared = std::env::var_os("DESKMATE_DEMO_DATA")
                    .map_or_else(|| "../shared/data".into(), std::path::PathBuf::from);
                super::knowledge::demo_sources(&shared)
            }
            Ok(collections) => {
                demo_ready = ["prc-laws", "emir-guidelines"]
                    .iter()
                    .all(|c| collections.iter().any(|d| d == c));
                Vec::new()
            }
            Err(e) => {
                eprintln!("  (demo documents skipped: {e})");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let ingesting: usize = demo_sources.iter().map(|s| s.files.len()).sum();
    let data_dir = a.store().data_dir().display().to_string();
    // Where this binary is, for the PATH line (`./x up` builds it under the cargo target dir).
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.display().to_string()))
        .unwrap_or_else(|| ".".into());
    run_server(
        a,
        move |url| {
            println!();
            println!("  Deskmate is running at {url}   (Ctrl-C to stop)");
            println!("  Deskmate 已启动：{url}   （按 Ctrl-C 停止）");
            println!();
            println!("  web app:      {url}/   sign in as admin / {password}");
            println!(
                "                (a new password is set at each `./x up`; create users on the Admin page)"
            );
            if let Some(p) = &demo_password {
                let names = |role: Role| {
                    DEMO_USERS
                        .iter()
                        .filter(|(_, r)| *r == role)
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                println!("  demo users:   password {p} for each of");
                for role in [
                    Role::Trader,
                    Role::Ops,
                    Role::Legal,
                    Role::Compliance,
                    Role::Risk,
                    Role::ModelRisk,
                    Role::Client,
                ] {
                    println!("                  {:<11} {}", role.as_str(), names(role));
                }
                println!(
                    "                (two traders and two ops users, for four-eyes approvals)"
                );
            }
            println!("  data dir:     {data_dir}");
            for line in &demo {
                println!("  demo:         {line}");
            }
            if ingesting > 0 {
                println!(
                    "  knowledge:    first run: ingesting {ingesting} demo documents in the background \
                 (progress below and on the Knowledge page; the questions to try follow when done)"
                );
            } else if on_demo && !demo_ready && kb_empty {
                println!(
                    "  knowledge:    empty (the demo documents are read from ../shared/data, not \
                     found here); add documents with `deskmate ingest PATH --collection NAME`"
                );
            }
            println!("  admin token:  {token}");
            println!("                (valid 7 days; a new one is issued at each `./x up`)");
            println!();
            println!("  Try, in another terminal in this directory:");
            println!("    export PATH=\"{bin_dir}:$PATH\" DESKMATE_TOKEN={token}");
            if demo_ready {
                for q in DEMO_QUESTIONS {
                    println!("    {q}");
                }
            }
            println!("    deskmate approvals list --state pending");
            println!("    curl -s {url}/healthz");
            println!("    curl -s -H \"Authorization: Bearer $DESKMATE_TOKEN\" {url}/v1/me");
            println!(
                "    curl -s -H \"Authorization: Bearer $DESKMATE_TOKEN\" -H 'Content-Type: application/json' -d '{{\"question\":\"期货和衍生品法第二十一条说了什么？\"}}' {url}/v1/ask"
            );
            println!("  Every command and page: README.md (\"Using it\"), `deskmate --help`.");
            println!();
        },
        move |a| {
            if !demo_sources.is_empty() {
                demo_documents(&a, demo_sources);
            }
            if on_demo && let Err(e) = demo_models(&a) {
                eprintln!("  (demo model approvals skipped: {e})");
            }
        },
    )
}
