//! Long polling (standalone mode): the same intake and handler tree, fed by `getUpdates`.

use crate::intake::BotService;
use crate::send::with_retry;
use siftgram_core::consume::backoff;
use std::time::Duration;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::requests::Requester;
use tokio::sync::watch;

/// When getUpdates last answered (unix seconds; 0: never), for the node's `/health`.
static LAST_POLL: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// When this process's long polling last heard from Telegram (None: not yet, or no polling).
pub fn last_poll() -> Option<siftgram_core::Timestamp> {
    let at = LAST_POLL.load(std::sync::atomic::Ordering::Relaxed);
    (at > 0).then_some(siftgram_core::Timestamp(at))
}

/// Polls until `stop` turns true. Each update is handled before the offset moves past it, so a
/// crash re-reads what was not finished: the update claims make the re-read of a finished one a
/// no-op and let this poller take over one the dead process left running.
pub async fn run_polling(service: &BotService, mut stop: watch::Receiver<bool>, poll_timeout: Duration) -> Result<(), teloxide::RequestError> {
    let bot = service.services().out.bot.clone();
    // A webhook left in place makes getUpdates fail with 409; polling means no webhook.
    bot.delete_webhook().await?;
    let mut offset: i32 = 0;
    // Failures of the update being retried: its waits are the queues' backoff, at most 30 s.
    let mut failures: u32 = 0;
    loop {
        let request = bot.get_updates().offset(offset).timeout(poll_timeout.as_secs() as u32);
        let updates = tokio::select! {
            r = with_retry(request, Duration::from_secs(60)) => r?,
            _ = stop.wait_for(|s| *s) => return Ok(()),
        };
        LAST_POLL.store(siftgram_core::Clock::now(&siftgram_core::SystemClock).0, std::sync::atomic::Ordering::Relaxed);
        for update in updates {
            offset = offset.max(update.id.0 as i32 + 1);
            let update_id = update.id.0;
            if let Err(e) = service.handle_update(update, crate::intake::Taker::Polling).await {
                // Read it again on the next poll: its claim counts the failures, and after
                // MAX_UPDATE_FAILURES it is acknowledged, so one update cannot stop the bot.
                offset = update_id as i32;
                failures += 1;
                let wait = backoff(failures).min(MAX_RETRY_WAIT);
                tracing::error!(update_id, error = %e, retry_in_ms = wait.as_millis() as u64, "update failed; it will be retried");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return Ok(()),
                }
                break;
            }
            failures = 0;
        }
        if *stop.borrow() {
            return Ok(());
        }
    }
}

/// The longest wait before a failing update is read again.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
