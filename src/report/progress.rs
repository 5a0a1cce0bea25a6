//! Progress that fits the place: a bar on a terminal, a timestamped log line every few
//! seconds under cron or in a pipe.

use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
    what: &'static str,
    started: Instant,
    last_line: Instant,
    done: u64,
    /// Timestamped lines when there is no terminal (off for a stream among many).
    lines: bool,
}

const LINE_EVERY: Duration = Duration::from_secs(10);

impl Progress {
    /// `what` names the bytes counted ("dumped", "read"); `total` gives the bar an end.
    pub fn new(what: &'static str, total: Option<u64>) -> Progress {
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = if total.is_some() {
            "{spinner} {msg} {bytes}/{total_bytes} [{wide_bar}] {binary_bytes_per_sec} eta {eta}"
        } else {
            "{spinner} {msg} {bytes} {binary_bytes_per_sec} {elapsed}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what);
        bar.enable_steady_tick(Duration::from_millis(200));
        let now = Instant::now();
        Progress {
            bar,
            what,
            started: now,
            last_line: now,
            done: 0,
            lines: true,
        }
    }

    /// Counts without showing anything (one stream of many; the caller reports).
    pub fn hidden() -> Progress {
        let now = Instant::now();
        Progress {
            bar: ProgressBar::hidden(),
            what: "",
            started: now,
            last_line: now,
            done: 0,
            lines: false,
        }
    }

    pub fn add(&mut self, n: u64) {
        self.done += n;
        self.bar.inc(n);
        if self.lines && self.bar.is_hidden() && self.last_line.elapsed() >= LINE_EVERY {
            self.last_line = Instant::now();
            tracing::info!(
                "{} {} ({}/s)",
                self.what,
                HumanBytes(self.done),
                HumanBytes(self.rate())
            );
        }
    }

    pub fn rate(&self) -> u64 {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        (self.done as f64 / secs) as u64
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn done(&self) -> u64 {
        self.done
    }

    /// A handle that names the current step ("data public.users", "index …").
    pub fn phase(&self) -> Phase {
        Phase {
            bar: self.bar.clone(),
            quiet: false,
        }
    }
}

/// Names the step in progress: on the bar on a terminal, as a log line otherwise.
#[derive(Clone)]
pub struct Phase {
    bar: ProgressBar,
    quiet: bool,
}

impl Phase {
    /// Steps worth only a debug line (a part of a bigger job, such as a plan's copy).
    pub fn quiet() -> Phase {
        Phase {
            bar: ProgressBar::hidden(),
            quiet: true,
        }
    }

    pub fn set(&self, step: impl Into<String>) {
        let step = step.into();
        if self.quiet {
            tracing::debug!("{step}");
        } else if self.bar.is_hidden() {
            tracing::info!("{step}");
        }
        self.bar.set_message(step);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
