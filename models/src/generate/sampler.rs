//! Turning logits into the next token: repetition penalty, masking, temperature, top-k, top-p,
//! and a seeded random draw (greedy when the temperature is 0).

use crate::generate::Sampling;

/// A small deterministic generator (SplitMix64): the same seed gives the same tokens on every
/// platform and every version of our dependencies.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform float in `[0, 1)`.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Chooses the next token from `logits` (modified in place). `allowed`, when given, is a bitset
/// over the vocabulary: other tokens cannot be chosen. Returns `None` when nothing is allowed.
pub fn sample(
    logits: &mut [f32],
    recent: &[u32],
    allowed: Option<&[u64]>,
    s: &Sampling,
    rng: &mut Rng,
) -> Option<u32> {
    if s.repetition_penalty != 1.0 && s.repetition_penalty > 0.0 {
        let start = recent.len().saturating_sub(s.repeat_last_n);
        let mut seen = std::collections::HashSet::new();
        for &t in &recent[start..] {
            if seen.insert(t)
                && let Some(l) = logits.get_mut(t as usize)
            {
                *l = if *l > 0.0 {
                    *l / s.repetition_penalty
                } else {
                    *l * s.repetition_penalty
                };
            }
        }
    }
    if let Some(mask) = allowed {
        for (i, l) in logits.iter_mut().enumerate() {
            if mask.get(i / 64).is_none_or(|w| w & (1u64 << (i % 64)) == 0) {
                *l = f32::NEG_INFINITY;
            }
        }
    }
    let (best, best_l) =
        logits
            .iter()
            .enumerate()
            .fold((None, f32::NEG_INFINITY), |(bi, bl), (i, &l)| {
                if l > bl { (Some(i), l) } else { (bi, bl) }
            });
    let best = best? as u32;
    if s.temperature <= 0.0 {
        return Some(best);
    }
    // Candidates: everything within e^-30 of the best (the rest cannot matter), then top-k.
    let cut = best_l - 30.0 * s.temperature;
    let mut cand: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .filter(|(_, l)| **l >= cut)
        .map(|(i, &l)| (i as u32, l))
        .collect();
    cand.sort_unstable_by(|a, b| b.1.total_cmp(&a.1));
    if s.top_k > 0 {
        cand.truncate(s.top_k);
    }
    let inv_t = 1.0 / s.temperature;
    let mut probs: Vec<f32> = cand
        .iter()
        .map(|(_, l)| ((l - best_l) * inv_t).exp())
        .collect();
    let total: f32 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= total);
    if s.top_p < 1.0 {
        let mut acc = 0.0;
        let mut keep = probs.len();
        for (i, p) in probs.iter().enumerate() {
            acc += p;
            if acc >= s.top_p {
                keep = i + 1;
                break;
            }
        }
        probs.truncate(keep);
        let total: f32 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= total);
    }
    let r = rng.next_f32();
    let mut acc = 0.0;
    for (i, p) in probs.iter().enumerate() {
        acc += p;
        if r < acc {
            return Some(cand[i].0);
        }
    }
    Some(cand[probs.len() - 1].0)
}
