//! From entities to requests: how one message becomes several requests.
//!
//! 1. **Segmentation.** Entities are read in order into a current request; a field that the
//!    current request already has with a *different* value starts a new one ("平值看涨 和 平值看跌"
//!    → call, then put; "95 put and 105 call" → two strikes, two requests).
//! 2. **Groups.** Consecutive requests on the same underlying form a group. A group that names
//!    only an underlying ("另外500的同样结构也报一下", "中证500和沪深300 平值看涨 …") copies the
//!    requests of the previous group (or of the next one when it comes first) onto its
//!    underlying.
//! 3. **Fill.** A request takes what it lacks from its nearest neighbours: within its group
//!    first, then across groups; only fields that its structure uses, and across different
//!    structures only the notional. A request without a structure word takes its neighbour's
//!    structure when all of its own fields fit it ("鲨鱼鳍 看涨 障碍110 和 看跌 障碍90").
//! 4. **Build.** Strikes from moneyness once call/put is known, levels mapped to the structure
//!    (a shark fin's 敲出价 is its `barrier_pct`), defaults (currency of the underlying), and the
//!    fields still needed to price.

use super::grammar::{Ent, Key, StrikeVal, TenorVal, Val};
use super::lexicon::{Lexicon, UnderlyingKind};
use super::schema::{MissingField, OptionType, RfqRequest, Side, SolveFor, Structure};
use super::{MAX_REQUESTS, Problem};
use std::collections::BTreeMap;

/// One request under construction.
#[derive(Debug, Clone, Default)]
struct Leg {
    vals: BTreeMap<Key, Val>,
    weak: Option<Structure>,
    sides: Vec<Option<Side>>,
    currency: Option<String>,
    solves: Vec<(SolveFor, u8)>,
    numbers: Vec<(f64, bool)>,
    pairs: Vec<(f64, f64)>,
    /// The structure family used for filling.
    family: Option<Structure>,
}

impl Leg {
    fn defining(&self) -> bool {
        self.weak.is_some()
            || !self.pairs.is_empty()
            || self
                .vals
                .keys()
                .any(|k| !matches!(k, Key::Underlying | Key::Tenor | Key::Notional))
    }

    fn underlying(&self) -> Option<&str> {
        match self.vals.get(&Key::Underlying) {
            Some(Val::Underlying(u)) => Some(u),
            _ => None,
        }
    }

    fn explicit(&self) -> Option<Structure> {
        match self.vals.get(&Key::Structure) {
            Some(Val::Structure(s)) => Some(*s),
            _ => None,
        }
    }

    fn has(&self, k: Key) -> bool {
        self.vals.contains_key(&k)
    }

    /// The structure the leg's own fields point to.
    fn inferred(&self) -> Option<Structure> {
        let ot = self.has(Key::OptionType);
        Some(if self.has(Key::CouponBarrier) {
            Structure::Phoenix
        } else if self.has(Key::KnockIn)
            || self.has(Key::Coupon)
            || (self.has(Key::KnockOut) && !ot)
            || !self.pairs.is_empty()
        {
            Structure::Snowball
        } else if self.has(Key::Participation) {
            Structure::SharkFin
        } else if self.has(Key::Payout) {
            Structure::Digital
        } else if self.has(Key::Barrier) || self.has(Key::KnockOut) {
            Structure::Barrier
        } else if let Some(w) = self.weak {
            w
        } else if ot || self.has(Key::Strike) {
            Structure::Vanilla
        } else {
            return None;
        })
    }

    /// Whether every defining field of the leg fits `s`.
    fn fits(&self, s: Structure) -> bool {
        self.vals.keys().all(|k| allowed(s, *k)) && (self.pairs.is_empty() || s.is_autocallable())
    }
}

/// Which fields a structure uses.
fn allowed(s: Structure, k: Key) -> bool {
    use Key::*;
    match k {
        Underlying | Tenor | Notional | Structure => true,
        _ => match s {
            self::Structure::Vanilla => matches!(k, OptionType | Exercise | Strike),
            self::Structure::Digital => matches!(k, OptionType | Exercise | Strike | Payout),
            self::Structure::Barrier => matches!(
                k,
                OptionType | Exercise | Strike | Barrier | KnockOut | KnockIn
            ),
            self::Structure::SharkFin => {
                matches!(
                    k,
                    OptionType | Exercise | Strike | Barrier | KnockOut | Participation
                )
            }
            self::Structure::Asian => matches!(k, OptionType | Exercise | Strike),
            self::Structure::Snowball => matches!(k, KnockOut | KnockIn | Coupon | Strike),
            self::Structure::Phoenix => {
                matches!(k, KnockOut | KnockIn | Coupon | CouponBarrier | Strike)
            }
        },
    }
}

/// Builds the requests of a message from its entities.
pub(crate) fn build(ents: &[Ent], lex: &Lexicon, problems: &mut Vec<Problem>) -> Vec<RfqRequest> {
    let legs = segment(ents);
    if legs.is_empty() {
        return Vec::new();
    }
    // Groups: runs of legs on one underlying.
    let mut groups: Vec<Vec<Leg>> = Vec::new();
    let mut group_under: Option<String> = None;
    for leg in legs {
        let new_group = match (leg.underlying(), &group_under) {
            (Some(u), Some(g)) => u != g,
            _ => groups.is_empty(),
        };
        if new_group {
            group_under = leg.underlying().map(str::to_string);
            groups.push(Vec::new());
        } else if group_under.is_none() {
            group_under = leg.underlying().map(str::to_string);
        }
        if let Some(g) = groups.last_mut() {
            g.push(leg);
        }
    }
    let bare: Vec<bool> = groups
        .iter()
        .map(|g| g.iter().all(|l| !l.defining()))
        .collect();
    // Families and fill for groups with content of their own.
    let mut flat: Vec<(usize, Leg)> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        if !bare[gi] {
            flat.extend(g.iter().cloned().map(|l| (gi, l)));
        }
    }
    assign_families(&mut flat);
    fill(&mut flat);
    // Bare groups copy the requests of the previous group with content (or the next one).
    let mut out: Vec<(usize, Leg)> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        if !bare[gi] {
            out.extend(flat.iter().filter(|(x, _)| *x == gi).cloned());
            continue;
        }
        let source = (0..gi)
            .rev()
            .find(|x| !bare[*x])
            .or_else(|| (gi + 1..groups.len()).find(|x| !bare[*x]));
        match source {
            Some(src) => {
                let templates: Vec<&Leg> = flat
                    .iter()
                    .filter(|(x, _)| *x == src)
                    .map(|(_, l)| l)
                    .collect();
                for own in g {
                    for t in &templates {
                        let mut leg = (*t).clone();
                        for (k, v) in &own.vals {
                            leg.vals.insert(*k, v.clone());
                        }
                        if !own.sides.is_empty() {
                            leg.sides = own.sides.clone();
                        }
                        if own.currency.is_some() {
                            leg.currency = own.currency.clone();
                        }
                        if !own.solves.is_empty() {
                            leg.solves = own.solves.clone();
                        }
                        out.push((gi, leg));
                    }
                }
            }
            // Nothing to copy: the group stands as it is (an underlying with, at most, a tenor
            // and a notional; its structure is missing).
            None => out.extend(g.iter().cloned().map(|l| (gi, l))),
        }
    }
    // A tenor or notional said only with a bare group ("…，中证500和中证1000，3个月") serves the
    // requests it was copied from as well.
    fill(&mut out);
    let mut out: Vec<Leg> = out.into_iter().map(|(_, l)| l).collect();
    // Message-wide soft fields: a side or currency said once applies to every request.
    let side_all: Vec<Option<Side>> = out.iter().flat_map(|l| l.sides.clone()).collect();
    let currency_all = out.iter().find_map(|l| l.currency.clone());
    for leg in &mut out {
        if leg.sides.is_empty() {
            leg.sides = side_all.clone();
        }
        if leg.currency.is_none() {
            leg.currency = currency_all.clone();
        }
    }
    let mut reqs: Vec<RfqRequest> = Vec::new();
    for leg in &out {
        let r = finish(leg, lex, problems);
        if !reqs.contains(&r) {
            reqs.push(r);
        }
    }
    if reqs.len() > MAX_REQUESTS {
        problems.push(Problem::TooManyRequests {
            found: reqs.len(),
            kept: MAX_REQUESTS,
        });
        reqs.truncate(MAX_REQUESTS);
    }
    reqs
}

fn segment(ents: &[Ent]) -> Vec<Leg> {
    let mut legs = vec![Leg::default()];
    for e in ents {
        if let Ent::Field(v) = e {
            let k = v.key();
            let conflict = legs
                .last()
                .and_then(|l| l.vals.get(&k))
                .is_some_and(|old| old != v);
            if conflict {
                legs.push(Leg::default());
            }
        }
        let Some(leg) = legs.last_mut() else { continue };
        match e {
            Ent::Field(v) => {
                leg.vals.insert(v.key(), v.clone());
            }
            Ent::WeakStructure(s) => {
                leg.weak.get_or_insert(*s);
            }
            Ent::Side(s) => leg.sides.push(*s),
            Ent::Currency(c) => {
                leg.currency.get_or_insert_with(|| c.clone());
            }
            Ent::Solve(s, p) => leg.solves.push((*s, *p)),
            Ent::Number(v, pct) => leg.numbers.push((*v, *pct)),
            Ent::Pair(a, b) => leg.pairs.push((*a, *b)),
        }
    }
    // A leg with soft content only (a side or a question before anything else) merges into the
    // next one; an empty leg disappears.
    let mut out: Vec<Leg> = Vec::new();
    let mut carry: Option<Leg> = None;
    for mut leg in legs {
        if let Some(c) = carry.take() {
            leg.sides.splice(0..0, c.sides);
            leg.solves.splice(0..0, c.solves);
            leg.numbers.splice(0..0, c.numbers);
            if leg.currency.is_none() {
                leg.currency = c.currency;
            }
            if leg.weak.is_none() {
                leg.weak = c.weak;
            }
        }
        if leg.vals.is_empty() && leg.pairs.is_empty() {
            carry = Some(leg);
        } else {
            out.push(leg);
        }
    }
    if let Some(c) = carry
        && let Some(last) = out.last_mut()
    {
        last.sides.extend(c.sides);
        last.solves.extend(c.solves);
        last.numbers.extend(c.numbers);
        if last.currency.is_none() {
            last.currency = c.currency;
        }
    }
    out
}

/// Neighbour order for leg `i` of `n`: nearest first, previous before next at equal distance.
fn neighbours(i: usize, n: usize) -> impl Iterator<Item = usize> {
    (1..n).flat_map(move |d| {
        let prev = i.checked_sub(d);
        let next = (i + d < n).then_some(i + d);
        prev.into_iter().chain(next)
    })
}

fn assign_families(flat: &mut [(usize, Leg)]) {
    let explicit: Vec<Option<Structure>> = flat.iter().map(|(_, l)| l.explicit()).collect();
    let inferred: Vec<Option<Structure>> = flat
        .iter()
        .map(|(_, l)| l.explicit().or_else(|| l.inferred()))
        .collect();
    let n = flat.len();
    for i in 0..n {
        if explicit[i].is_some() {
            flat[i].1.family = explicit[i];
            continue;
        }
        let group = flat[i].0;
        let order: Vec<usize> = neighbours(i, n)
            .filter(|j| flat[*j].0 == group)
            .chain(neighbours(i, n).filter(|j| flat[*j].0 != group))
            .collect();
        let leg = &flat[i].1;
        // A neighbour's explicit structure that fits every field of this leg, nearest first and
        // within the group first; then what the leg's own fields say; then a neighbour's
        // inferred structure for a leg with nothing of its own (a second tenor, say).
        let family = order
            .iter()
            .find_map(|j| explicit[*j].filter(|s| leg.fits(*s)))
            .or_else(|| leg.inferred())
            .or_else(|| {
                order
                    .iter()
                    .find_map(|j| inferred[*j].filter(|s| leg.fits(*s)))
            });
        flat[i].1.family = family;
    }
}

fn fill(flat: &mut [(usize, Leg)]) {
    let n = flat.len();
    let snapshot: Vec<(usize, Leg)> = flat.to_vec();
    for i in 0..n {
        let (group, family) = (snapshot[i].0, snapshot[i].1.family);
        let order: Vec<usize> = neighbours(i, n)
            .filter(|j| snapshot[*j].0 == group)
            .chain(neighbours(i, n).filter(|j| snapshot[*j].0 != group))
            .collect();
        for k in FILLABLE {
            if flat[i].1.has(*k) {
                continue;
            }
            let Some(fam) = family else {
                // A leg with no structure at all only takes the underlying of its group.
                if *k == Key::Underlying
                    && let Some(v) = order
                        .iter()
                        .filter(|j| snapshot[**j].0 == group)
                        .find_map(|j| snapshot[*j].1.vals.get(k))
                {
                    flat[i].1.vals.insert(*k, v.clone());
                }
                continue;
            };
            if !allowed(fam, *k) {
                continue;
            }
            let source = order.iter().find_map(|j| {
                let other = &snapshot[*j];
                let same_group = other.0 == group;
                if *k == Key::Underlying && !same_group {
                    return None;
                }
                let same_family = other.1.family.is_none_or(|f| f == fam);
                if !same_family && *k != Key::Notional {
                    return None;
                }
                other.1.vals.get(k)
            });
            if let Some(v) = source {
                flat[i].1.vals.insert(*k, v.clone());
            }
        }
        if flat[i].1.solves.is_empty()
            && let Some(s) = order.iter().find_map(|j| {
                let other = &snapshot[*j];
                (other.1.family == family && !other.1.solves.is_empty())
                    .then(|| other.1.solves.clone())
            })
        {
            flat[i].1.solves = s;
        }
    }
}

const FILLABLE: &[Key] = &[
    Key::Underlying,
    Key::OptionType,
    Key::Exercise,
    Key::Strike,
    Key::KnockOut,
    Key::KnockIn,
    Key::Barrier,
    Key::Coupon,
    Key::CouponBarrier,
    Key::Participation,
    Key::Payout,
    Key::Tenor,
    Key::Notional,
];

fn num(v: &Val) -> Option<f64> {
    match v {
        Val::KnockOut(x)
        | Val::KnockIn(x)
        | Val::Barrier(x)
        | Val::Coupon(x)
        | Val::CouponBarrier(x)
        | Val::Participation(x)
        | Val::Payout(x)
        | Val::Notional(x) => Some(*x),
        _ => None,
    }
}

/// Turns a filled leg into a request.
fn finish(leg: &Leg, lex: &Lexicon, problems: &mut Vec<Problem>) -> RfqRequest {
    let structure = leg.family;
    let get = |k: Key| leg.vals.get(&k).and_then(num);
    let mut r = RfqRequest {
        structure,
        ..RfqRequest::default()
    };
    r.underlying = leg.underlying().map(str::to_string);
    let info = r.underlying.as_deref().and_then(|u| lex.underlying(u));
    if let Some(Val::OptionType(o)) = leg.vals.get(&Key::OptionType) {
        r.option_type = Some(*o);
    }
    if let Some(Val::Exercise(e)) = leg.vals.get(&Key::Exercise) {
        r.exercise = Some(*e);
    }
    r.knock_out_pct = get(Key::KnockOut);
    r.knock_in_pct = get(Key::KnockIn);
    r.barrier_pct = get(Key::Barrier);
    r.coupon_pct = get(Key::Coupon);
    r.coupon_barrier_pct = get(Key::CouponBarrier);
    r.payout_pct = get(Key::Payout);
    r.participation_pct = get(Key::Participation);
    r.notional = get(Key::Notional);
    match leg.vals.get(&Key::Tenor) {
        Some(Val::Tenor(TenorVal::Months(m))) => r.tenor_months = Some(*m),
        Some(Val::Tenor(t)) => problems.push(Problem::UnsupportedTenor {
            written: describe_tenor(*t),
        }),
        _ => {}
    }
    // Numbers no keyword claimed: a strike for an option, knock-out/knock-in for an autocall.
    let mut numbers = leg.numbers.clone();
    let mut strike = leg.vals.get(&Key::Strike).and_then(|v| match v {
        Val::Strike(s) => Some(*s),
        _ => None,
    });
    match structure {
        Some(s) if s.is_autocallable() && r.knock_out_pct.is_none() && r.knock_in_pct.is_none() => {
            if let Some((a, b)) = leg.pairs.first() {
                r.knock_out_pct = Some(*a);
                r.knock_in_pct = Some(*b);
            } else if let [(a, _), (b, _)] = numbers.as_slice()
                && a > b
                && (80.0..=150.0).contains(a)
                && (40.0..=100.0).contains(b)
            {
                r.knock_out_pct = Some(*a);
                r.knock_in_pct = Some(*b);
                numbers.clear();
            }
        }
        Some(s) if s.has_option_type() && strike.is_none() => {
            if let Some(p) = numbers
                .iter()
                .position(|(v, pct)| *pct && (50.0..=200.0).contains(v))
            {
                strike = Some(StrikeVal::Pct(numbers[p].0));
                numbers.remove(p);
            }
        }
        _ => {}
    }
    for (v, pct) in &numbers {
        problems.push(Problem::UnassignedNumber {
            text: format!("{v}{}", if *pct { "%" } else { "" }),
        });
    }
    let commodity = info
        .as_ref()
        .is_some_and(|i| i.kind == UnderlyingKind::Future && !is_index_future(&i.code));
    r.strike_pct = match strike {
        None => None,
        Some(StrikeVal::Pct(p)) => Some(p),
        Some(StrikeVal::Atm) => Some(100.0),
        Some(StrikeVal::Otm(x) | StrikeVal::Itm(x)) if commodity && x > 20.0 => {
            // 虚30 on a commodity future is 30 price points (commodity-rfq-spec §3C), which has
            // no percentage without the futures price.
            problems.push(Problem::StrikeNotPercent {
                written: format!("offset {x} points"),
            });
            None
        }
        Some(off @ (StrikeVal::Otm(x) | StrikeVal::Itm(x))) => {
            let otm = matches!(off, StrikeVal::Otm(_));
            match r.option_type {
                Some(OptionType::Call) => Some(if otm { 100.0 + x } else { 100.0 - x }),
                Some(OptionType::Put) => Some(if otm { 100.0 - x } else { 100.0 + x }),
                None => {
                    problems.push(Problem::StrikeNeedsCallPut);
                    None
                }
            }
        }
        Some(StrikeVal::OffsetUnknown) => {
            problems.push(Problem::StrikeNotPercent {
                written: "moneyness without a number".into(),
            });
            None
        }
        Some(StrikeVal::Absolute(v)) => {
            problems.push(Problem::StrikeNotPercent {
                written: format!("{v}"),
            });
            None
        }
    };
    // Levels by structure: a shark fin's or barrier option's 敲出/敲入 is its barrier.
    if let Some(s) = structure {
        if matches!(s, Structure::SharkFin | Structure::Barrier) && r.barrier_pct.is_none() {
            r.barrier_pct = r.knock_out_pct.take().or_else(|| r.knock_in_pct.take());
        }
        drop_unused(&mut r, s, problems);
    }
    r.side = side(&leg.sides, problems);
    r.currency = leg.currency.clone().or_else(|| info.map(|i| i.currency));
    r.solve_for = leg
        .solves
        .iter()
        .max_by_key(|(_, p)| *p)
        .map(|(s, _)| *s)
        .filter(|s| match (s, structure) {
            (SolveFor::Coupon, Some(st)) => st.is_autocallable(),
            (SolveFor::Participation, Some(st)) => st == Structure::SharkFin,
            _ => true,
        });
    r
}

fn is_index_future(code: &str) -> bool {
    ["IF", "IC", "IH", "IM"]
        .iter()
        .any(|p| code.starts_with(p) && code.ends_with(".CFFEX"))
}

fn describe_tenor(t: TenorVal) -> String {
    match t {
        TenorVal::Months(m) => format!("{m} months"),
        TenorVal::Weeks(w) => format!("{w} weeks"),
        TenorVal::Days(d) => format!("{d} days"),
        TenorVal::Fractional(m) => format!("{m} months"),
    }
}

/// Clears the fields `s` does not use, noting each.
pub(crate) fn drop_unused(r: &mut RfqRequest, s: Structure, problems: &mut Vec<Problem>) {
    let mut drop = |name: &str, present: bool| {
        if present {
            problems.push(Problem::DroppedField {
                field: name.to_string(),
                structure: s.as_str().to_string(),
            });
        }
    };
    if !s.has_option_type() {
        drop("option_type", r.option_type.take().is_some());
        drop("exercise", r.exercise.take().is_some());
        drop("barrier_pct", r.barrier_pct.take().is_some());
        drop("participation_pct", r.participation_pct.take().is_some());
        drop("payout_pct", r.payout_pct.take().is_some());
    } else {
        drop("knock_out_pct", r.knock_out_pct.take().is_some());
        drop("knock_in_pct", r.knock_in_pct.take().is_some());
        drop("coupon_pct", r.coupon_pct.take().is_some());
        drop("coupon_barrier_pct", r.coupon_barrier_pct.take().is_some());
        if !matches!(s, Structure::Barrier | Structure::SharkFin) {
            drop("barrier_pct", r.barrier_pct.take().is_some());
        }
        if s != Structure::SharkFin {
            drop("participation_pct", r.participation_pct.take().is_some());
        }
        if s != Structure::Digital {
            drop("payout_pct", r.payout_pct.take().is_some());
        }
    }
    if s != Structure::Phoenix {
        drop("coupon_barrier_pct", r.coupon_barrier_pct.take().is_some());
    }
}

/// The side: one direction said (possibly several times), or none; two-way or both directions
/// leave it unset (commodity-rfq-spec §3B: ambiguity is not guessed).
fn side(sides: &[Option<Side>], problems: &mut Vec<Problem>) -> Option<Side> {
    let mut seen: Option<Side> = None;
    for s in sides {
        match (s, seen) {
            (None, _) => {
                problems.push(Problem::AmbiguousSide);
                return None;
            }
            (Some(x), Some(y)) if *x != y => {
                problems.push(Problem::AmbiguousSide);
                return None;
            }
            (Some(x), _) => seen = Some(*x),
        }
    }
    seen
}

/// The fields `r` still needs to be priced (rfq.md `missing`). The coupon of an autocallable, a
/// digital's payout and a shark fin's strike and participation are not required: the desk solves
/// the coupon, pays the notional, strikes at the money and solves the participation by default.
pub(crate) fn missing(r: &RfqRequest) -> Vec<MissingField> {
    let mut m = Vec::new();
    if r.underlying.is_none() {
        m.push(MissingField::Underlying);
    }
    if r.tenor_months.is_none() {
        m.push(MissingField::Tenor);
    }
    if r.notional.is_none() {
        m.push(MissingField::Notional);
    }
    let solving = |s: SolveFor| r.solve_for == Some(s);
    match r.structure {
        None => m.push(MissingField::Structure),
        Some(s) if s.has_option_type() => {
            if r.option_type.is_none() {
                m.push(MissingField::OptionType);
            }
            if r.strike_pct.is_none() && !solving(SolveFor::Strike) && s != Structure::SharkFin {
                m.push(MissingField::Strike);
            }
            if matches!(s, Structure::Barrier | Structure::SharkFin)
                && r.barrier_pct.is_none()
                && !solving(SolveFor::Barrier)
            {
                m.push(MissingField::Barrier);
            }
        }
        Some(s) => {
            if r.knock_out_pct.is_none() && !solving(SolveFor::Barrier) {
                m.push(MissingField::KnockOut);
            }
            if r.knock_in_pct.is_none() {
                m.push(MissingField::KnockIn);
            }
            if s == Structure::Phoenix && r.coupon_barrier_pct.is_none() {
                m.push(MissingField::CouponBarrier);
            }
        }
    }
    m
}
