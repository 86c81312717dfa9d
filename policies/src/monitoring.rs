//! Live monitoring of model-backed chains: which figures are watched over which window, the
//! threshold of each, and what crossing it does ([`Action`]): raise an alert for a person, or also
//! switch the chain to its rule fallback, or pause it for manual handling. The table
//! ([`RULES`]) is the single place of record; `assistant::model_risk` computes the figures from
//! the recorded calls and applies the actions. A chain switched away from its model goes back only
//! by a model-risk approval.
//!
//! Drift is measured with the population stability index ([`psi`]) of an input or output
//! feature's distribution in the window against the chain's baseline: the cases of its latest
//! passed validation run (what it was validated on), or, until a validation run has recorded
//! one, its own calls in the [`BASELINE_SECS`] before the window. Below 0.1 is stable, 0.1-0.25
//! a moderate shift, above 0.25 a significant one (the usual reading of the index).

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
    "correction_rate",
    "field_correction_rate",
    "human_change_rate",
    "psi_length",
    "psi_language",
    "psi_product",
    "psi_outcome",
    "psi_confidence",
    "centroid_shift",
];

/// Bucket edges of a call's confidence (0 to 1), for the drift of the output distribution.
pub const CONFIDENCE_EDGES: [f64; 4] = [0.25, 0.5, 0.75, 0.9];

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
        chain: "rfq.parse",
        metric: "psi_product",
        description: "drift of the product mix (structures asked for) against the baseline",
        window_secs: 24 * 3600,
        max: 0.25,
        min_calls: 30,
        action: Action::Alert,
    },
    Rule {
        chain: "rfq.parse",
        metric: "psi_outcome",
        description: "drift of the outputs: the mix of outcomes (rules, model, rejected, error) against the baseline",
        window_secs: 3600,
        max: 0.25,
        min_calls: 30,
        action: Action::Alert,
    },
    Rule {
        chain: "rfq.parse",
        metric: "psi_confidence",
        description: "drift of the outputs: the parse confidence distribution against the baseline",
        window_secs: 3600,
        max: 0.25,
        min_calls: 30,
        action: Action::Alert,
    },
    Rule {
        chain: "knowledge.answers",
        metric: "psi_confidence",
        description: "drift of the outputs: the faithfulness distribution of answers against the baseline",
        window_secs: 24 * 3600,
        max: 0.25,
        min_calls: 30,
        action: Action::Alert,
    },
    Rule {
        chain: "extraction.model",
        metric: "correction_rate",
        description: "share of confirmations whose key terms ops corrected in the review",
        window_secs: 7 * 24 * 3600,
        max: 0.3,
        min_calls: 20,
        action: Action::Alert,
    },
    Rule {
        chain: "extraction.model",
        metric: "field_correction_rate",
        description: "the highest share of confirmations in which ops corrected one field (which field: the table by field)",
        window_secs: 7 * 24 * 3600,
        max: 0.2,
        min_calls: 20,
        action: Action::Alert,
    },
    Rule {
        chain: "extraction.model",
        metric: "error_rate",
        description: "share of uploads nothing could be read from (unreadable, encrypted, not text)",
        window_secs: 24 * 3600,
        max: 0.2,
        min_calls: 10,
        action: Action::Alert,
    },
    Rule {
        chain: "extraction.model",
        metric: "low_confidence_rate",
        description: "share of confirmations whose key terms' mean evidence confidence is below 0.5",
        window_secs: 24 * 3600,
        max: 0.3,
        min_calls: 20,
        action: Action::Alert,
    },
    Rule {
        chain: "extraction.model",
        metric: "psi_product",
        description: "drift of the product mix of confirmations against the baseline",
        window_secs: 24 * 3600,
        max: 0.25,
        min_calls: 30,
        action: Action::Alert,
    },
    Rule {
        chain: "extraction.model",
        metric: "psi_language",
        description: "drift of the confirmations' language mix against the baseline",
        window_secs: 24 * 3600,
        max: 0.25,
        min_calls: 30,
        action: Action::Alert,
    },
    Rule {
        chain: "extraction.model",
        metric: "psi_confidence",
        description: "drift of the outputs: the evidence confidence distribution against the baseline",
        window_secs: 24 * 3600,
        max: 0.25,
        min_calls: 30,
        action: Action::Alert,
    },
    Rule {
        chain: "knowledge.answers",
        metric: "centroid_shift",
        description: "drift of what is asked: how far the mean question embedding moved from the baseline's, in units of the baseline's spread",
        window_secs: 24 * 3600,
        max: 0.5,
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
        metric: "human_change_rate",
        description: "share of model-written passages the lawyer reworded or dropped in a later version",
        window_secs: 7 * 24 * 3600,
        max: 0.5,
        min_calls: 5,
        action: Action::Alert,
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

/// The shares of each category in `base` and in `window`, over the categories either holds (in
/// one order), for the population stability index of a categorical feature (language, product,
/// outcome).
pub fn category_shares(base: &[&str], window: &[&str]) -> (Vec<f64>, Vec<f64>) {
    let mut cats: Vec<&str> = base.iter().chain(window).copied().collect();
    cats.sort_unstable();
    cats.dedup();
    let share = |v: &[&str]| {
        cats.iter()
            .map(|c| v.iter().filter(|x| *x == c).count() as f64 / v.len().max(1) as f64)
            .collect::<Vec<_>>()
    };
    (share(base), share(window))
}

/// How far a window's mean vector `window` lies from the baseline's mean `base`, in units of
/// the baseline's spread: ‖window − base‖ / √(mean ‖x‖² − ‖base‖²), where `base_mean_sq` is the
/// mean squared norm of the baseline's vectors. 0 when the baseline has no spread.
pub fn centroid_shift(base: &[f64], base_mean_sq: f64, window: &[f64]) -> f64 {
    let dist = base
        .iter()
        .zip(window)
        .map(|(b, w)| (w - b) * (w - b))
        .sum::<f64>()
        .sqrt();
    let spread = (base_mean_sq - base.iter().map(|b| b * b).sum::<f64>())
        .max(0.0)
        .sqrt();
    if spread == 0.0 { 0.0 } else { dist / spread }
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
    fn centroid_shift_is_in_units_of_the_baseline_spread() {
        // Baseline vectors (1, ±1): mean (1, 0), mean squared norm 2, spread 1.
        assert!((centroid_shift(&[1.0, 0.0], 2.0, &[1.0, 0.0])).abs() < 1e-12);
        assert!((centroid_shift(&[1.0, 0.0], 2.0, &[1.0, 2.0]) - 2.0).abs() < 1e-12);
        assert_eq!(centroid_shift(&[1.0, 0.0], 1.0, &[3.0, 0.0]), 0.0);
    }

    #[test]
    fn categories_shift_is_seen_and_the_same_mix_is_not() {
        let (b, w) = category_shares(&["vanilla", "snowball", "vanilla"], &["snowball"; 3]);
        assert_eq!(b.len(), 2);
        assert!(psi(&b, &w) > 0.25);
        let (b, w) = category_shares(&["a", "b"], &["b", "a"]);
        assert!(psi(&b, &w).abs() < 1e-12);
    }

    #[test]
    fn every_rule_is_well_formed() {
        for r in RULES {
            assert!(r.max > 0.0 && r.window_secs > 0 && r.min_calls > 0, "{r:?}");
            assert!(METRICS.contains(&r.metric), "{r:?}: unknown figure");
        }
    }
}
