//! Suite `drafting-free-text`: the passages a template leaves to the local model (issue #18
//! item 2), written through the checked prompt chain (`assistant::draft_free`) with the
//! configured default generator, on the demo equity-option templates in English and Chinese.
//!
//! Cases: bespoke features a desk might record for a trade, written for this suite (generated
//! test inputs, not real trades), eight per language, every other one held out. For each, the
//! chain runs as in the workspace; reported per language and split: the share of passages the
//! model wrote that passed every check (the rest are left for legal, visibly), the reasons
//! checks refused, and time per passage. Each case's passage is in the report for a lawyer to
//! read. Gated: no passage in a draft states a figure the trade and facts do not (the check
//! guarantees it; the gate re-checks the draft) and no chain leaves a `{{free:` marker; a case
//! passes on either safe outcome (a checked passage, or the passage visibly left to legal), and
//! the written share is reported for the reviewer. The passages are written by the configured
//! model as a candidate, ungated by model risk (`Assistant::write_free_passage_candidate`):
//! this report is part of the evidence the chain's approval waits for.
//!
//! Needs the default generator (`deskmate models install default`); without it the suite fails
//! saying so (the CI fixture model writes no usable contract prose, so CI does not run it).

use crate::{CaseResult, EvalContext, EvalError, Metric, Suite, SuiteOutput, Threshold};
use assistant::Assistant;
use assistant::config::Config;
use assistant::draft_free::figures;
use assistant::store::Actor;
use drafting::{Language, Trade};
use policies::{Principal, Role};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Instant;

/// (id, language, the bespoke feature) — generated test inputs.
const CASES: &[(&str, Language, &str)] = &[
    (
        "en-1",
        Language::En,
        "The knock-out is observed only on the last trading day of each month.",
    ),
    (
        "en-2",
        Language::En,
        "If the Underlying is suspended from trading for more than 5 consecutive trading days, either party may terminate the Transaction early at a price determined by the Calculation Agent.",
    ),
    (
        "en-3",
        Language::En,
        "The premium may be paid in two equal instalments, the second one month after the Premium Payment Date.",
    ),
    (
        "en-4",
        Language::En,
        "Cash dividends paid on the Underlying during the term are passed through to the Buyer within 3 business days of payment.",
    ),
    (
        "en-5",
        Language::En,
        "The Buyer may exercise only on the Expiration Date and only all Options together.",
    ),
    (
        "en-6",
        Language::En,
        "If the Underlying is delisted, physical delivery is replaced by cash settlement.",
    ),
    (
        "en-7",
        Language::En,
        "The Seller hedges on the Shanghai Stock Exchange only; no offshore hedging.",
    ),
    (
        "en-8",
        Language::En,
        "Notices under this Transaction are given by email to the addresses in the Agreement.",
    ),
    ("zh-1", Language::Zh, "敲出观察仅在每月最后一个交易日进行。"),
    (
        "zh-2",
        Language::Zh,
        "标的资产连续停牌超过5个交易日的，任一方可提前终止本交易，终止价格由计算机构确定。",
    ),
    (
        "zh-3",
        Language::Zh,
        "期权费分两期等额支付，第二期于期权费支付日后一个月支付。",
    ),
    (
        "zh-4",
        Language::Zh,
        "存续期内标的资产的现金分红在派发后3个交易日内转付给期权买方。",
    ),
    ("zh-5", Language::Zh, "期权买方仅可于到期日一次性全部行权。"),
    (
        "zh-6",
        Language::Zh,
        "标的资产退市的，实物交割改为现金结算。",
    ),
    (
        "zh-7",
        Language::Zh,
        "期权卖方仅在上海证券交易所进行对冲交易。",
    ),
    (
        "zh-8",
        Language::Zh,
        "本交易项下的通知以电子邮件方式发送至主协议所载地址。",
    ),
];

fn trade() -> Value {
    json!({
        "product_type": "equity_option", "trade_date": "2026-03-05",
        "party_a": "Eastbank Securities Co., Ltd.", "party_b": "Harbour Fund Ltd",
        "buyer": "party_b", "seller": "party_a",
        "underlier": {"name": "沪深300指数", "id": "000300.SH"},
        "option_type": "call", "exercise_style": "european",
        "strike": {"value": 100, "unit": "percent"},
        "initial_price": {"value": 3900, "currency": "CNY"},
        "notional": {"amount": 10000000, "currency": "CNY"},
        "expiration_date": "2027-03-05",
        "premium": {"amount": 650000, "currency": "CNY", "payment_date": "2026-03-09"},
        "settlement": "cash"
    })
}

/// The free-text suite.
#[derive(Debug, Clone, Default)]
pub struct DraftingFreeTextSuite;

impl Suite for DraftingFreeTextSuite {
    fn name(&self) -> &'static str {
        "drafting-free-text"
    }

    fn description(&self) -> &'static str {
        "Drafting's model-written passages: bespoke features written by the default local model through the checked prompt chain, English and Chinese; written share, refusal reasons and time per passage (needs `deskmate models install default`)."
    }

    fn run(&self, ctx: &EvalContext) -> Result<SuiteOutput, EvalError> {
        let store = models::store::ModelStore::from_env();
        let dir = tempfile::tempdir().map_err(|e| EvalError::Run(e.to_string()))?;
        let mut c = Config::default();
        c.storage.data_dir = dir.path().to_path_buf();
        c.models.dir = store.root().display().to_string();
        let a = Assistant::open(c).map_err(|e| EvalError::Run(e.to_string()))?;
        let generator = a.generator(None).map_err(|e| {
            EvalError::Data(format!(
                "the default generator is not available ({e}): install it with `deskmate models install default`"
            ))
        })?;
        let model = generator.id().to_string();
        let legal = Actor::user(
            &Principal {
                user: "lars".into(),
                role: Role::Legal,
            },
            None,
        );
        let library = drafting::library::demo()
            .map_err(|e| EvalError::Run(format!("the demo clause library: {e}")))?;
        let mut out = SuiteOutput::default();
        // (language, split) → (cases, written)
        let mut tally: BTreeMap<(String, &str), (usize, usize)> = BTreeMap::new();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let mut ms = Vec::new();
        let (mut invented, mut markers) = (0usize, 0usize);
        for (i, (id, lang, feature)) in CASES.iter().enumerate() {
            ctx.on_progress.report(i, CASES.len());
            let split = if i % 2 == 1 { "held_out" } else { "dev" };
            let mut other = BTreeMap::new();
            other.insert("bespoke_feature".to_string(), feature.to_string());
            let t0 = Instant::now();
            // The draft as the workspace makes it, the passages written by the candidate model
            // (the chain's checks, ungated: this report is the evidence its approval waits for).
            let mut kt = trade();
            kt["other"] = json!({ "bespoke_feature": feature });
            let tr = Trade::from_json(kt).map_err(EvalError::Run)?;
            let template = drafting::library::choose(&library, "equity_option", *lang)
                .ok_or_else(|| EvalError::Data("no demo equity-option template".into()))?;
            let mut dr = drafting::draft_with(template, &tr, &BTreeMap::new())
                .map_err(|e| EvalError::Run(format!("{id}: {e}")))?;
            for slot in dr.free_slots(template, &tr) {
                let o = a.write_free_passage_candidate(&legal, *lang, &tr, &slot, &mut |_| {});
                dr.fill_free(
                    &o.clause,
                    &o.passage,
                    &o.text,
                    o.model.as_deref().unwrap_or(""),
                );
            }
            ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            let text = dr.to_text();
            markers += usize::from(text.contains("{{free:"));
            let spans = dr.machine_spans();
            let written = !spans.is_empty();
            let passage: String = spans
                .first()
                .map(|(r, _)| text[r.clone()].to_string())
                .unwrap_or_default();
            let invents = written && {
                let mut known = figures(&format!("{} {feature}", trade()));
                known.extend(figures(&trade().to_string().replace('-', " ")));
                figures(&passage).iter().any(|f| !known.contains(f))
            };
            invented += usize::from(invents);
            let lang_s = lang.as_str().to_string();
            let e = tally.entry((lang_s.clone(), split)).or_default();
            e.0 += 1;
            e.1 += usize::from(written);
            let left = text
                .lines()
                .find(|l| l.contains("[Legal to write:") || l.contains("〔待法务撰写："))
                .unwrap_or("")
                .to_string();
            if !written {
                let why = left
                    .rsplit_once(": ")
                    .map(|(_, r)| r.trim_end_matches([')', ']', '）', '〕']).to_string())
                    .or_else(|| {
                        left.rsplit_once('：')
                            .map(|(_, r)| r.trim_end_matches(['）', '〕']).to_string())
                    })
                    .unwrap_or_default();
                let kind = why
                    .split([' ', '（', '('])
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ");
                *reasons.entry(kind).or_default() += 1;
            }
            // A case passes on the product's safe outcomes: a checked passage with no figure
            // the trade and facts do not state, or the passage visibly left to legal.
            out.cases.push(CaseResult {
                id: format!("{id} ({split})"),
                passed: !invents && !text.contains("{{free:") && (written || !left.is_empty()),
                detail: if written {
                    format!("feature: {feature} | passage: {passage}")
                } else {
                    format!("feature: {feature} | left to legal: {left}")
                },
            });
        }
        for ((lang, split), (n, w)) in &tally {
            out.metrics.push(Metric::info(
                &format!("free_text.{split}.{lang}.written_ratio"),
                *w as f64 / (*n).max(1) as f64,
                "ratio",
            ));
        }
        let all: (usize, usize) = tally
            .values()
            .fold((0, 0), |acc, (n, w)| (acc.0 + n, acc.1 + w));
        out.metrics.push(Metric::info(
            "free_text.written_ratio",
            all.1 as f64 / all.0.max(1) as f64,
            "ratio",
        ));
        out.metrics.push(Metric::gated(
            "free_text.invented_figures",
            invented as f64,
            "passages",
            Threshold::AtMost(0.0),
        ));
        out.metrics.push(Metric::gated(
            "free_text.markers_left",
            markers as f64,
            "drafts",
            Threshold::AtMost(0.0),
        ));
        ms.sort_by(f64::total_cmp);
        out.metrics.push(Metric::info(
            "free_text.draft_ms_p50",
            ms.get(ms.len() / 2).copied().unwrap_or(0.0),
            "ms",
        ));
        for (why, n) in &reasons {
            out.metrics.push(Metric::info(
                &format!("free_text.left_to_legal.{}", why.replace(' ', "_")),
                *n as f64,
                "passages",
            ));
        }
        out.notes = vec![
            format!("Model: {model} (the configured default generator), greedy decoding."),
            "A passage left to legal is not a failure of the product (the draft shows it and the proofreader blocks approval until a lawyer writes it), but it is work the model did not save; the written share is the figure to improve.".into(),
            "The cases were written for this suite (generated test inputs); the checks and prompts were not tuned on them before this first run.".into(),
        ];
        Ok(out)
    }
}
