//! Ad-hoc pricing and risk: the pricing page and `POST /v1/price`, `POST /v1/risk/book`,
//! `POST /v1/risk/grid`.
//!
//! A product is the pricing core's JSON product format (`kernels/examples/*.json`); a book is
//! a list of them. Markets come from the request (one market, or `{"markets": {...}}` keyed by
//! underlying) or, when the request has none, from the desk's market data (`rfq.market_data`)
//! for each product's underlying. Work is bounded by `[pricing]` (Monte Carlo paths, contracts
//! in a book, grid cells) so one request cannot hold the machine, and every run is audited
//! (`pricing.run`, `risk.book`, `risk.grid`) with the SHA-256 of its input and its headline
//! figures, so a price shown on a screen can be traced and reproduced (the seed is fixed).

use super::super::Assistant;
use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord};
use kernels::pricing::{EngineKind, PriceResult, PricingRequest, price};
use kernels::risk::{BookResult, GridResult, GridSpec, revalue_book, scenario_grid};
use kernels::{BackendChoice, MarketSet, Product};
use policies::{DataClass, Permission};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

fn yes() -> bool {
    true
}

/// How to price: the fields every request shares (repeated in each request type rather than
/// flattened, because serde's `flatten` would switch off `deny_unknown_fields` and the field
/// paths in error messages).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Engine.
    pub engine: EngineKind,
    /// Compute Greeks.
    pub greeks: bool,
    /// Monte Carlo paths.
    pub paths: Option<u64>,
    /// Monte Carlo seed.
    pub seed: Option<u64>,
    /// Monte Carlo backend.
    pub backend: BackendChoice,
}

macro_rules! settings_of {
    ($t:ty) => {
        impl $t {
            /// The shared pricing settings.
            pub fn settings(&self) -> Settings {
                Settings {
                    engine: self.engine,
                    greeks: self.greeks,
                    paths: self.paths,
                    seed: self.seed,
                    backend: self.backend,
                }
            }
        }
    };
}
settings_of!(PriceInput);
settings_of!(BookInput);
settings_of!(GridInput);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            engine: EngineKind::Auto,
            greeks: true,
            paths: None,
            seed: None,
            backend: BackendChoice::Auto,
        }
    }
}

/// `POST /v1/price`: one product.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    /// The product (JSON product format).
    pub product: Value,
    /// Its market; the desk's market data for its underlying when absent.
    #[serde(default)]
    pub market: Option<Value>,
    /// `auto` (closed form, else PDE, else Monte Carlo), `analytic`, `mc` or `pde`.
    #[serde(default)]
    pub engine: EngineKind,
    /// Compute delta, gamma, vega, theta and rho (default true).
    #[serde(default = "yes")]
    pub greeks: bool,
    /// Monte Carlo paths (the core's default when absent; at most `pricing.max_paths`).
    #[serde(default)]
    pub paths: Option<u64>,
    /// Monte Carlo seed (fixed by default, so a figure can be reproduced).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Monte Carlo backend: `auto`, `cpu` or `cuda`.
    #[serde(default)]
    pub backend: BackendChoice,
}

/// `POST /v1/risk/book`: a book revalued with totals and per-contract errors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookInput {
    /// The contracts (JSON product format each).
    pub products: Vec<Value>,
    /// Their markets; the desk's market data when absent.
    #[serde(default)]
    pub market: Option<Value>,
    /// `auto` (closed form, else PDE, else Monte Carlo), `analytic`, `mc` or `pde`.
    #[serde(default)]
    pub engine: EngineKind,
    /// Compute delta, gamma, vega, theta and rho (default true).
    #[serde(default = "yes")]
    pub greeks: bool,
    /// Monte Carlo paths (the core's default when absent; at most `pricing.max_paths`).
    #[serde(default)]
    pub paths: Option<u64>,
    /// Monte Carlo seed (fixed by default, so a figure can be reproduced).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Monte Carlo backend: `auto`, `cpu` or `cuda`.
    #[serde(default)]
    pub backend: BackendChoice,
}

/// `POST /v1/risk/grid`: a book valued over spot × vol × days.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridInput {
    /// The contracts (JSON product format each).
    pub products: Vec<Value>,
    /// Their markets; the desk's market data when absent.
    #[serde(default)]
    pub market: Option<Value>,
    /// The axes: spot in % of current spot, absolute vol shifts (0.01 = one vol point), days
    /// forward.
    pub grid: GridSpec,
    /// `auto` (closed form, else PDE, else Monte Carlo), `analytic`, `mc` or `pde`.
    #[serde(default)]
    pub engine: EngineKind,
    /// Compute delta, gamma, vega, theta and rho (default true).
    #[serde(default = "yes")]
    pub greeks: bool,
    /// Monte Carlo paths (the core's default when absent; at most `pricing.max_paths`).
    #[serde(default)]
    pub paths: Option<u64>,
    /// Monte Carlo seed (fixed by default, so a figure can be reproduced).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Monte Carlo backend: `auto`, `cpu` or `cuda`.
    #[serde(default)]
    pub backend: BackendChoice,
}

fn sha256(v: &impl serde::Serialize) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(v).expect("JSON values serialise"),
    ))
}

fn product(i: Option<usize>, v: &Value) -> std::result::Result<Product, kernels::PricingError> {
    let name = i.map_or_else(|| "product".to_string(), |i| format!("products[{i}]"));
    let mut p = Product::from_json(&name, &v.to_string())?;
    if p.id.is_empty() {
        p.id = i.map_or_else(|| "product".into(), |i| format!("products[{i}]"));
    }
    Ok(p)
}

impl Assistant {
    fn may_price(&self, actor: &Actor) -> Result<()> {
        match actor.role {
            Some(role) if !role.allows(Permission::PricingRun) => Err(AssistantError::Forbidden(
                format!("role {role} lacks {}", Permission::PricingRun.as_str()),
            )),
            _ => Ok(()),
        }
    }

    fn pricing_request(&self, s: &Settings) -> Result<PricingRequest> {
        let mut req = PricingRequest {
            engine: s.engine,
            backend: s.backend,
            greeks: s.greeks,
            ..PricingRequest::default()
        };
        if let Some(p) = s.paths {
            let max = self.config.pricing.max_paths;
            if p == 0 || p > max {
                return Err(AssistantError::InvalidField {
                    field: "paths".into(),
                    reason: format!("{p} is not between 1 and {max} (pricing.max_paths)"),
                });
            }
            req.mc.paths = p;
        }
        if let Some(seed) = s.seed {
            req.mc.seed = seed;
        }
        Ok(req)
    }

    /// The markets for `underlyings`: the request's, or the desk's market data.
    fn markets(&self, given: Option<&Value>, underlyings: &[&str]) -> Result<MarketSet> {
        if let Some(m) = given {
            return Ok(MarketSet::from_json("market", &m.to_string())?);
        }
        let mut by = BTreeMap::new();
        for u in underlyings {
            if by.contains_key(*u) {
                continue;
            }
            match self.desk.market().market(u) {
                Ok((m, _)) => {
                    by.insert(u.to_string(), m);
                }
                Err(e) => {
                    return Err(AssistantError::InvalidField {
                        field: "market".into(),
                        reason: format!(
                            "none given and the desk has no market for {u}: {e}; send `market`"
                        ),
                    });
                }
            }
        }
        Ok(MarketSet::ByUnderlying(by))
    }

    fn audit_run(&self, actor: &Actor, action: &str, id: &str, details: Value) -> Result<()> {
        self.store.write(actor, |tx| {
            tx.audit(AuditRecord {
                action,
                object_kind: "pricing",
                object_id: id,
                class: DataClass::IMPORTANT,
                details,
            })
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Prices one product (with Greeks unless asked not to); audited as `pricing.run`.
    pub fn price_product(&self, actor: &Actor, input: &PriceInput) -> Result<PriceResult> {
        self.may_price(actor)?;
        let req = self.pricing_request(&input.settings())?;
        let p = product(None, &input.product)?;
        let markets = self.markets(input.market.as_ref(), &[p.underlying.as_str()])?;
        let market = markets.get(&p.underlying)?;
        let r = price(&p, market, &req)?;
        self.audit_run(
            actor,
            "pricing.run",
            &sha256(&input.product)[..16],
            json!({
                "input_sha256": sha256(&json!([input.product, input.market])),
                "underlying": p.underlying, "engine": r.engine, "backend": r.backend,
                "paths": r.paths, "seed": req.mc.seed, "value": r.value,
                "std_error": r.std_error, "elapsed_ms": r.elapsed_ms,
                "market": if input.market.is_some() { "request" } else { "desk" },
            }),
        )?;
        Ok(r)
    }

    fn book_of(
        &self,
        products: &[Value],
    ) -> Result<Vec<std::result::Result<Product, kernels::PricingError>>> {
        let max = self.config.pricing.max_book_contracts;
        if products.is_empty() || products.len() > max {
            return Err(AssistantError::InvalidField {
                field: "products".into(),
                reason: format!(
                    "{} contracts; a book holds 1 to {max} (pricing.max_book_contracts)",
                    products.len()
                ),
            });
        }
        Ok(products
            .iter()
            .enumerate()
            .map(|(i, v)| product(Some(i), v))
            .collect())
    }

    /// Revalues a book: per-contract values, Greeks and errors, totals; audited as
    /// `risk.book`.
    pub fn risk_book(&self, actor: &Actor, input: &BookInput) -> Result<BookResult> {
        self.may_price(actor)?;
        let req = self.pricing_request(&input.settings())?;
        let book = self.book_of(&input.products)?;
        let underlyings: Vec<&str> = book
            .iter()
            .filter_map(|p| p.as_ref().ok().map(|p| p.underlying.as_str()))
            .collect();
        let markets = self.markets(input.market.as_ref(), &underlyings)?;
        let r = revalue_book(&book, &markets, &req)?;
        self.audit_run(
            actor,
            "risk.book",
            &sha256(&input.products)[..16],
            json!({
                "input_sha256": sha256(&json!([input.products, input.market])),
                "contracts": book.len(), "priced": r.priced, "failed": r.failed,
                "total_value": r.total_value, "backend": r.backend, "elapsed_ms": r.elapsed_ms,
                "market": if input.market.is_some() { "request" } else { "desk" },
            }),
        )?;
        Ok(r)
    }

    /// Values a book over a spot × vol × days grid; audited as `risk.grid`.
    pub fn risk_grid(&self, actor: &Actor, input: &GridInput) -> Result<GridResult> {
        self.may_price(actor)?;
        let req = self.pricing_request(&input.settings())?;
        let book = self.book_of(&input.products)?;
        let g = &input.grid;
        let cells = g.spot_pct.len() * g.vol_shift.len() * g.days.len();
        let max = self.config.pricing.max_grid_cells;
        if cells * book.len() > max {
            return Err(AssistantError::InvalidField {
                field: "grid".into(),
                reason: format!(
                    "{cells} cells × {} contracts = {} valuations; at most {max} \
                     (pricing.max_grid_cells)",
                    book.len(),
                    cells * book.len()
                ),
            });
        }
        let underlyings: Vec<&str> = book
            .iter()
            .filter_map(|p| p.as_ref().ok().map(|p| p.underlying.as_str()))
            .collect();
        let markets = self.markets(input.market.as_ref(), &underlyings)?;
        let r = scenario_grid(&book, &markets, g, &req)?;
        self.audit_run(
            actor,
            "risk.grid",
            &sha256(&input.products)[..16],
            json!({
                "input_sha256": sha256(&json!([input.products, input.market, g])),
                "contracts": book.len(), "cells": cells, "failed": r.errors.len(),
                "elapsed_ms": r.elapsed_ms,
                "market": if input.market.is_some() { "request" } else { "desk" },
            }),
        )?;
        Ok(r)
    }
}
