//! Progress on stderr (when it is a terminal) and worker-thread pools for long runs.

use crate::bad_input;
use anyhow::Context;
use std::io::{IsTerminal, Write};

/// A progress bar on stderr when it is a terminal.
pub struct Progress {
    on: bool,
    label: &'static str,
}

impl Progress {
    pub fn new(label: &'static str) -> Progress {
        Progress {
            on: std::io::stderr().is_terminal(),
            label,
        }
    }

    pub fn show(&self, done: usize, total: usize) {
        if !self.on {
            return;
        }
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width);
        let mut e = std::io::stderr().lock();
        let _ = write!(
            e,
            "\r{} [{}{}] {done}/{total}",
            self.label,
            "#".repeat(filled),
            ".".repeat(width - filled)
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
