//! Market data and events for research and risk (#20): daily bars in the store, the moves they
//! hold as events, and risk events opened by hand.
//!
//! - [`Assistant::market_import`] reads a CSV or JSON file of daily bars through
//!   `research::bars` (a file with any bad row is refused whole, naming the row and column).
//!   A bar the store already holds for the same contract and day is kept when equal and refuses
//!   the file when it differs (naming the row and the file that gave the stored bar): prices
//!   are never silently overwritten. The file's bars, its notices and the move events found
//!   are written in one transaction and audited (`market.import`, with the file's SHA-256).
//! - Moves are found again over each imported contract's whole stored series (so a file that
//!   fills a gap finds the move across it), with the `[research]` thresholds: a contract's
//!   own, else the longest configured product prefix (`SC` for `SC2407`), else
//!   `move_threshold_pct`. Each move is an event once (contract, day).
//! - [`Assistant::event_open`] opens a risk event by hand: a topic, the products it concerns
//!   and its time window (audited `event.open`).

use policies::{DataClass, Permission};
use research::{Bar, MoveRule, Notice};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Assistant;
use crate::documents::require;
use crate::drafts::{invalid, sha};
use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord, time};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    /// The file's id in the store (`mf_…`).
    pub file_id: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// The contracts it holds.
    pub contracts: Vec<String>,
    /// Bars the store did not hold.
    pub bars_new: usize,
    /// Bars the store already held, equal.
    pub bars_known: usize,
    /// What was left out or is worth knowing (duplicates, rows without a price, weekends,
    /// gaps, columns not read).
    pub notices: Vec<Notice>,
    /// The move events this file made.
    pub events: Vec<MarketEvent>,
}

/// A market event: a move found in the data, or a risk event opened by hand.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketEvent {
    /// Its id (`ev_…`).
    pub id: String,
    /// `move` or `risk`.
    pub kind: String,
    /// The contract moved (moves), or the products concerned, comma-separated (risk events).
    pub contract: String,
    /// The day of the move, or the first day of a risk event's window.
    pub date: String,
    /// The last day of a risk event's window (a move's is its day).
    pub until: String,
    /// The risk event's topic; a move's description in English.
    pub topic: String,
    /// The numbers: a move's prices, dates, change and threshold; a risk event's window.
    pub details: Value,
    /// Who opened it (`system` for moves found in imported data).
    pub opened_by: String,
    /// When.
    pub opened_at: String,
}

/// A contract's bars, as `(contract, bars by date)`.
pub type Series = (String, Vec<Bar>);

/// A contract's series in the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractSeries {
    /// The contract.
    pub contract: String,
    /// Its first and last day.
    pub first: String,
    /// See `first`.
    pub last: String,
    /// How many bars.
    pub bars: usize,
}

/// The rule for a contract under the `[research]` thresholds.
pub fn rule_for(config: &crate::config::ResearchConfig, contract: &str) -> MoveRule {
    let threshold = config
        .move_thresholds
        .get(contract)
        .copied()
        .or_else(|| {
            config
                .move_thresholds
                .iter()
                .filter(|(k, _)| contract.starts_with(k.as_str()))
                .max_by_key(|(k, _)| k.len())
                .map(|(_, v)| *v)
        })
        .unwrap_or(config.move_threshold_pct);
    MoveRule {
        threshold_pct: threshold,
        ..MoveRule::default()
    }
}

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MarketEvent> {
    let details: String = r.get(6)?;
    Ok(MarketEvent {
        id: r.get(0)?,
        kind: r.get(1)?,
        contract: r.get(2)?,
        date: r.get(3)?,
        until: r.get(4)?,
        topic: r.get(5)?,
        details: serde_json::from_str(&details).unwrap_or(Value::Null),
        opened_by: r.get(7)?,
        opened_at: r.get(8)?,
    })
}

const EVENT_COLUMNS: &str = "id, kind, contract, date, until, topic, details, opened_by, opened_at";

fn bar_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Bar, String)> {
    let date: String = r.get(1)?;
    Ok((
        Bar {
            contract: r.get(0)?,
            date: kernels::dates::Date::parse(&date).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    1,
                    rusqlite::types::Type::Text,
                    format!("market_bars.date {date:?} is not a date").into(),
                )
            })?,
            open: r.get(2)?,
            high: r.get(3)?,
            low: r.get(4)?,
            close: r.get(5)?,
            settlement: r.get(6)?,
            volume: r.get(7)?,
            open_interest: r.get(8)?,
            unit: r.get(9)?,
            row: 0,
        },
        r.get(10)?,
    ))
}

const BAR_COLUMNS: &str =
    "contract, date, open, high, low, close, settlement, volume, open_interest, unit, file_id";

impl Assistant {
    /// Imports a file of daily bars (CSV or JSON); `contract` names the contract of a file
    /// without a contract column, `unit` what its prices are in (`USD/bbl`, `points`) when it
    /// has no unit column. See the module doc for what is refused.
    pub fn market_import(
        &self,
        actor: &Actor,
        name: &str,
        bytes: &[u8],
        contract: Option<&str>,
        unit: Option<&str>,
    ) -> Result<ImportReport> {
        require(actor, Permission::MarketWrite)?;
        let parsed = research::parse(bytes, contract, unit)
            .map_err(|e| invalid("file", format!("{name}: {e}")))?;
        let digest = sha(bytes);
        let file_id = format!("mf_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let contracts: Vec<String> = parsed.contracts().into_iter().map(str::to_string).collect();
        let config = self.config.research.clone();
        let now = time::fmt(time::now());
        self.store.write(actor, |tx| {
            let mut new = 0;
            let mut known = 0;
            tx.conn().execute(
                "INSERT INTO market_files (id, sha256, name, bars, notices, uploaded_by, uploaded_at)
                 VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6)",
                params![
                    file_id,
                    digest,
                    name,
                    serde_json::to_string(&parsed.notices).unwrap_or_default(),
                    actor.user,
                    now
                ],
            )?;
            for b in &parsed.bars {
                let held = tx
                    .conn()
                    .query_row(
                        &format!(
                            "SELECT {BAR_COLUMNS} FROM market_bars WHERE contract = ?1 AND date = ?2"
                        ),
                        params![b.contract, b.date.to_string()],
                        bar_row,
                    )
                    .optional()?;
                match held {
                    Some((stored, _)) if stored.same_values(b) => known += 1,
                    Some((_, from)) => {
                        let from_name: String = tx
                            .conn()
                            .query_row(
                                "SELECT name FROM market_files WHERE id = ?1",
                                [&from],
                                |r| r.get(0),
                            )
                            .unwrap_or(from);
                        return Err(invalid(
                            "file",
                            format!(
                                "{name}: row {} gives {} on {} other values than the stored bar from {from_name}; nothing was imported (correct the file, or the stored data first)",
                                b.row, b.contract, b.date
                            ),
                        ));
                    }
                    None => {
                        tx.conn().execute(
                            "INSERT INTO market_bars (contract, date, open, high, low, close,
                                 settlement, volume, open_interest, unit, file_id)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                            params![
                                b.contract,
                                b.date.to_string(),
                                b.open,
                                b.high,
                                b.low,
                                b.close,
                                b.settlement,
                                b.volume,
                                b.open_interest,
                                b.unit,
                                file_id
                            ],
                        )?;
                        new += 1;
                    }
                }
            }
            tx.conn().execute(
                "UPDATE market_files SET bars = ?2 WHERE id = ?1",
                params![file_id, new as i64],
            )?;
            // Moves over each contract's whole stored series.
            let mut events = Vec::new();
            for c in &contracts {
                let series: Vec<Bar> = {
                    let mut stmt = tx.conn().prepare(&format!(
                        "SELECT {BAR_COLUMNS} FROM market_bars WHERE contract = ?1 ORDER BY date"
                    ))?;
                    stmt.query_map([c], bar_row)?
                        .map(|r| r.map(|(b, _)| b))
                        .collect::<rusqlite::Result<_>>()?
                };
                let rule = rule_for(&config, c);
                for m in research::detect(&series, |_| rule) {
                    let id = format!("ev_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
                    let details = json!({
                        "basis": m.basis.as_str(),
                        "previous_date": m.previous_date.to_string(),
                        "previous": m.previous,
                        "value": m.value,
                        "change_pct": m.change_pct,
                        "high": m.high,
                        "low": m.low,
                        "missing_weekdays": m.missing_weekdays,
                        "threshold_pct": m.threshold_pct,
                        "unit": m.unit,
                        "description_zh": m.describe(true),
                    });
                    let added = tx.conn().execute(
                        "INSERT OR IGNORE INTO market_events (id, kind, contract, date, until,
                             topic, details, opened_by, opened_at)
                         VALUES (?1, 'move', ?2, ?3, ?3, ?4, ?5, 'system', ?6)",
                        params![
                            id,
                            m.contract,
                            m.date.to_string(),
                            m.describe(false),
                            details.to_string(),
                            now
                        ],
                    )?;
                    if added == 1 {
                        events.push(MarketEvent {
                            id,
                            kind: "move".into(),
                            contract: m.contract.clone(),
                            date: m.date.to_string(),
                            until: m.date.to_string(),
                            topic: m.describe(false),
                            details,
                            opened_by: "system".into(),
                            opened_at: now.clone(),
                        });
                    }
                }
            }
            tx.audit(AuditRecord {
                action: "market.import",
                object_kind: "market_file",
                object_id: &file_id,
                class: DataClass::GENERAL,
                details: json!({
                    "name": name, "sha256": digest, "contracts": contracts,
                    "bars_new": new, "bars_known": known,
                    "notices": parsed.notices.len(),
                    "events": events.iter().map(|e| &e.id).collect::<Vec<_>>(),
                }),
            })?;
            Ok::<_, AssistantError>(ImportReport {
                file_id: file_id.clone(),
                sha256: digest.clone(),
                contracts: contracts.clone(),
                bars_new: new,
                bars_known: known,
                notices: parsed.notices.clone(),
                events,
            })
        })
    }

    /// The contracts in the store with their first and last day.
    pub fn market_contracts(&self, actor: &Actor) -> Result<Vec<ContractSeries>> {
        require(actor, Permission::MarketRead)?;
        self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT contract, MIN(date), MAX(date), COUNT(*) FROM market_bars
                 GROUP BY contract ORDER BY contract",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(ContractSeries {
                        contract: r.get(0)?,
                        first: r.get(1)?,
                        last: r.get(2)?,
                        bars: r.get::<_, i64>(3)? as usize,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// A contract's bars between two days (inclusive, `YYYY-MM-DD`; either may be empty).
    pub fn market_bars(
        &self,
        actor: &Actor,
        contract: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<Bar>> {
        require(actor, Permission::MarketRead)?;
        for (field, d) in [("from", from), ("to", to)] {
            if let Some(d) = d
                && kernels::dates::Date::parse(d).is_none()
            {
                return Err(invalid(field, format!("{d:?} is not a date YYYY-MM-DD")));
            }
        }
        self.store.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {BAR_COLUMNS} FROM market_bars WHERE contract = ?1
                     AND date >= ?2 AND date <= ?3 ORDER BY date"
            ))?;
            let rows = stmt
                .query_map(
                    params![
                        contract,
                        from.unwrap_or("0000-00-00"),
                        to.unwrap_or("9999-99-99")
                    ],
                    bar_row,
                )?
                .map(|r| r.map(|(b, _)| b))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Events, newest first: of one kind and contract when given.
    pub fn market_events(
        &self,
        actor: &Actor,
        kind: Option<&str>,
        contract: Option<&str>,
    ) -> Result<Vec<MarketEvent>> {
        require(actor, Permission::MarketRead)?;
        if let Some(k) = kind
            && !matches!(k, "move" | "risk")
        {
            return Err(invalid("kind", format!("{k:?} is not one of move, risk")));
        }
        self.store.read(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {EVENT_COLUMNS} FROM market_events
                 WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR contract = ?2)
                 ORDER BY date DESC, contract"
            ))?;
            let rows = stmt
                .query_map(params![kind, contract], event_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// One event by id.
    pub fn market_event(&self, actor: &Actor, id: &str) -> Result<MarketEvent> {
        require(actor, Permission::MarketRead)?;
        self.store
            .read(|c| {
                c.query_row(
                    &format!("SELECT {EVENT_COLUMNS} FROM market_events WHERE id = ?1"),
                    [id],
                    event_row,
                )
                .optional()
            })?
            .ok_or_else(|| AssistantError::NotFound {
                kind: "event",
                id: id.into(),
            })
    }

    /// An event with the bars of its window, by contract: for a move, up to `around` trading
    /// days of its contract before and after it; for a risk event, each product's bars within
    /// its window (products without market data are left out).
    pub fn event_window(
        &self,
        actor: &Actor,
        id: &str,
        around: usize,
    ) -> Result<(MarketEvent, Vec<Series>)> {
        let event = self.market_event(actor, id)?;
        let limit = around.clamp(1, 250) as i64;
        let series = self.store.read(|c| {
            let bars = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<Vec<Bar>> {
                let mut stmt = c.prepare(sql)?;
                stmt.query_map(p, bar_row)?
                    .map(|r| r.map(|(b, _)| b))
                    .collect()
            };
            let mut out = Vec::new();
            if event.kind == "move" {
                let mut before = bars(
                    &format!(
                        "SELECT {BAR_COLUMNS} FROM market_bars WHERE contract = ?1 AND date < ?2
                         ORDER BY date DESC LIMIT ?3"
                    ),
                    &[&event.contract, &event.date, &limit],
                )?;
                before.reverse();
                let after = bars(
                    &format!(
                        "SELECT {BAR_COLUMNS} FROM market_bars WHERE contract = ?1 AND date >= ?2
                         ORDER BY date LIMIT ?3"
                    ),
                    &[&event.contract, &event.date, &(limit + 1)],
                )?;
                before.extend(after);
                out.push((event.contract.clone(), before));
            } else {
                for p in event.contract.split(',') {
                    let b = bars(
                        &format!(
                            "SELECT {BAR_COLUMNS} FROM market_bars WHERE contract = ?1
                             AND date >= ?2 AND date <= ?3 ORDER BY date"
                        ),
                        &[&p, &event.date, &event.until],
                    )?;
                    if !b.is_empty() {
                        out.push((p.to_string(), b));
                    }
                }
            }
            Ok::<_, AssistantError>(out)
        })?;
        Ok((event, series))
    }

    /// Opens a risk event by hand: its topic, the products it concerns and its window.
    pub fn event_open(
        &self,
        actor: &Actor,
        topic: &str,
        products: &[String],
        from: &str,
        until: &str,
    ) -> Result<MarketEvent> {
        require(actor, Permission::MarketWrite)?;
        let topic = topic.trim();
        if topic.is_empty() || topic.chars().count() > 200 {
            return Err(invalid(
                "topic",
                "write the event's topic in 1 to 200 characters",
            ));
        }
        let products: Vec<String> = products
            .iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if products.is_empty() || products.iter().any(|p| p.contains(',') || p.len() > 60) {
            return Err(invalid(
                "products",
                "name one or more products (each without commas, at most 60 characters)",
            ));
        }
        let (Some(a), Some(b)) = (
            kernels::dates::Date::parse(from),
            kernels::dates::Date::parse(until),
        ) else {
            return Err(invalid(
                if kernels::dates::Date::parse(from).is_none() {
                    "from"
                } else {
                    "until"
                },
                "not a date YYYY-MM-DD",
            ));
        };
        if b < a {
            return Err(invalid("until", format!("{until} is before {from}")));
        }
        let id = format!("ev_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
        let now = time::fmt(time::now());
        let contract = products.join(",");
        let details = json!({"products": products, "from": from, "until": until});
        self.store.write(actor, |tx| {
            tx.conn().execute(
                "INSERT INTO market_events (id, kind, contract, date, until, topic, details,
                     opened_by, opened_at)
                 VALUES (?1, 'risk', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id,
                    contract,
                    from,
                    until,
                    topic,
                    details.to_string(),
                    actor.user,
                    now
                ],
            )?;
            tx.audit(AuditRecord {
                action: "event.open",
                object_kind: "market_event",
                object_id: &id,
                class: DataClass::GENERAL,
                details: json!({"topic": topic, "products": products, "from": from, "until": until}),
            })?;
            Ok::<_, AssistantError>(())
        })?;
        Ok(MarketEvent {
            id,
            kind: "risk".into(),
            contract,
            date: from.into(),
            until: until.into(),
            topic: topic.into(),
            details,
            opened_by: actor.user.clone(),
            opened_at: now,
        })
    }
}
