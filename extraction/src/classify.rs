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

#[cfg(test)]
mod tests {
    use super::*;

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
