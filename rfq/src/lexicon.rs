//! The parser's lexicon: underlyings, futures products, keyword vocabulary and spelling variants.
//!
//! The data lives in four TOML files under `rfq/data/` (`underlyings.toml`,
//! `futures.toml`, `vocab.toml`, `variants.toml`, each documented in its header). They are
//! compiled in ([`Lexicon::builtin`]) and can be replaced at run time by a directory holding the
//! same four files ([`Lexicon::load_dir`]), so a desk adds an underlying or a slang word without
//! a rebuild. Loading checks the data: an alias that means two different things is an error that
//! names the file and the alias.

use super::lex::{TokKind, Token, tokenize};
use super::schema::{Exercise, OptionType, Side, Structure};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use thiserror::Error;

/// The compiled-in `underlyings.toml`.
pub const BUILTIN_UNDERLYINGS: &str = include_str!("../data/underlyings.toml");
/// The compiled-in `futures.toml`.
pub const BUILTIN_FUTURES: &str = include_str!("../data/futures.toml");
/// The compiled-in `vocab.toml`.
pub const BUILTIN_VOCAB: &str = include_str!("../data/vocab.toml");
/// The compiled-in `variants.toml`.
pub const BUILTIN_VARIANTS: &str = include_str!("../data/variants.toml");

/// Why a lexicon could not be loaded. Always the data's fault (or the file system's).
#[derive(Debug, Error)]
pub enum LexiconError {
    /// A file could not be read.
    #[error("cannot read lexicon file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not valid TOML of the expected shape.
    #[error("lexicon file {file}: {message}")]
    Syntax {
        /// The file name (`vocab.toml`).
        file: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is not allowed.
    #[error("lexicon file {file}: {what}")]
    Invalid {
        /// The file name.
        file: String,
        /// What is wrong, naming the entry.
        what: String,
    },
    /// One alias means two different things.
    #[error("lexicon file {file}: alias {alias:?} means both {first} and {second}")]
    Ambiguous {
        /// The file of the second meaning.
        file: String,
        /// The alias.
        alias: String,
        /// The first meaning.
        first: String,
        /// The second meaning.
        second: String,
    },
}

/// What kind of underlying an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnderlyingKind {
    /// An equity index.
    Index,
    /// An exchange-traded fund.
    Etf,
    /// A single stock.
    Stock,
    /// A futures product (from `futures.toml`).
    Future,
}

/// What the lexicon knows about a canonical underlying code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnderlyingInfo {
    /// The canonical code.
    pub code: String,
    /// Its default currency.
    pub currency: String,
    /// Its name as the data file writes it first (`沪深300`), or for a futures contract its
    /// product's name; the code when the data has none.
    pub name: String,
    /// Its kind.
    pub kind: UnderlyingKind,
}

/// How a futures product code written alone (without a month) is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BarePolicy {
    /// In any case.
    Any,
    /// Only in capitals.
    Upper,
    /// Never alone.
    None,
}

/// A futures product.
#[derive(Debug, Clone)]
pub(crate) struct Product {
    /// Upper-case product code (`RB`).
    pub code: String,
    /// Exchange (`SHFE`).
    pub exchange: String,
    /// Bare-code policy.
    pub bare: BarePolicy,
    /// Its first name in the data file (`螺纹钢`).
    pub name: String,
}

/// Moneyness words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moneyness {
    /// 平值 / ATM.
    Atm,
    /// 虚值 / OTM.
    Otm,
    /// 实值 / ITM.
    Itm,
}

/// Level keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// 敲出.
    KnockOut,
    /// 敲入.
    KnockIn,
    /// 障碍.
    Barrier,
    /// 行权价.
    Strike,
    /// 票息.
    Coupon,
    /// 派息线.
    CouponBarrier,
    /// 参与率.
    Participation,
    /// 赔付.
    Payout,
}

/// Units that follow a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// 个月, months.
    Months,
    /// 月 without 个: months, or a contract month after a futures product.
    MonthWord,
    /// 年, years.
    Years,
    /// 周, weeks.
    Weeks,
    /// 天, days.
    Days,
    /// %, 个点.
    Percent,
    /// 点: index points.
    Points,
    /// 万.
    Wan,
    /// w: 万, or weeks for small counts.
    W,
    /// 亿, 个亿.
    Yi,
    /// 千万, kw.
    Qianwan,
    /// 百万.
    Baiwan,
    /// mm, mn, million.
    Million,
    /// m: months, or millions after a notional keyword.
    M,
    /// 千, k.
    Thousand,
    /// bn, billion.
    Billion,
}

const UNITS: &[(&str, Unit)] = &[
    ("个月", Unit::Months),
    ("月", Unit::MonthWord),
    ("mo", Unit::Months),
    ("mos", Unit::Months),
    ("mth", Unit::Months),
    ("mths", Unit::Months),
    ("month", Unit::Months),
    ("months", Unit::Months),
    ("年", Unit::Years),
    ("年期", Unit::Years),
    ("y", Unit::Years),
    ("yr", Unit::Years),
    ("yrs", Unit::Years),
    ("year", Unit::Years),
    ("years", Unit::Years),
    ("周", Unit::Weeks),
    ("个星期", Unit::Weeks),
    ("星期", Unit::Weeks),
    ("个礼拜", Unit::Weeks),
    ("礼拜", Unit::Weeks),
    ("wk", Unit::Weeks),
    ("wks", Unit::Weeks),
    ("week", Unit::Weeks),
    ("weeks", Unit::Weeks),
    ("天", Unit::Days),
    ("日", Unit::Days),
    ("个交易日", Unit::Days),
    ("交易日", Unit::Days),
    ("个工作日", Unit::Days),
    ("d", Unit::Days),
    ("day", Unit::Days),
    ("days", Unit::Days),
    ("%", Unit::Percent),
    ("个点", Unit::Percent),
    ("pct", Unit::Percent),
    ("percent", Unit::Percent),
    ("点", Unit::Points),
    ("万", Unit::Wan),
    ("w", Unit::W),
    ("亿", Unit::Yi),
    ("个亿", Unit::Yi),
    ("千万", Unit::Qianwan),
    ("kw", Unit::Qianwan),
    ("百万", Unit::Baiwan),
    ("mm", Unit::Million),
    ("mn", Unit::Million),
    ("mio", Unit::Million),
    ("million", Unit::Million),
    ("millions", Unit::Million),
    ("m", Unit::M),
    ("千", Unit::Thousand),
    ("k", Unit::Thousand),
    ("bn", Unit::Billion),
    ("billion", Unit::Billion),
];

/// The meaning of an alias.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Term {
    /// An index, ETF or stock (index into the lexicon's underlyings).
    Underlying(usize),
    /// A futures product by name (index into the products).
    Product(usize),
    /// A futures product by its code, subject to the product's bare policy.
    ProductCode(usize),
    /// An explicit structure.
    Structure(Structure),
    /// A structure hint ("期权") that yields to an explicit one.
    WeakStructure(Structure),
    /// Call or put.
    OptionType(OptionType),
    /// Exercise style.
    Exercise(Exercise),
    /// 平值 / 虚值 / 实值.
    Moneyness(Moneyness),
    /// 虚 / 实: only with a number.
    ShortMoneyness(Moneyness),
    /// A level keyword.
    Level(Level),
    /// 期限.
    TenorKw,
    /// 名义本金.
    NotionalKw,
    /// A currency (index into the lexicon's currencies).
    Currency(usize),
    /// A side; `None` for two-way.
    Side(Option<Side>),
    /// Asking for the premium.
    Premium,
    /// A question word.
    Question,
    /// Words of a request for quote.
    Quote,
    /// "各报一个", "each".
    Each,
    /// "同样结构", "same".
    Same,
    /// "和", "and".
    Conj,
    /// An attempt to instruct the bot.
    Injection,
    /// A request for other clients' business or for records.
    Information,
    /// A filler word.
    Filler,
    /// A unit after a number.
    Unit(Unit),
}

impl Term {
    /// Whether a term may share its alias with another (code-generated meanings).
    fn shareable(self) -> bool {
        matches!(self, Term::Unit(_) | Term::ProductCode(_))
    }
}

/// One alias: its tokens and meanings.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Token texts.
    pub toks: Vec<String>,
    /// Meanings (several only for a unit and a product code, such as "m").
    pub terms: Vec<Term>,
}

/// Character and typo variants.
#[derive(Debug, Clone, Default)]
pub(crate) struct Variants {
    traditional: HashMap<char, char>,
    typos: Vec<(String, String)>,
    confusables: Vec<(char, char)>,
}

impl Variants {
    /// The simplified form of `c` (or `c`).
    pub fn simplify(&self, c: char) -> char {
        self.traditional.get(&c).copied().unwrap_or(c)
    }

    /// Whether `a` and `b` are look-alike characters.
    pub fn confusable(&self, a: char, b: char) -> bool {
        self.confusables
            .iter()
            .any(|&(x, y)| (x, y) == (a, b) || (y, x) == (a, b))
    }

    /// Known typos and their corrections, longest first.
    pub fn typos(&self) -> &[(String, String)] {
        &self.typos
    }
}

/// The parser's lexicon. See the module documentation.
#[derive(Debug, Clone)]
pub struct Lexicon {
    pub(crate) underlyings: Vec<UnderlyingInfo>,
    pub(crate) products: Vec<Product>,
    pub(crate) currencies: Vec<String>,
    /// Aliases by first token, longest first.
    pub(crate) dict: HashMap<String, Vec<Entry>>,
    /// Bare-number short names of indices ("500" → 中证500).
    pub(crate) short: HashMap<String, usize>,
    /// Aliases of two CJK tokens, or three or more tokens with CJK, for the edit-distance pass.
    pub(crate) fuzzy_cjk: Vec<Entry>,
    /// Single-token Latin aliases of five or more letters, for the edit-distance pass.
    pub(crate) fuzzy_latin: Vec<(String, Term)>,
    pub(crate) variants: Variants,
    codes: HashMap<String, usize>,
    product_codes: HashMap<String, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnderlyingsFile {
    underlying: Vec<UnderlyingRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnderlyingRow {
    code: String,
    currency: String,
    kind: UnderlyingKind,
    aliases: Vec<String>,
    #[serde(default)]
    short: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FuturesFile {
    product: Vec<ProductRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductRow {
    code: String,
    exchange: String,
    /// Digits of the exchange's own month code (4: YYMM, 3: YMM on CZCE); checked, and read by
    /// people: the parser accepts both forms for every product.
    month_digits: u8,
    bare: BarePolicy,
    names: Vec<String>,
}

type Lists = BTreeMap<String, Vec<String>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VocabFile {
    structure: Lists,
    weak_structure: Lists,
    option_type: Lists,
    exercise: Lists,
    moneyness: Lists,
    short_moneyness: Lists,
    level: Lists,
    keyword: Lists,
    currency: Lists,
    side: Lists,
    cue: Lists,
    guard: Lists,
    filler: Lists,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantsFile {
    traditional: TraditionalTable,
    typos: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TraditionalTable {
    pairs: Vec<String>,
    #[serde(default)]
    confusables: Vec<String>,
}

fn syntax(file: &str, e: impl std::fmt::Display) -> LexiconError {
    LexiconError::Syntax {
        file: file.to_string(),
        message: e.to_string(),
    }
}

fn invalid(file: &str, what: String) -> LexiconError {
    LexiconError::Invalid {
        file: file.to_string(),
        what,
    }
}

struct Builder {
    entries: HashMap<Vec<String>, Entry>,
}

impl Builder {
    fn add(
        &mut self,
        file: &str,
        alias: &str,
        term: Term,
        lex: &Lexicon,
    ) -> Result<(), LexiconError> {
        let toks: Vec<String> = tokenize(alias).into_iter().map(|t| t.text).collect();
        if toks.is_empty() {
            return Err(invalid(
                file,
                format!("empty alias for {}", describe(term, lex)),
            ));
        }
        let entry = self.entries.entry(toks.clone()).or_insert_with(|| Entry {
            toks,
            terms: Vec::new(),
        });
        if entry.terms.contains(&term) {
            return Ok(());
        }
        if let Some(first) = entry
            .terms
            .iter()
            .find(|t| !(t.shareable() || term.shareable()))
        {
            return Err(LexiconError::Ambiguous {
                file: file.to_string(),
                alias: alias.to_string(),
                first: describe(*first, lex),
                second: describe(term, lex),
            });
        }
        entry.terms.push(term);
        Ok(())
    }
}

fn describe(term: Term, lex: &Lexicon) -> String {
    match term {
        Term::Underlying(i) => format!("underlying {}", lex.underlyings[i].code),
        Term::Product(i) | Term::ProductCode(i) => format!("future {}", lex.products[i].code),
        other => format!("{other:?}"),
    }
}

impl Lexicon {
    /// The compiled-in lexicon, built once.
    pub fn builtin() -> &'static Lexicon {
        static BUILTIN: OnceLock<Lexicon> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            Lexicon::from_sources(
                BUILTIN_UNDERLYINGS,
                BUILTIN_FUTURES,
                BUILTIN_VOCAB,
                BUILTIN_VARIANTS,
            )
            // The built-in files are ours and loaded by every test run: a failure here is a
            // bug in the committed data, caught before release.
            .expect("the built-in RFQ lexicon in rfq/data is valid")
        })
    }

    /// Loads `underlyings.toml`, `futures.toml`, `vocab.toml` and `variants.toml` from `dir`.
    pub fn load_dir(dir: &Path) -> Result<Lexicon, LexiconError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| LexiconError::Read { path, source })
        };
        Lexicon::from_sources(
            &read("underlyings.toml")?,
            &read("futures.toml")?,
            &read("vocab.toml")?,
            &read("variants.toml")?,
        )
    }

    /// Builds a lexicon from the texts of the four files.
    pub fn from_sources(
        underlyings: &str,
        futures: &str,
        vocab: &str,
        variants: &str,
    ) -> Result<Lexicon, LexiconError> {
        let ufile: UnderlyingsFile =
            toml::from_str(underlyings).map_err(|e| syntax("underlyings.toml", e))?;
        let ffile: FuturesFile = toml::from_str(futures).map_err(|e| syntax("futures.toml", e))?;
        let vfile: VocabFile = toml::from_str(vocab).map_err(|e| syntax("vocab.toml", e))?;
        let varfile: VariantsFile =
            toml::from_str(variants).map_err(|e| syntax("variants.toml", e))?;

        let mut lex = Lexicon {
            underlyings: Vec::new(),
            products: Vec::new(),
            currencies: vfile.currency.keys().cloned().collect(),
            dict: HashMap::new(),
            short: HashMap::new(),
            fuzzy_cjk: Vec::new(),
            fuzzy_latin: Vec::new(),
            variants: Variants::default(),
            codes: HashMap::new(),
            product_codes: HashMap::new(),
        };
        for c in &lex.currencies {
            if c.len() != 3 || !c.chars().all(|ch| ch.is_ascii_uppercase()) {
                return Err(invalid(
                    "vocab.toml",
                    format!("currency {c:?} is not an ISO 4217 code"),
                ));
            }
        }
        for row in &ufile.underlying {
            if !lex.currencies.contains(&row.currency) {
                return Err(invalid(
                    "underlyings.toml",
                    format!(
                        "{}: currency {} is not in vocab.toml [currency]",
                        row.code, row.currency
                    ),
                ));
            }
            if lex
                .codes
                .insert(row.code.clone(), lex.underlyings.len())
                .is_some()
            {
                return Err(invalid(
                    "underlyings.toml",
                    format!("{} is listed twice", row.code),
                ));
            }
            lex.underlyings.push(UnderlyingInfo {
                code: row.code.clone(),
                currency: row.currency.clone(),
                name: row
                    .aliases
                    .first()
                    .cloned()
                    .unwrap_or_else(|| row.code.clone()),
                kind: row.kind,
            });
        }
        for row in &ffile.product {
            let valid_code =
                !row.code.is_empty() && row.code.chars().all(|c| c.is_ascii_uppercase());
            if !valid_code || !matches!(row.month_digits, 3 | 4) {
                return Err(invalid(
                    "futures.toml",
                    format!(
                        "product {:?}: code must be capitals, month_digits 3 or 4",
                        row.code
                    ),
                ));
            }
            if lex
                .product_codes
                .insert(row.code.clone(), lex.products.len())
                .is_some()
            {
                return Err(invalid(
                    "futures.toml",
                    format!("{} is listed twice", row.code),
                ));
            }
            lex.products.push(Product {
                code: row.code.clone(),
                exchange: row.exchange.clone(),
                bare: row.bare,
                name: row
                    .names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| row.code.clone()),
            });
        }

        let mut b = Builder {
            entries: HashMap::new(),
        };
        for (i, row) in ufile.underlying.iter().enumerate() {
            let t = Term::Underlying(i);
            for a in &row.aliases {
                b.add("underlyings.toml", a, t, &lex)?;
            }
            for a in code_aliases(&row.code) {
                b.add("underlyings.toml", &a, t, &lex)?;
            }
            for s in &row.short {
                if !s.chars().all(|c| c.is_ascii_digit()) {
                    return Err(invalid(
                        "underlyings.toml",
                        format!("{}: short {s:?} is not a number", row.code),
                    ));
                }
                if lex.short.insert(s.clone(), i).is_some() {
                    return Err(invalid(
                        "underlyings.toml",
                        format!("short name {s} is used twice"),
                    ));
                }
            }
        }
        for (i, row) in ffile.product.iter().enumerate() {
            for n in &row.names {
                b.add("futures.toml", n, Term::Product(i), &lex)?;
            }
            b.add(
                "futures.toml",
                &row.code.to_lowercase(),
                Term::ProductCode(i),
                &lex,
            )?;
        }
        for (alias, unit) in UNITS {
            b.add("(units)", alias, Term::Unit(*unit), &lex)?;
        }
        add_vocab(&mut b, &vfile, &lex)?;

        let mut fuzzy_latin = Vec::new();
        let mut fuzzy_cjk = Vec::new();
        for e in b.entries.values() {
            let Some(&term) = e.terms.iter().find(|t| fuzzy_target(**t)) else {
                continue;
            };
            if e.toks.len() == 1
                && e.toks[0].len() >= 5
                && e.toks[0].bytes().all(|c| c.is_ascii_lowercase())
            {
                fuzzy_latin.push((e.toks[0].clone(), term));
            }
            let cjk = e.toks.iter().filter(|t| t.chars().all(cjk::is_cjk)).count();
            if (e.toks.len() >= 3 && cjk >= 2) || (e.toks.len() == 2 && cjk == 2) {
                fuzzy_cjk.push(Entry {
                    toks: e.toks.clone(),
                    terms: vec![term],
                });
            }
        }
        // Deterministic order: the edit-distance pass must not depend on hash order.
        fuzzy_latin.sort_by(|a, b| a.0.cmp(&b.0));
        fuzzy_cjk.sort_by(|a, b| a.toks.cmp(&b.toks));
        lex.fuzzy_latin = fuzzy_latin;
        lex.fuzzy_cjk = fuzzy_cjk;

        for (_, e) in b.entries {
            lex.dict.entry(e.toks[0].clone()).or_default().push(e);
        }
        for list in lex.dict.values_mut() {
            list.sort_by(|a, b| {
                b.toks
                    .len()
                    .cmp(&a.toks.len())
                    .then_with(|| a.toks.cmp(&b.toks))
            });
        }

        let mut trad = HashMap::new();
        for p in &varfile.traditional.pairs {
            let cs: Vec<char> = p.chars().collect();
            if cs.len() != 2 {
                return Err(invalid(
                    "variants.toml",
                    format!("traditional pair {p:?} is not two characters"),
                ));
            }
            if let Some(prev) = trad.insert(cs[0], cs[1])
                && prev != cs[1]
            {
                return Err(invalid(
                    "variants.toml",
                    format!("{} has two simplified forms", cs[0]),
                ));
            }
        }
        let mut typos: Vec<(String, String)> = varfile.typos.into_iter().collect();
        typos.sort_by(|a, b| {
            b.0.chars()
                .count()
                .cmp(&a.0.chars().count())
                .then_with(|| a.0.cmp(&b.0))
        });
        let mut confusables = Vec::new();
        for p in &varfile.traditional.confusables {
            let cs: Vec<char> = p.chars().collect();
            if cs.len() != 2 {
                return Err(invalid(
                    "variants.toml",
                    format!("confusable pair {p:?} is not two characters"),
                ));
            }
            confusables.push((cs[0], cs[1]));
        }
        lex.variants = Variants {
            traditional: trad,
            typos,
            confusables,
        };
        Ok(lex)
    }

    /// What the lexicon knows about `code`: an index, ETF or stock, a futures main contract
    /// (`RB.SHFE`) or a named month of a known product (`RB2605.SHFE`, `SR2609.CZCE`).
    pub fn underlying(&self, code: &str) -> Option<UnderlyingInfo> {
        if let Some(&i) = self.codes.get(code) {
            return Some(self.underlyings[i].clone());
        }
        let (sym, exchange) = code.split_once('.')?;
        let letters: String = sym.chars().take_while(|c| c.is_ascii_uppercase()).collect();
        let digits = &sym[letters.len()..];
        let p = &self.products[*self.product_codes.get(&letters)?];
        if p.exchange != exchange {
            return None;
        }
        let month_ok = digits.is_empty()
            || (digits.len() == 4
                && digits.bytes().all(|c| c.is_ascii_digit())
                && matches!(digits[2..].parse::<u32>(), Ok(1..=12)));
        month_ok.then(|| UnderlyingInfo {
            code: code.to_string(),
            currency: "CNY".to_string(),
            name: if digits.is_empty() {
                p.name.clone()
            } else {
                format!("{}{digits}", p.name)
            },
            kind: UnderlyingKind::Future,
        })
    }

    /// Whether `code` is an underlying the lexicon knows (see [`Lexicon::underlying`]).
    pub fn is_known_code(&self, code: &str) -> bool {
        self.underlying(code).is_some()
    }

    /// Every canonical code of an index, ETF, stock or futures main contract, sorted.
    pub fn codes(&self) -> Vec<String> {
        let mut v: Vec<String> = self.underlyings.iter().map(|u| u.code.clone()).collect();
        v.extend(
            self.products
                .iter()
                .map(|p| format!("{}.{}", p.code, p.exchange)),
        );
        v.sort();
        v
    }

    /// The currency codes the lexicon knows, sorted.
    pub fn currencies(&self) -> &[String] {
        &self.currencies
    }

    /// Every alias of `code` as written in the data files (for prompts and grounding checks).
    pub fn aliases_of(&self, code: &str) -> Vec<String> {
        let target = self
            .codes
            .get(code)
            .map(|&i| Term::Underlying(i))
            .or_else(|| {
                let sym = code.split('.').next()?;
                let letters: String = sym.chars().take_while(|c| c.is_ascii_uppercase()).collect();
                self.product_codes.get(&letters).map(|&i| Term::Product(i))
            });
        let Some(target) = target else {
            return Vec::new();
        };
        let alt = match target {
            Term::Product(i) => Some(Term::ProductCode(i)),
            _ => None,
        };
        let mut out: Vec<String> = self
            .dict
            .values()
            .flatten()
            .filter(|e| e.terms.iter().any(|t| *t == target || Some(*t) == alt))
            .map(|e| join_tokens(&e.toks))
            .collect();
        out.sort();
        out
    }

    /// The product with upper-case `code`.
    pub(crate) fn product_index(&self, code: &str) -> Option<usize> {
        self.product_codes.get(code).copied()
    }
}

/// Joins alias tokens for display: spaces only between two Latin words.
pub(crate) fn join_tokens(toks: &[String]) -> String {
    let mut s = String::new();
    for (i, t) in toks.iter().enumerate() {
        let latin = |x: &str| x.bytes().all(|c| c.is_ascii_alphanumeric());
        if i > 0 && latin(t) && latin(&toks[i - 1]) {
            s.push(' ');
        }
        s.push_str(t);
    }
    s
}

/// Aliases generated from a canonical code: the code itself, and its bare exchange number
/// (000905, 00700) or ticker (aapl, hsi).
fn code_aliases(code: &str) -> Vec<String> {
    let mut out = vec![code.to_lowercase()];
    if let Some((sym, exch)) = code.split_once('.') {
        let numeric = sym.bytes().all(|c| c.is_ascii_digit());
        match exch {
            "SH" | "SZ" if numeric && sym.len() == 6 => out.push(sym.to_string()),
            "HK" if numeric => out.push(format!("{sym:0>5}")),
            "US" | "INDEX" => out.push(sym.to_lowercase()),
            _ => {}
        }
    }
    out
}

/// Meanings worth an edit-distance match: names of things, not cues or units.
fn fuzzy_target(t: Term) -> bool {
    matches!(
        t,
        Term::Underlying(_)
            | Term::Product(_)
            | Term::Structure(_)
            | Term::OptionType(_)
            | Term::Exercise(_)
            | Term::Moneyness(_)
            | Term::Level(_)
            | Term::NotionalKw
            | Term::TenorKw
    )
}

fn add_vocab(b: &mut Builder, v: &VocabFile, lex: &Lexicon) -> Result<(), LexiconError> {
    const F: &str = "vocab.toml";
    let structure =
        |k: &str| Structure::parse(k).ok_or_else(|| invalid(F, format!("unknown structure {k:?}")));
    for (k, list) in &v.structure {
        let s = structure(k)?;
        for a in list {
            b.add(F, a, Term::Structure(s), lex)?;
        }
    }
    for (k, list) in &v.weak_structure {
        let s = structure(k)?;
        for a in list {
            b.add(F, a, Term::WeakStructure(s), lex)?;
        }
    }
    for (k, list) in &v.option_type {
        let o =
            OptionType::parse(k).ok_or_else(|| invalid(F, format!("unknown option type {k:?}")))?;
        for a in list {
            b.add(F, a, Term::OptionType(o), lex)?;
        }
    }
    for (k, list) in &v.exercise {
        let e = Exercise::parse(k).ok_or_else(|| invalid(F, format!("unknown exercise {k:?}")))?;
        for a in list {
            b.add(F, a, Term::Exercise(e), lex)?;
        }
    }
    let moneyness = |k: &str| match k {
        "atm" => Ok(Moneyness::Atm),
        "otm" => Ok(Moneyness::Otm),
        "itm" => Ok(Moneyness::Itm),
        _ => Err(invalid(F, format!("unknown moneyness {k:?}"))),
    };
    for (k, list) in &v.moneyness {
        let m = moneyness(k)?;
        for a in list {
            b.add(F, a, Term::Moneyness(m), lex)?;
        }
    }
    for (k, list) in &v.short_moneyness {
        let m = moneyness(k)?;
        for a in list {
            b.add(F, a, Term::ShortMoneyness(m), lex)?;
        }
    }
    for (k, list) in &v.level {
        let l = match k.as_str() {
            "knock_out" => Level::KnockOut,
            "knock_in" => Level::KnockIn,
            "barrier" => Level::Barrier,
            "strike" => Level::Strike,
            "coupon" => Level::Coupon,
            "coupon_barrier" => Level::CouponBarrier,
            "participation" => Level::Participation,
            "payout" => Level::Payout,
            _ => return Err(invalid(F, format!("unknown level {k:?}"))),
        };
        for a in list {
            b.add(F, a, Term::Level(l), lex)?;
        }
    }
    for (k, list) in &v.keyword {
        let t = match k.as_str() {
            "tenor" => Term::TenorKw,
            "notional" => Term::NotionalKw,
            _ => return Err(invalid(F, format!("unknown keyword list {k:?}"))),
        };
        for a in list {
            b.add(F, a, t, lex)?;
        }
    }
    for (i, list) in v.currency.values().enumerate() {
        for a in list {
            b.add(F, a, Term::Currency(i), lex)?;
        }
    }
    for (k, list) in &v.side {
        let t = match k.as_str() {
            "two_way" => Term::Side(None),
            other => Term::Side(Some(
                Side::parse(other).ok_or_else(|| invalid(F, format!("unknown side {other:?}")))?,
            )),
        };
        for a in list {
            b.add(F, a, t, lex)?;
        }
    }
    for (k, list) in &v.cue {
        let t = match k.as_str() {
            "premium" => Term::Premium,
            "question" => Term::Question,
            "quote" => Term::Quote,
            "each" => Term::Each,
            "same" => Term::Same,
            "conj" => Term::Conj,
            _ => return Err(invalid(F, format!("unknown cue list {k:?}"))),
        };
        for a in list {
            b.add(F, a, t, lex)?;
        }
    }
    for (k, list) in &v.guard {
        let t = match k.as_str() {
            "injection" => Term::Injection,
            "information" => Term::Information,
            _ => return Err(invalid(F, format!("unknown guard list {k:?}"))),
        };
        for a in list {
            b.add(F, a, t, lex)?;
        }
    }
    for list in v.filler.values() {
        for a in list {
            b.add(F, a, Term::Filler, lex)?;
        }
    }
    Ok(())
}

/// Whether `tok` is an upper-case Latin token as written.
pub(crate) fn written_upper(tok: &Token) -> bool {
    tok.kind == TokKind::Latin && tok.raw.bytes().all(|c| c.is_ascii_uppercase())
}
