//! Why a JSON Schema is refused for constrained decoding: one variant per reason, each naming
//! where in the schema (a JSON pointer such as `#/properties/a/items`) and, for a limit, the
//! limit. Every variant is the fault of whoever wrote the schema, never ours: a server maps them
//! all to a client error.

use serde_json::Number;

/// A JSON Schema that constrained decoding refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The schema is larger than [`super::SchemaLimits::max_schema_bytes`].
    #[error("JSON schema is {bytes} bytes as compact JSON; at most {limit} are accepted")]
    TooLarge {
        /// The schema's size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Subschemas (and `$ref`s followed) nest deeper than [`super::SchemaLimits::max_depth`].
    #[error(
        "JSON schema at {path}: subschemas nest deeper than {limit} levels (`$ref`s followed count as a level)"
    )]
    TooDeep {
        /// The first subschema past the limit.
        path: String,
        /// The limit.
        limit: usize,
    },
    /// The compiled automaton would have more than [`super::SchemaLimits::max_nodes`] nodes.
    #[error("JSON schema at {path}: compiles to more than {limit} automaton nodes")]
    TooManyNodes {
        /// The subschema being compiled when the limit was reached.
        path: String,
        /// The limit.
        limit: usize,
    },
    /// An object declares more than [`super::SchemaLimits::max_properties`] properties.
    #[error("JSON schema at {path}: {count} properties; at most {limit} per object")]
    TooManyProperties {
        /// The object.
        path: String,
        /// How many it declares.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// An `enum` has more than [`super::SchemaLimits::max_enum_values`] values.
    #[error("JSON schema at {path}: `enum` has {count} values; at most {limit}")]
    TooManyValues {
        /// The subschema with the `enum`.
        path: String,
        /// How many values it lists.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A property name or an `enum`/`const` value is longer than
    /// [`super::SchemaLimits::max_literal_bytes`] when written as JSON.
    #[error("JSON schema at {path}: {what} is {bytes} bytes as JSON; at most {limit}")]
    LiteralTooLong {
        /// Where the literal is (`…/enum/3`, `…/const`, `…/properties/<name>`).
        path: String,
        /// `a property name`, `an enum value` or `the const value`.
        what: &'static str,
        /// Its length as JSON.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A count keyword (`minItems`, `maxItems`, `maxLength`) is above its cap
    /// ([`super::SchemaLimits::max_min_items`], [`super::SchemaLimits::max_upper_bound`]).
    #[error("JSON schema at {path}: `{keyword}` {value} is above the limit of {limit}")]
    BoundTooLarge {
        /// The subschema with the keyword.
        path: String,
        /// The keyword.
        keyword: &'static str,
        /// Its value.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// The smallest value valid at this place is longer than
    /// [`super::SchemaLimits::max_min_output_bytes`]: generation could not close it.
    #[error(
        "JSON schema at {path}: the smallest valid value here is {bytes} bytes; at most {limit} are accepted"
    )]
    OutputTooLarge {
        /// The subschema.
        path: String,
        /// The length of its smallest valid value (saturated at `u64::MAX`).
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// The smallest valid document nests deeper than the automaton's stack
    /// ([`super::automaton::MAX_DEPTH`]).
    #[error(
        "JSON schema at {path}: the smallest valid document nests {depth} levels deep; constrained decoding writes at most {limit}"
    )]
    DocumentTooDeep {
        /// The required subschema at which the limit is crossed.
        path: String,
        /// The nesting depth of the smallest valid document (arrays, objects and the innermost
        /// value each count one).
        depth: usize,
        /// The automaton's depth.
        limit: usize,
    },
    /// No JSON document satisfies the schema.
    #[error("JSON schema at {path}: unsatisfiable: {reason}")]
    Unsatisfiable {
        /// The subschema that no value satisfies.
        path: String,
        /// Why.
        reason: Contradiction,
    },
    /// A keyword whose constraint constrained decoding cannot enforce; it is refused rather
    /// than ignored, so that an accepted schema holds by construction.
    #[error("JSON schema at {path}: keyword `{keyword}` is not supported by constrained decoding")]
    UnsupportedKeyword {
        /// The subschema.
        path: String,
        /// The keyword.
        keyword: String,
    },
    /// A form constrained decoding does not support (its JSON Schema meaning is valid).
    #[error("JSON schema at {path}: {what} is not supported by constrained decoding")]
    Unsupported {
        /// The subschema.
        path: String,
        /// What is not supported.
        what: &'static str,
    },
    /// A keyword combined with `anyOf`/`oneOf` in the same subschema (only annotations,
    /// `nullable`, `enum` and `const` may sit beside them).
    #[error(
        "JSON schema at {path}: `{keyword}` beside `{with}` is not supported by constrained decoding (move it into the alternatives)"
    )]
    Combined {
        /// The subschema.
        path: String,
        /// The keyword beside the alternatives.
        keyword: &'static str,
        /// `anyOf` or `oneOf`.
        with: &'static str,
    },
    /// `required` names a property that `properties` does not declare, while other properties
    /// are allowed: a valid document needs it with any value, which the automaton cannot write.
    #[error(
        "JSON schema at {path}: required property `{name}` is not in `properties` (declare it)"
    )]
    RequiredUndeclared {
        /// The object.
        path: String,
        /// The property.
        name: String,
    },
    /// A keyword whose type applies to another type (`items` on a string).
    #[error("JSON schema at {path}: `{keyword}` does not apply to type `{ty}`")]
    NotForType {
        /// The subschema.
        path: String,
        /// The keyword.
        keyword: &'static str,
        /// The subschema's type.
        ty: &'static str,
    },
    /// `type` names no JSON type.
    #[error("JSON schema at {path}: unknown type `{name}`")]
    UnknownType {
        /// The subschema.
        path: String,
        /// The name given.
        name: String,
    },
    /// A `$ref` that is not a local JSON pointer (`#`, `#/$defs/x`) into this schema, or that
    /// points nowhere.
    #[error("JSON schema at {path}: `$ref` {reference} is not a local reference that resolves")]
    UnresolvedRef {
        /// The subschema with the `$ref`.
        path: String,
        /// The reference.
        reference: String,
    },
    /// `$ref`s that lead back to themselves with no object or array in between (through other
    /// `$ref`s or nullable alternatives only): they describe no value that could be written.
    #[error(
        "JSON schema at {path}: `$ref` {reference} leads back to itself with no object or array in between"
    )]
    RefCycle {
        /// The subschema with the `$ref`.
        path: String,
        /// The reference.
        reference: String,
    },
    /// A keyword whose value has the wrong JSON type (`properties` that is not an object).
    #[error("JSON schema at {path}: `{keyword}` must be {expected}")]
    Malformed {
        /// The subschema.
        path: String,
        /// The keyword (`schema` for a subschema that is neither an object nor a boolean).
        keyword: &'static str,
        /// What it must be.
        expected: &'static str,
    },
}

/// Why no JSON value satisfies a subschema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Contradiction {
    /// A lower bound above an upper bound (`minimum > maximum`, `minItems > maxItems`, …).
    #[error("`{min_keyword}` {min} and `{max_keyword}` {max} leave no value between them")]
    Bounds {
        /// The lower-bound keyword.
        min_keyword: &'static str,
        /// Its value.
        min: Number,
        /// The upper-bound keyword.
        max_keyword: &'static str,
        /// Its value.
        max: Number,
    },
    /// `type: []`.
    #[error("`type` is an empty list")]
    EmptyType,
    /// `enum: []`.
    #[error("`enum` is an empty list")]
    EmptyEnum,
    /// No `enum`/`const` value is valid against the rest of the subschema.
    #[error("no `enum`/`const` value is valid against the rest of the schema")]
    NoValueFits,
    /// The schema `false`.
    #[error("the schema is `false`")]
    FalseSchema,
    /// `required` names a property that `additionalProperties: false` forbids.
    #[error(
        "`required` names `{0}`, which is not in `properties` while `additionalProperties` is false"
    )]
    RequiredForbidden(String),
    /// `maxProperties` below the number of required properties.
    #[error("`maxProperties` {max} is below the {required} properties `required` names")]
    TooFewProperties {
        /// `maxProperties`.
        max: u64,
        /// How many distinct names `required` lists.
        required: usize,
    },
    /// `items: false` with a positive `minItems`.
    #[error("`items` is false but `minItems` is {0}")]
    ItemsForbidden(u64),
    /// A `$ref` recursion that every valid value must take again: no finite document.
    #[error(
        "its `$ref` recursion is required on every path, so no finite document satisfies it (make the recursive property optional, nullable or an array without minItems)"
    )]
    RequiredRecursion,
}
