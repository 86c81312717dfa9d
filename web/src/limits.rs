//! Per-client limits: how many requests one client (a user, an IP address) may have in progress
//! at once, and a token bucket per user for the request rate.
//!
//! Both refuse at once instead of queueing: a client over its share is told to come back later
//! (429 with `Retry-After`, written by the middleware), so it never holds a place that another
//! client could use. State is kept only for clients with requests in progress (concurrency) or
//! with a bucket that is not full again (rate), so it does not grow with the number of clients
//! ever seen.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps hold plain counters: a panic elsewhere cannot leave them half-updated.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// At most `limit` requests in progress per key.
#[derive(Debug)]
pub struct KeyedLimit<K: Hash + Eq> {
    limit: u32,
    held: Arc<Mutex<HashMap<K, u32>>>,
}

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    /// A limit of `limit` requests per key.
    pub fn new(limit: u32) -> KeyedLimit<K> {
        KeyedLimit {
            limit,
            held: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The limit per key.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// A place for `key`, or `None` when `key` already has `limit` requests in progress.
    pub fn try_acquire(&self, key: K) -> Option<KeyedPermit<K>> {
        let mut held = lock(&self.held);
        let n = held.entry(key.clone()).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(KeyedPermit {
            key: Some(key),
            held: self.held.clone(),
        })
    }

    /// Requests in progress for `key`.
    pub fn in_progress(&self, key: &K) -> u32 {
        lock(&self.held).get(key).copied().unwrap_or(0)
    }
}

/// One request's place under a [`KeyedLimit`]; given back when dropped.
#[derive(Debug)]
pub struct KeyedPermit<K: Hash + Eq> {
    key: Option<K>,
    held: Arc<Mutex<HashMap<K, u32>>>,
}

impl<K: Hash + Eq> Drop for KeyedPermit<K> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut held = lock(&self.held);
        if let Some(n) = held.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&key);
            }
        }
    }
}

/// Buckets beyond this many are pruned of the full ones (a full bucket is the same as none).
const PRUNE_AT: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token bucket per key: `burst` requests at once, refilled at `per_sec` requests a second.
#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Buckets of `burst` tokens refilled at `per_sec` tokens a second (both at least 1).
    pub fn new(per_sec: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_sec: f64::from(per_sec.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Requests a second, sustained.
    pub fn per_sec(&self) -> f64 {
        self.per_sec
    }

    /// Requests at once.
    pub fn burst(&self) -> f64 {
        self.burst
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let earned = now.saturating_duration_since(b.at).as_secs_f64() * self.per_sec;
        b.tokens = (b.tokens + earned).min(self.burst);
        b.at = now;
    }

    /// Takes one token from `key`'s bucket, or says how long until there is one.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, b| {
                self.refill(b, now);
                b.tokens < self.burst
            });
        }
        let b = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        self.refill(b, now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.per_sec))
        }
    }
}
