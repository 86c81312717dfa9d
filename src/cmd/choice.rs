//! The command line's choice flags whose values are a library crate's enum: one `ValueEnum`
//! per enum here (the library crates know nothing of clap), so that `--help` lists the values
//! and clap refuses any other as a usage error.
//!
//! Each is declared with [`mirror!`], which also writes the conversions both ways with no
//! wildcard arm: a variant added to the library enum, or one missing here, fails to compile.
//! The spellings are the library's stable names (the ones its parser and its serde form
//! accept), aliases included, so every command line that worked before still does.

/// Declares `$name`, a `clap::ValueEnum` with one variant per variant of the library enum
/// `$lib`, each with its command-line spelling (and aliases), and `From` both ways.
macro_rules! mirror {
    (
        $(#[$meta:meta])*
        $name:ident => $lib:path {
            $( $(#[$vmeta:meta])* $variant:ident = $spelling:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
        pub enum $name {
            $( $(#[$vmeta])* #[value(name = $spelling $(, alias = $alias)*)] $variant, )+
        }

        impl From<$name> for $lib {
            fn from(c: $name) -> Self {
                match c {
                    $( $name::$variant => <$lib>::$variant, )+
                }
            }
        }

        impl From<$lib> for $name {
            fn from(c: $lib) -> Self {
                match c {
                    $( <$lib>::$variant => $name::$variant, )+
                }
            }
        }
    };
}

mirror! {
    /// `--engine` of `price` and `risk`.
    Engine => kernels::pricing::EngineKind {
        /// Closed form if one exists, else PDE if it applies, else Monte Carlo.
        Auto = "auto",
        /// Closed form.
        Analytic = "analytic",
        /// Monte Carlo.
        Mc = "mc",
        /// Finite differences.
        Pde = "pde",
    }
}

mirror! {
    /// `--backend` of `price` and `risk` (Monte Carlo).
    Backend => kernels::BackendChoice {
        /// The GPU when usable, else the CPU.
        Auto = "auto",
        /// The CPU only.
        Cpu = "cpu",
        /// The GPU or an error.
        Cuda = "cuda" | "gpu",
    }
}

mirror! {
    /// `--solve` of `price`.
    Solve => kernels::solve::SolveParameter {
        /// The autocall coupon (`phoenix.coupon` for a phoenix, else `ko_coupon`).
        Coupon = "coupon",
        /// The strike of the first leg (or of an autocall's loss leg).
        Strike = "strike",
        /// The single-barrier level.
        Barrier = "barrier",
        /// The autocall knock-out level.
        KoLevel = "ko_level",
        /// The autocall knock-in level.
        KiLevel = "ki_level",
        /// The participation of the first leg (or of the loss leg).
        Participation = "participation",
    }
}

mirror! {
    /// `--state` of `approvals list`.
    State => policies::ApprovalState {
        /// Waiting for a decision.
        Pending = "pending",
        /// Approved.
        Approved = "approved",
        /// Rejected, with a reason.
        Rejected = "rejected",
        /// Nobody decided before the deadline.
        Expired = "expired",
        /// Replaced by a newer request for the same artifact.
        Superseded = "superseded",
    }
}

mirror! {
    /// `--role` of `users add` and `approvals list`.
    RoleArg => policies::Role {
        /// An institutional client talking to the RFQ bot.
        Client = "client",
        /// A trader.
        Trader = "trader",
        /// Legal staff.
        Legal = "legal",
        /// Operations.
        Ops = "ops",
        /// Compliance and regulatory reporting.
        Compliance = "compliance",
        /// Research and risk.
        Risk = "risk",
        /// The model-risk team.
        ModelRisk = "model_risk",
        /// Administrators.
        Admin = "admin",
    }
}

mirror! {
    /// `--retrievers` of `search`.
    Retrievers => knowledge::Retrievers {
        /// BM25 and dense retrieval fused by weighted RRF.
        Hybrid = "hybrid",
        /// BM25 alone.
        Bm25 = "bm25",
        /// Dense retrieval alone.
        Dense = "dense",
    }
}

/// `--classification` of `ingest`: a level, optionally sensitive (a `policies::DataClass`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Classification {
    /// Ordinary business data.
    #[value(name = "general")]
    General,
    /// Important data.
    #[value(name = "important")]
    Important,
    /// Core data.
    #[value(name = "core")]
    Core,
    /// General, and sensitive.
    #[value(name = "general+sensitive")]
    GeneralSensitive,
    /// Important, and sensitive.
    #[value(name = "important+sensitive")]
    ImportantSensitive,
    /// Core, and sensitive.
    #[value(name = "core+sensitive")]
    CoreSensitive,
}

impl From<Classification> for policies::DataClass {
    fn from(c: Classification) -> Self {
        let name = clap::ValueEnum::to_possible_value(&c).expect("no variant is skipped");
        name.get_name()
            .parse()
            .expect("every spelling is a data class (tested)")
    }
}

/// The chains `deskmate eval validate CHAIN` validates (suite `validate-CHAIN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Chain {
    /// The pricing core against its references.
    Pricing,
    /// The RFQ parser's rules.
    Rfq,
    /// The RFQ parser's model fallback.
    RfqModel,
    /// Extraction of confirmations.
    Extraction,
    /// Cited answers of the knowledge base.
    Answers,
}

impl Chain {
    /// The validation suite's name.
    pub fn suite(self) -> String {
        let name = clap::ValueEnum::to_possible_value(&self).expect("no variant is skipped");
        format!("validate-{}", name.get_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    /// The spellings are the library's stable names, so a command line that the library's
    /// parser (or configuration) accepts is accepted here too.
    #[test]
    fn spellings_are_the_library_names() {
        for r in policies::Role::ALL {
            let v = RoleArg::from(r).to_possible_value().unwrap();
            assert_eq!(v.get_name(), r.as_str());
        }
        for s in policies::ApprovalState::ALL {
            let v = State::from(s).to_possible_value().unwrap();
            assert_eq!(v.get_name(), s.as_str());
        }
        for r in knowledge::Retrievers::ALL {
            let v = Retrievers::from(r).to_possible_value().unwrap();
            assert_eq!(v.get_name(), r.as_str());
        }
        for e in Engine::value_variants() {
            let name = e.to_possible_value().unwrap().get_name().to_string();
            let parsed: kernels::pricing::EngineKind = name.parse().unwrap();
            assert_eq!(parsed, (*e).into());
        }
        for b in Backend::value_variants() {
            for name in b.to_possible_value().unwrap().get_name_and_aliases() {
                let parsed: kernels::BackendChoice = name.parse().unwrap();
                assert_eq!(parsed, (*b).into());
            }
        }
        for s in Solve::value_variants() {
            let name = s.to_possible_value().unwrap().get_name().to_string();
            let parsed: kernels::solve::SolveParameter =
                serde_json::from_value(serde_json::Value::String(name)).unwrap();
            assert_eq!(parsed, (*s).into());
        }
        for c in Classification::value_variants() {
            let class = policies::DataClass::from(*c);
            assert_eq!(
                class.to_string(),
                c.to_possible_value().unwrap().get_name(),
                "{c:?}"
            );
        }
        let suites: Vec<String> = evals::suites()
            .iter()
            .map(|s| s.name().to_string())
            .collect();
        for c in Chain::value_variants() {
            assert!(suites.contains(&c.suite()), "{} is no suite", c.suite());
        }
    }
}
