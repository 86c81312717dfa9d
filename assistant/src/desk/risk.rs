//! The desk's exposure now, per underlying, against its limits: the book (from
//! `rfq.book_exposure_file`) plus the quotes that would add to it (the live quotes of
//! `desk::queue::LIVE_QUOTE`), the same sum the limit check of a new quote uses. Read by
//! traders and risk (`risk.read`).

use crate::Assistant;
use crate::error::{AssistantError, Result};
use crate::store::{Actor, time};
use policies::{DataClass, Permission};
use serde::Serialize;
use std::collections::BTreeMap;

/// One underlying's exposure. Cash deltas and vegas are in `currency`; vega is per vol point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnderlyingExposure {
    /// The underlying's code (`000300.SH`).
    pub underlying: String,
    /// The currency of the figures and limits.
    pub currency: String,
    /// The book's cash delta.
    pub book_cash_delta: f64,
    /// The book's vega per vol point.
    pub book_vega_per_point: f64,
    /// What live quotes would add to the cash delta if the clients trade.
    pub pending_cash_delta: f64,
    /// What live quotes would add to the vega.
    pub pending_vega_per_point: f64,
    /// Book plus pending cash delta.
    pub total_cash_delta: f64,
    /// Book plus pending vega.
    pub total_vega_per_point: f64,
    /// The limit on the absolute cash delta, if any.
    pub max_abs_delta: Option<f64>,
    /// The limit on the absolute vega, if any.
    pub max_abs_vega: Option<f64>,
    /// |total cash delta| as a percentage of its limit.
    pub delta_utilisation_pct: Option<f64>,
    /// |total vega| as a percentage of its limit.
    pub vega_utilisation_pct: Option<f64>,
    /// Live quotes counted in the pending figures.
    pub live_quotes: u32,
}

/// The desk's exposure report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExposureReport {
    /// When it was computed (RFC 3339, UTC).
    pub as_of: String,
    /// Per underlying, by code.
    pub underlyings: Vec<UnderlyingExposure>,
    /// Why the book file could not be read, if it could not (the figures then hold the pending
    /// quotes only).
    pub book_error: Option<String>,
}

fn pct(value: f64, limit: Option<f64>) -> Option<f64> {
    limit
        .filter(|l| *l > 0.0)
        .map(|l| (value.abs() / l * 10_000.0).round() / 100.0)
}

impl Assistant {
    /// The desk's exposure now (audited as a read of important data).
    pub fn risk_exposure(&self, actor: &Actor) -> Result<ExposureReport> {
        if let Some(role) = actor.role
            && !role.allows(Permission::RiskRead)
        {
            return Err(AssistantError::Forbidden(format!(
                "role {role} lacks {}",
                Permission::RiskRead.as_str()
            )));
        }
        let now = time::now();
        let since = now - ::time::Duration::seconds(self.config.rfq.sent_quote_hold_secs as i64);
        let (book, book_error) = match self.desk.market().book() {
            Ok(b) => (b, None),
            Err(e) => (BTreeMap::new(), Some(e.to_string())),
        };
        let pending: Vec<(String, f64, f64, u32)> = self.store.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT underlying, SUM(desk_delta), SUM(desk_vega), COUNT(*)
                 FROM rfq_quotes q WHERE underlying IS NOT NULL AND {}
                 GROUP BY underlying",
                super::queue::LIVE_QUOTE
            ))?;
            let rows = stmt.query_map(
                rusqlite::named_params! {":now": time::fmt(now), ":since": time::fmt(since)},
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let mut by: BTreeMap<String, (f64, f64, f64, f64, u32)> = BTreeMap::new();
        for (u, b) in &book {
            let e = by.entry(u.clone()).or_default();
            (e.0, e.1) = (b.delta, b.vega);
        }
        for (u, d, v, n) in pending {
            let e = by.entry(u).or_default();
            (e.2, e.3, e.4) = (d, v, n);
        }
        let limits = &self.config.limits;
        let underlyings = by
            .into_iter()
            .map(|(u, (bd, bv, pd, pv, n))| {
                let limit = limits.exposure_limit(&u);
                let (td, tv) = (bd + pd, bv + pv);
                UnderlyingExposure {
                    currency: limit.map_or_else(|| "CNY".into(), |l| l.currency.clone()),
                    book_cash_delta: bd,
                    book_vega_per_point: bv,
                    pending_cash_delta: pd,
                    pending_vega_per_point: pv,
                    total_cash_delta: td,
                    total_vega_per_point: tv,
                    max_abs_delta: limit.and_then(|l| l.max_abs_delta),
                    max_abs_vega: limit.and_then(|l| l.max_abs_vega),
                    delta_utilisation_pct: pct(td, limit.and_then(|l| l.max_abs_delta)),
                    vega_utilisation_pct: pct(tv, limit.and_then(|l| l.max_abs_vega)),
                    live_quotes: n,
                    underlying: u,
                }
            })
            .collect();
        self.audit_read(
            actor,
            "risk.exposure.read",
            "risk",
            "exposure",
            DataClass::IMPORTANT,
        )?;
        Ok(ExposureReport {
            as_of: time::fmt(now),
            underlyings,
            book_error,
        })
    }
}
