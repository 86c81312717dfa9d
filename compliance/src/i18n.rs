//! The Chinese of the words [`crate::elements`] and [`crate::regime`] write for people: what a missing field needs
//! ([`crate::elements::Cell::Missing`]) and why a rule's default was used
//! ([`crate::elements::Cell::Default`]). The English text is the key, so the cells stay one
//! value; [`zh`] gives the Chinese a Chinese reader sees (the page, the difference summary,
//! validation findings). Code values (`NCNF`, `XXXX`) and CDM paths in parentheses are kept
//! as they are: they are what the trade's data calls them.

/// English → Chinese, exact.
const TABLE: &[(&str, &str)] = &[
    (
        "a new trade reported at execution has not been confirmed yet",
        "执行时报告的新交易尚未确认",
    ),
    (
        "an identifier of the underlier (ISIN)",
        "标的资产的标识符（ISIN）",
    ),
    (
        "counterparty 1's LEI (the reporting party, reportingSide.reportingParty)",
        "交易对手方1（报告方）的LEI（reportingSide.reportingParty）",
    ),
    (
        "counterparty 2's LEI (reportingSide.reportingCounterparty)",
        "交易对手方2的LEI（reportingSide.reportingCounterparty）",
    ),
    (
        "economicTerms.nonStandardisedTerms not stated",
        "交易未载明 economicTerms.nonStandardisedTerms",
    ),
    ("no allocation stated", "交易未载明分配"),
    ("no anonymous execution stated", "交易未载明匿名执行"),
    ("no basket", "无篮子标的"),
    (
        "no crypto-asset underlier in the trade",
        "交易中没有加密资产标的",
    ),
    (
        "no market identifier code (MIC) of an execution venue is given: off-venue",
        "未给出执行场所的市场识别码（MIC）：按场外执行处理",
    ),
    ("no package stated", "交易未载明组合交易（package）"),
    ("no post-priced swap stated", "交易未载明事后定价互换"),
    ("no prime brokerage stated", "交易未载明主经纪业务"),
    ("single underlier", "单一标的"),
    (
        "the LEI of the entity responsible for reporting",
        "负责报告的实体的LEI",
    ),
    (
        "the LEI of the entity submitting the report",
        "提交报告的实体的LEI",
    ),
    (
        "the LEI of the specified person reporting",
        "负责报告的指定人员（specified person）的LEI",
    ),
    (
        "the UTI (a tradeIdentifier of type UniqueTransactionIdentifier)",
        "唯一交易识别码UTI（类型为 UniqueTransactionIdentifier 的 tradeIdentifier）",
    ),
    (
        "the asset class (productTaxonomy.primaryAssetClass)",
        "资产类别（productTaxonomy.primaryAssetClass）",
    ),
    ("the buyer's LEI", "买方的LEI"),
    (
        "the confirmation status (reportableInformation.confirmationMethod)",
        "确认状态（reportableInformation.confirmationMethod）",
    ),
    ("the currency", "币种"),
    ("the currency amount", "该币种的金额"),
    (
        "the effective date (economicTerms.effectiveDate)",
        "生效日期（economicTerms.effectiveDate）",
    ),
    ("the event date", "事件日期"),
    (
        "the event identifier (eventIdentifier)",
        "事件标识符（eventIdentifier）",
    ),
    (
        "the event timestamp (eventCreationDateTime)",
        "事件时间戳（eventCreationDateTime）",
    ),
    (
        "the execution timestamp (a workflow-step timestamp qualified executionDateTime)",
        "执行时间戳（限定为 executionDateTime 的 workflow-step 时间戳）",
    ),
    (
        "the exercise style (exerciseTerms.optionStyle)",
        "行权方式（exerciseTerms.optionStyle）",
    ),
    ("the expiration or termination date", "到期日或终止日"),
    ("the index tenor", "指数期限"),
    ("the leg's notional amount", "该腿的名义本金金额"),
    ("the leg's notional currency", "该腿的名义本金币种"),
    (
        "the notional is an amount of money, so the quantity is not available: the regime's all-9s value",
        "名义本金以金额表示，没有数量：按该制度要求填全9值",
    ),
    (
        "the option premium (a transfer of type Premium)",
        "期权费（类型为 Premium 的 transfer）",
    ),
    (
        "the option's buyer and seller (buyerSeller)",
        "期权的买方和卖方（buyerSeller）",
    ),
    ("the payer's LEI", "付款方的LEI"),
    ("the payment frequency", "支付频率"),
    ("the premium's currency", "期权费币种"),
    (
        "the product's CFI code (productTaxonomy with source CFI)",
        "产品的CFI代码（来源为 CFI 的 productTaxonomy）",
    ),
    ("the receiver's LEI", "收款方的LEI"),
    ("the reporting timestamp", "报告时间戳"),
    ("the reset frequency", "重置频率"),
    ("the seller's LEI", "卖方的LEI"),
    (
        "the strike price (exerciseTerms.strike.strikePrice)",
        "行权价格（exerciseTerms.strike.strikePrice）",
    ),
    ("the strike's currency", "行权价格的币种"),
    (
        "whether the product and the counterparties are subject to the clearing obligation (mandatorilyClearable)",
        "产品和交易对手方是否受强制清算义务约束（mandatorilyClearable）",
    ),
    (
        "who pays this leg (payerReceiver)",
        "该腿由谁支付（payerReceiver）",
    ),
    (
        "no Canadian address is given for the counterparty",
        "未给出交易对手方的加拿大地址",
    ),
    (
        "no party fact says the counterparty is a U.S. federal entity",
        "没有任何交易方事实表明该交易对手方是美国联邦实体",
    ),
    (
        "no party fact says the counterparty is a financial entity under CEA 2(h)(7)(C)",
        "没有任何交易方事实表明该交易对手方是 CEA 2(h)(7)(C) 所指的金融实体",
    ),
    (
        "the Canadian province or territory of the counterparty's head office or principal place of business",
        "交易对手方总部或主要营业地所在的加拿大省或地区",
    ),
    (
        "the notional is an amount of money, so the quantity is not available: CSA's '99999999999999999999.99999'",
        "名义本金以金额表示，没有数量：按CSA要求填 '99999999999999999999.99999'",
    ),
    (
        "the technical record id",
        "技术记录编号（technical record id）",
    ),
];

/// Texts with values in them: the English with `{}` where a value goes, the Chinese with the
/// values in the same order.
const TEMPLATES: &[(&str, &str)] = &[
    (
        "an ISO 20022 code for the day count {}",
        "计息天数惯例 {} 对应的 ISO 20022 代码",
    ),
    (
        "an ISO 20022 unit code for the unit {}",
        "计量单位 {} 对应的 ISO 20022 单位代码",
    ),
    (
        "a timestamp that can be written in UTC+8 (got {})",
        "可换算为北京时间（UTC+8）的时间戳（收到的是 {}）",
    ),
    (
        "the nature of counterparty {} (financial, non-financial, CCP) under {}",
        "交易对手方{}的性质（金融、非金融、中央对手方），依据 {}",
    ),
    (
        "the corporate sector of counterparty {} under {}",
        "交易对手方{}的行业类别，依据 {}",
    ),
    (
        "whether counterparty {} is above the clearing threshold under {}",
        "交易对手方{}是否超过清算门槛，依据 {}",
    ),
];

/// The values of `text` in the places of `template`'s `{}` (each value the shortest that lets
/// the rest match), or `None` when it does not match.
fn fill(template: &str, text: &str) -> Option<Vec<String>> {
    let parts: Vec<&str> = template.split("{}").collect();
    let mut rest = text.strip_prefix(parts[0])?;
    let mut values = Vec::new();
    for (i, part) in parts.iter().enumerate().skip(1) {
        let at = if i == parts.len() - 1 {
            // The last literal ends the text.
            if !rest.ends_with(part) || rest.len() < part.len() {
                return None;
            }
            rest.len() - part.len()
        } else {
            rest.find(part)?
        };
        values.push(rest[..at].to_owned());
        rest = &rest[at + part.len()..];
    }
    Some(values)
}

/// The Chinese of a text [`crate::elements`] or [`crate::regime`] wrote, when it has one.
pub fn try_zh(text: &str) -> Option<String> {
    if let Some((_, zh)) = TABLE.iter().find(|(en, _)| *en == text) {
        return Some((*zh).to_owned());
    }
    TEMPLATES.iter().find_map(|(en, zh)| {
        let values = fill(en, text)?;
        let mut out = String::new();
        let mut values = values.into_iter();
        for (i, part) in zh.split("{}").enumerate() {
            if i > 0 {
                out.push_str(&values.next().unwrap_or_default());
            }
            out.push_str(part);
        }
        Some(out)
    })
}

/// The Chinese of a text [`crate::elements`] wrote; a text it does not know (a firm's own
/// rule) stays as written.
pub fn zh(text: &str) -> String {
    try_zh(text).unwrap_or_else(|| text.to_owned())
}

/// `text` in the reader's language (`zh` or anything else for English).
pub fn localise(text: &str, lang: &str) -> String {
    if lang == "zh" {
        zh(text)
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_take_their_values_in_order() {
        assert_eq!(
            zh("whether counterparty 2 is above the clearing threshold under EU EMIR Refit"),
            "交易对手方2是否超过清算门槛，依据 EU EMIR Refit"
        );
        assert_eq!(
            fill("a {} b {}", "a x b y z"),
            Some(vec!["x".into(), "y z".into()])
        );
        assert_eq!(fill("a {} b", "a x c"), None);
    }

    #[test]
    fn known_texts_and_values_are_translated_unknown_ones_kept() {
        assert_eq!(zh("the buyer's LEI"), "买方的LEI");
        assert_eq!(
            zh("an ISO 20022 code for the day count \"ACT/364\""),
            "计息天数惯例 \"ACT/364\" 对应的 ISO 20022 代码"
        );
        assert_eq!(zh("a firm's own words"), "a firm's own words");
        assert_eq!(localise("the event date", "en"), "the event date");
        assert_eq!(localise("the event date", "zh"), "事件日期");
    }
}
