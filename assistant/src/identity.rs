//! Users and API tokens.
//!
//! A token is `dm_` followed by 32 random bytes in URL-safe base64. Only its SHA-256 is stored;
//! the plain token is returned once, at issue, and never again. A token authenticates as its
//! user with the user's current role; revoked or expired tokens and disabled users authenticate
//! as nobody.

use crate::Assistant;
use crate::error::{AssistantError, Result};
use crate::store::{Actor, AuditRecord, time};
use base64::Engine;
use policies::{DataClass, Principal, Role};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Unique name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// When created.
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
    /// Active API tokens.
    pub active_tokens: u32,
}

/// A token just issued: the only time its secret is visible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedToken {
    /// The token's id (safe to show and log; used to revoke it).
    pub id: String,
    /// The secret bearer token.
    pub token: String,
    /// Its user.
    pub user: String,
    /// The user's role.
    pub role: Role,
    /// Its label.
    pub label: String,
    /// When it stops working, if ever.
    pub expires_at: Option<String>,
}

/// The SHA-256 (hex) under which a token is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
}

impl Assistant {
    /// Creates a user.
    pub fn create_user(&self, actor: &Actor, name: &str, role: Role) -> Result<User> {
        if !valid_name(name) {
            return Err(AssistantError::Invalid(format!(
                "invalid user name {name:?}: use 1-64 characters from a-z, A-Z, 0-9, '.', '_', '-', '@'"
            )));
        }
        if crate::store::is_reserved_actor(name) {
            return Err(AssistantError::Invalid(format!(
                "user name {name:?} is reserved for the system's own audit entries ({})",
                crate::store::RESERVED_ACTORS.join(", ")
            )));
        }
        let now = time::fmt(time::now());
        self.store.write(actor, |tx| {
            let exists: Option<i64> = tx
                .conn()
                .query_row("SELECT id FROM users WHERE name = ?1", [name], |r| r.get(0))
                .optional()?;
            if exists.is_some() {
                return Err(AssistantError::Conflict(format!(
                    "user {name:?} already exists"
                )));
            }
            tx.conn().execute(
                "INSERT INTO users (name, role, created_at, created_by) VALUES (?1, ?2, ?3, ?4)",
                params![name, role.as_str(), now, actor.user],
            )?;
            tx.audit(AuditRecord {
                action: "user.create",
                object_kind: "user",
                object_id: name,
                class: DataClass::IMPORTANT,
                details: json!({"role": role}),
            })?;
            Ok(User {
                name: name.into(),
                role,
                created_at: now.clone(),
                created_by: actor.user.clone(),
                active_tokens: 0,
            })
        })
    }

    /// Lists users.
    pub fn list_users(&self) -> Result<Vec<User>> {
        let now = time::fmt(time::now());
        self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT u.name, u.role, u.created_at, u.created_by,
                    (SELECT COUNT(*) FROM tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL
                        AND (t.expires_at IS NULL OR t.expires_at > ?1))
                 FROM users u WHERE u.disabled_at IS NULL ORDER BY u.name",
            )?;
            let rows = stmt.query_map([&now], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (name, role, created_at, created_by, active_tokens) = row?;
                out.push(User {
                    name,
                    role: parse_role(&role)?,
                    created_at,
                    created_by,
                    active_tokens,
                });
            }
            Ok(out)
        })
    }

    /// Issues a token for `user`; the secret is in the result and nowhere else.
    pub fn issue_token(
        &self,
        actor: &Actor,
        user: &str,
        label: &str,
        ttl: Option<::time::Duration>,
    ) -> Result<IssuedToken> {
        let n = label.chars().count();
        if n == 0 || n > 100 || label.chars().any(char::is_control) {
            return Err(AssistantError::Invalid(format!(
                "token label: must be 1 to 100 characters without control characters (got {n} \
                 characters)"
            )));
        }
        let secret: [u8; 32] = rand::random();
        let token = format!(
            "dm_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        );
        let id = format!("tok_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let now = time::now();
        let expires_at = ttl.map(|d| time::fmt(now + d));
        self.store.write(actor, |tx| {
            let row: Option<(i64, String)> = tx
                .conn()
                .query_row(
                    "SELECT id, role FROM users WHERE name = ?1 AND disabled_at IS NULL",
                    [user],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((user_id, role)) = row else {
                return Err(AssistantError::NotFound {
                    kind: "user",
                    id: user.into(),
                });
            };
            tx.conn().execute(
                "INSERT INTO tokens (id, user_id, hash, label, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id,
                    user_id,
                    token_hash(&token),
                    label,
                    time::fmt(now),
                    expires_at
                ],
            )?;
            tx.audit(AuditRecord {
                action: "token.issue",
                object_kind: "token",
                object_id: &id,
                class: DataClass::IMPORTANT,
                details: json!({"user": user, "label": label, "expires_at": expires_at}),
            })?;
            Ok(IssuedToken {
                id: id.clone(),
                token: token.clone(),
                user: user.into(),
                role: parse_role(&role)?,
                label: label.into(),
                expires_at: expires_at.clone(),
            })
        })
    }

    /// Revokes a token by id. Revoking a revoked token is a no-op.
    pub fn revoke_token(&self, actor: &Actor, id: &str) -> Result<()> {
        let now = time::fmt(time::now());
        self.store.write(actor, |tx| {
            let revoked: Option<Option<String>> = tx
                .conn()
                .query_row("SELECT revoked_at FROM tokens WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            match revoked {
                None => Err(AssistantError::NotFound {
                    kind: "token",
                    id: id.into(),
                }),
                Some(Some(_)) => Ok(()),
                Some(None) => {
                    tx.conn().execute(
                        "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2",
                        params![now, id],
                    )?;
                    tx.audit(AuditRecord {
                        action: "token.revoke",
                        object_kind: "token",
                        object_id: id,
                        class: DataClass::IMPORTANT,
                        details: json!({}),
                    })?;
                    Ok(())
                }
            }
        })
    }

    /// Revokes every active token of `user` carrying `label` (used by `deskmate up`, which issues a
    /// fresh admin token at each start).
    pub fn revoke_tokens_labelled(&self, actor: &Actor, user: &str, label: &str) -> Result<usize> {
        let ids: Vec<String> = self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT t.id FROM tokens t JOIN users u ON u.id = t.user_id
                 WHERE u.name = ?1 AND t.label = ?2 AND t.revoked_at IS NULL",
            )?;
            let ids = stmt
                .query_map([user, label], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok::<_, AssistantError>(ids)
        })?;
        for id in &ids {
            self.revoke_token(actor, id)?;
        }
        Ok(ids.len())
    }

    /// The principal a bearer token stands for, or `None` if it is unknown, revoked or expired.
    pub fn authenticate(&self, token: &str) -> Result<Option<Principal>> {
        if !token.starts_with("dm_") || token.len() > 128 {
            return Ok(None);
        }
        let now = time::fmt(time::now());
        let row: Option<(String, String)> = self.store.read(|c| {
            c.query_row(
                "SELECT u.name, u.role FROM tokens t JOIN users u ON u.id = t.user_id
                 WHERE t.hash = ?1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL
                   AND (t.expires_at IS NULL OR t.expires_at > ?2)",
                params![token_hash(token), now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })?;
        row.map(|(user, role)| {
            Ok(Principal {
                user,
                role: parse_role(&role)?,
            })
        })
        .transpose()
    }

    /// Whether any user with role admin exists.
    pub fn has_admin(&self) -> Result<bool> {
        Ok(self.store.read(|c| {
            c.query_row(
                "SELECT EXISTS(SELECT 1 FROM users WHERE role = 'admin' AND disabled_at IS NULL)",
                [],
                |r| r.get(0),
            )
        })?)
    }
}

pub(crate) fn parse_role(s: &str) -> Result<Role> {
    s.parse().map_err(|_| {
        AssistantError::Store(crate::store::StoreError::Corrupt {
            table: "users",
            message: format!("unknown role {s:?}"),
        })
    })
}
