//! The tamper-evident audit chain: entry layout, canonical bytes, hashing and verification.
//!
//! Each entry's hash is `SHA-256(prev_hash || canonical_bytes(entry))`, where `prev_hash` is the
//! previous entry's hash (32 zero bytes for the first entry) and the canonical bytes are a JSON
//! array of every field in a fixed order with object keys sorted. Changing, deleting, inserting
//! or reordering entries therefore breaks the chain at the first affected entry; truncating the
//! newest entries is caught by comparing the chain with an [`AuditAnchor`] kept outside the
//! database. Storage lives in the `assistant` crate; this module only does the arithmetic, so
//! that the writer and every verifier agree byte for byte.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;

/// The hash that precedes the first entry.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// One audit-log entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the chain, starting at 1, without gaps.
    pub seq: u64,
    /// When it happened, RFC 3339 in UTC with nanoseconds (`2026-11-21T09:54:00.123456789Z`).
    pub time: String,
    /// Who did it (a user name, `system`, or a bot's name).
    pub actor: String,
    /// The actor's role at the time, or `system`.
    pub role: String,
    /// What was done, dotted (`approval.approve`, `user.create`, `model.generate`).
    pub action: String,
    /// The kind of object acted on (`approval`, `user`, `token`, `document`).
    pub object_kind: String,
    /// The object's id.
    pub object_id: String,
    /// The classification of the object, as its string form (`important+sensitive`).
    pub classification: String,
    /// The HTTP request id, when the change came through the API.
    pub request_id: Option<String>,
    /// Everything else worth keeping: before/after values, reasons, hashes of prompts.
    pub details: Value,
    /// Hex SHA-256 of the previous entry (64 zeros for the first).
    pub prev_hash: String,
    /// Hex SHA-256 of `prev_hash || canonical bytes of this entry`.
    pub hash: String,
}

impl AuditEntry {
    /// The canonical bytes of everything this entry records (all fields but the two hashes).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let fields = Value::Array(vec![
            Value::from(self.seq),
            Value::from(self.time.as_str()),
            Value::from(self.actor.as_str()),
            Value::from(self.role.as_str()),
            Value::from(self.action.as_str()),
            Value::from(self.object_kind.as_str()),
            Value::from(self.object_id.as_str()),
            Value::from(self.classification.as_str()),
            self.request_id
                .as_deref()
                .map(Value::from)
                .unwrap_or(Value::Null),
            self.details.clone(),
        ]);
        let mut out = Vec::with_capacity(256);
        write_canonical(&fields, &mut out);
        out
    }

    /// The hash this entry must carry, given the previous entry's hash.
    pub fn compute_hash(&self, prev_hash: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(prev_hash);
        h.update(self.canonical_bytes());
        h.finalize().into()
    }

    /// Fills in `prev_hash` and `hash` for a new entry that follows `prev_hash`.
    pub fn seal(&mut self, prev_hash: &[u8; 32]) {
        self.prev_hash = hex::encode(prev_hash);
        self.hash = hex::encode(self.compute_hash(prev_hash));
    }
}

/// Writes `v` as JSON with object keys sorted and no whitespace.
pub fn write_canonical(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(Value::from(k.as_str()).to_string().as_bytes());
                out.push(b':');
                write_canonical(&map[k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => out.extend_from_slice(scalar.to_string().as_bytes()),
    }
}

/// The chain's head as last committed, kept outside the database so that truncation of the
/// newest entries can be detected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAnchor {
    /// Sequence number of the head entry.
    pub seq: u64,
    /// Hex hash of the head entry.
    pub hash: String,
}

/// How the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChainBreakKind {
    /// The entry's content no longer matches its hash: it was edited.
    ContentModified,
    /// The entry's `prev_hash` does not match the previous entry's hash: an entry before it was
    /// removed, inserted or moved.
    LinkBroken,
    /// Sequence numbers jump: entries were deleted.
    Gap {
        /// The sequence number that should have come next.
        expected: u64,
    },
    /// Sequence numbers repeat or go backwards: entries were inserted or reordered.
    OutOfOrder {
        /// The sequence number that should have come next.
        expected: u64,
    },
    /// The anchor names an entry beyond the end of the chain: the newest entries were removed.
    Truncated {
        /// The anchor's sequence number.
        anchor_seq: u64,
        /// The last sequence number in the database.
        head_seq: u64,
    },
    /// The entry the anchor names has a different hash: history up to the anchor was rewritten.
    AnchorMismatch,
}

/// The first place where the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    /// The sequence number of the first broken entry (for truncation: the first missing one).
    pub seq: u64,
    /// What is wrong there.
    #[serde(flatten)]
    pub kind: ChainBreakKind,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match &self.kind {
            ChainBreakKind::ContentModified => {
                write!(
                    f,
                    "entry {seq} was modified: its content does not match its hash"
                )
            }
            ChainBreakKind::LinkBroken => write!(
                f,
                "entry {seq} does not link to entry {}: an entry was removed, inserted or moved",
                seq.saturating_sub(1)
            ),
            ChainBreakKind::Gap { expected } => {
                write!(
                    f,
                    "entries {expected} to {} are missing (deleted or moved)",
                    seq - 1
                )
            }
            ChainBreakKind::OutOfOrder { expected } => write!(
                f,
                "entry {seq} appears where entry {expected} should be: entries were inserted or reordered"
            ),
            ChainBreakKind::Truncated {
                anchor_seq,
                head_seq,
            } => write!(
                f,
                "the log ends at entry {head_seq} but entry {anchor_seq} was committed: entries {seq} to {anchor_seq} were removed"
            ),
            ChainBreakKind::AnchorMismatch => write!(
                f,
                "entry {seq} differs from the anchored head: history was rewritten"
            ),
        }
    }
}

/// Walks a chain entry by entry (in stored order) and reports the first break.
///
/// Feed entries with [`ChainVerifier::push`]; it stops recording after the first break. Call
/// [`ChainVerifier::finish`] with the anchor, if there is one.
#[derive(Debug)]
pub struct ChainVerifier {
    prev_hash: [u8; 32],
    next_seq: u64,
    checked: u64,
    anchor_hash_seen: Option<String>,
    anchor: Option<AuditAnchor>,
    first_break: Option<ChainBreak>,
}

impl ChainVerifier {
    /// A verifier for a chain that starts at entry 1, optionally checked against `anchor`.
    pub fn new(anchor: Option<AuditAnchor>) -> Self {
        ChainVerifier {
            prev_hash: GENESIS_HASH,
            next_seq: 1,
            checked: 0,
            anchor_hash_seen: None,
            anchor,
            first_break: None,
        }
    }

    /// Checks the next stored entry. Returns `false` once the chain is known to be broken.
    pub fn push(&mut self, e: &AuditEntry) -> bool {
        if self.first_break.is_some() {
            return false;
        }
        let brk = |kind| Some(ChainBreak { seq: e.seq, kind });
        self.first_break = if e.seq > self.next_seq {
            brk(ChainBreakKind::Gap {
                expected: self.next_seq,
            })
        } else if e.seq < self.next_seq {
            brk(ChainBreakKind::OutOfOrder {
                expected: self.next_seq,
            })
        } else if e.prev_hash != hex::encode(self.prev_hash) {
            brk(ChainBreakKind::LinkBroken)
        } else if e.hash != hex::encode(e.compute_hash(&self.prev_hash)) {
            brk(ChainBreakKind::ContentModified)
        } else {
            None
        };
        if self.first_break.is_some() {
            return false;
        }
        if let Some(a) = &self.anchor
            && a.seq == e.seq
        {
            self.anchor_hash_seen = Some(e.hash.clone());
        }
        // The stored hash was just verified, so it is safe to chain from it.
        let mut next = [0u8; 32];
        if hex::decode_to_slice(&e.hash, &mut next).is_err() {
            self.first_break = brk(ChainBreakKind::ContentModified);
            return false;
        }
        self.prev_hash = next;
        self.next_seq += 1;
        self.checked += 1;
        true
    }

    /// Ends the walk: the number of entries that verified, and the first break if any.
    pub fn finish(self) -> (u64, Option<ChainBreak>) {
        if self.first_break.is_some() {
            return (self.checked, self.first_break);
        }
        let head_seq = self.next_seq - 1;
        let brk = match &self.anchor {
            Some(a) if a.seq > head_seq => Some(ChainBreak {
                seq: head_seq + 1,
                kind: ChainBreakKind::Truncated {
                    anchor_seq: a.seq,
                    head_seq,
                },
            }),
            Some(a) if a.seq > 0 && self.anchor_hash_seen.as_deref() != Some(a.hash.as_str()) => {
                Some(ChainBreak {
                    seq: a.seq,
                    kind: ChainBreakKind::AnchorMismatch,
                })
            }
            _ => None,
        };
        (self.checked, brk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH;
        (1..=n)
            .map(|seq| {
                let mut e = AuditEntry {
                    seq,
                    time: format!("2026-11-21T10:00:{seq:02}.000000000Z"),
                    actor: "alice".into(),
                    role: "trader".into(),
                    action: "approval.approve".into(),
                    object_kind: "approval".into(),
                    object_id: format!("a{seq}"),
                    classification: "important".into(),
                    request_id: None,
                    details: json!({"z": 1, "a": [seq, "x"]}),
                    prev_hash: String::new(),
                    hash: String::new(),
                };
                e.seal(&prev);
                hex::decode_to_slice(&e.hash, &mut prev).unwrap();
                e
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry], anchor: Option<AuditAnchor>) -> Option<ChainBreak> {
        let mut v = ChainVerifier::new(anchor);
        for e in entries {
            v.push(e);
        }
        v.finish().1
    }

    fn anchor_of(entries: &[AuditEntry]) -> Option<AuditAnchor> {
        entries.last().map(|e| AuditAnchor {
            seq: e.seq,
            hash: e.hash.clone(),
        })
    }

    /// Known answers, computed independently (Python's `json` and `hashlib` on the documented
    /// canonical form): a change to the canonical bytes or the hashing would make every
    /// existing installation's audit chain fail verification, so it must fail here first.
    #[test]
    fn known_answer_hashes_of_a_two_entry_chain() {
        let mut first = AuditEntry {
            seq: 1,
            time: "2026-11-21T10:00:01.000000000Z".into(),
            actor: "alice".into(),
            role: "trader".into(),
            action: "approval.approve".into(),
            object_kind: "approval".into(),
            object_id: "apr_1".into(),
            classification: "important".into(),
            request_id: None,
            details: json!({"z": 1, "a": [1, "x"], "reason": "四眼复核 ok"}),
            prev_hash: String::new(),
            hash: String::new(),
        };
        assert_eq!(
            String::from_utf8(first.canonical_bytes()).unwrap(),
            r#"[1,"2026-11-21T10:00:01.000000000Z","alice","trader","approval.approve","approval","apr_1","important",null,{"a":[1,"x"],"reason":"四眼复核 ok","z":1}]"#
        );
        first.seal(&GENESIS_HASH);
        assert_eq!(
            first.hash,
            "c0165053b970ee009d9e9bf5c8fb4715dadefb35cac508948d65947437825cfd"
        );
        let mut prev = [0u8; 32];
        hex::decode_to_slice(&first.hash, &mut prev).unwrap();
        let mut second = AuditEntry {
            seq: 2,
            time: "2026-11-21T10:00:02.500000000Z".into(),
            actor: "system".into(),
            role: "system".into(),
            action: "user.create".into(),
            object_kind: "user".into(),
            object_id: "bob".into(),
            classification: "general".into(),
            request_id: Some("req-7".into()),
            details: json!({"role": "ops", "nested": {"b": true, "a": null}, "price": 101.25}),
            prev_hash: String::new(),
            hash: String::new(),
        };
        second.seal(&prev);
        assert_eq!(
            second.hash,
            "4fdace0fffc38239999a264d15f66c7ec2ceeb111b937966f5a2d928708c5fb7"
        );
        assert_eq!(verify(&[first, second], None), None);
    }

    #[test]
    fn canonical_bytes_sort_keys_and_ignore_insertion_order() {
        let mut a = chain(1).remove(0);
        let b_details: Value = serde_json::from_str(r#"{"a":[1,"x"],"z":1}"#).unwrap();
        let a_bytes = a.canonical_bytes();
        a.details = b_details;
        assert_eq!(a_bytes, a.canonical_bytes());
        assert!(
            String::from_utf8(a_bytes)
                .unwrap()
                .ends_with(r#"{"a":[1,"x"],"z":1}]"#)
        );
    }

    #[test]
    fn intact_chain_verifies_with_and_without_anchor() {
        let c = chain(5);
        assert_eq!(verify(&c, None), None);
        assert_eq!(verify(&c, anchor_of(&c)), None);
        assert_eq!(verify(&[], None), None);
    }

    #[test]
    fn each_kind_of_tampering_is_named() {
        let c = chain(6);
        let anchor = anchor_of(&c);

        let mut edited = c.clone();
        edited[2].details = json!({"z": 2});
        let b = verify(&edited, anchor.clone()).unwrap();
        assert_eq!((b.seq, b.kind), (3, ChainBreakKind::ContentModified));

        let mut deleted = c.clone();
        deleted.remove(3);
        let b = verify(&deleted, anchor.clone()).unwrap();
        assert_eq!((b.seq, b.kind), (5, ChainBreakKind::Gap { expected: 4 }));

        let mut reordered = c.clone();
        reordered.swap(1, 2);
        let b = verify(&reordered, anchor.clone()).unwrap();
        assert_eq!((b.seq, b.kind), (3, ChainBreakKind::Gap { expected: 2 }));

        let mut duplicated = c.clone();
        duplicated.insert(2, c[1].clone());
        let b = verify(&duplicated, anchor.clone()).unwrap();
        assert_eq!(
            (b.seq, b.kind),
            (2, ChainBreakKind::OutOfOrder { expected: 3 })
        );

        // Swapping contents but keeping the sequence numbers in place.
        let mut swapped = c.clone();
        let (s1, s2) = (swapped[1].seq, swapped[2].seq);
        swapped.swap(1, 2);
        swapped[1].seq = s1;
        swapped[2].seq = s2;
        let b = verify(&swapped, anchor.clone()).unwrap();
        assert_eq!((b.seq, b.kind), (2, ChainBreakKind::LinkBroken));

        let mut truncated = c.clone();
        truncated.truncate(4);
        let b = verify(&truncated, anchor.clone()).unwrap();
        assert!(b.to_string().contains("entries 5 to 6 were removed"));
        assert_eq!(
            (b.seq, b.kind),
            (
                5,
                ChainBreakKind::Truncated {
                    anchor_seq: 6,
                    head_seq: 4
                }
            )
        );
    }

    #[test]
    fn a_rewritten_history_is_caught_by_the_anchor() {
        let c = chain(4);
        let anchor = anchor_of(&c);
        // Re-seal everything after editing entry 2, as an attacker with the database would.
        let mut forged = c.clone();
        forged[1].details = json!({"forged": true});
        let mut prev = GENESIS_HASH;
        for e in &mut forged {
            e.seal(&prev);
            hex::decode_to_slice(&e.hash, &mut prev).unwrap();
        }
        assert_eq!(verify(&forged, None), None);
        let b = verify(&forged, anchor).unwrap();
        assert_eq!((b.seq, b.kind), (4, ChainBreakKind::AnchorMismatch));
    }
}
