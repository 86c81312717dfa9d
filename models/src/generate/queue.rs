//! A bounded request queue per model: one request runs at a time (a CPU model uses every core it
//! is given), at most `capacity` wait or run, and the next one is refused at once with
//! [`ModelError::Busy`] and a retry-after estimate, so memory never grows with load.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::ModelError;

/// The queue of one model.
#[derive(Debug)]
pub struct RequestQueue {
    model: String,
    capacity: usize,
    state: Mutex<QueueState>,
    run: Mutex<()>,
}

#[derive(Debug)]
struct QueueState {
    /// Requests waiting or running.
    admitted: usize,
    /// Moving average of the time a request holds the model.
    avg: Duration,
}

/// A place in the queue; dropping it leaves the queue.
#[derive(Debug)]
pub struct Ticket<'a> {
    queue: &'a RequestQueue,
    admitted_at: Instant,
}

/// The right to run, held while a request uses the model.
pub struct Running<'a> {
    _guard: MutexGuard<'a, ()>,
    queue: &'a RequestQueue,
    started: Instant,
    /// How long the request waited.
    pub waited: Duration,
}

impl RequestQueue {
    /// A queue letting at most `capacity` requests (at least 1) wait or run.
    pub fn new(model: &str, capacity: usize) -> Self {
        Self {
            model: model.to_string(),
            capacity: capacity.max(1),
            state: Mutex::new(QueueState {
                admitted: 0,
                avg: Duration::from_secs(1),
            }),
            run: Mutex::new(()),
        }
    }

    fn state(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Joins the queue, or [`ModelError::Busy`] when it is full.
    pub fn admit(&self) -> Result<Ticket<'_>, ModelError> {
        let mut st = self.state();
        if st.admitted >= self.capacity {
            let retry_after = st
                .avg
                .mul_f64(st.admitted as f64)
                .max(Duration::from_secs(1));
            return Err(ModelError::Busy {
                model: self.model.clone(),
                queued: st.admitted,
                retry_after,
            });
        }
        st.admitted += 1;
        crate::metrics::set_queue_depth(&self.model, st.admitted);
        Ok(Ticket {
            queue: self,
            admitted_at: Instant::now(),
        })
    }

    /// Requests waiting or running now.
    pub fn len(&self) -> usize {
        self.state().admitted
    }

    /// Whether no request is waiting or running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> Ticket<'a> {
    /// Waits for the model (in arrival order, as the mutex grants it) and holds it.
    pub fn wait(&self) -> Running<'a> {
        let guard = self.queue.run.lock().unwrap_or_else(|p| p.into_inner());
        Running {
            _guard: guard,
            queue: self.queue,
            started: Instant::now(),
            waited: self.admitted_at.elapsed(),
        }
    }
}

impl<'a> Ticket<'a> {
    /// [`Ticket::wait`], giving up at `deadline` (`None`: the model was still busy then).
    pub fn wait_until(&self, deadline: Instant) -> Option<Running<'a>> {
        loop {
            match self.queue.run.try_lock() {
                Ok(guard) => {
                    return Some(Running {
                        _guard: guard,
                        queue: self.queue,
                        started: Instant::now(),
                        waited: self.admitted_at.elapsed(),
                    });
                }
                Err(std::sync::TryLockError::Poisoned(p)) => {
                    return Some(Running {
                        _guard: p.into_inner(),
                        queue: self.queue,
                        started: Instant::now(),
                        waited: self.admitted_at.elapsed(),
                    });
                }
                Err(std::sync::TryLockError::WouldBlock) => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
            }
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut st = self.queue.state();
        st.admitted = st.admitted.saturating_sub(1);
        crate::metrics::set_queue_depth(&self.queue.model, st.admitted);
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let took = self.started.elapsed();
        let mut st = self.queue.state();
        st.avg = st.avg.mul_f64(0.8) + took.mul_f64(0.2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waiter_with_a_deadline_gives_up_while_the_model_is_busy_and_gets_it_once_free() {
        let q = RequestQueue::new("m", 4);
        let first = q.admit().unwrap();
        let running = first.wait();
        let second = q.admit().unwrap();
        let t = Instant::now();
        assert!(
            second
                .wait_until(Instant::now() + Duration::from_millis(30))
                .is_none()
        );
        assert!(t.elapsed() >= Duration::from_millis(30));
        drop(running);
        assert!(
            second
                .wait_until(Instant::now() + Duration::from_millis(30))
                .is_some()
        );
    }

    #[test]
    fn a_cancel_with_a_deadline_trips_by_itself() {
        let c = crate::Cancel::within(Duration::from_millis(20));
        assert!(!c.is_cancelled() && !c.timed_out());
        std::thread::sleep(Duration::from_millis(25));
        assert!(c.is_cancelled() && c.timed_out());
        assert_eq!(c.deadline().unwrap().1, Duration::from_millis(20));
        let plain = crate::Cancel::new();
        assert!(!plain.is_cancelled() && plain.deadline().is_none());
    }
}
