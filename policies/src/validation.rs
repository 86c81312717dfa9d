//! Thresholds of the independent validation reports (`deskmate eval validate CHAIN`): what a
//! chain must show before the model-risk team may approve it for production. One table per
//! chain, the single place of record; the reports quote them beside each figure.

/// The RFQ parser chain (rule path, the model fallback's input).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfqThresholds {
    /// Lower bound of the 95% Wilson interval of message exact match on the golden sets.
    pub exact_match_lower_bound: f64,
    /// Share of messages whose parse is unchanged by each perturbation (typos, traditional
    /// characters, full-width characters, reordered fields, extra chatter).
    pub stability: f64,
    /// 95th percentile of one parse, in milliseconds.
    pub p95_latency_ms: f64,
    /// Share of seeded wrong parses of the kinds limits exist for (a notional read ten
    /// thousand times too large, years read as months, a structure or currency misread, an
    /// underlying misread as a blocked one) that the limit check refuses.
    pub limit_catch: f64,
}

/// The RFQ chain's model fallback: the model version itself, asked (as in production) about the
/// golden messages the rules are not sure of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfqModelThresholds {
    /// Exact match (and the share of expected fields right) of the chain with the model minus
    /// the rules alone, on those messages: the model must not make the chain worse.
    pub min_gain: f64,
    /// Share of those messages where a wrong model answer was accepted (it passed the lexicon's
    /// checks but is not the expected parse).
    pub max_wrong_accepted: f64,
    /// Share of accepted model answers whose every value is grounded in the message and whose
    /// codes the lexicon knows: must be all.
    pub grounded: f64,
    /// Share of those messages whose parse is unchanged by full-width characters and by chatter
    /// around the request.
    pub stability: f64,
    /// Share of model calls that failed (not installed, errors, past the time limit): a model
    /// that does not answer is not validated by the rules standing in for it.
    pub max_error_rate: f64,
}

/// The RFQ model fallback's thresholds (its 95th percentile latency is judged against the
/// deployment's own `rfq.model_timeout_ms`: past it, a request keeps its rule parse).
pub const RFQ_MODEL: RfqModelThresholds = RfqModelThresholds {
    min_gain: 0.0,
    max_wrong_accepted: 0.10,
    grounded: 1.0,
    stability: 0.80,
    max_error_rate: 0.05,
};

/// The pricing chain (engines and products under extreme but plausible markets).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PricingThresholds {
    /// Share of scenarios priced to a finite value (the rest must be errors naming the field,
    /// never a NaN): must be all.
    pub finite: f64,
    /// Share of no-arbitrage bounds that hold.
    pub bounds: f64,
    /// Share of monotonicity checks that hold (calls rise with spot and vol, puts fall with spot).
    pub monotonic: f64,
    /// Share of engine pairs that agree within tolerance.
    pub agreement: f64,
    /// Monte Carlo against the closed form: at most this many standard errors apart (plus
    /// `abs_tolerance`).
    pub mc_standard_errors: f64,
    /// PDE against the closed form: at most this share of notional apart.
    pub pde_tolerance: f64,
    /// Absolute slack on every comparison, as a share of notional (rounding).
    pub abs_tolerance: f64,
}

/// The RFQ chain's thresholds.
pub const RFQ: RfqThresholds = RfqThresholds {
    exact_match_lower_bound: 0.85,
    stability: 0.90,
    p95_latency_ms: 50.0,
    limit_catch: 1.0,
};

/// The pricing chain's thresholds.
pub const PRICING: PricingThresholds = PricingThresholds {
    finite: 1.0,
    bounds: 1.0,
    monotonic: 1.0,
    agreement: 1.0,
    mc_standard_errors: 4.0,
    pde_tolerance: 0.002,
    abs_tolerance: 1e-6,
};

/// The key-term extraction chain (rules, OCR and the model step, on confirmations).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExtractionThresholds {
    /// Lower bound of the 95% Wilson interval of the share of expected key terms extracted
    /// right, over every golden document as text.
    pub field_accuracy_lower_bound: f64,
    /// Share of documents whose key terms are unchanged by each text perturbation (full-width
    /// digits, Windows line ends, blank lines, indentation, page headers and footers).
    pub stability: f64,
    /// Key-term F1 on each degraded scan (more speckle, more skew, a lower resolution).
    pub scan_f1: f64,
    /// Share of seeded inconsistent values (dates out of order, buyer equal to seller, a
    /// premium in another currency, knock-in above knock-out) caught by the cross-checks and
    /// sent to review.
    pub cross_check_catch: f64,
    /// 95th percentile of the time to extract one text page, in milliseconds.
    pub p95_ms_per_page: f64,
}

/// The extraction chain's thresholds.
pub const EXTRACTION: ExtractionThresholds = ExtractionThresholds {
    field_accuracy_lower_bound: 0.85,
    stability: 0.90,
    scan_f1: 0.80,
    cross_check_catch: 1.0,
    p95_ms_per_page: 2000.0,
};

/// The cited-answers chain (retrieval, generation, the evidence check).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnswersThresholds {
    /// Lower bound of the 95% Wilson interval of the share of answerable questions whose
    /// answer is in the retrieved passages (what the fallback shows without generation).
    pub retrieval_hit_lower_bound: f64,
    /// Lower bound of the 95% Wilson interval of the share of questions decided right: answered
    /// with the key value when the asker may see it, "not found" otherwise.
    pub decision_lower_bound: f64,
    /// Share of questions decided the same way when paraphrased (a greeting, a polite tail,
    /// full-width characters, traditional characters for Chinese).
    pub stability: f64,
    /// Answers stating a value held only above the asker's clearance: must be none.
    pub leaks: f64,
    /// 95th percentile of one answer, in milliseconds (fixture models on CPU).
    pub p95_latency_ms: f64,
}

/// The cited-answers chain's thresholds.
pub const ANSWERS: AnswersThresholds = AnswersThresholds {
    retrieval_hit_lower_bound: 0.70,
    decision_lower_bound: 0.50,
    stability: 0.80,
    leaks: 0.0,
    p95_latency_ms: 30_000.0,
};

/// The evaluation reports a model version's approval rests on, by chain (the ids of the model
/// inventory): each must have passed and have been recorded after the approval was asked for,
/// or the approval is refused and names what is missing (issue #21 items 1, 2, 5 and 7: no model
/// goes live without its validation, bias audit and red team). A chain not listed needs none.
pub fn approval_evidence(chain: &str) -> &'static [&'static str] {
    match chain {
        // The parse decides prices, margins and limits for clients: the counterfactual bias
        // audit belongs to it; the model version itself is validated on what the rules are
        // not sure of.
        "rfq.parse" => &["validate-rfq", "validate-rfq-model", "bias", "redteam"],
        // Confirmations and questions with the client swapped must come out the same.
        "extraction.model" => &["validate-extraction", "bias-content", "redteam"],
        "knowledge.answers" | "knowledge.rerank" => {
            &["validate-answers", "bias-content", "redteam"]
        }
        "drafting.free_text" => &["drafting-free-text", "redteam"],
        "pricing" => &["validate-pricing"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_governed_chain_needs_its_validation_and_the_red_team() {
        for chain in [
            "rfq.parse",
            "extraction.model",
            "knowledge.answers",
            "knowledge.rerank",
            "drafting.free_text",
        ] {
            let e = approval_evidence(chain);
            assert!(e.contains(&"redteam"), "{chain}");
            assert!(e.len() >= 2, "{chain}");
        }
        assert!(approval_evidence("rfq.parse").contains(&"bias"));
        assert!(approval_evidence("rfq.parse").contains(&"validate-rfq-model"));
        assert!(approval_evidence("knowledge.answers").contains(&"bias-content"));
        assert!(approval_evidence("extraction.model").contains(&"bias-content"));
        assert!(approval_evidence("unknown").is_empty());
    }
}
