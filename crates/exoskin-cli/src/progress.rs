//! Progress on stderr (when it is a terminal) and worker-thread pools for long runs.

use crate::bad_input;
use anyhow::Context;
use exoskin_model::{Observer, Stop};
use std::io::{IsTerminal, Write};

/// Set by `--quiet`: no progress at all.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Silence every progress bar and message (`--quiet`).
pub fn set_quiet() {
    QUIET.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// A progress bar on stderr when it is a terminal (and not `--quiet`), with the time
/// elapsed and an estimate of the time left: the CLI's [`Observer`] for every long run
/// (ensembles, sensitivity, trials, power, claims, sweeps).
pub struct Progress {
    on: bool,
    label: &'static str,
    started: std::time::Instant,
    stop: Stop,
}

impl Observer for Progress {
    fn stop(&self) -> &Stop {
        &self.stop
    }
    fn on_progress(&self, done: usize, total: usize) {
        self.show(done, total);
    }
    fn on_message(&self, text: &str) {
        self.message(text);
    }
}

/// "ETA 12 s" from the time `elapsed_s` that `done` of `total` took (None before the first
/// is done or after the last).
pub fn eta(elapsed_s: f64, done: usize, total: usize) -> Option<String> {
    if done == 0 || done >= total {
        return None;
    }
    let left = elapsed_s * (total - done) as f64 / done as f64;
    Some(if left >= 90.0 {
        format!("ETA {:.0} min", left / 60.0)
    } else {
        format!("ETA {left:.0} s")
    })
}

impl Progress {
    pub fn new(label: &'static str) -> Progress {
        Progress {
            on: std::io::stderr().is_terminal()
                && !QUIET.load(std::sync::atomic::Ordering::Relaxed),
            label,
            started: std::time::Instant::now(),
            stop: Stop::never(),
        }
    }

    /// `done` of `total` as a bar (`total` 0, not known: the count alone).
    pub fn show(&self, done: usize, total: usize) {
        if !self.on {
            return;
        }
        if total == 0 {
            let elapsed = self.started.elapsed().as_secs_f64();
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r{} {done}  {elapsed:.0} s\x1b[K", self.label);
            let _ = e.flush();
            return;
        }
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        let mut e = std::io::stderr().lock();
        let elapsed = self.started.elapsed().as_secs_f64();
        let _ = write!(
            e,
            "\r{} [{}{}] {done}/{total}  {elapsed:.0} s{}\x1b[K",
            self.label,
            "#".repeat(filled),
            ".".repeat(width - filled),
            eta(elapsed, done, total)
                .map(|t| format!(", {t}"))
                .unwrap_or_default()
        );
        let _ = e.flush();
    }

    pub fn message(&self, m: &str) {
        if self.on {
            let _ = write!(std::io::stderr().lock(), "\r{m}\x1b[K");
        }
    }

    pub fn done(&self) {
        if self.on {
            let _ = writeln!(std::io::stderr().lock());
        }
    }
}

pub fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> anyhow::Result<T> {
    match threads {
        None => Ok(f()),
        Some(0) => Err(bad_input("--threads must be at least 1")),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .context("starting the worker threads")?;
            Ok(pool.install(f))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::eta;

    #[test]
    fn the_time_left_is_the_rate_so_far() {
        assert_eq!(eta(10.0, 0, 4), None);
        assert_eq!(eta(10.0, 1, 4).as_deref(), Some("ETA 30 s"));
        assert_eq!(eta(60.0, 1, 3).as_deref(), Some("ETA 2 min"));
        assert_eq!(eta(10.0, 4, 4), None);
    }
}
