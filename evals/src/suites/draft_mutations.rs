//! The seeded-error generator of the drafting eval: takes a clean draft (its text laid out as
//! `Draft::to_text` writes it, with every clause's byte range known independently of the
//! proofreader's own section parser) and injects one error of a known kind into one known
//! clause. Kinds (issue #18's ten and one more): a wrong date, the parties swapped, an amount
//! whose figures and words differ, a missing clause, a wrong currency, an off-by-one notional,
//! an undefined term, a broken cross-reference, an altered fallback wording, the knock-in and
//! knock-out swapped, and a party's name misspelt where it signs.

use drafting::format::{date, number};
use drafting::{Draft, DraftClause, Format, Language};
use std::ops::Range;

/// One seeded error.
#[derive(Debug, Clone)]
pub struct Mutation {
    /// Its kind (`wrong_date` …).
    pub kind: &'static str,
    /// The clause it was injected into (for a missing clause: the clause removed).
    pub clause: String,
    /// The mutated text.
    pub text: String,
    /// What was done, for the report.
    pub detail: String,
}

/// Every kind the generator makes.
pub const KINDS: &[&str] = &[
    "wrong_date",
    "swapped_parties",
    "amount_words",
    "missing_clause",
    "wrong_currency",
    "off_by_one_notional",
    "undefined_term",
    "broken_reference",
    "altered_fallback",
    "ki_ko_swapped",
    "party_name",
];

/// A clause's place in the laid-out text.
#[derive(Debug, Clone)]
pub struct Placed<'d> {
    /// The clause.
    pub clause: &'d DraftClause,
    /// Its heading line and text, through the end of its own text (children excluded).
    pub whole: Range<usize>,
    /// Its text (what `clause.text` holds).
    pub body: Range<usize>,
}

/// The draft's text with each clause's range, built the way `Draft::to_text` builds it.
pub fn layout(d: &Draft) -> (String, Vec<Placed<'_>>) {
    let mut out = format!("{}\n", d.title);
    let mut placed = Vec::new();
    for c in d.walk() {
        out.push('\n');
        let start = out.len();
        let head = match (c.number.is_empty(), c.heading.is_empty()) {
            (true, true) => String::new(),
            (true, false) => c.heading.clone(),
            (false, true) => c.number.clone(),
            (false, false) => format!("{} {}", c.number, c.heading),
        };
        if !head.is_empty() {
            out.push_str(&head);
            out.push('\n');
        }
        let body_start = out.len();
        if !c.text.is_empty() {
            out.push_str(&c.text);
            out.push('\n');
        }
        placed.push(Placed {
            clause: c,
            whole: start..out.len(),
            body: body_start..body_start + c.text.len(),
        });
    }
    (out, placed)
}

fn splice(text: &str, range: Range<usize>, with: &str) -> String {
    format!("{}{}{}", &text[..range.start], with, &text[range.end..])
}

/// Adds `days` to an ISO date.
fn shift(iso: &str, days: i32) -> Option<String> {
    let d = kernels::dates::Date::parse(iso)?.add_days(days);
    let (y, m, dd) = d.ymd();
    Some(format!("{y:04}-{m:02}-{dd:02}"))
}

/// The mutations of kind `kind` this draft admits (none when the draft has nothing of the
/// kind, e.g. no barrier to swap). `base` is the draft's text from [`layout`]; `fallback`, a
/// draft of the same trade with one clause on a fallback wording (for `altered_fallback`).
pub fn mutate(
    kind: &'static str,
    d: &Draft,
    fallback: Option<(&Draft, &str)>,
    seed: usize,
) -> Option<Mutation> {
    let (text, placed) = layout(d);
    let lang = d.language;
    // A span of the draft by binding, with the clause it lies in and its absolute range.
    let spans =
        |want: &dyn Fn(&drafting::Span) -> bool| -> Vec<(String, Range<usize>, drafting::Span)> {
            placed
                .iter()
                .flat_map(|p| {
                    p.clause.spans.iter().filter(|s| want(s)).map(move |s| {
                        (
                            p.clause.id.clone(),
                            p.body.start + s.start..p.body.start + s.end,
                            s.clone(),
                        )
                    })
                })
                .collect()
        };
    let pick = |n: usize| seed % n.max(1);
    let m = |clause: &str, text: String, detail: String| Mutation {
        kind,
        clause: clause.to_string(),
        text,
        detail,
    };
    match kind {
        "wrong_date" => {
            let found = spans(&|s| {
                s.format == Format::Date
                    && [
                        "trade_date",
                        "expiration_date",
                        "premium.payment_date",
                        "effective_date",
                    ]
                    .contains(&s.binding.as_str())
            });
            let (clause, range, s) = found.get(pick(found.len()))?.clone();
            let days = [1, 7, 30, -3, 365][seed % 5];
            let new = shift(s.value.as_str()?, days)?;
            let written = date(&new, lang).ok()?;
            Some(m(
                &clause,
                splice(&text, range, &written),
                format!("{} {} → {new}", s.binding, s.value),
            ))
        }
        "swapped_parties" => {
            let found = spans(&|s| s.binding == "buyer" || s.binding == "seller");
            let buyer = found.iter().find(|f| f.2.binding == "buyer")?;
            let seller = found.iter().find(|f| f.2.binding == "seller")?;
            let (b, s) = (
                text[buyer.1.clone()].to_string(),
                text[seller.1.clone()].to_string(),
            );
            if b == s {
                return None;
            }
            let (first, second) = if buyer.1.start < seller.1.start {
                (buyer, seller)
            } else {
                (seller, buyer)
            };
            let (w1, w2) = (
                text[second.1.clone()].to_string(),
                text[first.1.clone()].to_string(),
            );
            let out = splice(&splice(&text, second.1.clone(), &w2), first.1.clone(), &w1);
            Some(m(&buyer.0, out, format!("buyer “{b}” ↔ seller “{s}”")))
        }
        "amount_words" => {
            let found = spans(&|s| s.format == Format::Words);
            let (clause, range, _) = found.get(pick(found.len()))?.clone();
            let words = &text[range.clone()];
            let new = match lang {
                Language::Zh => {
                    let digits = ['壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
                    let (i, c) = words.char_indices().find(|(_, c)| digits.contains(c))?;
                    let next = digits[(digits.iter().position(|d| *d == c)? + 1) % 9];
                    format!("{}{next}{}", &words[..i], &words[i + c.len_utf8()..])
                }
                Language::En => {
                    let table = [
                        ("one", "two"),
                        ("two", "three"),
                        ("three", "four"),
                        ("four", "five"),
                        ("five", "six"),
                        ("six", "seven"),
                        ("seven", "eight"),
                        ("eight", "nine"),
                        ("nine", "one"),
                        ("ten", "eleven"),
                        ("twenty", "thirty"),
                        ("thirty", "forty"),
                        ("forty", "fifty"),
                        ("fifty", "sixty"),
                        ("sixty", "seventy"),
                        ("seventy", "eighty"),
                        ("eighty", "ninety"),
                        ("ninety", "twenty"),
                    ];
                    let first = words.split([' ', '-']).next()?;
                    let (_, to) = table.iter().find(|(f, _)| *f == first)?;
                    format!("{to}{}", &words[first.len()..])
                }
            };
            Some(m(
                &clause,
                splice(&text, range, &new),
                format!("words “{words}” → “{new}”"),
            ))
        }
        "missing_clause" => {
            let candidates: Vec<&Placed> = placed.iter().filter(|p| p.clause.level > 0).collect();
            let p = candidates.get(pick(candidates.len()))?;
            // The clause and its sub-clauses go.
            let end = placed
                .iter()
                .skip_while(|q| q.clause.id != p.clause.id)
                .skip(1)
                .find(|q| q.clause.level <= p.clause.level)
                .map_or(text.len(), |q| q.whole.start - 1);
            let out = splice(&text, p.whole.start - 1..end, "");
            Some(m(
                &p.clause.id,
                out,
                format!("clause {} removed", p.clause.id),
            ))
        }
        "wrong_currency" => {
            // The currency ahead of an amount in figures.
            let amounts = spans(&|s| {
                s.format == Format::Amount
                    && (s.binding.ends_with(".amount") || s.binding == "strike.value")
            });
            let (clause, range, s) = amounts.get(pick(amounts.len()))?.clone();
            let line_start = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
            let ahead = &text[line_start..range.start];
            let codes = ["USD", "EUR", "HKD", "CNY", "GBP", "JPY", "CHF"];
            let (at, code) = codes
                .iter()
                .filter_map(|c| {
                    let name = drafting::format::currency_name(c, lang);
                    [c.to_string(), name]
                        .into_iter()
                        .filter_map(|n| ahead.rfind(&n).map(|i| (i, n)))
                        .max_by_key(|(i, _)| *i)
                })
                .max_by_key(|(i, n)| (*i, n.len()))?;
            let current = codes
                .iter()
                .find(|c| **c == code || drafting::format::currency_name(c, lang) == code)?;
            let other = if *current == "EUR" { "USD" } else { "EUR" };
            let new = if code.len() == 3 && code.is_ascii() {
                other.to_string()
            } else {
                drafting::format::currency_name(other, lang)
            };
            let abs = line_start + at;
            Some(m(
                &clause,
                splice(&text, abs..abs + code.len(), &new),
                format!("{} currency {code} → {new}", s.binding),
            ))
        }
        "off_by_one_notional" => {
            let pref = ["notional.amount", "number_of_options", "premium.amount"];
            let found = pref.iter().find_map(|b| {
                spans(&|s| s.binding == *b && matches!(s.format, Format::Amount | Format::Number))
                    .into_iter()
                    .next()
            })?;
            let (clause, range, s) = found;
            let v = s.value.as_f64()? + 1.0;
            let decimals = if text[range.clone()].contains('.') {
                2
            } else {
                0
            };
            let new = number(v, decimals);
            Some(m(
                &clause,
                splice(&text, range, &new),
                format!("{} {} → {new}", s.binding, s.value),
            ))
        }
        "undefined_term" => {
            let table: &[(&str, &str)] = match lang {
                Language::En => &[
                    ("the Knock-out Price", "the Knock-out Level"),
                    ("the Knock-in Price", "the Knock-in Level"),
                    ("the Expiration Date", "the Expiry Date"),
                    ("the Trade Date", "the Transaction Date"),
                    ("the Initial Price", "the Reference Price"),
                    ("the Agreement", "the Master Agreement"),
                    ("the Maturity Date", "the Final Date"),
                    ("the Coupon Rate", "the Coupon Amount"),
                ],
                Language::Zh => &[
                    ("触及敲出价格", "触及敲出水平"),
                    ("触及敲入价格", "触及敲入水平"),
                    ("不低于敲出价格", "不低于敲出水平"),
                    ("适用主协议", "适用总协议"),
                    ("与主协议不一致", "与总协议不一致"),
                    ("至到期日", "至终止日"),
                ],
            };
            let usable: Vec<(usize, &str, &str)> = table
                .iter()
                .filter_map(|(f, t)| {
                    // A use in running text, not a definition or a label.
                    text.match_indices(f)
                        .find(|(i, _)| {
                            let line_start = text[..*i].rfind('\n').map_or(0, |j| j + 1);
                            let before = &text[line_start..*i];
                            !before.contains(':') && !before.contains('：')
                        })
                        .map(|(i, _)| (i, *f, *t))
                })
                .collect();
            let (at, from, to) = *usable.get(pick(usable.len()))?;
            let clause = placed
                .iter()
                .rev()
                .find(|p| p.whole.start <= at)?
                .clause
                .id
                .clone();
            Some(m(
                &clause,
                splice(&text, at..at + from.len(), to),
                format!("“{from}” → “{to}”"),
            ))
        }
        "broken_reference" => {
            let re =
                regex::Regex::new(r"Section \d+(?:\.\d+)?|第[一二三四五六七八九十]+条").ok()?;
            let found: Vec<regex::Match> = re.find_iter(&text).collect();
            let r = found.get(pick(found.len()))?;
            let new = if r.as_str().starts_with("Section") {
                "Section 9".to_string()
            } else {
                "第九条".to_string()
            };
            let clause = placed
                .iter()
                .rev()
                .find(|p| p.whole.start <= r.start())?
                .clause
                .id
                .clone();
            Some(m(
                &clause,
                splice(&text, r.range(), &new),
                format!("“{}” → “{new}”", r.as_str()),
            ))
        }
        "altered_fallback" => {
            let (fd, clause) = fallback?;
            let (ftext, fplaced) = layout(fd);
            let p = fplaced.iter().find(|p| p.clause.id == clause)?;
            let body = &ftext[p.body.clone()];
            let table: &[(&str, &str)] = &[
                ("two", "five"),
                ("Not Applicable", "Applicable"),
                ("4:00 p.m.", "6:00 p.m."),
                ("complete and binding", "provisional"),
                ("the Agreement prevails", "the parties shall agree"),
                ("第二个", "第五个"),
                ("完整协议", "初步协议"),
                ("以主协议为准", "由双方另行协商"),
            ];
            let (from, to) = table.iter().find(|(f, _)| body.contains(f))?;
            let at = p.body.start + body.find(from)?;
            Some(m(
                clause,
                splice(&ftext, at..at + from.len(), to),
                format!("fallback of {clause}: “{from}” → “{to}”"),
            ))
        }
        "ki_ko_swapped" => {
            let ko = spans(&|s| s.binding == "autocall.knock_out_pct");
            let ki = spans(&|s| s.binding == "autocall.knock_in_pct");
            if let (Some(o), Some(i)) = (ko.first(), ki.first()) {
                let (ot, it) = (text[o.1.clone()].to_string(), text[i.1.clone()].to_string());
                if ot == it {
                    return None;
                }
                let (first, second) = if o.1.start < i.1.start {
                    (o, i)
                } else {
                    (i, o)
                };
                let (w1, w2) = (
                    text[second.1.clone()].to_string(),
                    text[first.1.clone()].to_string(),
                );
                let out = splice(&splice(&text, second.1.clone(), &w2), first.1.clone(), &w1);
                return Some(m(&o.0, out, format!("knock-out {ot}% ↔ knock-in {it}%")));
            }
            let p = placed
                .iter()
                .find(|p| p.clause.id == "knock-out" || p.clause.id == "knock-in")?;
            let (from, to) = match (p.clause.id.as_str(), lang) {
                ("knock-out", Language::En) => ("Knock-out", "Knock-in"),
                ("knock-in", Language::En) => ("Knock-in", "Knock-out"),
                ("knock-out", Language::Zh) => ("敲出", "敲入"),
                _ => ("敲入", "敲出"),
            };
            let body = text[p.body.clone()].replace(from, to);
            Some(m(
                &p.clause.id,
                splice(&text, p.body.clone(), &body),
                format!("{from} → {to} in clause {}", p.clause.id),
            ))
        }
        "party_name" => {
            let sig = placed.iter().find(|p| p.clause.id == "signatures")?;
            let found: Vec<(String, Range<usize>, drafting::Span)> =
                spans(&|s| s.binding == "party_a" || s.binding == "party_b")
                    .into_iter()
                    .filter(|(c, _, _)| *c == sig.clause.id)
                    .collect();
            let (clause, range, _) = found.get(pick(found.len()))?.clone();
            let name = &text[range.clone()];
            // Drop one letter (or character) from the middle of the name.
            let chars: Vec<(usize, char)> = name.char_indices().collect();
            let (i, c) = chars.get(chars.len() / 2)?;
            let new = format!("{}{}", &name[..*i], &name[i + c.len_utf8()..]);
            Some(m(
                &clause,
                splice(&text, range, &new),
                format!("signing party “{name}” → “{new}”"),
            ))
        }
        _ => None,
    }
}
