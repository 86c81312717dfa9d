//! The trader's RFQ blotter, live, and one request's full trail.
//!
//! The blotter's rows are a fragment of their own (`/rfqs/rows`), so the page's script can
//! refresh them when the event stream (`/rfqs/events`) says something changed: the stream
//! watches the audit log's head, which moves with every inbound request, quote, decision and
//! delivery, and sends a `changed` event within half a second of it.

use super::i18n::{T, number, time};
use super::{CsrfForm, Nav, Viewer, badge, html_response, page, pretty, see_other};
use crate::error::AppError;
use crate::state::AppState;
use assistant::desk::RfqStatus;
use assistant::desk::blotter::{RfqFilter, RfqRow};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use maud::{Markup, html};
use policies::Permission;
use serde::Deserialize;
use serde_json::Value;
use std::convert::Infallible;
use std::time::{Duration, Instant};

/// The blotter's filters.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct BlotterQuery {
    /// Only this client's.
    pub client: Option<String>,
    /// Only this status.
    pub status: Option<String>,
}

impl BlotterQuery {
    fn filter(&self) -> Result<RfqFilter, AppError> {
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(s.parse::<RfqStatus>().map_err(|e| AppError::BadRequest {
                code: "invalid_query",
                message: format!("status: {e}"),
            })?),
        };
        Ok(RfqFilter {
            client: self.client.clone().filter(|c| !c.is_empty()),
            status,
            limit: Some(200),
            ..RfqFilter::default()
        })
    }

    fn query_string(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [("client", &self.client), ("status", &self.status)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", super::percent_encode(v)));
            }
        }
        parts.join("&")
    }
}

fn rows(v: &Viewer, rfqs: &[RfqRow]) -> Markup {
    html! {
        @if rfqs.is_empty() {
            tr { td colspan="7" { span.muted { (v.t(T::NoRfqs)) } } }
        }
        @for r in rfqs {
            tr data-id=(r.id) {
                td { a href={"/rfqs/" (r.id)} { (time(&r.received_at)) } }
                td { (r.client_id) }
                td { (r.text) }
                td { (badge(r.status.as_str())) }
                td { (r.path) " · " (number(r.confidence, 2)) }
                td {
                    @for q in &r.quotes {
                        div {
                            (badge(q.status.as_str())) " "
                            (q.underlying.as_deref().unwrap_or("")) " "
                            (q.structure.as_deref().unwrap_or(""))
                            @if let Some(ap) = &q.approval_id { " · " a href={"/approvals/" (ap)} { (v.t(T::Approvals)) } }
                        }
                    }
                }
                td { a href={"/rfqs/" (r.id)} { (v.t(T::Open)) } }
            }
        }
    }
}

async fn load(s: &AppState, v: &Viewer, q: &BlotterQuery) -> Result<Vec<RfqRow>, AppError> {
    let f = q.filter()?;
    let actor = v.actor.clone();
    Ok(s.blocking(move |a| a.rfq_list(&actor, &f)).await?)
}

/// `GET /rfqs`: the blotter.
pub async fn blotter(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<BlotterQuery>,
) -> Result<Response, AppError> {
    let list = load(&s, &v, &q).await?;
    let qs = q.query_string();
    let market_error = s.assistant.desk().market().summary().error;
    let body = html! {
        h1 { (v.t(T::Blotter)) }
        @if let Some(e) = &market_error {
            p.problem #no-market-data { (v.t(T::NoMarketData)) " (" (e) ")" }
        }
        form.inline method="get" action="/rfqs" {
            label for="client" { (v.t(T::Client)) }
            input #client type="text" name="client" value=(q.client.clone().unwrap_or_default());
            label for="status" { (v.t(T::Status)) }
            select #status name="status" {
                option value="" { (v.t(T::All)) }
                @for st in RfqStatus::ALL {
                    option value=(st.as_str()) selected[q.status.as_deref() == Some(st.as_str())] { (st.as_str()) }
                }
            }
            button.secondary type="submit" { (v.t(T::Filter)) }
        }
        @if v.can(Permission::RfqSubmit) {
            (new_request_form(&v, &s))
        }
        p.muted data-live-note hidden { (v.t(T::Live)) }
        noscript { p.muted { (v.t(T::NoScript)) } }
        table {
            thead { tr {
                th { (v.t(T::Received)) } th { (v.t(T::Client)) } th { (v.t(T::Message)) }
                th { (v.t(T::Status)) } th { (v.t(T::ParsedBy)) } th { (v.t(T::Quotes)) } th {}
            } }
            tbody #blotter-rows data-live-events="/rfqs/events" data-live-rows={"/rfqs/rows?" (qs)} {
                (rows(&v, &list))
            }
        }
    };
    Ok(page(&v, v.t(T::Blotter), Nav::Blotter, body))
}

/// A request a trader takes by phone or e-mail, entered on the blotter.
fn new_request_form(v: &Viewer, s: &AppState) -> Markup {
    let clients = &s.assistant.config.limits.clients;
    html! {
        details.card #new-request {
            summary { (v.t(T::EnterRequest)) }
            p.muted { (v.t(T::EnterRequestHelp)) }
            @if clients.is_empty() {
                p.problem { (v.t(T::NoClients)) }
            } @else {
            form.stack method="post" action="/rfqs/new" {
                (v.csrf_field())
                label for="nr-client" { (v.t(T::Client)) }
                select #nr-client name="client" required {
                    @for (id, c) in clients {
                        option value=(id) { (id) @if let Some(n) = &c.name { " · " (n) } }
                    }
                }
                label for="nr-message" { (v.t(T::Message)) }
                textarea #nr-message name="message" required maxlength="4000" rows="2"
                    placeholder="沪深300 12个月 平值看涨 名义本金1000万 期权费多少" {}
                button type="submit" { (v.t(T::PriceAndQueue)) }
            }
            }
        }
    }
}

/// The blotter's form for a request taken by phone or e-mail.
#[derive(Debug, Deserialize)]
pub struct NewRequestForm {
    /// A client id of `[limits.clients]`.
    pub client: String,
    /// The request as the client put it.
    pub message: String,
}

/// `POST /rfqs/new`: a request a trader took by phone or e-mail runs the desk loop as a chat
/// message would (parse, limits, pricing, the approval queue), with the trader as its sender;
/// the trader lands on its trail.
pub async fn new_request(
    State(s): State<AppState>,
    v: Viewer,
    CsrfForm(f): CsrfForm<NewRequestForm>,
) -> Result<Response, AppError> {
    // Clients may submit their own requests through chat, never on behalf of others here.
    if !v.can(Permission::RfqRead) {
        return Err(AppError::Forbidden(
            "only desk staff enter requests for clients".into(),
        ));
    }
    if !s.assistant.config.limits.clients.contains_key(&f.client) {
        return Err(AppError::BadRequest {
            code: "invalid_request",
            message: format!("client: {:?} is not a client of [limits.clients]", f.client),
        });
    }
    if f.message.trim().is_empty() {
        return Err(AppError::BadRequest {
            code: "invalid_request",
            message: "message: empty".into(),
        });
    }
    let actor = v.actor.clone();
    let d = s
        .blocking(move |a| a.rfq_quote_local(&actor, &f.message, &f.client))
        .await?;
    Ok(see_other(&format!("/rfqs/{}", d.rfq.id)))
}

/// `GET /rfqs/rows`: the blotter's rows alone, for the live refresh.
pub async fn rows_fragment(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<BlotterQuery>,
) -> Result<Response, AppError> {
    let list = load(&s, &v, &q).await?;
    Ok(html_response(StatusCode::OK, rows(&v, &list)))
}

/// How long one event stream lasts before the browser reconnects (it does so by itself).
const STREAM_LIFETIME: Duration = Duration::from_secs(300);
/// How often the stream looks at the audit head.
const POLL: Duration = Duration::from_millis(250);

/// `GET /rfqs/events`: server-sent `changed` events whenever the audit log's head moves.
pub async fn events(State(s): State<AppState>, _v: Viewer) -> Response {
    let head = |s: AppState| async move {
        s.blocking(|a| a.store().audit_head())
            .await
            .ok()
            .flatten()
            .map(|h| h.seq)
    };
    let start = head(s.clone()).await;
    let began = Instant::now();
    let stream = futures::stream::unfold(
        (s, start, began, true),
        move |(s, last, began, first)| async move {
            if first {
                let e = Event::default()
                    .event("ready")
                    .retry(Duration::from_secs(1))
                    .data("");
                return Some((Ok::<_, Infallible>(e), (s, last, began, false)));
            }
            loop {
                if began.elapsed() > STREAM_LIFETIME {
                    return None;
                }
                tokio::time::sleep(POLL).await;
                let now = head(s.clone()).await;
                if now != last {
                    let e = Event::default()
                        .event("changed")
                        .data(now.map(|n| n.to_string()).unwrap_or_default());
                    return Some((Ok(e), (s, now, began, false)));
                }
            }
        },
    );
    sse(stream)
}

fn sse<S: Stream<Item = Result<Event, Infallible>> + Send + 'static>(stream: S) -> Response {
    let mut resp = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    resp.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    resp
}

fn f(v: &serde_json::Value, decimals: usize) -> String {
    v.as_f64().map(|x| number(x, decimals)).unwrap_or_default()
}

/// A quote's figures as a trader reads them: the client's figure against fair value and
/// margin, the notional with its currency, how it was priced (engine, paths, standard error),
/// the Greeks, and the limit checks with their plain reasons.
fn quote_summary(v: &Viewer, d: &serde_json::Value) -> Markup {
    let q = &d["quote"];
    let p = &d["pricing"];
    let g = &d["greeks"];
    let l = &d["limits"];
    let ccy = d["currency"].as_str().unwrap_or("");
    let reason_key = if v.lang == super::i18n::Lang::Zh {
        "reason_zh"
    } else {
        "reason_en"
    };
    html! {
        @if q.is_object() {
            table { tbody {
                tr { th { (v.t(T::ClientQuote)) } td.num { (f(&q["client"], 4)) " " (q["unit"].as_str().unwrap_or("")) } }
                tr { th { (v.t(T::FairValue)) } td.num { (f(&q["fair"], 4)) " " (q["unit"].as_str().unwrap_or("")) } }
                tr { th { (v.t(T::Margin)) } td.num { (f(&q["margin_bps"], 1)) " bp · " (ccy) " " (f(&q["margin_amount"], 2)) } }
                tr { th { (v.t(T::Notional)) } td.num { (ccy) " " (f(&d["notional"], 2)) } }
                tr { th { (v.t(T::Engine)) } td { (p["engine"].as_str().unwrap_or("")) @if let Some(n) = p["paths"].as_u64() { " · " (number(n as f64, 0)) " paths" } } }
                tr { th { (v.t(T::StdError)) } td.num { (f(&p["std_error_pct"], 4)) "%" } }
                @if let Some(t) = d["valid_until"].as_str() { tr { th { (v.t(T::Expires)) } td { (time(t)) } } }
            } }
            @if g.is_object() {
                table {
                    thead { tr { @for k in ["delta", "gamma", "vega", "theta", "rho"] { th.num { (k) } } } }
                    tbody { tr { @for k in ["delta", "gamma", "vega", "theta", "rho"] { td.num { (f(&g[k], 4)) } } } }
                }
            }
            @if l.is_object() {
                p {
                    (v.t(T::LimitChecks)) ": "
                    @if l["passed"].as_bool() == Some(true) { (badge("ok")) } @else { (badge("blocked")) }
                }
                @if let Some(bs) = l["breaches"].as_array() {
                    ul { @for b in bs { li { (b[reason_key].as_str().unwrap_or("")) } } }
                }
            }
            @if let Some(r) = d["reply_preview"].as_str() {
                p.muted { (v.t(T::ReplyPreview)) ": " (r) }
            }
        }
    }
}

/// Each parsed request's fields with where they came from: the rules, or the local model
/// (the fields the rules left empty or read differently).
fn parse_fields(v: &Viewer, r: &RfqRow) -> Markup {
    let requests = r.parse["requests"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let missing: Vec<&str> = r.parse["missing"]
        .as_array()
        .map(|m| m.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    html! {
        @for (i, q) in requests.iter().enumerate() {
            @let by_model = r.model_fields.get(i);
            table.fields {
                caption { (v.t(T::ParsedRequest)) " " (i + 1) }
                thead { tr { th { (v.t(T::Field)) } th { (v.t(T::FieldValue)) } th { (v.t(T::Method)) } } }
                tbody {
                    @for (field, value) in q.as_object().into_iter().flatten().filter(|(_, v)| !v.is_null()) {
                        @let model = by_model.is_some_and(|m| m.iter().any(|f| f == field));
                        tr {
                            td { code { (field) } }
                            td { (value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string())) }
                            td {
                                @if model {
                                    span.tag.model { (v.t(T::MethodModel)) }
                                } @else {
                                    span.tag { (v.t(T::MethodRule)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !missing.is_empty() {
            p.problem { (v.t(T::MissingFields)) ": " (missing.join(", ")) }
        }
    }
}

/// `GET /rfqs/{id}`: one request's trail.
pub async fn detail(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let d = s.blocking(move |a| a.rfq_get(&actor, &id)).await?;
    let r = &d.rfq;
    let body = html! {
        h1 { (v.t(T::Blotter)) " · " code { (r.id) } }
        section.card {
            table { tbody {
                tr { th { (v.t(T::Received)) } td { (time(&r.received_at)) } }
                tr { th { (v.t(T::Client)) } td { (r.client_id) } }
                tr { th { (v.t(T::Message)) } td { (r.text) } }
                tr { th { (v.t(T::Status)) } td { (badge(r.status.as_str())) } }
                tr { th { (v.t(T::ParsedBy)) } td { (r.path) } }
                tr { th { (v.t(T::Confidence)) } td { (number(r.confidence, 2)) } }
                @if let Some(e) = &d.error { tr { th { (v.t(T::Error)) } td { (e) } } }
            } }
        }
        div.grid2 {
            section.card {
                h2 { (v.t(T::Parse)) }
                (parse_fields(&v, r))
                details { summary { (v.t(T::Parse)) " (JSON)" } pre { (pretty(&r.parse)) } }
                @if r.problems.as_array().is_some_and(|p| !p.is_empty()) {
                    h2 { (v.t(T::Problems)) }
                    pre { (pretty(&r.problems)) }
                }
            }
            section.card {
                h2 { (v.t(T::Quotes)) }
                @for q in &d.quote_details {
                    div.card {
                        p {
                            (badge(q.summary.status.as_str())) " "
                            (q.summary.underlying.as_deref().unwrap_or("")) " "
                            (q.summary.structure.as_deref().unwrap_or(""))
                            @if let Some(ap) = &q.summary.approval_id {
                                " · " a href={"/approvals/" (ap)} { (v.t(T::Approvals)) }
                            }
                        }
                        @if let Some(e) = &q.summary.error { p { (v.t(T::Error)) ": " (e) } }
                        (quote_summary(&v, &q.detail))
                        details { summary { (v.t(T::Details)) " (JSON)" } pre { (pretty(&q.detail)) } }
                    }
                }
            }
        }
        h2 { (v.t(T::ChatTrail)) }
        table {
            thead { tr {
                th { (v.t(T::Time)) } th { (v.t(T::Direction)) } th { (v.t(T::Sender)) }
                th { (v.t(T::Message)) } th { (v.t(T::Status)) }
            } }
            tbody {
                @for m in &d.messages {
                    tr {
                        td { (time(&m.time)) }
                        td { (if m.direction.as_str() == "in" { v.t(T::Inbound) } else { v.t(T::Outbound) }) }
                        td { (m.sender.as_deref().unwrap_or("")) }
                        td { (m.text) }
                        td { (badge(m.status.as_str())) }
                    }
                }
            }
        }
    };
    Ok(page(&v, &r.id, Nav::Blotter, body))
}
