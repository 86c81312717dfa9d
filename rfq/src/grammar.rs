//! From scanned items to entities: numbers with their units and keywords, and cues.
//!
//! The grammar reads a message the way a trader does:
//! - a number and its unit make a quantity: `12个月`, `1年期`, `18M` (tenor), `1000万`, `5kw`,
//!   `10mm`, `1个亿` (money), `95%`, `15个点` (percent); `m` is millions after a notional keyword
//!   or before a currency and months otherwise (up to 36); `w` is 万 except for small counts
//!   (`2w` is two weeks, which has no month count);
//! - a keyword claims the quantity after it (`敲出 103`, `票息: 15%`, `名义本金 1000万`), or, in
//!   English order, the percentage just before it (`100% participation`); with no number and a
//!   question (`票息多少`, `what coupon`, `参与率?`) it names what to solve;
//! - a bare number or percentage next to call/put is the strike (`95 put`, `105% call`);
//! - 平值/ATM is strike 100; 虚值/实值 X% is an offset resolved once call/put is known;
//! - a futures product followed by digits is a named month (`rb2605`, `SR609`, `hc10`, `豆粕01`,
//!   `螺纹10月`), with the year inferred from the parse date (commodity-rfq-spec §3A);
//! - a bare 500/1000/300/50 names an index only after another index and a join or before
//!   `的`/`同样` ("另外500的同样结构也报一下").

use super::lex::{TokKind, Token};
use super::lexicon::{
    BarePolicy, Level, Lexicon, Moneyness, Term, UnderlyingKind, Unit, written_upper,
};
use super::scan::{Item, ItemKind};
use super::schema::{Exercise, OptionType, Side, SolveFor, Structure};
use time::Date;

/// A strike as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum StrikeVal {
    /// A percentage of spot.
    Pct(f64),
    /// 平值 / ATM.
    Atm,
    /// 虚值 X: out of the money by X percent.
    Otm(f64),
    /// 实值 X: in the money by X percent.
    Itm(f64),
    /// 虚值/实值 without a number.
    OffsetUnknown,
    /// An absolute price or index level (cannot be a percentage without spot).
    Absolute(f64),
}

/// A tenor as written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TenorVal {
    /// Whole months.
    Months(u32),
    /// Weeks (no month count).
    Weeks(f64),
    /// Days (no month count).
    Days(f64),
    /// A number of months or years that is not a whole month count.
    Fractional(f64),
}

/// The fields that make one request differ from another: a second, different value of one of
/// them in the same message starts a new request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    /// Canonical underlying code.
    Underlying(String),
    /// Explicit structure.
    Structure(Structure),
    /// Call or put.
    OptionType(OptionType),
    /// Exercise style.
    Exercise(Exercise),
    /// Strike.
    Strike(StrikeVal),
    /// 敲出.
    KnockOut(f64),
    /// 敲入.
    KnockIn(f64),
    /// 障碍.
    Barrier(f64),
    /// 票息.
    Coupon(f64),
    /// 派息线.
    CouponBarrier(f64),
    /// 参与率.
    Participation(f64),
    /// 赔付.
    Payout(f64),
    /// 期限.
    Tenor(TenorVal),
    /// 名义本金.
    Notional(f64),
}

/// Which field a [`Val`] sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Key {
    Underlying,
    Structure,
    OptionType,
    Exercise,
    Strike,
    KnockOut,
    KnockIn,
    Barrier,
    Coupon,
    CouponBarrier,
    Participation,
    Payout,
    Tenor,
    Notional,
}

impl Val {
    /// The field.
    pub fn key(&self) -> Key {
        match self {
            Val::Underlying(_) => Key::Underlying,
            Val::Structure(_) => Key::Structure,
            Val::OptionType(_) => Key::OptionType,
            Val::Exercise(_) => Key::Exercise,
            Val::Strike(_) => Key::Strike,
            Val::KnockOut(_) => Key::KnockOut,
            Val::KnockIn(_) => Key::KnockIn,
            Val::Barrier(_) => Key::Barrier,
            Val::Coupon(_) => Key::Coupon,
            Val::CouponBarrier(_) => Key::CouponBarrier,
            Val::Participation(_) => Key::Participation,
            Val::Payout(_) => Key::Payout,
            Val::Tenor(_) => Key::Tenor,
            Val::Notional(_) => Key::Notional,
        }
    }
}

/// An entity of the message, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ent {
    /// A request field.
    Field(Val),
    /// A structure hint ("期权", "向上敲出").
    WeakStructure(Structure),
    /// A side; `None` for two-way.
    Side(Option<Side>),
    /// A currency code.
    Currency(String),
    /// What to solve, with a priority (a named level beats "how much").
    Solve(SolveFor, u8),
    /// A number no keyword claimed: (value, written with %).
    Number(f64, bool),
    /// "103/75": a knock-out/knock-in pair for an autocallable.
    Pair(f64, f64),
}

/// Notes the grammar makes for the confidence and the problems list.
#[derive(Debug, Clone, Default)]
pub(crate) struct Notes {
    /// The message tries to instruct the bot.
    pub injection: bool,
    /// The message asks for other clients' business or records.
    pub information: bool,
    /// "各报一个", "each".
    pub each: bool,
    /// "同样结构", "same".
    pub same: bool,
    /// Joins.
    pub conj: bool,
    /// Words of a request for quote.
    pub quote: bool,
    /// Fuzzy matches: (alias matched, as written).
    pub fuzzy: Vec<(String, String)>,
    /// Numbers that no rule used.
    pub unassigned: Vec<String>,
    /// A premium stated as a number (not a schema field).
    pub premium_given: bool,
    /// Items the lexicon does not know (CJK characters and Latin words).
    pub unknown: usize,
    /// Items in all (for the unknown ratio).
    pub total: usize,
    /// Structure-defining entities that are weakly inferred (adjacency strikes, m = months).
    pub guesses: usize,
    /// A product code written alone but not allowed alone (`if`, single letters).
    pub ignored_codes: usize,
}

/// The grammar's result.
pub(crate) struct Analysis {
    /// Entities in reading order.
    pub ents: Vec<Ent>,
    /// Notes.
    pub notes: Notes,
}

/// What one number item turned into.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Q {
    Pct(f64),
    Bare(f64),
    Tenor(TenorVal),
    Money(f64),
    Points(f64),
}

struct Ctx<'a> {
    items: &'a [Item],
    toks: &'a [Token],
    lex: &'a Lexicon,
    /// Quantity found at an item (the number's item), and the item index after the quantity.
    q: Vec<Option<(Q, usize)>>,
    claimed: Vec<bool>,
    /// Entities with the item position they belong to.
    out: Vec<(usize, Ent)>,
    notes: Notes,
}

impl Ctx<'_> {
    fn term_at(&self, i: usize) -> Option<&[Term]> {
        self.items.get(i).map(Item::terms)
    }

    fn is_punct(&self, i: usize, cs: &[char]) -> bool {
        matches!(self.items.get(i).map(|it| &it.kind), Some(ItemKind::Punct(c)) if cs.contains(c))
    }

    fn tok(&self, i: usize) -> &Token {
        &self.toks[self.items[i].tok]
    }

    /// The letter of item `i` when it is a lone Latin letter with no meaning but a futures
    /// code (such as "c" for 玉米 or "p" for 棕榈油, which alone are call and put).
    fn letter(&self, i: usize) -> Option<&str> {
        let it = self.items.get(i)?;
        let tok = self.tok(i);
        let plain = matches!(it.kind, ItemKind::Word)
            || it.terms().iter().all(|t| matches!(t, Term::ProductCode(_)));
        (plain && it.len == 1 && tok.kind == TokKind::Latin && tok.text.len() == 1)
            .then_some(tok.text.as_str())
    }

    /// The unclaimed quantity that ends right before item `k` ("5%" before "OTM"): its item.
    fn quantity_before(&self, k: usize) -> Option<(usize, Q)> {
        (k.saturating_sub(2)..k).find_map(|j| match self.q[j] {
            Some((q, end)) if end == k && !self.claimed[j] => Some((j, q)),
            _ => None,
        })
    }

    /// Whether item `i` only glues a keyword to its value (":", "=", 为, 是, "at").
    fn glue(&self, i: usize) -> bool {
        self.is_punct(i, &[':', '=', '~']) || self.items[i].is(Term::Filler)
    }
}

/// Reads the scanned items of a message.
pub(crate) fn analyse(items: &[Item], toks: &[Token], lex: &Lexicon, today: Date) -> Analysis {
    let mut c = Ctx {
        items,
        toks,
        lex,
        q: vec![None; items.len()],
        claimed: vec![false; items.len()],
        out: Vec::new(),
        notes: Notes::default(),
    };
    products(&mut c, today);
    quantities(&mut c);
    keywords(&mut c);
    slang_names(&mut c);
    adjacency(&mut c);
    short_names(&mut c);
    rest(&mut c);
    c.out.sort_by_key(|(pos, _)| *pos);
    Analysis {
        ents: c.out.into_iter().map(|(_, e)| e).collect(),
        notes: c.notes,
    }
}

/// Futures products, with their contract months.
fn products(c: &mut Ctx<'_>, today: Date) {
    for i in 0..c.items.len() {
        let Some(&term) = c.items[i]
            .terms()
            .iter()
            .find(|t| matches!(t, Term::Product(_) | Term::ProductCode(_)))
        else {
            continue;
        };
        let (Term::Product(p) | Term::ProductCode(p)) = term else {
            continue;
        };
        // A unit meaning wins when a number comes right before ("10m" is not the 豆粕 product).
        if i > 0 && matches!(c.items[i - 1].kind, ItemKind::Num { .. }) && !c.items[i].space_before
        {
            continue;
        }
        let product = &c.lex.products[p];
        let month = month_after(c, i).and_then(|(j, digits, text)| {
            contract_month(&text, digits, today).map(|yymm| (j, yymm))
        });
        let code = match month {
            Some((j, yymm)) => {
                c.claimed[j] = true;
                if j + 1 < c.items.len() && c.items[j + 1].is(Term::Unit(Unit::MonthWord)) {
                    c.claimed[j + 1] = true;
                }
                format!("{}{}.{}", product.code, yymm, product.exchange)
            }
            None => {
                let allowed = match term {
                    Term::Product(_) => true,
                    _ => match product.bare {
                        BarePolicy::Any => true,
                        BarePolicy::Upper => written_upper(c.tok(i)),
                        BarePolicy::None => false,
                    },
                };
                if !allowed {
                    c.notes.ignored_codes += 1;
                    continue;
                }
                format!("{}.{}", product.code, product.exchange)
            }
        };
        c.claimed[i] = true;
        c.out.push((i, Ent::Field(Val::Underlying(code))));
    }
}

/// The number after a product that may be its contract month: (item, digits, text).
fn month_after(c: &Ctx<'_>, i: usize) -> Option<(usize, usize, String)> {
    let j = i + 1;
    let item = c.items.get(j)?;
    let ItemKind::Num { .. } = item.kind else {
        return None;
    };
    let tok = c.tok(j);
    if tok.has_decimal() {
        return None;
    }
    let digits = tok.text.len();
    let next_unit = c.term_at(j + 1).and_then(|ts| {
        ts.iter().find_map(|t| match t {
            Term::Unit(u) => Some(*u),
            _ => None,
        })
    });
    let attached = !item.space_before;
    let ok = match next_unit {
        // "螺纹10月": a contract month; "IC 3个月": a tenor.
        Some(Unit::MonthWord) => digits <= 2,
        Some(_) => false,
        None => (attached && (2..=4).contains(&digits)) || digits == 4,
    };
    ok.then(|| (j, digits, tok.text.clone()))
}

/// YYMM of a contract month written with `digits` digits (2: MM, 3: YMM, 4: YYMM).
fn contract_month(text: &str, digits: usize, today: Date) -> Option<String> {
    let n: u32 = text.parse().ok()?;
    let (year, month) = match digits {
        4 => (2000 + n / 100, n % 100),
        3 => {
            // CZCE's YMM: the first year ending in Y whose month is not already past.
            let (y, m) = (n / 100, n % 100);
            let this = today.year() as u32;
            let now = u32::from(u8::from(today.month()));
            let year = (this..this + 11).find(|yy| yy % 10 == y && (*yy > this || m >= now))?;
            (year, m)
        }
        1 | 2 => {
            let m = n;
            let this = today.year() as u32;
            let year = if m >= u32::from(u8::from(today.month())) {
                this
            } else {
                this + 1
            };
            (year, m)
        }
        _ => return None,
    };
    (1..=12)
        .contains(&month)
        .then(|| format!("{:02}{:02}", year % 100, month))
}

/// Numbers with units.
fn quantities(c: &mut Ctx<'_>) {
    for i in 0..c.items.len() {
        if c.claimed[i] {
            continue;
        }
        let ItemKind::Num { value } = c.items[i].kind else {
            continue;
        };
        let unit = c.term_at(i + 1).and_then(|ts| {
            ts.iter().find_map(|t| match t {
                Term::Unit(u) => Some(*u),
                _ => None,
            })
        });
        // "95p", "105c": a strike and call/put in one word.
        if let Some(w) = c.letter(i + 1)
            && !c.items[i + 1].space_before
        {
            let ot = match w {
                "c" => Some(OptionType::Call),
                "p" => Some(OptionType::Put),
                _ => None,
            };
            if let Some(ot) = ot {
                c.claimed[i] = true;
                c.claimed[i + 1] = true;
                c.out
                    .push((i, Ent::Field(Val::Strike(StrikeVal::Pct(value)))));
                c.out.push((i + 1, Ent::Field(Val::OptionType(ot))));
                continue;
            }
        }
        let Some(unit) = unit else {
            c.q[i] = Some((Q::Bare(value), i + 1));
            continue;
        };
        let notional_ctx = notional_context(c, i);
        let q = match unit {
            Unit::Percent => Q::Pct(value),
            Unit::Points => Q::Points(value),
            Unit::Months | Unit::MonthWord => months(value),
            Unit::Years => months(value * 12.0),
            Unit::Weeks => Q::Tenor(TenorVal::Weeks(value)),
            Unit::Days => Q::Tenor(TenorVal::Days(value)),
            Unit::Wan => Q::Money(value * 1e4),
            Unit::Yi => Q::Money(value * 1e8),
            Unit::Qianwan => Q::Money(value * 1e7),
            Unit::Baiwan | Unit::Million => Q::Money(value * 1e6),
            Unit::Thousand => Q::Money(value * 1e3),
            Unit::Billion => Q::Money(value * 1e9),
            Unit::W => {
                if value <= 12.0 && !notional_ctx {
                    Q::Tenor(TenorVal::Weeks(value))
                } else {
                    Q::Money(value * 1e4)
                }
            }
            Unit::M => {
                if notional_ctx || value > 36.0 {
                    Q::Money(value * 1e6)
                } else {
                    months(value)
                }
            }
        };
        c.q[i] = Some((q, i + 2));
        c.claimed[i + 1] = true;
        // A currency right after money: "1000万港币", "10mm USD".
        if let Q::Money(_) = q
            && let Some(cur) = currency_at(c, i + 2)
        {
            c.claimed[i + 2] = true;
            c.out.push((i + 2, Ent::Currency(cur)));
        }
    }
}

fn months(m: f64) -> Q {
    let r = m.round();
    if (m - r).abs() < 1e-9 && (1.0..=240.0).contains(&r) {
        Q::Tenor(TenorVal::Months(r as u32))
    } else {
        Q::Tenor(TenorVal::Fractional(m))
    }
}

fn currency_at(c: &Ctx<'_>, i: usize) -> Option<String> {
    c.term_at(i)?.iter().find_map(|t| match t {
        Term::Currency(k) => Some(c.lex.currencies[*k].clone()),
        _ => None,
    })
}

/// Whether the number at `i` sits in a notional phrase: a notional keyword or currency within
/// two items before, or a currency or notional keyword right after its unit.
fn notional_context(c: &Ctx<'_>, i: usize) -> bool {
    let money_word = |t: &Term| matches!(t, Term::NotionalKw | Term::Currency(_));
    let before = (i.saturating_sub(2)..i).any(|k| c.items[k].terms().iter().any(money_word));
    // "10m notional" (the keyword after), but not "3M 名义1亿" (the keyword has its own number).
    let after = c.term_at(i + 2).is_some_and(|ts| ts.iter().any(money_word))
        && !matches!(
            c.items.get(i + 3).map(|it| &it.kind),
            Some(ItemKind::Num { .. })
        );
    before || after
}

/// The first unclaimed quantity after keyword `k`, skipping glue: (item, quantity).
fn value_after(c: &Ctx<'_>, k: usize, skip_currency: bool) -> Option<(usize, Q)> {
    let mut j = k + 1;
    let mut skipped = 0;
    while j < c.items.len() && skipped <= 2 {
        if let Some((q, _)) = c.q[j]
            && !c.claimed[j]
        {
            return Some((j, q));
        }
        let skip =
            c.glue(j) || (skip_currency && c.items[j].any(|t| matches!(t, Term::Currency(_))));
        if !skip {
            return None;
        }
        j += 1;
        skipped += 1;
    }
    None
}

/// Whether a question follows keyword `k` (within three items of glue), or a question or quote
/// word comes right before it ("what coupon", "报个票息").
fn asked(c: &Ctx<'_>, k: usize) -> bool {
    let mut j = k + 1;
    while j < c.items.len() && j <= k + 3 {
        let it = &c.items[j];
        if it.is(Term::Question) || c.is_punct(j, &['?']) {
            return true;
        }
        if !(it.is(Term::Filler) || c.is_punct(j, &[':'])) {
            break;
        }
        j += 1;
    }
    k > 0 && (c.items[k - 1].is(Term::Question) || c.items[k - 1].is(Term::Quote))
}

/// Keywords and the quantities they claim.
fn keywords(c: &mut Ctx<'_>) {
    for k in 0..c.items.len() {
        let terms = c.items[k].terms().to_vec();
        for t in terms {
            match t {
                Term::Level(level) => level_keyword(c, k, level),
                Term::TenorKw => {
                    if let Some((j, q)) = value_after(c, k, false) {
                        let tenor = match q {
                            Q::Tenor(tv) => Some(tv),
                            Q::Bare(v) if v <= 120.0 => match months(v) {
                                Q::Tenor(tv) => Some(tv),
                                _ => None,
                            },
                            _ => None,
                        };
                        if let Some(tv) = tenor {
                            c.claimed[j] = true;
                            c.out.push((j, Ent::Field(Val::Tenor(tv))));
                        }
                    }
                }
                Term::NotionalKw => {
                    if let Some((j, q)) = value_after(c, k, true) {
                        let money = match q {
                            Q::Money(v) => Some(v),
                            Q::Bare(v) if v >= 1000.0 => Some(v),
                            _ => None,
                        };
                        if let Some(v) = money {
                            c.claimed[j] = true;
                            c.out.push((j, Ent::Field(Val::Notional(v))));
                        }
                    }
                }
                Term::Moneyness(m) | Term::ShortMoneyness(m) => {
                    let short = matches!(t, Term::ShortMoneyness(_));
                    moneyness(c, k, m, short);
                }
                Term::Premium => {
                    if let Some((j, q)) = value_after(c, k, false)
                        && matches!(q, Q::Pct(_) | Q::Money(_))
                    {
                        c.claimed[j] = true;
                        c.notes.premium_given = true;
                    } else {
                        c.out.push((k, Ent::Solve(SolveFor::Premium, 1)));
                    }
                }
                _ => {}
            }
        }
    }
    // English order: "100% participation", "5% payout", "103% KO".
    for k in 1..c.items.len() {
        let Some(level) = c.items[k].terms().iter().find_map(|t| match t {
            Term::Level(l) => Some(*l),
            _ => None,
        }) else {
            continue;
        };
        let keyword_has_value = c
            .out
            .iter()
            .any(|(p, e)| *p > k && *p <= k + 3 && level_ent(e, level));
        if keyword_has_value || c.tok(k).kind != TokKind::Latin {
            continue;
        }
        if let Some((j, Q::Pct(v))) = c.quantity_before(k) {
            c.claimed[j] = true;
            let val = level_value(level, Q::Pct(v));
            c.out.push((j, Ent::Field(val)));
            // A keyword that now has its value names nothing to solve.
            c.out
                .retain(|(p, e)| !(*p == k && matches!(e, Ent::Solve(..))));
        }
    }
}

fn level_ent(e: &Ent, level: Level) -> bool {
    matches!(
        (e, level),
        (Ent::Field(Val::KnockOut(_)), Level::KnockOut)
            | (Ent::Field(Val::KnockIn(_)), Level::KnockIn)
            | (Ent::Field(Val::Barrier(_)), Level::Barrier)
            | (Ent::Field(Val::Strike(_)), Level::Strike)
            | (Ent::Field(Val::Coupon(_)), Level::Coupon)
            | (Ent::Field(Val::CouponBarrier(_)), Level::CouponBarrier)
            | (Ent::Field(Val::Participation(_)), Level::Participation)
            | (Ent::Field(Val::Payout(_)), Level::Payout)
    )
}

/// A level's value: percentages as written; a bare 1.03 is 103%; a strike outside 30..300 or in
/// points is an absolute price.
fn level_value(level: Level, q: Q) -> Val {
    let pct = |v: f64| {
        let fraction = if matches!(level, Level::Coupon | Level::Payout) {
            v > 0.0 && v < 1.0 && level == Level::Coupon
        } else {
            v > 0.0 && v <= 3.0 && v.fract() != 0.0
        };
        if fraction {
            (v * 100.0 * 1e6).round() / 1e6
        } else {
            v
        }
    };
    let v = match q {
        Q::Pct(v) => v,
        Q::Bare(v) => pct(v),
        Q::Points(v) | Q::Money(v) => v,
        Q::Tenor(_) => 0.0,
    };
    match level {
        Level::KnockOut => Val::KnockOut(v),
        Level::KnockIn => Val::KnockIn(v),
        Level::Barrier => Val::Barrier(v),
        Level::Strike => match q {
            Q::Points(p) => Val::Strike(StrikeVal::Absolute(p)),
            Q::Bare(_) if !(30.0..=300.0).contains(&v) => Val::Strike(StrikeVal::Absolute(v)),
            _ => Val::Strike(StrikeVal::Pct(v)),
        },
        Level::Coupon => Val::Coupon(v),
        Level::CouponBarrier => Val::CouponBarrier(v),
        Level::Participation => Val::Participation(v),
        Level::Payout => Val::Payout(v),
    }
}

fn level_keyword(c: &mut Ctx<'_>, k: usize, level: Level) {
    if let Some((j, q)) = value_after(c, k, false)
        && matches!(q, Q::Pct(_) | Q::Bare(_) | Q::Points(_))
    {
        c.claimed[j] = true;
        c.out.push((j, Ent::Field(level_value(level, q))));
        return;
    }
    // "行权价 平值": the strike keyword followed by a moneyness word.
    if level == Level::Strike
        && let Some(j) = (k + 1..(k + 3).min(c.items.len()))
            .find(|j| c.items[*j].any(|t| matches!(t, Term::Moneyness(_))))
        && (k + 1..j).all(|x| c.glue(x))
    {
        return;
    }
    let solve = match level {
        Level::Coupon => Some(SolveFor::Coupon),
        Level::Strike => Some(SolveFor::Strike),
        Level::Barrier | Level::KnockOut | Level::KnockIn => Some(SolveFor::Barrier),
        Level::Participation => Some(SolveFor::Participation),
        Level::CouponBarrier | Level::Payout => None,
    };
    let Some(solve) = solve else { return };
    // A coupon keyword with nothing after it asks for the coupon ("报个票息", "coupon?");
    // other levels need a question ("行权价多少", "what strike").
    let trailing = level == Level::Coupon && value_after(c, k, false).is_none();
    if asked(c, k) || trailing {
        c.out.push((k, Ent::Solve(solve, 2)));
    }
}

fn moneyness(c: &mut Ctx<'_>, k: usize, m: Moneyness, short: bool) {
    if m == Moneyness::Atm {
        c.out.push((k, Ent::Field(Val::Strike(StrikeVal::Atm))));
        return;
    }
    let offset = |v: f64| (0.0..=50.0).contains(&v);
    let after = match c.q.get(k + 1).copied().flatten() {
        Some((Q::Pct(v) | Q::Bare(v), _)) if !c.claimed[k + 1] && offset(v) => Some((k + 1, v)),
        _ => None,
    };
    let before = match c.quantity_before(k) {
        Some((j, Q::Pct(v))) if offset(v) => Some((j, v)),
        _ => None,
    };
    match after.or(before) {
        Some((j, v)) => {
            c.claimed[j] = true;
            // 虚30 on a commodity is in price points, not percent; only a written % or an
            // index-like underlying makes it a percentage. The builder checks the underlying.
            let sv = if m == Moneyness::Otm {
                StrikeVal::Otm(v)
            } else {
                StrikeVal::Itm(v)
            };
            c.out.push((j.min(k), Ent::Field(Val::Strike(sv))));
        }
        None if !short => c
            .out
            .push((k, Ent::Field(Val::Strike(StrikeVal::OffsetUnknown)))),
        None => {}
    }
}

/// A bare number or percentage next to call/put (skipping structure and exercise words) is the
/// strike: "95 put", "105% call", "put 95", "102% digital call".
fn adjacency(c: &mut Ctx<'_>) {
    let passable = |it: &Item| {
        it.any(|t| {
            matches!(
                t,
                Term::Structure(_) | Term::WeakStructure(_) | Term::Exercise(_)
            )
        })
    };
    for i in 0..c.items.len() {
        let Some((q, _)) = c.q[i] else { continue };
        if c.claimed[i] {
            continue;
        }
        let v = match q {
            Q::Pct(v) | Q::Bare(v) => v,
            _ => continue,
        };
        if !(30.0..=300.0).contains(&v) {
            continue;
        }
        let is_ot = |it: &Item| it.any(|t| matches!(t, Term::OptionType(_)));
        let mut j = i + 1;
        while j < c.items.len() && j <= i + 3 && passable(&c.items[j]) {
            j += 1;
        }
        let after = j < c.items.len() && is_ot(&c.items[j]);
        let before = i > 0 && is_ot(&c.items[i - 1]);
        if after || before {
            c.claimed[i] = true;
            c.notes.guesses += usize::from(matches!(q, Q::Bare(_)));
            c.out.push((i, Ent::Field(Val::Strike(StrikeVal::Pct(v)))));
        }
    }
}

/// Bare index numbers after another index: "中证1000 …，另外500的同样结构".
fn short_names(c: &mut Ctx<'_>) {
    let has_index = c.items.iter().any(|it| {
        it.any(|t| matches!(t, Term::Underlying(u) if c.lex.underlyings[u].kind == UnderlyingKind::Index))
    });
    if !has_index {
        return;
    }
    let joiner = |it: &Item| it.any(|t| matches!(t, Term::Conj | Term::Same | Term::Each));
    for (i, u) in short_candidates(c) {
        let before = i == 0 || joiner(&c.items[i - 1]) || c.is_punct(i - 1, &[',', ';', '、']);
        let after = c.items.get(i + 1).is_some_and(|it| {
            joiner(it)
                || it.is(Term::Filler) && c.tok(i + 1).text == "的"
                || it.any(|t| matches!(t, Term::Structure(_)))
        });
        if before || after {
            claim_short(c, i, u);
        }
    }
}

/// Unclaimed bare numbers that are an index's short name, with the index.
fn short_candidates(c: &Ctx<'_>) -> Vec<(usize, usize)> {
    (0..c.items.len())
        .filter(|&i| matches!(c.q[i], Some((Q::Bare(_), _))) && !c.claimed[i])
        .filter_map(|i| c.lex.short.get(&c.tok(i).text).map(|&u| (i, u)))
        .collect()
}

fn claim_short(c: &mut Ctx<'_>, i: usize, u: usize) {
    c.claimed[i] = true;
    c.out.push((
        i,
        Ent::Field(Val::Underlying(c.lex.underlyings[u].code.clone())),
    ));
}

/// Desk slang: in a message naming no underlying, a bare index number right before a structure
/// or call/put is the index ("500 雪球", "300 平值看涨", "50的鲨鱼鳍", "500和1000 雪球"). Runs
/// after the keywords (so "敲出1000" and "1000万" are already a level and a notional) and before
/// the strike guess (which would read "300 看涨" as a 300% strike). The cases, and those that
/// must not be read so, are in `data/eval/slang.jsonl`.
fn slang_names(c: &mut Ctx<'_>) {
    // A futures code that is also a unit ("m" of "12m", "y" of "1y") names nothing here.
    let has_subject = c.items.iter().any(|it| {
        it.any(|t| matches!(t, Term::Underlying(_) | Term::Product(_)))
            || it.any(|t| matches!(t, Term::ProductCode(_)))
                && !it.any(|t| matches!(t, Term::Unit(_)))
    });
    if has_subject {
        return;
    }
    let kind_at = |j: usize| {
        c.items.get(j).is_some_and(|it| {
            it.any(|t| {
                matches!(
                    t,
                    Term::Structure(_) | Term::WeakStructure(_) | Term::OptionType(_)
                )
            })
        })
    };
    let candidates = short_candidates(c);
    let mut take = vec![false; c.items.len()];
    // Right to left, so that "500和1000 雪球" sees 1000 taken before it looks at 500.
    for &(i, _) in candidates.iter().rev() {
        let mut j = i + 1;
        if j < c.items.len()
            && (c.items[j].is(Term::Filler) && c.tok(j).text == "的" || c.is_punct(j, &[',']))
        {
            j += 1;
        }
        let moneyness_then_kind = c
            .items
            .get(j)
            .is_some_and(|it| it.any(|t| matches!(t, Term::Moneyness(_))))
            && kind_at(j + 1);
        let joined = c.items.get(i + 1).is_some_and(|it| it.is(Term::Conj))
            && take.get(i + 2) == Some(&true);
        take[i] = kind_at(j) || moneyness_then_kind || joined;
    }
    for (i, u) in candidates {
        if take[i] {
            claim_short(c, i, u);
        }
    }
}

/// Everything else: terms to entities, unclaimed quantities, notes.
fn rest(c: &mut Ctx<'_>) {
    for i in 0..c.items.len() {
        let item = &c.items[i];
        c.notes.total += usize::from(!matches!(item.kind, ItemKind::Punct(_)));
        if let ItemKind::Term {
            fuzzy: Some(alias), ..
        } = &item.kind
        {
            let written: String = c.toks[item.tok..item.tok + item.len]
                .iter()
                .map(|t| t.raw.as_str())
                .collect();
            c.notes.fuzzy.push((alias.clone(), written));
        }
        match &item.kind {
            ItemKind::Word | ItemKind::Char if !c.claimed[i] => c.notes.unknown += 1,
            ItemKind::Num { .. } if !c.claimed[i] => match c.q[i] {
                Some((Q::Money(v), _)) => c.out.push((i, Ent::Field(Val::Notional(v)))),
                Some((Q::Tenor(tv), _)) => c.out.push((i, Ent::Field(Val::Tenor(tv)))),
                Some((Q::Pct(v), _)) => c.out.push((i, Ent::Number(v, true))),
                Some((Q::Bare(v), _)) => {
                    if is_pair(c, i) {
                        continue;
                    }
                    c.out.push((i, Ent::Number(v, false)));
                }
                Some((Q::Points(v), _)) => c.notes.unassigned.push(format!("{v}点")),
                None => {}
            },
            _ => {}
        }
        for t in item.terms().to_vec() {
            let e = match t {
                Term::Underlying(u) => {
                    Ent::Field(Val::Underlying(c.lex.underlyings[u].code.clone()))
                }
                Term::Structure(s) => Ent::Field(Val::Structure(s)),
                Term::WeakStructure(s) => Ent::WeakStructure(s),
                Term::OptionType(o) => Ent::Field(Val::OptionType(o)),
                Term::Exercise(x) => Ent::Field(Val::Exercise(x)),
                Term::Side(s) => Ent::Side(s),
                Term::Currency(k) if !c.claimed[i] => Ent::Currency(c.lex.currencies[k].clone()),
                Term::Injection => {
                    c.notes.injection = true;
                    continue;
                }
                Term::Information => {
                    c.notes.information = true;
                    continue;
                }
                Term::Each => {
                    c.notes.each = true;
                    continue;
                }
                Term::Same => {
                    c.notes.same = true;
                    continue;
                }
                Term::Conj => {
                    c.notes.conj = true;
                    continue;
                }
                Term::Quote => {
                    c.notes.quote = true;
                    continue;
                }
                _ => continue,
            };
            c.out.push((i, e));
        }
    }
    // A lone "C" or "P" is call or put (commodity-rfq-spec §C2) when the message names neither
    // otherwise: "50etf c 1m atm".
    let named = c
        .out
        .iter()
        .any(|(_, e)| matches!(e, Ent::Field(Val::OptionType(_))));
    if !named {
        for i in 0..c.items.len() {
            if c.claimed[i] {
                continue;
            }
            let ot = match c.letter(i) {
                Some("c") => OptionType::Call,
                Some("p") => OptionType::Put,
                _ => continue,
            };
            let alone = |j: usize| {
                c.items
                    .get(j)
                    .is_none_or(|it| !matches!(it.kind, ItemKind::Word))
            };
            if alone(i + 1) && (i == 0 || alone(i - 1)) {
                c.notes.guesses += 1;
                if matches!(c.items[i].kind, ItemKind::Word) {
                    c.notes.unknown = c.notes.unknown.saturating_sub(1);
                }
                c.out.push((i, Ent::Field(Val::OptionType(ot))));
            }
        }
    }
    // "客户A的…", "client X's …": another client named by an id (a short code in capitals or
    // with digits: "客户B", "client X", "client 42"; not "client wants").
    for i in 0..c.items.len().saturating_sub(1) {
        let t = c.tok(i).text.as_str();
        let next = c.tok(i + 1);
        let id_like = match next.kind {
            TokKind::Num => true,
            TokKind::Latin => {
                let raw = next.raw.as_str();
                raw.len() <= 3 && raw.bytes().all(|b| b.is_ascii_uppercase())
                    || (t == "户" && raw.len() <= 8)
            }
            _ => false,
        };
        let single = c.items[i].len == 1;
        let client_word = single
            && ((t == "户" && i > 0 && c.tok(i - 1).text == "客")
                || t == "client"
                || t == "customer");
        if client_word && id_like {
            c.notes.information = true;
        }
    }
}

/// "103/75" before any keyword: records a pair and claims both numbers.
fn is_pair(c: &mut Ctx<'_>, i: usize) -> bool {
    if !c.is_punct(i + 1, &['/'])
        && !c
            .items
            .get(i + 1)
            .is_some_and(|it| it.is(Term::Conj) && c.tok(i + 1).text == "/")
    {
        return false;
    }
    let Some((Q::Bare(a), _)) = c.q[i] else {
        return false;
    };
    let Some((Q::Bare(b), _)) = c.q.get(i + 2).copied().flatten() else {
        return false;
    };
    if c.claimed.get(i + 2).copied().unwrap_or(true)
        || !(a > b && (50.0..=150.0).contains(&a) && (30.0..=150.0).contains(&b))
    {
        return false;
    }
    c.claimed[i] = true;
    c.claimed[i + 2] = true;
    c.out.push((i, Ent::Pair(a, b)));
    true
}
