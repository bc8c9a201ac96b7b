//! When work must stop (a deadline, a cancel flag, or both) and whom it tells how far it got.
//!
//! Every long computation (a transport run's time loop, an ensemble, a trial's replicates)
//! takes a [`Stop`] and checks it as it goes, so a request that timed out or was cancelled
//! stops its work and frees what it held instead of running on unseen. A check is one clock
//! read and one atomic load (tens of nanoseconds), far below the cost of a solver step.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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

/// What a long computation reports to and takes its stop from. One trait for every analysis
/// (ensembles, sensitivity, trials, power, claims, sweeps) and every front end: the CLI's
/// progress bar, the web's job events (SSE) and the Python package each implement it, and
/// the work calls [`Observer::progress`] and [`Observer::message`], which report and then
/// say whether to go on, so a cancel or a deadline ends the work with [`Stopped`] through
/// ordinary `Result`s.
pub trait Observer: Sync {
    /// The deadline and cancel flag the work checks (the transport solvers check it at
    /// every step).
    fn stop(&self) -> &Stop;

    /// Hears that `done` of `total` units are finished (`total` 0: not known in advance).
    fn on_progress(&self, _done: usize, _total: usize) {}

    /// Hears a phase that begins, or an intermediate result, in words.
    fn on_message(&self, _text: &str) {}

    /// Report `done` of `total`, then `Err` if the work must stop.
    fn progress(&self, done: usize, total: usize) -> Result<(), Stopped> {
        self.on_progress(done, total);
        self.stop().check()
    }

    /// Report a phase or an intermediate result, then `Err` if the work must stop.
    fn message(&self, text: &str) -> Result<(), Stopped> {
        self.on_message(text);
        self.stop().check()
    }
}

/// A stop alone is an observer that hears nothing: `&Stop::never()` runs work to its end
/// in silence.
impl Observer for Stop {
    fn stop(&self) -> &Stop {
        self
    }
}

/// Units finished by parallel workers, counted and reported to an observer as a running
/// total (at most about 200 reports in all, and always the last).
pub struct Tally<'a> {
    observer: &'a dyn Observer,
    done: AtomicUsize,
    total: usize,
    every: usize,
}

impl<'a> Tally<'a> {
    /// A tally of `total` units (0: not known).
    pub fn new(observer: &'a dyn Observer, total: usize) -> Tally<'a> {
        Tally {
            observer,
            done: AtomicUsize::new(0),
            total,
            every: (total / 200).max(1),
        }
    }

    /// `n` more units are finished: report when the count crosses a reporting step or
    /// reaches the total, and say whether to go on.
    pub fn add(&self, n: usize) -> Result<(), Stopped> {
        let before = self.done.fetch_add(n, Ordering::Relaxed);
        let now = before + n;
        if now / self.every != before / self.every || now == self.total {
            self.observer.progress(now, self.total)
        } else {
            self.observer.stop().check()
        }
    }

    /// Whether the work must stop (for workers that skip what is left).
    pub fn stopped(&self) -> bool {
        self.observer.stop().is_stopped()
    }

    /// `Err` once the work must stop.
    pub fn check(&self) -> Result<(), Stopped> {
        self.observer.stop().check()
    }

    /// The units counted so far.
    pub fn done(&self) -> usize {
        self.done.load(Ordering::Relaxed)
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
    /// An observer that records what it hears.
    struct Log {
        stop: Stop,
        heard: std::sync::Mutex<Vec<(usize, usize)>>,
    }

    impl Observer for Log {
        fn stop(&self) -> &Stop {
            &self.stop
        }
        fn on_progress(&self, done: usize, total: usize) {
            self.heard.lock().unwrap().push((done, total));
        }
    }

    #[test]
    fn a_tally_reports_its_steps_and_the_last_unit() {
        let log = Log {
            stop: Stop::never(),
            heard: Default::default(),
        };
        let t = Tally::new(&log, 1000);
        for _ in 0..1000 {
            t.add(1).unwrap();
        }
        assert_eq!(t.done(), 1000);
        let heard = log.heard.lock().unwrap().clone();
        // every 5th of 1000 units (1000 / 200), the last included
        assert_eq!(heard.len(), 200);
        assert_eq!(heard[0], (5, 1000));
        assert_eq!(*heard.last().unwrap(), (1000, 1000));
    }

    #[test]
    fn progress_says_stop_once_the_flag_is_set() {
        let f = Arc::new(AtomicBool::new(false));
        let log = Log {
            stop: Stop::never().with_flag(f.clone()),
            heard: Default::default(),
        };
        assert!(log.progress(1, 3).is_ok());
        f.store(true, Ordering::Relaxed);
        assert_eq!(log.progress(2, 3), Err(Stopped::Cancelled));
        assert_eq!(log.message("next"), Err(Stopped::Cancelled));
        // the report is still heard: the front end shows how far the work got
        assert_eq!(log.heard.lock().unwrap().len(), 2);
        let t = Tally::new(&log, 10);
        assert!(t.stopped());
        assert_eq!(t.add(1), Err(Stopped::Cancelled));
    }
}
