//! Precedents: an earlier confirmation read clause by clause against the template a draft is
//! made on, keeping the clauses where its wording deviates from the template (reworded lines,
//! a library fallback, a clause added or left out), each with the precedent's own text of the
//! clause and the firm's position where its wording is a library fallback.
//!
//! The values of a precedent (its trade's dates, amounts, parties) are not deviations: the
//! template's placeholders match any value, so only the wording counts. Where the precedent is
//! not a confirmation on this template (fewer than half of the template's clauses found in
//! it), it is no precedent and [`deviations`] says so.

use serde::Serialize;

use crate::Trade;
use crate::proofread::{Check, Kind, Request, proofread};
use crate::template::{Language, Position, Template};

/// One way a precedent's clause deviates from the template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deviation {
    /// What kind (`reworded`, `fallback_used`, `clause_added`, `clause_missing`,
    /// `wording_removed`).
    pub kind: Kind,
    /// In the document's language.
    pub message: String,
    /// The precedent's text that shows it.
    pub evidence: String,
    /// The firm's position, when the wording is a library fallback.
    pub position: Option<Position>,
}

/// A clause of a precedent whose wording deviates from the template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClauseWording {
    /// The template clause (for an added section: `None`).
    pub clause: Option<String>,
    /// The precedent's section as written (`5 Settlement`).
    pub section: String,
    /// The precedent's text of the clause (its body; empty when the precedent lacks it).
    pub text: String,
    /// How it deviates.
    pub deviations: Vec<Deviation>,
}

/// The clauses of `text` (a precedent in `language`) whose wording deviates from `template`;
/// `trade` is the precedent's own trade where known (its conditional lines then apply as they
/// did for it). An error says why the text is no precedent for this template.
pub fn deviations(
    text: &str,
    language: Language,
    template: &Template,
    trade: Option<&Trade>,
) -> Result<Vec<ClauseWording>, String> {
    let report = proofread(&Request {
        text,
        language,
        template: Some(template),
        trade,
        holidays: &[],
    });
    // The clauses every confirmation on the template has (not those under a `when`).
    let ours: Vec<&str> = template
        .walk()
        .into_iter()
        .filter(|(c, _)| c.when.is_none() && c.level > 0)
        .map(|(c, _)| c.id.as_str())
        .collect();
    let found = report
        .sections
        .iter()
        .filter_map(|s| s.clause.as_deref())
        .filter(|c| ours.contains(c))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if found * 2 < ours.len() {
        return Err(format!(
            "not a confirmation on template {} ({found} of its {} clauses found)",
            template.id,
            ours.len()
        ));
    }
    let mut out: Vec<ClauseWording> = Vec::new();
    for f in report.findings.iter().filter(|f| {
        f.check == Check::Template
            && matches!(
                f.kind,
                Kind::Reworded
                    | Kind::FallbackUsed
                    | Kind::ClauseAdded
                    | Kind::ClauseMissing
                    | Kind::WordingRemoved
            )
    }) {
        let key = (f.clause.clone(), f.section.clone());
        let at = match out
            .iter()
            .position(|c| (c.clause.clone(), c.section.clone()) == key)
        {
            Some(i) => i,
            None => {
                let body = report
                    .sections
                    .iter()
                    .find(|s| s.label() == f.section || s.clause == f.clause && f.clause.is_some())
                    .map(|s| text.get(s.body.clone()).unwrap_or("").trim().to_string())
                    .filter(|_| f.kind != Kind::ClauseMissing)
                    .unwrap_or_default();
                out.push(ClauseWording {
                    clause: f.clause.clone(),
                    section: f.section.clone(),
                    text: body,
                    deviations: Vec::new(),
                });
                out.len() - 1
            }
        };
        out[at].deviations.push(Deviation {
            kind: f.kind,
            message: f.message.clone(),
            evidence: f.evidence.clone(),
            position: f.position,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library;
    use serde_json::json;

    fn trade() -> Trade {
        Trade::from_key_terms(json!({
            "product_type": "equity_option", "trade_date": "2026-03-05",
            "party_a": "Eastbank Securities Co., Ltd.", "party_b": "Harbour Fund Ltd",
            "buyer": "party_b", "seller": "party_a",
            "underlier": {"name": "Tencent Holdings Limited", "id": "700 HK"},
            "option_type": "call", "exercise_style": "european",
            "strike": {"value": 420, "unit": "price", "currency": "HKD"},
            "number_of_options": 100000, "expiration_date": "2027-02-26",
            "premium": {"amount": 2350000, "currency": "HKD", "payment_date": "2026-03-09"},
            "settlement": "cash"
        }))
    }

    #[test]
    fn a_precedent_deviates_where_its_wording_does_not_where_its_values_do() {
        let lib = library::demo().unwrap();
        let t = lib.iter().find(|t| t.id == "equity-option.en").unwrap();
        let clean = crate::draft(t, &trade()).unwrap().to_text();
        // Another trade's values, same wording: no deviation.
        let other = clean
            .replace("Harbour Fund Ltd", "Northwind Capital LP")
            .replace("2,350,000.00", "1,100,000.00");
        assert!(
            deviations(&other, Language::En, t, None)
                .unwrap()
                .is_empty()
        );
        // The settlement lag of the acceptable fallback and a reworded law clause.
        let worded = other
            .replace(
                "three Currency Business Days after the Expiration Date",
                "two Currency Business Days after the Expiration Date",
            )
            .replace(
                "This Confirmation is governed by the law that governs the Agreement (see Section 2).",
                "This Confirmation is governed by the laws of Hong Kong.",
            );
        let d = deviations(&worded, Language::En, t, None).unwrap();
        let settlement = d
            .iter()
            .find(|c| c.clause.as_deref() == Some("settlement"))
            .expect("settlement deviates");
        assert!(
            settlement
                .deviations
                .iter()
                .any(|x| x.kind == Kind::FallbackUsed && x.position == Some(Position::Acceptable)),
            "{settlement:?}"
        );
        assert!(settlement.text.contains("two Currency Business Days"));
        let law = d
            .iter()
            .find(|c| c.clause.as_deref() == Some("law"))
            .expect("law deviates");
        assert!(law.text.contains("laws of Hong Kong"), "{law:?}");
        // A document of another kind is no precedent.
        let e = deviations(
            "NON-DISCLOSURE AGREEMENT\n1 Definitions\nx\n",
            Language::En,
            t,
            None,
        )
        .unwrap_err();
        assert!(e.contains("not a confirmation"), "{e}");
    }
}
