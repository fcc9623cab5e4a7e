//! The spinner of apply and destroy. The executor (`crate::apply`) reports no
//! progress of its own, so the spinner shows the plan's action count and the
//! kernel write requests sent so far (`crate::kernel::write_count`), which
//! grow as the run goes. It appears only on a terminal, never with --json or
//! -q, and only once a run has taken longer than a second: short runs print
//! nothing extra.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a run goes before the spinner shows.
const DELAY: Duration = Duration::from_secs(1);

/// A spinner on stderr, cleared when dropped.
pub struct Spinner {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Spinner {
    /// Starts the clock; `off` (--json, -q) or a stderr that is not a
    /// terminal keeps the spinner hidden for good.
    pub fn start(verb: &'static str, actions: usize, off: bool) -> Spinner {
        let stop = Arc::new(AtomicBool::new(false));
        if off || actions == 0 || !std::io::stderr().is_terminal() {
            return Spinner { stop, thread: None };
        }
        let flag = stop.clone();
        let thread = std::thread::spawn(move || spin(verb, actions, &flag));
        Spinner {
            stop,
            thread: Some(thread),
        }
    }
}

fn spin(verb: &str, actions: usize, stop: &AtomicBool) {
    let began = Instant::now();
    let writes_before = crate::machine::local::write_count();
    while began.elapsed() < DELAY {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        .with_elapsed(began.elapsed());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .expect("spinner template")
            .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    let plural = if actions == 1 { "" } else { "s" };
    while !stop.load(Ordering::Relaxed) {
        let writes = crate::machine::local::write_count() - writes_before;
        bar.set_message(format!(
            "{verb} {actions} action{plural}: {writes} kernel writes so far"
        ));
        std::thread::sleep(Duration::from_millis(50));
    }
    bar.finish_and_clear();
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
