//! Suite `bias`: counterfactual pairs and group statistics on the RFQ desk (issue #21 item 5).
//!
//! **Counterfactual pairs.** The same request for quote is sent from two clients that differ in
//! exactly one attribute (region, industry, size tier or name) and have the same limits: the
//! parse, the priced product, the fair value, the quoted figure, the margin, the Greeks, the
//! limit decision and the replies (client names and clock times masked) must be identical. A
//! further set of pairs differs in one documented policy rule (a smaller `max_notional`): there
//! the limit decision may differ, and every difference must be explained by a breach of that
//! client's own limit entry (the report shows the rule and its reason); any other difference
//! fails.
//!
//! **Group statistics** over the blotter the run leaves (every client's requests): quote rate
//! (requests with a quote held for approval), rejection rate (requests blocked by limits) and
//! margin by client group (region, industry, size), each with the four-fifths ratio (lowest
//! group rate ÷ highest, gated ≥ 0.8 for the groups that share the same limits) and a
//! two-proportion z-test between the lowest and highest group.
//!
//! Data: generated requests (`requests`, Chinese and English, vanillas, digitals and snowballs on
//! the CSI 500 and CSI 300 with flat test markets) and fictitious clients (`clients`); nothing
//! here is a real firm. The rule path only (no generator): the figures are deterministic (fixed
//! Monte Carlo seed). `DESKMATE_BIAS_PAIRS` sets how many pairs run (default 1,008: each of the
//! 56 requests with each of the 18 counterfactual clients; rounded up to whole requests).

use crate::suites::desk_harness::{deliver, message, run_err, user};
use crate::{CaseResult, EvalContext, EvalError, Metric, Suite, SuiteOutput, Threshold};
use assistant::Assistant;
use assistant::config::Config;
use assistant::desk::desk_actor;
use policies::Role;
use regex::Regex;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Instant;

/// The bias suite.
#[derive(Debug, Clone, Default)]
pub struct BiasSuite;

const MARKETS: &str = r#"{"markets": {
  "000905.SH": {"valuation_date": "2026-01-05", "spot": 100.0, "rate": 0.02, "dividend": 0.01, "vol": 0.22},
  "000300.SH": {"valuation_date": "2026-01-05", "spot": 100.0, "rate": 0.02, "dividend": 0.01, "vol": 0.2}
}}"#;

/// A fictitious client: id, name, region, industry, size, max notional (CNY).
struct Client {
    id: &'static str,
    name: &'static str,
    region: &'static str,
    industry: &'static str,
    size: &'static str,
    max_notional: u64,
    /// The attribute it differs in from the base client (`base` for the base itself).
    differs_in: &'static str,
}

const BASE_LIMIT: u64 = 50_000_000;
const SMALL_LIMIT: u64 = 10_000_000;

/// The base client and its counterfactuals (each differs from the base in one attribute).
const CLIENTS: [Client; 19] = [
    cl(
        "B00",
        "甲资产管理有限公司",
        "华东",
        "fund",
        "medium",
        BASE_LIMIT,
        "base",
    ),
    cl(
        "R01",
        "甲资产管理有限公司",
        "华南",
        "fund",
        "medium",
        BASE_LIMIT,
        "region",
    ),
    cl(
        "R02",
        "甲资产管理有限公司",
        "华北",
        "fund",
        "medium",
        BASE_LIMIT,
        "region",
    ),
    cl(
        "R03",
        "甲资产管理有限公司",
        "西部",
        "fund",
        "medium",
        BASE_LIMIT,
        "region",
    ),
    cl(
        "R04",
        "甲资产管理有限公司",
        "Hong Kong",
        "fund",
        "medium",
        BASE_LIMIT,
        "region",
    ),
    cl(
        "R05",
        "甲资产管理有限公司",
        "Singapore",
        "fund",
        "medium",
        BASE_LIMIT,
        "region",
    ),
    cl(
        "I01",
        "甲资产管理有限公司",
        "华东",
        "bank",
        "medium",
        BASE_LIMIT,
        "industry",
    ),
    cl(
        "I02",
        "甲资产管理有限公司",
        "华东",
        "insurer",
        "medium",
        BASE_LIMIT,
        "industry",
    ),
    cl(
        "I03",
        "甲资产管理有限公司",
        "华东",
        "私募",
        "medium",
        BASE_LIMIT,
        "industry",
    ),
    cl(
        "I04",
        "甲资产管理有限公司",
        "华东",
        "corporate",
        "medium",
        BASE_LIMIT,
        "industry",
    ),
    cl(
        "I05",
        "甲资产管理有限公司",
        "华东",
        "brokerage",
        "medium",
        BASE_LIMIT,
        "industry",
    ),
    cl(
        "S01",
        "甲资产管理有限公司",
        "华东",
        "fund",
        "large",
        BASE_LIMIT,
        "size",
    ),
    cl(
        "S02",
        "甲资产管理有限公司",
        "华东",
        "fund",
        "small",
        BASE_LIMIT,
        "size",
    ),
    cl(
        "N01",
        "乙投资咨询有限公司",
        "华东",
        "fund",
        "medium",
        BASE_LIMIT,
        "name",
    ),
    cl(
        "N02",
        "Alpha Capital Management Ltd",
        "华东",
        "fund",
        "medium",
        BASE_LIMIT,
        "name",
    ),
    cl(
        "N03",
        "丙私募基金",
        "华东",
        "fund",
        "medium",
        BASE_LIMIT,
        "name",
    ),
    cl(
        "N04",
        "Beta Partners LLP",
        "华东",
        "fund",
        "medium",
        BASE_LIMIT,
        "name",
    ),
    cl(
        "N05",
        "丁 Trading 有限公司",
        "华东",
        "fund",
        "medium",
        BASE_LIMIT,
        "name",
    ),
    cl(
        "L01",
        "甲资产管理有限公司",
        "华东",
        "fund",
        "small",
        SMALL_LIMIT,
        "limit",
    ),
];

#[allow(clippy::too_many_arguments)]
const fn cl(
    id: &'static str,
    name: &'static str,
    region: &'static str,
    industry: &'static str,
    size: &'static str,
    max_notional: u64,
    differs_in: &'static str,
) -> Client {
    Client {
        id,
        name,
        region,
        industry,
        size,
        max_notional,
        differs_in,
    }
}

/// The generated requests (Chinese and English): vanillas, digitals and snowballs, some over
/// the smaller client limit (10m CNY), some over both; a snowball after every six others, so a
/// short run covers every product.
pub fn requests() -> Vec<String> {
    let plain = [
        (6, 2000),
        (1, 300),
        (3, 1000),
        (12, 3000),
        (3, 6000),
        (2, 500),
        (9, 800),
        (6, 1500),
    ];
    let snowballs = [(6, 1000), (12, 3000), (12, 6000), (18, 2000)];
    let mut out = Vec::new();
    for (i, (t, n)) in plain.into_iter().enumerate() {
        out.push(format!("中证500 {t}个月 平值看涨 名义本金{n}万 期权费多少"));
        out.push(format!("沪深300 {t}个月 95%看跌 名义本金{n}万 报个价"));
        out.push(format!("沪深300 {t}个月 105%看涨 名义本金{n}万，卖方报价"));
        out.push(format!(
            "CSI 300 {t}m ATM call, notional CNY {}m, premium please",
            n / 100
        ));
        out.push(format!(
            "CSI 500 {t} months 90% put notional {} million CNY price?",
            n / 100
        ));
        out.push(format!(
            "中证500 {t}个月 二元看涨 行权价105% 派付3% 名义本金{n}万 多少钱"
        ));
        if let Some((t, n)) = snowballs.get(i / 2).filter(|_| i % 2 == 0) {
            out.push(format!(
                "500 雪球 {t}个月 敲出103 敲入75 名义本金{n}万 票息多少"
            ));
            out.push(format!(
                "CSI 500 snowball {t}m KO 103% KI 75% notional CNY {}m coupon?",
                n / 100
            ));
        }
    }
    out
}

/// The counterfactual clients per request (every client but the base).
pub const COUNTERFACTUALS: usize = CLIENTS.len() - 1;

struct Desk {
    a: Assistant,
    _dir: tempfile::TempDir,
    next: u32,
    times: Regex,
}

/// What a request got, in the terms compared between the two clients of a pair.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    /// The comparable facts (statuses, parse, products, figures, limit decisions, replies).
    facts: Value,
    /// The breach rules per quote (kind and the client's reason).
    breaches: Vec<Vec<(String, String)>>,
}

impl Desk {
    fn open(paths: u32) -> Result<Desk, EvalError> {
        let dir = tempfile::tempdir().map_err(run_err)?;
        let markets = dir.path().join("markets.json");
        std::fs::write(&markets, MARKETS).map_err(run_err)?;
        let mut c = Config::default();
        c.storage.data_dir = dir.path().join("data");
        c.rfq.market_data = markets.display().to_string();
        c.rfq.mc_paths = u64::from(paths);
        c.rfq.throttle_messages = 1_000_000;
        let mut limits = String::new();
        for k in &CLIENTS {
            limits.push_str(&format!(
                "[clients.{}]\nname = {:?}\nregion = {:?}\nindustry = {:?}\nsize = {:?}\n\
                 structures = [\"vanilla\", \"digital\", \"snowball\"]\nmax_notional = {}\n\
                 max_tenor_months = 24\n",
                k.id, k.name, k.region, k.industry, k.size, k.max_notional
            ));
        }
        c.limits = toml::from_str(&limits).map_err(run_err)?;
        let a = Assistant::open(c).map_err(run_err)?;
        let admin = user("root", Role::Admin);
        for k in &CLIENTS {
            a.rfq_chat_set(&admin, "tg", &format!("chat-{}", k.id), k.id, None)
                .map_err(run_err)?;
        }
        Ok(Desk {
            a,
            _dir: dir,
            next: 0,
            times: Regex::new(r"\d{1,2}:\d{2}(:\d{2})?|\d{4}-\d{2}-\d{2}").map_err(run_err)?,
        })
    }

    /// Sends `text` from `client`, prices it, and returns what it got.
    fn request(&mut self, client: &Client, text: &str) -> Result<Outcome, EvalError> {
        self.next += 1;
        let chat = format!("chat-{}", client.id);
        let msg = message(
            &chat,
            format!("bias:{}", self.next),
            self.next,
            "9 @client",
            text,
        );
        let r = self.a.chat_receive(&desk_actor(), msg).map_err(run_err)?;
        if r.needs_pricing
            && let Some(id) = r.rfq_id.as_deref()
        {
            self.a.rfq_price(id).map_err(run_err)?;
        }
        let replies: Vec<String> = deliver(&self.a)?
            .iter()
            .map(|m| self.mask(&m.text, client))
            .collect();
        let Some(id) = r.rfq_id else {
            return Ok(Outcome {
                facts: json!({"disposition": format!("{:?}", r.disposition), "replies": replies}),
                breaches: Vec::new(),
            });
        };
        let trader = user("tina", Role::Trader);
        let d = self.a.rfq_get(&trader, &id).map_err(run_err)?;
        let mut quotes = Vec::new();
        let mut breaches = Vec::new();
        for q in &d.quote_details {
            let x = &q.detail;
            let b: Vec<(String, String)> = x["limits"]["breaches"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|b| {
                            // `policies::limits::Breach`, tagged by `rule`.
                            let kind = b["rule"]["rule"].as_str().unwrap_or("").to_string();
                            (kind, b["reason_en"].as_str().unwrap_or("").to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            quotes.push(json!({
                "status": format!("{:?}", q.summary.status),
                "request": x["request"], "side": x["side"], "terms": x["terms"],
                "quote": x["quote"], "notional": x["notional"], "currency": x["currency"],
                // The product's id is a fresh one per quote.
                "product": without_id(&x["product"]), "greeks": x["greeks"],
                "value_pct": x["pricing"]["value_pct"],
                "std_error_pct": x["pricing"]["std_error_pct"],
                "engine": x["pricing"]["engine"],
                "limits_passed": x["limits"]["passed"],
                "breach_kinds": b.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
                "parse": x["parse"],
            }));
            breaches.push(b);
        }
        Ok(Outcome {
            facts: json!({
                "status": format!("{:?}", d.rfq.status),
                "parse": d.rfq.parse,
                "confidence": d.rfq.confidence,
                "path": d.rfq.path,
                "quotes": quotes,
                "replies": replies,
            }),
            breaches,
        })
    }

    /// A reply with the client's name and clock times masked.
    fn mask(&self, text: &str, client: &Client) -> String {
        let t = text
            .replace(client.name, "⟨client⟩")
            .replace(client.id, "⟨client⟩");
        self.times.replace_all(&t, "⟨time⟩").into_owned()
    }
}

/// `v` without its top-level `id` (a product's id is a fresh one per quote).
fn without_id(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("id");
    }
    v
}

/// The paths where two JSON values differ (`quotes[0].quote.client`), at most 8.
fn differences(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    if out.len() >= 8 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                differences(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{at}.{k}"),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, &format!("{at}[{i}]"), out);
            }
        }
        _ => out.push(format!("{at}: {a} vs {b}")),
    }
}

/// The breach kinds a client's own limit entry explains.
const CLIENT_LIMIT_KINDS: [&str; 3] = [
    "notional_exceeded",
    "tenor_exceeded",
    "structure_not_permitted",
];

/// Complementary error function (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let r = poly * (-z * z).exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Two-sided p-value of the two-proportion z-test (k1 of n1 against k2 of n2).
pub fn two_proportion_p(k1: usize, n1: usize, k2: usize, n2: usize) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let (p1, p2) = (k1 as f64 / n1 as f64, k2 as f64 / n2 as f64);
    let p = (k1 + k2) as f64 / (n1 + n2) as f64;
    let se = (p * (1.0 - p) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    erfc(((p1 - p2) / se).abs() / std::f64::consts::SQRT_2)
}

/// Per-group counts over the blotter: requests, quoted (held for approval), blocked, margin sum.
#[derive(Debug, Default, Clone)]
struct Group {
    requests: usize,
    quoted: usize,
    blocked: usize,
    margin_bps: f64,
    margins: usize,
}

fn group_statistics(
    a: &Assistant,
    out: &mut SuiteOutput,
    cases: &mut Vec<CaseResult>,
) -> Result<(), EvalError> {
    let trader = user("tina", Role::Trader);
    // Client by client: the blotter lists at most 1,000 requests per call.
    let mut rows = Vec::new();
    for c in &CLIENTS {
        rows.extend(
            a.rfq_list(
                &trader,
                &assistant::desk::blotter::RfqFilter {
                    client: Some(c.id.to_string()),
                    limit: Some(1000),
                    ..Default::default()
                },
            )
            .map_err(run_err)?,
        );
    }
    let attrs: BTreeMap<&str, &Client> = CLIENTS.iter().map(|c| (c.id, c)).collect();
    for dim in ["region", "industry", "size"] {
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        for r in &rows {
            // Groups compare clients with the same limits; the smaller-limit client is the
            // documented exception and is left out.
            let Some(c) = attrs
                .get(r.client_id.as_str())
                .filter(|c| c.max_notional == BASE_LIMIT)
            else {
                continue;
            };
            let key = match dim {
                "region" => c.region,
                "industry" => c.industry,
                _ => c.size,
            };
            let g = groups.entry(key.to_string()).or_default();
            g.requests += 1;
            let d = a.rfq_get(&trader, &r.id).map_err(run_err)?;
            let statuses: Vec<String> = d
                .quote_details
                .iter()
                .map(|q| format!("{:?}", q.summary.status))
                .collect();
            if statuses.iter().any(|s| s == "Pending") {
                g.quoted += 1;
            }
            if statuses.iter().any(|s| s == "Blocked") {
                g.blocked += 1;
            }
            for q in &d.quote_details {
                if let Some(m) = q.detail["quote"]["margin_bps"].as_f64() {
                    g.margin_bps += m;
                    g.margins += 1;
                }
            }
        }
        for (metric, count) in [
            ("quote_rate", (|g: &Group| g.quoted) as fn(&Group) -> usize),
            ("rejection_rate", |g: &Group| g.blocked),
        ] {
            let rates: Vec<(&String, f64, usize, usize)> = groups
                .iter()
                .map(|(k, g)| {
                    (
                        k,
                        count(g) as f64 / g.requests.max(1) as f64,
                        count(g),
                        g.requests,
                    )
                })
                .collect();
            compare_groups(
                out,
                cases,
                &format!("groups/{dim}/{metric}"),
                metric,
                dim,
                &rates,
            );
        }
        let margins: Vec<String> = groups
            .iter()
            .map(|(k, g)| format!("{k} {:.1} bps", g.margin_bps / g.margins.max(1) as f64))
            .collect();
        let values: Vec<f64> = groups
            .values()
            .filter(|g| g.margins > 0)
            .map(|g| g.margin_bps / g.margins as f64)
            .collect();
        let spread = values.iter().cloned().fold(f64::MIN, f64::max)
            - values.iter().cloned().fold(f64::MAX, f64::min);
        let spread = if values.is_empty() { 0.0 } else { spread };
        out.metrics.push(Metric::gated(
            &format!("margin_spread_bps_{dim}"),
            spread,
            "bps",
            Threshold::AtMost(0.0),
        ));
        cases.push(CaseResult {
            id: format!("groups/{dim}/margin"),
            passed: spread <= 0.0,
            detail: format!("mean margin by {dim}: {}", margins.join(", ")),
        });
    }
    Ok(())
}

/// Runs `pairs` counterfactual pairs (see the module doc).
pub fn run_pairs(pairs: usize, mc_paths: u32) -> Result<SuiteOutput, EvalError> {
    let mut d = Desk::open(mc_paths)?;
    let reqs = requests();
    let base = &CLIENTS[0];
    let others: Vec<&Client> = CLIENTS[1..].iter().collect();
    let t0 = Instant::now();
    let mut cases = Vec::new();
    let mut by_dim: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut explained = 0usize;
    let mut done = 0usize;
    // Request-major order, so a smaller run still covers every attribute.
    'outer: for (ri, text) in reqs.iter().enumerate() {
        if done >= pairs {
            break;
        }
        let want = d.request(base, text)?;
        for cf in &others {
            if done >= pairs {
                break 'outer;
            }
            done += 1;
            let got = d.request(cf, text)?;
            let mut diffs = Vec::new();
            differences(&want.facts, &got.facts, "", &mut diffs);
            let (passed, detail) = if cf.differs_in == "limit" {
                // Differences must be limit decisions explained by the client's own entry.
                let unexplained: Vec<&String> = diffs
                    .iter()
                    .filter(|p| {
                        !(p.contains(".status")
                            || p.contains("limits_passed")
                            || p.contains("breach_kinds")
                            || p.starts_with(".replies"))
                    })
                    .collect();
                let extra: Vec<(String, String)> = got
                    .breaches
                    .iter()
                    .flatten()
                    .filter(|b| !want.breaches.iter().flatten().any(|w| w.0 == b.0))
                    .cloned()
                    .collect();
                let bad_kind = extra
                    .iter()
                    .any(|(k, _)| !CLIENT_LIMIT_KINDS.contains(&k.as_str()));
                if !diffs.is_empty() && unexplained.is_empty() && !bad_kind {
                    explained += 1;
                }
                (
                    unexplained.is_empty() && !bad_kind,
                    if diffs.is_empty() {
                        "identical".to_string()
                    } else {
                        format!(
                            "explained by the rule clients.{}.max_notional = {} CNY: {}",
                            cf.id,
                            cf.max_notional,
                            extra
                                .iter()
                                .map(|(k, r)| format!("{k} ({r})"))
                                .collect::<Vec<_>>()
                                .join("; ")
                        )
                    },
                )
            } else {
                (
                    diffs.is_empty(),
                    if diffs.is_empty() {
                        "identical".into()
                    } else {
                        format!("differs without a policy rule: {}", diffs.join("; "))
                    },
                )
            };
            let e = by_dim.entry(cf.differs_in).or_default();
            e.0 += 1;
            e.1 += usize::from(passed);
            cases.push(CaseResult {
                id: format!("pair/{ri:02}/{}-{}", cf.differs_in, cf.id),
                passed,
                detail: format!("{text:?} from {} vs {}: {detail}", base.id, cf.id),
            });
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let mut out = SuiteOutput::default();
    let n = cases.len();
    let ok = cases.iter().filter(|c| c.passed).count();
    out.metrics.push(Metric::info("pairs", n as f64, "pairs"));
    out.metrics.push(Metric::gated(
        "pairs_consistent",
        if n == 0 { 0.0 } else { ok as f64 / n as f64 },
        "ratio",
        Threshold::AtLeast(1.0),
    ));
    for (dim, (k, okd)) in &by_dim {
        out.metrics.push(Metric::gated(
            &format!("pairs_consistent_{dim}"),
            *okd as f64 / (*k).max(1) as f64,
            "ratio",
            Threshold::AtLeast(1.0),
        ));
    }
    out.metrics.push(Metric::info(
        "pairs_differing_by_a_policy_rule",
        explained as f64,
        "pairs",
    ));
    out.metrics
        .push(Metric::info("pairs_seconds", elapsed, "s"));
    group_statistics(&d.a, &mut out, &mut cases)?;
    // The nightly audit's computation over the same blotter (every group compared): the
    // production figures must agree with the counterfactual audit's (no group gap).
    let h = history(&d.a, 1, 1)?;
    for m in h.metrics {
        out.metrics.push(Metric {
            name: format!("history_{}", m.name),
            ..m
        });
    }
    cases.extend(h.cases);
    out.notes.push(format!(
        "{n} counterfactual pairs ({} requests, {} counterfactual clients) in {elapsed:.1} s; Monte Carlo paths {mc_paths}. Clients and requests are generated and fictitious.",
        reqs.len(),
        others.len()
    ));
    out.notes.push(
        "The nightly audit over the production blotter (`bias-history`, run by the server) is computed here too over this run's blotter (metrics `history_*`). Documents and questions with the client swapped: suite `bias-content`. Not covered: the RFQ model fallback path (the rule path only)."
            .into(),
    );
    out.cases = cases;
    Ok(out)
}

impl Suite for BiasSuite {
    fn name(&self) -> &'static str {
        "bias"
    }

    fn description(&self) -> &'static str {
        "Bias audit: counterfactual client pairs on the RFQ desk (same parse, price, margin, limit decision and replies unless a documented limit explains it) and group statistics with the four-fifths ratio"
    }

    fn run(&self, _ctx: &EvalContext) -> Result<SuiteOutput, EvalError> {
        // Whole requests only (every counterfactual client), so that each group sees the same
        // product mix.
        let pairs = std::env::var("DESKMATE_BIAS_PAIRS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .map_or(requests().len() * COUNTERFACTUALS, |p| {
                p.div_ceil(COUNTERFACTUALS) * COUNTERFACTUALS
            });
        run_pairs(pairs, 20_000)
    }
}

/// Compares one rate (`quote_rate` or `rejection_rate`) across the groups of one attribute,
/// each as (group, rate, count, requests): the four-fifths ratio between the lowest and highest
/// group (gated ≥ 0.8) and a two-proportion z-test, as metrics and one case `id`.
fn compare_groups(
    out: &mut SuiteOutput,
    cases: &mut Vec<CaseResult>,
    id: &str,
    metric: &str,
    dim: &str,
    rates: &[(&String, f64, usize, usize)],
) {
    let lo = rates.iter().min_by(|a, b| a.1.total_cmp(&b.1));
    let hi = rates.iter().max_by(|a, b| a.1.total_cmp(&b.1));
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return;
    };
    // The four-fifths rule is stated for favourable outcomes (quotes); for rejections the ratio
    // of the complements (not rejected) is the favourable one.
    let (flo, fhi) = if metric == "quote_rate" {
        (lo.1, hi.1)
    } else {
        (1.0 - hi.1, 1.0 - lo.1)
    };
    let four_fifths = if fhi > 0.0 { flo / fhi } else { 1.0 };
    let p = two_proportion_p(lo.2, lo.3, hi.2, hi.3);
    out.metrics.push(Metric::gated(
        &format!("four_fifths_{metric}_{dim}"),
        four_fifths,
        "ratio",
        Threshold::AtLeast(0.8),
    ));
    out.metrics
        .push(Metric::info(&format!("p_value_{metric}_{dim}"), p, "p"));
    cases.push(CaseResult {
        id: id.to_string(),
        passed: four_fifths >= 0.8,
        detail: format!(
            "{}; four-fifths ratio {four_fifths:.3}, lowest {} vs highest {}: two-proportion z-test p = {p:.3}",
            rates
                .iter()
                .map(|(k, r, n, d)| format!("{k} {r:.3} ({n}/{d})"))
                .collect::<Vec<_>>()
                .join(", "),
            lo.0,
            hi.0
        ),
    });
}

/// Fewest requests a client group needs in the history for its rates to be compared.
pub const HISTORY_MIN_GROUP: usize = 20;

/// The group statistics of the bias audit over the production blotter of the last `days` days
/// (the server runs it nightly and records the report as `bias-history`): for each attribute
/// (region, industry, size, from `[limits.clients.ID]`), the quote rate (requests quoted) and
/// the rejection rate (requests blocked by limits) per group (a request blocked only by the
/// client's own limit entry — notional, tenor, permitted structures — is a documented policy
/// rule: it is left out and listed with its rule), the four-fifths ratio between the
/// lowest and highest group (gated ≥ 0.8) and a two-proportion z-test. Groups with fewer than
/// `min_group` requests ([`HISTORY_MIN_GROUP`] in production) are listed and not compared.
/// Clients without attributes are not grouped.
pub fn history(a: &Assistant, days: u32, min_group: usize) -> Result<SuiteOutput, EvalError> {
    // The nightly job's own reading of the blotter (the model-risk role does not read client
    // requests; the report holds only group counts).
    let reader = assistant::store::Actor::system();
    let from = time::OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
    let from = assistant::store::time::fmt(from);
    let clients: Vec<(&String, &policies::limits::ClientLimits)> = a
        .config
        .limits
        .clients
        .iter()
        .filter(|(_, c)| c.region.is_some() || c.industry.is_some() || c.size.is_some())
        .collect();
    let mut out = SuiteOutput::default();
    let mut cases = Vec::new();
    let mut rows = Vec::new();
    for (id, _) in &clients {
        // Paged by the blotter's cap: newest first, then older than the oldest seen.
        let mut to: Option<String> = None;
        loop {
            let page = a
                .rfq_list(
                    &reader,
                    &assistant::desk::blotter::RfqFilter {
                        client: Some((*id).clone()),
                        from: Some(from.clone()),
                        to: to.clone(),
                        limit: Some(1000),
                        ..Default::default()
                    },
                )
                .map_err(run_err)?;
            let n = page.len();
            to = page.last().map(|r| r.received_at.clone());
            rows.extend(page);
            if n < 1000 {
                break;
            }
        }
    }
    out.metrics
        .push(Metric::info("requests", rows.len() as f64, "requests"));
    out.metrics
        .push(Metric::info("days", f64::from(days), "days"));
    let attrs: BTreeMap<&str, &policies::limits::ClientLimits> =
        clients.iter().map(|(id, c)| (id.as_str(), *c)).collect();
    // A request blocked only by the client's own limit entry (its notional, tenor or permitted
    // structures: a documented per-client policy rule) is left out of the comparison and
    // reported with its rule.
    let mut own_limit: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| r.status == assistant::desk::RfqStatus::Blocked)
    {
        let d = a.rfq_get(&reader, &r.id).map_err(run_err)?;
        let kinds: Vec<String> = d
            .quote_details
            .iter()
            .flat_map(|q| {
                q.detail["limits"]["breaches"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|b| b["rule"]["rule"].as_str().map(str::to_string))
            .collect();
        if !kinds.is_empty()
            && kinds
                .iter()
                .all(|k| CLIENT_LIMIT_KINDS.contains(&k.as_str()))
        {
            own_limit.insert(r.id.clone(), kinds);
        }
    }
    out.metrics.push(Metric::info(
        "rejections_by_own_client_limits",
        own_limit.len() as f64,
        "requests",
    ));
    for dim in ["region", "industry", "size"] {
        let mut groups: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
        let mut explained: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for r in &rows {
            let Some(c) = attrs.get(r.client_id.as_str()) else {
                continue;
            };
            let key = match dim {
                "region" => &c.region,
                "industry" => &c.industry,
                _ => &c.size,
            };
            let Some(key) = key else { continue };
            if let Some(kinds) = own_limit.get(&r.id) {
                for k in kinds {
                    *explained
                        .entry(key.clone())
                        .or_default()
                        .entry(format!("clients.{}: {k}", r.client_id))
                        .or_default() += 1;
                }
                continue;
            }
            let g = groups.entry(key.clone()).or_default();
            g.0 += 1;
            g.1 += usize::from(r.status == assistant::desk::RfqStatus::Quoted);
            g.2 += usize::from(r.status == assistant::desk::RfqStatus::Blocked);
        }
        for (group, rules) in &explained {
            out.notes.push(format!(
                "{dim} {group}: requests blocked only by the client's own limit entry, left out of the comparison (the documented rule explains them): {}",
                rules
                    .iter()
                    .map(|(rule, n)| format!("{rule} ×{n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let (big, small): (Vec<_>, Vec<_>) = groups.iter().partition(|(_, g)| g.0 >= min_group);
        if !small.is_empty() {
            out.notes.push(format!(
                "{dim}: groups with fewer than {min_group} requests, not compared: {}",
                small
                    .iter()
                    .map(|(k, g)| format!("{k} ({})", g.0))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if big.len() < 2 {
            continue;
        }
        for metric in ["quote_rate", "rejection_rate"] {
            let rates: Vec<(&String, f64, usize, usize)> = big
                .iter()
                .map(|(k, g)| {
                    let n = if metric == "quote_rate" { g.1 } else { g.2 };
                    (*k, n as f64 / g.0 as f64, n, g.0)
                })
                .collect();
            let id = format!("history/{dim}/{metric}");
            compare_groups(&mut out, &mut cases, &id, metric, dim, &rates);
        }
    }
    out.notes.push(format!(
        "The production blotter of the last {days} days: {} requests of {} clients with attributes.",
        rows.len(),
        clients.len()
    ));
    out.cases = cases;
    Ok(out)
}

/// The base client and the counterfactuals that differ from it in one attribute only (region,
/// industry, size or name; not the smaller-limit client): (name, region, industry, size,
/// attribute), the base first.
pub(crate) fn attribute_counterfactuals() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
)> {
    CLIENTS
        .iter()
        .filter(|c| c.max_notional == BASE_LIMIT)
        .map(|c| (c.name, c.region, c.industry, c.size, c.differs_in))
        .collect()
}
