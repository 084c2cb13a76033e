//! Long polling (standalone mode): the same intake and handler tree, fed by `getUpdates`.

use crate::intake::BotService;
use crate::send::with_retry;
use std::time::Duration;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::requests::Requester;
use tokio::sync::watch;

/// Polls until `stop` turns true. Each update is handled before the offset moves past it, so a
/// crash re-reads what was not finished (and the update claims make the re-read a no-op).
pub async fn run_polling(service: &BotService, mut stop: watch::Receiver<bool>, poll_timeout: Duration) -> Result<(), teloxide::RequestError> {
    let bot = service.services().out.bot.clone();
    // A webhook left in place makes getUpdates fail with 409; polling means no webhook.
    bot.delete_webhook().await?;
    let mut offset: i32 = 0;
    let mut backoff = Backoff::default();
    loop {
        let request = bot.get_updates().offset(offset).timeout(poll_timeout.as_secs() as u32);
        let updates = tokio::select! {
            r = with_retry(request, Duration::from_secs(60)) => r?,
            _ = stop.wait_for(|s| *s) => return Ok(()),
        };
        for update in updates {
            offset = offset.max(update.id.0 as i32 + 1);
            let update_id = update.id.0;
            if let Err(e) = service.handle_update(update).await {
                // Read it again on the next poll: its claim counts the failures, and after
                // MAX_UPDATE_FAILURES it is acknowledged, so one update cannot stop the bot.
                offset = update_id as i32;
                let wait = backoff.next();
                tracing::error!(update_id, error = %e, retry_in_ms = wait.as_millis() as u64, "update failed; it will be retried");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return Ok(()),
                }
                break;
            }
            backoff = Backoff::default();
        }
        if *stop.borrow() {
            return Ok(());
        }
    }
}

/// Waits between retries of a failing update: 1 s, doubling, at most 30 s.
#[derive(Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let wait = Duration::from_secs(1 << self.failures.min(5)).min(Duration::from_secs(30));
        self.failures += 1;
        wait
    }
}
