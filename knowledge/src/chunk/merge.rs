//! The seed method's merge rule: a fragment shorter than [`MIN_FRAGMENT_CHARS`] characters is
//! merged into the neighbour it is more similar to, by the cosine of their embeddings
//! (previous if r1 > r2, else next).
//!
//! Only fragments are merged: pieces of a split article and windows of loose text. A whole
//! article or numbered paragraph stays its own chunk however short (`第九条 期货和衍生品行业协会
//! 依法实行自律管理。`), so that exact-path lookup still finds it; its path gives it context.
//! Neighbours must come from the same section or unit (the same `group`), so a merge never
//! moves text under another heading.

use crate::document::Chunk;
use models::{EmbedKind, Embedder, ModelError};

/// Fragments shorter than this many characters are merged into a neighbour.
pub const MIN_FRAGMENT_CHARS: usize = 50;

/// What the merge step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Fragments merged into a neighbour.
    pub merged: usize,
    /// Of those, the ones that had two neighbours and were placed by cosine similarity.
    pub by_similarity: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Keep,
    Prev,
    Next,
}

/// Merges short fragments in place and renumbers the chunks. Embeds only the fragments that
/// have a neighbour on both sides, and those neighbours, in one batch.
pub fn merge_short_fragments(
    chunks: &mut Vec<Chunk>,
    embedder: &dyn Embedder,
) -> Result<MergeReport, ModelError> {
    let n = chunks.len();
    let is_fragment = |c: &Chunk| !c.whole_unit && c.char_len() < MIN_FRAGMENT_CHARS;
    let mut decision = vec![Target::Keep; n];
    let mut to_compare = Vec::new();
    for i in 0..n {
        if !is_fragment(&chunks[i]) {
            continue;
        }
        let prev = i > 0 && chunks[i - 1].group == chunks[i].group;
        let next = i + 1 < n && chunks[i + 1].group == chunks[i].group;
        decision[i] = match (prev, next) {
            (true, true) => {
                to_compare.push(i);
                Target::Keep
            }
            (true, false) => Target::Prev,
            (false, true) => Target::Next,
            (false, false) => Target::Keep,
        };
    }
    let mut report = MergeReport::default();
    if !to_compare.is_empty() {
        // One batch: every fragment and both of its neighbours, each text once.
        let mut wanted: Vec<usize> = to_compare.iter().flat_map(|&i| [i - 1, i, i + 1]).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let texts: Vec<&str> = wanted.iter().map(|&i| chunks[i].text.as_str()).collect();
        let emb = embedder.embed(&texts, EmbedKind::Passage)?;
        if emb.vectors.len() != texts.len() {
            return Err(ModelError::Inference(format!(
                "embedder returned {} vectors for {} texts",
                emb.vectors.len(),
                texts.len()
            )));
        }
        let vec_of = |i: usize| &emb.vectors[wanted.binary_search(&i).unwrap()];
        for &i in &to_compare {
            let r1 = cosine(vec_of(i), vec_of(i - 1));
            let r2 = cosine(vec_of(i), vec_of(i + 1));
            decision[i] = if r1 > r2 { Target::Prev } else { Target::Next };
            report.by_similarity += 1;
        }
    }
    let old = std::mem::take(chunks);
    let mut pending: Option<Chunk> = None;
    for (c, d) in old.into_iter().zip(decision) {
        let c = match pending.take() {
            Some(p) if p.group == c.group => join(p, c, false),
            Some(p) => {
                chunks.push(p);
                c
            }
            None => c,
        };
        match d {
            Target::Keep => chunks.push(c),
            Target::Next => {
                report.merged += 1;
                pending = Some(c);
            }
            Target::Prev => {
                report.merged += 1;
                match chunks.last_mut() {
                    Some(last) if last.group == c.group => {
                        let merged = join(last.clone(), c, true);
                        *last = merged;
                    }
                    _ => chunks.push(c),
                }
            }
        }
    }
    if let Some(p) = pending {
        chunks.push(p);
    }
    for (i, c) in chunks.iter_mut().enumerate() {
        c.ordinal = i as u32;
    }
    Ok(report)
}

/// `a` then `b` as one chunk; the path and unit flag come from the one that is not the fragment
/// (`b` when `into_first` is false).
fn join(a: Chunk, b: Chunk, into_first: bool) -> Chunk {
    let (path, whole) = if into_first {
        (a.path.clone(), a.whole_unit)
    } else {
        (b.path.clone(), b.whole_unit)
    };
    let mut location = a.location;
    location.page_start = a.location.page_start.min(b.location.page_start);
    location.page_end = a.location.page_end.max(b.location.page_end);
    location.char_start = a.location.char_start.min(b.location.char_start);
    location.char_end = a.location.char_end.max(b.location.char_end);
    Chunk {
        ordinal: a.ordinal,
        path,
        text: format!("{}\n{}", a.text, b.text),
        location,
        whole_unit: whole,
        group: a.group,
    }
}

/// The cosine of two vectors (0 when either is zero).
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}
