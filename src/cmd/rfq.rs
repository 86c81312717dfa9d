//! `deskmate rfq`: the RFQ desk from the command line.
//!
//! `deskmate rfq parse "MESSAGE"` prints the canonical JSON of `shared/schemas/rfq.md` for the
//! message on standard output, as one compact line (`{"requests":[...],"missing":[...]}`, every
//! request with all seventeen fields in schema order), followed by a newline: this exact output
//! is what evaluation compares. `--pretty` indents it instead; `--explain` adds the confidence,
//! the path, the problems and the clarifying question on standard error, leaving standard output
//! unchanged. `--model` (opt-in) asks the default generator when the rules are not confident
//! (below `rfq.model_fallback_threshold`), with schema-constrained JSON checked by the same
//! lexicon; the rule path stays the default. This command needs no data dir, so its model
//! calls are not audited (the desk's are).
//!
//! `deskmate rfq quote "MESSAGE" --client C` runs the desk's whole loop without a chat, on the
//! data dir: parse, clarifying question or pricing with the desk's conventions, market data and
//! margin, limit checks with the desk's exposure, and the approval queue. It prints, readably, the
//! parse, each quote's price with its engine and market, the limits with plain reasons and the
//! approval id (a trader then decides with `deskmate approvals`); `--json` prints the request
//! with its quotes, approvals, messages and audit entries.
//! `deskmate rfq chats` maps chats to clients (administrators).

use super::admin::operator;
use super::{open, print_json};
use anyhow::Context;
use assistant::config::LoadedConfig;
use assistant::inference::{self, JsonModel};
use clap::{Args, Subcommand};
use rfq::clarify::question;
use rfq::{Lexicon, ParseContext, RfqParser};
use std::path::PathBuf;

/// Arguments of `deskmate rfq`.
#[derive(Debug, Args)]
pub struct RfqArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: RfqCommand,
}

/// The `rfq` subcommands.
#[derive(Debug, Subcommand)]
pub enum RfqCommand {
    /// Parse a chat message and print its canonical JSON (shared/schemas/rfq.md) on one line.
    Parse(ParseArgs),
    /// Run the whole desk loop for a message without a chat: the parse, each quote's price
    /// with its engine, the limits with plain reasons and the approval id (`--json`: all of it).
    Quote(QuoteArgs),
    /// Chat → client mappings of the desk.
    #[command(subcommand)]
    Chats(ChatsCmd),
    /// Show the desk's market data as loaded from rfq.market_data.
    MarketData {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `deskmate rfq quote`.
#[derive(Debug, Args)]
pub struct QuoteArgs {
    /// The request, as a client would write it.
    pub message: String,
    /// The client id (a key of `[limits.clients]`).
    #[arg(long)]
    pub client: String,
    /// Print the request with its quotes, approvals, messages and audit entries as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `deskmate rfq chats` commands.
#[derive(Debug, Subcommand)]
pub enum ChatsCmd {
    /// List the mappings (a table; `--json` for machines).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Map a chat to a client (replacing the chat's mapping).
    Add {
        /// `telegram` or a webhook channel.
        #[arg(long)]
        channel: String,
        /// The chat's id (a Telegram group id such as -1001234567890).
        #[arg(long, allow_hyphen_values = true)]
        chat: String,
        /// The client id (a key of `[limits.clients]`).
        #[arg(long)]
        client: String,
        /// A note (the group's name).
        #[arg(long)]
        label: Option<String>,
        /// Print the mapping as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a mapping by its id.
    Remove {
        /// The id (`chat_…`).
        id: String,
    },
}

/// Arguments of `deskmate rfq parse`.
#[derive(Debug, Args)]
pub struct ParseArgs {
    /// The chat message, as the client wrote it.
    pub message: String,
    /// Indent the JSON (evaluation compares the default one-line form).
    #[arg(long)]
    pub pretty: bool,
    /// Also print confidence, path, problems and the clarifying question on standard error.
    #[arg(long)]
    pub explain: bool,
    /// The date the message was received (YYYY-MM-DD), for futures months written without a
    /// year; default: today (UTC).
    #[arg(long)]
    pub today: Option<String>,
    /// A directory holding underlyings.toml, futures.toml, vocab.toml and variants.toml that
    /// replace the built-in lexicon.
    #[arg(long, env = "DESKMATE_RFQ_LEXICON")]
    pub lexicon: Option<PathBuf>,
    /// Ask the local model (`models.generator`, or `--model-name`) when the rules are not
    /// confident; its answer is validated by the lexicon. Off: the rules alone.
    #[arg(long)]
    pub model: bool,
    /// The generator `--model` asks (default: the configured default generator).
    #[arg(long, requires = "model")]
    pub model_name: Option<String>,
}

/// Runs `deskmate rfq`.
pub fn run(args: RfqArgs, loaded: LoadedConfig) -> anyhow::Result<()> {
    match args.command {
        RfqCommand::Parse(a) => parse(a, &loaded),
        RfqCommand::Quote(q) => {
            let a = open(&loaded)?;
            let actor = operator();
            let detail = a.rfq_quote_local(&actor, &q.message, &q.client)?;
            if q.json {
                print_json(&detail);
            } else {
                print_quote(&super::ui::Ui::from_env(), &serde_json::to_value(&detail)?);
            }
            Ok(())
        }
        RfqCommand::Chats(c) => {
            let a = open(&loaded)?;
            match c {
                ChatsCmd::List { json } => {
                    let chats = a.rfq_chats()?;
                    if json {
                        print_json(&serde_json::json!({ "chats": chats }));
                    } else {
                        print_chats(&super::ui::Ui::from_env(), &chats);
                    }
                }
                ChatsCmd::Add {
                    channel,
                    chat,
                    client,
                    label,
                    json,
                } => {
                    let m =
                        a.rfq_chat_set(&operator(), &channel, &chat, &client, label.as_deref())?;
                    if json {
                        print_json(&m);
                        return Ok(());
                    }
                    let ui = super::ui::Ui::from_env();
                    println!(
                        "{} {} {} {} → {} ({})",
                        ui.t("mapped", "已关联"),
                        m.channel,
                        ui.t("chat", "群"),
                        m.chat_id,
                        m.client_id,
                        m.id
                    );
                    if !m.client_configured {
                        println!(
                            "  {}",
                            ui.warn(&format!(
                                "{} [limits.clients.{}]",
                                ui.t(
                                    "requests from this chat are held until the client is configured in",
                                    "在配置文件中设置该客户之前，该群的询价将被搁置："
                                ),
                                m.client_id
                            ))
                        );
                    }
                }
                ChatsCmd::Remove { id } => {
                    a.rfq_chat_remove(&operator(), &id)?;
                    eprintln!("removed {id}");
                }
            }
            Ok(())
        }
        RfqCommand::MarketData { json } => {
            let a = open(&loaded)?;
            let summary = a.desk().market().summary();
            if json {
                print_json(&summary);
            } else {
                print_markets(&super::ui::Ui::from_env(), &summary);
            }
            Ok(())
        }
    }
}

fn parse(a: ParseArgs, loaded: &LoadedConfig) -> anyhow::Result<()> {
    let ctx = match &a.today {
        Some(d) => ParseContext::from_iso(d)
            .with_context(|| format!("--today {d:?} is not a YYYY-MM-DD date"))?,
        None => ParseContext::today_utc(),
    };
    let owned;
    let parser = match &a.lexicon {
        Some(dir) => {
            let lex = Lexicon::load_dir(dir)
                .with_context(|| format!("loading the RFQ lexicon from {}", dir.display()))?;
            owned = RfqParser::new(lex);
            &owned
        }
        None => RfqParser::builtin(),
    };
    let out = if a.model {
        let cfg = &loaded.config;
        super::set_model_threads(cfg, None);
        let models = std::sync::Arc::new(inference::registry(cfg)?);
        let name = a
            .model_name
            .clone()
            .unwrap_or_else(|| inference::default_generator_name(cfg).to_string());
        let mut model = JsonModel::new(
            models,
            &name,
            cfg.rfq.model_max_tokens as usize,
            "rfq.parse",
        );
        parser.parse_with_model_below(
            &a.message,
            &ctx,
            cfg.rfq.model_fallback_threshold as f32,
            &mut model,
        )
    } else {
        parser.parse(&a.message, &ctx)
    };
    if a.pretty {
        println!("{}", serde_json::to_string_pretty(&out.parse)?);
    } else {
        println!("{}", out.parse.to_json());
    }
    if a.explain {
        eprintln!("confidence {:.2}, path {:?}", out.confidence, out.path);
        for p in &out.problems {
            eprintln!("problem: {p}");
        }
        if let Some(q) = question(&out.parse, out.language) {
            eprintln!("question: {q}");
        }
    }
    Ok(())
}

/// The human form of `rfq quote`: one block for the request, one per quote.
fn print_quote(ui: &super::ui::Ui, d: &serde_json::Value) {
    use super::ui::grouped;
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let zh = ui.lang == super::ui::Lang::Zh;
    println!(
        "{} {}  {}  {}",
        ui.bold(ui.t("Request", "询价")),
        s(&d["id"]),
        s(&d["client_id"]),
        status_word(ui, &s(&d["status"]))
    );
    let mut rows = vec![(ui.t("message", "消息"), s(&d["text"]))];
    for r in d["parse"]["requests"].as_array().into_iter().flatten() {
        rows.push((ui.t("parsed", "解析结果"), parsed_request(ui, r)));
    }
    let missing: Vec<String> = d["parse"]["missing"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string))
        .collect();
    if !missing.is_empty() {
        rows.push((ui.t("missing", "缺少"), ui.warn(&missing.join(", "))));
    }
    if let Some(c) = d["confidence"].as_f64() {
        rows.push((
            ui.t("parsed by", "解析方式"),
            format!(
                "{} ({} {c:.2})",
                s(&d["path"]),
                ui.t("confidence", "置信度")
            ),
        ));
    }
    if let Some(e) = d["error"].as_str() {
        rows.push((ui.t("error", "错误"), ui.bad(e)));
    }
    // The desk's replies (an acknowledgement, a clarifying question, a hold notice) as the
    // client reads them.
    for m in d["messages"].as_array().into_iter().flatten() {
        if m["direction"] == "out" {
            rows.push((ui.t("reply", "回复"), s(&m["text"]).replace('\n', " ")));
        }
    }
    ui.fields(&rows);
    for (i, q) in d["quote_details"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let det = &q["detail"];
        let terms = det["terms"][ui.lang.code()]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{} {}", s(&q["underlying"]), s(&q["structure"])));
        println!();
        println!(
            "{} {}  {terms}  {}",
            ui.bold(ui.t("Quote", "报价")),
            i + 1,
            status_word(ui, &s(&q["status"]))
        );
        let mut rows: Vec<(&str, String)> = Vec::new();
        let quote = &det["quote"];
        let ccy = s(&det["currency"]);
        if let (Some(client), Some(fair)) = (quote["client"].as_f64(), quote["fair"].as_f64()) {
            let unit = s(&quote["unit"]);
            let mut line = format!(
                "{client:.2} {unit} ({} {fair:.2} {unit}, {} {} bp)",
                ui.t("fair", "公允"),
                ui.t("margin", "加价"),
                quote["margin_bps"].as_f64().unwrap_or(0.0)
            );
            if let Some(amount) = quote["client_amount"].as_f64() {
                line.push_str(&format!(" ≈ {} {ccy}", grouped(amount, 0)));
            }
            let label = match (s(&quote["kind"]).as_str(), zh) {
                ("premium", false) => "premium",
                ("premium", true) => "期权费",
                ("coupon", false) => "coupon",
                ("coupon", true) => "票息",
                (_, false) => "quote",
                (_, true) => "报价",
            };
            rows.push((label, ui.bold(&line)));
        }
        if let Some(n) = det["notional"].as_f64() {
            rows.push((
                ui.t("notional", "名义本金"),
                format!("{} {ccy}", grouped(n, 0)),
            ));
        }
        let p = &det["pricing"];
        if p.is_object() {
            let mut engine = s(&p["engine"]);
            if let Some(paths) = p["paths"].as_u64() {
                engine.push_str(&format!(
                    ", {} {}, {} {:.3}%",
                    grouped(paths as f64, 0),
                    ui.t("paths", "条路径"),
                    ui.t("std error", "标准误差"),
                    p["std_error_pct"].as_f64().unwrap_or(0.0)
                ));
            }
            rows.push((ui.t("engine", "定价引擎"), engine));
            let m = &p["market"];
            rows.push((
                ui.t("market", "行情"),
                format!(
                    "{} {} {}, {} {:.2}%, {} {:.2}%, {} {} ({})",
                    s(&m["code"]),
                    ui.t("spot", "现价"),
                    m["spot"].as_f64().map_or("-".into(), |x| grouped(x, 2)),
                    ui.t("vol", "波动率"),
                    m["vol"].as_f64().unwrap_or(0.0) * 100.0,
                    ui.t("rate", "利率"),
                    m["rate"].as_f64().unwrap_or(0.0) * 100.0,
                    ui.t("as of", "日期"),
                    s(&m["valuation_date"]),
                    s(&m["file"])
                ),
            ));
            let conv: Vec<String> = p["conventions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(s)
                .collect();
            if !conv.is_empty() {
                rows.push((ui.t("assumed", "默认约定"), conv.join("; ")));
            }
        }
        let l = &det["limits"];
        if l.is_object() {
            let g = &det["greeks"];
            let exposure = format!(
                "cash delta {} {ccy}, vega {} {ccy}/{}",
                grouped(g["cash_delta"].as_f64().unwrap_or(0.0), 0),
                grouped(g["vega_per_point"].as_f64().unwrap_or(0.0), 0),
                ui.t("vol point", "波动率点")
            );
            if l["passed"] == true {
                rows.push((
                    ui.t("limits", "限额"),
                    format!("{} ({exposure})", ui.good(ui.t("passed", "通过"))),
                ));
            } else {
                for b in l["breaches"].as_array().into_iter().flatten() {
                    let reason = if zh { &b["reason_zh"] } else { &b["reason_en"] };
                    rows.push((ui.t("limit", "限额"), ui.bad(&s(reason))));
                }
            }
        }
        if let Some(e) = q["error"].as_str().or(det["error"].as_str()) {
            rows.push((ui.t("error", "错误"), ui.bad(e)));
        }
        if let Some(id) = q["approval_id"].as_str() {
            let who = s(&q["approval"]["required_role"]);
            let until = s(&q["approval"]["expires_at"]);
            rows.push((
                ui.t("approval", "审批"),
                format!(
                    "{id} ({} {who}, {} {})",
                    ui.t("by a", "审批人角色"),
                    ui.t("expires", "截止"),
                    until.get(..19).unwrap_or(&until).replace('T', " ") + " UTC"
                ),
            ));
        }
        ui.fields(&rows);
        if let Some(reply) = det["reply_preview"]
            .as_str()
            .filter(|_| q["status"] == "pending")
        {
            println!(
                "  {}",
                ui.dim(ui.t("reply once approved:", "批准后发送给客户："))
            );
            for line in reply.lines() {
                println!("    {line}");
            }
        }
        if let Some(id) = q["approval_id"].as_str()
            && q["status"] == "pending"
        {
            println!();
            println!(
                "  {} deskmate approvals approve {id} --as <{}>",
                ui.t("Next:", "下一步："),
                ui.t("trader", "交易员")
            );
        }
    }
}

/// One parsed request in a line: `IC.CFFEX vanilla call, strike 100%, 3 months, 10,000,000 CNY`.
fn parsed_request(ui: &super::ui::Ui, r: &serde_json::Value) -> String {
    let num = |k: &str| r[k].as_f64();
    let mut head: Vec<String> = ["underlying", "structure", "option_type", "exercise", "side"]
        .iter()
        .filter_map(|k| r[*k].as_str().map(str::to_string))
        .collect();
    let mut parts = Vec::new();
    for (key, en, zh) in [
        ("strike_pct", "strike", "行权价"),
        ("knock_out_pct", "knock-out", "敲出"),
        ("knock_in_pct", "knock-in", "敲入"),
        ("barrier_pct", "barrier", "障碍"),
        ("coupon_pct", "coupon", "票息"),
        ("participation_pct", "participation", "参与率"),
        ("payout_pct", "payout", "收益"),
    ] {
        if let Some(x) = num(key) {
            parts.push(format!("{} {x}%", ui.t(en, zh)));
        }
    }
    if let Some(m) = num("tenor_months") {
        parts.push(format!("{m} {}", ui.t("months", "个月")));
    }
    if let Some(n) = num("notional") {
        parts.push(format!(
            "{} {}",
            super::ui::grouped(n, 0),
            r["currency"].as_str().unwrap_or("")
        ));
    }
    if let Some(x) = r["solve_for"].as_str() {
        parts.push(format!("{} {x}", ui.t("solve for", "求解")));
    }
    if head.is_empty() {
        head.push("?".into());
    }
    format!("{}, {}", head.join(" "), parts.join(", "))
}

/// A status in the user's language, coloured by what it asks of them.
fn status_word(ui: &super::ui::Ui, status: &str) -> String {
    let (en, zh) = match status {
        "quoted" => ("quoted", "已报价"),
        "pending" => ("pending a trader's approval", "待交易员审批"),
        "clarifying" => ("waiting for the client's answer", "等待客户补充"),
        "blocked" => ("blocked by a limit", "被限额拦截"),
        "failed" | "error" => ("not priced", "未能定价"),
        "flagged" => ("held for a person", "待人工处理"),
        "approved" => ("approved", "已批准"),
        "sent" => ("sent", "已发送"),
        "rejected" => ("rejected", "已拒绝"),
        "expired" => ("expired", "已过期"),
        other => (other, other),
    };
    let w = ui.t(en, zh);
    match status {
        "quoted" | "approved" | "sent" => ui.good(w),
        "blocked" | "failed" | "error" | "rejected" | "flagged" => ui.bad(w),
        _ => ui.warn(w),
    }
}

fn print_chats(ui: &super::ui::Ui, chats: &[assistant::desk::chats::ChatMapping]) {
    if chats.is_empty() {
        ui.empty(
            (
                "No chats are mapped to clients: the desk answers no group yet (a CLI quote names its client with --client).",
                "尚未把任何群关联到客户：报价机器人暂不回复任何群（命令行报价用 --client 指定客户）。",
            ),
            (
                "Map one with `deskmate rfq chats add --channel telegram --chat ID --client CLIENT`, or on the Admin page of the web app.",
                "可用 `deskmate rfq chats add --channel telegram --chat 群ID --client 客户` 关联，或在网页版的“管理”页面设置。",
            ),
        );
        return;
    }
    let rows: Vec<Vec<String>> = chats
        .iter()
        .map(|m| {
            vec![
                m.id.clone(),
                m.channel.clone(),
                m.chat_id.clone(),
                if m.client_configured {
                    m.client_id.clone()
                } else {
                    ui.warn(&format!(
                        "{} ({})",
                        m.client_id,
                        ui.t("not configured", "未配置")
                    ))
                },
                m.label.clone().unwrap_or_default(),
            ]
        })
        .collect();
    ui.table(
        &[
            "ID",
            ui.t("CHANNEL", "渠道"),
            ui.t("CHAT", "群"),
            ui.t("CLIENT", "客户"),
            ui.t("LABEL", "备注"),
        ],
        &rows,
    );
}

fn print_markets(ui: &super::ui::Ui, s: &assistant::desk::market::MarketDataSummary) {
    if let Some(e) = &s.error {
        ui.empty(
            (
                format!("No market data: quotes cannot be priced ({e})."),
                format!("没有行情数据：无法为报价定价（{e}）。"),
            ),
            (
                "Point `[rfq] market_data` (DESKMATE_RFQ_MARKET_DATA) at a JSON file or a folder of them; `deskmate up` writes illustrative demo data.".to_string(),
                "请将 `[rfq] market_data`（环境变量 DESKMATE_RFQ_MARKET_DATA）指向一个 JSON 文件或目录；`deskmate up` 会写入演示用行情。".to_string(),
            ),
        );
        return;
    }
    let rows: Vec<Vec<String>> = s
        .markets
        .iter()
        .map(|m| {
            vec![
                m.code.clone(),
                super::ui::grouped(m.spot, 2),
                pct(m.vol),
                pct(m.rate),
                pct(m.dividend),
                m.valuation_date.clone(),
                m.file.clone(),
            ]
        })
        .collect();
    ui.table(
        &[
            "UNDERLYING",
            "SPOT",
            "VOL 1Y",
            "RATE 1Y",
            "DIV 1Y",
            "AS OF",
            "FILE",
        ],
        &rows,
    );
}

/// `0.018` → `1.80%` (never `-0.00%`).
fn pct(x: f64) -> String {
    format!("{:.2}%", (x * 10_000.0).round() / 100.0 + 0.0)
}
