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
}

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
