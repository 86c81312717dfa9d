//! Progress bars for the commands that can take more than a few seconds (model install, ingest,
//! extraction batches, evals, book revaluation and grids), drawn by `indicatif` on standard
//! error, and only when standard error is a terminal: in a pipe, a file or a test, a bar is
//! hidden and draws nothing, and the lines a command prints about each item go to standard
//! error as plain lines, exactly as without bars.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A progress bar or spinner; hidden (drawing nothing) unless standard error is a terminal.
pub struct Bar {
    bar: ProgressBar,
    shown: bool,
}

impl Bar {
    /// A bar over `len` items (files, packages, contracts), labelled `what`.
    pub fn new(len: u64, what: &str) -> Self {
        let b = Self::hidden_unless_terminal(ProgressBar::new(len));
        b.bar.set_style(counted_style());
        b.bar.set_prefix(what.to_string());
        if b.shown {
            // The elapsed time moves while one long item runs.
            b.bar.enable_steady_tick(Duration::from_millis(500));
        }
        b
    }

    /// A spinner with the elapsed time, for a job whose size is not known (yet: it becomes a
    /// bar when [`Bar::set`] or [`Bar::hook`] gives a count), labelled `what`.
    pub fn spinner(what: &str) -> Self {
        let b = Self::hidden_unless_terminal(ProgressBar::new_spinner());
        b.bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {elapsed_precise} {wide_msg}")
                .expect("a valid template"),
        );
        b.bar.set_prefix(what.to_string());
        if b.shown {
            b.bar.enable_steady_tick(Duration::from_millis(120));
        }
        b
    }

    fn hidden_unless_terminal(bar: ProgressBar) -> Self {
        let shown = std::io::stderr().is_terminal();
        bar.set_draw_target(if shown {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Self { bar, shown }
    }

    /// Sets the position and the length (for hooks that report `(done, total)`).
    pub fn set(&self, done: u64, total: u64) {
        counted(&self.bar, done, total);
    }

    /// A `(done, total)` hook for a library that reports from wherever it runs.
    pub fn hook(&self) -> impl Fn(usize, usize) + Send + Sync + 'static {
        let bar = self.bar.clone();
        move |done, total| counted(&bar, done as u64, total as u64)
    }

    /// Advances by one item.
    pub fn inc(&self) {
        self.bar.inc(1);
    }

    /// What is being done now (the current file).
    pub fn message(&self, m: impl Into<String>) {
        self.bar.set_message(m.into());
    }

    /// Prints a line on standard error: above the bar on a terminal, as a plain line otherwise.
    pub fn println(&self, line: impl AsRef<str>) {
        if self.shown {
            self.bar.println(line.as_ref());
        } else {
            eprintln!("{}", line.as_ref());
        }
    }

    /// Runs `f` with the bar hidden (for output that must not be drawn over, such as a table).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }
}

/// The style of a bar with a count.
fn counted_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix} [{bar:30}] {pos}/{len} {elapsed_precise} (eta {eta}) {wide_msg}",
    )
    .expect("a valid template")
    .progress_chars("=> ")
}

/// Sets a bar's count, turning a spinner into a bar.
fn counted(bar: &ProgressBar, done: u64, total: u64) {
    if bar.length().is_none() {
        bar.set_style(counted_style());
    }
    bar.set_length(total);
    bar.set_position(done);
}

impl Drop for Bar {
    /// The bar is erased when its job ends, successful or not.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
