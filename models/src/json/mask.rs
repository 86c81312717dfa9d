//! Which vocabulary tokens keep the output a valid prefix: a byte trie over every token's bytes
//! (built once per model and shared), walked depth-first from the automaton's state so that a
//! rejected prefix prunes every token below it. Inside a string, where almost every token is
//! fine, the plain-text tokens (no quote, backslash or control byte, complete UTF-8) are allowed
//! at once from a precomputed bitset and only the remaining few thousand are walked.

use super::automaton::{Automaton, State};

/// A flattened byte trie: node `i`'s children are `edges[first[i]..first[i + 1]]`, its tokens
/// `tokens[tok_first[i]..tok_first[i + 1]]`.
#[derive(Debug, Default)]
struct Trie {
    first: Vec<u32>,
    edges: Vec<(u8, u32)>,
    tok_first: Vec<u32>,
    tokens: Vec<u32>,
}

impl Trie {
    fn build(entries: &[(u32, &[u8])]) -> Self {
        // Build with per-node child lists, then flatten in node order.
        let mut children: Vec<Vec<(u8, u32)>> = vec![Vec::new()];
        let mut toks: Vec<Vec<u32>> = vec![Vec::new()];
        for &(id, bytes) in entries {
            let mut n = 0usize;
            for &b in bytes {
                let next = match children[n].iter().find(|(c, _)| *c == b) {
                    Some(&(_, k)) => k as usize,
                    None => {
                        children.push(Vec::new());
                        toks.push(Vec::new());
                        let k = children.len() - 1;
                        children[n].push((b, k as u32));
                        k
                    }
                };
                n = next;
            }
            toks[n].push(id);
        }
        let mut t = Trie::default();
        for (c, k) in children.iter_mut().zip(&toks) {
            c.sort_unstable();
            t.first.push(t.edges.len() as u32);
            t.edges.extend_from_slice(c);
            t.tok_first.push(t.tokens.len() as u32);
            t.tokens.extend_from_slice(k);
        }
        t.first.push(t.edges.len() as u32);
        t.tok_first.push(t.tokens.len() as u32);
        t
    }

    fn walk(&self, aut: &Automaton, node: usize, st: &State, out: &mut [u64]) {
        let (a, b) = (self.first[node] as usize, self.first[node + 1] as usize);
        for &(byte, child) in &self.edges[a..b] {
            let mut s = *st;
            if aut.feed(&mut s, byte) {
                let c = child as usize;
                let (ta, tb) = (self.tok_first[c] as usize, self.tok_first[c + 1] as usize);
                for &t in &self.tokens[ta..tb] {
                    out[t as usize / 64] |= 1 << (t % 64);
                }
                self.walk(aut, c, &s, out);
            }
        }
    }
}

/// A model's vocabulary as bytes, indexed for masking. Build once per model (a fraction of a
/// second for 151k tokens) and share.
#[derive(Debug)]
pub struct TokenTable {
    bytes: Vec<Option<Box<[u8]>>>,
    /// Plain-text tokens (bitset) and their length in characters.
    plain: Vec<u64>,
    plain_chars: Vec<u32>,
    max_plain_chars: u32,
    all: Trie,
    special: Trie,
    eos: Vec<u32>,
}

fn plain_chars(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\') {
        return None;
    }
    std::str::from_utf8(b)
        .ok()
        .map(|s| s.chars().count() as u32)
}

impl TokenTable {
    /// `bytes[i]` is token `i`'s text as bytes, `None` for special tokens (never allowed in
    /// JSON); `eos` are the tokens that end generation (allowed once the document is complete).
    pub fn new(bytes: Vec<Option<Vec<u8>>>, eos: Vec<u32>) -> Self {
        let bytes: Vec<Option<Box<[u8]>>> = bytes
            .into_iter()
            .map(|b| b.filter(|b| !b.is_empty()).map(Vec::into_boxed_slice))
            .collect();
        let words = bytes.len().div_ceil(64);
        let mut plain = vec![0u64; words];
        let mut chars = vec![0u32; bytes.len()];
        let mut max_plain_chars = 0;
        let mut all = Vec::new();
        let mut special = Vec::new();
        for (i, b) in bytes.iter().enumerate() {
            let Some(b) = b else { continue };
            all.push((i as u32, &b[..]));
            match plain_chars(b) {
                Some(n) => {
                    plain[i / 64] |= 1 << (i % 64);
                    chars[i] = n;
                    max_plain_chars = max_plain_chars.max(n);
                }
                None => special.push((i as u32, &b[..])),
            }
        }
        Self {
            all: Trie::build(&all),
            special: Trie::build(&special),
            bytes,
            plain,
            plain_chars: chars,
            max_plain_chars,
            eos,
        }
    }

    /// The vocabulary size.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// A token's bytes (`None` for special tokens).
    pub fn bytes(&self, t: u32) -> Option<&[u8]> {
        self.bytes.get(t as usize).and_then(|b| b.as_deref())
    }

    /// Fills `out` (one bit per token, `len().div_ceil(64)` words) with the tokens that may
    /// follow `st`.
    pub fn allowed(&self, aut: &Automaton, st: &State, out: &mut [u64]) {
        out.fill(0);
        match aut.in_plain_string(st) {
            Some(left) if left >= self.max_plain_chars => {
                for (o, p) in out.iter_mut().zip(&self.plain) {
                    *o |= p;
                }
                self.special.walk(aut, 0, st, out);
            }
            _ => self.all.walk(aut, 0, st, out),
        }
        if aut.is_accepting(st) {
            for &e in &self.eos {
                if let Some(w) = out.get_mut(e as usize / 64) {
                    *w |= 1 << (e % 64);
                }
            }
        }
    }

    /// Advances `st` by token `t`; false when the token is not allowed there.
    pub fn advance(&self, aut: &Automaton, st: &mut State, t: u32) -> bool {
        let Some(b) = self.bytes(t) else {
            return false;
        };
        let is_plain = self.plain[t as usize / 64] & (1 << (t % 64)) != 0;
        match aut.in_plain_string(st) {
            Some(left) if is_plain && left >= self.plain_chars[t as usize] => {
                aut.skip_plain(st, self.plain_chars[t as usize]);
                true
            }
            _ => aut.feed_all(st, b),
        }
    }

    /// Whether `t` ends generation.
    pub fn is_eos(&self, t: u32) -> bool {
        self.eos.contains(&t)
    }
}
