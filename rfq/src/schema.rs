//! The canonical RFQ parse of `shared/schemas/rfq.md` as serde types.
//!
//! This module is the wire format of a parse: field names, enum spellings and units are fixed by
//! the schema document so that golden sets, the evaluation and `deskmate rfq parse` compare the
//! same thing. Every request serialises every field (absent ones as `null`), in the order of the
//! schema; whole-number levels and notionals serialise as JSON integers (`103`, `10000000`), other
//! values as decimals (`1.5`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// One message's parse: the requests it asks for and what is missing to price them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RfqParse {
    /// One entry per priced structure; empty when the message is not a request for quote.
    pub requests: Vec<RfqRequest>,
    /// Fields the desk needs to price and the message lacks, union over all requests, sorted by
    /// name, without duplicates.
    #[serde(default)]
    pub missing: Vec<MissingField>,
}

impl RfqParse {
    /// The parse of a message that is not a request for quote.
    pub fn empty() -> RfqParse {
        RfqParse::default()
    }

    /// The canonical JSON, on one line (what `deskmate rfq parse` prints).
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string(self)
            .unwrap_or_else(|_| String::from("{\"requests\":[],\"missing\":[]}"))
    }
}

/// One priced structure. Percentages are of the initial spot; `coupon_pct` is annualised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RfqRequest {
    /// Canonical code: `000905.SH`, `IC.CFFEX`, `IC2412.CFFEX`, `HSI.INDEX`, `0700.HK`, `AAPL.US`.
    pub underlying: Option<String>,
    /// The payoff family.
    pub structure: Option<Structure>,
    /// Call or put; `None` for snowballs and phoenixes.
    pub option_type: Option<OptionType>,
    /// Exercise style; `None` when not stated (the desk's default applies).
    pub exercise: Option<Exercise>,
    /// Direction from the client's point of view.
    pub side: Option<Side>,
    /// Strike in percent of spot (ATM = 100, 5% OTM call = 105, 5% OTM put = 95).
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub strike_pct: Option<f64>,
    /// Knock-out (autocall) level of a snowball or phoenix.
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub knock_out_pct: Option<f64>,
    /// Knock-in level of a snowball or phoenix.
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub knock_in_pct: Option<f64>,
    /// Barrier of a barrier option, knock-out level of a shark fin.
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub barrier_pct: Option<f64>,
    /// Annualised coupon in percent.
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub coupon_pct: Option<f64>,
    /// A phoenix's coupon barrier (派息线).
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub coupon_barrier_pct: Option<f64>,
    /// A digital's payout in percent of notional.
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub payout_pct: Option<f64>,
    /// A shark fin's participation rate (参与率).
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub participation_pct: Option<f64>,
    /// Tenor in whole months.
    pub tenor_months: Option<u32>,
    /// Notional in `currency` units.
    #[serde(serialize_with = "ser_num", deserialize_with = "de_num")]
    pub notional: Option<f64>,
    /// ISO 4217 code of the notional (`CNY` for onshore underlyings unless stated).
    pub currency: Option<String>,
    /// What the client asks the desk to solve.
    pub solve_for: Option<SolveFor>,
}

fn ser_num<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        // Whole numbers are written as integers: 103, not 103.0 (the schema's examples).
        Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => s.serialize_i64(*x as i64),
        Some(x) => s.serialize_f64(*x),
    }
}

fn de_num<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Option::<f64>::deserialize(d)
}

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $var),+
        }

        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The schema's spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }

            /// Parses the schema's spelling.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$var),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum!(
    /// The payoff family of a request (rfq.md `structure`).
    Structure {
        /// A European or American call or put.
        Vanilla => "vanilla",
        /// A cash-or-nothing digital.
        Digital => "digital",
        /// A knock-in or knock-out barrier option.
        Barrier => "barrier",
        /// A shark fin: a knock-out call or put with a participation rate.
        SharkFin => "shark_fin",
        /// An average-price option.
        Asian => "asian",
        /// A snowball autocallable (knock-out, knock-in, coupon).
        Snowball => "snowball",
        /// A phoenix autocallable (snowball with a coupon barrier).
        Phoenix => "phoenix",
    }
);

wire_enum!(
    /// Call or put (rfq.md `option_type`).
    OptionType {
        /// A call.
        Call => "call",
        /// A put.
        Put => "put",
    }
);

wire_enum!(
    /// Exercise style (rfq.md `exercise`).
    Exercise {
        /// Exercise at expiry only.
        European => "european",
        /// Exercise any time.
        American => "american",
    }
);

wire_enum!(
    /// Direction from the client's point of view (rfq.md `side`).
    Side {
        /// The client buys the option (the desk sells).
        ClientBuys => "client_buys",
        /// The client sells the option (the desk buys).
        ClientSells => "client_sells",
    }
);

wire_enum!(
    /// What the client asks the desk to solve (rfq.md `solve_for`).
    SolveFor {
        /// The option's price.
        Premium => "premium",
        /// The coupon of an autocallable.
        Coupon => "coupon",
        /// The strike.
        Strike => "strike",
        /// A barrier or knock-out level.
        Barrier => "barrier",
        /// A shark fin's participation rate.
        Participation => "participation",
    }
);

wire_enum!(
    /// A field the desk needs to price and the message lacks (rfq.md `missing`). Declared in
    /// alphabetical order, so sorting by value sorts by name.
    MissingField {
        /// `barrier_pct`.
        Barrier => "barrier",
        /// `coupon_pct`.
        Coupon => "coupon",
        /// `coupon_barrier_pct`.
        CouponBarrier => "coupon_barrier",
        /// `knock_in_pct`.
        KnockIn => "knock_in",
        /// `knock_out_pct`.
        KnockOut => "knock_out",
        /// `notional`.
        Notional => "notional",
        /// `option_type`.
        OptionType => "option_type",
        /// `participation_pct`.
        Participation => "participation",
        /// `payout_pct`.
        Payout => "payout",
        /// `strike_pct`.
        Strike => "strike",
        /// `structure`.
        Structure => "structure",
        /// `tenor_months`.
        Tenor => "tenor",
        /// `underlying`.
        Underlying => "underlying",
    }
);

impl Structure {
    /// Whether the structure is a call or put (and so needs `option_type`).
    pub fn has_option_type(self) -> bool {
        !matches!(self, Structure::Snowball | Structure::Phoenix)
    }

    /// Whether the structure is an autocallable (knock-out, knock-in, coupon).
    pub fn is_autocallable(self) -> bool {
        matches!(self, Structure::Snowball | Structure::Phoenix)
    }
}
