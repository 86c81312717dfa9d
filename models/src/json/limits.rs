//! The limits a JSON Schema must keep to be compiled for constrained decoding, and the
//! analysis of the compiled graph that proves every accepted schema can be generated: a finite
//! smallest document exists (no required `$ref` recursion), it fits the automaton's stack, and
//! the smallest value of every subschema is short enough to be written when the token budget
//! runs out.
//!
//! Schemas come from clients (`response_format`), so every cost of compiling and decoding is
//! bounded by these limits: compile time and memory by the schema's size, node count and
//! depth; each decoding step by the per-object and per-enum caps (bitsets of 64); closing a
//! cut-off document by the smallest-output cap and the stack depth.

use super::automaton::MAX_DEPTH;
use super::error::{Contradiction, SchemaError};
use super::schema::Node;

/// Limits on the JSON Schemas that [`super::Schema::compile_with`] accepts. The defaults suit
/// structured output from a chat model (OpenAI's own caps are tighter: 5 levels, 100
/// properties in all); each field says what it bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaLimits {
    /// Most bytes of the schema as compact JSON (default 64 KiB). Bounds the work of compiling,
    /// `$defs` that are never used included.
    pub max_schema_bytes: usize,
    /// Deepest nesting of subschemas on one path from the root, counting the root, every
    /// `properties/<name>`, `items` and `anyOf`/`oneOf` alternative, and every `$ref` followed
    /// (default 32). Bounds the compiler's recursion (values above 128 act as 128).
    pub max_depth: usize,
    /// Most nodes of the compiled automaton (default 2048): its size in memory.
    pub max_nodes: usize,
    /// Most properties of one object (default 64, which is also the most the automaton tracks:
    /// larger values act as 64).
    pub max_properties: usize,
    /// Most values of one `enum` (default 64, also the automaton's most: larger values act as
    /// 64).
    pub max_enum_values: usize,
    /// Longest property name, `enum` value or `const` value, in bytes as compact JSON
    /// (default 1024; values above 65 534 act as 65 534).
    pub max_literal_bytes: usize,
    /// Largest `minItems` (default 1024): a minimum forces output whatever the model wants.
    pub max_min_items: u64,
    /// Largest `maxItems` and `maxLength` (default 1 000 000): an upper bound only allows, but
    /// a larger one is no bound within any model's context.
    pub max_upper_bound: u64,
    /// Most bytes of the smallest valid value of any subschema (default 16 KiB): what must be
    /// written to close a document cut off by `max_tokens`, per nesting level.
    pub max_min_output_bytes: u64,
}

/// The most properties and enum values the automaton's 64-bit sets can track.
const BITSET: usize = 64;

/// The deepest `max_depth` honoured: the compiler recurses once per level.
const DEEPEST: usize = 128;

/// The longest literal the automaton's 16-bit positions can walk.
const LONGEST_LITERAL: usize = u16::MAX as usize - 1;

impl SchemaLimits {
    /// The limits as enforced: a field above what the compiler or automaton can represent acts
    /// as that bound (64 properties or enum values, 128 levels, 65 534-byte literals).
    pub(crate) fn effective(&self) -> SchemaLimits {
        SchemaLimits {
            max_depth: self.max_depth.min(DEEPEST),
            max_properties: self.max_properties.min(BITSET),
            max_enum_values: self.max_enum_values.min(BITSET),
            max_literal_bytes: self.max_literal_bytes.min(LONGEST_LITERAL),
            ..*self
        }
    }
}

impl Default for SchemaLimits {
    fn default() -> Self {
        Self {
            max_schema_bytes: 64 * 1024,
            max_depth: 32,
            max_nodes: 2048,
            max_properties: BITSET,
            max_enum_values: BITSET,
            max_literal_bytes: 1024,
            max_min_items: 1024,
            max_upper_bound: 1_000_000,
            max_min_output_bytes: 16 * 1024,
        }
    }
}

/// What the analysis of a compiled graph gives the automaton.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Analysis {
    /// Per node: the stack frames its smallest value needs (1 for a scalar, 1 + the deepest
    /// required child for a container).
    pub min_depth: Vec<u8>,
    /// An upper bound on the steps [`super::Automaton::closing_bytes`] takes from any state.
    pub closing_steps: usize,
}

/// Smallest value length and frames of one node, from its required children.
fn measure(node: &Node, len: &[u64], depth: &[usize]) -> (u64, usize) {
    match node {
        Node::Object { props, required } => {
            let mut bytes = 2u64; // {}
            let mut deepest = 0;
            let mut n = 0u64;
            for (i, (_, key, child)) in props.iter().enumerate() {
                if required & (1 << i) != 0 {
                    n += 1;
                    // "key":value
                    bytes = bytes
                        .saturating_add(key.len() as u64 + 1)
                        .saturating_add(len[*child]);
                    deepest = deepest.max(depth[*child]);
                }
            }
            // Commas between the required properties.
            bytes = bytes.saturating_add(n.saturating_sub(1));
            (bytes, 1 + deepest)
        }
        Node::Array { items, min, .. } if *min > 0 => {
            let m = *min as u64;
            let bytes = m
                .saturating_mul(len[*items].saturating_add(1))
                .saturating_add(1); // [ items and commas ]
            (bytes, 1 + depth[*items])
        }
        Node::Array { .. } | Node::FreeObject { .. } => (2, 1),
        Node::String { .. } => (2, 1),
        Node::Number | Node::Integer => (1, 1),
        Node::Boolean => (5, 1),
        Node::Null | Node::Nullable(_) | Node::Any => (4, 1),
        Node::Enum(v) => (v.iter().map(|l| l.len() as u64).min().unwrap_or(0), 1),
    }
}

/// The children a node's smallest value must contain.
fn required_children(node: &Node) -> Vec<usize> {
    match node {
        Node::Object { props, required } => props
            .iter()
            .enumerate()
            .filter(|(i, _)| required & (1 << i) != 0)
            .map(|(_, p)| p.2)
            .collect(),
        Node::Array { items, min, .. } if *min > 0 => vec![*items],
        Node::Array { .. }
        | Node::FreeObject { .. }
        | Node::String { .. }
        | Node::Number
        | Node::Integer
        | Node::Boolean
        | Node::Null
        | Node::Nullable(_)
        | Node::Any
        | Node::Enum(_) => Vec::new(),
    }
}

/// Checks that the graph's smallest documents are finite, fit the stack and are short enough;
/// `paths[i]` is where node `i` was compiled.
pub(crate) fn analyse(
    nodes: &[Node],
    paths: &[String],
    root: usize,
    limits: &SchemaLimits,
) -> Result<Analysis, SchemaError> {
    const WHITE: u8 = 0;
    const GREY: u8 = 1;
    const BLACK: u8 = 2;
    let n = nodes.len();
    let mut colour = vec![WHITE; n];
    let mut len = vec![0u64; n];
    let mut depth = vec![0usize; n];
    // Depth-first over required edges without recursion (the graph may be deep); a grey node
    // met again is a cycle every smallest value would have to go round forever.
    for start in 0..n {
        if colour[start] != WHITE {
            continue;
        }
        let mut stack: Vec<(usize, Vec<usize>)> = vec![(start, required_children(&nodes[start]))];
        colour[start] = GREY;
        while let Some((node, pending)) = stack.last_mut() {
            let node = *node;
            match pending.pop() {
                Some(child) => match colour[child] {
                    WHITE => {
                        colour[child] = GREY;
                        stack.push((child, required_children(&nodes[child])));
                    }
                    GREY => {
                        return Err(SchemaError::Unsatisfiable {
                            path: paths[child].clone(),
                            reason: Contradiction::RequiredRecursion,
                        });
                    }
                    _ => {}
                },
                None => {
                    (len[node], depth[node]) = measure(&nodes[node], &len, &depth);
                    colour[node] = BLACK;
                    stack.pop();
                }
            }
        }
    }
    if depth[root] > MAX_DEPTH {
        // Name the place where the smallest document crosses the limit: follow the deepest
        // required child down from the root.
        let mut at = root;
        for _ in 0..MAX_DEPTH {
            match required_children(&nodes[at])
                .into_iter()
                .max_by_key(|&c| depth[c])
            {
                Some(c) => at = c,
                None => break,
            }
        }
        return Err(SchemaError::DocumentTooDeep {
            path: paths[at].clone(),
            depth: depth[root],
            limit: MAX_DEPTH,
        });
    }
    let mut longest = 0;
    for (i, &l) in len.iter().enumerate() {
        if l > limits.max_min_output_bytes {
            return Err(SchemaError::OutputTooLarge {
                path: paths[i].clone(),
                bytes: l,
                limit: limits.max_min_output_bytes,
            });
        }
        longest = longest.max(l as usize);
    }
    let longest_key = nodes
        .iter()
        .filter_map(|n| match n {
            Node::Object { props, .. } => props.iter().map(|p| p.1.len()).max(),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    // From any state, closing finishes every frame on the stack: at most the smallest value of
    // its node, a key in progress and a few separators each, plus one pop per frame.
    let closing_steps = 2 * MAX_DEPTH * (longest + longest_key + 8) + 64;
    Ok(Analysis {
        min_depth: depth
            .into_iter()
            .map(|d| d.min(u8::MAX as usize) as u8)
            .collect(),
        closing_steps,
    })
}
