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
        // Only a missing file means a first start: any other failure (permissions, a damaged
        // disk) must not silently replace the key and make every stored session unreadable.
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(format!("{}: {e} (the session key cannot be read; not generating another)", path.display())),
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
        TelegramSource::RecordedAt(remote) => Arc::new(remote.clone()),
        TelegramSource::Grammers(connector) => Arc::new(connector.clone()),
    };
    let cipher = session_cipher(config)?;
    // Senders (the Mini App's API) seal 2FA passwords to this key before they are enqueued.
    let password_key = cipher.passwords().public().expect("a session cipher has a key");
    backend.repo.publish_password_key(&password_key).await.map_err(|e| format!("publishing the password key: {e}"))?;
    let queue = |name: &'static str| {
        let backend = backend.clone();
        async move { backend.queue(queue_spec(name).map_err(|e| e.to_string())?).await.map_err(|e| e.to_string()) }
    };
    let (posts, events) = (queue("posts").await?, backend.events_queue(config).await?);
    let sync = Arc::new(ChannelSync { repo: backend.repo.clone(), publisher: PostPublisher { posts }, events: events.clone(), page: 100, depth: config.backfill_depth });
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
        events,
        login_poll: Duration::from_secs(1),
        progress_poll: Duration::from_secs(2),
    };
    let node = SessionNode { driver, scan_every: Duration::from_secs(5) };
    let stop = shutdown.clone();
    Ok(vec![consume_queue("session-commands", backend, "commands", Arc::new(commands), shutdown), tokio::spawn(async move { node.run(stop).await })])
}

#[cfg(test)]
mod tests {
    use super::session_cipher;
    use siftgram_core::model::UserId;
    use crate::config::Config;

    fn config_in(dir: &std::path::Path) -> Config {
        let dir = dir.display().to_string();
        Config::from_lookup(|k| (k == "SIFTGRAM_DATA_DIR").then(|| dir.clone())).unwrap()
    }

    #[test]
    fn the_session_key_is_generated_only_when_its_file_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        let first = session_cipher(&config).unwrap();
        let sealed = first.seal(UserId::new(1).unwrap(), b"session");
        assert_eq!(session_cipher(&config).unwrap().open(UserId::new(1).unwrap(), &sealed).unwrap(), b"session", "the same key on the next start");

        // A key file that cannot be read must stop the node, not be replaced by a new key
        // (which would make every stored session unreadable).
        let unreadable = tempfile::tempdir().unwrap();
        std::fs::create_dir(unreadable.path().join("session-keys")).unwrap();
        let err = session_cipher(&config_in(unreadable.path())).unwrap_err();
        assert!(err.contains("not generating another"), "{err}");
        std::fs::write(dir.path().join("session-keys"), "k1:not-base64").unwrap();
        assert!(session_cipher(&config).is_err(), "a damaged key file is refused too");
    }
}
