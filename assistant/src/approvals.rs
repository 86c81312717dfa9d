//! The generic approval queue: quotes, drafted confirmations, extracted trades and reports all
//! wait here for a person with the right role.
//!
//! The rules (who may decide, four-eyes, idempotency, expiry) are `policies::approval::decide`;
//! this module stores requests and their payload versions, enforces clearance, and audits every
//! transition in the same transaction. Editing before approval stores a new payload version with
//! the diff against the previous one; every version stays readable.
//!
//! Every payload is checked when the request is created and at every edit, by the same code:
//! the generic checks for every kind, and a typed validator for each kind a workflow acts on
//! (`quote`, `extraction`); see [`payload`]. An invalid one is refused with the field named and
//! nothing is stored. For kinds whose artifact is delivered after approval (a quote), the
//! request shows where the delivery stands ([`Approval::delivery`]).

pub mod payload;

use crate::Assistant;
use crate::error::{AssistantError, Result};
use crate::store::sql::{self, InvalidStored};
use crate::store::{Actor, AuditRecord, WriteTx, time};
use payload::{Edit, check_note, check_title};
use policies::approval::{ApprovalDecision, ApprovalState, ApprovalView, Transition, decide};
use policies::{Clearance, DataClass, Denial, Principal, Role};
use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::{Value, json};

/// The kind of artifact an approval request carries (`approvals.kind`): one a workflow acts on,
/// or a caller's own, on which only the generic checks run. The set is open by design (a
/// client may queue its own artifacts), so the column has no trigger; a kind is 1-64 characters
/// without control characters, and reading any other stored text is an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ApprovalKind {
    /// The RFQ desk's quote (`quote`): typed by [`crate::desk::payload`], delivered after
    /// approval.
    Quote,
    /// The ops review of an extracted confirmation (`extraction`): typed by
    /// [`crate::extraction_review::payload`].
    Extraction,
    /// A version of a drafted confirmation sent for legal approval (`confirmation_draft`):
    /// typed by [`crate::draft_execution::check_payload`]; never edited here (edits are saved in the
    /// drafting workspace, which withdraws the request).
    ConfirmationDraft,
    /// A change of a model-backed chain that only the model-risk team may make (`model_change`):
    /// a new model version going into production, or a chain going back from its fallback to its
    /// approved model; typed by [`crate::model_risk::check_payload`], applied when approved.
    ModelChange,
    /// A caller's own kind (`report`, …), never one of the above.
    Other(CustomKind),
}

/// A caller's own approval kind: 1-64 characters without control characters, not `quote`,
/// `extraction`, `confirmation_draft` or `model_change` (built only by parsing an [`ApprovalKind`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomKind(String);

impl CustomKind {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An approval kind that is empty, longer than 64 characters or holds a control character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1-64 characters without control characters")]
pub struct InvalidKind {
    /// What was given.
    pub given: String,
}

impl ApprovalKind {
    /// The kinds a workflow acts on.
    pub const KNOWN: &'static [ApprovalKind] = &[
        ApprovalKind::Quote,
        ApprovalKind::Extraction,
        ApprovalKind::ConfirmationDraft,
        ApprovalKind::ModelChange,
    ];

    /// The stable name.
    pub fn as_str(&self) -> &str {
        match self {
            ApprovalKind::Quote => "quote",
            ApprovalKind::Extraction => "extraction",
            ApprovalKind::ConfirmationDraft => "confirmation_draft",
            ApprovalKind::ModelChange => "model_change",
            ApprovalKind::Other(k) => k.as_str(),
        }
    }
}

impl std::str::FromStr for ApprovalKind {
    type Err = InvalidKind;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "quote" => Ok(ApprovalKind::Quote),
            "extraction" => Ok(ApprovalKind::Extraction),
            "confirmation_draft" => Ok(ApprovalKind::ConfirmationDraft),
            "model_change" => Ok(ApprovalKind::ModelChange),
            _ if s.trim().is_empty() || s.len() > 64 || s.chars().any(char::is_control) => {
                Err(InvalidKind {
                    given: s.chars().take(200).collect(),
                })
            }
            _ => Ok(ApprovalKind::Other(CustomKind(s.to_string()))),
        }
    }
}

impl std::fmt::Display for ApprovalKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ApprovalKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ApprovalKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse()
            .map_err(|e| serde::de::Error::custom(format!("approval kind {s:?}: {e}")))
    }
}

impl rusqlite::ToSql for ApprovalKind {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(
            rusqlite::types::ValueRef::Text(self.as_str().as_bytes()),
        ))
    }
}

impl rusqlite::types::FromSql for ApprovalKind {
    fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let s = v.as_str()?;
        s.parse().map_err(|e: InvalidKind| {
            let reason = e.to_string();
            rusqlite::types::FromSqlError::Other(Box::new(InvalidStored {
                column: "approvals.kind",
                value: e.given,
                reason,
            }))
        })
    }
}

/// A new approval request.
#[derive(Debug, Clone)]
pub struct NewApproval {
    /// The artifact kind.
    pub kind: ApprovalKind,
    /// A one-line description for the queue.
    pub title: String,
    /// The artifact itself.
    pub payload: Value,
    /// The role that must decide.
    pub required_role: Role,
    /// Ask for four eyes (policy may force it on regardless).
    pub four_eyes: bool,
    /// Deadline from now; the configured default when `None`.
    pub expires_in: Option<::time::Duration>,
    /// Classification of the payload.
    pub class: DataClass,
    /// A pending request this one replaces.
    pub supersedes: Option<String>,
    /// A client-chosen key that makes retried creations return the first request.
    pub idempotency_key: Option<String>,
}

/// One field that changed between two payload versions.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Change {
    /// JSON Pointer to the field (`/legs/0/strike`).
    pub path: String,
    /// Value before (absent when added).
    pub before: Option<Value>,
    /// Value after (absent when removed).
    pub after: Option<Value>,
}

/// One payload version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalVersion {
    /// 1 for the maker's original.
    pub version: u32,
    /// The payload.
    pub payload: Value,
    /// Who wrote it.
    pub author: String,
    /// When.
    pub created_at: String,
    /// What changed against the previous version.
    pub diff: Vec<Change>,
    /// The author's note.
    pub note: Option<String>,
}

/// Where the delivery of an approved artifact stands, for kinds a workflow delivers after
/// approval (a quote is sent to the client's chat).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// What carries the artifact (`rfq_quote`).
    pub object_kind: String,
    /// Its id (`q_…`).
    pub object_id: String,
    /// Its status (a quote: `pending`, `approved` and waiting to be sent, `sent`,
    /// `send_failed`, `uncertain`, `expired`, `rejected`, `superseded`).
    pub status: crate::desk::QuoteStatus,
    /// Why it could not be delivered, when it could not.
    pub reason: Option<String>,
    /// When it was sent, or last changed.
    pub at: Option<String>,
}

/// An approval request as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    /// Id (`apr_…`).
    pub id: String,
    /// Artifact kind.
    pub kind: ApprovalKind,
    /// One-line description.
    pub title: String,
    /// Classification of the payload.
    pub classification: DataClass,
    /// Who created it.
    pub maker: String,
    /// The maker's role (or `system`).
    pub maker_role: String,
    /// Who must decide.
    pub required_role: Role,
    /// Whether approver ≠ maker and ≠ last editor is enforced.
    pub four_eyes: bool,
    /// Current state (a pending request past its deadline shows as expired).
    pub state: ApprovalState,
    /// The rejection reason or the approver's note.
    pub reason: Option<String>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
    /// Created.
    pub created_at: String,
    /// Deadline.
    pub expires_at: String,
    /// Latest payload version.
    pub version: u32,
    /// Author of the latest edit.
    pub last_editor: Option<String>,
    /// The request this one replaced.
    pub supersedes: Option<String>,
    /// The request that replaced this one.
    pub superseded_by: Option<String>,
    /// The latest payload.
    pub payload: Value,
    /// Where the delivery of the approved artifact stands (quotes: `sent`, or `send_failed`
    /// with the reason); absent for kinds that are not delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    /// Every version, oldest first (filled by [`Assistant::get_approval`] only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<ApprovalVersion>,
}

/// Filters for listing.
#[derive(Debug, Clone, Default)]
pub struct ApprovalFilter {
    /// Only this state (effective state: overdue pending ones count as expired).
    pub state: Option<ApprovalState>,
    /// Only this kind.
    pub kind: Option<ApprovalKind>,
    /// Only requests this role must decide.
    pub required_role: Option<Role>,
    /// Only this maker's.
    pub maker: Option<String>,
    /// At most this many (newest first); default 100, at most 1000.
    pub limit: Option<u32>,
}

/// What a decider asks for: the decision, its note or reason, the edited payload (edits), and
/// the payload version they reviewed (refused when the request has moved on).
struct Asked {
    decision: ApprovalDecision,
    note: Option<String>,
    payload: Option<Value>,
    seen_version: Option<u32>,
}

/// The outcome of a decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decided {
    /// The request after the decision.
    pub approval: Approval,
    /// `false` when the same decision had already been taken (an idempotent repeat).
    pub changed: bool,
}

const COLUMNS: &str = "a.id, a.kind, a.title, a.classification, a.maker, a.maker_role,
    a.required_role, a.four_eyes, a.state, a.reason, a.decided_by, a.decided_at, a.created_at,
    a.expires_at, a.version, a.last_editor, a.supersedes, a.superseded_by, v.payload";

fn row_to_approval(r: &Row<'_>) -> rusqlite::Result<(Approval, ApprovalState)> {
    let state: ApprovalState = sql::parsed(r, 8, "approvals.state")?;
    Ok((
        Approval {
            id: r.get(0)?,
            kind: r.get(1)?,
            title: r.get(2)?,
            classification: sql::parsed(r, 3, "approvals.classification")?,
            maker: r.get(4)?,
            maker_role: r.get(5)?,
            required_role: sql::parsed(r, 6, "approvals.required_role")?,
            four_eyes: r.get(7)?,
            state,
            reason: r.get(9)?,
            decided_by: r.get(10)?,
            decided_at: r.get(11)?,
            created_at: r.get(12)?,
            expires_at: r.get(13)?,
            version: r.get(14)?,
            last_editor: r.get(15)?,
            supersedes: r.get(16)?,
            superseded_by: r.get(17)?,
            payload: sql::json(r, 18, "approval_versions.payload")?,
            delivery: None,
            versions: Vec::new(),
        },
        state,
    ))
}

/// Loads a request: as shown (expiry applied) and its stored state.
fn load_with_state(
    conn: &rusqlite::Connection,
    id: &str,
) -> Result<Option<(Approval, ApprovalState)>> {
    let row = conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM approvals a JOIN approval_versions v
                 ON v.approval_id = a.id AND v.version = a.version WHERE a.id = ?1"
            ),
            [id],
            row_to_approval,
        )
        .optional()?;
    let Some((mut a, stored)) = row else {
        return Ok(None);
    };
    a.state = view(&a, stored).effective_state(time::now());
    with_delivery(conn, &mut a)?;
    Ok(Some((a, stored)))
}

/// Fills in [`Approval::delivery`] for kinds that are delivered after approval.
fn with_delivery(conn: &rusqlite::Connection, a: &mut Approval) -> Result<()> {
    if a.kind == ApprovalKind::Quote {
        a.delivery = crate::desk::delivery_of(conn, &a.id)?;
    }
    Ok(())
}

fn load(conn: &rusqlite::Connection, id: &str) -> Result<Option<Approval>> {
    Ok(load_with_state(conn, id)?.map(|(a, _)| a))
}

/// One approval request as shown (expiry applied, latest payload, no versions), for workflows
/// that read it inside their own transaction.
pub(crate) fn load_approval(conn: &rusqlite::Connection, id: &str) -> Result<Option<Approval>> {
    load(conn, id)
}

fn view(a: &Approval, stored: ApprovalState) -> ApprovalView<'_> {
    ApprovalView {
        state: stored,
        maker: &a.maker,
        last_editor: a.last_editor.as_deref(),
        required_role: a.required_role,
        four_eyes: a.four_eyes,
        expires_at: time::parse(&a.expires_at).unwrap_or(::time::OffsetDateTime::UNIX_EPOCH),
    }
}

/// The differences between two JSON values, as JSON Pointer paths.
pub fn json_diff(before: &Value, after: &Value) -> Vec<Change> {
    fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<Change>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, va) in x {
                    let p = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
                    match y.get(k) {
                        Some(vb) => walk(&p, va, vb, out),
                        None => out.push(Change {
                            path: p,
                            before: Some(va.clone()),
                            after: None,
                        }),
                    }
                }
                for (k, vb) in y {
                    if !x.contains_key(k) {
                        let p = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
                        out.push(Change {
                            path: p,
                            before: None,
                            after: Some(vb.clone()),
                        });
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                    walk(&format!("{path}/{i}"), va, vb, out);
                }
            }
            _ if a != b => out.push(Change {
                path: path.to_string(),
                before: Some(a.clone()),
                after: Some(b.clone()),
            }),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", before, after, &mut out);
    out
}

impl Assistant {
    fn approval_clearance(&self, actor: &Actor, a: &Approval) -> Result<()> {
        if let Some(role) = actor.role
            && !Clearance::of(role).can_read(a.classification)
        {
            // Do not reveal that a request the caller may not see exists.
            return Err(AssistantError::NotFound {
                kind: "approval",
                id: a.id.clone(),
            });
        }
        Ok(())
    }

    /// Creates an approval request.
    pub fn create_approval(&self, actor: &Actor, new: NewApproval) -> Result<Approval> {
        let created = self
            .store
            .write(actor, |tx| self.create_approval_in(tx, new))?;
        self.store
            .read(|c| load(c, &created))?
            .ok_or_else(|| AssistantError::NotFound {
                kind: "approval",
                id: created,
            })
    }

    /// Creates an approval request inside a write transaction that holds other changes (the
    /// RFQ desk writes a quote and its approval together); the maker is the transaction's actor.
    /// Returns the id (of the first request, for a repeated idempotency key).
    pub(crate) fn create_approval_in(
        &self,
        tx: &mut WriteTx<'_>,
        new: NewApproval,
    ) -> Result<String> {
        let actor = tx.actor().clone();
        check_title(&new.title)?;
        let mut new = new;
        new.payload = self.check_payload(&new.kind, std::mem::take(&mut new.payload), None)?;
        if let Some(role) = actor.role
            && !Clearance::of(role).can_read(new.class)
        {
            return Err(AssistantError::Forbidden(format!(
                "role {role} may not create {} data",
                new.class
            )));
        }
        let expires_in = new.expires_in.unwrap_or(::time::Duration::seconds(
            self.config.approvals.default_expiry_secs as i64,
        ));
        if expires_in <= ::time::Duration::ZERO || expires_in > ::time::Duration::days(366) {
            return Err(AssistantError::Invalid(
                "expiry must be between 1 second and 366 days".into(),
            ));
        }
        let four_eyes = new.four_eyes || self.config.approvals.four_eyes_kinds.contains(&new.kind);
        let now = time::now();
        let id = format!("apr_{}", uuid::Uuid::new_v4().simple());
        if let Some(key) = &new.idempotency_key {
            let existing: Option<String> = tx
                .conn()
                .query_row(
                    "SELECT id FROM approvals WHERE maker = ?1 AND idempotency_key = ?2",
                    params![actor.user, key],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(existing) = existing {
                return Ok(existing);
            }
        }
        if let Some(old) = &new.supersedes {
            supersede(tx, old, &id)?;
        }
        tx.conn().execute(
            "INSERT INTO approvals (id, kind, title, classification, maker, maker_role,
                required_role, four_eyes, state, created_at, expires_at, version, supersedes,
                idempotency_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9, ?10, 1, ?11, ?12)",
            params![
                id,
                new.kind,
                new.title,
                new.class.to_string(),
                actor.user,
                actor.role_name(),
                new.required_role.as_str(),
                four_eyes,
                time::fmt(now),
                time::fmt(now + expires_in),
                new.supersedes,
                new.idempotency_key,
            ],
        )?;
        tx.conn().execute(
            "INSERT INTO approval_versions (approval_id, version, payload, author, created_at, diff)
             VALUES (?1, 1, ?2, ?3, ?4, '[]')",
            params![id, new.payload.to_string(), actor.user, time::fmt(now)],
        )?;
        if let Some(old) = &new.supersedes {
            tx.conn().execute(
                "UPDATE approvals SET superseded_by = ?1 WHERE id = ?2",
                params![id, old],
            )?;
        }
        tx.audit(AuditRecord {
            action: "approval.create",
            object_kind: "approval",
            object_id: &id,
            class: new.class,
            details: json!({
                "kind": new.kind,
                "title": new.title,
                "required_role": new.required_role,
                "four_eyes": four_eyes,
                "expires_at": time::fmt(now + expires_in),
                "supersedes": new.supersedes,
                "payload": new.payload,
            }),
        })?;
        Ok(id)
    }

    /// One approval request with all its versions. Reads of important or core requests are
    /// audited.
    pub fn get_approval(&self, actor: &Actor, id: &str) -> Result<Approval> {
        let mut a = self
            .store
            .read(|c| load(c, id))?
            .ok_or_else(|| AssistantError::NotFound {
                kind: "approval",
                id: id.into(),
            })?;
        self.approval_clearance(actor, &a)?;
        a.versions = self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT version, payload, author, created_at, diff, note FROM approval_versions
                 WHERE approval_id = ?1 ORDER BY version",
            )?;
            let rows = stmt.query_map([id], |r| {
                Ok(ApprovalVersion {
                    version: r.get(0)?,
                    payload: sql::json(r, 1, "approval_versions.payload")?,
                    author: r.get(2)?,
                    created_at: r.get(3)?,
                    diff: sql::json(r, 4, "approval_versions.diff")?,
                    note: r.get(5)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        self.audit_read(actor, "approval.read", "approval", id, a.classification)?;
        Ok(a)
    }

    /// Lists approval requests the caller is cleared to see, newest first, without versions.
    pub fn list_approvals(&self, actor: &Actor, f: &ApprovalFilter) -> Result<Vec<Approval>> {
        let limit = f.limit.unwrap_or(100).clamp(1, 1000);
        let now = time::fmt(time::now());
        let (state_sql, state_arg) = match f.state {
            None => ("1", String::new()),
            Some(ApprovalState::Pending) => {
                ("a.state = 'pending' AND a.expires_at > ?5", now.clone())
            }
            Some(ApprovalState::Expired) => (
                "(a.state = 'expired' OR (a.state = 'pending' AND a.expires_at <= ?5))",
                now.clone(),
            ),
            Some(s) => ("a.state = ?5", s.as_str().to_string()),
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM approvals a JOIN approval_versions v
             ON v.approval_id = a.id AND v.version = a.version
             WHERE (?1 IS NULL OR a.kind = ?1) AND (?2 IS NULL OR a.required_role = ?2)
               AND (?3 IS NULL OR a.maker = ?3) AND ({state_sql}) AND (?4 > 0)
             ORDER BY a.created_at DESC LIMIT ?4"
        );
        let items: Vec<Approval> = self.store.read(|c| {
            let mut stmt = c.prepare(&sql)?;
            let role = f.required_role.map(Role::as_str);
            let rows = if state_sql == "1" {
                stmt.query_map(params![f.kind, role, f.maker, limit], row_to_approval)?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            } else {
                stmt.query_map(
                    params![f.kind, role, f.maker, limit, state_arg],
                    row_to_approval,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?
            };
            rows.into_iter()
                .map(|(mut a, stored)| {
                    a.state = view(&a, stored).effective_state(time::now());
                    with_delivery(c, &mut a)?;
                    Ok(a)
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let visible: Vec<Approval> = items
            .into_iter()
            .filter(|a| self.approval_clearance(actor, a).is_ok())
            .collect();
        let audited: Vec<&str> = visible
            .iter()
            .filter(|a| a.classification.read_is_audited())
            .map(|a| a.id.as_str())
            .collect();
        if !audited.is_empty() && actor.role.is_some() {
            self.store.write(actor, |tx| {
                tx.audit(AuditRecord {
                    action: "approval.list",
                    object_kind: "approval",
                    object_id: "*",
                    class: visible
                        .iter()
                        .map(|a| a.classification)
                        .max_by_key(|c| (c.level, c.sensitive))
                        .unwrap_or(DataClass::GENERAL),
                    details: json!({"ids": audited}),
                })
                .map(|_| ())
            })?;
        }
        Ok(visible)
    }

    /// Approves a request. Approving an approved request again is a no-op.
    pub fn approve(
        &self,
        actor: &Actor,
        who: &Principal,
        id: &str,
        note: Option<&str>,
    ) -> Result<Decided> {
        self.approve_version(actor, who, id, note, None)
    }

    /// Approves the payload version the approver reviewed: when `version` is given and the
    /// request has moved on (an edit landed after the approver loaded it), the approval is
    /// refused with a conflict naming both versions, so nobody approves a payload they have not
    /// seen. The web UI always sends it.
    pub fn approve_version(
        &self,
        actor: &Actor,
        who: &Principal,
        id: &str,
        note: Option<&str>,
        version: Option<u32>,
    ) -> Result<Decided> {
        self.decide(
            actor,
            who,
            id,
            Asked {
                decision: ApprovalDecision::Approve,
                note: note.map(str::to_string),
                payload: None,
                seen_version: version,
            },
        )
    }

    /// Rejects a request with a reason. Rejecting a rejected request again is a no-op.
    pub fn reject(
        &self,
        actor: &Actor,
        who: &Principal,
        id: &str,
        reason: &str,
    ) -> Result<Decided> {
        self.decide(
            actor,
            who,
            id,
            Asked {
                decision: ApprovalDecision::Reject {
                    reason: reason.to_string(),
                },
                note: Some(reason.to_string()),
                payload: None,
                seen_version: None,
            },
        )
    }

    /// Replaces the payload of a pending request with an edited version, keeping the original
    /// and recording the diff. An edit identical to the current payload changes nothing.
    pub fn edit_approval(
        &self,
        actor: &Actor,
        who: &Principal,
        id: &str,
        payload: Value,
        note: Option<&str>,
    ) -> Result<Decided> {
        self.edit_approval_from(actor, who, id, payload, note, None)
    }

    /// Edits from the payload version the editor started from: when `version` is given and
    /// another edit landed since, the edit is refused with a conflict (no lost update: two
    /// traders editing at once never overwrite each other silently).
    pub fn edit_approval_from(
        &self,
        actor: &Actor,
        who: &Principal,
        id: &str,
        payload: Value,
        note: Option<&str>,
        version: Option<u32>,
    ) -> Result<Decided> {
        self.decide(
            actor,
            who,
            id,
            Asked {
                decision: ApprovalDecision::Edit,
                note: note.map(str::to_string),
                payload: Some(payload),
                seen_version: version,
            },
        )
    }

    fn decide(&self, actor: &Actor, who: &Principal, id: &str, asked: Asked) -> Result<Decided> {
        let Asked {
            decision,
            note,
            payload: new_payload,
            seen_version,
        } = asked;
        let now = time::now();
        let note_field = match decision {
            ApprovalDecision::Reject { .. } => "reason",
            ApprovalDecision::Approve | ApprovalDecision::Edit => "note",
        };
        check_note(note_field, note.as_deref())?;
        // Expiry must be recorded even though the request is then refused, so the refusal is
        // returned after the write commits.
        let outcome = self.store.write(actor, |tx| {
            let (a, stored) =
                load_with_state(tx.conn(), id)?.ok_or_else(|| AssistantError::NotFound {
                    kind: "approval",
                    id: id.into(),
                })?;
            self.approval_clearance(actor, &a)?;
            if let Some(seen) = seen_version.filter(|&v| v != a.version) {
                return Err(AssistantError::Conflict(format!(
                    "approval {id} is at payload version {}, not the version {seen} you \
                     reviewed: reload it and review the changes before deciding",
                    a.version
                )));
            }
            let t = decide(&view(&a, stored), who, &decision, now)?;
            let stamp = time::fmt(now);
            let mut changed = true;
            match t {
                Transition::NoOp => changed = false,
                Transition::MarkExpired => {
                    mark_expired(tx, &a)?;
                    return Ok(Err(Denial::Expired));
                }
                Transition::To(state) => {
                    if state == ApprovalState::Approved && a.kind == ApprovalKind::Extraction {
                        crate::extraction_review::approvable(&a.payload)?;
                        let original = original_payload(tx.conn(), id)?;
                        crate::extraction_review::record_corrections(
                            tx, id, &original, &a.payload,
                        )?;
                    }
                    if a.kind == ApprovalKind::ModelChange {
                        // In the decision's transaction: the change and the decision commit
                        // together or not at all.
                        crate::model_risk::decided(
                            tx,
                            &a.payload,
                            state,
                            &who.user,
                            &a.created_at,
                            now,
                        )?;
                    }
                    tx.conn().execute(
                        "UPDATE approvals SET state = ?1, reason = ?2, decided_by = ?3,
                             decided_at = ?4 WHERE id = ?5",
                        params![state.as_str(), note, who.user, stamp, id],
                    )?;
                    let action = match state {
                        ApprovalState::Approved => "approval.approve",
                        _ => "approval.reject",
                    };
                    tx.audit(AuditRecord {
                        action,
                        object_kind: "approval",
                        object_id: id,
                        class: a.classification,
                        details: json!({
                            "kind": a.kind, "version": a.version, "reason": note,
                            "maker": a.maker, "four_eyes": a.four_eyes,
                        }),
                    })?;
                }
                Transition::NewVersion => {
                    let original = original_payload(tx.conn(), id)?;
                    let edit = Edit {
                        previous: &a.payload,
                        original: &original,
                        note: note.as_deref(),
                    };
                    let payload = self.check_payload(
                        &a.kind,
                        new_payload.clone().unwrap_or(Value::Null),
                        Some(&edit),
                    )?;
                    let diff = json_diff(&a.payload, &payload);
                    if diff.is_empty() {
                        changed = false;
                    } else {
                        let version = a.version + 1;
                        tx.conn().execute(
                            "INSERT INTO approval_versions
                                 (approval_id, version, payload, author, created_at, diff, note)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            params![
                                id,
                                version,
                                payload.to_string(),
                                who.user,
                                stamp,
                                serde_json::to_string(&diff).expect("diff serialises"),
                                note
                            ],
                        )?;
                        tx.conn().execute(
                            "UPDATE approvals SET version = ?1, last_editor = ?2 WHERE id = ?3",
                            params![version, who.user, id],
                        )?;
                        if a.kind == ApprovalKind::Quote
                            && let Some(rfq) = a.payload["rfq_id"].as_str()
                        {
                            // A trader changed what the desk would have sent (model risk's edit
                            // rate).
                            crate::model_risk::mark_human_changed(tx, rfq)?;
                        }
                        tx.audit(AuditRecord {
                            action: "approval.edit",
                            object_kind: "approval",
                            object_id: id,
                            class: a.classification,
                            details: json!({
                                "kind": a.kind, "from_version": a.version, "to_version": version,
                                "diff": diff, "note": note,
                            }),
                        })?;
                    }
                }
            }
            Ok::<_, AssistantError>(Ok(changed))
        })?;
        let changed = outcome?;
        let approval = self.get_approval(actor, id)?;
        Ok(Decided { approval, changed })
    }

    /// Marks every pending request past its deadline as expired (audited, as `system`).
    /// Returns how many were expired.
    pub fn expire_due(&self) -> Result<usize> {
        let now = time::fmt(time::now());
        let due: Vec<String> = self.store.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id FROM approvals WHERE state = 'pending' AND expires_at <= ?1 LIMIT 1000",
            )?;
            let ids = stmt
                .query_map([&now], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok::<_, AssistantError>(ids)
        })?;
        if due.is_empty() {
            return Ok(0);
        }
        let system = Actor::system();
        self.store.write(&system, |tx| {
            let mut n = 0;
            for id in &due {
                if let Some((a, ApprovalState::Pending)) = load_with_state(tx.conn(), id)?
                    && a.state == ApprovalState::Expired
                {
                    mark_expired(tx, &a)?;
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    /// Writes an audit entry for a read of `class` data when policy says reads of it are audited.
    pub fn audit_read(
        &self,
        actor: &Actor,
        action: &str,
        kind: &str,
        id: &str,
        class: DataClass,
    ) -> Result<()> {
        if class.read_is_audited() && actor.role.is_some() {
            self.store.write(actor, |tx| {
                tx.audit(AuditRecord {
                    action,
                    object_kind: kind,
                    object_id: id,
                    class,
                    details: json!({}),
                })
                .map(|_| ())
            })?;
        }
        Ok(())
    }
}

/// The maker's original payload (version 1) of request `id`.
fn original_payload(conn: &rusqlite::Connection, id: &str) -> Result<Value> {
    let text: String = conn.query_row(
        "SELECT payload FROM approval_versions WHERE approval_id = ?1 AND version = 1",
        [id],
        |r| r.get(0),
    )?;
    Ok(sql::decode_json(&text, "approval_versions.payload")?)
}

fn mark_expired(tx: &mut WriteTx<'_>, a: &Approval) -> Result<()> {
    let n = tx.conn().execute(
        "UPDATE approvals SET state = 'expired' WHERE id = ?1 AND state = 'pending'",
        [&a.id],
    )?;
    if n == 1 {
        tx.audit(AuditRecord {
            action: "approval.expire",
            object_kind: "approval",
            object_id: &a.id,
            class: a.classification,
            details: json!({"kind": a.kind, "expires_at": a.expires_at}),
        })?;
    }
    Ok(())
}

fn supersede(tx: &mut WriteTx<'_>, old: &str, new_id: &str) -> Result<()> {
    let a = load(tx.conn(), old)?.ok_or_else(|| AssistantError::NotFound {
        kind: "approval",
        id: old.into(),
    })?;
    if a.state != ApprovalState::Pending && a.state != ApprovalState::Expired {
        return Err(AssistantError::Conflict(format!(
            "approval {old} is {}; only pending or expired requests can be superseded",
            a.state
        )));
    }
    if a.maker != tx.actor().user
        && tx.actor().role != Some(Role::Admin)
        && tx.actor().role.is_some()
    {
        return Err(AssistantError::Forbidden(format!(
            "only the maker ({}) may supersede approval {old}",
            a.maker
        )));
    }
    // `superseded_by` is filled in once the new row exists (foreign key).
    tx.conn().execute(
        "UPDATE approvals SET state = 'superseded' WHERE id = ?1",
        [old],
    )?;
    tx.audit(AuditRecord {
        action: "approval.supersede",
        object_kind: "approval",
        object_id: old,
        class: a.classification,
        details: json!({"superseded_by": new_id}),
    })?;
    Ok(())
}
