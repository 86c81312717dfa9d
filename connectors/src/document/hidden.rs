//! Text a reader of a markup document does not see: HTML hidden by CSS, attributes or
//! elements, and DOCX runs marked hidden. Such text is **dropped** at extraction, never passed
//! on: a person who reviews an uploaded page or Word file cannot see it, so it must not reach
//! the knowledge base or a model either (it is the usual place to hide an instruction to a
//! model). What was dropped is counted by reason in a [`super::Notice`].
//!
//! HTML: `<script>`, `<style>`, `<template>`, `<noscript>`, comments and `<head>` (html2text
//! already skips some of them); elements with the `hidden` attribute; and elements whose
//! inline `style` or a simple rule of a `<style>` sheet (selectors `tag`, `.class`, `#id`,
//! `tag.class`, comma lists; anything more complex is ignored) says `display: none`,
//! `visibility: hidden|collapse`, `opacity: 0`, a font size of at most 1px/1pt, zero height or
//! width with `overflow: hidden`, `clip: rect(0…)`, an off-screen position or indent (-1000px
//! or further), or a text colour equal to the background it sits on (white on the default
//! white page: `color: #fff`, `<font color="white">`, `transparent`).
//!
//! DOCX: runs with `w:vanish`, `w:specVanish` or `w:webHidden` (directly or through a
//! character or paragraph style of `word/styles.xml`), runs of at most 1pt (`w:sz` ≤ 2), and
//! runs whose colour equals the page background (white unless `w:background` says otherwise)
//! with no shading or highlight.

use std::collections::BTreeMap;

/// Counts of dropped elements or runs by reason.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Dropped(pub BTreeMap<&'static str, usize>);

impl Dropped {
    pub(crate) fn add(&mut self, reason: &'static str) {
        *self.0.entry(reason).or_default() += 1;
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `"display:none ×2, w:vanish ×1"`.
    pub(crate) fn summary(&self) -> String {
        self.0
            .iter()
            .map(|(r, n)| format!("{r} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// An RGB colour.
pub(crate) type Rgb = (u8, u8, u8);

/// The default page background.
pub(crate) const WHITE: Rgb = (255, 255, 255);

/// Parses a CSS or DOCX colour: `#fff`, `#ffffff`, `FFFFFF`, `rgb(255, 255, 255)`, and the
/// names `white`, `black`; `transparent` is `None` with `true`.
pub(crate) fn parse_colour(value: &str) -> Option<Rgb> {
    let v = value.trim().trim_end_matches("!important").trim();
    let v = v.to_ascii_lowercase();
    match v.as_str() {
        "white" => return Some(WHITE),
        "black" => return Some((0, 0, 0)),
        _ => {}
    }
    if let Some(inner) = v.strip_prefix("rgb(").or_else(|| v.strip_prefix("rgba(")) {
        let parts: Vec<u8> = inner
            .trim_end_matches(')')
            .split(',')
            .take(3)
            .filter_map(|p| p.trim().parse::<f32>().ok())
            .map(|f| f.clamp(0.0, 255.0) as u8)
            .collect();
        return (parts.len() == 3).then(|| (parts[0], parts[1], parts[2]));
    }
    let hex = v.strip_prefix('#').unwrap_or(&v);
    let byte = |s: &str| u8::from_str_radix(s, 16).ok();
    match hex.len() {
        3 => {
            let c: Vec<u8> = hex
                .chars()
                .filter_map(|c| c.to_digit(16).map(|d| (d * 17) as u8))
                .collect();
            (c.len() == 3).then(|| (c[0], c[1], c[2]))
        }
        6 => Some((byte(&hex[0..2])?, byte(&hex[2..4])?, byte(&hex[4..6])?)),
        _ => None,
    }
}

/// Close enough to be unreadable against each other (each channel within 16).
pub(crate) fn same_colour(a: Rgb, b: Rgb) -> bool {
    let d = |x: u8, y: u8| x.abs_diff(y) <= 16;
    d(a.0, b.0) && d(a.1, b.1) && d(a.2, b.2)
}

/// One CSS declaration list, lower-cased, as (property, value) pairs.
pub(crate) fn declarations(style: &str) -> Vec<(String, String)> {
    style
        .split(';')
        .filter_map(|d| {
            let (p, v) = d.split_once(':')?;
            let v = v.trim().trim_end_matches("!important").trim();
            Some((p.trim().to_ascii_lowercase(), v.to_ascii_lowercase()))
        })
        .filter(|(p, _)| !p.is_empty())
        .collect()
}

/// A CSS length in px, for `0`, `1px`, `-9999px`, `0.5pt`, `0em` (em and rem as 16px, % as
/// nothing known: `None` unless 0).
fn length_px(v: &str) -> Option<f32> {
    let v = v.trim();
    let (num, unit) = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .map_or((v, ""), |i| v.split_at(i));
    let n: f32 = num.parse().ok()?;
    Some(match unit.trim() {
        "" | "px" => n,
        "pt" => n * 4.0 / 3.0,
        "em" | "rem" => n * 16.0,
        "%" | "vw" | "vh" if n == 0.0 => 0.0,
        _ => return None,
    })
}

/// What a set of declarations does to the visibility of an element's text.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Effect {
    /// The reason the element is hidden, if it is.
    pub hidden: Option<&'static str>,
    /// The text colour it sets.
    pub colour: Option<Rgb>,
    /// The background colour it sets.
    pub background: Option<Rgb>,
}

/// Reads `decls` for what hides text.
pub(crate) fn effect(decls: &[(String, String)]) -> Effect {
    let mut e = Effect::default();
    let get = |name: &str| {
        decls
            .iter()
            .rev()
            .find(|(p, _)| p == name)
            .map(|(_, v)| v.as_str())
    };
    let overflow_hidden =
        get("overflow").is_some_and(|v| v.contains("hidden") || v.contains("clip"));
    let hide = |r: &'static str, e: &mut Effect| {
        if e.hidden.is_none() {
            e.hidden = Some(r);
        }
    };
    if get("display").is_some_and(|v| v == "none") {
        hide("display:none", &mut e);
    }
    if get("visibility").is_some_and(|v| v == "hidden" || v == "collapse") {
        hide("visibility:hidden", &mut e);
    }
    if get("opacity")
        .and_then(|v| v.parse::<f32>().ok())
        .is_some_and(|o| o <= 0.01)
    {
        hide("opacity:0", &mut e);
    }
    if get("font-size")
        .and_then(length_px)
        .is_some_and(|px| px <= 1.5)
    {
        hide("font-size:0", &mut e);
    }
    for p in ["height", "max-height", "width", "max-width"] {
        if overflow_hidden && get(p).and_then(length_px).is_some_and(|px| px <= 1.0) {
            hide("size:0", &mut e);
        }
    }
    if get("clip").is_some_and(|v| v.replace(' ', "").starts_with("rect(0"))
        || get("clip-path").is_some_and(|v| v.replace(' ', "") == "inset(50%)")
    {
        hide("clip", &mut e);
    }
    for p in ["left", "top", "text-indent", "margin-left", "right"] {
        if get(p).and_then(length_px).is_some_and(|px| px <= -1000.0) {
            hide("off-screen", &mut e);
        }
    }
    if let Some(c) = get("color") {
        if c == "transparent" {
            hide("transparent text", &mut e);
        }
        e.colour = parse_colour(c);
    }
    let bg = get("background-color").or_else(|| {
        get("background").and_then(|v| v.split_whitespace().find(|t| parse_colour(t).is_some()))
    });
    e.background = bg.and_then(parse_colour);
    e
}

/// A simple selector of a `<style>` sheet.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Selector {
    pub tag: Option<String>,
    pub class: Option<String>,
    pub id: Option<String>,
}

impl Selector {
    fn parse(s: &str) -> Option<Selector> {
        let s = s.trim().to_ascii_lowercase();
        if s.is_empty()
            || s.contains(|c: char| c.is_whitespace() || "[]>+~:*()".contains(c))
            || s.matches(['.', '#']).count() > 1
        {
            return None;
        }
        let (tag, rest) = match s.find(['.', '#']) {
            Some(i) => (&s[..i], &s[i..]),
            None => (s.as_str(), ""),
        };
        let tag = (!tag.is_empty()).then(|| tag.to_string());
        let class = rest.strip_prefix('.').map(str::to_string);
        let id = rest.strip_prefix('#').map(str::to_string);
        Some(Selector { tag, class, id })
    }

    /// Whether an element with this tag, class list and id matches.
    pub(crate) fn matches(&self, tag: &str, classes: &str, id: Option<&str>) -> bool {
        self.tag
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case(tag))
            && self.class.as_deref().is_none_or(|c| {
                classes
                    .split_whitespace()
                    .any(|k| k.eq_ignore_ascii_case(c))
            })
            && self
                .id
                .as_deref()
                .is_none_or(|i| id.is_some_and(|x| x.eq_ignore_ascii_case(i)))
    }
}

/// The simple rules of the `<style>` sheets of an HTML text (found in the raw text, before
/// parsing): (selector, declarations). Comments and `@` blocks are skipped.
pub(crate) fn style_rules(html: &str) -> Vec<(Selector, Vec<(String, String)>)> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = lower[from..].find("<style") {
        let open = from + open;
        let Some(body) = lower[open..].find('>').map(|i| open + i + 1) else {
            break;
        };
        let end = lower[body..]
            .find("</style")
            .map_or(lower.len(), |i| body + i);
        let mut sheet = html[body..end].to_string();
        while let Some(a) = sheet.find("/*") {
            let b = sheet[a..].find("*/").map_or(sheet.len(), |i| a + i + 2);
            sheet.replace_range(a..b, " ");
        }
        let mut rest = sheet.as_str();
        while let Some(brace) = rest.find('{') {
            let selectors = &rest[..brace];
            let Some(close) = rest[brace..].find('}').map(|i| brace + i) else {
                break;
            };
            let decls = declarations(&rest[brace + 1..close]);
            if !selectors.trim_start().starts_with('@') {
                for s in selectors.split(',').filter_map(Selector::parse) {
                    out.push((s, decls.clone()));
                }
            }
            rest = &rest[close + 1..];
        }
        from = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_that_hide_text() {
        let hidden = |s: &str| effect(&declarations(s)).hidden;
        for s in [
            "display:none",
            "DISPLAY : none !important",
            "visibility: hidden",
            "opacity: 0",
            "font-size: 0",
            "font-size:0px",
            "font-size: 1px",
            "height:0; overflow:hidden",
            "position:absolute; left:-9999px",
            "text-indent: -10000px",
            "clip: rect(0 0 0 0)",
            "color: transparent",
        ] {
            assert!(hidden(s).is_some(), "{s}");
        }
        for s in [
            "display:block",
            "font-size: 12px",
            "height: 0",
            "left: 10px",
            "color: red",
            "opacity: 0.9",
        ] {
            assert!(hidden(s).is_none(), "{s}");
        }
        assert_eq!(effect(&declarations("color:#FFF")).colour, Some(WHITE));
        assert_eq!(
            effect(&declarations("background: #000 url(x.png)")).background,
            Some((0, 0, 0))
        );
        assert_eq!(parse_colour("rgb(255, 255, 255)"), Some(WHITE));
        assert_eq!(parse_colour("FFFFFE"), Some((255, 255, 254)));
    }

    #[test]
    fn simple_style_rules_are_read() {
        let rules = style_rules(
            "<style>/* x */ .ai-note, #n1 { display: none } p.small{font-size:0} div p {display:none} @media print { .x {display:none} }</style>",
        );
        let sels: Vec<&Selector> = rules.iter().map(|(s, _)| s).collect();
        assert!(sels[0].matches("span", "foo ai-note", None));
        assert!(sels[1].matches("div", "", Some("n1")));
        assert!(sels[2].matches("p", "small", None) && !sels[2].matches("div", "small", None));
        // Descendant selectors are not read.
        assert_eq!(rules.len(), 3, "{rules:?}");
    }
}
