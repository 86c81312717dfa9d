//! `deskmate users` and `deskmate tokens`: local administration on the data dir.
//!
//! These act directly on the data dir as the operator (recorded as actor `cli-operator` with
//! role admin). Whoever can run them can also read the database file; they are meant for the
//! machine's administrators.

use super::{open, print_json};
use assistant::config::LoadedConfig;
use assistant::store::Actor;
use clap::Subcommand;
use policies::{Principal, Role};

/// The actor for local administration.
pub fn operator() -> Actor {
    Actor::user(
        &Principal {
            user: assistant::store::OPERATOR_ACTOR.into(),
            role: Role::Admin,
        },
        Some("cli".into()),
    )
}

/// User commands.
#[derive(Debug, Subcommand)]
pub enum UsersCmd {
    /// Create a user.
    Add {
        /// Unique name.
        name: String,
        /// The user's role.
        #[arg(long, value_enum)]
        role: super::choice::RoleArg,
        /// Also issue a token and print it (once).
        #[arg(long)]
        token: bool,
        /// Print `{"user", "token"}` as JSON (the token, with its secret, only with --token).
        #[arg(long)]
        json: bool,
    },
    /// List users (a table; `--json` for machines).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokensCmd {
    /// Issue a token for a user; it is printed once and stored only as a hash.
    Issue {
        /// The user.
        user: String,
        /// A label to recognise it by.
        #[arg(long, default_value = "cli")]
        label: String,
        /// Lifetime in days (default: no expiry).
        #[arg(long)]
        ttl_days: Option<u32>,
        /// Print the token with its id, user, role and expiry as JSON (instead of the bare
        /// token).
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (`tok_…`).
    Revoke {
        /// The token id.
        id: String,
    },
}

/// Runs a user command.
pub fn users(cmd: UsersCmd, loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    match cmd {
        UsersCmd::Add {
            name,
            role,
            token,
            json,
        } => {
            let u = a.create_user(&operator(), &name, role.into())?;
            if json {
                let t = match token {
                    true => Some(a.issue_token(&operator(), &name, "cli", None)?),
                    false => None,
                };
                super::print_json(&serde_json::json!({"user": u, "token": t}));
                return Ok(());
            }
            let ui = super::ui::Ui::from_env();
            println!(
                "{}",
                ui.t(
                    &format!("created user {} with role {}", u.name, u.role),
                    &format!("已创建用户 {}，角色 {}", u.name, u.role)
                )
            );
            if token {
                let t = a.issue_token(&operator(), &name, "cli", None)?;
                println!(
                    "{} {}",
                    ui.t(
                        "token (shown once, store it now):",
                        "令牌（仅显示一次，请立即保存）："
                    ),
                    t.token
                );
                println!(
                    "{} {}",
                    ui.t("token id (to revoke):", "令牌 ID（用于吊销）："),
                    t.id
                );
            }
        }
        UsersCmd::List { json } => {
            let users = a.list_users()?;
            if json {
                print_json(&users);
            } else {
                let ui = super::ui::Ui::from_env();
                let rows: Vec<Vec<String>> = users
                    .iter()
                    .map(|u| {
                        vec![
                            u.name.clone(),
                            u.role.as_str().to_string(),
                            u.active_tokens.to_string(),
                            u.created_at.get(..10).unwrap_or(&u.created_at).to_string(),
                            u.created_by.clone(),
                        ]
                    })
                    .collect();
                ui.table(
                    &[
                        ui.t("NAME", "用户名"),
                        ui.t("ROLE", "角色"),
                        ui.t("TOKENS", "令牌数"),
                        ui.t("CREATED", "创建日期"),
                        ui.t("BY", "创建人"),
                    ],
                    &rows,
                );
            }
        }
    }
    Ok(())
}

/// Runs a token command.
pub fn tokens(cmd: TokensCmd, loaded: LoadedConfig) -> anyhow::Result<()> {
    let a = open(&loaded)?;
    match cmd {
        TokensCmd::Issue {
            user,
            label,
            ttl_days,
            json,
        } => {
            let ttl = ttl_days.map(|d| time::Duration::days(i64::from(d)));
            let t = a.issue_token(&operator(), &user, &label, ttl)?;
            if json {
                super::print_json(&t);
                return Ok(());
            }
            println!("{}", t.token);
            eprintln!(
                "token {} for {} ({}), {}; shown once, store it now",
                t.id,
                t.user,
                t.role,
                t.expires_at
                    .map(|e| format!("expires {e}"))
                    .unwrap_or_else(|| "no expiry".into())
            );
        }
        TokensCmd::Revoke { id } => {
            a.revoke_token(&operator(), &id)?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
