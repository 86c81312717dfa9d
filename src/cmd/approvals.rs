//! `deskmate approvals`: the approval queue from the command line.
//!
//! Decisions name the deciding user with `--as USER`; that user's role must be the request's
//! required role (or admin), and four-eyes applies exactly as over HTTP.

use super::choice::{RoleArg, State};
use super::{open, print_json};
use anyhow::Context;
use assistant::Assistant;
use assistant::approvals::ApprovalFilter;
use assistant::config::LoadedConfig;
use assistant::store::Actor;
use clap::Subcommand;
use policies::{ApprovalState, Principal, Role};
use std::path::PathBuf;

/// Approval commands.
#[derive(Debug, Subcommand)]
pub enum ApprovalsCmd {
    /// List requests (newest first): a table, `--json` for machines, `--ids` for scripts.
    List {
        /// Only requests in this state.
        #[arg(long, value_enum)]
        state: Option<State>,
        /// Artifact kind: quote, extraction, confirmation_draft, model_change, or a caller's own.
        #[arg(long)]
        kind: Option<assistant::approvals::ApprovalKind>,
        /// The deciding role.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON (every field and payload).
        #[arg(long, conflicts_with = "ids")]
        json: bool,
        /// Print only the ids, one per line (for scripts:
        /// `deskmate approvals approve "$(deskmate approvals list --state pending --ids | head -1)" …`).
        #[arg(long, short = 'q')]
        ids: bool,
    },
    /// Show one request with every version (JSON).
    Show {
        /// The id (`apr_…`).
        id: String,
    },
    /// Approve a request.
    Approve {
        /// The id.
        id: String,
        /// The deciding user.
        #[arg(long = "as")]
        user: String,
        /// A note kept with the decision.
        #[arg(long)]
        note: Option<String>,
        /// Print the decided request as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reject a request.
    Reject {
        /// The id.
        id: String,
        /// The deciding user.
        #[arg(long = "as")]
        user: String,
        /// Why (required).
        #[arg(long)]
        reason: String,
        /// Print the decided request as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace the payload of a pending request with an edited JSON file.
    Edit {
        /// The id.
        id: String,
        /// The editing user.
        #[arg(long = "as")]
        user: String,
        /// The edited payload, whole, as a JSON file.
        #[arg(long)]
        payload: PathBuf,
        /// Why it was edited.
        #[arg(long)]
        note: Option<String>,
    },
}

fn principal(a: &Assistant, user: &str) -> anyhow::Result<(Principal, Actor)> {
    let u = a
        .list_users()?
        .into_iter()
        .find(|u| u.name == user)
        .with_context(|| format!("no active user {user:?}"))?;
    let p = Principal {
        user: u.name,
        role: u.role,
    };
    let actor = Actor::user(&p, Some("cli".into()));
    Ok((p, actor))
}

/// Runs an approval command.
pub fn run(cmd: ApprovalsCmd, loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    let operator = super::admin::operator();
    match cmd {
        ApprovalsCmd::List {
            state,
            kind,
            role,
            limit,
            json,
            ids,
        } => {
            let f = ApprovalFilter {
                state: state.map(ApprovalState::from),
                kind,
                required_role: role.map(Role::from),
                maker: None,
                limit: Some(limit),
            };
            let list = a.list_approvals(&operator, &f)?;
            if json {
                print_json(&list);
            } else if ids {
                for r in &list {
                    println!("{}", r.id);
                }
            } else {
                print_list(
                    &super::ui::Ui::from_env(),
                    &list,
                    f.state.is_some() || f.kind.is_some() || f.required_role.is_some(),
                );
            }
        }
        ApprovalsCmd::Show { id } => print_json(&a.get_approval(&operator, &id)?),
        ApprovalsCmd::Approve {
            id,
            user,
            note,
            json,
        } => {
            let (p, actor) = principal(&a, &user)?;
            let r = a.approve(&actor, &p, &id, note.as_deref())?;
            decided(&r, json);
        }
        ApprovalsCmd::Reject {
            id,
            user,
            reason,
            json,
        } => {
            let (p, actor) = principal(&a, &user)?;
            let r = a.reject(&actor, &p, &id, &reason)?;
            decided(&r, json);
        }
        ApprovalsCmd::Edit {
            id,
            user,
            payload,
            note,
        } => {
            let (p, actor) = principal(&a, &user)?;
            let text = std::fs::read_to_string(&payload)
                .with_context(|| format!("cannot read {}", payload.display()))?;
            let value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", payload.display()))?;
            print_json(&a.edit_approval(&actor, &p, &id, value, note.as_deref())?);
        }
    }
    Ok(())
}

/// The table of `approvals list`, or what to do when it is empty.
fn print_list(ui: &super::ui::Ui, list: &[assistant::approvals::Approval], filtered: bool) {
    if list.is_empty() {
        if filtered {
            ui.empty(
                (
                    "No approval requests match these filters.",
                    "没有符合条件的审批请求。",
                ),
                (
                    "Drop --state/--kind/--role to see every request.",
                    "去掉 --state/--kind/--role 可查看全部请求。",
                ),
            );
        } else {
            ui.empty(
                ("No approval requests yet: quotes, extractions, drafts and catalogue changes queue here.", "暂无审批请求：报价、要素抽取、合同草稿和规则目录变更会在此排队。"),
                ("Queue a quote with `deskmate rfq quote \"…\" --client C`, or open the Approvals page of the web app.", "可用 `deskmate rfq quote \"…\" --client C` 生成一笔报价，或打开网页版的“审批”页面。"),
            );
        }
        return;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            let state = r.state.as_str();
            vec![
                r.id.clone(),
                r.kind.as_str().to_string(),
                match state {
                    "pending" => ui.warn(state),
                    "approved" => ui.good(state),
                    "rejected" => ui.bad(state),
                    _ => state.to_string(),
                },
                r.required_role.as_str().to_string(),
                r.created_at
                    .get(..19)
                    .unwrap_or(&r.created_at)
                    .replace('T', " "),
                r.title.clone(),
            ]
        })
        .collect();
    ui.table(
        &[
            "ID",
            ui.t("KIND", "类型"),
            ui.t("STATE", "状态"),
            ui.t("DECIDES", "审批角色"),
            ui.t("CREATED (UTC)", "创建时间（UTC）"),
            ui.t("TITLE", "标题"),
        ],
        &rows,
    );
}

/// One line for a decision (`--json`: the request).
fn decided(d: &assistant::approvals::Decided, json: bool) {
    if json {
        print_json(d);
        return;
    }
    let r = &d.approval;
    let ui = super::ui::Ui::from_env();
    println!(
        "{} {}: {} {} {}",
        r.id,
        r.title,
        r.state.as_str(),
        ui.t("by", "决定人"),
        r.decided_by.as_deref().unwrap_or("-")
    );
    if !d.changed {
        println!(
            "  {}",
            ui.t(
                "(already decided so; nothing changed)",
                "（此前已作相同决定，未作更改）"
            )
        );
    }
    if let Some(d) = &r.delivery {
        println!(
            "  {} {} {}{}",
            ui.t("delivery:", "发送："),
            d.object_id,
            d.status,
            d.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
    }
}
