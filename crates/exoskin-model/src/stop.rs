//! When work must stop: a deadline, a cancel flag, or both.
//!
//! Every long computation (a transport run's time loop, an ensemble, a trial's replicates)
//! takes a [`Stop`] and checks it as it goes, so a request that timed out or was cancelled
//! stops its work and frees what it held instead of running on unseen. A check is one clock
//! read and one atomic load (tens of nanoseconds), far below the cost of a solver step.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Why work stopped early.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum Stopped {
    /// The time limit passed.
    #[error("the time limit of {limit_s} s was reached before the work finished")]
    Deadline { limit_s: f64 },
    /// Someone asked the work to stop.
    #[error("the work was cancelled")]
    Cancelled,
}

/// A deadline and/or a cancel flag; cheap to clone (the flag is shared).
#[derive(Clone, Debug, Default)]
pub struct Stop {
    deadline: Option<(Instant, Duration)>,
    flag: Option<Arc<AtomicBool>>,
}

impl Stop {
    /// Never stops: work runs to its end.
    pub fn never() -> Stop {
        Stop::default()
    }

    /// Stops `limit` from now.
    pub fn after(limit: Duration) -> Stop {
        Stop::never().with_deadline(limit)
    }

    /// The same, also stopped once `flag` is true.
    pub fn with_flag(mut self, flag: Arc<AtomicBool>) -> Stop {
        self.flag = Some(flag);
        self
    }

    /// The same, with a deadline `limit` from now (the earlier one wins when there is one).
    pub fn with_deadline(mut self, limit: Duration) -> Stop {
        let at = Instant::now().checked_add(limit);
        self.deadline = match (self.deadline, at) {
            (Some(old), Some(new)) if old.0 <= new => Some(old),
            (_, Some(new)) => Some((new, limit)),
            // A limit past the clock's range is no limit.
            (old, None) => old,
        };
        self
    }

    /// `Err` once the flag is set or the deadline has passed.
    pub fn check(&self) -> Result<(), Stopped> {
        if self
            .flag
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
        {
            return Err(Stopped::Cancelled);
        }
        match self.deadline {
            Some((at, limit)) if Instant::now() >= at => Err(Stopped::Deadline {
                limit_s: limit.as_secs_f64(),
            }),
            _ => Ok(()),
        }
    }

    /// Whether [`Stop::check`] would fail now.
    pub fn is_stopped(&self) -> bool {
        self.check().is_err()
    }

    /// Time left before the deadline (`None` without one).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|(at, _)| at.saturating_duration_since(Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_stops_and_a_past_deadline_stops() {
        assert!(Stop::never().check().is_ok());
        let s = Stop::after(Duration::ZERO);
        assert_eq!(s.check(), Err(Stopped::Deadline { limit_s: 0.0 }));
        assert!(Stop::after(Duration::from_secs(3600)).check().is_ok());
    }

    #[test]
    fn the_flag_cancels_every_clone() {
        let f = Arc::new(AtomicBool::new(false));
        let s = Stop::after(Duration::from_secs(3600)).with_flag(f.clone());
        let c = s.clone();
        assert!(c.check().is_ok());
        f.store(true, Ordering::Relaxed);
        assert_eq!(s.check(), Err(Stopped::Cancelled));
        assert_eq!(c.check(), Err(Stopped::Cancelled));
    }

    #[test]
    fn the_earlier_deadline_wins() {
        let s = Stop::after(Duration::ZERO).with_deadline(Duration::from_secs(3600));
        assert!(s.is_stopped());
        let s = Stop::after(Duration::from_secs(3600)).with_deadline(Duration::ZERO);
        assert!(s.is_stopped());
        assert!(Stop::never().with_deadline(Duration::MAX).check().is_ok());
        assert!(s.remaining().unwrap() <= Duration::from_millis(1));
    }
}
