//! Matching the lexicon's aliases against a tokenised message.
//!
//! At each token the longest alias that matches exactly wins. Where none does, an edit-distance
//! pass tries the names of things (underlyings, structures, level keywords): a CJK alias of three
//! or more tokens with exactly one ideograph replaced (`鲨鱼奇` → 鲨鱼鳍, `中政500` → 中证500; the
//! numbers in it must match exactly), a two-character alias with one look-alike character
//! replaced (`敲人` → 敲入, from the lexicon's confusables), or a Latin word of five or more letters within one edit
//! (two from nine letters: `snowbal`, `partcipation`). A fuzzy match is accepted only when every
//! candidate at the best length means the same thing.

use super::lex::{TokKind, Token};
use super::lexicon::{Entry, Lexicon, Term};
use std::collections::HashMap;

/// One item of a scanned message: an alias match or a token the lexicon does not know.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// What the item is.
    pub kind: ItemKind,
    /// Index of its first token.
    pub tok: usize,
    /// Number of tokens.
    pub len: usize,
    /// Whether whitespace came before it.
    pub space_before: bool,
}

/// The kinds of items.
#[derive(Debug, Clone)]
pub(crate) enum ItemKind {
    /// An alias match: its meanings and whether the match was fuzzy (with the alias matched).
    Term {
        terms: Vec<Term>,
        fuzzy: Option<String>,
    },
    /// A number.
    Num { value: f64 },
    /// Punctuation that is not an alias.
    Punct(char),
    /// A Latin word the lexicon does not know.
    Word,
    /// A CJK character the lexicon does not know.
    Char,
    /// Anything else (emoji, other scripts).
    Other,
}

impl Item {
    /// The meanings, for a term.
    pub fn terms(&self) -> &[Term] {
        match &self.kind {
            ItemKind::Term { terms, .. } => terms,
            _ => &[],
        }
    }

    /// Whether the item means `t`.
    pub fn is(&self, t: Term) -> bool {
        self.terms().contains(&t)
    }

    /// Whether the item has a meaning matching `f`.
    pub fn any(&self, f: impl Fn(Term) -> bool) -> bool {
        self.terms().iter().any(|t| f(*t))
    }
}

/// Indexes of the lexicon's fuzzy CJK aliases by their first and second token.
pub(crate) struct FuzzyIndex {
    by_first: HashMap<String, Vec<usize>>,
    by_second: HashMap<String, Vec<usize>>,
}

impl FuzzyIndex {
    /// Builds the index for `lex`.
    pub fn new(lex: &Lexicon) -> FuzzyIndex {
        let mut by_first: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_second: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in lex.fuzzy_cjk.iter().enumerate() {
            by_first.entry(e.toks[0].clone()).or_default().push(i);
            by_second.entry(e.toks[1].clone()).or_default().push(i);
        }
        FuzzyIndex {
            by_first,
            by_second,
        }
    }
}

/// Scans `toks` into items.
pub(crate) fn scan(toks: &[Token], lex: &Lexicon, fuzzy: &FuzzyIndex) -> Vec<Item> {
    let mut items = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let space_before = t.space_before;
        if let Some((len, terms)) = exact(toks, i, lex) {
            items.push(Item {
                kind: ItemKind::Term { terms, fuzzy: None },
                tok: i,
                len,
                space_before,
            });
            i += len;
            continue;
        }
        let fuzzy_hit = match t.kind {
            TokKind::Cjk => fuzzy_cjk(toks, i, lex, fuzzy),
            TokKind::Latin if t.text.len() >= 5 => {
                fuzzy_latin(&t.text, lex).map(|(term, a)| (1, term, a))
            }
            _ => None,
        };
        if let Some((len, term, alias)) = fuzzy_hit {
            items.push(Item {
                kind: ItemKind::Term {
                    terms: vec![term],
                    fuzzy: Some(alias),
                },
                tok: i,
                len,
                space_before,
            });
            i += len;
            continue;
        }
        let kind = match t.kind {
            TokKind::Num => ItemKind::Num { value: t.value },
            TokKind::Latin => ItemKind::Word,
            TokKind::Cjk => ItemKind::Char,
            TokKind::Punct => ItemKind::Punct(t.text.chars().next().unwrap_or(' ')),
            TokKind::Other => ItemKind::Other,
        };
        items.push(Item {
            kind,
            tok: i,
            len: 1,
            space_before,
        });
        i += 1;
    }
    items
}

/// The longest alias matching at `i`, except one whose last token starts a longer word: in
/// "1年期权费" the unit "年期" would cut the premium word "期权费", so "年" is taken instead.
fn exact(toks: &[Token], i: usize, lex: &Lexicon) -> Option<(usize, Vec<Term>)> {
    let mut fallback = None;
    for e in matching(toks, i, lex) {
        let n = e.toks.len();
        let cut = n >= 2
            && matching(toks, i + n - 1, lex).any(|later| {
                later.toks.len() >= 2 && later.terms.iter().any(|t| *t != Term::Filler)
            });
        if !cut {
            return Some((n, e.terms.clone()));
        }
        fallback.get_or_insert((n, e.terms.clone()));
    }
    fallback
}

/// Every alias matching at `i`, longest first.
fn matching<'a>(
    toks: &'a [Token],
    i: usize,
    lex: &'a Lexicon,
) -> impl Iterator<Item = &'a Entry> + 'a {
    toks.get(i)
        .and_then(|t| lex.dict.get(&t.text))
        .into_iter()
        .flatten()
        .filter(move |e| {
            e.toks.len() <= toks.len() - i
                && e.toks.iter().zip(&toks[i..]).all(|(a, t)| *a == t.text)
        })
}

fn fuzzy_cjk(
    toks: &[Token],
    i: usize,
    lex: &Lexicon,
    idx: &FuzzyIndex,
) -> Option<(usize, Term, String)> {
    let mut cands: Vec<usize> = Vec::new();
    if let Some(v) = idx.by_first.get(&toks[i].text) {
        cands.extend(v);
    }
    if let Some(next) = toks.get(i + 1)
        && let Some(v) = idx.by_second.get(&next.text)
    {
        cands.extend(v);
    }
    cands.sort_unstable();
    cands.dedup();
    let mut best: Option<(usize, Term, String)> = None;
    let mut ambiguous = false;
    for c in cands {
        let e = &lex.fuzzy_cjk[c];
        let n = e.toks.len();
        if n > toks.len() - i {
            continue;
        }
        let mut subs = 0;
        let ok = e.toks.iter().zip(&toks[i..i + n]).all(|(a, t)| {
            if *a == t.text {
                true
            } else if t.kind == TokKind::Cjk && a.chars().all(cjk::is_cjk) {
                subs += 1;
                // Two-character aliases are too short for an arbitrary substitution: only a
                // look-alike character counts (敲人 → 敲入, but not 敲人 → 敲出).
                let lookalike = || match (a.chars().next(), t.text.chars().next()) {
                    (Some(x), Some(y)) => lex.variants.confusable(x, y),
                    _ => false,
                };
                subs <= 1 && (n >= 3 || lookalike())
            } else {
                false
            }
        });
        if !ok || subs != 1 {
            continue;
        }
        let term = e.terms[0];
        match &best {
            Some((len, t, _)) if *len > n => {}
            Some((len, t, _)) if *len == n => {
                if *t != term {
                    ambiguous = true;
                }
            }
            _ => {
                best = Some((n, term, e.toks.concat()));
                ambiguous = false;
            }
        }
    }
    if ambiguous { None } else { best }
}

fn fuzzy_latin(word: &str, lex: &Lexicon) -> Option<(Term, String)> {
    let max = if word.len() >= 9 { 2 } else { 1 };
    let mut best: Option<(usize, Term, &str)> = None;
    let mut ambiguous = false;
    for (alias, term) in &lex.fuzzy_latin {
        // Short Latin names of underlyings are too close to English words ("apple"/"apply").
        if matches!(term, Term::Underlying(_)) && alias.len() < 7 {
            continue;
        }
        if alias.len().abs_diff(word.len()) > max {
            continue;
        }
        let d = edit_distance(word.as_bytes(), alias.as_bytes());
        if d == 0 || d > max {
            continue;
        }
        match best {
            Some((bd, t, _)) if bd == d => {
                if t != *term {
                    ambiguous = true;
                }
            }
            Some((bd, _, _)) if bd < d => {}
            _ => {
                best = Some((d, *term, alias));
                ambiguous = false;
            }
        }
    }
    if ambiguous {
        None
    } else {
        best.map(|(_, t, a)| (t, a.to_string()))
    }
}

/// Optimal-string-alignment distance (Levenshtein with adjacent transpositions).
fn edit_distance(a: &[u8], b: &[u8]) -> usize {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}
