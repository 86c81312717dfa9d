//! Administration: users (create, set a password, issue an API token), browser sessions
//! (list, revoke) and the audit log (read with the viewer's clearance, verify the chain).

use super::i18n::{T, time};
use super::{CsrfForm, Nav, Viewer, badge, page, pretty, see_other};
use crate::error::AppError;
use crate::state::AppState;
use assistant::audit::AuditQuery;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use policies::Role;
use serde::Deserialize;

fn admin_tabs(v: &Viewer) -> Markup {
    html! {
        p.langs {
            a href="/admin/users" { (v.t(T::Users)) }
            a href="/admin/sessions" { (v.t(T::Sessions)) }
            a href="/admin/audit" { (v.t(T::AuditLog)) }
            a href="/admin/chats" { (v.t(T::ChatMappings)) }
            a href="/admin/system" { (v.t(T::System)) }
        }
    }
}

/// A flash message.
#[derive(Debug, Deserialize, Default)]
pub struct Done {
    /// What was done.
    pub done: Option<String>,
}

/// `GET /admin/users`.
pub async fn users(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<Done>,
) -> Result<Response, AppError> {
    let list = s.blocking(|a| a.list_users()).await?;
    let body = html! {
        h1 { (v.t(T::Users)) }
        (admin_tabs(&v))
        @if let Some(d) = &q.done { div.flash.ok role="status" { (v.t(T::Saved)) " " (d) } }
        table {
            thead { tr {
                th { (v.t(T::UserName)) } th { (v.t(T::Role)) } th.num { (v.t(T::ActiveTokens)) }
                th { (v.t(T::Created)) } th { (v.t(T::CreatedBy)) } th { (v.t(T::SetPassword)) } th { (v.t(T::IssueToken)) }
            } }
            tbody {
                @for u in &list {
                    tr data-id=(u.name) {
                        td { (u.name) } td { (u.role.as_str()) } td.num { (u.active_tokens) }
                        td { (time(&u.created_at)) } td { (u.created_by) }
                        td {
                            form.inline method="post" action={"/admin/users/" (u.name) "/password"} {
                                (v.csrf_field())
                                input type="password" name="password" minlength="12" required autocomplete="new-password" aria-label=(v.t(T::NewPassword));
                                button.secondary type="submit" { (v.t(T::SetPassword)) }
                            }
                        }
                        td {
                            form.inline method="post" action={"/admin/users/" (u.name) "/tokens"} {
                                (v.csrf_field())
                                input type="text" name="label" required maxlength="100" aria-label=(v.t(T::Label)) placeholder=(v.t(T::Label));
                                button.secondary type="submit" { (v.t(T::Issue)) }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (v.t(T::CreateUser)) }
            form.inline method="post" action="/admin/users" {
                (v.csrf_field())
                label for="new-name" { (v.t(T::UserName)) }
                input #new-name type="text" name="name" required maxlength="64" pattern="[A-Za-z0-9._@-]+";
                label for="new-role" { (v.t(T::Role)) }
                select #new-role name="role" {
                    @for r in Role::ALL { option value=(r.as_str()) { (r.as_str()) } }
                }
                label for="new-password" { (v.t(T::NewPassword)) }
                input #new-password type="password" name="password" minlength="12" autocomplete="new-password";
                button type="submit" { (v.t(T::Create)) }
            }
        }
    };
    Ok(page(&v, v.t(T::Users), Nav::Admin, body))
}

/// The create-user form.
#[derive(Debug, Deserialize)]
pub struct CreateUserForm {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// An initial password (optional).
    #[serde(default)]
    pub password: String,
}

/// `POST /admin/users`.
pub async fn create_user(
    State(s): State<AppState>,
    v: Viewer,
    CsrfForm(f): CsrfForm<CreateUserForm>,
) -> Result<Response, AppError> {
    let role: Role = f.role.parse().map_err(|_| AppError::BadRequest {
        code: "invalid_request",
        message: format!("role {:?}: not a role", f.role),
    })?;
    let actor = v.actor.clone();
    let name = f.name.clone();
    s.blocking(move |a| {
        // Checked before the user exists, so a weak password creates nothing.
        if !f.password.is_empty() {
            assistant::sessions::check_password(&f.name, &f.password)?;
        }
        a.create_user(&actor, &f.name, role)?;
        if !f.password.is_empty() {
            a.set_password(&actor, &f.name, &f.password)?;
        }
        Ok::<_, assistant::AssistantError>(())
    })
    .await?;
    Ok(see_other(&format!("/admin/users?done={name}")))
}

/// The set-password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    /// The new password.
    pub password: String,
}

/// `POST /admin/users/{name}/password`.
pub async fn set_password(
    State(s): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
    CsrfForm(f): CsrfForm<PasswordForm>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let n = name.clone();
    s.blocking(move |a| a.set_password(&actor, &n, &f.password))
        .await?;
    Ok(see_other(&format!("/admin/users?done={name}")))
}

/// The issue-token form.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    /// The token's label.
    pub label: String,
}

/// `POST /admin/users/{name}/tokens`: the token, shown once on the page that answers.
pub async fn issue_token(
    State(s): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
    CsrfForm(f): CsrfForm<TokenForm>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let issued = s
        .blocking(move |a| a.issue_token(&actor, &name, &f.label, None))
        .await?;
    let body = html! {
        h1 { (v.t(T::IssueToken)) }
        (admin_tabs(&v))
        section.card {
            p { strong { (issued.user) } " · " (issued.label) " · " code { (issued.id) } }
            p.flash.ok { (v.t(T::TokenShownOnce)) }
            p.secret { (issued.token) }
        }
    };
    Ok(page(&v, v.t(T::IssueToken), Nav::Admin, body))
}

/// `GET /admin/sessions`.
pub async fn sessions(State(s): State<AppState>, v: Viewer) -> Result<Response, AppError> {
    let list = s.blocking(|a| a.list_sessions()).await?;
    let body = html! {
        h1 { (v.t(T::Sessions)) }
        (admin_tabs(&v))
        table {
            thead { tr {
                th { (v.t(T::UserName)) } th { (v.t(T::State)) } th { (v.t(T::Created)) }
                th { (v.t(T::LastSeen)) } th { (v.t(T::Expires)) } th { (v.t(T::Address)) }
                th { (v.t(T::Browser)) } th {}
            } }
            tbody {
                @for x in &list {
                    tr data-id=(x.id) {
                        td { (x.user) }
                        td { @if x.revoked_at.is_some() { (badge("revoked")) } @else { (badge("ok")) } }
                        td { (time(&x.created_at)) } td { (time(&x.last_seen_at)) } td { (time(&x.expires_at)) }
                        td { (x.address) } td.muted { (x.user_agent) }
                        td {
                            @if x.revoked_at.is_none() {
                                form method="post" action={"/admin/sessions/" (x.id) "/revoke"} {
                                    (v.csrf_field())
                                    button.danger type="submit" { (v.t(T::Revoke)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&v, v.t(T::Sessions), Nav::Admin, body))
}

/// `POST /admin/sessions/{id}/revoke`.
pub async fn revoke_session(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    s.blocking(move |a| a.revoke_session(&actor, &id)).await?;
    Ok(see_other("/admin/sessions"))
}

/// The audit page's query.
#[derive(Debug, Deserialize, Default)]
pub struct AuditPageQuery {
    /// The first sequence number shown.
    pub from_seq: Option<u64>,
    /// Verify the chain.
    pub verify: Option<String>,
}

/// `GET /admin/audit`: entries as the viewer's clearance allows, 100 at a time, newest page
/// last; `?verify=1` also verifies the chain.
pub async fn audit(
    State(s): State<AppState>,
    v: Viewer,
    Query(q): Query<AuditPageQuery>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    let verify = q.verify.is_some();
    let (entries, head, report) = s
        .blocking(move |a| {
            let head = a.store().audit_head()?.map(|h| h.seq).unwrap_or(0);
            let from_seq = q.from_seq.unwrap_or(head.saturating_sub(99).max(1));
            let entries = a.read_audit(
                &actor,
                &AuditQuery {
                    from_seq: Some(from_seq),
                    limit: Some(100),
                    ..AuditQuery::default()
                },
            )?;
            let report = if verify {
                Some(a.store().verify_audit()?)
            } else {
                None
            };
            Ok::<_, assistant::AssistantError>((entries, head, report))
        })
        .await?;
    let first = entries.first().map(|e| e.entry.seq).unwrap_or(1);
    let body = html! {
        h1 { (v.t(T::AuditLog)) }
        (admin_tabs(&v))
        p.inline {
            a.button href="/admin/audit?verify=1" { (v.t(T::Verify)) } " "
            a href={"/v1/audit?from_seq=" (first) "&limit=1000"} { (v.t(T::Export)) }
            " · head " (head)
        }
        @if let Some(r) = &report {
            @if r.ok() { div.flash.ok { (v.t(T::ChainOk)) " (" (r.entries_verified) ")" } }
            @else { div.flash.bad { (v.t(T::ChainBroken)) " " (pretty(&serde_json::to_value(&r.first_break).unwrap_or_default())) } }
        }
        table {
            thead { tr {
                th.num { (v.t(T::Seq)) } th { (v.t(T::Time)) } th { (v.t(T::Actor)) }
                th { (v.t(T::Action)) } th { (v.t(T::Object)) } th { (v.t(T::Classification)) } th { (v.t(T::Details)) }
            } }
            tbody {
                @for e in &entries {
                    tr data-id=(e.entry.seq) {
                        td.num { (e.entry.seq) } td { (time(&e.entry.time)) }
                        td { (e.entry.actor) " (" (e.entry.role) ")" }
                        td { (e.entry.action) } td { (e.entry.object_kind) " " code { (e.entry.object_id) } }
                        td { (e.entry.classification) }
                        td { code { (e.entry.details.to_string()) } }
                    }
                }
            }
        }
        @if first > 1 {
            p { a href={"/admin/audit?from_seq=" (first.saturating_sub(100).max(1))} { (v.t(T::Older)) } }
        }
    };
    Ok(page(&v, v.t(T::AuditLog), Nav::Admin, body))
}

/// `GET /admin/chats`: the RFQ desk's chat → client mappings, with forms to add and remove.
pub async fn chats(State(s): State<AppState>, v: Viewer) -> Result<Response, AppError> {
    let list = s.blocking(|a| a.rfq_chats()).await?;
    let unmapped = s.blocking(|a| a.rfq_unmapped_chats()).await?;
    let body = html! {
        h1 { (v.t(T::ChatMappings)) }
        (admin_tabs(&v))
        @if !unmapped.is_empty() {
            section.card.alert #unmapped-chats {
                h2 { (v.t(T::UnmappedChats)) }
                p { (v.t(T::UnmappedHint)) }
                table {
                    thead { tr {
                        th { (v.t(T::Channel)) } th { (v.t(T::Chat)) } th { (v.t(T::Messages)) }
                        th { (v.t(T::LastSeen)) } th { (v.t(T::Client)) }
                    } }
                    tbody {
                        @for u in &unmapped {
                            tr {
                                td { (u.channel) } td { code { (u.chat_id) } } td { (u.messages) }
                                td { (time(&u.last_seen)) " · " (u.last_sender.as_deref().unwrap_or("")) }
                                td {
                                    form.inline method="post" action="/admin/chats" {
                                        (v.csrf_field())
                                        input type="hidden" name="channel" value=(u.channel);
                                        input type="hidden" name="chat_id" value=(u.chat_id);
                                        input type="text" name="client_id" required maxlength="64" aria-label=(v.t(T::Client));
                                        button type="submit" { (v.t(T::Map)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if list.is_empty() {
            p.muted #chats-empty { (v.t(T::NoChatMappings)) }
        }
        table {
            thead { tr {
                th { (v.t(T::Channel)) } th { (v.t(T::Chat)) } th { (v.t(T::Client)) } th { (v.t(T::Label)) }
                th { (v.t(T::Created)) } th {}
            } }
            tbody {
                @for m in &list {
                    tr data-id=(m.id) {
                        td { (m.channel) } td { code { (m.chat_id) } } td { (m.client_id) }
                        td { (m.label.as_deref().unwrap_or("")) }
                        td { (time(&m.created_at)) " · " (m.created_by) }
                        td {
                            form method="post" action={"/admin/chats/" (m.id) "/remove"} data-confirm=(v.t(T::Revoke)) {
                                (v.csrf_field())
                                button.danger type="submit" { (v.t(T::Delete)) }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (v.t(T::MapChat)) }
            form.inline method="post" action="/admin/chats" {
                (v.csrf_field())
                label for="channel" { (v.t(T::Channel)) }
                input #channel type="text" name="channel" required maxlength="64" placeholder="telegram · wecom";
                label for="chat_id" { (v.t(T::Chat)) }
                input #chat_id type="text" name="chat_id" required maxlength="128";
                label for="client_id" { (v.t(T::Client)) }
                input #client_id type="text" name="client_id" required maxlength="64";
                label for="label" { (v.t(T::Label)) }
                input #label type="text" name="label" maxlength="100";
                button type="submit" { (v.t(T::Create)) }
            }
        }
    };
    Ok(page(&v, v.t(T::ChatMappings), Nav::Admin, body))
}

/// The chat-mapping form.
#[derive(Debug, Deserialize)]
pub struct ChatForm {
    /// Channel (`telegram`, a webhook channel).
    pub channel: String,
    /// The chat's id in that channel.
    pub chat_id: String,
    /// The client it belongs to.
    pub client_id: String,
    /// A label.
    #[serde(default)]
    pub label: String,
}

/// `POST /admin/chats`.
pub async fn set_chat(
    State(s): State<AppState>,
    v: Viewer,
    CsrfForm(f): CsrfForm<ChatForm>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    s.blocking(move |a| {
        let label = Some(f.label.trim()).filter(|l| !l.is_empty());
        a.rfq_chat_set(
            &actor,
            f.channel.trim(),
            f.chat_id.trim(),
            f.client_id.trim(),
            label,
        )
    })
    .await?;
    Ok(see_other("/admin/chats"))
}

/// `POST /admin/chats/{id}/remove`.
pub async fn remove_chat(
    State(s): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, AppError> {
    let actor = v.actor.clone();
    s.blocking(move |a| a.rfq_chat_remove(&actor, &id)).await?;
    Ok(see_other("/admin/chats"))
}

/// `GET /admin/system`: health (database, audit anchor and chain head, requests in flight),
/// the metrics as Prometheus reads them, and the effective configuration with secrets masked.
pub async fn system(State(s): State<AppState>, v: Viewer) -> Result<Response, AppError> {
    let (db_ok, head, schema) = s
        .blocking(|a| {
            let ok = a.store().ping().is_ok() && a.store().anchor().read().is_ok();
            let head = a
                .store()
                .audit_head()
                .ok()
                .flatten()
                .map(|h| h.seq)
                .unwrap_or(0);
            let schema = a.store().schema_version().unwrap_or(0);
            (ok, head, schema)
        })
        .await;
    let config = serde_json::to_value(s.assistant.config.masked())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let limit = s.assistant.config.server.concurrency_limit;
    let metrics = s.metrics.render(&[]);
    let body = html! {
        h1 { (v.t(T::System)) }
        (admin_tabs(&v))
        section.card {
            h2 { (v.t(T::Health)) }
            table { tbody {
                tr { th { (v.t(T::Database)) } td { @if db_ok { (badge("ok")) } @else { (badge("failed")) } " · schema " (schema) } }
                tr { th { (v.t(T::AuditLog)) } td { "head " (head) } }
                tr { th { (v.t(T::InFlight)) } td.num { (s.in_flight()) " / " (limit) } }
            } }
        }
        section.card {
            h2 { (v.t(T::Metrics)) }
            pre { (metrics) }
        }
        section.card {
            h2 { (v.t(T::Configuration)) }
            p.muted { (v.t(T::SecretsMasked)) }
            pre { (pretty(&config)) }
        }
    };
    Ok(page(&v, v.t(T::System), Nav::Admin, body))
}
