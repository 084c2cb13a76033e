//! Starting the session side of the node: the session key (configured, or generated into the
//! data dir on first start, owner-only), the channel sync, the drivers under leases, and the
//! commands consumer.

use crate::Backend;
use crate::config::{Config, TelegramSource};
use crate::sessions::{DriveSettings, LoginFlow, SessionCipher, SessionCommands, SessionDriver, SessionNode};
use crate::supervise::consume_queue;
use siftgram_core::ports::TelegramConnector;
use siftgram_core::schema::queue_spec;
use siftgram_core::sync::{ChannelSync, PostPublisher};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

fn session_cipher(config: &Config) -> Result<SessionCipher, String> {
    if let Some(spec) = &config.session_keys {
        return SessionCipher::from_spec(spec).map_err(|e| format!("SIFTGRAM_SESSION_KEYS: {e}"));
    }
    let path = config.data_dir.join("session-keys");
    let spec = match std::fs::read_to_string(&path) {
        Ok(spec) => spec.trim().to_owned(),
        Err(_) => {
            let spec = SessionCipher::generate_spec("local1");
            std::fs::create_dir_all(&config.data_dir).map_err(|e| e.to_string())?;
            crate::app::write_private(&path, &spec).map_err(|e| format!("{}: {e}", path.display()))?;
            tracing::info!(path = %path.display(), "generated the session key");
            spec
        }
    };
    SessionCipher::from_spec(&spec).map_err(|e| format!("{}: {e}", path.display()))
}

pub async fn spawn(backend: Backend, config: &Config, shutdown: watch::Receiver<bool>) -> Result<Vec<JoinHandle<()>>, String> {
    let Some(source) = &config.telegram else { return Ok(Vec::new()) };
    let connector: Arc<dyn TelegramConnector> = match source {
        TelegramSource::Recorded(world) => Arc::new(world.clone()),
        TelegramSource::Grammers(connector) => Arc::new(connector.clone()),
    };
    let cipher = session_cipher(config)?;
    let queue = |name: &'static str| {
        let backend = backend.clone();
        async move { backend.queue(queue_spec(name).map_err(|e| e.to_string())?).await.map_err(|e| e.to_string()) }
    };
    let (posts, events) = (queue("posts").await?, queue("events").await?);
    let sync = Arc::new(ChannelSync { repo: backend.repo.clone(), publisher: PostPublisher { posts }, events: Some(events.clone()), page: 100, depth: config.backfill_depth });
    let driver = Arc::new(SessionDriver {
        node_id: config.node_id.clone(),
        repo: backend.repo.clone(),
        connector: connector.clone(),
        cipher: cipher.clone(),
        sync,
        settings: DriveSettings::default(),
        mailboxes: Default::default(),
        out: config.bot.as_ref().map(|b| b.outbox()),
    });
    let commands = SessionCommands {
        repo: backend.repo.clone(),
        login: Arc::new(LoginFlow::new(backend.repo.clone(), connector, cipher, &config.node_id)),
        mailboxes: driver.mailboxes.clone(),
        out: config.bot.as_ref().map(|b| b.outbox()),
        events: Some(events),
        login_poll: Duration::from_secs(1),
    };
    let node = SessionNode { driver, scan_every: Duration::from_secs(5) };
    let stop = shutdown.clone();
    Ok(vec![consume_queue("session-commands", backend, "commands", Arc::new(commands), shutdown), tokio::spawn(async move { node.run(stop).await })])
}
