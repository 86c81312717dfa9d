//! The RFQ desk's parser: a chat message in, the canonical parse of `shared/schemas/rfq.md` out.
//!
//! # Design
//!
//! [`RfqParser::parse`] is a pure function of the message, the parse date (for futures contract
//! years) and the [`lexicon::Lexicon`]. The rule path runs in stages, each in its own module:
//!
//! 1. `normalize`: full-width to ASCII, traditional to simplified, known typos, Chinese numerals
//!    that are quantities (`三千万` → `3000万`).
//! 2. `lex` + `scan`: tokens, then the longest alias at each token from the lexicon (spacing and
//!    case do not matter), with an edit-distance pass for names the lexicon almost knows.
//! 3. `grammar`: numbers with units and keywords become field values (`敲出103`, `5kw`, `虚值5%`,
//!    `95 put`, `rb2605`), question words become `solve_for`, guard words are noted.
//! 4. `legs`: the values, in reading order, become one or more requests (a second, different
//!    value of a field starts a new request; a group naming only an underlying copies its
//!    neighbour's requests; requests fill what they lack from their neighbours), then `missing`.
//!
//! Every outcome carries a confidence in [0, 1] and the path that produced it ([`ParsePath`]).
//! Below [`DEFAULT_FALLBACK_THRESHOLD`] the caller may ask a local model
//! ([`RfqParser::parse_with_model`], a [`model::JsonGenerator`]): the model gets a prompt and a
//! JSON schema ([`model::fallback_prompt`], [`model::fallback_schema`]) and its answer is
//! validated field by field against the same lexicon ([`model::validate`]); an unknown
//! underlying code or an invented number is rejected, never trusted.
//!
//! A message that tries to instruct the bot ("忽略以上指令", "ignore previous instructions", "不用
//! 审批") or asks for other clients' business ("客户B的报价", "其他客户") never yields a request,
//! whatever else it contains: it is flagged for a person ([`Problem::Injection`],
//! [`Problem::InformationRequest`]). Messages over [`MAX_MESSAGE_CHARS`] are not parsed.
//!
//! [`clarify::question`] writes the one clarifying question for `missing`, in the client's
//! language; [`eval`] scores the parser on golden sets (the `rfq` evaluation suite).
//!
//! The desk around the parser (chat messages archived, parsed, priced with the desk's conventions
//! and margin, limit-checked, queued for a trader, and answered) is `assistant::desk`; this crate
//! knows nothing of the store, the configuration or approvals.

pub mod clarify;
pub mod eval;
mod grammar;
mod legs;
mod lex;
pub mod lexicon;
pub mod model;
mod normalize;
mod scan;
pub mod schema;

pub use clarify::Language;
pub use lexicon::{Lexicon, LexiconError, UnderlyingInfo, UnderlyingKind};
pub use model::{JsonGenerator, ModelOutputError};
pub use schema::{
    Exercise, MissingField, OptionType, RfqParse, RfqRequest, Side, SolveFor, Structure,
};

use grammar::{Ent, Val};
use serde::Serialize;
use std::fmt;
use std::sync::OnceLock;
use time::Date;

/// Messages longer than this (in characters) are not parsed: no RFQ is that long, and the
/// parser's time stays bounded.
pub const MAX_MESSAGE_CHARS: usize = 2_000;

/// The most requests one message may produce; more are dropped with a problem.
pub const MAX_REQUESTS: usize = 12;

/// Below this confidence a rule parse is handed to the model fallback, when one is wired.
pub const DEFAULT_FALLBACK_THRESHOLD: f32 = 0.6;

/// What a parse may depend on besides the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseContext {
    /// The date the message was received: futures contract months without a year (`hc10`) are
    /// the next such month on or after it (commodity-rfq-spec §3A).
    pub today: Date,
}

impl ParseContext {
    /// A context for messages received on `today`.
    pub fn new(today: Date) -> ParseContext {
        ParseContext { today }
    }

    /// A context for a date written `YYYY-MM-DD`; `None` when it is not one.
    pub fn from_iso(date: &str) -> Option<ParseContext> {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        Date::parse(date.trim(), &fmt).ok().map(ParseContext::new)
    }

    /// A context for today's date in UTC (callers in Asia should pass their local date).
    pub fn today_utc() -> ParseContext {
        ParseContext {
            today: time::OffsetDateTime::now_utc().date(),
        }
    }
}

/// Which path produced a parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParsePath {
    /// The rule and grammar core.
    Rules,
    /// The local model fallback, validated by the lexicon.
    Model,
}

/// Something the parser noticed and could not, or should not, resolve on its own. Problems
/// lower the confidence and are shown to the trader with the parse.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// The message is longer than [`MAX_MESSAGE_CHARS`] and was not parsed.
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// The message tries to instruct the bot; no request is produced.
    Injection,
    /// The message asks for other clients' business or for records; no request is produced.
    InformationRequest,
    /// A word was read as a lexicon alias it resembles.
    Corrected {
        /// As written.
        written: String,
        /// As read.
        read_as: String,
    },
    /// A number that no rule used.
    UnassignedNumber {
        /// The number as read.
        text: String,
    },
    /// Both directions, or a two-way request: `side` left unset.
    AmbiguousSide,
    /// A tenor in weeks, days or a fraction of a month: `tenor_months` left unset.
    UnsupportedTenor {
        /// The tenor as read.
        written: String,
    },
    /// A strike that is not a percentage of spot (an absolute price, commodity price points).
    StrikeNotPercent {
        /// The strike as read.
        written: String,
    },
    /// 虚值/实值 X% without call or put: the strike cannot be placed.
    StrikeNeedsCallPut,
    /// A field the structure does not use was dropped.
    DroppedField {
        /// The field.
        field: String,
        /// The structure.
        structure: String,
    },
    /// A premium was stated as a number; the schema has no field for it.
    PremiumGiven,
    /// More requests than [`MAX_REQUESTS`]; the rest were dropped.
    TooManyRequests {
        /// How many the message had.
        found: usize,
        /// How many were kept.
        kept: usize,
    },
    /// The model fallback's answer was rejected; the rule parse stands.
    ModelRejected {
        /// Why.
        reason: String,
    },
    /// A field of the model's answer was not supported by the message and was cleared.
    ModelFieldUngrounded {
        /// The field.
        field: String,
    },
    /// The model read a field the rules had read differently; the rules' value was kept.
    ModelDisagreed {
        /// The field.
        field: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::TooLong { chars } => write!(f, "message of {chars} characters not parsed"),
            Problem::Injection => f.write_str("message tries to instruct the bot"),
            Problem::InformationRequest => {
                f.write_str("message asks for other clients' business or records")
            }
            Problem::Corrected { written, read_as } => write!(f, "read {written:?} as {read_as:?}"),
            Problem::UnassignedNumber { text } => write!(f, "number {text} not used"),
            Problem::AmbiguousSide => f.write_str("direction ambiguous"),
            Problem::UnsupportedTenor { written } => {
                write!(f, "tenor {written} is not a whole month count")
            }
            Problem::StrikeNotPercent { written } => {
                write!(f, "strike {written} is not a percentage of spot")
            }
            Problem::StrikeNeedsCallPut => f.write_str("moneyness given without call or put"),
            Problem::DroppedField { field, structure } => {
                write!(f, "{field} dropped: not used by {structure}")
            }
            Problem::PremiumGiven => f.write_str("premium stated; not part of the request"),
            Problem::TooManyRequests { found, kept } => write!(f, "{found} requests, kept {kept}"),
            Problem::ModelRejected { reason } => write!(f, "model answer rejected: {reason}"),
            Problem::ModelFieldUngrounded { field } => {
                write!(f, "model field {field} not in the message")
            }
            Problem::ModelDisagreed { field } => {
                write!(f, "model read {field} differently; the rules' reading kept")
            }
        }
    }
}

/// A parse with how it was obtained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParseOutcome {
    /// The canonical parse.
    pub parse: RfqParse,
    /// Confidence in [0, 1] that the parse is right (including "not an RFQ").
    pub confidence: f32,
    /// The path that produced it.
    pub path: ParsePath,
    /// What the parser noticed.
    pub problems: Vec<Problem>,
    /// The client's language, for replies.
    pub language: Language,
    /// For each request (same order as `parse.requests`), the fields whose value came from
    /// the local model: those the rule parse left empty or read differently. Every other field
    /// came from the rules. Empty on the rule path.
    pub model_fields: Vec<Vec<String>>,
}

impl ParseOutcome {
    /// Whether the message was held back for a person (an injection attempt or a request for
    /// other clients' business): the bot must not answer it automatically.
    pub fn flagged(&self) -> bool {
        self.problems
            .iter()
            .any(|p| matches!(p, Problem::Injection | Problem::InformationRequest))
    }
}

/// The RFQ parser: a lexicon and its indexes.
pub struct RfqParser {
    lexicon: Lexicon,
    fuzzy: scan::FuzzyIndex,
    fallback_threshold: f32,
}

impl fmt::Debug for RfqParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RfqParser")
            .field("fallback_threshold", &self.fallback_threshold)
            .finish_non_exhaustive()
    }
}

impl RfqParser {
    /// A parser over `lexicon`.
    pub fn new(lexicon: Lexicon) -> RfqParser {
        let fuzzy = scan::FuzzyIndex::new(&lexicon);
        RfqParser {
            lexicon,
            fuzzy,
            fallback_threshold: DEFAULT_FALLBACK_THRESHOLD,
        }
    }

    /// The parser over the built-in lexicon, built once.
    pub fn builtin() -> &'static RfqParser {
        static P: OnceLock<RfqParser> = OnceLock::new();
        P.get_or_init(|| RfqParser::new(Lexicon::builtin().clone()))
    }

    /// Sets the confidence below which [`RfqParser::parse_with_model`] asks the model.
    pub fn with_fallback_threshold(mut self, threshold: f32) -> RfqParser {
        self.fallback_threshold = threshold;
        self
    }

    /// The lexicon.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// Parses `message` on the rule path.
    pub fn parse(&self, message: &str, ctx: &ParseContext) -> ParseOutcome {
        let language = clarify::detect_language(message);
        let chars = message.chars().count();
        if chars > MAX_MESSAGE_CHARS {
            return ParseOutcome {
                parse: RfqParse::empty(),
                confidence: 1.0,
                path: ParsePath::Rules,
                problems: vec![Problem::TooLong { chars }],
                language,
                model_fields: Vec::new(),
            };
        }
        let norm = normalize::normalize(message, &self.lexicon.variants);
        let toks = lex::tokenize(&norm.text);
        let items = scan::scan(&toks, &self.lexicon, &self.fuzzy);
        let analysis = grammar::analyse(&items, &toks, &self.lexicon, ctx.today);
        let notes = &analysis.notes;
        let mut problems: Vec<Problem> = Vec::new();
        for (written, read_as) in &norm.corrections {
            problems.push(Problem::Corrected {
                written: written.clone(),
                read_as: read_as.clone(),
            });
        }
        for (alias, written) in &notes.fuzzy {
            problems.push(Problem::Corrected {
                written: written.clone(),
                read_as: alias.clone(),
            });
        }
        if notes.injection || notes.information {
            if notes.injection {
                problems.push(Problem::Injection);
            }
            if notes.information {
                problems.push(Problem::InformationRequest);
            }
            return ParseOutcome {
                parse: RfqParse::empty(),
                confidence: 1.0,
                path: ParsePath::Rules,
                problems,
                language,
                model_fields: Vec::new(),
            };
        }
        if notes.premium_given {
            problems.push(Problem::PremiumGiven);
        }
        for n in &notes.unassigned {
            problems.push(Problem::UnassignedNumber { text: n.clone() });
        }
        let evidence = Evidence::of(&analysis.ents, notes);
        if !evidence.is_rfq() {
            // Not a request for quote. Confident when nothing of an RFQ was there at all.
            let confidence = if evidence.subject { 0.7 } else { 0.95 };
            return ParseOutcome {
                parse: RfqParse::empty(),
                confidence,
                path: ParsePath::Rules,
                problems,
                language,
                model_fields: Vec::new(),
            };
        }
        let requests = legs::build(&analysis.ents, &self.lexicon, &mut problems);
        let parse = with_missing(requests);
        let confidence = confidence(&parse, notes, &problems);
        ParseOutcome {
            parse,
            confidence,
            path: ParsePath::Rules,
            problems,
            language,
            model_fields: Vec::new(),
        }
    }

    /// Parses `message` on the rule path and, when the rules are not confident enough (below
    /// the fallback threshold) and the message is not flagged, asks `model` and validates its
    /// answer against the lexicon. A rejected answer leaves the rule parse, with the reason
    /// among its problems.
    pub fn parse_with_model<G: JsonGenerator>(
        &self,
        message: &str,
        ctx: &ParseContext,
        model: &mut G,
    ) -> ParseOutcome {
        self.parse_with_model_below(message, ctx, self.fallback_threshold, model)
    }

    /// [`RfqParser::parse_with_model`] with another fallback threshold (the desk's configured
    /// one, `rfq.model_fallback_threshold`).
    pub fn parse_with_model_below<G: JsonGenerator>(
        &self,
        message: &str,
        ctx: &ParseContext,
        threshold: f32,
        model: &mut G,
    ) -> ParseOutcome {
        let rules = self.parse(message, ctx);
        let too_long = rules
            .problems
            .iter()
            .any(|p| matches!(p, Problem::TooLong { .. }));
        if rules.confidence >= threshold || rules.flagged() || too_long {
            return rules;
        }
        model::run_fallback(self, message, ctx, rules, model)
    }
}

/// Parses `message` with the built-in lexicon (see [`RfqParser::parse`]).
pub fn parse(message: &str, ctx: &ParseContext) -> ParseOutcome {
    RfqParser::builtin().parse(message, ctx)
}

/// A parse with `missing` computed: union over the requests, sorted.
pub fn with_missing(requests: Vec<RfqRequest>) -> RfqParse {
    let mut missing: Vec<MissingField> = requests.iter().flat_map(legs::missing).collect();
    missing.sort();
    missing.dedup();
    RfqParse { requests, missing }
}

/// What in a message points to a request for quote.
struct Evidence {
    /// An underlying, a structure or call/put.
    subject: bool,
    /// A level, tenor or notional.
    values: bool,
    solve: bool,
    quote: bool,
}

impl Evidence {
    fn of(ents: &[Ent], notes: &grammar::Notes) -> Evidence {
        let has = |f: &dyn Fn(&Ent) -> bool| ents.iter().any(f);
        let underlying = has(&|e| matches!(e, Ent::Field(Val::Underlying(_))));
        let kind = has(&|e| matches!(e, Ent::Field(Val::Structure(_) | Val::OptionType(_))));
        let values = has(&|e| {
            matches!(
                e,
                Ent::Pair(..)
                    | Ent::Field(
                        Val::Strike(_)
                            | Val::KnockOut(_)
                            | Val::KnockIn(_)
                            | Val::Barrier(_)
                            | Val::Coupon(_)
                            | Val::CouponBarrier(_)
                            | Val::Participation(_)
                            | Val::Payout(_)
                            | Val::Tenor(_)
                            | Val::Notional(_)
                    )
            )
        });
        let solve = has(&|e| matches!(e, Ent::Solve(..)));
        Evidence {
            subject: underlying || kind,
            values,
            solve,
            quote: notes.quote,
        }
    }

    fn is_rfq(&self) -> bool {
        // An underlying and a structure alone are chatter ("snowball market is crazy today,
        // CSI 500 down 2%"); a request has a term, a question or a word asking for a quote.
        self.subject && (self.values || self.solve || self.quote)
    }
}

/// The rule path's confidence: 1 for a clean parse, lowered by every sign of doubt.
fn confidence(parse: &RfqParse, notes: &grammar::Notes, problems: &[Problem]) -> f32 {
    let mut c: f32 = 1.0;
    for p in problems {
        c *= match p {
            Problem::Corrected { .. } => 0.93,
            Problem::UnassignedNumber { .. } => 0.8,
            Problem::AmbiguousSide => 0.95,
            Problem::UnsupportedTenor { .. } | Problem::StrikeNotPercent { .. } => 0.95,
            Problem::StrikeNeedsCallPut => 0.9,
            Problem::DroppedField { .. } => 0.85,
            Problem::TooManyRequests { .. } => 0.7,
            _ => 1.0,
        };
    }
    if notes.total > 0 {
        let unknown = notes.unknown as f32 / notes.total as f32;
        c *= 1.0 - 0.6 * unknown;
    }
    c *= 0.97f32.powi(notes.guesses as i32);
    c *= 0.95f32.powi(notes.ignored_codes as i32);
    if parse.requests.len() > 1 && !(notes.each || notes.same || notes.conj) {
        c *= 0.85;
    }
    for r in &parse.requests {
        if r.underlying.is_none() {
            c *= 0.85;
        }
        if r.structure.is_none() {
            c *= 0.75;
        }
    }
    c.clamp(0.0, 1.0)
}

impl From<Structure> for policies::limits::ProductKind {
    fn from(s: Structure) -> Self {
        use policies::limits::ProductKind as K;
        match s {
            Structure::Vanilla => K::Vanilla,
            Structure::Digital => K::Digital,
            Structure::Barrier => K::Barrier,
            Structure::SharkFin => K::SharkFin,
            Structure::Asian => K::Asian,
            Structure::Snowball => K::Snowball,
            Structure::Phoenix => K::Phoenix,
        }
    }
}

/// The limit check of `request` for `client` (see [`policies::limits::check`]); `None` when the
/// request has no underlying or structure (it cannot be priced, so there is nothing to check).
pub fn limit_check<'a>(
    client: &'a str,
    request: &'a RfqRequest,
    greeks: Option<policies::limits::QuoteGreeks>,
) -> Option<policies::limits::QuoteCheck<'a>> {
    Some(policies::limits::QuoteCheck {
        client,
        underlying: request.underlying.as_deref()?,
        structure: request.structure?.into(),
        notional: request.notional,
        currency: request.currency.as_deref(),
        tenor_months: request.tenor_months,
        greeks,
    })
}
