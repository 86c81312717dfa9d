//! Parties and roles: who party A and party B are (`Party A: Deutsche Bank AG`, `甲方：XX证券股份
//! 有限公司`, a definition `XX公司（以下简称“甲方”）`, or the sentence `On DATE, the Company
//! entered into … with BANK`, which also gives the trade date and, for capped calls and forward
//! sales, who buys), and the role labels (`Buyer: Party B`, `期权买方：乙方`, `Fixed Rate Payer:
//! DBAG`) mapped to `party_a`/`party_b` once the parties are known.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::defined::{Definition, resolve_alias};
use super::lines::Labelled;
use super::{Ctx, DEFINED_CONF, INFERRED_CONF, LABEL_CONF, PROSE_CONF, Range, clean, clean_name};
use crate::parse::{find_dates, iso, resolve_date};
use crate::terms::Field;

/// A raw role statement: field, the party as written, value span, snippet, kind, confidence.
pub(super) type RoleStatement = (Field, String, Range, Range, &'static str, f32);

/// A party's name after its label (up to 200 characters), without the seal or signature
/// note a signature block writes after it (`（盖章）`, `（签字/盖章）`). A role in the label's
/// parenthesis (`甲方（期权卖方）`) is a role statement for that party.
pub(super) fn party(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    if let Some(unit) = v.unit {
        let role = if unit.contains("买方") || unit.to_lowercase().contains("buyer") {
            Some(Field::Buyer)
        } else if unit.contains("卖方") || unit.to_lowercase().contains("seller") {
            Some(Field::Seller)
        } else {
            None
        };
        if let Some(role) = role {
            let who = if field == Field::PartyA {
                "甲方"
            } else {
                "乙方"
            };
            cx.roles.push((
                role,
                who.to_owned(),
                (v.snippet.0, v.start),
                v.snippet,
                "label",
                LABEL_CONF,
            ));
        }
    }
    // The seal note goes first: a Latin name signed in a Chinese block keeps its own brackets.
    let name = clean_name(without_seal(clean(v.raw)));
    if name.is_empty() || name.chars().count() > 200 {
        return;
    }
    let start = v.start + v.raw.find(name.as_str()).unwrap_or(0);
    v.propose(
        cx,
        field,
        Value::from(name.clone()),
        (start, start + name.len()),
    );
}

/// `name` without a trailing seal or signature note: `（盖章）`, `(公章)`, `（签字/盖章）`,
/// `盖章`, `(seal)`.
fn without_seal(name: &str) -> &str {
    static SEAL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\s*(?:[(（〔]\s*[.,，。·]?\s*(?:盖章|公章|签章|签字|签字[/、]?盖章|盖章[/、]?签字|授权代表签字|seal|signature)\s*[.,，。·]?\s*[)）〕]|盖章|签章)\s*$")
            .expect("compiles")
    });
    match SEAL.find(name) {
        Some(m) => name[..m.start()].trim_end(),
        None => name,
    }
}

/// Roles stated in sentences of Chinese confirmations: `乙方向甲方买入…`, `甲方向乙方卖出…`,
/// `乙方作为期权买方`, `由X（“乙方”）作为期权买方、Y（“甲方”）作为期权卖方`, `甲方为期权卖方`;
/// and in English `Party B buys from Party A`, `Party A sells to Party B`, `Party B, as
/// Buyer`. Kept as role statements naming 甲方/乙方 (Party A/B), mapped with the labels.
pub(super) fn role_sentences(cx: &mut Ctx<'_>) {
    static TRADE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)(?P<a>甲方|乙方|party\s+a|party\s+b)\s*(?:同意)?\s*(?:向|从|from|to)?\s*(?P<b>甲方|乙方|party\s+a|party\s+b)?\s*(?:同意)?\s*(?P<verb>买入|购买|购入|认购|卖出|出售|售出|(?:buys?|purchases?|sells?)\b)",
        )
        .expect("compiles")
    });
    static AS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?i)(?P<a>甲方|乙方|party\s+a|party\s+b)["”」]?\s*[)）]?\s*,?\s*(?:同意)?\s*(?:作为|为|系|担任|是|as\s+(?:the\s+)?)\s*(?:本(?:期权|交易)的?|the\s+)?(?:期权)?(?P<role>买方|卖方|buyer|seller)"#,
        )
        .expect("compiles")
    });
    let text = cx.sheet.text.clone();
    let who = |s: &str| -> &'static str {
        let l = s.to_lowercase();
        if l == "甲方" || l.ends_with(" a") || l.ends_with('a') && l.starts_with("party") {
            "甲方"
        } else {
            "乙方"
        }
    };
    let mut found: Vec<(Field, &'static str, Range)> = Vec::new();
    for c in TRADE.captures_iter(&text) {
        let (Some(a), Some(verb)) = (c.name("a"), c.name("verb")) else {
            continue;
        };
        let v = verb.as_str().to_lowercase();
        let buys = ["买入", "购买", "购入", "认购", "buy", "purchase"]
            .iter()
            .any(|w| v.starts_with(w));
        let whole = c.get(0).expect("match");
        let (first, second) = if buys {
            (Field::Buyer, Field::Seller)
        } else {
            (Field::Seller, Field::Buyer)
        };
        found.push((first, who(a.as_str()), (whole.start(), whole.end())));
        // The other party: before the verb (`乙方向甲方买入`) or, in English, after it
        // (`Party B buys the Options from Party A`).
        static OTHER: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"(?i)^[^.。;；]{0,80}?\b(?:from|to)\s+(party\s+[ab])\b").expect("compiles")
        });
        let other = c.name("b").map(|b| b.as_str()).or_else(|| {
            OTHER
                .captures(&text[whole.end()..])
                .and_then(|o| o.get(1))
                .map(|m| m.as_str())
        });
        if let Some(b) = other
            && who(b) != who(a.as_str())
        {
            found.push((second, who(b), (whole.start(), whole.end())));
        }
    }
    for c in AS.captures_iter(&text) {
        let (Some(a), Some(role)) = (c.name("a"), c.name("role")) else {
            continue;
        };
        let r = role.as_str().to_lowercase();
        let field = if r == "买方" || r == "buyer" {
            Field::Buyer
        } else {
            Field::Seller
        };
        let whole = c.get(0).expect("match");
        found.push((field, who(a.as_str()), (whole.start(), whole.end())));
    }
    for (field, party, span) in found {
        let snippet = cx.sheet.sentence_at(span.0);
        cx.roles.push((
            field,
            party.to_owned(),
            span,
            snippet,
            "sentence",
            PROSE_CONF,
        ));
    }
}

/// A role label naming a party, kept until the parties are known ([`map_roles`]).
pub(super) fn role(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    let named = clean(v.raw);
    if !named.is_empty() {
        cx.roles.push((
            field,
            named.to_owned(),
            (v.start, v.end),
            v.snippet,
            "label",
            LABEL_CONF,
        ));
    }
}

/// Parties named by a definition: `Deutsche Bank AG (“Party A”)`, `XX公司（以下简称“甲方”）`;
/// `Counterparty (“Party B”)` where `Counterparty` is itself defined is the name it defines.
pub(super) fn from_definitions(cx: &mut Ctx<'_>, defs: &HashMap<String, Definition>) {
    for (term, field) in [
        ("party a", Field::PartyA),
        ("party b", Field::PartyB),
        ("甲方", Field::PartyA),
        ("乙方", Field::PartyB),
    ] {
        let Some(d) = defs.get(term) else { continue };
        // `Counterparty (“Party B”)`: the name is itself defined elsewhere.
        let (name, span, snippet) = match resolve_alias(&d.name, defs) {
            Some(alias) if !alias.name.eq_ignore_ascii_case(&d.name) => {
                (alias.name.clone(), alias.name_span, alias.span)
            }
            _ => (d.name.clone(), d.name_span, d.span),
        };
        if find_dates(&name).is_empty() {
            cx.push(
                field,
                Value::from(name),
                span,
                snippet,
                DEFINED_CONF,
                format!("defined term {term:?}"),
            );
        }
    }
}

/// Whether the text before a date ends with a word that makes it the date of an act (`on`,
/// `as of`, `dated`).
fn introduces_date(before: &str) -> bool {
    let b = before.trim_end().to_lowercase();
    ["on", "as of", "dated"].iter().any(|w| {
        b.strip_suffix(w)
            .is_some_and(|rest| rest.is_empty() || rest.ends_with([' ', ',', '(', ';']))
    })
}

/// `[On DATE[, and on DATE2],] SUBJECT entered into … PRODUCT … with OBJECT`: the trade date
/// (dates of "additional" transactions go to `other.additional_trade_dates`), the parties, and
/// for capped calls and forward sales who buys.
pub(super) fn entered_into(
    cx: &mut Ctx<'_>,
    defs: &HashMap<String, Definition>,
    product: Option<&str>,
) {
    static ENTERED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)\bentered into\b").expect("compiles"));
    static SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?:^|[,;]\s*|\s)(?P<subj>(?:the|The)\s+(?:Company|Reporting Person|Issuer|Fund|Trust|Partnership|Purchaser)|[A-Z][A-Za-z&.'\-]*(?:\s+[A-Z][A-Za-z&.'\-]*){0,5})\s*$",
        )
        .expect("compiles")
    });
    const NOT_PARTIES: &[&str] = &[
        "transaction",
        "transactions",
        "agreement",
        "confirmation",
        "party a",
        "party b",
        "parties",
        "it",
        "we",
        "us",
        "they",
    ];
    let flow = cx.sheet.flow.clone();
    let mut seen_sentences: Vec<(usize, usize)> = Vec::new();
    let mut additional_dates: Vec<(String, Range, Range)> = Vec::new();
    for m in ENTERED.find_iter(&flow) {
        let (ss, se) = cx.sheet.sentence_at(m.start());
        if seen_sentences.contains(&(ss, se)) {
            continue;
        }
        seen_sentences.push((ss, se));
        let additional = flow[ss..se].to_lowercase().contains("additional");
        let head = &flow[ss..m.start()];
        // Dates stated before the verb as `on DATE` (`as of`, `dated`) are when the transaction
        // was entered into; other dates in the sentence (a letter's own date run into it) are
        // not.
        let dates: Vec<_> = find_dates(head)
            .into_iter()
            .filter(|(_, (s, _))| introduces_date(&head[..*s]))
            .filter_map(|(p, (s, e))| resolve_date(p, cx.order).map(|d| (d, (ss + s, ss + e))))
            .collect();
        for (i, (d, span)) in dates.iter().enumerate() {
            if additional && (i > 0 || cx.has(Field::TradeDate)) {
                additional_dates.push((iso(*d), *span, (ss, se)));
            } else {
                cx.push(
                    Field::TradeDate,
                    Value::from(iso(*d)),
                    *span,
                    (ss, se),
                    PROSE_CONF,
                    "date of \"entered into\"",
                );
            }
        }
        // `SUBJECT entered into … with OBJECT`: the filer is party A, the other side party B.
        let tail = &flow[m.end()..se];
        let Some(w) = tail.find(" with ").filter(|w| *w <= 240) else {
            continue;
        };
        let ws = m.end() + w + 6;
        let what = flow[m.end()..ws].to_lowercase();
        let Some(subj) = SUBJECT
            .captures(head)
            .and_then(|c| c.name("subj"))
            .map(|s| (ss + s.start(), ss + s.end()))
        else {
            continue;
        };
        let subj_name = clean_name(&flow[subj.0..subj.1]);
        if subj_name.is_empty() || NOT_PARTIES.contains(&subj_name.to_lowercase().as_str()) {
            continue;
        }
        let rest = &flow[ws..se];
        let end = [
            rest.find(['(', '（', ',', ';']),
            rest.find(" to "),
            rest.find(" for "),
            rest.find(" under "),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
        let raw = &rest[..end];
        let obj_name = clean_name(raw);
        if obj_name.is_empty()
            || obj_name.split_whitespace().count() > 8
            || NOT_PARTIES.contains(&obj_name.to_lowercase().as_str())
        {
            continue;
        }
        cx.push(
            Field::PartyA,
            Value::from(subj_name.clone()),
            subj,
            (ss, se),
            PROSE_CONF,
            "subject of \"entered into … with\"",
        );
        let at = ws
            + obj_name
                .get(..obj_name.len().min(raw.len()))
                .and_then(|n| raw.find(n))
                .unwrap_or(0);
        cx.push(
            Field::PartyB,
            Value::from(obj_name.clone()),
            (at, at + obj_name.len()),
            (ss, se),
            PROSE_CONF,
            "counterparty after \"entered into … with\"",
        );
        // Who buys: the issuer buys capped calls; the seller of a forward sale sells.
        let forward_sale = what.contains("forward sale") || what.contains("sale contract");
        let capped = what.contains("capped call")
            || (product == Some("capped_call") && what.contains("call"));
        if capped || forward_sale {
            let (buyer, seller, why) = if capped {
                (
                    "party_a",
                    "party_b",
                    "the party entering into capped call transactions buys them",
                )
            } else {
                (
                    "party_b",
                    "party_a",
                    "the party entering into a forward sale contract sells",
                )
            };
            let span = (m.start(), m.end());
            cx.push(
                Field::Buyer,
                Value::from(buyer),
                span,
                (ss, se),
                PROSE_CONF,
                why,
            );
            cx.push(
                Field::Seller,
                Value::from(seller),
                span,
                (ss, se),
                PROSE_CONF,
                why,
            );
        }
    }
    if let Some((_, span, snippet)) = additional_dates.first().cloned() {
        let all: Vec<Value> = additional_dates
            .iter()
            .map(|(d, _, _)| Value::from(d.clone()))
            .collect();
        cx.push(
            Field::AdditionalTradeDates,
            Value::Array(all),
            span,
            snippet,
            PROSE_CONF,
            "dates of additional transactions entered into",
        );
    }
    // Defined roles: `with an unaffiliated third party buyer (the "Buyer")`.
    for (term, field) in [("buyer", Field::Buyer), ("seller", Field::Seller)] {
        if let Some(d) = defs.get(term) {
            cx.roles.push((
                field,
                d.name.clone(),
                d.name_span,
                d.span,
                "defined term",
                DEFINED_CONF,
            ));
        }
    }
}

/// Maps role statements to `party_a`/`party_b` (a role naming neither party is left out with a
/// notice); in a two-party swap, the floating-rate payer is the party that does not pay fixed,
/// and the other way round.
pub(super) fn map_roles(cx: &mut Ctx<'_>, defs: &HashMap<String, Definition>) {
    let name_of = |cx: &Ctx<'_>, field: Field| -> Vec<String> {
        cx.out
            .candidates
            .iter()
            .filter(|c| c.field == field.name())
            .filter_map(|c| c.value.as_str().map(str::to_owned))
            .collect()
    };
    let party_a = name_of(cx, Field::PartyA);
    let party_b = name_of(cx, Field::PartyB);
    let roles = std::mem::take(&mut cx.roles);
    let mut payers: Vec<(Field, &'static str, Range, Range)> = Vec::new();
    for (field, raw, span, snippet, kind, conf) in roles {
        let which = party_ref(&raw, &party_a, &party_b, defs);
        match which {
            Some(p) => {
                if field.is_other() {
                    payers.push((field, p, span, snippet));
                }
                cx.push(
                    field,
                    Value::from(p),
                    span,
                    snippet,
                    conf,
                    format!("{kind} naming {raw:?}"),
                );
            }
            None => cx.out.notices.push(format!(
                "{field} is given as {raw:?}, which names neither party; left out"
            )),
        }
    }
    for (given, other) in [
        (Field::FixedRatePayer, Field::FloatingRatePayer),
        (Field::FloatingRatePayer, Field::FixedRatePayer),
    ] {
        if !cx.has(other)
            && let Some((_, p, span, snippet)) = payers.iter().find(|p| p.0 == given).copied()
        {
            let q = if p == "party_a" { "party_b" } else { "party_a" };
            cx.push(
                other,
                Value::from(q),
                span,
                snippet,
                INFERRED_CONF,
                format!(
                    "the party other than the {}",
                    given.name().trim_start_matches("other.")
                ),
            );
        }
    }
}

/// Which party a role statement names: `Party A`/`甲方`, a party's name (whole, contained, or
/// by its initials, `DBAG` for `Deutsche Bank AG`), or a defined term for one.
fn party_ref(
    raw: &str,
    party_a: &[String],
    party_b: &[String],
    defs: &HashMap<String, Definition>,
) -> Option<&'static str> {
    let v = clean_name(raw);
    let l = v.to_lowercase();
    if l.starts_with("party a") || l.starts_with("甲方") {
        return Some("party_a");
    }
    if l.starts_with("party b") || l.starts_with("乙方") {
        return Some("party_b");
    }
    let resolved = resolve_alias(&v, defs).map(|d| d.name.to_lowercase());
    let matches = |names: &[String]| {
        names.iter().any(|n| {
            let n = n.to_lowercase();
            n == l
                || resolved.as_deref() == Some(n.as_str())
                || (l.len() >= 4 && (n.contains(&l) || l.contains(&n)))
                || initials_match(&v, &n)
        })
    };
    match (matches(party_a), matches(party_b)) {
        (true, false) => Some("party_a"),
        (false, true) => Some("party_b"),
        _ => None,
    }
}

/// `DBAG` ~ `Deutsche Bank AG` / `Deutsche Bank`: the capitals of the abbreviation, less a legal
/// form, are the initials of the name.
fn initials_match(abbrev: &str, name: &str) -> bool {
    if abbrev.len() < 2 || abbrev.len() > 8 || !abbrev.chars().all(|c| c.is_ascii_uppercase()) {
        return false;
    }
    let legal = [
        "AG", "SA", "PLC", "LLC", "INC", "LTD", "NV", "BV", "GMBH", "LP",
    ];
    let mut core = abbrev.to_owned();
    for l in legal {
        if core.len() > l.len() && core.ends_with(l) {
            core.truncate(core.len() - l.len());
            break;
        }
    }
    let initials: String = name
        .split_whitespace()
        .filter(|w| {
            let u = w.trim_end_matches('.').replace('.', "").to_uppercase();
            !legal.contains(&u.as_str())
        })
        .filter_map(|w| w.chars().next())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    initials == core
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::testing::{check, rules};
    use super::initials_match;

    /// Every value the rules propose for each field is the expected one (several statements
    /// may agree).
    #[track_caller]
    fn agree(text: &str, product: Option<&str>, expect: &[(&str, Value)]) {
        let out = rules(text, product);
        for (field, want) in expect {
            let got = super::super::testing::values(&out, field);
            assert!(
                !got.is_empty() && got.iter().all(|v| v == want),
                "{field} in {text:?}: {got:?}"
            );
        }
    }

    #[test]
    fn roles_from_chinese_and_english_sentences() {
        let parties = "甲方：恒川证券股份有限公司\n乙方：明远一号私募证券投资基金\n";
        for sentence in [
            "乙方向甲方买入下述期权，甲方同意向乙方卖出该期权。",
            "甲方向乙方卖出本期权。",
            "本交易由明远一号私募证券投资基金（“乙方”）作为期权买方、恒川证券股份有限公司（“甲方”）作为期权卖方达成。",
            "乙方为本期权的买方，甲方为卖方。",
            "Party B buys the Options from Party A.",
            "Party A sells to Party B the Options described below.",
        ] {
            agree(
                &format!("{parties}{sentence}"),
                Some("equity_option"),
                &[("buyer", json!("party_b")), ("seller", json!("party_a"))],
            );
        }
        // `Buyer:` is a label, not the verb `buys`.
        agree(
            "Party A: X Bank AG\nParty B: Y Fund\nSeller: Party A\nBuyer: Party B",
            Some("equity_option"),
            &[("buyer", json!("party_b")), ("seller", json!("party_a"))],
        );
    }

    #[test]
    fn seal_notes_and_roles_in_the_party_line() {
        agree(
            "甲方（期权卖方）  恒川证券股份有限公司\n乙方（期权买方）  宁波和岸贸易有限公司\n\
             甲方：恒川证券股份有限公司（盖章）\n乙方：宁波和岸贸易有限公司（签字/盖章）",
            Some("equity_option"),
            &[
                ("party_a", json!("恒川证券股份有限公司")),
                ("party_b", json!("宁波和岸贸易有限公司")),
                ("seller", json!("party_a")),
                ("buyer", json!("party_b")),
            ],
        );
        // 和 inside a name is not a boundary between two names.
        agree(
            "本确认书旨在确认北辰证券股份有限公司（以下简称“甲方”）与宁波和岸贸易有限公司（以下简称“乙方”）达成的交易。",
            None,
            &[
                ("party_a", json!("北辰证券股份有限公司")),
                ("party_b", json!("宁波和岸贸易有限公司")),
            ],
        );
    }

    #[test]
    fn labelled_parties_and_roles() {
        check(
            "甲方：华泰证券股份有限公司\n乙方：上海明德投资管理有限公司\n期权买方：乙方\n期权卖方：甲方",
            None,
            &[
                ("party_a", json!("华泰证券股份有限公司")),
                ("party_b", json!("上海明德投资管理有限公司")),
                ("buyer", json!("party_b")),
                ("seller", json!("party_a")),
            ],
        );
        check(
            "Party A: Deutsche Bank AG\nParty B: The Hedge Fund LP\nBuyer: Hedge Fund LP\n\
             Seller: DBAG",
            None,
            &[
                ("party_a", json!("Deutsche Bank AG")),
                ("party_b", json!("Hedge Fund LP")),
                ("buyer", json!("party_b")),
                ("seller", json!("party_a")),
            ],
        );
    }

    #[test]
    fn a_role_naming_neither_party_is_left_out_with_a_notice() {
        let out = rules(
            "Party A: Deutsche Bank AG\nParty B: Acme Corp\nBuyer: Someone Else Ltd",
            None,
        );
        assert!(super::super::testing::values(&out, "buyer").is_empty());
        assert_eq!(
            out.notices,
            ["buyer is given as \"Someone Else Ltd\", which names neither party; left out"]
        );
    }

    #[test]
    fn the_floating_payer_is_the_party_that_does_not_pay_fixed() {
        check(
            "Party A: Deutsche Bank AG\nParty B: MagnaChip Semiconductor S.A.\n\
             Fixed Rate Payer: Party B",
            Some("interest_rate_swap"),
            &[
                ("other.fixed_rate_payer", json!("party_b")),
                ("other.floating_rate_payer", json!("party_a")),
            ],
        );
        check(
            "甲方：中信证券股份有限公司\n乙方：明德一号私募证券投资基金\n浮动利率支付方：甲方",
            Some("interest_rate_swap"),
            &[
                ("other.floating_rate_payer", json!("party_a")),
                ("other.fixed_rate_payer", json!("party_b")),
            ],
        );
    }

    #[test]
    fn parties_defined_in_the_preamble() {
        check(
            "This Confirmation is entered between \"Deutsche Bank AG\" (“Party A”) and \
             MagnaChip Semiconductor S.A. (“Party B”).",
            None,
            &[
                ("party_a", json!("Deutsche Bank AG")),
                ("party_b", json!("MagnaChip Semiconductor S.A.")),
            ],
        );
        // An alias resolves to what it defines.
        check(
            "between Eastbank Securities Co., Ltd. (the \"Bank\") and Acme Holdings Inc. \
             (the \"Counterparty\"). Bank (\"Party A\") and Counterparty (\"Party B\") agree.",
            None,
            &[
                ("party_a", json!("Eastbank Securities Co., Ltd.")),
                ("party_b", json!("Acme Holdings Inc.")),
            ],
        );
        check(
            "本确认书由华泰证券股份有限公司（以下简称“甲方”）与上海明德投资管理有限公司（以下简称“乙方”）签署。",
            None,
            &[
                ("party_a", json!("华泰证券股份有限公司")),
                ("party_b", json!("上海明德投资管理有限公司")),
            ],
        );
    }

    #[test]
    fn entered_into_gives_the_parties_the_date_and_who_buys() {
        let text = "On March 4, 2024, the Company entered into privately negotiated capped call \
                    transactions with Goldman Sachs & Co. LLC (the \"Option Counterparty\").";
        check(
            text,
            Some("capped_call"),
            &[
                ("trade_date", json!("2024-03-04")),
                ("party_a", json!("Company")),
                ("party_b", json!("Goldman Sachs & Co. LLC")),
                ("buyer", json!("party_a")),
                ("seller", json!("party_b")),
            ],
        );
        check(
            "On June 1, 2023, Acme Corp entered into a forward sale contract with Big Bank.",
            None,
            &[("buyer", json!("party_b")), ("seller", json!("party_a"))],
        );
        // Only a date introduced by `on`/`as of`/`dated` is the trade date; `it` is not a party.
        check(
            "June 1, 2023. It entered into a swap with Big Bank.",
            None,
            &[("trade_date", Value::Null), ("party_a", Value::Null)],
        );
    }

    #[test]
    fn later_transactions_have_additional_trade_dates() {
        check(
            "On March 4, 2024, the Company entered into capped call transactions with Big Bank. \
             On March 6, 2024, the Company entered into additional capped call transactions \
             with Big Bank.",
            Some("capped_call"),
            &[
                ("trade_date", json!("2024-03-04")),
                ("other.additional_trade_dates", json!(["2024-03-06"])),
            ],
        );
    }

    #[test]
    fn abbreviations_match_by_initials() {
        assert!(initials_match("DBAG", "deutsche bank ag"));
        assert!(initials_match("DB", "Deutsche Bank"));
        assert!(initials_match("GS", "Goldman Sachs LLC"));
        assert!(!initials_match("DBX", "Deutsche Bank"));
        assert!(!initials_match("Db", "Deutsche Bank"));
        assert!(!initials_match("D", "Deutsche"));
    }
}
