//! The demo clause library shipped with Deskmate (`drafting/library/*.md`), written for this
//! project and labelled as such in every template: the structure follows public confirmations
//! (a letter with general terms, the transaction's economic terms, settlement, the parties'
//! roles and account details, governing law and signatures), the wording is our own.

use crate::template::{Language, Template, TemplateError, parse};

/// The demo templates' sources, by file name.
pub const DEMO: &[(&str, &str)] = &[
    (
        "equity-option.en.md",
        include_str!("../library/equity-option.en.md"),
    ),
    (
        "equity-option.zh.md",
        include_str!("../library/equity-option.zh.md"),
    ),
    (
        "autocallable.en.md",
        include_str!("../library/autocallable.en.md"),
    ),
    (
        "autocallable.zh.md",
        include_str!("../library/autocallable.zh.md"),
    ),
    (
        "interest-rate-swap.en.md",
        include_str!("../library/interest-rate-swap.en.md"),
    ),
    (
        "interest-rate-swap.zh.md",
        include_str!("../library/interest-rate-swap.zh.md"),
    ),
    (
        "equity-swap.en.md",
        include_str!("../library/equity-swap.en.md"),
    ),
    (
        "equity-swap.zh.md",
        include_str!("../library/equity-swap.zh.md"),
    ),
    (
        "credit-default-swap.en.md",
        include_str!("../library/credit-default-swap.en.md"),
    ),
    (
        "credit-default-swap.zh.md",
        include_str!("../library/credit-default-swap.zh.md"),
    ),
];

/// The demo library, parsed.
pub fn demo() -> Result<Vec<Template>, TemplateError> {
    DEMO.iter().map(|(_, src)| parse(src)).collect()
}

/// The template for a product type in a language: the first one whose families hold it.
pub fn choose<'a>(
    templates: &'a [Template],
    product_type: &str,
    language: Language,
) -> Option<&'a Template> {
    templates
        .iter()
        .find(|t| t.language == language && t.families.iter().any(|f| f == product_type))
}
