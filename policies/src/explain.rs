//! Explainability by impact: every automated decision of a kind listed in [`Decision`] has an
//! impact level ([`Decision::impact`], the single table of record), and a decision of high or
//! medium impact carries an [`Explanation`]: a plain reason in Chinese and in English and the
//! facts behind it (which rule, which field, which value, which evidence). The explanation is
//! written into the decision's audit entry (`details.explanation`) and shown to the person who
//! reviews it.
//!
//! [`Explanation::problems`] says what makes an explanation inadequate for its level: a
//! high-impact one needs both reasons, at least one fact, and a reason that states one of its
//! facts' values (so that "rejected" alone, or a reason that names nothing of this case, fails).

use serde::Serialize;

/// An automated decision that affects someone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// A client's request for quote refused by a limit.
    QuoteBlocked,
    /// A client's request that could not be priced.
    QuoteUnpriced,
    /// A question answered "not found" (no evidence the asker may read supports an answer).
    AnswerNotFound,
    /// A prompt refused because it holds data above what the backend may receive.
    ModelRefused,
    /// An uploaded confirmation that could not be extracted.
    ExtractionFailed,
}

/// How much a decision matters to the person it affects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// Logged with its facts; no reason required.
    Low,
    /// A reason in both languages.
    Medium,
    /// A specific reason in both languages and the facts behind it.
    High,
}

impl Impact {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::Low => "low",
            Impact::Medium => "medium",
            Impact::High => "high",
        }
    }

    /// What an explanation at this level holds, (English, Chinese).
    pub fn requirement(self) -> (&'static str, &'static str) {
        match self {
            Impact::Low => ("logged with its facts", "连同事实记录"),
            Impact::Medium => ("a reason in Chinese and English", "中英文理由"),
            Impact::High => (
                "a specific reason in Chinese and English and the facts behind it (rule, field, value, evidence)",
                "具体的中英文理由及其依据事实（规则、字段、数值、证据）",
            ),
        }
    }
}

impl Decision {
    /// Every decision kind.
    pub const ALL: [Decision; 5] = [
        Decision::QuoteBlocked,
        Decision::QuoteUnpriced,
        Decision::AnswerNotFound,
        Decision::ModelRefused,
        Decision::ExtractionFailed,
    ];

    /// The impact level: the table of record.
    pub fn impact(self) -> Impact {
        match self {
            Decision::QuoteBlocked
            | Decision::QuoteUnpriced
            | Decision::AnswerNotFound
            | Decision::ModelRefused
            | Decision::ExtractionFailed => Impact::High,
        }
    }

    /// What the decision is and what its explanation states, (English, Chinese), for the
    /// people it is shown to (the model-risk dashboard lists every kind with its level).
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            Decision::QuoteBlocked => (
                "a client's request refused by a limit: which limit, its value and the request's",
                "客户询价因限额被拒：哪一项限额、限额值与询价数值",
            ),
            Decision::QuoteUnpriced => (
                "a client's request that could not be priced: which field or market datum was missing",
                "客户询价无法定价：缺少哪个字段或哪项市场数据",
            ),
            Decision::AnswerNotFound => (
                "a question answered \"not found\": what was retrieved and what the evidence check dropped",
                "问题回答为“未找到”：检索到什么、证据核对删除了什么",
            ),
            Decision::ModelRefused => (
                "a prompt refused for its data class: the class it held and what the backend may receive",
                "提示因数据等级被拒：所含数据等级与该模型后端的上限",
            ),
            Decision::ExtractionFailed => (
                "an uploaded confirmation that could not be extracted: the file and the reason",
                "上传的确认书无法提取：文件与原因",
            ),
        }
    }

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::QuoteBlocked => "quote_blocked",
            Decision::QuoteUnpriced => "quote_unpriced",
            Decision::AnswerNotFound => "answer_not_found",
            Decision::ModelRefused => "model_refused",
            Decision::ExtractionFailed => "extraction_failed",
        }
    }
}

/// One fact behind a decision (`rule` = `clients.C002.max_notional`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    /// What it is.
    pub name: String,
    /// Its value, as shown.
    pub value: String,
}

/// Why a decision was taken, for the person it affects or reviews it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The decision.
    pub decision: Decision,
    /// Its impact level.
    pub impact: Impact,
    /// The reason in Chinese.
    pub reason_zh: String,
    /// The reason in English.
    pub reason_en: String,
    /// The facts behind it.
    pub facts: Vec<Fact>,
}

impl Explanation {
    /// An explanation of `decision` with its level from the table.
    pub fn new(
        decision: Decision,
        reason_zh: impl Into<String>,
        reason_en: impl Into<String>,
        facts: Vec<(&str, String)>,
    ) -> Explanation {
        Explanation {
            decision,
            impact: decision.impact(),
            reason_zh: reason_zh.into(),
            reason_en: reason_en.into(),
            facts: facts
                .into_iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .map(|(n, v)| Fact {
                    name: n.to_string(),
                    value: v,
                })
                .collect(),
        }
    }

    /// What makes it inadequate for its level (empty: adequate).
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.impact == Impact::Low {
            return p;
        }
        if self.reason_zh.trim().is_empty() || !self.reason_zh.chars().any(cjk::is_cjk) {
            p.push("no Chinese reason".into());
        }
        if self.reason_en.trim().is_empty()
            || !self.reason_en.chars().any(|c| c.is_ascii_alphabetic())
        {
            p.push("no English reason".into());
        }
        if self.impact == Impact::High {
            if self.facts.is_empty() {
                p.push("no facts behind a high-impact decision".into());
            }
            let specific = |r: &str| {
                self.facts
                    .iter()
                    .any(|f| f.value.chars().count() >= 2 && r.contains(f.value.as_str()))
            };
            let states_a_fact = specific(&self.reason_zh) && specific(&self.reason_en);
            if !self.facts.is_empty() && !states_a_fact {
                p.push("a reason states none of the facts of this case".into());
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decision_has_a_level_and_high_ones_need_specific_reasons() {
        for d in Decision::ALL {
            let _ = d.impact();
            assert!(!d.as_str().is_empty());
        }
        let good = Explanation::new(
            Decision::QuoteBlocked,
            "拒绝：名义本金 20,000,000 CNY 超过客户额度",
            "rejected: notional 20,000,000 CNY exceeds the client's limit",
            vec![
                ("rule", "clients.L01.max_notional".into()),
                ("notional", "20,000,000 CNY".into()),
            ],
        );
        assert!(good.problems().is_empty(), "{:?}", good.problems());
        let vague = Explanation::new(
            Decision::QuoteBlocked,
            "拒绝",
            "rejected",
            vec![("rule", "clients.L01.max_notional".into())],
        );
        assert_eq!(
            vague.problems(),
            ["a reason states none of the facts of this case"]
        );
        let bare = Explanation::new(Decision::ModelRefused, "", "refused", vec![]);
        assert_eq!(
            bare.problems(),
            [
                "no Chinese reason",
                "no facts behind a high-impact decision"
            ]
        );
    }
}
