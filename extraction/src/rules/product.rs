//! The underlying, the product and its option terms: the underlier's name and code (`S&P 500
//! Index (.SPX)`, `中证500指数（000905.SH）`, `shares of Common Stock` in prose), option type,
//! exercise style, the strike (a price, a percentage of the initial level, or a rate), cap,
//! floor and initial prices, counts (`Number of Options`, `Option Entitlement: One Share per
//! Option`), and settlement (`Settlement Method: Cash`, `Cash Settlement: Applicable`,
//! `结算方式：现金结算`, or delivery of shares, in cash, or either at a party's election in prose).

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::catalogue::Settled;
use super::lines::Labelled;
use super::{Ctx, PROSE_CONF, clean};
use crate::parse::{self, find_numbers_with_units, find_rates, number_json};
use crate::terms::Field;

/// A value the parser reads from a fixed list (`call`/`put`, `european`…), with its span.
type Choice = Option<(&'static str, (usize, usize))>;

/// Proposes the choice `found` in a labelled value, if any.
fn choice(cx: &mut Ctx<'_>, field: Field, found: Choice, v: &Labelled<'_>) {
    if let Some((value, span)) = found {
        v.propose(cx, field, Value::from(value), v.at(span));
    }
}

/// `Option Type: Call`, `期权类型：看涨`.
pub(super) fn option_type(cx: &mut Ctx<'_>, v: &Labelled<'_>) {
    choice(cx, Field::OptionType, parse::option_type(v.raw), v);
}

/// `Option Style: European`, `行权方式：欧式`.
pub(super) fn exercise_style(cx: &mut Ctx<'_>, v: &Labelled<'_>) {
    choice(cx, Field::ExerciseStyle, parse::exercise_style(v.raw), v);
}

/// `Settlement Method: Cash`, `结算方式：现金结算`.
pub(super) fn settlement(cx: &mut Ctx<'_>, v: &Labelled<'_>) {
    choice(cx, Field::Settlement, parse::settlement(v.raw), v);
}

/// `Cash Settlement: Applicable`: the way of settling the label names, if its value says it
/// applies.
pub(super) fn settlement_if_applicable(cx: &mut Ctx<'_>, kind: Settled, v: &Labelled<'_>) {
    if v.raw.trim().to_ascii_lowercase().starts_with("applicable") {
        v.propose(
            cx,
            Field::Settlement,
            Value::from(kind.as_str()),
            (v.start, v.end),
        );
    }
}

/// The strike: a percentage of the initial level (`100%`, `期初价格的100%`, `100% x Initial
/// Price`), a rate (`Strike Rate: 3.5%`, a swaption's or cap's; a label with "rate" in it or a
/// value `per annum`/`年化`), or a price with its currency.
pub(super) fn strike(cx: &mut Ctx<'_>, v: &Labelled<'_>) {
    let raw = v.raw;
    let lower = raw.to_lowercase();
    let rates = find_rates(raw);
    let money = find_numbers_with_units(raw, v.chinese);
    if let Some((frac, written, span)) = rates.first().copied() {
        let is_rate =
            v.source.contains("rate") || lower.contains("per annum") || raw.contains("年化");
        let (value, unit) = if is_rate {
            (number_json(frac), "rate")
        } else {
            (number_json(written), "percent")
        };
        let span = v.at(span);
        v.propose(cx, Field::StrikeValue, value, span);
        v.propose(cx, Field::StrikeUnit, Value::from(unit), span);
        return;
    }
    let Some(a) = money
        .iter()
        .find(|a| a.currency.is_some())
        .or(money.first())
    else {
        return;
    };
    let span = v.at(a.span);
    v.propose(cx, Field::StrikeValue, number_json(a.value), span);
    v.propose(cx, Field::StrikeUnit, Value::from("price"), span);
    if let Some(c) = &a.currency {
        v.propose(cx, Field::StrikeCurrency, Value::from(c.clone()), span);
    }
}

/// A price (cap, floor, initial): the first number, and its currency when the field has a
/// currency leaf.
pub(super) fn price(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    let nums = find_numbers_with_units(v.raw, v.chinese);
    let Some(a) = nums.first() else { return };
    let span = v.at(a.span);
    v.propose(cx, field, number_json(a.value), span);
    if let Some(c) = &a.currency
        && let Some(ccy_field) = field.currency()
    {
        v.propose(cx, ccy_field, Value::from(c.clone()), span);
    }
}

/// A count after its label.
pub(super) fn count(cx: &mut Ctx<'_>, field: Field, v: &Labelled<'_>) {
    if let Some((n, span)) = count_in(v.raw) {
        v.propose(cx, field, number_json(n), v.at(span));
    }
}

/// A count written with digits or a word (`1,000`, `One Share per Option`).
fn count_in(raw: &str) -> Option<(f64, (usize, usize))> {
    static WORD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand)\b")
            .expect("compiles")
    });
    if let Some(a) = find_numbers_with_units(raw, false).first() {
        return Some((a.value, a.span));
    }
    let m = WORD.find(raw)?;
    let n = match m.as_str().to_ascii_lowercase().as_str() {
        "one" => 1.0,
        "two" => 2.0,
        "three" => 3.0,
        "four" => 4.0,
        "five" => 5.0,
        "six" => 6.0,
        "seven" => 7.0,
        "eight" => 8.0,
        "nine" => 9.0,
        "ten" => 10.0,
        "hundred" => 100.0,
        _ => 1000.0,
    };
    Some((n, (m.start(), m.end())))
}

/// `S&P 500 Index (.SPX)`, `中证500指数（000905.SH）`, `ordinary shares of XYZ (Bloomberg: XYZ
/// US)`: the name before the parenthesis, the code inside it.
pub(super) fn underlier(cx: &mut Ctx<'_>, v: &Labelled<'_>) {
    let (raw, vs) = (v.raw, v.start);
    static CODE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"[(（]\s*(?P<code>[A-Za-z0-9.\-:： \p{Han}]{2,40}?)\s*[)）]").expect("compiles")
    });
    // Stray punctuation OCR reads before the value (`，、螺纹钢期货…`).
    let t = clean(raw).trim_start_matches(|c: char| {
        c.is_whitespace() || matches!(c, '，' | '、' | ',' | ';' | '；' | ':' | '：' | '·' | '。')
    });
    if t.is_empty() || t.chars().count() > 200 {
        return;
    }
    let base = vs + raw.find(t).unwrap_or(0);
    // The parenthesis holds the code only if what is in it, without its label, looks like one
    // (`中证500指数（000905.SH）`, `(Reuters code .SSMI)`); otherwise it is part of the name.
    let split = CODE.captures_iter(t).find_map(|c| {
        let whole = c.get(0).expect("match");
        // Not a parenthesis inside another (`天然气（NATURAL GAS-LOUISIANA (HENRY HUB)-GAS
        // DAILY）` is one name), and nothing but punctuation after it.
        let before = &t[..whole.start()];
        let depth =
            before.matches(['(', '（']).count() as i64 - before.matches([')', '）']).count() as i64;
        let after = t[whole.end()..].trim_start();
        if depth != 0 || !(after.is_empty() || after.starts_with([',', '，', ';', '；', '。'])) {
            return None;
        }
        let code = c.name("code").expect("group");
        let (id, skip) = without_id_label(code.as_str());
        let start = base + code.start() + skip;
        looks_like_id(id).then(|| (t[..whole.start()].trim(), id, start))
    });
    let name = split.map_or(t, |(name, _, _)| name);
    if !name.is_empty() {
        v.propose(
            cx,
            Field::UnderlierName,
            Value::from(name),
            (base, base + name.len()),
        );
    }
    if let Some((_, id, start)) = split {
        v.propose(
            cx,
            Field::UnderlierId,
            Value::from(id),
            (start, start + id.len()),
        );
    }
}

/// `Reuters Code: .SSMI`, `ISIN: CH0009980894`, `标的代码：000905.SH`: the identifier after a
/// label of its own, without the label if the value repeats it.
pub(super) fn underlier_id(cx: &mut Ctx<'_>, v: &Labelled<'_>) {
    let t = clean(v.raw);
    let (id, skip) = without_id_label(t);
    let id = id.split_whitespace().next().unwrap_or("");
    if !looks_like_id(id) {
        return;
    }
    let start = v.start + v.raw.find(t).unwrap_or(0) + skip;
    v.propose(
        cx,
        Field::UnderlierId,
        Value::from(id),
        (start, start + id.len()),
    );
}

/// `id` without a leading identifier label (`Reuters code .SSMI` → `.SSMI`, `RIC: .HSI`,
/// `Bloomberg ticker SMI Index`, `ISIN CH0009980894`, `代码：000905.SH`), and how many bytes
/// the label took.
fn without_id_label(id: &str) -> (&str, usize) {
    static LABEL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"^(?:(?i:(?:reuters|ric|bloomberg|isin|cusip|sedol|ticker|symbol|exchange)(?:\s+(?:ric|code|ticker|symbol|id))?)(?:\s*[:：]\s*|\s+)|(?:路透|彭博|标的|指数|证券|交易|合约)?代码\s*[:：]?\s*)+",
        )
        .expect("compiles")
    });
    match LABEL.find(id) {
        Some(m) if m.end() < id.len() => (id[m.end()..].trim(), m.end()),
        _ => (id.trim(), 0),
    }
}

/// Whether `s` can be an identifier: short, without spaces beyond a Bloomberg suffix
/// (`SMI Index`, `XYZ LN`), with a digit, a capital or a dot.
fn looks_like_id(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 24
        && s.split_whitespace().count() <= 2
        && !s.chars().any(cjk::is_cjk)
        && s.chars()
            .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase() || c == '.')
}

/// `an aggregate of 1,000,000 shares of Common Stock`, `shares of Common Stock`; settlement
/// by delivery of shares, in cash, or either at a party's election.
pub(super) fn shares_and_settlement(cx: &mut Ctx<'_>) {
    static SHARES: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?:(?P<n>\d{1,3}(?:,\d{3})+|\d+)\s+)?shares of (?:the Company's |its |our )?(?P<u>(?:Class [A-Z] )?(?:Common|Ordinary|Preferred) (?:Stock|Shares))",
        )
        .expect("compiles")
    });
    let flow = cx.sheet.flow.clone();
    let mut counted = false;
    for c in SHARES.captures_iter(&flow) {
        let whole = c.get(0).expect("match");
        let snippet = cx.sheet.sentence_at(whole.start());
        let u = c.name("u").expect("group");
        cx.push(
            Field::UnderlierName,
            Value::from(u.as_str()),
            (u.start(), u.end()),
            snippet,
            PROSE_CONF,
            "phrase \"shares of …\"",
        );
        if let Some(n) = c.name("n")
            && !counted
        {
            let sentence = flow[snippet.0..snippet.1].to_lowercase();
            // The contract's size: `up to an aggregate of N shares`, `cover N shares`.
            if (sentence.contains("aggregate") || sentence.contains("cover"))
                && let Some(v) =
                    parse::canonical_decimal(n.as_str()).and_then(|d| d.parse::<f64>().ok())
            {
                cx.push(
                    Field::NumberOfShares,
                    number_json(v),
                    (n.start(), n.end()),
                    snippet,
                    PROSE_CONF,
                    "phrase \"aggregate of N shares\"",
                );
                counted = true;
            }
        }
    }
    static DELIVER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:deliver|delivery of)\b[^.]{0,80}?\bshares\b").expect("compiles")
    });
    static ELECT_CASH: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:at (?:the )?[A-Za-z' ]{0,40}?(?:election|option)|elect(?:s|ion)? to)\b[^.]{0,80}?\bcash\b")
            .expect("compiles")
    });
    static CASH_ONLY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:settled|settle|payable) (?:only )?in cash\b|\bcash[- ]settled\b")
            .expect("compiles")
    });
    if let Some(d) = DELIVER.find(&flow) {
        let sentence = cx.sheet.sentence_at(d.start());
        let s = &flow[sentence.0..sentence.1];
        if let Some(e) = ELECT_CASH.find(s) {
            let span = (sentence.0 + e.start(), sentence.0 + e.end());
            cx.push(
                Field::Settlement,
                Value::from("cash_or_physical"),
                span,
                sentence,
                PROSE_CONF,
                "delivery of shares or, at a party's election, cash",
            );
        } else {
            cx.push(
                Field::Settlement,
                Value::from("physical"),
                (d.start(), d.end()),
                sentence,
                PROSE_CONF * 0.9,
                "delivery of shares",
            );
        }
    } else if let Some(c) = CASH_ONLY.find(&flow) {
        let sentence = cx.sheet.sentence_at(c.start());
        cx.push(
            Field::Settlement,
            Value::from("cash"),
            (c.start(), c.end()),
            sentence,
            PROSE_CONF,
            "settled in cash",
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::testing::check;
    use super::count_in;

    #[test]
    fn a_parenthesis_inside_the_name_is_not_its_code() {
        check(
            "标的资产：亨利港天然气（NATURAL GAS-LOUISIANA (HENRY HUB)-GAS DAILY）",
            Some("commodity_option"),
            &[
                (
                    "underlier.name",
                    json!("亨利港天然气（NATURAL GAS-LOUISIANA (HENRY HUB)-GAS DAILY）"),
                ),
                ("underlier.id", Value::Null),
            ],
        );
        check(
            "标的资产：螺纹钢期货RB2610合约（RB2610.SHF）",
            Some("commodity_option"),
            &[
                ("underlier.name", json!("螺纹钢期货RB2610合约")),
                ("underlier.id", json!("RB2610.SHF")),
            ],
        );
    }

    #[test]
    fn option_terms_in_english_and_chinese() {
        check(
            "Option Type: Call\nOption Style: European\nSettlement Method: Cash",
            None,
            &[
                ("option_type", json!("call")),
                ("exercise_style", json!("european")),
                ("settlement", json!("cash")),
            ],
        );
        check(
            "期权类型：看跌\n行权方式：美式\n交割方式：实物交割",
            None,
            &[
                ("option_type", json!("put")),
                ("exercise_style", json!("american")),
                ("settlement", json!("physical")),
            ],
        );
        check(
            "Cash Settlement: Applicable\nPhysical Settlement: Not Applicable",
            None,
            &[("settlement", json!("cash"))],
        );
    }

    #[test]
    fn a_strike_is_a_price_a_percentage_or_a_rate() {
        check(
            "Strike Price: USD 1,200.00",
            None,
            &[
                ("strike.value", json!(1200)),
                ("strike.unit", json!("price")),
                ("strike.currency", json!("USD")),
            ],
        );
        check(
            "行权价格：期初价格的100%",
            None,
            &[
                ("strike.value", json!(100)),
                ("strike.unit", json!("percent")),
                ("strike.currency", Value::Null),
            ],
        );
        check(
            "Strike Rate: 3.50%",
            Some("swaption"),
            &[
                ("strike.value", json!(0.035)),
                ("strike.unit", json!("rate")),
            ],
        );
        check(
            "Strike: 2.75% per annum",
            Some("cap_floor"),
            &[
                ("strike.value", json!(0.0275)),
                ("strike.unit", json!("rate")),
            ],
        );
    }

    #[test]
    fn cap_floor_and_initial_prices() {
        check(
            "Forward Cap Price: USD 60.00\nFloor Price: 40.00\n期初价格：3,850.00点",
            None,
            &[
                ("cap_price.value", json!(60)),
                ("cap_price.currency", json!("USD")),
                ("floor_price.value", json!(40)),
                ("floor_price.currency", Value::Null),
                ("initial_price.value", json!(3850)),
            ],
        );
    }

    #[test]
    fn counts_in_digits_or_words() {
        check(
            "Number of Options: 1,000\nOption Entitlement: One Share per Option",
            None,
            &[
                ("number_of_options", json!(1000)),
                ("option_entitlement", json!(1)),
            ],
        );
        check(
            "期权份数：500份",
            None,
            &[("number_of_options", json!(500))],
        );
        assert_eq!(count_in("Ten Shares"), Some((10.0, (0, 3))));
        assert_eq!(count_in("as agreed"), None);
    }

    #[test]
    fn the_underlier_and_its_code() {
        check(
            "Underlying: S&P 500 Index (.SPX)",
            None,
            &[
                ("underlier.name", json!("S&P 500 Index")),
                ("underlier.id", json!(".SPX")),
            ],
        );
        check(
            "挂钩标的：中证500指数（000905.SH）",
            None,
            &[
                ("underlier.name", json!("中证500指数")),
                ("underlier.id", json!("000905.SH")),
            ],
        );
        check(
            "Shares: ordinary shares of XYZ plc (Bloomberg: XYZ LN)",
            None,
            &[
                ("underlier.name", json!("ordinary shares of XYZ plc")),
                ("underlier.id", json!("XYZ LN")),
            ],
        );
        // A parenthesis that is not a code is not an id, and stays in the name.
        check(
            "Underlying: the basket (see annex)",
            None,
            &[
                ("underlier.id", Value::Null),
                ("underlier.name", json!("the basket (see annex)")),
            ],
        );
    }

    /// An identifier comes out without the label written with it, in the parenthesis after the
    /// name or on a line of its own.
    #[test]
    fn identifiers_lose_their_labels() {
        for (text, id) in [
            (
                "Underlying: Swiss Market Index (Reuters code .SSMI)",
                ".SSMI",
            ),
            ("Underlying: Hang Seng Index (RIC: .HSI)", ".HSI"),
            (
                "Underlying: Swiss Market Index (Bloomberg ticker SMI Index)",
                "SMI Index",
            ),
            ("Underlying: Nestle SA (ISIN CH0038863350)", "CH0038863350"),
            ("挂钩标的：中证500指数（代码：000905.SH）", "000905.SH"),
            ("挂钩标的：沪深300指数（指数代码 000300.SH）", "000300.SH"),
            ("Reuters Code: .SSMI", ".SSMI"),
            ("Reuters code: Reuters code .SSMI", ".SSMI"),
            ("ISIN: CH0038863350", "CH0038863350"),
            ("标的代码：000905.SH", "000905.SH"),
            // A code that starts like a label keeps its letters.
            ("Underlying: Richemont (RICH.SW)", "RICH.SW"),
            ("Ticker: ISRG.US", "ISRG.US"),
        ] {
            check(text, None, &[("underlier.id", json!(id))]);
        }
        check(
            "Underlying: Swiss Market Index (Reuters code .SSMI)",
            None,
            &[("underlier.name", json!("Swiss Market Index"))],
        );
    }

    #[test]
    fn shares_and_settlement_in_prose() {
        check(
            "The transactions cover an aggregate of 1,250,000 shares of the Company's Common \
             Stock. The Company may deliver shares or, at its election, cash.",
            None,
            &[
                ("underlier.name", json!("Common Stock")),
                ("other.number_of_shares", json!(1250000)),
                ("settlement", json!("cash_or_physical")),
            ],
        );
        check(
            "The Bank will deliver 500 shares of Class A Common Stock to the Company.",
            None,
            &[
                ("underlier.name", json!("Class A Common Stock")),
                ("other.number_of_shares", Value::Null),
                ("settlement", json!("physical")),
            ],
        );
        check(
            "The options will be settled in cash.",
            None,
            &[("settlement", json!("cash"))],
        );
    }
}
