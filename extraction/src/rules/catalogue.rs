//! The label catalogue: which label spellings name which key-term leaf, and how the value after
//! each is read.
//!
//! The data is `extraction/data/labels.toml` (its header documents the format and every
//! reader). It is compiled in and parsed once ([`labels`]); loading checks it, so a field name
//! that is not a [`Field`], a reader given a field it cannot fill, or a spelling that could
//! never match fails with the entry's number and first spelling. [`lookup`] finds the entry of
//! a label as written, allowing OCR typos in long English labels.

use std::sync::LazyLock;

use serde::Deserialize;
use thiserror::Error;

use crate::terms::Field;

/// Pairs of Chinese characters OCR takes for one another (the first as printed, the second as
/// read), from the misreadings seen on scans of Chinese confirmations: a Chinese label matches
/// when every character that differs is such a pair, at most two of them. Pairs that would turn
/// one label into another (买/卖, 出/入) are deliberately absent.
const OCR_CONFUSIONS: &[(char, char)] = &[
    ('钩', '钧'),
    ('募', '幕'),
    ('权', '杈'),
    ('日', '曰'),
    ('入', '人'),
    ('未', '末'),
    ('己', '已'),
    ('价', '份'),
    ('额', '颔'),
    ('率', '宰'),
    ('券', '卷'),
    ('标', '柝'),
    ('敲', '敵'),
    ('期', '朗'),
    ('费', '贵'),
    ('挂', '桂'),
    ('息', '总'),
    ('票', '栗'),
    ('格', '恪'),
    ('易', '昜'),
    ('割', '剖'),
];

/// Whether `read` is `label` with at most two characters OCR commonly confuses
/// ([`OCR_CONFUSIONS`]); Chinese labels of three characters or more only.
fn ocr_confusion_of(label: &str, read: &str) -> bool {
    if label.is_ascii()
        || label.chars().count() < 3
        || label.chars().count() != read.chars().count()
    {
        return false;
    }
    let mut differ = 0;
    for (a, b) in label.chars().zip(read.chars()) {
        if a == b {
            continue;
        }
        differ += 1;
        if differ > 2 || !OCR_CONFUSIONS.contains(&(a, b)) {
            return false;
        }
    }
    differ > 0
}

/// The compiled-in `labels.toml`.
const BUILTIN_LABELS: &str = include_str!("../../data/labels.toml");

/// Why the catalogue could not be loaded: always the data's fault.
#[derive(Debug, Error)]
pub(super) enum CatalogueError {
    /// Not valid TOML of the expected shape (an unknown field name lands here, with its line).
    #[error("labels.toml: {0}")]
    Syntax(String),
    /// An entry that parses but cannot be used.
    #[error("labels.toml, label entry {entry} ({first:?}): {what}")]
    Invalid {
        /// The entry's number, from 1.
        entry: usize,
        /// Its first spelling.
        first: String,
        /// What is wrong.
        what: String,
    },
}

/// How the value after a label is read (`read` in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reader {
    Date,
    Maturity,
    Money,
    PremiumRate,
    Rate,
    DayCount,
    Tenor,
    FloatingIndex,
    Party,
    Role,
    OptionType,
    ExerciseStyle,
    Settlement,
    SettlementIfApplicable,
    Strike,
    Price,
    Count,
    Underlier,
    UnderlierId,
    Barrier,
    Text,
    BusinessDayConvention,
    Percent,
    Observation,
    Months,
}

/// Which barrier a label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum BarrierKind {
    /// 敲入 / knock-in.
    KnockIn,
    /// 敲出 / knock-out.
    KnockOut,
}

impl BarrierKind {
    /// The `barrier.kind` value.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            BarrierKind::KnockIn => "knock_in",
            BarrierKind::KnockOut => "knock_out",
        }
    }
}

/// A way of settling named by its own label (`Cash Settlement: Applicable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Settled {
    /// In cash.
    Cash,
    /// By delivery.
    Physical,
}

impl Settled {
    /// The `settlement` value.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Settled::Cash => "cash",
            Settled::Physical => "physical",
        }
    }
}

/// What a label holds: the reader and the leaf it fills. Built only from a checked entry, so
/// each reader's field is one it can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// A date leaf.
    Date(Field),
    /// `Maturity Date`/`到期日`: the expiration of an option, the termination of a swap.
    Maturity,
    /// An amount leaf with a currency leaf ([`Field::currency`]).
    Money(Field),
    /// `other.premium_rate`.
    PremiumRate,
    /// A rate leaf (a decimal).
    Rate(Field),
    /// A day-count leaf.
    DayCount(Field),
    /// A tenor leaf.
    Tenor(Field),
    /// `floating_rate_index` (and the tenor after it).
    FloatingIndex,
    /// `party_a` or `party_b`.
    Party(Field),
    /// A role leaf naming a party.
    Role(Field),
    /// `option_type`.
    OptionType,
    /// `exercise_style`.
    Style,
    /// `settlement`.
    Settlement,
    /// `settlement`, when the value says the way is applicable.
    SettlementApplicable(Settled),
    /// `strike.*`.
    Strike,
    /// A price leaf (and its currency leaf if it has one).
    Price(Field),
    /// A count leaf.
    Count(Field),
    /// `underlier.*`.
    Underlier,
    /// `underlier.id` alone, from a code's own label (`Reuters code`, `ISIN`, `标的代码`).
    UnderlierId,
    /// A barrier, of the kind the label names if it does.
    Barrier(Option<BarrierKind>),
    /// A text leaf, as written.
    Text(Field),
    /// `other.business_day_convention`.
    Bdc,
    /// A percentage leaf, as written (80% → 80).
    Percent(Field),
    /// An autocallable's observation frequency (and the lock-up written with it).
    Observation(Field),
    /// A number of months.
    Months(Field),
}

/// One spelling of a label and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Label {
    /// The normalised spelling ([`normalize_label`]).
    pub(super) spelling: String,
    /// What it holds.
    pub(super) target: Target,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    label: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    read: Reader,
    field: Option<Field>,
    barrier: Option<BarrierKind>,
    settlement: Option<Settled>,
    spellings: Vec<String>,
}

impl Entry {
    /// The entry's target, or what is wrong with it.
    fn target(&self) -> Result<Target, String> {
        use Field as F;
        let read = self.read;
        // The leaf a reader that takes one fills: the schema leaves of its type, or an
        // `other.*` leaf (which the schema leaves untyped).
        let field = |accepts: fn(Field) -> bool, other: bool| match self.field {
            Some(f) if accepts(f) || (other && f.is_other()) => Ok(f),
            Some(f) => Err(format!("read = {read:?} cannot fill {f}")),
            None => Err(format!("read = {read:?} needs a field")),
        };
        let no_field = || match self.field {
            Some(f) => Err(format!(
                "read = {read:?} writes its own leaves; remove field = {:?}",
                f.name()
            )),
            None => Ok(()),
        };
        if self.barrier.is_some() && read != Reader::Barrier {
            return Err("`barrier` is only for read = \"barrier\"".into());
        }
        if self.settlement.is_some() && read != Reader::SettlementIfApplicable {
            return Err("`settlement` is only for read = \"settlement_if_applicable\"".into());
        }
        Ok(match read {
            Reader::Date => Target::Date(field(
                |f| {
                    matches!(
                        f,
                        F::TradeDate
                            | F::EffectiveDate
                            | F::ExpirationDate
                            | F::TerminationDate
                            | F::PremiumPaymentDate
                    )
                },
                true,
            )?),
            Reader::Money => Target::Money(field(
                |f| {
                    matches!(
                        f,
                        F::NotionalAmount | F::PremiumAmount | F::InitialPaymentAmount
                    )
                },
                false,
            )?),
            Reader::Rate => {
                Target::Rate(field(|f| matches!(f, F::FixedRate | F::CouponRate), true)?)
            }
            Reader::Percent => Target::Percent(field(
                |f| matches!(f, F::ParticipationPct | F::PayoutPct | F::CouponBarrierPct),
                false,
            )?),
            Reader::Observation => Target::Observation(field(
                |f| matches!(f, F::KnockOutObservation | F::KnockInObservation),
                false,
            )?),
            Reader::Months => Target::Months(field(|f| f == F::LockupMonths, false)?),
            Reader::DayCount => Target::DayCount(field(|f| f == F::DayCount, true)?),
            Reader::Tenor => Target::Tenor(field(|f| f == F::FloatingRateTenor, true)?),
            Reader::Party => Target::Party(field(|f| matches!(f, F::PartyA | F::PartyB), false)?),
            Reader::Role => Target::Role(field(|f| matches!(f, F::Buyer | F::Seller), true)?),
            Reader::Price => Target::Price(field(
                |f| matches!(f, F::CapPriceValue | F::FloorPriceValue | F::InitialPrice),
                true,
            )?),
            Reader::Count => Target::Count(field(
                |f| matches!(f, F::NumberOfOptions | F::OptionEntitlement),
                true,
            )?),
            Reader::Text => Target::Text(field(|_| false, true)?),
            Reader::Maturity => no_field().map(|()| Target::Maturity)?,
            Reader::PremiumRate => no_field().map(|()| Target::PremiumRate)?,
            Reader::FloatingIndex => no_field().map(|()| Target::FloatingIndex)?,
            Reader::OptionType => no_field().map(|()| Target::OptionType)?,
            Reader::ExerciseStyle => no_field().map(|()| Target::Style)?,
            Reader::Settlement => no_field().map(|()| Target::Settlement)?,
            Reader::SettlementIfApplicable => {
                no_field()?;
                let Some(s) = self.settlement else {
                    return Err("read = \"settlement_if_applicable\" needs `settlement`".into());
                };
                Target::SettlementApplicable(s)
            }
            Reader::Strike => no_field().map(|()| Target::Strike)?,
            Reader::Underlier => no_field().map(|()| Target::Underlier)?,
            Reader::UnderlierId => no_field().map(|()| Target::UnderlierId)?,
            Reader::Barrier => no_field().map(|()| Target::Barrier(self.barrier))?,
            Reader::BusinessDayConvention => no_field().map(|()| Target::Bdc)?,
        })
    }
}

/// Parses and checks a catalogue: every entry's target, every spelling normalised and said
/// once. The labels keep the file's order.
fn parse(src: &str) -> Result<Vec<Label>, CatalogueError> {
    let file: File = toml::from_str(src).map_err(|e| CatalogueError::Syntax(e.to_string()))?;
    let mut labels: Vec<Label> = Vec::new();
    for (i, entry) in file.label.iter().enumerate() {
        let invalid = |what: String| CatalogueError::Invalid {
            entry: i + 1,
            first: entry.spellings.first().cloned().unwrap_or_default(),
            what,
        };
        let target = entry.target().map_err(invalid)?;
        if entry.spellings.is_empty() {
            return Err(invalid("no spellings".into()));
        }
        for s in &entry.spellings {
            let norm = normalize_label(s);
            if norm != *s {
                return Err(invalid(format!(
                    "spelling {s:?} would never match: labels are looked up as {norm:?}"
                )));
            }
            if labels.iter().any(|l| l.spelling == *s) {
                return Err(invalid(format!(
                    "spelling {s:?} is already in an earlier entry"
                )));
            }
            labels.push(Label {
                spelling: s.clone(),
                target,
            });
        }
    }
    Ok(labels)
}

/// The compiled-in catalogue, parsed once.
pub(super) fn labels() -> &'static [Label] {
    static LABELS: LazyLock<Vec<Label>> = LazyLock::new(|| {
        // The file is ours and loaded by every test run: a failure here is a bug in the
        // committed data, caught before release.
        parse(BUILTIN_LABELS)
            .expect("the built-in label catalogue extraction/data/labels.toml is valid")
    });
    &LABELS
}

/// Lower case, quotes and stray punctuation removed, spaces collapsed, and no spaces between
/// CJK characters (OCR often spaces them).
pub(super) fn normalize_label(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if matches!(c, '"' | '“' | '”' | '\'' | '‘' | '’' | '*' | '_') {
            continue;
        }
        if c.is_whitespace() {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
        } else {
            out.extend(c.to_lowercase());
        }
    }
    let out = out.trim().trim_end_matches(['.', ',']).to_owned();
    // Drop spaces between CJK characters.
    let chars: Vec<char> = out.chars().collect();
    let mut folded = String::new();
    for (i, c) in chars.iter().enumerate() {
        if *c == ' '
            && i > 0
            && i + 1 < chars.len()
            && (cjk::is_cjk(chars[i - 1]) || cjk::is_cjk(chars[i + 1]))
        {
            continue;
        }
        folded.push(*c);
    }
    // A parenthesised unit after a Chinese label (`名义本金（元）`) is read separately.
    folded
}

/// The Levenshtein distance between two strings, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The target of a normalised label, allowing OCR typos in long Latin labels. Returns the
/// label spelling matched and any unit hint in parentheses (`（万元）`).
pub(super) fn lookup(label: &str) -> Option<(Target, &'static str, Option<String>)> {
    let (base, unit) = match label.find(['(', '（']) {
        Some(i) if label.ends_with([')', '）']) => {
            let inner = label[i..]
                .trim_start_matches(['(', '（'])
                .trim_end_matches([')', '）'])
                .to_owned();
            (label[..i].trim(), Some(inner))
        }
        _ => (label, None),
    };
    let mut best: Option<(usize, Target, &'static str)> = None;
    let mut confused: Option<(Target, &'static str)> = None;
    // Every Chinese character is an edit away from any Latin spelling, so a label with three of
    // them is beyond the two typos allowed: no edit distances to compute (the OCR prefix search
    // looks up many such candidates per line).
    let latin_possible = base.chars().filter(|c| cjk::is_cjk(*c)).count() < 3;
    for Label { spelling, target } in labels() {
        let s = spelling.as_str();
        if s == base {
            return Some((*target, s, unit));
        }
        if confused.is_none() && ocr_confusion_of(s, base) {
            confused = Some((*target, s));
        }
        let latin = s.is_ascii();
        let allowed = match s.chars().count() {
            _ if !latin_possible => 0,
            n if latin && n >= 14 => 2,
            n if latin && n >= 8 => 1,
            _ => 0,
        };
        if allowed > 0 {
            let d = edit_distance(s, base);
            if d <= allowed && best.is_none_or(|b| d < b.0) {
                best = Some((d, *target, s));
            }
        }
    }
    match best {
        Some((_, t, s)) => Some((t, s, unit)),
        None => confused.map(|(t, s)| (t, s, unit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terms::is_leaf;

    /// Parses one entry written as TOML lines.
    fn one(entry: &str) -> Result<Vec<Label>, CatalogueError> {
        parse(&format!("[[label]]\n{entry}\n"))
    }

    fn target_of(t: Target) -> Option<Field> {
        match t {
            Target::Date(f)
            | Target::Money(f)
            | Target::Rate(f)
            | Target::DayCount(f)
            | Target::Tenor(f)
            | Target::Party(f)
            | Target::Role(f)
            | Target::Price(f)
            | Target::Count(f)
            | Target::Text(f) => Some(f),
            _ => None,
        }
    }

    #[test]
    fn chinese_labels_match_through_common_ocr_confusions() {
        let of = |l: &str| lookup(l).map(|(t, s, _)| (t, s));
        assert_eq!(of("挂钧标的"), of("挂钩标的"));
        assert!(of("挂钧标的").is_some());
        assert_eq!(of("敲人价格"), of("敲入价格"));
        // A character that is no known confusion, or too many of them, does not match; nor
        // does a label read as another label.
        assert_eq!(of("挂X标的"), None);
        assert_eq!(of("桂钧柝的"), None);
        assert_ne!(of("期权买方"), of("期权卖方"));
    }

    #[test]
    fn the_builtin_catalogue_loads_and_names_only_key_term_leaves() {
        let labels = parse(BUILTIN_LABELS).unwrap();
        assert!(labels.len() > 200, "{}", labels.len());
        for l in &labels {
            if let Some(f) = target_of(l.target) {
                assert!(is_leaf(f.name()) && Field::ALL.contains(&f), "{f}");
            }
            if let Target::Money(f) = l.target {
                assert!(f.currency().is_some(), "{f}");
            }
        }
        let of = |s: &str| labels.iter().find(|l| l.spelling == s).map(|l| l.target);
        assert_eq!(of("trade date"), Some(Target::Date(Field::TradeDate)));
        assert_eq!(of("名义本金"), Some(Target::Money(Field::NotionalAmount)));
        assert_eq!(of("期初价格"), Some(Target::Price(Field::InitialPrice)));
        assert_eq!(
            of("敲出价格"),
            Some(Target::Barrier(Some(BarrierKind::KnockOut)))
        );
        assert_eq!(
            of("cash settlement"),
            Some(Target::SettlementApplicable(Settled::Cash))
        );
        assert_eq!(super::labels(), labels.as_slice());
    }

    #[test]
    fn an_unknown_field_name_fails_with_its_line() {
        let e = parse(
            "[[label]]\nread = \"date\"\nfield = \"trade_day\"\nspellings = [\"trade date\"]\n",
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, CatalogueError::Syntax(_)), "{msg}");
        assert!(msg.contains("unknown variant `trade_day`"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        let e = one("read = \"date\"\nfeild = \"trade_date\"\nspellings = [\"x\"]").unwrap_err();
        assert!(e.to_string().contains("unknown field `feild`"), "{e}");
        let e = one("read = \"guess\"\nspellings = [\"x\"]").unwrap_err();
        assert!(e.to_string().contains("unknown variant `guess`"), "{e}");
    }

    #[test]
    fn each_reader_takes_only_the_fields_it_can_fill() {
        let bad: &[(&str, &str)] = &[
            (
                "read = \"date\"\nfield = \"notional.amount\"",
                "read = Date cannot fill notional.amount",
            ),
            ("read = \"money\"", "read = Money needs a field"),
            (
                "read = \"money\"\nfield = \"other.premium_rate\"",
                "cannot fill other.premium_rate",
            ),
            (
                "read = \"strike\"\nfield = \"strike.value\"",
                "writes its own leaves",
            ),
            (
                "read = \"text\"\nfield = \"party_a\"",
                "read = Text cannot fill party_a",
            ),
            (
                "read = \"date\"\nfield = \"trade_date\"\nbarrier = \"knock_in\"",
                "`barrier` is only for",
            ),
            ("read = \"settlement_if_applicable\"", "needs `settlement`"),
        ];
        for (entry, msg) in bad {
            let e = one(&format!("{entry}\nspellings = [\"some label\"]")).unwrap_err();
            assert!(matches!(e, CatalogueError::Invalid { entry: 1, .. }), "{e}");
            assert!(e.to_string().contains(msg), "{entry}: {e}");
            assert!(e.to_string().contains("\"some label\""), "{e}");
        }
        let ok = one("read = \"rate\"\nfield = \"autocall.coupon_rate\"\nspellings = [\"票息\"]");
        assert_eq!(
            ok.unwrap(),
            vec![Label {
                spelling: "票息".into(),
                target: Target::Rate(Field::CouponRate),
            }]
        );
    }

    #[test]
    fn spellings_are_normalised_and_said_once() {
        let e = one("read = \"option_type\"\nspellings = [\"Option Type\"]").unwrap_err();
        assert!(
            e.to_string().contains("looked up as \"option type\""),
            "{e}"
        );
        let e = one("read = \"option_type\"\nspellings = [\"期权 类型\"]").unwrap_err();
        assert!(e.to_string().contains("looked up as \"期权类型\""), "{e}");
        let e = parse(
            "[[label]]\nread = \"option_type\"\nspellings = [\"type\"]\n\
             [[label]]\nread = \"exercise_style\"\nspellings = [\"style\", \"type\"]\n",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("entry 2 (\"style\")")
                && e.to_string().contains("\"type\" is already"),
            "{e}"
        );
        let e = one("read = \"option_type\"\nspellings = []").unwrap_err();
        assert!(e.to_string().contains("no spellings"), "{e}");
    }

    #[test]
    fn labels_are_normalised_before_lookup() {
        for (raw, norm) in [
            ("“Trade  Date”", "trade date"),
            ("*Notional Amount*.", "notional amount"),
            ("Party_A", "partya"),
            ("名 义 本 金", "名义本金"),
            ("期权 费 (万元)", "期权费(万元)"),
        ] {
            assert_eq!(normalize_label(raw), norm, "{raw}");
        }
    }

    #[test]
    fn lookup_allows_ocr_typos_only_in_long_latin_labels() {
        let hit = lookup;
        assert_eq!(
            hit("trade date"),
            Some((Target::Date(Field::TradeDate), "trade date", None))
        );
        // One typo in 8+ Latin characters, two in 14+.
        assert_eq!(
            hit("tennination date").map(|h| h.1),
            Some("termination date")
        );
        assert_eq!(hit("notlonal amout").map(|h| h.1), Some("notional amount"));
        assert_eq!(hit("strke"), None);
        assert_eq!(hit("名义本全"), None);
        // A unit in parentheses is handed on.
        assert_eq!(
            hit("名义本金(万元)"),
            Some((
                Target::Money(Field::NotionalAmount),
                "名义本金",
                Some("万元".into())
            ))
        );
        assert_eq!(
            hit("notional amount (usd)").map(|h| h.2),
            Some(Some("usd".into()))
        );
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("premium", "premium"), 0);
        assert_eq!(edit_distance("premlum", "premium"), 1);
        assert_eq!(edit_distance("敲出价格", "敲入价格"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
