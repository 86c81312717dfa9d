//! A byte-level pushdown automaton that accepts exactly the prefixes of JSON documents valid
//! against a compiled [`Schema`]. Its state is a small fixed-size value (`Copy`), so the token
//! masker can try a token's bytes on a copy and throw the copy away.
//!
//! Output it accepts: objects with only the declared properties, each at most once and in the
//! order the schema declares them (optional ones may be left out), `}` only once every required
//! one is present; free-form values where the schema has them (any keys,
//! nesting up to [`MAX_DEPTH`]); an optional property, an array item or the non-null side of a
//! nullable value only where its smallest value still fits in [`MAX_DEPTH`] frames (so that
//! every accepted prefix can be closed); numbers of at most 15 significant digits; strings that
//! are valid UTF-8 without lone surrogate escapes; at most [`MAX_WS`] whitespace bytes in a row
//! between tokens (so the model cannot loop on whitespace).

use super::schema::{Node, Schema};

/// Most whitespace bytes allowed in a row.
pub const MAX_WS: u8 = 16;
/// Most nesting depth of a document.
pub const MAX_DEPTH: usize = 24;
const MAX_DIGITS: u8 = 15;
const MAX_EXP_DIGITS: u8 = 2;

const TRUE_FALSE: [&[u8]; 2] = [b"true", b"false"];
const NULL: [&[u8]; 1] = [b"null"];

/// The properties that may come next in an object (bit i = props[i]) once those in `seen` are
/// written: the ones declared after the last written, up to and including the next required
/// one. Keeping the declared order costs a valid document nothing (JSON objects are unordered)
/// and lets decoding skip ahead: when every property is required, each key is forced.
fn next_props(all: u64, required: u64, seen: u64) -> u64 {
    let after = if seen == 0 {
        all
    } else {
        let last = 63 - seen.leading_zeros();
        if last >= 63 {
            0
        } else {
            all & !((1u64 << (last + 1)) - 1)
        }
    };
    match (required & after).trailing_zeros() {
        64 => after,
        j if j >= 63 => after,
        j => after & ((1u64 << (j + 1)) - 1),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjPhase {
    /// After `{`: a key or `}`.
    Open,
    /// After `,`: a key.
    Comma,
    /// After a key: `:`.
    Key(u8),
    /// After a value: `,` or `}`.
    Value,
}

/// Where a free-form object is: its keys are plain strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FreePhase {
    /// After `{`: a key or `}`.
    Open,
    /// After `,`: a key.
    Comma,
    /// A key string was opened (and is on the stack, or closed): `:` next.
    Key,
    /// After a value: `,` or `}`.
    Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrPhase {
    Open,
    Comma,
    Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumPhase {
    Start,
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

/// Which literal set a `Lit` frame matches against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LitSet {
    Bool,
    Null,
    Enum(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Value {
        node: u32,
    },
    Obj {
        node: u32,
        seen: u64,
        phase: ObjPhase,
    },
    Key {
        node: u32,
        cand: u64,
        pos: u16,
    },
    Arr {
        node: u32,
        count: u32,
        phase: ArrPhase,
    },
    Str {
        max: u32,
        len: u32,
        /// 0: none; 1: after `\`; 2..=5: that many hex digits of `\u` still to come, plus one.
        esc: u8,
        /// The first hex digit of a `\u` escape (to refuse surrogates).
        hex0: u8,
        /// UTF-8 continuation bytes still expected, and the range of the next one.
        need: u8,
        lo: u8,
        hi: u8,
    },
    Num {
        integer: bool,
        phase: NumPhase,
        digits: u8,
    },
    Lit {
        set: LitSet,
        cand: u64,
        pos: u16,
    },
    /// A free-form object; `values` is the node of its values.
    FreeObj {
        values: u32,
        phase: FreePhase,
    },
    /// A free-form array; `items` is the node of its items.
    FreeArr {
        items: u32,
        phase: ArrPhase,
    },
}

/// The automaton's state: a stack of frames. `Copy`, about half a kilobyte.
#[derive(Debug, Clone, Copy)]
pub struct State {
    stack: [Frame; MAX_DEPTH],
    len: u8,
    ws: u8,
    failed: bool,
}

/// A schema ready to drive [`State`]s.
#[derive(Debug, Clone)]
pub struct Automaton {
    schema: Schema,
}

impl Automaton {
    /// Wraps a compiled schema.
    pub fn new(schema: Schema) -> Self {
        Self { schema }
    }

    /// The state before the first byte.
    pub fn start(&self) -> State {
        let mut s = State {
            stack: [Frame::Value { node: 0 }; MAX_DEPTH],
            len: 0,
            ws: 0,
            failed: false,
        };
        s.push(Frame::Value {
            node: self.schema.root as u32,
        });
        s
    }

    fn node(&self, i: u32) -> &Node {
        &self.schema.nodes[i as usize]
    }

    fn lits(&self, set: LitSet) -> &[Vec<u8>] {
        match set {
            LitSet::Enum(n) => match self.node(n) {
                Node::Enum(v) => v,
                _ => &[],
            },
            _ => &[],
        }
    }

    fn lit(&self, set: LitSet, i: usize) -> &[u8] {
        match set {
            LitSet::Bool => TRUE_FALSE[i],
            LitSet::Null => NULL[i],
            LitSet::Enum(_) => &self.lits(set)[i],
        }
    }

    fn lit_count(&self, set: LitSet) -> usize {
        match set {
            LitSet::Bool => 2,
            LitSet::Null => 1,
            LitSet::Enum(_) => self.lits(set).len(),
        }
    }

    /// Feeds every byte; false (and the state is then unusable) when one is refused.
    pub fn feed_all(&self, s: &mut State, bytes: &[u8]) -> bool {
        bytes.iter().all(|&b| self.feed(s, b))
    }

    /// Feeds one byte; false when it cannot continue a valid document.
    pub fn feed(&self, s: &mut State, b: u8) -> bool {
        if s.failed {
            return false;
        }
        let ok = self.step(s, b);
        if !ok {
            s.failed = true;
        }
        ok
    }

    /// Whether the bytes so far form a complete valid document.
    pub fn is_accepting(&self, s: &State) -> bool {
        if s.failed {
            return false;
        }
        match s.len {
            0 => true,
            1 => self.can_end(s.top()),
            _ => false,
        }
    }

    /// Whether nothing more can follow (the document is closed).
    pub fn is_done(&self, s: &State) -> bool {
        !s.failed && s.len == 0
    }

    /// Whether the top frame is a plain string that could take any plain character: used by the
    /// masker to allow all plain-text tokens at once. Returns the characters left before
    /// `maxLength` (u32::MAX when unlimited).
    pub fn in_plain_string(&self, s: &State) -> Option<u32> {
        if s.failed || s.len == 0 {
            return None;
        }
        match s.top() {
            Frame::Str {
                max,
                len,
                esc: 0,
                need: 0,
                ..
            } => Some(if max == u32::MAX { u32::MAX } else { max - len }),
            _ => None,
        }
    }

    /// Advances a plain-string state by `chars` characters without re-checking bytes (the
    /// caller knows they are plain).
    pub fn skip_plain(&self, s: &mut State, chars: u32) {
        if let Some(Frame::Str { len, .. }) = s.top_mut() {
            *len = len.saturating_add(chars);
        }
    }

    /// Whether a value of `node` started above the top frame can be finished within
    /// [`MAX_DEPTH`] frames.
    fn fits(&self, s: &State, node: u32) -> bool {
        s.len as usize + self.schema.min_depth[node as usize] as usize <= MAX_DEPTH
    }

    /// The properties (bit i = `props[i]`) whose value [`Self::fits`] above the top frame.
    fn fitting(&self, s: &State, props: &[(String, Vec<u8>, usize)]) -> u64 {
        props
            .iter()
            .enumerate()
            .filter(|(_, p)| self.fits(s, p.2 as u32))
            .fold(0, |m, (i, _)| m | 1 << i)
    }

    fn can_end(&self, f: Frame) -> bool {
        match f {
            Frame::Num { phase, .. } => {
                matches!(
                    phase,
                    NumPhase::Zero | NumPhase::Int | NumPhase::Frac | NumPhase::ExpDigits
                )
            }
            Frame::Lit { set, cand, pos } => (0..self.lit_count(set))
                .any(|i| cand & (1 << i) != 0 && self.lit(set, i).len() == pos as usize),
            _ => false,
        }
    }

    fn ws_ok(s: &mut State, b: u8) -> Option<bool> {
        if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            if s.ws < MAX_WS {
                s.ws += 1;
                return Some(true);
            }
            return Some(false);
        }
        None
    }

    fn step(&self, s: &mut State, b: u8) -> bool {
        loop {
            if s.len == 0 {
                return false;
            }
            let top = s.top();
            match top {
                Frame::Value { node } => {
                    if let Some(r) = Self::ws_ok(s, b) {
                        return r;
                    }
                    s.pop();
                    match self.start_value(s, node, b) {
                        None => return false,
                        Some(true) => return true,
                        // A number or literal frame was pushed: it takes the byte.
                        Some(false) => continue,
                    }
                }
                Frame::Obj { node, seen, phase } => {
                    let Node::Object { props, required } = self.node(node) else {
                        return false;
                    };
                    // The properties whose smallest value fits on the stack above this frame
                    // (every required one does: the schema's analysis made sure).
                    let all = |s: &State| self.fitting(s, props);
                    if let Some(r) = Self::ws_ok(s, b) {
                        return r;
                    }
                    s.ws = 0;
                    match (phase, b) {
                        (ObjPhase::Open, b'}') | (ObjPhase::Value, b'}') => {
                            if seen & required != *required {
                                return false;
                            }
                            s.pop();
                            return true;
                        }
                        (ObjPhase::Open | ObjPhase::Comma, b'"') => {
                            let cand = next_props(all(s), *required, seen);
                            if cand == 0 {
                                return false;
                            }
                            return s.push(Frame::Key { node, cand, pos: 1 });
                        }
                        (ObjPhase::Value, b',') => {
                            if next_props(all(s), *required, seen) == 0 {
                                return false;
                            }
                            s.set_top(Frame::Obj {
                                node,
                                seen,
                                phase: ObjPhase::Comma,
                            });
                            return true;
                        }
                        (ObjPhase::Key(i), b':') => {
                            s.set_top(Frame::Obj {
                                node,
                                seen: seen | (1 << i),
                                phase: ObjPhase::Value,
                            });
                            return s.push(Frame::Value {
                                node: props[i as usize].2 as u32,
                            });
                        }
                        _ => return false,
                    }
                }
                Frame::Key { node, cand, pos } => {
                    let Node::Object { props, .. } = self.node(node) else {
                        return false;
                    };
                    let p = pos as usize;
                    let mut next = 0u64;
                    let mut done = None;
                    for (i, (_, key, _)) in props.iter().enumerate() {
                        if cand & (1 << i) != 0 && key.get(p) == Some(&b) {
                            next |= 1 << i;
                            if key.len() == p + 1 {
                                done = Some(i);
                            }
                        }
                    }
                    if next == 0 {
                        return false;
                    }
                    if let Some(i) = done {
                        s.pop();
                        if let Some(Frame::Obj { phase, .. }) = s.top_mut() {
                            *phase = ObjPhase::Key(i as u8);
                        }
                        s.ws = 0;
                        return true;
                    }
                    s.set_top(Frame::Key {
                        node,
                        cand: next,
                        pos: pos + 1,
                    });
                    return true;
                }
                Frame::Arr { node, count, phase } => {
                    let Node::Array { items, min, max } = self.node(node) else {
                        return false;
                    };
                    let (items, min, max) = (*items as u32, *min, *max);
                    if let Some(r) = Self::ws_ok(s, b) {
                        return r;
                    }
                    match (phase, b) {
                        (ArrPhase::Open | ArrPhase::Value, b']') => {
                            if (count as usize) < min {
                                return false;
                            }
                            s.ws = 0;
                            s.pop();
                            return true;
                        }
                        (ArrPhase::Value, b',') => {
                            if max.is_some_and(|m| count as usize >= m) || !self.fits(s, items) {
                                return false;
                            }
                            s.ws = 0;
                            s.set_top(Frame::Arr {
                                node,
                                count,
                                phase: ArrPhase::Comma,
                            });
                            return true;
                        }
                        (ArrPhase::Open | ArrPhase::Comma, _) => {
                            // An item is offered only where its smallest value fits.
                            if max.is_some_and(|m| count as usize >= m) || !self.fits(s, items) {
                                return false;
                            }
                            s.set_top(Frame::Arr {
                                node,
                                count: count + 1,
                                phase: ArrPhase::Value,
                            });
                            if !s.push(Frame::Value { node: items }) {
                                return false;
                            }
                            continue;
                        }
                        _ => return false,
                    }
                }
                Frame::Str {
                    max,
                    len,
                    esc,
                    hex0,
                    need,
                    lo,
                    hi,
                } => {
                    let mut f = (max, len, esc, hex0, need, lo, hi);
                    if need > 0 {
                        if b < lo || b > hi {
                            return false;
                        }
                        f.4 -= 1;
                        f.5 = 0x80;
                        f.6 = 0xBF;
                    } else if esc == 1 {
                        match b {
                            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => f.2 = 0,
                            b'u' => f.2 = 5,
                            _ => return false,
                        }
                    } else if esc >= 2 {
                        if !b.is_ascii_hexdigit() {
                            return false;
                        }
                        let lower = b.to_ascii_lowercase();
                        if esc == 5 {
                            f.3 = lower;
                        } else if esc == 4 && hex0 == b'd' && lower >= b'8' {
                            // \uD800-\uDFFF: a lone surrogate half is not valid in a string.
                            return false;
                        }
                        f.2 = if esc == 2 { 0 } else { esc - 1 };
                    } else {
                        match b {
                            b'"' => {
                                s.pop();
                                s.ws = 0;
                                return true;
                            }
                            _ if len >= max => return false,
                            b'\\' => {
                                f.2 = 1;
                                f.1 += 1;
                            }
                            0..=0x1F => return false,
                            0x20..=0x7F => f.1 += 1,
                            0xC2..=0xDF => (f.4, f.5, f.6, f.1) = (1, 0x80, 0xBF, len + 1),
                            0xE0 => (f.4, f.5, f.6, f.1) = (2, 0xA0, 0xBF, len + 1),
                            0xE1..=0xEC | 0xEE | 0xEF => {
                                (f.4, f.5, f.6, f.1) = (2, 0x80, 0xBF, len + 1)
                            }
                            0xED => (f.4, f.5, f.6, f.1) = (2, 0x80, 0x9F, len + 1),
                            0xF0 => (f.4, f.5, f.6, f.1) = (3, 0x90, 0xBF, len + 1),
                            0xF1..=0xF3 => (f.4, f.5, f.6, f.1) = (3, 0x80, 0xBF, len + 1),
                            0xF4 => (f.4, f.5, f.6, f.1) = (3, 0x80, 0x8F, len + 1),
                            _ => return false,
                        }
                    }
                    s.set_top(Frame::Str {
                        max: f.0,
                        len: f.1,
                        esc: f.2,
                        hex0: f.3,
                        need: f.4,
                        lo: f.5,
                        hi: f.6,
                    });
                    return true;
                }
                Frame::Num {
                    integer,
                    phase,
                    digits,
                } => {
                    use NumPhase::*;
                    let digit = b.is_ascii_digit();
                    let next = match (phase, b) {
                        (Start, b'-') => Some((Minus, digits)),
                        (Start | Minus, b'0') => Some((Zero, digits + 1)),
                        (Start | Minus, _) if digit => Some((Int, digits + 1)),
                        (Int, _) if digit && digits < MAX_DIGITS => Some((Int, digits + 1)),
                        (Zero | Int, b'.') if !integer && digits < MAX_DIGITS => {
                            Some((Dot, digits))
                        }
                        (Dot | Frac, _) if digit && digits < MAX_DIGITS => Some((Frac, digits + 1)),
                        (Zero | Int | Frac, b'e' | b'E') if !integer => Some((Exp, 0)),
                        (Exp, b'+' | b'-') => Some((ExpSign, 0)),
                        (Exp | ExpSign, _) if digit => Some((ExpDigits, 1)),
                        (ExpDigits, _) if digit && digits < MAX_EXP_DIGITS => {
                            Some((ExpDigits, digits + 1))
                        }
                        _ => None,
                    };
                    match next {
                        Some((phase, digits)) => {
                            s.ws = 0;
                            s.set_top(Frame::Num {
                                integer,
                                phase,
                                digits,
                            });
                            return true;
                        }
                        None if self.can_end(top) && !digit => {
                            // The number ended before this byte: the parent takes it.
                            s.pop();
                            continue;
                        }
                        None => return false,
                    }
                }
                Frame::FreeObj { values, phase } => {
                    if let Some(r) = Self::ws_ok(s, b) {
                        return r;
                    }
                    s.ws = 0;
                    let next = match (phase, b) {
                        (FreePhase::Open | FreePhase::Value, b'}') => {
                            s.pop();
                            return true;
                        }
                        (FreePhase::Open | FreePhase::Comma, b'"') => {
                            s.set_top(Frame::FreeObj {
                                values,
                                phase: FreePhase::Key,
                            });
                            return s.push(Self::plain_string(u32::MAX));
                        }
                        (FreePhase::Value, b',') => FreePhase::Comma,
                        (FreePhase::Key, b':') => {
                            s.set_top(Frame::FreeObj {
                                values,
                                phase: FreePhase::Value,
                            });
                            return s.push(Frame::Value { node: values });
                        }
                        _ => return false,
                    };
                    s.set_top(Frame::FreeObj {
                        values,
                        phase: next,
                    });
                    return true;
                }
                Frame::FreeArr { items, phase } => {
                    if let Some(r) = Self::ws_ok(s, b) {
                        return r;
                    }
                    match (phase, b) {
                        (ArrPhase::Open | ArrPhase::Value, b']') => {
                            s.ws = 0;
                            s.pop();
                            return true;
                        }
                        (ArrPhase::Value, b',') => {
                            s.ws = 0;
                            s.set_top(Frame::FreeArr {
                                items,
                                phase: ArrPhase::Comma,
                            });
                            return true;
                        }
                        (ArrPhase::Open | ArrPhase::Comma, _) => {
                            s.set_top(Frame::FreeArr {
                                items,
                                phase: ArrPhase::Value,
                            });
                            if !s.push(Frame::Value { node: items }) {
                                return false;
                            }
                            continue;
                        }
                        _ => return false,
                    }
                }
                Frame::Lit { set, cand, pos } => {
                    let p = pos as usize;
                    let mut next = 0u64;
                    let mut longer = false;
                    for i in 0..self.lit_count(set) {
                        let l = self.lit(set, i);
                        if cand & (1 << i) != 0 && l.get(p) == Some(&b) {
                            next |= 1 << i;
                            longer |= l.len() > p + 1;
                        }
                    }
                    if next == 0 {
                        if self.can_end(top) {
                            s.pop();
                            continue;
                        }
                        return false;
                    }
                    s.ws = 0;
                    if longer {
                        s.set_top(Frame::Lit {
                            set,
                            cand: next,
                            pos: pos + 1,
                        });
                        // A shorter candidate may be complete while a longer one continues
                        // (enum [1, 10]): keep the frame; the next byte decides.
                    } else {
                        s.pop();
                    }
                    return true;
                }
            }
        }
    }

    /// Pushes the frame that starts a value of `node` with byte `b`: `Some(true)` when `b` was
    /// the opening byte and is consumed (`{`, `[`, `"`), `Some(false)` when the new frame must
    /// be fed `b` (numbers, literals), `None` when `b` cannot start such a value.
    fn start_value(&self, s: &mut State, node: u32, b: u8) -> Option<bool> {
        s.ws = 0;
        let (frame, consumed) = match self.node(node) {
            Node::Nullable(inner) => {
                if b == b'n' {
                    (
                        Frame::Lit {
                            set: LitSet::Null,
                            cand: 1,
                            pos: 0,
                        },
                        false,
                    )
                } else {
                    // `null` always fits; the inner value only where its smallest one does.
                    if !self.fits(s, *inner as u32) {
                        return None;
                    }
                    return self.start_value(s, *inner as u32, b);
                }
            }
            Node::Object { .. } if b == b'{' => (
                Frame::Obj {
                    node,
                    seen: 0,
                    phase: ObjPhase::Open,
                },
                true,
            ),
            Node::Array { .. } if b == b'[' => (
                Frame::Arr {
                    node,
                    count: 0,
                    phase: ArrPhase::Open,
                },
                true,
            ),
            Node::String { max_len } if b == b'"' => (
                Self::plain_string(
                    max_len.map_or(u32::MAX, |m| m.min(u32::MAX as usize - 1) as u32),
                ),
                true,
            ),
            Node::FreeObject { values } if b == b'{' => (
                Frame::FreeObj {
                    values: *values as u32,
                    phase: FreePhase::Open,
                },
                true,
            ),
            Node::Any => match b {
                b'{' => (
                    Frame::FreeObj {
                        values: node,
                        phase: FreePhase::Open,
                    },
                    true,
                ),
                b'[' => (
                    Frame::FreeArr {
                        items: node,
                        phase: ArrPhase::Open,
                    },
                    true,
                ),
                b'"' => (Self::plain_string(u32::MAX), true),
                b'-' | b'0'..=b'9' => (
                    Frame::Num {
                        integer: false,
                        phase: NumPhase::Start,
                        digits: 0,
                    },
                    false,
                ),
                b't' | b'f' => (
                    Frame::Lit {
                        set: LitSet::Bool,
                        cand: 0b11,
                        pos: 0,
                    },
                    false,
                ),
                b'n' => (
                    Frame::Lit {
                        set: LitSet::Null,
                        cand: 1,
                        pos: 0,
                    },
                    false,
                ),
                _ => return None,
            },
            Node::Number | Node::Integer if b == b'-' || b.is_ascii_digit() => (
                Frame::Num {
                    integer: matches!(self.node(node), Node::Integer),
                    phase: NumPhase::Start,
                    digits: 0,
                },
                false,
            ),
            Node::Boolean => (
                Frame::Lit {
                    set: LitSet::Bool,
                    cand: 0b11,
                    pos: 0,
                },
                false,
            ),
            Node::Null => (
                Frame::Lit {
                    set: LitSet::Null,
                    cand: 1,
                    pos: 0,
                },
                false,
            ),
            Node::Enum(v) => (
                Frame::Lit {
                    set: LitSet::Enum(node),
                    cand: if v.len() >= 64 {
                        u64::MAX
                    } else {
                        (1u64 << v.len()) - 1
                    },
                    pos: 0,
                },
                false,
            ),
            _ => return None,
        };
        s.push(frame).then_some(consumed)
    }

    /// A string frame at its opening quote, at most `max` characters.
    fn plain_string(max: u32) -> Frame {
        Frame::Str {
            max,
            len: 0,
            esc: 0,
            hex0: 0,
            need: 0,
            lo: 0x80,
            hi: 0xBF,
        }
    }

    /// The bytes that close the document the shortest way from `s` (for when the token budget
    /// runs out): open strings closed, required properties filled with minimal values.
    pub fn closing_bytes(&self, s: &State) -> Option<Vec<u8>> {
        let mut st = *s;
        let mut out = Vec::new();
        // The schema's analysis bounds the steps from any state; the loop never runs out on
        // an accepted schema, and `None` past it is a bug, not a hang.
        for _ in 0..self.schema.closing_steps {
            if st.failed {
                return None;
            }
            if st.len == 0 {
                return Some(out);
            }
            let top = st.top();
            if self.can_end(top) {
                if st.len == 1 {
                    return Some(out);
                }
                st.pop();
                continue;
            }
            let b = self.closing_byte(&st, top)?;
            if !self.feed(&mut st, b) {
                return None;
            }
            out.push(b);
        }
        None
    }

    fn first_byte(&self, node: u32) -> u8 {
        match self.node(node) {
            Node::Object { .. } => b'{',
            Node::Array { .. } => b'[',
            Node::String { .. } => b'"',
            Node::Number | Node::Integer => b'0',
            Node::Boolean => b'f',
            Node::Null | Node::Nullable(_) | Node::Any => b'n',
            Node::FreeObject { .. } => b'{',
            Node::Enum(v) => v
                .iter()
                .min_by_key(|l| l.len())
                .and_then(|l| l.first().copied())
                .unwrap_or(b'n'),
        }
    }

    fn closing_byte(&self, s: &State, top: Frame) -> Option<u8> {
        Some(match top {
            Frame::Value { node } => self.first_byte(node),
            Frame::Lit { set, cand, pos } => {
                let i = (0..self.lit_count(set))
                    .filter(|i| cand & (1 << i) != 0)
                    .min_by_key(|&i| self.lit(set, i).len())?;
                *self.lit(set, i).get(pos as usize)?
            }
            Frame::Str { esc, need, lo, .. } => match (need, esc) {
                (1.., _) => lo,
                (0, 1) => b'n',
                (0, 2..) => b'0',
                _ => b'"',
            },
            Frame::Num { .. } => b'0',
            Frame::Key { node, cand, pos } => {
                let Node::Object { props, required } = self.node(node) else {
                    return None;
                };
                let pick = |mask: u64| {
                    (0..props.len())
                        .filter(|i| mask & (1 << i) != 0)
                        .min_by_key(|&i| props[i].1.len())
                };
                let i = pick(cand & required).or_else(|| pick(cand))?;
                *props[i].1.get(pos as usize)?
            }
            Frame::Obj { node, seen, phase } => {
                let Node::Object { required, .. } = self.node(node) else {
                    return None;
                };
                let missing = required & !seen != 0;
                match phase {
                    ObjPhase::Open if missing => b'"',
                    ObjPhase::Open => b'}',
                    ObjPhase::Comma => b'"',
                    ObjPhase::Key(_) => b':',
                    ObjPhase::Value if missing => b',',
                    ObjPhase::Value => b'}',
                }
            }
            Frame::FreeObj { phase, .. } => match phase {
                FreePhase::Open | FreePhase::Value => b'}',
                FreePhase::Comma => b'"',
                FreePhase::Key => b':',
            },
            Frame::FreeArr { items, phase } => match phase {
                ArrPhase::Open | ArrPhase::Value => b']',
                ArrPhase::Comma => self.first_byte(items),
            },
            Frame::Arr { node, count, phase } => {
                let Node::Array { items, min, .. } = self.node(node) else {
                    return None;
                };
                let short = (count as usize) < *min;
                match phase {
                    ArrPhase::Open if short => self.first_byte(*items as u32),
                    ArrPhase::Open => b']',
                    ArrPhase::Comma => self.first_byte(*items as u32),
                    ArrPhase::Value if short => b',',
                    ArrPhase::Value => b']',
                }
            }
        })
        .filter(|_| s.len > 0)
    }
}

impl State {
    fn top(&self) -> Frame {
        self.stack[self.len as usize - 1]
    }
    fn top_mut(&mut self) -> Option<&mut Frame> {
        let n = self.len as usize;
        n.checked_sub(1).map(|i| &mut self.stack[i])
    }
    fn set_top(&mut self, f: Frame) {
        let n = self.len as usize;
        self.stack[n - 1] = f;
    }
    fn push(&mut self, f: Frame) -> bool {
        if self.len as usize >= MAX_DEPTH {
            return false;
        }
        self.stack[self.len as usize] = f;
        self.len += 1;
        true
    }
    fn pop(&mut self) {
        self.len = self.len.saturating_sub(1);
    }
}
