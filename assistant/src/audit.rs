//! Reading the audit log as a user: entries about objects above the caller's clearance are
//! redacted, never returned whole.
//!
//! Every entry records the classification of the object it describes ([`AuditEntry::classification`]).
//! A caller sees an entry whole only when their clearance covers that classification; otherwise
//! they see that the entry exists (its sequence number, time, action, object kind,
//! classification and hashes, so gaps are not hidden and the chain position is known) with the
//! object id, details and request id withheld. An entry whose classification does not parse was
//! not written by this code: the read fails as corrupt data (`deskmate audit verify` finds the
//! entry), rather than guess a class. The read itself is audited as `audit.read`.

use crate::Assistant;
use crate::error::Result;
use crate::store::Actor;
use crate::store::sql::InvalidStored;
use policies::audit::AuditEntry;
use policies::{Clearance, DataClass};
use serde::Serialize;
use serde_json::Value;

/// The bounds of one read of the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// First sequence number (1 when absent).
    pub from_seq: Option<u64>,
    /// Entries at or after this RFC 3339 time (normalised by [`crate::store::time::fmt`]).
    pub from: Option<String>,
    /// Entries before this time.
    pub to: Option<String>,
    /// At most this many (clamped to 1..=1000; 100 when absent).
    pub limit: Option<usize>,
}

/// An audit entry as one caller may see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditView {
    /// The entry; with `redacted`, its `object_id` is empty, `details` is null and
    /// `request_id` is absent.
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// Whether the entry describes an object above the caller's clearance and was redacted.
    pub redacted: bool,
}

/// The entry as `clearance` may see it; an error when its classification does not parse.
pub fn view(entry: AuditEntry, clearance: Clearance) -> Result<AuditView, InvalidStored> {
    let class = entry
        .classification
        .parse::<DataClass>()
        .map_err(|e| InvalidStored {
            column: "audit_log.classification",
            value: entry.classification.chars().take(200).collect(),
            reason: format!("entry {}: {e}", entry.seq),
        })?;
    if clearance.can_read(class) {
        return Ok(AuditView {
            entry,
            redacted: false,
        });
    }
    Ok(AuditView {
        entry: AuditEntry {
            object_id: String::new(),
            details: Value::Null,
            request_id: None,
            ..entry
        },
        redacted: true,
    })
}

impl Assistant {
    /// Audit entries in `query`'s range as `actor` may see them (see the module docs), oldest
    /// first; the read is audited as `audit.read`.
    pub fn read_audit(&self, actor: &Actor, query: &AuditQuery) -> Result<Vec<AuditView>> {
        let from_seq = query.from_seq.unwrap_or(1).max(1);
        let limit = query.limit.unwrap_or(100).clamp(1, 1000);
        // Sequence numbers are stored as SQLite integers (i64): a start beyond them has nothing.
        let entries = if i64::try_from(from_seq).is_err() {
            Vec::new()
        } else {
            self.store
                .audit_entries(from_seq, query.from.as_deref(), query.to.as_deref(), limit)?
        };
        self.audit_read(
            actor,
            "audit.read",
            "audit_log",
            &format!("from_seq={from_seq}"),
            DataClass::IMPORTANT,
        )?;
        let clearance = actor.clearance();
        Ok(entries
            .into_iter()
            .map(|e| view(e, clearance))
            .collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use policies::Role;
    use serde_json::json;

    fn entry(class: &str) -> AuditEntry {
        AuditEntry {
            seq: 7,
            time: "2026-12-04T00:00:00Z".into(),
            actor: "legal1".into(),
            role: "legal".into(),
            action: "approval.create".into(),
            object_kind: "approval".into(),
            object_id: "apr_secret".into(),
            classification: class.into(),
            request_id: Some("req-1".into()),
            details: json!({"title": "LOTUS"}),
            prev_hash: "00".into(),
            hash: "11".into(),
        }
    }

    #[test]
    fn entries_above_clearance_keep_their_place_but_not_their_content() {
        let mr = Clearance::of(Role::ModelRisk);
        for class in ["core", "important+sensitive", "core+sensitive"] {
            let v = view(entry(class), mr).unwrap();
            assert!(v.redacted, "{class}");
            assert_eq!(v.entry.seq, 7);
            assert_eq!(v.entry.hash, "11");
            assert_eq!(v.entry.action, "approval.create");
            assert!(v.entry.object_id.is_empty() && v.entry.details.is_null());
            assert!(v.entry.request_id.is_none());
            assert!(!serde_json::to_string(&v).unwrap().contains("LOTUS"));
        }
        for class in ["general", "important"] {
            let v = view(entry(class), mr).unwrap();
            assert!(!v.redacted);
            assert_eq!(v.entry, entry(class));
        }
        // The system and the CLI operator read everything.
        let v = view(entry("core+sensitive"), Actor::system().clearance()).unwrap();
        assert!(!v.redacted);
    }

    #[test]
    fn an_entry_whose_class_does_not_parse_is_corrupt_not_guessed() {
        for class in ["nonsense", "", "CORE"] {
            for clearance in [Clearance::of(Role::ModelRisk), Actor::system().clearance()] {
                let e = view(entry(class), clearance).unwrap_err();
                assert_eq!(e.column, "audit_log.classification");
                assert_eq!(e.value, class);
                assert!(e.reason.starts_with("entry 7:"), "{e}");
            }
        }
    }
}
