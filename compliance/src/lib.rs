//! Deskmate's compliance core (issue #19): one trade, every reporting regime.
//!
//! - [`cdm`]: a CDM `ReportableEvent` (or a bare `TradeState` with the reporting facts given
//!   beside it) read into a [`cdm::Trade`], references resolved, every shape error named by its
//!   JSON path.
//! - [`elements`]: the report fields computed once from the trade, by the common names the
//!   regimes share, each a value, a rule's default (with why) or missing (with what is needed).
//! - [`regime`]: the nine transaction reports (CFTC Parts 43 and 45, EU EMIR Refit, UK EMIR,
//!   ASIC, MAS, HKMA, JFSA, CSA): which apply to a trade and in what role, each one's fields and
//!   formats, its deadline and the deadline's source.
//! - [`i18n`]: the Chinese of what a missing field needs and why a default was used.
//! - [`link`]: which field of each named regime a rule question is about, by the fields' names
//!   (English and Chinese), so the evidence starts with that field's provision.
//! - [`score`]: a generated report against an expected one (the eval's measure).
//!
//! Everything here is deterministic: rules in code, never a model.

pub mod catalogue;
pub mod cdm;
pub mod compare;
pub mod elements;
pub mod export;
pub mod i18n;
pub mod link;
pub mod regime;
pub mod score;
pub mod validate;
