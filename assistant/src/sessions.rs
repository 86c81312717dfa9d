//! Passwords and browser sessions for the web application.
//!
//! An admin sets a user's password ([`Assistant::set_password`]; argon2id, stored as a PHC
//! string, never the password). A user signs in with name and password
//! ([`Assistant::sign_in`]) and gets a session: a secret for the cookie (`dms_` and 32 random
//! bytes; only its SHA-256 is stored), an expiry (`server.session_hours`) and a form token that
//! every state-changing form must carry. Failed sign-ins are counted per user name and per
//! client address; after `server.sign_in_max_failures` within `server.sign_in_window_mins`
//! further attempts are refused unchecked until the window passes. Unknown names and wrong
//! passwords get the same answer after the same work, so sign-in does not reveal who exists.
//! Successes, failures and refusals are audited; sessions are listed and revoked by admins.

use crate::Assistant;
use crate::error::{AssistantError, Result};
use crate::identity::{parse_role, token_hash};
use crate::store::{Actor, AuditRecord, SYSTEM_ACTOR, time};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use policies::{DataClass, Principal};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::LazyLock;

/// Shortest password an admin may set, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password, in characters (argon2 takes any length; this bounds the work).
pub const MAX_PASSWORD_CHARS: usize = 128;
/// How often a session's `last_seen_at` is written at most, in seconds.
const LAST_SEEN_EVERY_SECS: i64 = 60;

/// A language of the user interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English.
    En,
    /// Simplified Chinese.
    Zh,
}

impl Language {
    /// Every language.
    pub const ALL: [Language; 2] = [Language::En, Language::Zh];

    /// The stable name (`en`, `zh`), as stored and as in `lang` attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Zh => "zh",
        }
    }

    /// The language named `s` (`en`, `zh`, or a tag such as `zh-CN` or `en-GB`).
    pub fn parse(s: &str) -> Option<Language> {
        let primary = s.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Language::En),
            "zh" => Some(Language::Zh),
            _ => None,
        }
    }

    /// The preferred language of an `Accept-Language` header (highest weight first, then order),
    /// if it names one we have.
    pub fn from_accept_language(header: &str) -> Option<Language> {
        let mut best: Option<(f32, usize, Language)> = None;
        for (i, part) in header.split(',').enumerate().take(32) {
            let mut it = part.split(';');
            let Some(lang) = it.next().and_then(Language::parse) else {
                continue;
            };
            let q = it
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q <= 0.0 {
                continue;
            }
            if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
                best = Some((q, i, lang));
            }
        }
        best.map(|(_, _, l)| l)
    }
}

/// A session as its owner's requests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The session's id (safe to show and log; used to revoke it).
    pub id: String,
    /// The form token every state-changing request of this session must carry.
    pub csrf: String,
    /// When it ends (RFC 3339, UTC).
    pub expires_at: String,
    /// The user's chosen language, if any.
    pub language: Option<Language>,
}

/// A new session: the only time its secret is visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The cookie's value.
    pub secret: String,
    /// Who signed in.
    pub principal: Principal,
    /// The session.
    pub session: Session,
}

/// A session as admins list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// Id.
    pub id: String,
    /// Its user.
    pub user: String,
    /// When it began.
    pub created_at: String,
    /// When it ends.
    pub expires_at: String,
    /// When its last request was seen (to the minute).
    pub last_seen_at: String,
    /// When it was revoked or signed out, if it was.
    pub revoked_at: Option<String>,
    /// The client address it began from.
    pub address: String,
    /// The browser's `User-Agent` when it began (at most 200 characters).
    pub user_agent: String,
}

/// Why a sign-in failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Unknown user, disabled user, no password set or a wrong password: one answer for all.
    #[error("wrong user name or password")]
    Rejected,
    /// Too many failures for this name or from this address within the window.
    #[error(
        "too many failed sign-ins for this user name or from this address; try again in \
         {retry_after_secs} seconds"
    )]
    TooManyAttempts {
        /// Seconds until the window lets an attempt through again.
        retry_after_secs: u64,
    },
}

/// A PHC string verified against when the user is unknown, so an unknown name costs the same
/// work as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    Argon2::default()
        .hash_password_with_salt(b"no such user", b"deskmate-dummy-salt")
        .map(|h| h.to_string())
        .unwrap_or_default()
});

fn random_b64(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::fill(&mut bytes[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A random password of 16 URL-safe characters (96 bits), for a bootstrap account.
pub fn random_password() -> String {
    random_b64(12)
}

/// Checks a new password: length, no control characters, not the user name, not one
/// character repeated.
pub fn check_password(user: &str, password: &str) -> Result<()> {
    let n = password.chars().count();
    let field = |reason: String| AssistantError::InvalidField {
        field: "password".into(),
        reason,
    };
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(field(format!(
            "must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters (got {n})"
        )));
    }
    if password.chars().any(char::is_control) {
        return Err(field("must not contain control characters".into()));
    }
    if password.eq_ignore_ascii_case(user) {
        return Err(field("must not be the user name".into()));
    }
    let mut chars = password.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return Err(field("must not be one character repeated".into()));
    }
    Ok(())
}

/// Ends session `id` at `now`, audited as `action` (sign-out or an admin's revocation).
fn end_session(
    tx: &mut crate::store::WriteTx<'_>,
    id: &str,
    now: &str,
    action: &str,
) -> Result<()> {
    tx.conn().execute(
        "UPDATE sessions SET revoked_at = ?1 WHERE id = ?2",
        params![now, id],
    )?;
    tx.audit(AuditRecord {
        action,
        object_kind: "session",
        object_id: id,
        class: DataClass::IMPORTANT,
        details: json!({}),
    })?;
    Ok(())
}

impl Assistant {
    /// Sets `user`'s password (replacing any), and signs out every session of theirs.
    pub fn set_password(&self, actor: &Actor, user: &str, password: &str) -> Result<()> {
        check_password(user, password)?;
        let hash = Argon2::default()
            .hash_password(password.as_bytes())
            .map_err(|e| AssistantError::Invalid(format!("password: cannot hash it: {e}")))?
            .to_string();
        let now = time::fmt(time::now());
        self.store.write(actor, |tx| {
            let user_id: Option<i64> = tx
                .conn()
                .query_row(
                    "SELECT id FROM users WHERE name = ?1 AND disabled_at IS NULL",
                    [user],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(user_id) = user_id else {
                return Err(AssistantError::NotFound {
                    kind: "user",
                    id: user.into(),
                });
            };
            tx.conn().execute(
                "INSERT INTO user_passwords (user_id, hash, set_at, set_by) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(user_id) DO UPDATE SET hash = ?2, set_at = ?3, set_by = ?4",
                params![user_id, hash, now, actor.user],
            )?;
            let ended = tx.conn().execute(
                "UPDATE sessions SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
                params![now, user_id],
            )?;
            tx.audit(AuditRecord {
                action: "user.password_set",
                object_kind: "user",
                object_id: user,
                class: DataClass::IMPORTANT,
                details: json!({"sessions_ended": ended}),
            })?;
            Ok(())
        })
    }

    /// Signs `name` in with `password` from `address` (the client's IP address) and
    /// `user_agent`. `request_id` goes into the audit entries.
    pub fn sign_in(
        &self,
        name: &str,
        password: &str,
        address: &str,
        user_agent: &str,
        request_id: Option<String>,
    ) -> Result<SignedIn> {
        let server = &self.config.server;
        let now = time::now();
        let window = ::time::Duration::minutes(server.sign_in_window_mins as i64);
        let since = time::fmt(now - window);
        // A name that could not be a user's is still counted, under a fixed key.
        let key = if name.chars().count() <= 64 && !name.chars().any(char::is_control) {
            name.to_string()
        } else {
            "<invalid>".to_string()
        };
        let user_agent: String = user_agent
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let system = Actor {
            request_id: request_id.clone(),
            ..Actor::system()
        };
        // Refused unchecked while either count is at the limit.
        let oldest_failure: Option<String> = self.store.read(|c| {
            let failures = |col: &str, v: &str| -> rusqlite::Result<(u32, Option<String>)> {
                c.query_row(
                    &format!(
                        "SELECT COUNT(*), MIN(time) FROM sign_in_attempts
                         WHERE {col} = ?1 AND success = 0 AND time > ?2"
                    ),
                    params![v, since],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
            };
            let (by_name, first_name) = failures("name", &key)?;
            let (by_address, first_address) = failures("address", address)?;
            Ok::<_, AssistantError>(if by_name >= server.sign_in_max_failures {
                first_name
            } else if by_address >= server.sign_in_max_failures {
                first_address
            } else {
                None
            })
        })?;
        if let Some(first) = oldest_failure {
            let retry_after_secs = time::parse(&first)
                .map(|t| (t + window - now).whole_seconds().max(1) as u64)
                .unwrap_or(server.sign_in_window_mins * 60);
            self.store.write(&system, |tx| {
                tx.audit(AuditRecord {
                    action: "session.sign_in_refused",
                    object_kind: "user",
                    object_id: &key,
                    class: DataClass::IMPORTANT,
                    details: json!({"address": address, "reason": "too many failures"}),
                })
            })?;
            return Err(SignInError::TooManyAttempts { retry_after_secs }.into());
        }
        let row: Option<(i64, String, Option<String>, Option<String>)> = self.store.read(|c| {
            c.query_row(
                "SELECT u.id, u.role, p.hash, u.language FROM users u
                 LEFT JOIN user_passwords p ON p.user_id = u.id
                 WHERE u.name = ?1 AND u.disabled_at IS NULL",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
        })?;
        let stored = row
            .as_ref()
            .and_then(|(_, _, h, _)| h.clone())
            .unwrap_or_else(|| DUMMY_HASH.clone());
        let verified = PasswordHash::new(&stored).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        });
        let at = time::fmt(now);
        let signed_in = match row {
            Some((user_id, role, Some(_), language)) if verified => {
                Some((user_id, parse_role(&role)?, language))
            }
            _ => None,
        };
        let Some((user_id, role, language)) = signed_in else {
            self.store.write(&system, |tx| {
                tx.conn().execute(
                    "INSERT INTO sign_in_attempts (time, name, address, success)
                     VALUES (?1, ?2, ?3, 0)",
                    params![at, key, address],
                )?;
                tx.audit(AuditRecord {
                    action: "session.sign_in_failed",
                    object_kind: "user",
                    object_id: &key,
                    class: DataClass::IMPORTANT,
                    details: json!({"address": address}),
                })
            })?;
            return Err(SignInError::Rejected.into());
        };
        let principal = Principal {
            user: name.to_string(),
            role,
        };
        let secret = format!("dms_{}", random_b64(32));
        let session = Session {
            id: format!("ses_{}", &uuid::Uuid::new_v4().simple().to_string()[..16]),
            csrf: random_b64(32),
            expires_at: time::fmt(now + ::time::Duration::hours(server.session_hours as i64)),
            language: language.as_deref().and_then(Language::parse),
        };
        let actor = Actor::user(&principal, request_id);
        self.store.write(&actor, |tx| {
            tx.conn().execute(
                "INSERT INTO sign_in_attempts (time, name, address, success)
                 VALUES (?1, ?2, ?3, 1)",
                params![at, key, address],
            )?;
            tx.conn().execute(
                "INSERT INTO sessions (id, user_id, hash, csrf, created_at, expires_at,
                    last_seen_at, address, user_agent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?7, ?8)",
                params![
                    session.id,
                    user_id,
                    token_hash(&secret),
                    session.csrf,
                    at,
                    session.expires_at,
                    address,
                    user_agent
                ],
            )?;
            tx.audit(AuditRecord {
                action: "session.sign_in",
                object_kind: "session",
                object_id: &session.id,
                class: DataClass::IMPORTANT,
                details: json!({"address": address, "expires_at": session.expires_at}),
            })
        })?;
        Ok(SignedIn {
            secret,
            principal,
            session,
        })
    }

    /// The principal and session a cookie's secret stands for, or `None` when it is unknown,
    /// signed out, revoked or expired, or its user is disabled.
    pub fn session(&self, secret: &str) -> Result<Option<(Principal, Session)>> {
        if !secret.starts_with("dms_") || secret.len() > 128 {
            return Ok(None);
        }
        let now = time::now();
        let row = self.store.read(|c| {
            c.query_row(
                "SELECT s.id, s.csrf, s.expires_at, s.last_seen_at, u.name, u.role, u.language
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.hash = ?1 AND s.revoked_at IS NULL AND u.disabled_at IS NULL
                   AND s.expires_at > ?2",
                params![token_hash(secret), time::fmt(now)],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, Option<String>>(6)?,
                    ))
                },
            )
            .optional()
        })?;
        let Some((id, csrf, expires_at, last_seen, user, role, language)) = row else {
            return Ok(None);
        };
        if time::parse(&last_seen).is_none_or(|t| (now - t).whole_seconds() >= LAST_SEEN_EVERY_SECS)
        {
            let system = Actor::system();
            self.store.write(&system, |tx| {
                tx.conn().execute(
                    "UPDATE sessions SET last_seen_at = ?1 WHERE id = ?2",
                    params![time::fmt(now), id],
                )?;
                Ok::<_, AssistantError>(())
            })?;
        }
        Ok(Some((
            Principal {
                user,
                role: parse_role(&role)?,
            },
            Session {
                id,
                csrf,
                expires_at,
                language: language.as_deref().and_then(Language::parse),
            },
        )))
    }

    /// Ends the session `secret` stands for (signing out); an unknown or ended one is a no-op.
    pub fn sign_out(&self, actor: &Actor, secret: &str) -> Result<()> {
        let now = time::fmt(time::now());
        let hash = token_hash(secret);
        self.store.write(actor, |tx| {
            let id: Option<String> = tx
                .conn()
                .query_row(
                    "SELECT id FROM sessions WHERE hash = ?1 AND revoked_at IS NULL",
                    [&hash],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = id {
                end_session(tx, &id, &now, "session.sign_out")?;
            }
            Ok(())
        })
    }

    /// Every session that has not expired, newest first (revoked ones included, marked).
    pub fn list_sessions(&self) -> Result<Vec<SessionInfo>> {
        let now = time::fmt(time::now());
        self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT s.id, u.name, s.created_at, s.expires_at, s.last_seen_at, s.revoked_at,
                        s.address, s.user_agent
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.expires_at > ?1 ORDER BY s.created_at DESC LIMIT 1000",
            )?;
            let rows = stmt
                .query_map([now], |r| {
                    Ok(SessionInfo {
                        id: r.get(0)?,
                        user: r.get(1)?,
                        created_at: r.get(2)?,
                        expires_at: r.get(3)?,
                        last_seen_at: r.get(4)?,
                        revoked_at: r.get(5)?,
                        address: r.get(6)?,
                        user_agent: r.get(7)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Revokes session `id` (an admin's action); revoking an ended one is a no-op.
    pub fn revoke_session(&self, actor: &Actor, id: &str) -> Result<()> {
        let now = time::fmt(time::now());
        self.store.write(actor, |tx| {
            let revoked: Option<Option<String>> = tx
                .conn()
                .query_row("SELECT revoked_at FROM sessions WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            match revoked {
                None => Err(AssistantError::NotFound {
                    kind: "session",
                    id: id.into(),
                }),
                Some(Some(_)) => Ok(()),
                Some(None) => end_session(tx, id, &now, "session.revoke"),
            }
        })
    }

    /// Remembers `actor`'s language for the web application.
    pub fn set_language(&self, actor: &Actor, language: Language) -> Result<()> {
        if actor.user == SYSTEM_ACTOR {
            return Err(AssistantError::Invalid(
                "the system has no language preference".into(),
            ));
        }
        self.store.write(actor, |tx| {
            let n = tx.conn().execute(
                "UPDATE users SET language = ?1 WHERE name = ?2 AND disabled_at IS NULL",
                params![language.as_str(), actor.user],
            )?;
            if n == 0 {
                return Err(AssistantError::NotFound {
                    kind: "user",
                    id: actor.user.clone(),
                });
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_we_have() {
        let l = Language::from_accept_language;
        assert_eq!(l("zh-CN,zh;q=0.9,en;q=0.8"), Some(Language::Zh));
        assert_eq!(l("en-GB,en;q=0.9,zh-CN;q=0.8"), Some(Language::En));
        assert_eq!(l("fr-FR,fr;q=0.9,zh;q=0.5,en;q=0.7"), Some(Language::En));
        assert_eq!(l("de, zh-TW;q=0.2"), Some(Language::Zh));
        assert_eq!(l("fr, de"), None);
        assert_eq!(l("zh;q=0, en;q=0.1"), Some(Language::En));
        assert_eq!(l(""), None);
    }

    #[test]
    fn weak_passwords_are_refused_with_the_reason() {
        assert!(check_password("ann", "short").is_err());
        assert!(check_password("ann", "aaaaaaaaaaaaaaaa").is_err());
        assert!(check_password("annabelle-ops", "ANNABELLE-OPS").is_err());
        assert!(check_password("ann", "correct\u{0}horse battery").is_err());
        assert!(check_password("ann", &"x".repeat(200)).is_err());
        assert!(check_password("ann", "correct horse battery").is_ok());
        assert!(check_password("ann", "正确的马电池订书钉一二三").is_ok());
    }
}
