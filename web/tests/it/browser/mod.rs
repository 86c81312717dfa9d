//! Tests in a real browser (issue #17): the real server ([`web::serve`] on a loopback socket,
//! a real `Assistant` on a temporary data dir with the demo's market data and client limits,
//! the webhook channel delivering replies to a loopback receiver) driven through WebDriver
//! (`fantoccini`) in headless Debian `chromium` by `chromedriver`.
//!
//! The harness: [`Tools`] finds the browser (missing, the test fails under
//! `DESKMATE_REQUIRE_ALL`, as `./x test` runs it, and otherwise says so and returns); [`Desk`]
//! is the server with its users, chat mapping and reply receiver; [`Browser`] is one WebDriver
//! session with the verbs a scenario needs (`sign_in`, `goto`, `click`, `fill`, `text_of`,
//! `wait_for`, `screenshot`). [`Browser::run`] runs a scenario and, when it fails (an error or
//! a failed assertion), saves a screenshot of the current page to
//! `<target dir>/ui-screenshots/<test>-<step>.png` and prints its path. With
//! `DESKMATE_SCREENSHOTS=<dir>` set (`./x screenshots`), [`Browser::page_shot`] saves one
//! screenshot per page visited there, for the README.
//!
//! Browser tests run one at a time ([`Browser::open`] holds a lock for the session's life), so
//! that the figures they measure (time to interactive, the live blotter's delay) are not those
//! of two browsers fighting over two cores.

mod compliance;
mod drafting;
mod knowledge;
mod ops;
mod pages;
mod rfq;

use anyhow::{Context, Result, bail, ensure};
use assistant::Assistant;
use assistant::approvals::ApprovalKind;
use assistant::config::Config;
use assistant::desk::DeskBridge;
use assistant::documents::Knowledge;
use assistant::store::Actor;
use axum::extract::State;
use axum::http::Method;
use connectors::chat::{ChatDesk, run_outbound};
use connectors::webhook::{WebhookSender, WebhookSettings};
use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use models::{GeneratorOptions, ModelStore, Models};
use policies::Role;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{MutexGuard, Notify, watch};
use web::AppState;

/// The password the admin sets for every web user of these tests.
pub const PASSWORD: &str = "correct horse battery";
/// The chat gateway's user (role client, an API token, no password).
pub const GATEWAY: &str = "wecom-bridge";
/// The web users: two traders (four-eyes), an admin, two legal users (four-eyes), a client and
/// a compliance officer.
pub const USERS: [(&str, Role); 7] = [
    ("tina", Role::Trader),
    ("tom", Role::Trader),
    ("root", Role::Admin),
    ("lena", Role::Legal),
    ("lars", Role::Legal),
    ("carla", Role::Client),
    ("cora", Role::Compliance),
];
/// The chat the demo client `DEMO` writes from.
pub const CHAT: (&str, &str) = ("wecom", "room-1");
/// A request for quote within the demo client's limits.
pub const RFQ_TEXT: &str = "@desk 沪深300 12个月 平值看涨 名义本金1000万 期权费多少";

/// How long a page or an element may take to appear before the step fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// The browser and its driver, found on this machine.
pub struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

impl Tools {
    /// Finds `chromium` and `chromedriver`. Without them: under `DESKMATE_REQUIRE_ALL` (`./x
    /// test`, CI) the test fails naming what to install; otherwise it says so and `None`.
    pub fn find() -> Option<Tools> {
        // Debian's `/usr/bin/chromium` is a shell launcher; the binary itself is steadier to drive.
        let chromium = Some(PathBuf::from("/usr/lib/chromium/chromium"))
            .filter(|p| p.is_file())
            .or_else(|| on_path("chromium"));
        let chromedriver = on_path("chromedriver");
        if let (Some(chromium), Some(chromedriver)) = (chromium.clone(), chromedriver.clone()) {
            return Some(Tools {
                chromium,
                chromedriver,
            });
        }
        let missing: Vec<&str> = [
            ("chromium", chromium.is_none()),
            ("chromedriver", chromedriver.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, gone)| gone.then_some(name))
        .collect();
        let why = format!(
            "browser tests: {} not found: install chromium chromium-driver (./x test does)",
            missing.join(" and ")
        );
        // `./x test` (CI) sets DESKMATE_REQUIRE_ALL: there a missing browser fails the test.
        assert!(std::env::var_os("DESKMATE_REQUIRE_ALL").is_none(), "{why}");
        eprintln!("skipped: {why}");
        None
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The workspace's root folder.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("web sits in the workspace")
        .to_path_buf()
}

/// Where failure screenshots go: `ui-screenshots` in the cargo target dir this test binary was
/// built in (`<target>/debug/deps/it-…`).
fn failure_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| workspace().join("target"))
        .join("ui-screenshots")
}

/// Where README screenshots go, when `DESKMATE_SCREENSHOTS` asks for them (a relative path is
/// taken from the workspace root, not from the test's working dir `web/`).
fn readme_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("DESKMATE_SCREENSHOTS")?);
    Some(if dir.is_absolute() {
        dir
    } else {
        workspace().join(dir)
    })
}

/// The demo's market data (`demo/markets.json`), stamped with today's date as `deskmate up`
/// does, written into `dir`.
fn demo_markets(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(workspace().join("demo/markets.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    let today = time::OffsetDateTime::now_utc().date().to_string();
    // As `deskmate up` writes it (`src/cmd/demo.rs`): the note off, dated today.
    v.as_object_mut().unwrap().remove("_note");
    for m in v["markets"].as_object_mut().unwrap().values_mut() {
        m["valuation_date"] = json!(today);
    }
    let path = dir.join("markets.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    path
}

type Replies = Arc<Mutex<Vec<Value>>>;

/// The loopback chat system: keeps every reply the desk sends and accepts it.
async fn receive(
    State(r): State<Replies>,
    axum::Json(body): axum::Json<Value>,
) -> axum::Json<Value> {
    let mut r = r.lock().unwrap();
    r.push(body);
    axum::Json(json!({"message_id": format!("w-{}", r.len())}))
}

/// What a scenario needs beyond the desk.
#[derive(Debug, Clone, Copy, Default)]
pub struct Setup {
    /// The knowledge base with the fixture embedder and generator.
    pub knowledge: bool,
    /// The fixture generator as the default one (drafting's model-written passages).
    pub fixture_generator: bool,
}

/// The desk as `deskmate serve` runs it, on 127.0.0.1 with a port of its own: the demo
/// configuration (`demo/deskmate.demo.toml`: client `DEMO` and its limits; the demo market data)
/// with the webhook channel `wecom` (chat `room-1` mapped to `DEMO`), replies delivered by the
/// real webhook sender to a loopback receiver, and four-eyes on quotes. The admin `root` set
/// every web user's password ([`PASSWORD`]).
pub struct Desk {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The server's state (the same `Assistant`).
    pub state: AppState,
    gateway_token: String,
    replies: Replies,
    http: reqwest::Client,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The data dir; `None` once [`Desk::stop`] has taken it.
    dir: Option<tempfile::TempDir>,
}

/// A desk dropped without [`Desk::stop`] (its scenario failed) keeps its data dir for a look,
/// and so the tasks still holding the assistant do not lose their files under them.
impl Drop for Desk {
    fn drop(&mut self) {
        if let Some(d) = self.dir.take() {
            eprintln!("the failed test's data dir is kept: {}", d.keep().display());
        }
    }
}

impl Desk {
    /// Starts the receiver, the server and the webhook sender.
    pub async fn start() -> Desk {
        Self::start_with(Setup::default()).await
    }

    /// [`Desk::start`], with the parts `setup` asks for.
    pub async fn start_with(setup: Setup) -> Desk {
        let replies: Replies = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let callback = format!("http://{}/replies", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .route("/replies", axum::routing::post(receive))
            .with_state(replies.clone());
        let receiver = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });

        let dir = tempfile::tempdir().unwrap();
        let demo = workspace().join("demo/deskmate.demo.toml");
        let mut c = Config::load(Some(&demo), &BTreeMap::new()).unwrap().config;
        c.storage.data_dir = dir.path().join("data");
        c.rfq.market_data = demo_markets(dir.path()).display().to_string();
        c.rfq.send_retry_ms = 50;
        c.approvals.four_eyes_kinds.push(ApprovalKind::Quote);
        c.webhook.channels = vec![CHAT.0.into()];
        c.webhook.gateway_users = vec![GATEWAY.into()];
        c.webhook.callback_url = callback.clone();
        c.server.shutdown_grace_secs = 1;
        if setup.fixture_generator {
            c.models.dir = ModelStore::from_env().root().display().to_string();
            c.models.generator = "smollm2-135m-instruct".into();
        }
        let knowledge = setup.knowledge.then(|| {
            // The test fixtures (`deskmate models install --fixtures`), as the API tests use them.
            c.knowledge.embedder = "all-minilm-l6-v2".into();
            c.knowledge.generator = "smollm2-135m-instruct".into();
            c.knowledge.answer_min_similarity = 0.45;
            c.knowledge.answer_max_tokens = 48;
            let models = Models::new(ModelStore::from_env(), GeneratorOptions::default());
            Knowledge::open_with_models(&c, &models, "browser tests").unwrap_or_else(|e| {
                panic!("the knowledge base needs the model fixtures (deskmate models install --fixtures): {e}")
            })
        });
        let a = Assistant::open(c).unwrap();
        // Model risk: the configured models serve once approved (issue #21).
        crate::approve_models(&a);
        if let Some(k) = knowledge {
            a.attach_knowledge(k);
        }
        // The first admin, as `deskmate serve` bootstraps it; then the admin does the rest.
        a.create_user(&Actor::system(), "root", Role::Admin)
            .unwrap();
        a.set_password(&Actor::system(), "root", PASSWORD).unwrap();
        let admin = Actor {
            user: "root".into(),
            role: Some(Role::Admin),
            request_id: None,
        };
        for (name, role) in USERS.into_iter().filter(|(n, _)| *n != "root") {
            a.create_user(&admin, name, role).unwrap();
            a.set_password(&admin, name, PASSWORD).unwrap();
        }
        a.create_user(&admin, GATEWAY, Role::Client).unwrap();
        let gateway_token = a
            .issue_token(&admin, GATEWAY, "browser tests", None)
            .unwrap()
            .token;
        a.rfq_chat_set(&admin, CHAT.0, CHAT.1, "DEMO", Some("Demo client"))
            .unwrap();
        let state = AppState::new(a);

        let (stop, stop_rx) = watch::channel(false);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = {
            let (state, mut stop_rx) = (state.clone(), stop_rx.clone());
            tokio::spawn(async move {
                let app = web::app(state.clone());
                let shutdown = async move {
                    let _ = stop_rx.wait_for(|s| *s).await;
                };
                web::serve(listener, state, app, shutdown).await.unwrap();
            })
        };
        let desk: Arc<dyn ChatDesk> = Arc::new(DeskBridge::new(state.assistant.clone()));
        let sender = WebhookSender::new(WebhookSettings {
            callback_url: url::Url::parse(&callback).unwrap(),
            secret: String::new(),
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        let pump = tokio::spawn(run_outbound(
            desk,
            Arc::new(sender),
            CHAT.0.into(),
            Arc::new(Notify::new()),
            Duration::from_millis(50),
            stop_rx,
        ));
        Desk {
            base,
            state,
            gateway_token,
            replies,
            http: reqwest::Client::new(),
            stop,
            tasks: vec![server, pump, receiver],
            dir: Some(dir),
        }
    }

    /// The chat gateway posts `text` as message `message_id` of the demo client's chat to
    /// `POST /v1/chat/inbound` over the socket; the answer (202) with the request's id.
    pub async fn inbound(&self, message_id: &str, text: &str) -> Result<Value> {
        let resp = self
            .http
            .post(format!("{}/v1/chat/inbound", self.base))
            .bearer_auth(&self.gateway_token)
            .json(&json!({
                "channel": CHAT.0, "chat_id": CHAT.1, "message_id": message_id,
                "sender": "u-7 alice", "bot_mention": "@desk", "text": text,
            }))
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        ensure!(status.as_u16() == 202, "inbound answered {status}: {body}");
        Ok(body)
    }

    /// Waits for the first reply of `kind` (`ack`, `quote`, …) at the loopback receiver.
    pub async fn reply(&self, kind: &str, timeout: Duration) -> Result<Value> {
        let end = Instant::now() + timeout;
        loop {
            let found = self
                .replies
                .lock()
                .unwrap()
                .iter()
                .find(|r| r["kind"] == kind)
                .cloned();
            if let Some(r) = found {
                return Ok(r);
            }
            if Instant::now() > end {
                let got = self.replies.lock().unwrap().clone();
                bail!("no {kind} reply within {timeout:?}; the receiver got {got:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the sender and the server (after the browser has closed its connections).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        let mut tasks = std::mem::take(&mut self.tasks);
        let receiver = tasks.pop();
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        if let Some(r) = receiver {
            r.abort();
        }
        // A blocking task of the sender may still hold the assistant for a moment: the data
        // dir goes only after the last holder has let go (and the vector store has flushed).
        let end = Instant::now() + Duration::from_secs(10);
        while Arc::strong_count(&self.state.assistant) > 1 && Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let dir = self.dir.take();
        drop(self);
        drop(dir);
    }
}

/// `chromedriver`, started by us; stopped (by its own handle) when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A Chrome DevTools command sent through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (Method::POST, Some(body.to_string()))
    }
}

/// Whether the page runs scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// JavaScript on, as browsers come.
    On,
    /// JavaScript off (the browser's content setting), to read pages as a script-less browser.
    Off,
}

/// What a page load cost: bytes over the wire and time to `domInteractive`.
#[derive(Debug)]
pub struct LoadFigures {
    /// Bytes transferred: the document and every resource (Resource Timing `transferSize`).
    pub transferred: u64,
    /// Milliseconds from navigation start to `domInteractive`.
    pub interactive_ms: f64,
    /// Each resource: (URL, bytes transferred).
    pub resources: Vec<(String, u64)>,
}

/// One headless Chromium session (1280×800), driven through WebDriver.
pub struct Browser {
    client: Client,
    base: String,
    test: &'static str,
    step: String,
    _driver: Driver,
    _profile: tempfile::TempDir,
    _one_at_a_time: MutexGuard<'static, ()>,
}

/// Browser sessions run one at a time (see the module doc).
pub(crate) static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Browser {
    /// Starts `chromedriver` on a free port and a headless Chromium session on it, for test
    /// `test` against the server at `base`.
    pub async fn open(tools: &Tools, test: &'static str, base: &str, script: Script) -> Browser {
        let guard = ONE_AT_A_TIME.lock().await;
        Self::start(tools, test, base, script, guard)
            .await
            .unwrap_or_else(|e| panic!("{test}: the browser did not start: {e:#}"))
    }

    async fn start(
        tools: &Tools,
        test: &'static str,
        base: &str,
        script: Script,
        guard: MutexGuard<'static, ()>,
    ) -> Result<Browser> {
        let profile = tempfile::tempdir()?;
        let port = free_port()?;
        let driver = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", tools.chromedriver.display()))?;
        let driver = Driver(driver);
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let end = Instant::now() + Duration::from_secs(20);
        while !http
            .get(format!("{url}/status"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            ensure!(Instant::now() < end, "chromedriver did not answer on {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut prefs = json!({"intl.accept_languages": "en-US,en"});
        if script == Script::Off {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": tools.chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,800", "--force-device-scale-factor=1", "--hide-scrollbars",
                    "--lang=en-US", "--no-first-run", "--no-default-browser-check",
                    "--disable-extensions", "--disable-background-networking", "--disable-sync",
                    "--password-store=basic",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": prefs,
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!("a JSON object")
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(caps);
        let client = builder
            .connect(&url)
            .await
            .context("starting a Chromium session")?;
        Ok(Browser {
            client,
            base: base.to_string(),
            test,
            step: "start".into(),
            _driver: driver,
            _profile: profile,
            _one_at_a_time: guard,
        })
    }

    /// Runs `scenario`; if it fails (an error or a panic), saves a screenshot of the page it
    /// failed on to `<target>/ui-screenshots/<test>-<step>.png`, prints the path, and fails
    /// the test. The session is closed either way.
    pub async fn run(mut self, scenario: impl AsyncFnOnce(&mut Browser) -> Result<()>) {
        let outcome = AssertUnwindSafe(scenario(&mut self)).catch_unwind().await;
        if !matches!(outcome, Ok(Ok(()))) {
            let name = format!("{}-{}", self.test, self.step);
            match self.screenshot_to(&failure_dir(), &name).await {
                Ok(p) => eprintln!(
                    "{}: screenshot of the failed step: {}",
                    self.test,
                    p.display()
                ),
                Err(e) => eprintln!("{}: no screenshot of the failed step: {e:#}", self.test),
            }
        }
        let (test, step) = (self.test, self.step.clone());
        let _ = self.client.close().await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{test}, step {step}: {e:#}"),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Names the step that follows (a failure's screenshot carries it).
    pub fn step(&mut self, name: &str) {
        self.step = name.to_string();
    }

    /// Opens `path` of the server (or an absolute URL).
    pub async fn goto(&self, path: &str) -> Result<()> {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        self.client
            .goto(&url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> Result<String> {
        let u = self.client.current_url().await?;
        Ok(match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        })
    }

    /// Waits until the page's path (with its query) starts with `prefix`: after a form's
    /// submission, the old page may still be showing when the next step looks.
    pub async fn wait_path(&self, prefix: &str, timeout: Duration) -> Result<String> {
        let t0 = std::time::Instant::now();
        loop {
            let p = self.path().await?;
            if p.starts_with(prefix) {
                return Ok(p);
            }
            anyhow::ensure!(
                t0.elapsed() < timeout,
                "still on {p} after {timeout:?}, not on {prefix}…"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn find(&self, css: &str) -> Result<Element> {
        let here = self.path().await.unwrap_or_default();
        self.client
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("no `{css}` on {here}"))
    }

    /// Clicks the element `css` (and waits for the page it leads to, if any, to load).
    pub async fn click(&self, css: &str) -> Result<()> {
        // A live region may replace the element between finding and clicking it (the blotter
        // refreshes its rows): find it again, as a user's second look would.
        for attempt in 0..3 {
            let e = self.find(css).await?;
            // In the middle of the view, clear of the top bar, as a user would scroll to it.
            let clicked = match self
                .client
                .execute(
                    "arguments[0].scrollIntoView({block: 'center'});",
                    vec![serde_json::to_value(&e)?],
                )
                .await
            {
                Ok(_) => e.click().await,
                Err(err) => Err(err),
            };
            match clicked {
                Ok(()) => return Ok(()),
                Err(err) if attempt < 2 && err.to_string().contains("stale element") => continue,
                Err(err) => return Err(err).with_context(|| format!("clicking `{css}`")),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Replaces the content of the field `css` by typing `text`.
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        let e = self.find(css).await?;
        e.clear().await?;
        e.send_keys(text)
            .await
            .with_context(|| format!("typing into `{css}`"))
    }

    /// Waits until the text of `css` satisfies `want` (the page may still be the one before a
    /// form's answer: its elements go stale, and they are looked up again), and returns it.
    pub async fn wait_text(
        &self,
        css: &str,
        want: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<String> {
        let end = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await
                && let Ok(t) = e.text().await
            {
                if want(&t) {
                    return Ok(t);
                }
                last = t;
            }
            if Instant::now() > end {
                let here = self.path().await.unwrap_or_default();
                bail!("`{css}` on {here} still reads {last:?} after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Chooses `files` in the file input `css`, as a user picking them in the dialog would.
    pub async fn choose_files(&self, css: &str, files: &[&Path]) -> Result<()> {
        // WebDriver takes canonical paths only.
        let list = files
            .iter()
            .map(|p| Ok(p.canonicalize()?.display().to_string()))
            .collect::<Result<Vec<String>>>()?;
        self.find(css)
            .await?
            .send_keys(&list.join("\n"))
            .await
            .with_context(|| format!("choosing {list:?} in `{css}`"))
    }

    /// Picks the option `value` of the select `css`.
    pub async fn select(&self, css: &str, value: &str) -> Result<()> {
        self.find(css)
            .await?
            .select_by_value(value)
            .await
            .with_context(|| format!("choosing {value} in `{css}`"))
    }

    /// The visible text of the element `css`.
    pub async fn text_of(&self, css: &str) -> Result<String> {
        Ok(self.find(css).await?.text().await?)
    }

    /// A property of the element `css` (`value` of a field).
    pub async fn prop_of(&self, css: &str, prop: &str) -> Result<Option<String>> {
        Ok(self.find(css).await?.prop(prop).await?)
    }

    /// Waits up to `timeout` for an element `css`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element> {
        let found = self
            .client
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(25))
            .for_element(Locator::Css(css))
            .await;
        match found {
            Ok(e) => Ok(e),
            Err(e) => {
                let here = self.path().await.unwrap_or_default();
                bail!("no `{css}` on {here} within {timeout:?}: {e}")
            }
        }
    }

    /// Runs `script` in the page (WebDriver's script runner is not bound by the page's CSP).
    pub async fn js(&self, script: &str) -> Result<Value> {
        Ok(self.client.execute(script, vec![]).await?)
    }

    /// Sends a Chrome DevTools command to the page.
    async fn cdp(&self, cmd: &'static str, params: Value) -> Result<Value> {
        Ok(self.client.issue_cmd(Cdp { cmd, params }).await?)
    }

    /// Empties the browser's cache, so that the next page loads as a first visit would.
    pub async fn clear_cache(&self) -> Result<()> {
        self.cdp("Network.clearBrowserCache", json!({})).await?;
        Ok(())
    }

    /// The figures of the page just loaded (Navigation and Resource Timing).
    pub async fn load_figures(&self) -> Result<LoadFigures> {
        let v = self
            .js("const n = performance.getEntriesByType('navigation')[0];
                 return {interactive: n.domInteractive, document: n.transferSize,
                         resources: performance.getEntriesByType('resource')
                           .map(r => [r.name, r.transferSize])};")
            .await?;
        let resources: Vec<(String, u64)> = v["resources"]
            .as_array()
            .context("resource timing")?
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap_or_default().to_string(),
                    r[1].as_u64().unwrap_or_default(),
                )
            })
            .collect();
        let document = v["document"].as_u64().context("navigation timing")?;
        Ok(LoadFigures {
            transferred: document + resources.iter().map(|r| r.1).sum::<u64>(),
            interactive_ms: v["interactive"].as_f64().context("domInteractive")?,
            resources,
        })
    }

    /// Signs `user` in through the sign-in form and waits for the signed-in page it leads to.
    pub async fn sign_in(&self, user: &str, password: &str) -> Result<()> {
        self.goto("/sign-in").await?;
        self.submit_sign_in(user, password).await
    }

    /// Fills and submits the sign-in form shown.
    pub async fn submit_sign_in(&self, user: &str, password: &str) -> Result<()> {
        self.wait_for("#password", WAIT).await?;
        self.fill("#name", user).await?;
        self.fill("#password", password).await?;
        self.click("form[action='/sign-in'] button[type=submit]")
            .await?;
        let who = self.wait_for("header.top .who strong", WAIT).await?;
        let shown = who.text().await?;
        ensure!(shown == user, "signed in as {shown}, not {user}");
        Ok(())
    }

    /// Signs out with the top bar's button.
    pub async fn sign_out(&self) -> Result<()> {
        self.click("form[action='/sign-out'] button").await?;
        self.wait_for("#password", WAIT).await?;
        Ok(())
    }

    async fn screenshot_to(&self, dir: &Path, name: &str) -> Result<PathBuf> {
        let png = self.client.screenshot().await?;
        std::fs::create_dir_all(dir)?;
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let path = dir.join(format!("{safe}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// For the README: with `DESKMATE_SCREENSHOTS` set, saves the top of the page as
    /// `<that dir>/<page>.png`.
    pub async fn page_shot(&self, page: &str) -> Result<()> {
        if let Some(dir) = readme_dir() {
            // The top of the page, as a user arriving sees it.
            self.js("window.scrollTo(0, 0);").await?;
            let p = self.screenshot_to(&dir, page).await?;
            eprintln!("screenshot of {page}: {}", p.display());
        }
        Ok(())
    }
}
