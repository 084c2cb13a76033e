//! The bot's part of a binary's configuration, read from the environment by each binary's
//! `Config` (the Lambda and the session node read the same variable names).

use crate::settings::BotSettings;
use siftgram_core::model::UserId;
use siftgram_core::rules::RateLimit;
use teloxide::Bot;

#[derive(Clone)]
pub struct BotConfig {
    token: String,
    /// Another Bot API server (a local one, or the fake in tests); None = api.telegram.org.
    pub api_url: Option<url::Url>,
    pub settings: BotSettings,
}

impl std::fmt::Debug for BotConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotConfig").field("token", &"<redacted>").field("api_url", &self.api_url).field("settings", &self.settings).finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {why}")]
pub struct BotConfigError {
    pub name: &'static str,
    pub why: String,
}

fn invalid(name: &'static str, why: impl Into<String>) -> BotConfigError {
    BotConfigError { name, why: why.into() }
}

impl BotConfig {
    pub fn new(token: &str, api_url: Option<url::Url>, settings: BotSettings) -> BotConfig {
        BotConfig { token: token.to_owned(), api_url, settings }
    }

    /// None when `TELEGRAM_BOT_TOKEN` is unset (the node then runs without a bot).
    ///
    /// `TELEGRAM_BOT_TOKEN`, `TELEGRAM_API_URL`, `SIFTGRAM_WEBHOOK_SECRET` (16–256 of
    /// `A-Za-z0-9_-`, as Telegram allows), `SIFTGRAM_MINIAPP_URL`, `SIFTGRAM_ADMIN_IDS`
    /// (comma-separated Telegram ids), `SIFTGRAM_RATE_BURST`, `SIFTGRAM_RATE_PER_MINUTE`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<BotConfig>, BotConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let Some(token) = get("TELEGRAM_BOT_TOKEN") else { return Ok(None) };
        if !token.contains(':') {
            return Err(invalid("TELEGRAM_BOT_TOKEN", "expected <bot id>:<secret> as issued by @BotFather"));
        }
        let api_url = get("TELEGRAM_API_URL")
            .map(|u| url::Url::parse(&u).map_err(|e| invalid("TELEGRAM_API_URL", e.to_string())))
            .transpose()?;
        let webhook_secret = get("SIFTGRAM_WEBHOOK_SECRET");
        if let Some(s) = &webhook_secret
            && (!(16..=256).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Err(invalid("SIFTGRAM_WEBHOOK_SECRET", "use 16-256 characters from A-Z a-z 0-9 _ -"));
        }
        let mut settings = BotSettings { webhook_secret, ..BotSettings::default() };
        if let Some(url) = get("SIFTGRAM_MINIAPP_URL") {
            url::Url::parse(&url).map_err(|e| invalid("SIFTGRAM_MINIAPP_URL", e.to_string()))?;
            settings.miniapp_url = url;
        }
        if let Some(ids) = get("SIFTGRAM_ADMIN_IDS") {
            settings.admin_ids = UserId::parse_list(&ids).ok_or_else(|| invalid("SIFTGRAM_ADMIN_IDS", "expected comma-separated Telegram user ids"))?;
        }
        let number = |name: &'static str, default: u32| -> Result<u32, BotConfigError> {
            get(name).map_or(Ok(default), |v| v.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| invalid(name, "expected a positive number")))
        };
        settings.rate_limit = RateLimit {
            burst: number("SIFTGRAM_RATE_BURST", RateLimit::default().burst)?,
            per_minute: number("SIFTGRAM_RATE_PER_MINUTE", RateLimit::default().per_minute)?,
        };
        Ok(Some(BotConfig { token, api_url, settings }))
    }

    /// The bot's services over a repository and the two queues it feeds.
    pub fn services(&self, repo: siftgram_core::repo::Repository, jobs: std::sync::Arc<dyn siftgram_core::ports::Queue>, commands: std::sync::Arc<dyn siftgram_core::ports::Queue>) -> crate::Services {
        crate::Services {
            repo,
            jobs,
            commands,
            settings: self.settings.clone(),
            out: self.outbox(),
        }
    }

    /// Replies through this bot, waiting out 429s within the configured budget.
    pub fn outbox(&self) -> crate::Outbox {
        crate::Outbox { bot: self.bot(), budget: self.settings.max_retry_wait }
    }

    /// The Bot API client (no request is made here).
    pub fn bot(&self) -> Bot {
        // teloxide's default client gives up on a request after 17 s, which cuts every idle
        // long poll (the node asks Telegram to hold it up to 25 s) into a failure and a
        // restart of the polling task; the webhook's short calls fit either way.
        let client = teloxide::net::default_reqwest_settings()
            .timeout(HTTP_TIMEOUT)
            .build()
            .expect("the Bot API client builds with rustls");
        let bot = Bot::with_client(&self.token, client);
        match &self.api_url {
            Some(url) => bot.set_api_url(url.clone()),
            None => bot,
        }
    }
}

/// Above the longest long poll (`getUpdates` with `timeout` 25 s) and any single send.
pub const HTTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Option<BotConfig>, BotConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        BotConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn no_token_means_no_bot() {
        assert!(config(&[]).unwrap().is_none());
    }

    #[test]
    fn values_are_checked_and_the_token_never_printed() {
        let ok = config(&[("TELEGRAM_BOT_TOKEN", "1:secret-token-value"), ("SIFTGRAM_ADMIN_IDS", "5, 7")]).unwrap().unwrap();
        assert_eq!(ok.settings.admin_ids.len(), 2);
        assert!(!format!("{ok:?}").contains("secret-token-value"));
        for bad in [
            ("SIFTGRAM_WEBHOOK_SECRET", "short"),
            ("SIFTGRAM_WEBHOOK_SECRET", "has spaces in it, sixteen+"),
            ("SIFTGRAM_ADMIN_IDS", "5,x"),
            ("SIFTGRAM_MINIAPP_URL", "not a url"),
            ("SIFTGRAM_RATE_BURST", "0"),
        ] {
            let err = config(&[("TELEGRAM_BOT_TOKEN", "1:t"), bad]).unwrap_err();
            assert_eq!(err.name, bad.0);
        }
    }
}
