//! Idempotency keys: a client that retries a request which creates something (after a timeout
//! or a dropped connection) sends the same `Idempotency-Key` and gets the first response again
//! instead of a second object.
//!
//! A key belongs to one user and one request: the first request with it is recorded as in
//! progress, then with its response. The same key with the same request replays that response;
//! with a different request it is refused (the client reused a key by mistake); while the first
//! is still running, a second waits its turn (refused as in progress). Keys are kept 24 hours.
//! Server errors are not recorded, so a retry after one runs again. A record left in progress
//! by a crash is abandoned after [`ABANDONED_AFTER`].

use crate::Assistant;
use crate::error::{AssistantError, Result};
use crate::store::sql::{InvalidStored, text_enum};
use crate::store::{Actor, time};
use rusqlite::{OptionalExtension, params};

text_enum! {
    /// Where a recorded request stands (`idempotency_keys.state`).
    pub enum KeyState in "idempotency_keys.state" as "idempotency key state" {
        /// The first request with the key is running (or was, when its process stopped).
        InProgress = "in_progress",
        /// Its response is recorded.
        Done = "done",
    }
}

/// How long a key is remembered.
pub const KEEP: ::time::Duration = ::time::Duration::hours(24);
/// After how long a request still recorded as in progress is taken as abandoned (its process
/// stopped): longer than any request may run.
pub const ABANDONED_AFTER: ::time::Duration = ::time::Duration::minutes(30);
/// The largest response kept for replay; a larger one is not recorded (a retry runs again).
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Checks a client's key: 1 to 200 visible ASCII characters.
pub fn valid_key(key: &str) -> bool {
    (1..=200).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// A recorded response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// HTTP status.
    pub status: u16,
    /// Its `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// What to do with a request that carries a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The key is new (or its earlier use was abandoned): run the request, then
    /// [`Assistant::idempotency_finish`].
    Run,
    /// The same request was answered before: send this again.
    Replay(Recorded),
    /// The same request is running now.
    InProgress,
    /// The key was used for a different request.
    Mismatch {
        /// The method and path it was used with.
        first: String,
    },
}

impl Assistant {
    /// Records the start of a request with `key` for `user`, or says how its earlier use ends.
    /// `request_sha256` identifies the request (method, path, query, content type and body).
    pub fn idempotency_begin(
        &self,
        user: &str,
        key: &str,
        method: &str,
        path: &str,
        request_sha256: &str,
    ) -> Result<Begin> {
        if !valid_key(key) {
            return Err(AssistantError::Invalid(
                "Idempotency-Key must be 1 to 200 visible ASCII characters".into(),
            ));
        }
        let now = time::now();
        self.store.write(&Actor::system(), |tx| {
            let c = tx.conn();
            c.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?1",
                [time::fmt(now - KEEP)],
            )?;
            type Row = (
                String,
                String,
                String,
                KeyState,
                Option<i64>,
                Option<String>,
                Option<Vec<u8>>,
                String,
            );
            let row: Option<Row> = c
                .query_row(
                    "SELECT method, path, request_sha256, state, status, content_type, response,
                            created_at
                     FROM idempotency_keys WHERE user = ?1 AND key = ?2",
                    params![user, key],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                        ))
                    },
                )
                .optional()?;
            if let Some((m, p, hash, state, status, ct, body, created)) = row {
                if hash != request_sha256 {
                    return Ok(Begin::Mismatch {
                        first: format!("{m} {p}"),
                    });
                }
                let abandoned = time::parse(&created).is_none_or(|t| t < now - ABANDONED_AFTER);
                match (state, status) {
                    (KeyState::Done, Some(status)) => {
                        let status = u16::try_from(status).map_err(|_| InvalidStored {
                            column: "idempotency_keys.status",
                            value: status.to_string(),
                            reason: "not an HTTP status".into(),
                        })?;
                        return Ok(Begin::Replay(Recorded {
                            status,
                            content_type: ct,
                            body: body.unwrap_or_default(),
                        }));
                    }
                    _ if !abandoned => return Ok(Begin::InProgress),
                    _ => {}
                }
            }
            c.execute(
                "INSERT OR REPLACE INTO idempotency_keys (user, key, method, path, request_sha256,
                    state, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'in_progress', ?6)",
                params![user, key, method, path, request_sha256, time::fmt(now)],
            )?;
            Ok::<_, AssistantError>(Begin::Run)
        })
    }

    /// Records the response to a request begun with [`Assistant::idempotency_begin`], or
    /// forgets the key (`None`: a server error or a response too large or streamed to keep),
    /// so that a retry runs again.
    pub fn idempotency_finish(
        &self,
        user: &str,
        key: &str,
        response: Option<Recorded>,
    ) -> Result<()> {
        self.store.write(&Actor::system(), |tx| {
            match response {
                Some(r) => tx.conn().execute(
                    "UPDATE idempotency_keys SET state = 'done', status = ?3, content_type = ?4,
                        response = ?5 WHERE user = ?1 AND key = ?2",
                    params![user, key, i64::from(r.status), r.content_type, r.body],
                )?,
                None => tx.conn().execute(
                    "DELETE FROM idempotency_keys WHERE user = ?1 AND key = ?2",
                    params![user, key],
                )?,
            };
            Ok::<_, AssistantError>(())
        })
    }
}
