//! Progress of long work (`reindex`, `eval`'s indexing and questions) on stderr: a line every few
//! seconds with the count, the share done, the rate and the time left, and one when it ends.

use std::time::{Duration, Instant};

pub struct Progress {
    what: &'static str,
    unit: &'static str,
    total: Option<u64>,
    done: u64,
    started: Instant,
    printed: Instant,
    every: Duration,
}

impl Progress {
    /// `total` None: the amount is not known in advance (no share, no time left).
    pub fn new(what: &'static str, unit: &'static str, total: Option<u64>) -> Progress {
        let now = Instant::now();
        Progress { what, unit, total, done: 0, started: now, printed: now, every: Duration::from_secs(3) }
    }

    pub fn add(&mut self, n: u64) {
        self.done += n;
        if self.printed.elapsed() >= self.every {
            eprintln!("{}", line(self.what, self.unit, self.done, self.total, self.started.elapsed()));
            self.printed = Instant::now();
        }
    }

    /// Prints and returns the closing line.
    pub fn finish(&self) -> String {
        let line = done_line(self.what, self.unit, self.done, self.started.elapsed());
        eprintln!("{line}");
        line
    }
}

fn rate(done: u64, elapsed: Duration) -> f64 {
    done as f64 / elapsed.as_secs_f64().max(1e-3)
}

fn clock(secs: f64) -> String {
    let secs = secs.round() as u64;
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// `[reindex] 1200/22000 posts (5%), 41.0/s, about 8m 27s left`
pub fn line(what: &str, unit: &str, done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let per_second = rate(done, elapsed);
    match total {
        Some(total) if total > 0 => {
            let left = if per_second > 0.0 { clock(total.saturating_sub(done) as f64 / per_second) } else { "?".into() };
            format!("[{what}] {done}/{total} {unit} ({}%), {per_second:.1}/s, about {left} left", done * 100 / total)
        }
        _ => format!("[{what}] {done} {unit}, {per_second:.1}/s"),
    }
}

/// `[reindex] 22000 posts in 8m 57s (41.0/s)`
pub fn done_line(what: &str, unit: &str, done: u64, elapsed: Duration) -> String {
    format!("[{what}] {done} {unit} in {} ({:.1}/s)", clock(elapsed.as_secs_f64()), rate(done, elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_how_far_how_fast_and_how_long_is_left() {
        assert_eq!(line("reindex", "posts", 1200, Some(22_000), Duration::from_secs(30)), "[reindex] 1200/22000 posts (5%), 40.0/s, about 8m 40s left");
        assert_eq!(line("eval", "questions", 7, None, Duration::from_secs(2)), "[eval] 7 questions, 3.5/s");
        assert_eq!(line("reindex", "posts", 0, Some(10), Duration::from_secs(1)), "[reindex] 0/10 posts (0%), 0.0/s, about ? left");
        assert_eq!(done_line("reindex", "posts", 22_000, Duration::from_secs(3 * 3600 + 65)), "[reindex] 22000 posts in 3h 01m (2.0/s)");
    }
}
