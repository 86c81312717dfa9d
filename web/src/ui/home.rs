//! The home page: what waits for the viewer (approvals they may decide, by kind; their recent
//! jobs), and where their role's work is.

use super::i18n::{T, time};
use super::{Nav, Viewer, badge, page};
use crate::error::AppError;
use crate::state::AppState;
use assistant::approvals::ApprovalFilter;
use axum::extract::State;
use axum::response::Response;
use maud::html;
use policies::{ApprovalState, Permission};
use std::collections::BTreeMap;

/// `GET /`.
pub async fn home(State(s): State<AppState>, v: Viewer) -> Result<Response, AppError> {
    let (actor, principal) = (v.actor.clone(), v.principal.clone());
    let can_read = v.can(Permission::ApprovalsRead);
    let can_jobs = v.can(Permission::JobsRead);
    let (by_kind, jobs) = s
        .blocking(move |a| {
            let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
            if can_read {
                let f = ApprovalFilter {
                    state: Some(ApprovalState::Pending),
                    required_role: Some(principal.role),
                    limit: Some(1000),
                    ..ApprovalFilter::default()
                };
                for ap in a.list_approvals(&actor, &f)? {
                    *by_kind.entry(ap.kind.as_str().to_string()).or_default() += 1;
                }
            }
            let jobs = if can_jobs {
                a.list_jobs(&actor, 10)?
            } else {
                Vec::new()
            };
            Ok::<_, assistant::AssistantError>((by_kind, jobs))
        })
        .await?;
    let body = html! {
        h1 { (v.t(T::WaitingForYou)) }
        div.grid2 {
            @if can_read {
                section.card {
                    h2 { (v.t(T::PendingApprovals)) }
                    @if by_kind.is_empty() {
                        p.muted { (v.t(T::NothingWaiting)) }
                    } @else {
                        table {
                            thead { tr { th { (v.t(T::Kind)) } th.num { (v.t(T::Count)) } } }
                            tbody {
                                @for (kind, n) in &by_kind {
                                    tr {
                                        td { a href={"/approvals?state=pending&kind=" (kind)} { (kind) } }
                                        td.num { (n) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if can_jobs {
                section.card {
                    h2 { (v.t(T::RecentJobs)) }
                    @if jobs.is_empty() {
                        p.muted { (v.t(T::NoJobs)) }
                    } @else {
                        table {
                            thead { tr {
                                th { (v.t(T::Job)) } th { (v.t(T::Kind)) } th { (v.t(T::State)) }
                                th.num { (v.t(T::Progress)) } th { (v.t(T::Created)) }
                            } }
                            tbody {
                                @for j in &jobs {
                                    tr {
                                        td { code { (j.id) } }
                                        td { (j.kind.as_str()) }
                                        td { (badge(j.state.as_str())) }
                                        td.num { (super::i18n::percent(j.progress, 0)) }
                                        td { (time(&j.created_at)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&v, v.t(T::Home), Nav::Home, body))
}
