//! Building and running the node: one tokio runtime, storage opened once, migrations applied,
//! supervised background tasks, HTTP served until shutdown, then a clean drain.

use crate::backend::{Backend, BackendError};
use crate::config::Config;
use crate::http::{HttpState, router};
use crate::migrate::{self, MigrateError};
use crate::supervise::every;
use base64::Engine;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("search: {0}")]
    Search(String),
    #[error("API: {0}")]
    Api(String),
    #[error("sessions: {0}")]
    Sessions(String),
    #[error("operator token file {path}: {source}")]
    Token { path: String, source: std::io::Error },
}

pub struct App;

/// A started node. Dropping it does not stop it; call `shutdown`.
pub struct RunningApp {
    pub addr: SocketAddr,
    pub ops_token: Arc<str>,
    pub backend: Backend,
    /// Indexing and retrieval (standalone mode; in the cloud the indexer is a Lambda).
    pub search: Option<crate::search::SearchServices>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl App {
    pub async fn start(config: Config) -> Result<RunningApp, StartError> {
        Self::start_with(config, |_, _| axum::Router::new()).await
    }

    /// Starts the node with more routes on its HTTP server, built once the storage is open and
    /// the address known (the demo's chat page).
    pub async fn start_with(config: Config, extra_routes: impl FnOnce(&Backend, SocketAddr) -> axum::Router) -> Result<RunningApp, StartError> {
        let backend = Backend::connect(&config).await?;
        Self::start_on(config, backend, extra_routes).await
    }

    /// Starts the node on storage opened already (tests bring their own AWS SDK settings).
    pub async fn start_on(config: Config, backend: Backend, extra_routes: impl FnOnce(&Backend, SocketAddr) -> axum::Router) -> Result<RunningApp, StartError> {
        let report = migrate::run(&backend, &config).await?;
        tracing::info!(backend = backend.kind.as_str(), schema_version = report.schema_version, "storage ready");
        // Built before any task starts, so a refusal (e.g. an index of another model) leaves
        // nothing running that holds the database.
        let search = match config.node_consumers {
            true => Some(crate::search::SearchServices::build(&backend, &config).await.map_err(StartError::Search)?),
            false => None,
        };
        let ops_token: Arc<str> = match &config.ops_token {
            Some(token) => token.as_str().into(),
            None => load_or_create_token(&config.data_dir)?.into(),
        };
        let listener =
            tokio::net::TcpListener::bind(config.http_addr).await.map_err(|source| StartError::Bind { addr: config.http_addr, source })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind { addr: config.http_addr, source })?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = Vec::new();

        if let Some(table) = backend.embedded.clone() {
            // DynamoDB removes expired items itself; the embedded store needs a sweeper.
            tasks.push(every("ttl-sweeper", Duration::from_secs(600), shutdown_rx.clone(), move || {
                let table = table.clone();
                async move {
                    let removed = table.purge_expired().await?;
                    if removed > 0 {
                        tracing::debug!(removed, "expired items purged");
                    }
                    Ok::<(), siftgram_core::ports::StoreError>(())
                }
            }));
        }

        if let Some(search) = &search {
            tasks.extend(crate::search::spawn(backend.clone(), search.clone(), shutdown_rx.clone()));
            tasks.extend(crate::answers::spawn(backend.clone(), search, &config, shutdown_rx.clone()).await.map_err(StartError::Search)?);
        }

        tasks.extend(crate::sessions_task::spawn(backend.clone(), &config, shutdown_rx.clone()).await.map_err(StartError::Sessions)?);

        if let Some(mut bot) = config.bot.clone().filter(|_| config.bot_polling) {
            if config.own_miniapp {
                bot.settings.miniapp_url = format!("http://{addr}/miniapp");
            }
            tasks.push(crate::bot::spawn_polling(backend.clone(), bot, shutdown_rx.clone()));
        }

        let metrics = siftgram_metrics::install().map_err(|e| StartError::Api(e.to_string()))?;
        let queues = Arc::new(crate::api::named_queues(&backend).await.map_err(StartError::Api)?);
        let state = HttpState {
            backend: backend.clone(),
            ops_token: ops_token.clone(),
            schema_version: report.schema_version,
            metrics,
            queues: queues.clone(),
            search: search.clone(),
            drives_sessions: config.telegram.is_some(),
            polls_bot: config.bot.is_some() && config.bot_polling,
        };
        let api = crate::api::services(&backend, search.as_ref(), &queues, &config).await.map_err(StartError::Api)?;
        let routes = router(state, api).merge(extra_routes(&backend, addr));
        let mut stop = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            let serve = axum::serve(listener, routes).with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "HTTP server failed");
            }
        }));
        tracing::info!(%addr, "listening");
        Ok(RunningApp { addr, ops_token, backend, search, shutdown, tasks })
    }
}

impl RunningApp {
    /// Stops accepting work, lets running work finish (at most `grace`), then returns.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.shutdown.send(true);
        let all = futures_join(self.tasks);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("some tasks did not stop within {grace:?}");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn futures_join(tasks: Vec<JoinHandle<()>>) {
    for task in tasks {
        let _ = task.await;
    }
}

/// The operator token from `<data_dir>/ops-token`, created (random, owner-only) on first start.
fn load_or_create_token(data_dir: &Path) -> Result<String, StartError> {
    let path = data_dir.join("ops-token");
    let err = |source| StartError::Token { path: path.display().to_string(), source };
    // Only a missing file means a first start; a token that cannot be read, or was cut short,
    // is the operator's to fix, not something to replace behind their back.
    match std::fs::read_to_string(&path) {
        Ok(token) if token.trim().len() >= 16 => return Ok(token.trim().to_owned()),
        Ok(_) => return Err(err(std::io::Error::other("the token in it is shorter than 16 characters"))),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        Err(_) => {}
    }
    std::fs::create_dir_all(data_dir).map_err(err)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| err(std::io::Error::other(e.to_string())))?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    write_private(&path, &token).map_err(err)?;
    tracing::info!(path = %path.display(), "generated the operator token");
    Ok(token)
}

pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::load_or_create_token;

    #[test]
    fn the_token_is_created_only_when_its_file_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let created = load_or_create_token(dir.path()).unwrap();
        assert_eq!(load_or_create_token(dir.path()).unwrap(), created, "read back, not replaced");
        std::fs::write(dir.path().join("ops-token"), "short").unwrap();
        assert!(load_or_create_token(dir.path()).is_err(), "a cut-short token is the operator's to fix");
        assert_eq!(std::fs::read_to_string(dir.path().join("ops-token")).unwrap(), "short", "and is left as it was");
        let unreadable = tempfile::tempdir().unwrap();
        std::fs::create_dir(unreadable.path().join("ops-token")).unwrap();
        assert!(load_or_create_token(unreadable.path()).is_err(), "a read error is not a first start");
    }
}
