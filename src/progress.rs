//! Progress of a long job across all ranks (I/O layer): units done, rate
//! and time left, as a bar on a terminal and as a plain line every
//! `progress_interval` seconds in a batch log (stderr, rank 0 only).
//!
//! Compute threads only bump an atomic counter ([`Progress::inc`]); every
//! MPI call happens on a rank's main thread in [`Progress::tick`], as
//! MPI_THREAD_FUNNELED requires. Rank 0 learns the others' counts in one of
//! two ways, both free of collectives, so ranks with unequal work never wait
//! for each other:
//!
//! - [`Aggregation::Messages`] (static splits: mc, image): every other rank
//!   sends its count to rank 0 at most twice per interval, and a last
//!   message when it is done. Rank 0 polls for them while it works, and in
//!   [`Progress::finish`] keeps receiving until every rank's last message is
//!   in, before any collective. A sender can only wait on rank 0, and rank 0
//!   keeps receiving until every sender is done, so nobody waits forever.
//! - [`Aggregation::Known`] (dynamic hand-out: lightcurves): rank 0 already
//!   knows, because a rank that asks for its next tile has finished the last
//!   one; the dispatcher reports that count with [`Progress::set_others`].
//!
//! Progress never touches results: it only reads counters.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::comm::Comm;

/// The default of every job's `progress_interval` key, seconds.
pub const DEFAULT_INTERVAL: f64 = 10.0;

/// How rank 0 learns the other ranks' counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregation {
    /// Other ranks send their counts (see the module documentation).
    Messages,
    /// Rank 0 is told the others' total ([`Progress::set_others`]).
    Known,
}

/// A job's progress on this rank.
pub struct Progress {
    what: String,
    unit: String,
    total: u64,
    local: AtomicU64,
    rank: usize,
    size: usize,
    interval: Option<Duration>,
    aggregation: Aggregation,
    bar: Option<ProgressBar>,
    start: Instant,
    /// What only the main thread changes (behind a lock so compute threads
    /// can hold `&Progress` meanwhile).
    state: std::sync::Mutex<TickState>,
}

struct TickState {
    last_line: Instant,
    last_sent: Instant,
    /// Rank 0: the last count each rank reported, and whether it is done.
    others: Vec<(u64, bool)>,
    /// Rank 0 with [`Aggregation::Known`]: the others' total.
    others_known: u64,
}

impl Progress {
    /// Progress of `total` `unit`s over all ranks for the job step `what`.
    /// `interval_seconds` is the job's `progress_interval` (0: off, no
    /// messages either; every rank has the same config, so all agree).
    pub fn new(
        comm: &impl Comm,
        what: &str,
        unit: &str,
        total: u64,
        interval_seconds: f64,
        aggregation: Aggregation,
    ) -> Progress {
        let on = interval_seconds > 0.0;
        let interval = on.then(|| Duration::from_secs_f64(interval_seconds));
        let rank = comm.rank();
        let bar = (on && rank == 0 && total > 0 && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "[rank 0] {msg} [{bar:30}] {pos}/{len} ({percent}%) {per_sec} eta {eta}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            bar.set_message(what.to_string());
            bar
        });
        let now = Instant::now();
        Progress {
            what: what.to_string(),
            unit: unit.to_string(),
            total,
            local: AtomicU64::new(0),
            rank,
            size: comm.size(),
            interval,
            aggregation,
            bar,
            start: now,
            state: std::sync::Mutex::new(TickState {
                last_line: now,
                last_sent: now,
                others: vec![(0, false); comm.size()],
                others_known: 0,
            }),
        }
    }

    /// A progress that shows and sends nothing (benchmarks, tests).
    pub fn off() -> Progress {
        Progress::new(&crate::comm::SerialComm, "", "", 0, 0.0, Aggregation::Known)
    }

    /// Counts `n` more units done on this rank; any thread may call it.
    #[inline]
    pub fn inc(&self, n: u64) {
        self.local.fetch_add(n, Ordering::Relaxed);
    }

    /// Rank 0 with [`Aggregation::Known`]: the other ranks have done `n` units.
    pub fn set_others(&self, n: u64) {
        self.lock().others_known = n;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TickState> {
        // a panic elsewhere aborts the job; the counters stay usable
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Units done over all ranks, as far as this rank knows.
    pub fn done(&self) -> u64 {
        let mine = self.local.load(Ordering::Relaxed);
        let st = self.lock();
        match self.aggregation {
            Aggregation::Known => mine + st.others_known,
            Aggregation::Messages => mine + st.others.iter().skip(1).map(|o| o.0).sum::<u64>(),
        }
    }

    /// Main thread only, called often (every few milliseconds to a second):
    /// rank 0 takes in the others' counts and prints when a line is due;
    /// other ranks send their count when one is due.
    pub fn tick(&self, comm: &impl Comm) {
        let Some(interval) = self.interval else {
            return;
        };
        if self.rank == 0 {
            self.receive(comm);
            let done = self.done();
            if let Some(bar) = &self.bar {
                bar.set_position(done.min(self.total));
            } else {
                let mut st = self.lock();
                if st.last_line.elapsed() >= interval {
                    st.last_line = Instant::now();
                    drop(st);
                    eprintln!("[rank 0] {}", self.line(done, false));
                }
            }
        } else if self.aggregation == Aggregation::Messages {
            let mut st = self.lock();
            if st.last_sent.elapsed() >= (interval / 2).min(Duration::from_millis(500)) {
                st.last_sent = Instant::now();
                drop(st);
                comm.send_progress(self.local.load(Ordering::Relaxed), false);
            }
        }
    }

    fn receive(&self, comm: &impl Comm) {
        if self.aggregation != Aggregation::Messages {
            return;
        }
        while let Some((rank, done, finished)) = comm.poll_progress() {
            if let Some(slot) = self.lock().others.get_mut(rank) {
                *slot = (done, finished);
            }
        }
    }

    /// The plain line: `what: done/total unit (pct%), rate unit/s, elapsed, time left`.
    pub fn line(&self, done: u64, finished: bool) -> String {
        let secs = self.start.elapsed().as_secs_f64();
        let rate = done as f64 / secs.max(1e-9);
        let pct = if self.total > 0 {
            100.0 * done as f64 / self.total as f64
        } else {
            100.0
        };
        let left = if finished {
            "done".to_string()
        } else if done > 0 && rate > 0.0 {
            format!(
                "{} left",
                short_duration(self.total.saturating_sub(done) as f64 / rate)
            )
        } else {
            "time left unknown".to_string()
        };
        format!(
            "{}: {done}/{} {} ({pct:.1}%), {} {}/s, {} elapsed, {left}",
            self.what,
            self.total,
            self.unit,
            short_rate(rate),
            self.unit,
            short_duration(secs)
        )
    }

    /// Ends the progress, before the job's next collective: other ranks
    /// send their final count; rank 0 receives until every rank's final
    /// count is in, then prints the final line (or clears the bar).
    pub fn finish(mut self, comm: &impl Comm) {
        if self.interval.is_none() {
            return;
        }
        if self.rank != 0 {
            if self.aggregation == Aggregation::Messages {
                comm.send_progress(self.local.load(Ordering::Relaxed), true);
            }
            return;
        }
        if self.aggregation == Aggregation::Messages {
            while self
                .lock()
                .others
                .iter()
                .take(self.size)
                .skip(1)
                .any(|o| !o.1)
            {
                self.receive(comm);
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let done = self.done();
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!("[rank 0] {}", self.line(done, true));
    }
}

/// Runs `work` on a helper thread while this (the main) thread ticks
/// `progress` every 50 ms: for jobs whose compute would otherwise hold the
/// main thread (`work` must not call MPI). With progress off, `work` runs
/// here.
pub fn while_ticking<T: Send>(
    progress: &Progress,
    comm: &impl Comm,
    work: impl FnOnce() -> T + Send,
) -> T {
    if progress.interval.is_none() {
        return work();
    }
    std::thread::scope(|s| {
        let h = s.spawn(work);
        while !h.is_finished() {
            progress.tick(comm);
            std::thread::sleep(Duration::from_millis(50));
        }
        match h.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

fn short_duration(s: f64) -> String {
    if !s.is_finite() {
        return "?".into();
    }
    let s = s.max(0.0);
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{}m{:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{}h{:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}

fn short_rate(r: f64) -> String {
    if r >= 1e9 {
        format!("{:.2}e9", r / 1e9)
    } else if r >= 1e6 {
        format!("{:.2}e6", r / 1e6)
    } else if r >= 100.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.2}")
    }
}
