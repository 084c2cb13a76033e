//! The node's configuration, read once from the environment.

use crate::backend::BackendKind;
use siftgram_bot::BotConfig;
use siftgram_models::EmbedderConfig;
use siftgram_core::model::TierCatalog;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {why}")]
    Invalid { name: &'static str, why: String },
}

#[derive(Clone)]
pub struct Config {
    pub backend: BackendKind,
    /// Embedded database and generated secrets live here.
    pub data_dir: PathBuf,
    pub http_addr: SocketAddr,
    /// Bearer token for the operator endpoints; generated into `<data_dir>/ops-token` if unset.
    pub ops_token: Option<String>,
    /// DynamoDB table name.
    pub table: String,
    /// Prefix of SQS queue names (and S3 bucket names).
    pub resource_prefix: String,
    /// `AWS_ENDPOINT_URL` (LocalStack) if set.
    pub aws_endpoint: Option<String>,
    pub tiers: TierCatalog,
    /// The Telegram bot (long polling in standalone mode); None without `TELEGRAM_BOT_TOKEN`.
    pub bot: Option<BotConfig>,
    /// The node takes the bot's updates by long polling (`SIFTGRAM_BOT_POLLING`; default: on
    /// the embedded backend only). In the cloud the webhook function takes them and the node
    /// only sends with the token: polling there would delete the webhook.
    pub bot_polling: bool,
    /// The node runs the queue consumers itself — indexer, worker, digest schedule, webhooks —
    /// with its own index under the data dir (`SIFTGRAM_NODE_CONSUMERS`; default: on the
    /// embedded backend only). In the cloud the functions consume the queues; on for the AWS
    /// backend, one node serves everything on DynamoDB and SQS (the chaos run's cloud variant).
    pub node_consumers: bool,
    /// The API and Mini Apps (`/api`, `/miniapp/`); None without `TELEGRAM_BOT_TOKEN`.
    pub api: Option<siftgram_api::ApiConfig>,
    /// `SIFTGRAM_MINIAPP_URL` is unset: the bot's buttons open this node's own `/miniapp/`
    /// (Telegram opens Mini Apps over https only, so a real bot needs the setting).
    pub own_miniapp: bool,
    /// The embedding model for indexing and questions.
    pub embedder: EmbedderConfig,
    /// The tagging model (OpenAI-compatible); None = keyword tags.
    pub tagger: Option<siftgram_models::OpenAiEndpoint>,
    /// The chat providers for answers and digests, in order; None = extractive answers.
    pub chat: Option<std::sync::Arc<siftgram_models::ProviderChain>>,
    /// How the pages posts link to are read (`SIFTGRAM_READ_LINKS`, default on); None = unread.
    pub links: Option<siftgram_web::LinkFetcherSettings>,
    /// SearXNG for `/search`; None = posts only.
    pub searxng: Option<siftgram_web::SearxngConfig>,
    /// Outgoing webhook targets; None = no webhooks.
    pub webhooks: Option<siftgram_web::WebhookTargets>,
    /// Where users' Telegram sessions connect; None = this node drives no sessions.
    pub telegram: Option<TelegramSource>,
    /// `SIFTGRAM_SESSION_KEYS` (`id:base64key,…`); None = a key generated into the data dir.
    pub session_keys: Option<String>,
    /// This node's name in leases (`SIFTGRAM_NODE_ID`, default host-pid).
    pub node_id: String,
    /// `SIFTGRAM_BACKFILL_DEPTH`: the newest this many messages of a channel are backfilled;
    /// None = the whole history.
    pub backfill_depth: Option<u64>,
}

/// The Telegram the session node talks to.
#[derive(Clone)]
pub enum TelegramSource {
    /// Recorded channels (tests, the demo): `SIFTGRAM_TELEGRAM=recorded:<result.json>`.
    Recorded(siftgram_recorded_telegram::RecordedTelegram),
    /// A recorded world served by another process (the chaos run, which outlives the node it
    /// kills): `SIFTGRAM_TELEGRAM=recorded-at:http://127.0.0.1:<port>`.
    RecordedAt(siftgram_recorded_telegram::wire::RemoteTelegram),
    /// Telegram itself over MTProto: `SIFTGRAM_TELEGRAM=grammers` with the app's
    /// `SIFTGRAM_TELEGRAM_API_ID` and `SIFTGRAM_TELEGRAM_API_HASH` (my.telegram.org).
    Grammers(siftgram_grammers::GrammersConnector),
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("Config")
            .field("backend", &self.backend)
            .field("data_dir", &self.data_dir)
            .field("http_addr", &self.http_addr)
            .field("table", &self.table)
            .field("resource_prefix", &self.resource_prefix)
            .field("aws_endpoint", &self.aws_endpoint)
            .field("bot", &self.bot)
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let backend = match get("SIFTGRAM_BACKEND").as_deref() {
            None | Some("embedded") => BackendKind::Embedded,
            Some("aws") => BackendKind::Aws,
            Some(other) => {
                return Err(ConfigError::Invalid { name: "SIFTGRAM_BACKEND", why: format!("{other:?} is not embedded or aws") });
            }
        };
        let http_addr = get("SIFTGRAM_HTTP_ADDR")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .map_err(|e| ConfigError::Invalid { name: "SIFTGRAM_HTTP_ADDR", why: format!("{e}") })?;
        let tiers = TierCatalog::from_lookup(&lookup).map_err(|(name, why)| ConfigError::Invalid { name, why })?;
        let bot = BotConfig::from_lookup(&lookup).map_err(|e| ConfigError::Invalid { name: e.name, why: e.why })?;
        let api = siftgram_api::ApiConfig::from_lookup(&lookup).map_err(|e| ConfigError::Invalid { name: e.name, why: e.why })?;
        let embedder = EmbedderConfig::from_lookup(&lookup).map_err(|(name, why)| ConfigError::Invalid { name, why })?;
        let ops_token = get("SIFTGRAM_OPS_TOKEN");
        if ops_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(ConfigError::Invalid { name: "SIFTGRAM_OPS_TOKEN", why: "use at least 16 characters".into() });
        }
        Ok(Config {
            backend,
            data_dir: get("SIFTGRAM_DATA_DIR").unwrap_or_else(|| "data".into()).into(),
            http_addr,
            ops_token,
            table: get("SIFTGRAM_TABLE").unwrap_or_else(|| "siftgram".into()),
            resource_prefix: get("SIFTGRAM_RESOURCE_PREFIX").unwrap_or_else(|| "siftgram-".into()),
            aws_endpoint: get("AWS_ENDPOINT_URL"),
            tiers,
            bot_polling: flag(&get, "SIFTGRAM_BOT_POLLING")?.unwrap_or(backend == BackendKind::Embedded),
            node_consumers: match flag(&get, "SIFTGRAM_NODE_CONSUMERS")? {
                None => backend == BackendKind::Embedded,
                Some(false) if backend == BackendKind::Embedded => return Err(ConfigError::Invalid { name: "SIFTGRAM_NODE_CONSUMERS", why: "the embedded backend's queues have no other consumer".into() }),
                Some(on) => on,
            },
            bot,
            api,
            own_miniapp: get("SIFTGRAM_MINIAPP_URL").is_none(),
            embedder,
            tagger: siftgram_models::tagger_from_lookup(&lookup),
            chat: siftgram_models::chat_from_lookup(&lookup)
                .map_err(|(name, why)| ConfigError::Invalid { name: "SIFTGRAM_CHAT_<n>_*", why: format!("{name}: {why}") })?
                .map(std::sync::Arc::new),
            searxng: siftgram_web::SearxngConfig::from_lookup(&lookup),
            links: siftgram_web::LinkFetcherSettings::from_lookup(&lookup).map_err(|(name, why)| ConfigError::Invalid { name, why })?,
            webhooks: siftgram_web::WebhookTargets::from_lookup(&lookup).map_err(|(name, why)| ConfigError::Invalid { name, why })?,
            telegram: telegram_source(&get)?,
            backfill_depth: match get("SIFTGRAM_BACKFILL_DEPTH") {
                None => None,
                Some(v) => Some(v.trim().parse().ok().filter(|&d: &u64| d > 0).ok_or(ConfigError::Invalid { name: "SIFTGRAM_BACKFILL_DEPTH", why: format!("{v:?} is not a positive number of messages") })?),
            },
            session_keys: get("SIFTGRAM_SESSION_KEYS"),
            node_id: get("SIFTGRAM_NODE_ID").unwrap_or_else(|| format!("{}-{}", std::env::var("HOSTNAME").unwrap_or_else(|_| "node".into()), std::process::id())),
        })
    }
}

/// An on/off setting: None when unset.
fn flag(get: &impl Fn(&str) -> Option<String>, name: &'static str) -> Result<Option<bool>, ConfigError> {
    match get(name).as_deref().map(str::trim) {
        None => Ok(None),
        Some("true" | "1" | "yes") => Ok(Some(true)),
        Some("false" | "0" | "no") => Ok(Some(false)),
        Some(other) => Err(ConfigError::Invalid { name, why: format!("{other:?} is not true or false") }),
    }
}

fn telegram_source(get: &impl Fn(&str) -> Option<String>) -> Result<Option<TelegramSource>, ConfigError> {
    let invalid = |why: String| ConfigError::Invalid { name: "SIFTGRAM_TELEGRAM", why };
    let Some(value) = get("SIFTGRAM_TELEGRAM") else { return Ok(None) };
    if value == "grammers" {
        let api_id = get("SIFTGRAM_TELEGRAM_API_ID")
            .and_then(|v| v.trim().parse::<i32>().ok())
            .filter(|&id| id > 0)
            .ok_or(ConfigError::Invalid { name: "SIFTGRAM_TELEGRAM_API_ID", why: "set it to the app's api_id from my.telegram.org".into() })?;
        let api_hash = get("SIFTGRAM_TELEGRAM_API_HASH")
            .filter(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or(ConfigError::Invalid { name: "SIFTGRAM_TELEGRAM_API_HASH", why: "set it to the app's 32-character api_hash from my.telegram.org".into() })?;
        return Ok(Some(TelegramSource::Grammers(siftgram_grammers::GrammersConnector::new(api_id, &api_hash))));
    }
    if let Some(url) = value.strip_prefix("recorded-at:") {
        if !url.starts_with("http://") {
            return Err(invalid(format!("{value:?}: expected recorded-at:http://<host>:<port>")));
        }
        // Its HTTP client is built now, before the node would install the TLS provider.
        siftgram_models::install_tls_provider();
        return Ok(Some(TelegramSource::RecordedAt(siftgram_recorded_telegram::wire::RemoteTelegram::new(url))));
    }
    let Some(path) = value.strip_prefix("recorded:") else {
        return Err(invalid(format!("{value:?}: expected grammers, recorded:<result.json> or recorded-at:<url>")));
    };
    let text = std::fs::read_to_string(path).map_err(|e| invalid(format!("{path}: {e}")))?;
    let channels = siftgram_core::export::read_desktop_export(&text).map_err(|e| invalid(format!("{path}: {e}")))?;
    let telegram = siftgram_recorded_telegram::RecordedTelegram::new();
    for channel in &channels {
        // Exports carry no username; the demo names each channel after its id.
        telegram.add_channel(channel, Some(&format!("channel{}", channel.id)));
    }
    Ok(Some(TelegramSource::Recorded(telegram)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_standalone_node() {
        let c = config(&[]).unwrap();
        assert_eq!(c.backend, BackendKind::Embedded);
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("data"));
    }

    #[test]
    fn bad_values_are_refused_with_their_name() {
        let err = config(&[("SIFTGRAM_BACKEND", "mongo")]).unwrap_err().to_string();
        assert!(err.contains("SIFTGRAM_BACKEND"), "{err}");
        assert!(config(&[("SIFTGRAM_HTTP_ADDR", "nowhere")]).is_err());
        let err = config(&[("SIFTGRAM_NODE_CONSUMERS", "false")]).unwrap_err().to_string();
        assert!(err.contains("SIFTGRAM_NODE_CONSUMERS"), "nobody else reads the embedded queues: {err}");
        assert!(config(&[("SIFTGRAM_BACKEND", "aws")]).is_ok_and(|c| !c.node_consumers), "the functions consume in the cloud");
        assert!(config(&[("SIFTGRAM_BACKEND", "aws"), ("SIFTGRAM_NODE_CONSUMERS", "true")]).is_ok_and(|c| c.node_consumers));
        assert!(config(&[("SIFTGRAM_OPS_TOKEN", "short")]).is_err());
        assert!(config(&[("SIFTGRAM_TIERS_JSON", "{\"gold\":{}}")]).is_err());
    }

    #[test]
    fn the_real_telegram_needs_the_apps_credentials() {
        let grammers = [("SIFTGRAM_TELEGRAM", "grammers"), ("SIFTGRAM_TELEGRAM_API_ID", "12345"), ("SIFTGRAM_TELEGRAM_API_HASH", "0123456789abcdef0123456789abcdef")];
        let c = config(&grammers).unwrap();
        assert!(matches!(c.telegram, Some(TelegramSource::Grammers(_))));
        let err = config(&grammers[..2]).unwrap_err().to_string();
        assert!(err.contains("SIFTGRAM_TELEGRAM_API_HASH"), "{err}");
        let err = config(&[grammers[0], ("SIFTGRAM_TELEGRAM_API_ID", "abc"), grammers[2]]).unwrap_err().to_string();
        assert!(err.contains("SIFTGRAM_TELEGRAM_API_ID"), "{err}");
        let err = config(&[("SIFTGRAM_TELEGRAM", "mtproto")]).unwrap_err().to_string();
        assert!(err.contains("SIFTGRAM_TELEGRAM") && err.contains("grammers"), "{err}");
    }

    #[test]
    fn backfill_depth_is_a_positive_number_or_the_whole_history() {
        assert_eq!(config(&[]).unwrap().backfill_depth, None);
        assert_eq!(config(&[("SIFTGRAM_BACKFILL_DEPTH", "5000")]).unwrap().backfill_depth, Some(5000));
        assert!(config(&[("SIFTGRAM_BACKFILL_DEPTH", "0")]).is_err());
        assert!(config(&[("SIFTGRAM_BACKFILL_DEPTH", "lots")]).is_err());
    }

    #[test]
    fn the_bot_is_polled_standalone_and_left_to_the_webhook_in_the_cloud() {
        assert!(config(&[]).unwrap().bot_polling);
        assert!(!config(&[("SIFTGRAM_BACKEND", "aws")]).unwrap().bot_polling, "polling would delete the webhook");
        assert!(config(&[("SIFTGRAM_BACKEND", "aws"), ("SIFTGRAM_BOT_POLLING", "true")]).unwrap().bot_polling);
        assert!(!config(&[("SIFTGRAM_BOT_POLLING", "false")]).unwrap().bot_polling);
        let err = config(&[("SIFTGRAM_BOT_POLLING", "sometimes")]).unwrap_err().to_string();
        assert!(err.contains("SIFTGRAM_BOT_POLLING"), "{err}");
    }

    #[test]
    fn debug_output_hides_the_ops_token() {
        let c = config(&[("SIFTGRAM_OPS_TOKEN", "a-very-secret-token-value")]).unwrap();
        assert!(!format!("{c:?}").contains("a-very-secret"));
    }
}
