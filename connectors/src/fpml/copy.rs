//! The schema-guided copier: turns an FpML element into the CDM type that the CDM JSON Schema
//! says sits at that place, wherever FpML and CDM share element names (date adjustments,
//! business centers, frequencies, reset and payment dates, exercise procedures…).
//!
//! Rules, applied per child element, in document order:
//! - a child whose name is a property of the CDM type is converted to that property's type: an
//!   array property collects every such child; a `FieldWithMeta*` type becomes
//!   `{"value": …, "meta": {"scheme": …}}` (scheme from the FpML `…Scheme` attribute); a
//!   `ReferenceWithMeta*` type becomes `{"externalReference": href}`; an enum or a scalar
//!   becomes the typed text (integers, numbers, booleans parsed); anything else recurses.
//! - an FpML `id` attribute on an element copied as an object becomes `meta.externalKey`.
//! - FpML's `businessCentersReference` beside `businessDayConvention` goes under the CDM
//!   `businessCenters` object; an FpML adjustable date given where CDM expects an
//!   `AdjustableOrRelativeDate` is wrapped in `adjustableDate`.
//! - an FpML money amount (`currency` + `amount`) where CDM expects `Money` becomes
//!   `{"value": amount, "unit": {"currency": …}}`; party references where CDM expects
//!   counterparty roles (`notifyingParty`) become `Party1`/`Party2`, one per reference.
//! - children CDM has no place for are dropped (the mapper's product code handles the ones that
//!   CDM renames).

use roxmltree::Node;
use serde_json::{Map, Value};

use crate::cdm::CdmSchemas;

/// Where a CDM property's value comes from in the schema.
enum Kind<'a> {
    Scalar(&'a str),
    Field(&'a str),
    Reference,
    /// An enum, with its schema stem when it has one.
    Enum(Option<&'a str>),
    Object(&'a str),
}

pub(crate) struct Copier<'s> {
    pub(crate) schemas: &'s CdmSchemas,
    /// The FpML ids of the parties in the roles `Party1` and `Party2`.
    pub(crate) parties: [String; 2],
}

const COUNTERPARTY_ROLE: &str = "cdm-base-staticdata-party-CounterpartyRoleEnum";
const MONEY: &str = "cdm-observable-asset-Money";

fn stem(r: &str) -> &str {
    r.strip_suffix(".schema.json").unwrap_or(r)
}

impl<'s> Copier<'s> {
    fn props(&self, ty: &str) -> Option<&'s Map<String, Value>> {
        self.schemas.schema(ty)?.get("properties")?.as_object()
    }

    fn kind(&self, prop: &'s Value) -> (bool, Option<Kind<'s>>) {
        let is_array = prop.get("type").and_then(Value::as_str) == Some("array");
        let target = if is_array {
            prop.get("items").unwrap_or(&Value::Null)
        } else {
            prop
        };
        let kind = match target.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let ty = stem(r);
                let schema = self.schemas.schema(ty);
                if ty.contains("ReferenceWithMeta") {
                    Some(Kind::Reference)
                } else if ty.contains("FieldWithMeta") {
                    Some(Kind::Field(ty))
                } else if schema.is_some_and(|s| s.get("enum").is_some()) {
                    Some(Kind::Enum(Some(ty)))
                } else if let Some(t) = schema
                    .and_then(|s| s.get("type"))
                    .and_then(Value::as_str)
                    .filter(|t| *t != "object")
                {
                    Some(Kind::Scalar(t))
                } else {
                    Some(Kind::Object(ty))
                }
            }
            None => target
                .get("type")
                .and_then(Value::as_str)
                .map(Kind::Scalar)
                .or_else(|| target.get("enum").map(|_| Kind::Enum(None))),
        };
        (is_array, kind)
    }

    /// Copies `node` as the CDM type `ty` (a schema file stem).
    pub(crate) fn object(&self, node: Node, ty: &str) -> Value {
        let mut out = Map::new();
        let Some(props) = self.props(ty) else {
            return Value::Object(out);
        };
        if ty == MONEY
            && let (Some(ccy), Some(amount)) = (
                node.children().find(|c| c.has_tag_name_local("currency")),
                node.children().find(|c| c.has_tag_name_local("amount")),
            )
        {
            let mut currency = Map::new();
            currency.insert("value".into(), Value::String(text(ccy).to_owned()));
            if let Some(s) = scheme_of(ccy) {
                currency.insert("meta".into(), serde_json::json!({ "scheme": s }));
            }
            return serde_json::json!({
                "value": number(text(amount)),
                "unit": { "currency": currency },
            });
        }
        // An FpML adjustable date where CDM wants AdjustableOrRelativeDate(s).
        if props.contains_key("adjustableDate")
            && !props.contains_key("unadjustedDate")
            && node.children().any(|c| {
                c.has_tag_name_local("unadjustedDate") || c.has_tag_name_local("adjustedDate")
            })
            && let Some((_, Some(Kind::Object(inner)))) =
                props.get("adjustableDate").map(|p| self.kind(p))
        {
            out.insert("adjustableDate".into(), self.object(node, inner));
            if let Some(id) = node.attribute("id") {
                out.insert("meta".into(), serde_json::json!({ "externalKey": id }));
            }
            return Value::Object(out);
        }
        for child in node.children().filter(Node::is_element) {
            let name = child.tag_name().name();
            let Some(prop) = props.get(name) else {
                // FpML `relativeEffectiveDate` where CDM has an adjustable-or-relative
                // `effectiveDate`: its `relativeDate`.
                if let Some(rest) = name.strip_prefix("relative")
                    && let Some(first) = rest.chars().next()
                {
                    let target = format!("{}{}", first.to_ascii_lowercase(), &rest[1..]);
                    if let Some((false, Some(Kind::Object(outer)))) =
                        props.get(&target).map(|p| self.kind(p))
                        && let Some((_, Some(Kind::Object(inner)))) = self
                            .props(outer)
                            .and_then(|p| p.get("relativeDate"))
                            .map(|p| self.kind(p))
                    {
                        let mut rel = self.object(child, inner);
                        if let Some(m) = rel.as_object_mut() {
                            m.remove("meta");
                        }
                        let mut v = serde_json::json!({ "relativeDate": rel });
                        if let Some(id) = child.attribute("id") {
                            v["meta"] = serde_json::json!({ "externalKey": id });
                        }
                        out.insert(target, v);
                        continue;
                    }
                }
                if name == "businessCentersReference"
                    && props.contains_key("businessCenters")
                    && let Some(href) = child.attribute("href")
                {
                    out.insert(
                        "businessCenters".into(),
                        serde_json::json!({ "businessCentersReference": { "externalReference": href } }),
                    );
                }
                continue;
            };
            let (is_array, kind) = self.kind(prop);
            let Some(kind) = kind else { continue };
            if matches!(kind, Kind::Enum(Some(COUNTERPARTY_ROLE))) && text(child).is_empty() {
                // `<notifyingParty><buyerPartyReference href=…/>…` → roles.
                let roles: Vec<Value> = child
                    .children()
                    .filter_map(|r| r.attribute("href"))
                    .filter_map(|h| self.role(h))
                    .map(|r| Value::String(r.to_owned()))
                    .collect();
                if is_array {
                    out.insert(name.to_owned(), Value::Array(roles));
                } else if let Some(r) = roles.into_iter().next() {
                    out.insert(name.to_owned(), r);
                }
                continue;
            }
            let v = self.convert(child, &kind);
            if v.is_null() {
                continue;
            }
            if is_array {
                out.entry(name.to_owned())
                    .or_insert_with(|| Value::Array(vec![]))
                    .as_array_mut()
                    .expect("inserted as array")
                    .push(v);
            } else {
                out.insert(name.to_owned(), v);
            }
        }
        // Keyed CDM types do not list `meta` among their schema properties, so every object
        // keeps its FpML id.
        if let Some(id) = node.attribute("id") {
            let meta = out
                .entry("meta")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(m) = meta.as_object_mut() {
                m.insert("externalKey".into(), Value::String(id.to_owned()));
            }
        }
        Value::Object(out)
    }

    /// The counterparty role of the party with FpML id `href`.
    fn role(&self, href: &str) -> Option<&'static str> {
        if href == self.parties[0] {
            Some("Party1")
        } else if href == self.parties[1] {
            Some("Party2")
        } else {
            None
        }
    }

    fn convert(&self, node: Node, kind: &Kind) -> Value {
        match kind {
            Kind::Scalar(t) => scalar(text(node), t),
            Kind::Enum(_) => Value::String(text(node).to_owned()),
            Kind::Reference => match node.attribute("href") {
                Some(h) => serde_json::json!({ "externalReference": h }),
                None => Value::Null,
            },
            Kind::Field(ty) => {
                let value_prop = self
                    .props(ty)
                    .and_then(|p| p.get("value"))
                    .unwrap_or(&Value::Null);
                let value = match self.kind(value_prop).1 {
                    Some(Kind::Object(inner)) => self.object(node, inner),
                    Some(Kind::Scalar(t)) => scalar(text(node), t),
                    _ => Value::String(text(node).to_owned()),
                };
                let mut m = Map::new();
                m.insert("value".into(), value);
                if let Some(scheme) = scheme_of(node) {
                    m.insert("meta".into(), serde_json::json!({ "scheme": scheme }));
                }
                Value::Object(m)
            }
            Kind::Object(ty) => self.object(node, ty),
        }
    }
}

/// The text of an element, trimmed.
pub(crate) fn text<'a>(node: Node<'a, '_>) -> &'a str {
    node.text().unwrap_or("").trim()
}

/// The value of an FpML `…Scheme` attribute, if any.
pub(crate) fn scheme_of<'a>(node: Node<'a, '_>) -> Option<&'a str> {
    node.attributes()
        .find(|a| a.name().ends_with("Scheme"))
        .map(|a| a.value())
}

/// Parses text as the JSON Schema type `t`; text that does not parse stays a string (the
/// schema validation then names it).
pub(crate) fn scalar(text: &str, t: &str) -> Value {
    match t {
        "integer" => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_owned())),
        "number" => number(text),
        "boolean" => match text {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            _ => Value::String(text.to_owned()),
        },
        _ => Value::String(text.to_owned()),
    }
}

/// A decimal as a JSON number (integers stay integers).
pub(crate) fn number(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(text.to_owned()))
}

/// Local-name matching for roxmltree nodes (FpML documents use a default namespace).
pub(crate) trait LocalName {
    fn has_tag_name_local(&self, name: &str) -> bool;
}

impl LocalName for Node<'_, '_> {
    fn has_tag_name_local(&self, name: &str) -> bool {
        self.is_element() && self.tag_name().name() == name
    }
}

/// Maps an FpML coded value onto a CDM enum: the value itself when the enum has it, else the one
/// shortest enum value it is a prefix of (`ISDA2002Equity` → `ISDA2002EquityDerivatives`), else
/// `None`: the caller drops the value and records a problem rather than emit an invalid enum.
pub(crate) fn enum_value(schemas: &CdmSchemas, enum_type: &str, raw: &str) -> Option<String> {
    let values = schemas
        .schema(enum_type)
        .and_then(|s| s.get("enum"))
        .and_then(Value::as_array)?;
    let values: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
    if values.contains(&raw) {
        return Some(raw.to_owned());
    }
    // Several candidates: the shortest is the plain one (`ISDA` → `ISDAMaster`, not
    // `ISDAFIA-CDEA`).
    values
        .iter()
        .filter(|v| v.starts_with(raw))
        .min_by_key(|v| v.len())
        .map(|v| (*v).to_owned())
}
