//! Live monitoring of model-backed chains: which figures are watched over which window, the
//! threshold of each, and what crossing it does ([`Action`]): raise an alert for a person, or also
//! switch the chain to its rule fallback, or pause it for manual handling. The table
//! ([`RULES`]) is the single place of record; `assistant::model_risk` computes the figures from
//! the recorded calls and applies the actions. A chain switched away from its model goes back only
//! by a model-risk approval.
//!
//! Drift is measured with the population stability index ([`psi`]) of an input feature's
//! distribution in the window against the chain's baseline (its calls in the
//! [`BASELINE_SECS`] before the window): below 0.1 is stable, 0.1-0.25 a moderate shift, above
//! 0.25 a significant one (the usual reading of the index).

use serde::Serialize;

/// What crossing a threshold does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// An alert for the model-risk team; the chain keeps running.
    Alert,
    /// An alert, and the chain switches to its rule fallback at once.
    Fallback,
    /// An alert, and the chain pauses: its requests go to manual handling.
    Pause,
}

impl Action {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::Fallback => "fallback",
            Action::Pause => "pause",
        }
    }
}

/// One watched figure of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rule {
    /// The chain (`rfq.parse`).
    pub chain: &'static str,
    /// The figure (see `assistant::model_risk` for how each is computed).
    pub metric: &'static str,
    /// What it means, for the dashboard.
    pub description: &'static str,
    /// The window, in seconds.
    pub window_secs: u64,
    /// The figure may not exceed this.
    pub max: f64,
    /// Fewer calls than this in the window: no judgement.
    pub min_calls: usize,
    /// What crossing it does.
    pub action: Action,
}

/// How far back the drift baseline reaches before the window, in seconds (7 days).
pub const BASELINE_SECS: u64 = 7 * 24 * 3600;

/// Fewest baseline calls for a drift figure.
pub const MIN_BASELINE_CALLS: usize = 50;

/// The figures a rule may watch (each computed by `assistant::model_risk` from the recorded
/// calls of its window): shares of calls by outcome, of low confidence, of trader edits, and the
/// drift indices.
pub const METRICS: &[&str] = &[
    "model_rejected_rate",
    "model_rate",
    "error_rate",
    "low_confidence_rate",
    "trader_edit_rate",
    "psi_length",
    "psi_language",
];

/// The watched figures.
pub const RULES: &[Rule] = &[
    Rule {
        chain: "rfq.parse",
        metric: "model_rejected_rate",
        description: "share of requests whose model answer was rejected or failed (the rule parse stood)",
        window_secs: 3600,
        max: 0.3,
        min_calls: 10,
        action: Action::Fallback,
    },
    Rule {
        chain: "rfq.parse",
        metric: "model_rate",
        description: "share of requests the rules were unsure of and the model parsed",
        window_secs: 3600,
        max: 0.5,
        min_calls: 20,
        action: Action::Alert,
    },
    Rule {
        chain: "rfq.parse",
        metric: "low_confidence_rate",
        description: "share of requests parsed with confidence below 0.5",
        window_secs: 3600,
        max: 0.4,
        min_calls: 20,
        action: Action::Alert,
    },
    Rule {
        chain: "rfq.parse",
        metric: "trader_edit_rate",
        description: "share of requests whose quote a trader edited before approving",
        window_secs: 24 * 3600,
        max: 0.3,
        min_calls: 20,
        action: Action::Alert,
    },
    Rule {
        chain: "rfq.parse",
        metric: "psi_length",
        description: "drift of message length (population stability index against the baseline)",
        window_secs: 3600,
        max: 0.25,
        min_calls: 30,
        action: Action::Fallback,
    },
    Rule {
        chain: "rfq.parse",
        metric: "psi_language",
        description: "drift of the language mix (population stability index against the baseline)",
        window_secs: 3600,
        max: 0.25,
        min_calls: 30,
        action: Action::Alert,
    },
    Rule {
        chain: "knowledge.answers",
        metric: "error_rate",
        description: "share of questions whose model failed or timed out (answered from retrieval alone)",
        window_secs: 3600,
        max: 0.2,
        min_calls: 10,
        action: Action::Fallback,
    },
    Rule {
        chain: "knowledge.answers",
        metric: "model_rejected_rate",
        description: "share of questions whose generated answer the evidence check dropped entirely",
        window_secs: 24 * 3600,
        max: 0.4,
        min_calls: 20,
        action: Action::Alert,
    },
    Rule {
        chain: "knowledge.answers",
        metric: "low_confidence_rate",
        description: "share of answers with a faithfulness (supported sentences) below 0.5",
        window_secs: 24 * 3600,
        max: 0.3,
        min_calls: 20,
        action: Action::Alert,
    },
    Rule {
        chain: "knowledge.answers",
        metric: "psi_length",
        description: "drift of question length (population stability index against the baseline)",
        window_secs: 24 * 3600,
        max: 0.25,
        min_calls: 30,
        action: Action::Alert,
    },
    Rule {
        chain: "knowledge.answers",
        metric: "psi_language",
        description: "drift of the questions' language mix (population stability index against the baseline)",
        window_secs: 24 * 3600,
        max: 0.25,
        min_calls: 30,
        action: Action::Alert,
    },
    Rule {
        chain: "knowledge.rerank",
        metric: "error_rate",
        description: "share of searches whose re-ranking failed (first-stage order kept)",
        window_secs: 3600,
        max: 0.2,
        min_calls: 10,
        action: Action::Fallback,
    },
    Rule {
        chain: "drafting.free_text",
        metric: "error_rate",
        description: "share of bespoke passages whose model failed or timed out",
        window_secs: 24 * 3600,
        max: 0.3,
        min_calls: 5,
        action: Action::Fallback,
    },
    Rule {
        chain: "drafting.free_text",
        metric: "model_rejected_rate",
        description: "share of bespoke passages the checks rejected (left to the lawyer)",
        window_secs: 24 * 3600,
        max: 0.5,
        min_calls: 5,
        action: Action::Alert,
    },
];

/// Bucket edges of message length, in characters.
pub const LENGTH_EDGES: [f64; 6] = [10.0, 20.0, 40.0, 80.0, 160.0, 320.0];

/// The share of `values` in each bucket of `edges` (`len(edges) + 1` buckets).
pub fn shares(values: &[f64], edges: &[f64]) -> Vec<f64> {
    let mut counts = vec![0usize; edges.len() + 1];
    for v in values {
        let i = edges.iter().position(|e| v < e).unwrap_or(edges.len());
        counts[i] += 1;
    }
    let n = values.len().max(1) as f64;
    counts.into_iter().map(|c| c as f64 / n).collect()
}

/// The population stability index of `actual` against `expected` (bucket shares that each sum
/// to 1); empty buckets count as 0.0001 so that the index stays finite.
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let (e, a) = (e.max(1e-4), a.max(1e-4));
            (a - e) * (a / e).ln()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_is_zero_for_the_same_mix_and_large_for_a_shift() {
        let a = shares(&[5.0, 15.0, 15.0, 30.0, 50.0, 100.0], &LENGTH_EDGES);
        assert!(psi(&a, &a).abs() < 1e-12);
        let shifted = shares(&[400.0; 6], &LENGTH_EDGES);
        assert!(psi(&a, &shifted) > 1.0);
        // A textbook case: 50/50 against 60/40 is about 0.04 (stable).
        let p = psi(&[0.5, 0.5], &[0.6, 0.4]);
        assert!((p - 0.0405).abs() < 1e-3, "{p}");
    }

    #[test]
    fn every_rule_is_well_formed() {
        for r in RULES {
            assert!(r.max > 0.0 && r.window_secs > 0 && r.min_calls > 0, "{r:?}");
            assert!(METRICS.contains(&r.metric), "{r:?}: unknown figure");
        }
    }
}
