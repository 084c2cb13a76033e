//! Every signed-in user gets a driver on some node: this node tries to drive each user with a
//! stored session (the lease decides who wins), restarts drivers that end, and on shutdown
//! stops them all — each finishes its page, flushes its cursor and releases its leases.

use super::driver::{DriveEnd, SessionDriver};
use siftgram_core::model::UserId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct SessionNode {
    pub driver: Arc<SessionDriver>,
    /// How often the user list is checked for users nobody drives.
    pub scan_every: Duration,
}

impl SessionNode {
    /// Runs until `stop` turns true; returns when every driver has stopped.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut running: HashMap<UserId, JoinHandle<()>> = HashMap::new();
        loop {
            running.retain(|_, task| !task.is_finished());
            match self.driver.repo.users_with_sessions().await {
                Ok(users) => {
                    for user in users {
                        if running.contains_key(&user) {
                            continue;
                        }
                        let (driver, user_stop) = (self.driver.clone(), stop.clone());
                        // One task per user: a panic or a FLOOD_WAIT there touches nobody else.
                        running.insert(
                            user,
                            tokio::spawn(async move {
                                match driver.drive(user, user_stop).await {
                                    Ok(DriveEnd::OwnedElsewhere | DriveEnd::Stopped | DriveEnd::NoSession) => {}
                                    Ok(end) => tracing::info!(user = %user, ?end, "session driver ended"),
                                    Err(e) => tracing::error!(user = %user, error = %e, "session driver failed; it will be restarted"),
                                }
                            }),
                        );
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
}
