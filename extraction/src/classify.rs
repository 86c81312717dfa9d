//! Which product family a document confirms, or that it confirms none.
//!
//! Phrases vote for families with weights; specific products (snowball, capped call, prepaid
//! forward, swaption…) carry more weight than the generic words that also occur in them
//! (option, swap), so the most specific family stated wins. A document with no family phrase, or
//! with neither a date nor an amount or rate, is not a confirmation.

use std::sync::LazyLock;

use regex::Regex;

use super::parse::{find_amounts, find_dates, find_rates};

/// The verdict, with the phrase that decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// The product family (`key-terms.md`'s `product_type`), or `None`: not a confirmation.
    pub product_type: Option<&'static str>,
    /// The winning family's score (sum of matched phrase weights).
    pub score: u32,
    /// Byte range in the flow text of the strongest phrase of the winner.
    pub span: Option<(usize, usize)>,
    /// Why the document is not a confirmation, when it is not.
    pub reason: Option<String>,
}

struct Family {
    name: &'static str,
    phrases: &'static [(&'static str, u32)],
}

/// Phrase lists, most specific families first (ties go to the earlier family).
const FAMILIES: &[Family] = &[
    Family {
        name: "snowball",
        phrases: &[
            (r"snowball", 10),
            (r"雪球", 10),
            (r"autocall(?:able)?", 4),
            (r"敲出", 3),
            (r"敲入", 3),
            (r"knock[- ]?in", 2),
        ],
    },
    Family {
        name: "phoenix",
        phrases: &[(r"phoenix", 12), (r"凤凰", 12)],
    },
    Family {
        name: "capped_call",
        phrases: &[(r"capped call", 10)],
    },
    Family {
        name: "prepaid_forward",
        phrases: &[
            (r"prepaid variable forward", 10),
            (r"variable prepaid forward", 10),
            (r"prepaid forward", 8),
            (r"预付远期", 8),
        ],
    },
    Family {
        name: "variance_swap",
        phrases: &[(r"variance swap", 10), (r"方差互换", 10)],
    },
    Family {
        name: "swaption",
        phrases: &[(r"swaption", 10), (r"互换期权", 10)],
    },
    Family {
        name: "cap_floor",
        phrases: &[
            (r"interest rate (?:cap|floor|collar)", 8),
            (r"cap rate", 4),
            (r"floor rate", 4),
            (r"利率上限", 8),
            (r"利率下限", 8),
        ],
    },
    Family {
        name: "fra",
        phrases: &[(r"forward rate agreement", 10), (r"远期利率协议", 10)],
    },
    Family {
        name: "credit_default_swap",
        phrases: &[
            (r"credit default swap", 10),
            (r"reference entity", 4),
            (r"信用违约互换", 10),
        ],
    },
    Family {
        name: "fx_option",
        phrases: &[
            (r"(?:fx|currency|foreign exchange) option", 10),
            (r"put currency", 4),
            (r"call currency", 4),
            (r"外汇期权", 10),
        ],
    },
    Family {
        name: "fx_swap",
        phrases: &[(r"(?:fx|foreign exchange) swap", 10), (r"外汇掉期", 10)],
    },
    Family {
        name: "fx_forward",
        phrases: &[
            (r"(?:fx|foreign exchange) forward", 10),
            (r"non[- ]deliverable forward", 10),
            (r"外汇远期", 10),
        ],
    },
    Family {
        name: "fx_spot",
        phrases: &[(r"(?:fx|foreign exchange) spot", 8), (r"即期外汇", 8)],
    },
    Family {
        name: "commodity_option",
        phrases: &[
            (r"commodity option", 10),
            (r"商品期权", 10),
            (
                r"(?:crude oil|brent|wti|gold|silver|copper|原油|黄金|白银|铜|螺纹钢)",
                2,
            ),
        ],
    },
    Family {
        name: "commodity_swap",
        phrases: &[(r"commodity swap", 10), (r"商品互换", 10)],
    },
    Family {
        name: "bond_option",
        phrases: &[(r"bond option", 10), (r"债券期权", 10)],
    },
    Family {
        name: "interest_rate_swap",
        phrases: &[
            (r"interest rate swap", 8),
            (r"fixed rate payer", 3),
            (r"floating rate (?:payer|option)", 3),
            (r"利率互换", 8),
            (r"固定利率支付方", 3),
            (r"浮动利率支付方", 3),
        ],
    },
    Family {
        name: "equity_swap",
        phrases: &[
            (r"equity swap", 8),
            (r"total return swap", 8),
            (r"equity amount", 3),
            (r"收益互换", 8),
        ],
    },
    Family {
        name: "equity_option",
        phrases: &[
            (r"(?:equity|share|index|stock) option", 8),
            (r"option transaction", 4),
            (r"(?:call|put) option", 3),
            (r"strike price", 2),
            (r"number of options", 2),
            (r"option entitlement", 2),
            (r"场外期权", 6),
            (r"(?:股票|个股|指数|股指)期权", 8),
            (r"看涨期权|看跌期权|认购期权|认沽期权", 4),
            (r"行权价", 2),
        ],
    },
];

struct Compiled {
    name: &'static str,
    phrases: Vec<(Regex, u32)>,
}

static COMPILED: LazyLock<Vec<Compiled>> = LazyLock::new(|| {
    FAMILIES
        .iter()
        .map(|f| Compiled {
            name: f.name,
            phrases: f
                .phrases
                .iter()
                .map(|(p, w)| {
                    (
                        Regex::new(&format!("(?i){p}")).expect("family phrase compiles"),
                        *w,
                    )
                })
                .collect(),
        })
        .collect()
});

/// Classifies a document by its flow text.
pub fn classify(flow: &str, chinese: bool) -> Classification {
    let mut best: Option<(&'static str, u32, (usize, usize))> = None;
    for fam in COMPILED.iter() {
        let mut score = 0;
        let mut strongest: Option<((usize, usize), u32)> = None;
        for (re, w) in &fam.phrases {
            if let Some(m) = re.find(flow) {
                score += w;
                if strongest.is_none_or(|(_, sw)| *w > sw) {
                    strongest = Some(((m.start(), m.end()), *w));
                }
            }
        }
        if score > best.map_or(0, |b| b.1)
            && let Some((span, _)) = strongest
        {
            best = Some((fam.name, score, span));
        }
    }
    // An option on a commodity reads like an equity option (看涨期权, 行权价): the underlier
    // decides.
    if let Some((name, _, _)) = &mut best
        && *name == "equity_option"
        && commodity_underlier(flow)
    {
        *name = "commodity_option";
    }
    let stated_terms = !find_dates(flow).is_empty()
        || !find_amounts(flow, chinese).is_empty()
        || !find_rates(flow).is_empty();
    match best {
        Some((name, score, span)) if score >= 3 && stated_terms => Classification {
            product_type: Some(name),
            score,
            span: Some(span),
            reason: None,
        },
        Some((_, score, _)) if score >= 3 => Classification {
            product_type: None,
            score,
            span: None,
            reason: Some("names a derivative product but states no date, amount or rate".into()),
        },
        _ => Classification {
            product_type: None,
            score: best.map_or(0, |b| b.1),
            span: None,
            reason: Some("no derivative product family is named".into()),
        },
    }
}

/// Whether the text names a commodity as an underlier: a commodity futures contract or spot
/// (`螺纹钢期货RB2610合约`, `黄金期货`, `天然气（…）`), a contract code of a commodity exchange
/// (`AU2612.SHF`, `M2609.DCE`), or an English commodity reference (`Henry Hub`, `WTI`).
/// A share or a stock-index future (`沪深300股指期货`) is not one; nor is a company named after
/// a metal (`山东黄金矿业`), since the word must be followed by 期货/现货/合约 or a parenthesis.
fn commodity_underlier(flow: &str) -> bool {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)(?:黄金|白银|铜|铝|锌|镍|锡|铅|螺纹钢|螺纹|线材|热轧卷板|不锈钢|铁矿石|焦炭|焦煤|动力煤|原油|燃料油|低硫燃料油|沥青|天然气|液化石油气|豆粕|豆油|豆一|豆二|棕榈油|玉米|淀粉|棉花|白糖|橡胶|甲醇|乙二醇|聚丙烯|聚乙烯|聚氯乙烯|塑料|玻璃|纯碱|尿素|苹果|红枣|生猪|鸡蛋|菜粕|菜油|花生|硅铁|锰硅|工业硅|碳酸锂|纸浆|PTA)\s*(?:期货|现货|主力|合约|[(（])|(?-u:\b)[A-Z]{1,2}\d{3,4}\.(?:SHF|SHFE|DCE|CZC|CZCE|INE|GFE|GFEX)(?-u:\b)|\b(?:henry hub|natural gas|crude oil|brent crude|wti crude)\b",
        )
        .expect("commodity pattern compiles")
    });
    RE.is_match(flow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_option_on_a_commodity_is_a_commodity_option() {
        for (text, want) in [
            (
                "场外期权交易确认书 期权类型：看跌期权 标的资产：螺纹钢期货RB2610合约 交易日：2026年7月6日",
                "commodity_option",
            ),
            (
                "场外期权交易确认书 看涨期权 标的资产：黄金期货AU2612合约（AU2612.SHF） 交易日：2026.9.7",
                "commodity_option",
            ),
            (
                "场外期权交易确认书 看涨期权 标的资产：沪深300股指期货IF2609合约（IF2609.CFE） 交易日：2026.6.22",
                "equity_option",
            ),
            (
                "场外期权交易确认书 看涨期权 标的资产：山东黄金矿业股份有限公司股票 交易日：2026.6.22",
                "equity_option",
            ),
            (
                "Equity Option Transaction. Underlying: Southern Copper Corp. Trade Date: 1 June 2025",
                "equity_option",
            ),
        ] {
            assert_eq!(classify(text, true).product_type, Some(want), "{text}");
        }
    }

    #[test]
    fn specific_families_win() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "INTEREST RATE SWAP TRANSACTION. Trade Date: 06/23/2005",
                Some("interest_rate_swap"),
            ),
            (
                "雪球结构场外期权交易确认书 交易日：2026年1月5日 敲出价格 105%",
                Some("snowball"),
            ),
            (
                "capped call transactions on March 4, 2024 with a cap price of $218.10",
                Some("capped_call"),
            ),
            (
                "Equity Option Transaction, Strike Price USD 10, Trade Date 1 June 2025",
                Some("equity_option"),
            ),
            (
                "The weather on June 1, 2025 was fine and the market rose 3%.",
                None,
            ),
            ("An interest rate swap is a contract.", None),
        ];
        for (text, want) in cases {
            assert_eq!(classify(text, false).product_type, *want, "{text}");
        }
    }
}
