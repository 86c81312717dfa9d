//! The research and risk page (issue #20, first part): the market data held (contracts with
//! their first and last day), a daily-bars import, the events found in the data and opened by
//! hand, and each event's numbers with a chart of the prices around it. Everything goes
//! through the same workflow as the API (`assistant::market`).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, PreEscaped, html};
use research::chart::{Mark, svg};
use serde::Deserialize;

use super::i18n::{T, number};
use super::{CsrfForm, Nav, Viewer, page, read_upload};
use crate::error::AppError;
use crate::state::AppState;
use assistant::market::{ImportReport, MarketEvent};
use policies::Permission;

/// A move or risk event's text in the viewer's language.
fn describe(v: &Viewer, e: &MarketEvent) -> String {
    match (e.kind.as_str(), v.lang.as_str()) {
        ("move", "zh") => e.details["description_zh"]
            .as_str()
            .unwrap_or(&e.topic)
            .to_string(),
        _ => e.topic.clone(),
    }
}

fn kind(v: &Viewer, e: &MarketEvent) -> &'static str {
    if e.kind == "move" {
        v.t(T::EventMove)
    } else {
        v.t(T::EventRisk)
    }
}

async fn research_page(v: &Viewer, s: &AppState, flash: Markup) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    {
        let (contracts, events) = s
            .blocking(move |a| {
                Ok::<_, assistant::AssistantError>((
                    a.market_contracts(&actor)?,
                    a.market_events(&actor, None, None)?,
                ))
            })
            .await?;
        let write = v.can(Permission::MarketWrite);
        let body = html! {
            h1 { (v.t(T::Research)) }
            p.muted { (v.t(T::ResearchHelp)) }
            (flash)
            div.grid2 {
                section.card #market-data {
                    h2 { (v.t(T::MarketData)) }
                    @if contracts.is_empty() {
                        p.muted { (v.t(T::NoBarsYet)) }
                    } @else {
                        table {
                            thead { tr { th { (v.t(T::ContractCol)) } th { (v.t(T::FirstDay)) } th { (v.t(T::LastDay)) } th.num { (v.t(T::BarsCol)) } } }
                            tbody {
                                @for c in &contracts {
                                    tr { td { (c.contract) } td { (c.first) } td { (c.last) } td.num { (c.bars) } }
                                }
                            }
                        }
                    }
                    @if write {
                        h2 { (v.t(T::ImportBars)) }
                        form.stack method="post" action="/research/import" enctype="multipart/form-data" {
                            (v.csrf_field())
                            label for="m-contract" { (v.t(T::ContractIfNone)) }
                            input #m-contract type="text" name="contract";
                            label for="m-unit" { (v.t(T::PriceUnit)) }
                            input #m-unit type="text" name="unit";
                            label for="m-file" { (v.t(T::BarsFile)) }
                            input #m-file type="file" name="file" accept=".csv,.json,text/csv,application/json";
                            button type="submit" { (v.t(T::ImportAction)) }
                        }
                    }
                }
                @if write {
                    section.card #open-event {
                        h2 { (v.t(T::OpenRiskEvent)) }
                        form.stack method="post" action="/research/events" {
                            (v.csrf_field())
                            label for="e-topic" { (v.t(T::Topic)) }
                            input #e-topic type="text" name="topic" required maxlength="200";
                            label for="e-products" { (v.t(T::ProductsCsv)) }
                            input #e-products type="text" name="products" required;
                            label for="e-from" { (v.t(T::WindowFrom)) }
                            input #e-from type="date" name="from" required;
                            label for="e-until" { (v.t(T::WindowUntil)) }
                            input #e-until type="date" name="until" required;
                            button type="submit" { (v.t(T::OpenAction)) }
                        }
                    }
                }
            }
            section.card #events {
                h2 { (v.t(T::Events)) }
                @if events.is_empty() {
                    p.muted { (v.t(T::NoEvents)) }
                } @else {
                    table {
                        thead { tr { th { (v.t(T::DateCol)) } th { (v.t(T::Kind)) } th { (v.t(T::ContractCol)) } th { (v.t(T::WhatHappened)) } } }
                        tbody {
                            @for e in &events {
                                tr {
                                    td { a href={ "/research/events/" (e.id) } { (e.date) } }
                                    td { (kind(v, e)) }
                                    td { (e.contract) }
                                    td { (describe(v, e)) }
                                }
                            }
                        }
                    }
                }
            }
        };
        Ok(page(v, v.t(T::Research), Nav::Research, body))
    }
}

/// `GET /research`.
pub async fn index(State(s): State<AppState>, v: Viewer) -> Result<Response, AppError> {
    research_page(&v, &s, html! {}).await
}

fn imported(v: &Viewer, name: &str, r: &ImportReport) -> Markup {
    html! {
        div.flash.ok role="status" #imported {
            strong { (v.t(T::Imported)) " " (name) } ": "
            (r.bars_new) " " (v.t(T::NewBars)) ", " (r.bars_known) " " (v.t(T::KnownBars)) "; "
            (r.contracts.join(", "))
            @if !r.notices.is_empty() {
                ul { @for n in &r.notices { li { (n.message) } } }
            }
            @if !r.events.is_empty() {
                ul { @for e in &r.events { li { a href={ "/research/events/" (e.id) } { (describe(v, e)) } } } }
            }
        }
    }
}

/// `POST /research/import`: a file of daily bars from the page (multipart, form token first).
pub async fn import(
    State(s): State<AppState>,
    v: Viewer,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let up = read_upload(&v.session, form, &["contract", "unit"]).await?;
    let field = |k: &str| {
        up.field(k)
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
    };
    let (contract, unit) = (field("contract"), field("unit"));
    let (name, bytes) = up
        .files
        .into_iter()
        .next()
        .ok_or_else(|| AppError::BadRequest {
            code: "invalid_request",
            message: "file: choose a CSV or JSON file of daily bars".into(),
        })?;
    let actor = v.actor.clone();
    let n = name.clone();
    let r = s
        .blocking(move |a| {
            a.market_import(&actor, &n, &bytes, contract.as_deref(), unit.as_deref())
        })
        .await?;
    research_page(&v, &s, imported(&v, &name, &r)).await
}

/// The risk-event form.
#[derive(Debug, Deserialize)]
pub struct OpenForm {
    /// The topic.
    pub topic: String,
    /// Products, comma-separated.
    pub products: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub until: String,
}

/// `POST /research/events`: open a risk event, then show it.
pub async fn open(
    State(s): State<AppState>,
    v: Viewer,
    CsrfForm(f): CsrfForm<OpenForm>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let products: Vec<String> = f
        .products
        .split(',')
        .map(|p| p.trim().to_string())
        .collect();
    let e = s
        .blocking(move |a| a.event_open(&actor, &f.topic, &products, &f.from, &f.until))
        .await?;
    Ok(Redirect::to(&format!("/research/events/{}", e.id)).into_response())
}

/// `GET /research/events/{id}`: an event's numbers and the prices around it.
pub async fn event(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let (e, series, moves) = s
        .blocking(move |a| {
            let (e, series) = a.event_window(&actor, &id, 15)?;
            let moves = a.market_events(&actor, Some("move"), None)?;
            Ok::<_, assistant::AssistantError>((e, series, moves))
        })
        .await?;
    let d = &e.details;
    let unit = d["unit"]
        .as_str()
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    let charts: Vec<(String, Option<String>)> = series
        .iter()
        .map(|(contract, bars)| {
            let first = bars.first().map(|b| b.date.to_string()).unwrap_or_default();
            let last = bars.last().map(|b| b.date.to_string()).unwrap_or_default();
            let marks: Vec<Mark> = moves
                .iter()
                .filter(|m| &m.contract == contract && m.date >= first && m.date <= last)
                .filter_map(|m| {
                    Some(Mark {
                        date: kernels::dates::Date::parse(&m.date)?,
                        label: format!("{:+.2}%", m.details["change_pct"].as_f64()?),
                    })
                })
                .collect();
            (
                contract.clone(),
                svg(bars, &marks, &format!("{contract} · {first} .. {last}")),
            )
        })
        .collect();
    let body = html! {
        h1 { (kind(&v, &e)) " · " (e.contract) " · " (e.date) @if e.until != e.date { " .. " (e.until) } }
        section.card #event {
            p { strong { (describe(&v, &e)) } }
            @if e.kind == "move" {
                table { tbody {
                    tr { th { (v.t(T::BasisCol)) } td { (d["basis"].as_str().unwrap_or_default()) } }
                    tr { th { (v.t(T::PreviousCol)) } td.num { (d["previous_date"].as_str().unwrap_or_default()) " " (number(d["previous"].as_f64().unwrap_or(f64::NAN), 2)) (unit) } }
                    tr { th { (e.date) } td.num { (number(d["value"].as_f64().unwrap_or(f64::NAN), 2)) (unit) } }
                    tr { th { (v.t(T::ChangeCol)) } td.num { (format!("{:+.2}%", d["change_pct"].as_f64().unwrap_or(f64::NAN))) } }
                    tr { th { (v.t(T::ThresholdCol)) } td.num { (format!("{:.2}%", d["threshold_pct"].as_f64().unwrap_or(f64::NAN))) } }
                    @if d["missing_weekdays"].as_i64().unwrap_or(0) > 0 {
                        tr { th { "" } td { (d["missing_weekdays"]) " " (v.t(T::MissingWeekdays)) } }
                    }
                } }
            }
            p.muted { (e.opened_by) " · " (e.opened_at) }
        }
        section.card #chart {
            h2 { (v.t(T::PriceChart)) }
            @if charts.iter().all(|(_, c)| c.is_none()) {
                p.muted { (v.t(T::NoBarsInWindow)) }
            }
            @for (_, c) in &charts {
                @if let Some(svg) = c { figure { (PreEscaped(svg)) } }
            }
        }
        p { a href="/research" { (v.t(T::Research)) } }
    };
    Ok(page(&v, v.t(T::Research), Nav::Research, body))
}
