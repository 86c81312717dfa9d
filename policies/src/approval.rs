//! The approval rules: which transitions of an approval request are allowed, for whom.
//!
//! An approval request is created `pending` by a *maker* and needs a person with the
//! `required_role` (or `admin`) to approve or reject it before it expires. With four-eyes on,
//! the approver must be neither the maker nor the author of the latest edit, whatever their role,
//! admins included. Repeating a decision already taken (approve an approved request, reject a
//! rejected one) is a no-op, so clients can retry safely. Storage and audit are done by the
//! caller; this module only decides.

use crate::role::{Principal, Role};
use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// The life-cycle state of an approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    /// Waiting for a decision.
    Pending,
    /// Approved: the artifact may leave the system.
    Approved,
    /// Rejected, with a reason.
    Rejected,
    /// Nobody decided before the deadline; the artifact must never be used.
    Expired,
    /// Replaced by a newer request for the same artifact.
    Superseded,
}

impl ApprovalState {
    /// Every state, in a fixed order.
    pub const ALL: [ApprovalState; 5] = [
        ApprovalState::Pending,
        ApprovalState::Approved,
        ApprovalState::Rejected,
        ApprovalState::Expired,
        ApprovalState::Superseded,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
            ApprovalState::Expired => "expired",
            ApprovalState::Superseded => "superseded",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<ApprovalState> {
        ApprovalState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// A name that is not an [`ApprovalState`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown approval state {given:?}; allowed: pending, approved, rejected, expired, superseded"
)]
pub struct UnknownApprovalState {
    /// What was given.
    pub given: String,
}

impl std::str::FromStr for ApprovalState {
    type Err = UnknownApprovalState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApprovalState::parse(s).ok_or_else(|| UnknownApprovalState {
            given: s.to_string(),
        })
    }
}

impl fmt::Display for ApprovalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the rules need to know about a stored request.
#[derive(Debug, Clone)]
pub struct ApprovalView<'a> {
    /// The stored state (before expiry is taken into account).
    pub state: ApprovalState,
    /// Who created it.
    pub maker: &'a str,
    /// Who made the latest edit, if anyone did.
    pub last_editor: Option<&'a str>,
    /// The role that must decide.
    pub required_role: Role,
    /// Whether the approver must differ from the maker and the last editor.
    pub four_eyes: bool,
    /// The deadline.
    pub expires_at: OffsetDateTime,
}

impl ApprovalView<'_> {
    /// The state at `now`: a pending request past its deadline is expired.
    pub fn effective_state(&self, now: OffsetDateTime) -> ApprovalState {
        if self.state == ApprovalState::Pending && now >= self.expires_at {
            ApprovalState::Expired
        } else {
            self.state
        }
    }
}

/// A decision someone asks to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalDecision {
    /// Approve as it stands.
    Approve,
    /// Reject, with a reason.
    Reject {
        /// Why; must not be blank.
        reason: String,
    },
    /// Replace the payload with an edited version (kept alongside the original).
    Edit,
}

/// What the caller must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Move to this state.
    To(ApprovalState),
    /// Store a new version of the payload; the state stays pending.
    NewVersion,
    /// Nothing: the same decision was already taken.
    NoOp,
    /// The request is past its deadline: record it as expired, then refuse with
    /// [`Denial::Expired`].
    MarkExpired,
}

/// Why a decision is refused, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// The actor lacks the role the request needs.
    #[error("this approval needs role {required}; you have role {actual}")]
    WrongRole {
        /// The role the request needs.
        required: Role,
        /// The actor's role.
        actual: Role,
    },
    /// Four-eyes: the actor made or last edited the request.
    #[error("four-eyes rule: {user} {what} this request, so someone else must approve it")]
    FourEyes {
        /// The actor.
        user: String,
        /// "created" or "last edited".
        what: &'static str,
    },
    /// The request is no longer pending.
    #[error("this request is {state}; only pending requests can be {verb}")]
    NotPending {
        /// Its state.
        state: ApprovalState,
        /// What was attempted ("approved", "rejected", "edited").
        verb: &'static str,
    },
    /// The deadline passed.
    #[error("this request expired at its deadline and can no longer be decided")]
    Expired,
    /// A rejection without a reason.
    #[error("a rejection needs a reason")]
    ReasonRequired,
}

/// Decides whether `actor` may take `decision` on the request described by `view` at `now`.
pub fn decide(
    view: &ApprovalView<'_>,
    actor: &Principal,
    decision: &ApprovalDecision,
    now: OffsetDateTime,
) -> Result<Transition, Denial> {
    if actor.role != view.required_role && actor.role != Role::Admin {
        return Err(Denial::WrongRole {
            required: view.required_role,
            actual: actor.role,
        });
    }
    if let ApprovalDecision::Reject { reason } = decision
        && reason.trim().is_empty()
    {
        return Err(Denial::ReasonRequired);
    }
    // Four-eyes is checked before the state, so the maker's (or last editor's) approval is
    // refused the same way whether or not someone else approved first: the answer never
    // depends on who won a race.
    if view.four_eyes && matches!(decision, ApprovalDecision::Approve) {
        if actor.user == view.maker {
            return Err(Denial::FourEyes {
                user: actor.user.clone(),
                what: "created",
            });
        }
        if view.last_editor == Some(actor.user.as_str()) {
            return Err(Denial::FourEyes {
                user: actor.user.clone(),
                what: "last edited",
            });
        }
    }
    let state = view.effective_state(now);
    let verb = match decision {
        ApprovalDecision::Approve => "approved",
        ApprovalDecision::Reject { .. } => "rejected",
        ApprovalDecision::Edit => "edited",
    };
    match (state, decision) {
        (ApprovalState::Approved, ApprovalDecision::Approve)
        | (ApprovalState::Rejected, ApprovalDecision::Reject { .. }) => Ok(Transition::NoOp),
        (ApprovalState::Expired, _) if view.state == ApprovalState::Pending => {
            Ok(Transition::MarkExpired)
        }
        (ApprovalState::Expired, _) => Err(Denial::Expired),
        (ApprovalState::Pending, ApprovalDecision::Approve) => {
            Ok(Transition::To(ApprovalState::Approved))
        }
        (ApprovalState::Pending, ApprovalDecision::Reject { .. }) => {
            Ok(Transition::To(ApprovalState::Rejected))
        }
        (ApprovalState::Pending, ApprovalDecision::Edit) => Ok(Transition::NewVersion),
        (state, _) => Err(Denial::NotPending { state, verb }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn view(state: ApprovalState, four_eyes: bool) -> ApprovalView<'static> {
        ApprovalView {
            state,
            maker: "maker",
            last_editor: None,
            required_role: Role::Trader,
            four_eyes,
            expires_at: now() + Duration::minutes(2),
        }
    }

    fn p(user: &str, role: Role) -> Principal {
        Principal {
            user: user.into(),
            role,
        }
    }

    fn check(
        v: &ApprovalView<'_>,
        who: Principal,
        d: ApprovalDecision,
        expect: Result<Transition, &str>,
    ) {
        let got = decide(v, &who, &d, now()).map_err(|e| e.to_string());
        match (&got, &expect) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert!(a.contains(b), "{a:?} lacks {b:?}"),
            _ => panic!("{v:?} {d:?}: got {got:?}, expected {expect:?}"),
        }
    }

    #[test]
    fn decisions() {
        use ApprovalDecision::*;
        use ApprovalState::*;
        let reject = || Reject {
            reason: "too wide".into(),
        };
        let pend4 = view(Pending, true);
        check(&pend4, p("maker", Role::Trader), Approve, Err("four-eyes"));
        check(&pend4, p("maker", Role::Admin), Approve, Err("four-eyes"));
        check(
            &pend4,
            p("bob", Role::Trader),
            Approve,
            Ok(Transition::To(Approved)),
        );
        check(
            &pend4,
            p("bob", Role::Admin),
            Approve,
            Ok(Transition::To(Approved)),
        );
        check(
            &pend4,
            p("bob", Role::Ops),
            Approve,
            Err("needs role trader"),
        );
        check(
            &pend4,
            p("maker", Role::Trader),
            reject(),
            Ok(Transition::To(Rejected)),
        );
        check(
            &pend4,
            p("bob", Role::Trader),
            Reject { reason: " ".into() },
            Err("needs a reason"),
        );
        check(
            &pend4,
            p("bob", Role::Trader),
            Edit,
            Ok(Transition::NewVersion),
        );

        let mut edited = view(Pending, true);
        edited.last_editor = Some("carol");
        check(
            &edited,
            p("carol", Role::Trader),
            Approve,
            Err("last edited"),
        );

        check(
            &view(Pending, false),
            p("maker", Role::Trader),
            Approve,
            Ok(Transition::To(Approved)),
        );

        check(
            &view(Approved, true),
            p("bob", Role::Trader),
            Approve,
            Ok(Transition::NoOp),
        );
        check(
            &view(Approved, true),
            p("bob", Role::Trader),
            reject(),
            Err("is approved"),
        );
        check(
            &view(Rejected, true),
            p("bob", Role::Trader),
            reject(),
            Ok(Transition::NoOp),
        );
        check(
            &view(Rejected, true),
            p("bob", Role::Trader),
            Approve,
            Err("is rejected"),
        );
        check(
            &view(Superseded, true),
            p("bob", Role::Trader),
            Approve,
            Err("is superseded"),
        );
        check(
            &view(Expired, true),
            p("bob", Role::Trader),
            Approve,
            Err("expired"),
        );
    }

    #[test]
    fn deadline_passes() {
        let v = view(ApprovalState::Pending, true);
        let later = v.expires_at;
        assert_eq!(v.effective_state(later), ApprovalState::Expired);
        assert_eq!(
            v.effective_state(later - Duration::seconds(1)),
            ApprovalState::Pending
        );
        let got = decide(
            &v,
            &p("bob", Role::Trader),
            &ApprovalDecision::Approve,
            later,
        );
        assert_eq!(got, Ok(Transition::MarkExpired));
    }
}
