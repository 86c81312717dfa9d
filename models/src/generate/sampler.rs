//! Turning logits into the next token: logit bias, repetition, frequency and presence
//! penalties, masking, temperature, top-k, top-p, min-p, and a seeded random draw (greedy when
//! the temperature is 0). Also the log-probabilities reported to clients ([`logprobs`]).

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

/// The natural log of the probability of `chosen` under `logits` (the model's own
/// distribution, softmax at temperature 1), and the `k` most likely tokens with theirs, most
/// likely first (ties by lower id).
pub fn logprobs(logits: &[f32], chosen: u32, k: usize) -> (f32, Vec<(u32, f32)>) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    let lse = max + sum.ln() as f32;
    let lp = |i: usize| logits.get(i).map_or(f32::NEG_INFINITY, |l| l - lse);
    let mut top: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    if k > 0 {
        for (i, &l) in logits.iter().enumerate() {
            if top.len() < k || l > top[top.len() - 1].1 {
                let at = top.partition_point(|&(_, x)| x >= l);
                top.insert(at, (i as u32, l));
                top.truncate(k);
            }
        }
    }
    (
        lp(chosen as usize),
        top.into_iter().map(|(i, l)| (i, l - lse)).collect(),
    )
}

/// Chooses the next token from `logits` (modified in place). `recent`: the prompt and the
/// tokens generated so far (the repetition penalty's window); `generated`: the tokens generated
/// so far (the frequency and presence penalties count them, as OpenAI's do). `allowed`, when
/// given, is a bitset over the vocabulary: other tokens cannot be chosen. Returns `None` when
/// nothing is allowed.
pub fn sample(
    logits: &mut [f32],
    recent: &[u32],
    generated: &[u32],
    allowed: Option<&[u64]>,
    s: &Sampling,
    rng: &mut Rng,
) -> Option<u32> {
    for &(t, b) in &s.logit_bias {
        if let Some(l) = logits.get_mut(t as usize) {
            *l += b;
        }
    }
    if (s.frequency_penalty != 0.0 || s.presence_penalty != 0.0) && !generated.is_empty() {
        let mut counts: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        for &t in generated {
            *counts.entry(t).or_default() += 1;
        }
        for (t, n) in counts {
            if let Some(l) = logits.get_mut(t as usize) {
                *l -= s.frequency_penalty * n as f32 + s.presence_penalty;
            }
        }
    }
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
    if s.min_p > 0.0 {
        // Sorted most likely first: keep the prefix at or above min_p × the best.
        let floor = probs[0] * s.min_p;
        let keep = probs.iter().take_while(|&&p| p >= floor).count().max(1);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(logits: &[f32], generated: &[u32], s: &Sampling) -> u32 {
        let mut l = logits.to_vec();
        sample(&mut l, generated, generated, None, s, &mut Rng::new(s.seed)).unwrap()
    }

    #[test]
    fn log_probabilities_are_the_models_own() {
        let l = [1.0f32, 3.0, 2.0, 3.0];
        let (lp, top) = logprobs(&l, 2, 3);
        let z: f32 = l.iter().map(|x| x.exp()).sum();
        assert!((lp - (2f32.exp() / z).ln()).abs() < 1e-5);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 3, 2]);
        assert!(
            (top.iter().map(|t| t.1.exp()).sum::<f32>() - (3f32.exp() * 2.0 + 2f32.exp()) / z)
                .abs()
                < 1e-5
        );
        assert!(logprobs(&l, 0, 0).1.is_empty());
    }

    #[test]
    fn penalties_bias_and_min_p_change_the_choice() {
        let l = [2.0f32, 1.9, 0.0];
        let greedy = Sampling::default();
        assert_eq!(draw(&l, &[], &greedy), 0);
        // Token 0 said twice: a frequency penalty of 0.1 per time moves the choice.
        let freq = Sampling {
            frequency_penalty: 0.1,
            ..Sampling::default()
        };
        assert_eq!(draw(&l, &[0, 0], &freq), 1);
        assert_eq!(draw(&l, &[0], &freq), 0);
        let pres = Sampling {
            presence_penalty: 0.2,
            ..Sampling::default()
        };
        assert_eq!(draw(&l, &[0], &pres), 1);
        let neg = Sampling {
            presence_penalty: -1.0,
            ..Sampling::default()
        };
        assert_eq!(draw(&l, &[2], &neg), 0);
        let bias = Sampling {
            logit_bias: vec![(2, 100.0)],
            ..Sampling::default()
        };
        assert_eq!(draw(&l, &[], &bias), 2);
        let ban = Sampling {
            logit_bias: vec![(0, -100.0)],
            ..Sampling::default()
        };
        assert_eq!(draw(&l, &[], &ban), 1);
        // min_p = 0.5 at temperature 1 leaves tokens 0 and 1: token 2 is never drawn.
        let l = [2.0f32, 2.0, 1.0];
        for seed in 0..200 {
            let s = Sampling {
                temperature: 1.0,
                min_p: 0.5,
                seed,
                ..Sampling::default()
            };
            assert_ne!(draw(&l, &[], &s), 2);
        }
        let drawn2 = (0..200).any(|seed| {
            let s = Sampling {
                temperature: 1.0,
                seed,
                ..Sampling::default()
            };
            draw(&l, &[], &s) == 2
        });
        assert!(drawn2, "without min_p the third token is drawn sometimes");
    }
}
