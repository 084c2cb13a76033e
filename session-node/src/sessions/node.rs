//! Every signed-in user gets a driver on some node: this node tries to drive each user with a
//! stored session (the lease decides who wins), restarts drivers that end — one that failed
//! (network lost, Telegram erroring) after a delay doubling per failure — and on shutdown stops
//! them all: each finishes its page, flushes its cursor and releases its leases.

use super::driver::{DriveEnd, SessionDriver};
use siftgram_core::model::UserId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The longest wait before a failing user's driver is tried again.
pub const MAX_RESTART_DELAY: Duration = Duration::from_secs(300);

/// How long to wait before driving a user again after `failures` failures in a row.
pub fn restart_delay(failures: u32, base: Duration) -> Duration {
    base.saturating_mul(1 << failures.saturating_sub(1).min(16)).min(MAX_RESTART_DELAY)
}

pub struct SessionNode {
    pub driver: Arc<SessionDriver>,
    /// How often the user list is checked for users nobody drives (and the first restart delay).
    pub scan_every: Duration,
}

/// Failures in a row per user, and when the user may be driven again.
type Failures = Arc<Mutex<HashMap<UserId, (u32, Instant)>>>;

impl SessionNode {
    /// Runs until `stop` turns true; returns when every driver has stopped.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut running: HashMap<UserId, JoinHandle<()>> = HashMap::new();
        let failures: Failures = Arc::default();
        loop {
            running.retain(|_, task| !task.is_finished());
            match self.driver.repo.users_with_sessions().await {
                Ok(users) => {
                    for user in users {
                        let backing_off = failures.lock().expect("failures").get(&user).is_some_and(|(_, next)| *next > Instant::now());
                        if running.contains_key(&user) || backing_off {
                            continue;
                        }
                        running.insert(user, self.spawn_driver(user, stop.clone(), failures.clone()));
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot list sessions"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.scan_every) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        for (_, task) in running {
            let _ = task.await;
        }
    }

    /// One task per user: a panic or a FLOOD_WAIT there touches nobody else.
    fn spawn_driver(&self, user: UserId, stop: watch::Receiver<bool>, failures: Failures) -> JoinHandle<()> {
        let (driver, base) = (self.driver.clone(), self.scan_every);
        tokio::spawn(async move {
            match driver.drive(user, stop).await {
                Ok(end) => {
                    failures.lock().expect("failures").remove(&user);
                    if !matches!(end, DriveEnd::OwnedElsewhere | DriveEnd::Stopped | DriveEnd::NoSession) {
                        tracing::info!(user = %user, ?end, "session driver ended");
                    }
                }
                Err(e) => {
                    let mut failures = failures.lock().expect("failures");
                    let count = failures.get(&user).map_or(0, |(n, _)| *n) + 1;
                    let delay = restart_delay(count, base);
                    failures.insert(user, (count, Instant::now() + delay));
                    tracing::error!(user = %user, error = %e, failures = count, retry_in_secs = delay.as_secs_f32(), "session driver failed; it will be restarted");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restarts_back_off_doubling_up_to_five_minutes() {
        let base = Duration::from_secs(5);
        let delays: Vec<u64> = (1..=9).map(|n| restart_delay(n, base).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(restart_delay(u32::MAX, base), MAX_RESTART_DELAY);
    }
}
