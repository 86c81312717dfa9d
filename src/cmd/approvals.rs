//! `deskmate approvals`: the approval queue from the command line.
//!
//! Decisions name the deciding user with `--as USER`; that user's role must be the request's
//! required role (or admin), and four-eyes applies exactly as over HTTP.

use super::{open, print_json};
use anyhow::Context;
use assistant::Assistant;
use assistant::approvals::ApprovalFilter;
use assistant::config::LoadedConfig;
use assistant::store::Actor;
use clap::Subcommand;
use policies::{ApprovalState, Principal, Role};
use std::path::PathBuf;
use std::process::ExitCode;

/// Approval commands.
#[derive(Debug, Subcommand)]
pub enum ApprovalsCmd {
    /// List requests (newest first) as JSON.
    List {
        /// pending, approved, rejected, expired or superseded.
        #[arg(long)]
        state: Option<String>,
        /// Artifact kind.
        #[arg(long)]
        kind: Option<assistant::approvals::ApprovalKind>,
        /// The deciding role.
        #[arg(long)]
        role: Option<Role>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one request with every version.
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
pub fn run(cmd: ApprovalsCmd, loaded: LoadedConfig) -> anyhow::Result<ExitCode> {
    let a = open(&loaded)?;
    let operator = super::admin::operator();
    match cmd {
        ApprovalsCmd::List {
            state,
            kind,
            role,
            limit,
        } => {
            let state = state
                .map(|s| {
                    ApprovalState::parse(&s).with_context(|| {
                        format!(
                            "--state {s:?}: use pending, approved, rejected, expired or superseded"
                        )
                    })
                })
                .transpose()?;
            let f = ApprovalFilter {
                state,
                kind,
                required_role: role,
                maker: None,
                limit: Some(limit),
            };
            print_json(&a.list_approvals(&operator, &f)?);
        }
        ApprovalsCmd::Show { id } => print_json(&a.get_approval(&operator, &id)?),
        ApprovalsCmd::Approve { id, user, note } => {
            let (p, actor) = principal(&a, &user)?;
            print_json(&a.approve(&actor, &p, &id, note.as_deref())?);
        }
        ApprovalsCmd::Reject { id, user, reason } => {
            let (p, actor) = principal(&a, &user)?;
            print_json(&a.reject(&actor, &p, &id, &reason)?);
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
    Ok(ExitCode::SUCCESS)
}
