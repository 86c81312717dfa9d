//! Data classification and clearance.
//!
//! Every stored document and artifact carries a [`DataClass`]: a [`Level`] (`core`, `important`,
//! `general`, following the PRC Data Security Law's grading) and a `sensitive` flag for personal
//! or secret data. A role's [`Clearance`] decides what it may read; the rule is applied by
//! [`Clearance::can_read`] everywhere (retrieval, exports, API reads).

use crate::role::Role;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Grading of data by the harm its disclosure would do. Ordered: `General < Important < Core`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Ordinary business data.
    General,
    /// Data whose disclosure harms the firm or its clients.
    Important,
    /// Data whose disclosure harms markets or the state; the strictest handling.
    Core,
}

impl Level {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::General => "general",
            Level::Important => "important",
            Level::Core => "core",
        }
    }
}

/// The classification of one stored object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DataClass {
    /// The grade.
    pub level: Level,
    /// Personal or secret data that must be redacted before prompts (`crate::redact` finds and
    /// replaces it) and shown only to roles cleared for it.
    pub sensitive: bool,
}

impl DataClass {
    /// General, not sensitive.
    pub const GENERAL: DataClass = DataClass {
        level: Level::General,
        sensitive: false,
    };
    /// Important, not sensitive.
    pub const IMPORTANT: DataClass = DataClass {
        level: Level::Important,
        sensitive: false,
    };
    /// Core, not sensitive.
    pub const CORE: DataClass = DataClass {
        level: Level::Core,
        sensitive: false,
    };

    /// Whether reads of data of this class must be written to the audit log.
    pub fn read_is_audited(self) -> bool {
        self.level >= Level::Important || self.sensitive
    }
}

impl fmt::Display for DataClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.level.as_str())?;
        if self.sensitive {
            f.write_str("+sensitive")?;
        }
        Ok(())
    }
}

/// A classification string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid classification {given:?}; allowed: general, important, core, optionally followed by +sensitive"
)]
pub struct InvalidClass {
    /// What was given.
    pub given: String,
}

impl FromStr for DataClass {
    type Err = InvalidClass;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || InvalidClass {
            given: s.to_string(),
        };
        let (level, sensitive) = match s.trim().split_once('+') {
            Some((l, "sensitive")) => (l, true),
            Some(_) => return Err(err()),
            None => (s.trim(), false),
        };
        let level = match level {
            "general" => Level::General,
            "important" => Level::Important,
            "core" => Level::Core,
            _ => return Err(err()),
        };
        Ok(DataClass { level, sensitive })
    }
}

/// What a role may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clearance {
    /// The highest level the role may read.
    pub max_level: Level,
    /// Whether the role may read sensitive data.
    pub sensitive: bool,
}

impl Clearance {
    /// The clearance of a role: the single table of record.
    pub fn of(role: Role) -> Clearance {
        let (max_level, sensitive) = match role {
            Role::Client => (Level::General, false),
            Role::Trader => (Level::Important, true),
            Role::Legal => (Level::Core, true),
            Role::Ops => (Level::Important, true),
            Role::Compliance => (Level::Core, true),
            Role::Risk => (Level::Important, false),
            Role::ModelRisk => (Level::Important, false),
            Role::Admin => (Level::Core, true),
        };
        Clearance {
            max_level,
            sensitive,
        }
    }

    /// The clearance that reads exactly up to `class` (a backend's configured maximum class).
    pub fn of_class(class: DataClass) -> Clearance {
        Clearance {
            max_level: class.level,
            sensitive: class.sensitive,
        }
    }

    /// Whether a holder of this clearance may read data of class `class`.
    pub fn can_read(self, class: DataClass) -> bool {
        class.level <= self.max_level && (!class.sensitive || self.sensitive)
    }

    /// What both may read: the clearance of a request that goes to a backend with its own
    /// clearance (`None`: no limit of its own).
    pub fn within(self, other: Option<Clearance>) -> Clearance {
        match other {
            None => self,
            Some(o) => Clearance {
                max_level: self.max_level.min(o.max_level),
                sensitive: self.sensitive && o.sensitive,
            },
        }
    }
}

impl DataClass {
    /// The class named by a stored classification string; one that does not parse is taken as
    /// the most restricted class (`core+sensitive`), so that a damaged label never widens
    /// access.
    pub fn parse_or_strictest(s: &str) -> DataClass {
        s.parse().unwrap_or(DataClass {
            level: Level::Core,
            sensitive: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display_round_trip() {
        for s in [
            "general",
            "important",
            "core",
            "core+sensitive",
            "general+sensitive",
        ] {
            let c: DataClass = s.parse().unwrap();
            assert_eq!(c.to_string(), s);
        }
        for bad in ["secret", "core+", "core+private", ""] {
            let e = bad.parse::<DataClass>().unwrap_err();
            assert!(
                e.to_string().contains("allowed: general, important, core"),
                "{e}"
            );
        }
    }

    #[test]
    fn clearance_table() {
        let sensitive_core = DataClass {
            level: Level::Core,
            sensitive: true,
        };
        assert!(Clearance::of(Role::Legal).can_read(sensitive_core));
        assert!(!Clearance::of(Role::Trader).can_read(DataClass::CORE));
        assert!(Clearance::of(Role::Trader).can_read(DataClass::IMPORTANT));
        assert!(!Clearance::of(Role::Client).can_read(DataClass::IMPORTANT));
        assert!(Clearance::of(Role::Client).can_read(DataClass::GENERAL));
        let general_sensitive = DataClass {
            level: Level::General,
            sensitive: true,
        };
        assert!(!Clearance::of(Role::Risk).can_read(general_sensitive));
        assert!(!Clearance::of(Role::Client).can_read(general_sensitive));
    }

    #[test]
    fn audited_reads() {
        assert!(!DataClass::GENERAL.read_is_audited());
        assert!(DataClass::IMPORTANT.read_is_audited());
        assert!(DataClass::CORE.read_is_audited());
        assert!(
            DataClass {
                level: Level::General,
                sensitive: true
            }
            .read_is_audited()
        );
    }
}
