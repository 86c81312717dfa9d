//! Roles, permissions and the one table that maps one to the other.
//!
//! Access is deny-by-default: a role has exactly the permissions listed for it in
//! [`Role::permissions`], and every HTTP route names the one permission it needs.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A user's role. Every user has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An institutional client talking to the RFQ bot.
    Client,
    /// A trader: approves quotes, watches the book.
    Trader,
    /// Legal staff: drafting and proofreading confirmations.
    Legal,
    /// Operations: uploads confirmations, reviews extractions.
    Ops,
    /// Compliance and regulatory reporting.
    Compliance,
    /// Research and risk: event reports, scenario analysis.
    Risk,
    /// Model-risk team: evaluation and bias-audit reports.
    ModelRisk,
    /// Administrators: users, tokens, audit verification.
    Admin,
}

impl Role {
    /// Every role, in a fixed order.
    pub const ALL: [Role; 8] = [
        Role::Client,
        Role::Trader,
        Role::Legal,
        Role::Ops,
        Role::Compliance,
        Role::Risk,
        Role::ModelRisk,
        Role::Admin,
    ];

    /// The stable name used in config, tokens, the CLI and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Trader => "trader",
            Role::Legal => "legal",
            Role::Ops => "ops",
            Role::Compliance => "compliance",
            Role::Risk => "risk",
            Role::ModelRisk => "model_risk",
            Role::Admin => "admin",
        }
    }

    /// The permissions of this role: the single table of record.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Client => &[RfqSubmit],
            Role::Trader => &[
                RfqSubmit,
                RfqRead,
                PricingRun,
                RiskRead,
                MarketRead,
                ApprovalsRead,
                ApprovalsDecide,
                DocumentsRead,
                ModelsUse,
                JobsRead,
            ],
            Role::Legal => &[
                DraftsRead,
                DraftsWrite,
                ComplianceRead,
                DocumentsRead,
                DocumentsWrite,
                DocumentsDeclassify,
                ApprovalsRead,
                ApprovalsCreate,
                ApprovalsDecide,
                ModelsUse,
                JobsRead,
            ],
            Role::Ops => &[
                ExtractionsSubmit,
                ExtractionsRead,
                ComplianceRead,
                DocumentsRead,
                DocumentsWrite,
                ApprovalsRead,
                ApprovalsCreate,
                ApprovalsDecide,
                ModelsUse,
                JobsRead,
            ],
            Role::Compliance => &[
                ComplianceRead,
                ComplianceManage,
                DocumentsRead,
                RfqRead,
                ExtractionsRead,
                ApprovalsRead,
                AuditRead,
                ModelsUse,
                JobsRead,
            ],
            Role::Risk => &[
                PricingRun,
                RiskRead,
                MarketRead,
                MarketWrite,
                DocumentsRead,
                ApprovalsRead,
                ApprovalsCreate,
                ApprovalsDecide,
                ModelsUse,
                JobsRead,
            ],
            Role::ModelRisk => &[
                EvalsRead,
                EvalsRun,
                AuditRead,
                ApprovalsRead,
                // Model changes (versions into production, restores) wait for model risk.
                ApprovalsDecide,
                ModelsUse,
                JobsRead,
            ],
            Role::Admin => Permission::ALL,
        }
    }

    /// Whether this role holds `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {given:?}; allowed: client, trader, legal, ops, compliance, risk, model_risk, admin"
)]
pub struct UnknownRole {
    /// What was given.
    pub given: String,
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole {
                given: s.to_string(),
            })
    }
}

/// Something a route or command may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Permission {
    /// Submit a request for quote (chat or API).
    RfqSubmit,
    /// Read the RFQ blotter.
    RfqRead,
    /// Run the pricing core on ad-hoc products.
    PricingRun,
    /// Read book risk and scenario grids.
    RiskRead,
    /// List and read approval requests.
    ApprovalsRead,
    /// Create approval requests.
    ApprovalsCreate,
    /// Approve, reject or edit approval requests.
    ApprovalsDecide,
    /// Read documents and ask questions of the knowledge base.
    DocumentsRead,
    /// Ingest and delete documents.
    DocumentsWrite,
    /// Lower a document's classification when replacing it (an explicit, audited
    /// declassification).
    DocumentsDeclassify,
    /// Upload confirmations for extraction.
    ExtractionsSubmit,
    /// Read extraction results.
    ExtractionsRead,
    /// Read drafts of confirmations and proofread documents.
    DraftsRead,
    /// Create and edit drafts of confirmations.
    DraftsWrite,
    /// Generate, compare and validate trade reports across regimes; ask the rule catalogue.
    ComplianceRead,
    /// Load the rule catalogue and add the firm's own provisions (a new catalogue version).
    ComplianceManage,
    /// Read market data and the events found in it or opened by hand.
    MarketRead,
    /// Import market data files and open risk events.
    MarketWrite,
    /// Call the local models (chat, completions, embeddings).
    ModelsUse,
    /// Read background jobs.
    JobsRead,
    /// Read evaluation reports.
    EvalsRead,
    /// Run evaluation suites.
    EvalsRun,
    /// Read and export the audit log.
    AuditRead,
    /// Manage users and tokens, verify the audit chain, read the configuration.
    Admin,
}

impl Permission {
    /// Every permission.
    pub const ALL: &'static [Permission] = &[
        Permission::RfqSubmit,
        Permission::RfqRead,
        Permission::PricingRun,
        Permission::RiskRead,
        Permission::ApprovalsRead,
        Permission::ApprovalsCreate,
        Permission::ApprovalsDecide,
        Permission::DocumentsRead,
        Permission::DocumentsWrite,
        Permission::DocumentsDeclassify,
        Permission::ExtractionsSubmit,
        Permission::ExtractionsRead,
        Permission::DraftsRead,
        Permission::DraftsWrite,
        Permission::ComplianceRead,
        Permission::ComplianceManage,
        Permission::MarketRead,
        Permission::MarketWrite,
        Permission::ModelsUse,
        Permission::JobsRead,
        Permission::EvalsRead,
        Permission::EvalsRun,
        Permission::AuditRead,
        Permission::Admin,
    ];

    /// The stable dotted name shown in errors and documentation.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::RfqSubmit => "rfq.submit",
            Permission::RfqRead => "rfq.read",
            Permission::PricingRun => "pricing.run",
            Permission::RiskRead => "risk.read",
            Permission::ApprovalsRead => "approvals.read",
            Permission::ApprovalsCreate => "approvals.create",
            Permission::ApprovalsDecide => "approvals.decide",
            Permission::DocumentsRead => "documents.read",
            Permission::DocumentsWrite => "documents.write",
            Permission::DocumentsDeclassify => "documents.declassify",
            Permission::ExtractionsSubmit => "extractions.submit",
            Permission::ExtractionsRead => "extractions.read",
            Permission::DraftsRead => "drafts.read",
            Permission::DraftsWrite => "drafts.write",
            Permission::ComplianceRead => "compliance.read",
            Permission::ComplianceManage => "compliance.manage",
            Permission::MarketRead => "market.read",
            Permission::MarketWrite => "market.write",
            Permission::ModelsUse => "models.use",
            Permission::JobsRead => "jobs.read",
            Permission::EvalsRead => "evals.read",
            Permission::EvalsRun => "evals.run",
            Permission::AuditRead => "audit.read",
            Permission::Admin => "admin",
        }
    }

    /// The roles that hold this permission.
    pub fn roles(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| r.allows(self)).collect()
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller: a user name and that user's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The user's unique name.
    pub user: String,
    /// The user's role.
    pub role: Role,
}

impl Principal {
    /// The principal used for work the system does on its own (expiry sweeps, bots).
    pub fn system() -> Principal {
        Principal {
            user: "system".into(),
            role: Role::Admin,
        }
    }

    /// Whether this principal holds `permission`.
    pub fn can(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
        let err = "superuser".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("model_risk"));
    }

    #[test]
    fn every_permission_is_held_by_admin_and_some_other_role_or_is_admin_only() {
        for p in Permission::ALL {
            assert!(Role::Admin.allows(*p));
            if *p != Permission::Admin {
                assert!(p.roles().len() > 1, "{p} is admin-only by accident");
            }
        }
        assert_eq!(Permission::Admin.roles(), vec![Role::Admin]);
    }

    #[test]
    fn clients_can_only_submit_rfqs() {
        assert_eq!(Role::Client.permissions(), &[Permission::RfqSubmit]);
    }
}
