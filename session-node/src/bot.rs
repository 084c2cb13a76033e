//! The bot in standalone mode: the same intake and handler tree as the webhook Lambda, fed by
//! long polling, over this node's backend.

use crate::backend::Backend;
use crate::supervise::supervise;
use siftgram_bot::{BotConfig, BotService, Services, run_polling};
use siftgram_core::schema::queue_spec;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long one getUpdates call waits for news.
const POLL_TIMEOUT: Duration = Duration::from_secs(25);

pub async fn services(backend: &Backend, config: &BotConfig) -> Result<Services, String> {
    let spec = |name| queue_spec(name).map_err(|e| e.to_string());
    Ok(config.services(
        backend.repo.clone(),
        backend.queue(spec("jobs")?).await.map_err(|e| e.to_string())?,
        backend.queue(spec("commands")?).await.map_err(|e| e.to_string())?,
    ))
}

/// A supervised task that (re)builds the bot — asking Telegram who it is — and polls for updates
/// until shutdown. Telegram being unreachable only delays the bot; the node keeps running.
pub fn spawn_polling(backend: Backend, config: BotConfig, shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    supervise("bot-polling", shutdown, move |stop| {
        let (backend, config) = (backend.clone(), config.clone());
        async move {
            let service = BotService::new(services(&backend, &config).await?).await.map_err(|e| e.to_string())?;
            tracing::info!("bot is polling for updates");
            run_polling(&service, stop, POLL_TIMEOUT).await.map_err(|e| e.to_string())
        }
    })
}
