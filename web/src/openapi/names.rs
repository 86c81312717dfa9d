//! Schemas of the lower crates' types that the API's bodies carry (roles, states, modes, a
//! chunk edit). Those crates speak Rust types and know nothing of JSON Schema, so each is
//! described here by a stand-in type whose schema lists the type's own stable names (its `ALL`
//! or `NAMES`), so that a new variant appears in the document without an edit here. Handlers
//! point at them with `#[schemars(with = "…")]`.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use std::borrow::Cow;

/// Defines a stand-in type whose schema is a string with the given names.
macro_rules! names {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $names:expr, $description:literal) => {
        $(#[$doc])*
        pub struct $ty;

        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                $name.into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                let names: Vec<&'static str> = $names;
                json_schema!({"type": "string", "enum": names, "description": $description})
            }
        }
    };
}

names!(
    /// `policies::Role`.
    RoleName,
    "Role",
    policies::Role::ALL.iter().map(|r| r.as_str()).collect(),
    "A role (policies::Role)."
);

names!(
    /// `assistant::model_risk::AlertState`.
    AlertStateName,
    "AlertState",
    assistant::model_risk::AlertState::NAMES.to_vec(),
    "A monitoring alert's state."
);

names!(
    /// `assistant::model_risk::ChainMode`.
    ChainModeName,
    "ChainMode",
    assistant::model_risk::ChainMode::NAMES.to_vec(),
    "How a model-backed chain serves: its model, its rule fallback, or paused."
);

names!(
    /// `assistant::desk::RfqStatus`.
    RfqStatusName,
    "RfqStatus",
    assistant::desk::RfqStatus::NAMES.to_vec(),
    "A request for quote's status."
);

names!(
    /// `knowledge::Retrievers`.
    RetrieversName,
    "Retrievers",
    knowledge::Retrievers::ALL.iter().map(|r| r.as_str()).collect(),
    "The first-stage retrievers of a search: BM25 and dense fused (`hybrid`), or one alone."
);

/// `knowledge::ChunkEdit`: an internally tagged enum (`action`) of two shapes, written out here
/// as its serde attributes make it.
pub struct ChunkEditSchema;

impl JsonSchema for ChunkEditSchema {
    fn schema_name() -> Cow<'static, str> {
        "ChunkEdit".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An edit of one chunk of a document's current version.",
            "oneOf": [
                {
                    "type": "object",
                    "description": "Replace the chunk's text.",
                    "properties": {
                        "action": {"const": "correct"},
                        "ordinal": {"type": "integer", "minimum": 0, "maximum": u32::MAX,
                                    "description": "The chunk's position in the document."},
                        "text": {"type": "string", "description": "The corrected text."}
                    },
                    "required": ["action", "ordinal", "text"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "description": "Split the chunk in two before the first occurrence of `before`.",
                    "properties": {
                        "action": {"const": "split"},
                        "ordinal": {"type": "integer", "minimum": 0, "maximum": u32::MAX,
                                    "description": "The chunk's position in the document."},
                        "before": {"type": "string",
                                   "description": "Text of the chunk that starts the second part."}
                    },
                    "required": ["action", "ordinal", "before"],
                    "additionalProperties": false
                }
            ]
        })
    }
}
