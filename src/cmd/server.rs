//! `deskmate up` (first look, embedded defaults) and `deskmate serve` (production).

use super::admin::operator;
use super::open;
use anyhow::Context;
use assistant::Assistant;
use assistant::config::LoadedConfig;
use assistant::lock::DataDirLock;
use policies::Role;
use std::process::ExitCode;

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
            anyhow::bail!(
                "the audit log is broken at entry {}: {b}. Investigate with `deskmate audit verify`; \
                 restore a verified backup with `deskmate restore DIR` if needed",
                b.seq
            )
        }
    }
}

fn run_server(a: Assistant, banner: impl FnOnce(&str)) -> anyhow::Result<ExitCode> {
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
        let chats = super::chat::start(state.assistant.clone(), stop_rx)?;
        web::serve(listener, state, app, async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        })
        .await?;
        for c in chats {
            let _ = c.await;
        }
        tracing::info!("stopped");
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
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
pub fn serve(loaded: LoadedConfig) -> anyhow::Result<ExitCode> {
    let a = open(&loaded)?;
    check_audit(&a)?;
    let first = bootstrap_admin(&a, true)?;
    run_server(a, |url| {
        eprintln!("Deskmate listening on {url}");
        if let Some(token) = first {
            eprintln!(
                "Created user `admin`. Its token is shown this once; store it now:\n  {token}"
            );
        }
    })
}

/// First run only: ingests the shared regulations (`../shared/data/regulation-zh` and
/// `regulation-en`, when present) into an empty knowledge base, so that `deskmate ask` has
/// something to answer from. Best effort: a missing model or a held lock is reported and
/// skipped.
fn demo_documents(a: &assistant::Assistant) {
    let sources = super::knowledge::demo_sources();
    if sources.is_empty() {
        return;
    }
    let k = match super::knowledge::open_knowledge(a, "deskmate up") {
        Ok(k) => k,
        Err(e) => {
            eprintln!("  (demo documents skipped: {e:#})");
            return;
        }
    };
    if !k.kb().documents().is_empty() {
        return;
    }
    let t = std::time::Instant::now();
    eprintln!("  First run: ingesting the demo regulations into the knowledge base…");
    for (dir, collection) in sources {
        let files = match super::knowledge::files_under(&[dir]) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("  (demo documents skipped: {e:#})");
                return;
            }
        };
        super::knowledge::ingest_files(
            a,
            &k,
            &files,
            collection,
            policies::DataClass::GENERAL,
            false,
        );
    }
    eprintln!(
        "  demo documents ingested in {:.0} s",
        t.elapsed().as_secs_f64()
    );
}

/// `deskmate up`.
pub fn up(mut loaded: LoadedConfig) -> anyhow::Result<ExitCode> {
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
    demo_documents(&a);
    let data_dir = a.store().data_dir().display().to_string();
    run_server(a, move |url| {
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
            println!("                (two traders and two ops users, for four-eyes approvals)");
        }
        println!("  data dir:     {data_dir}");
        for line in &demo {
            println!("  demo:         {line}");
        }
        println!("  admin token:  {token}");
        println!("                (valid 7 days; a new one is issued at each `./x up`)");
        println!();
        println!("  Try:");
        println!("    export TOKEN={token}");
        println!("    curl -s {url}/healthz");
        println!("    curl -s -H \"Authorization: Bearer $TOKEN\" {url}/v1/me");
        println!("    curl -s -H \"Authorization: Bearer $TOKEN\" {url}/v1/routes");
        println!(
            "    curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\"
        );
        println!("         -d '{{\"name\":\"tina\",\"role\":\"trader\"}}' {url}/v1/users");
        println!(
            "    curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\"
        );
        println!(
            "         -d '{{\"question\":\"期货和衍生品法第二十一条说了什么？\"}}' {url}/v1/ask"
        );
        println!("    ./target/release/deskmate audit verify      # or: deskmate audit verify");
        println!();
    })
}
