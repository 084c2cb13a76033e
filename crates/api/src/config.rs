//! The API's part of a binary's configuration (the Lambda and the node read the same names).

use siftgram_core::model::UserId;
use siftgram_core::rules::RateLimit;

#[derive(Clone)]
pub struct ApiConfig {
    /// The bot's token: Mini App launch data is signed with a key derived from it.
    bot_token: String,
    /// The bot's @username, for invite links (`t.me/<bot>?start=CODE`); None: codes only.
    pub bot_username: Option<String>,
    /// Admins are exactly these Telegram users (`SIFTGRAM_ADMIN_IDS`), as for the bot.
    pub admin_ids: Vec<UserId>,
    /// How old Mini App launch data may be (`SIFTGRAM_INIT_DATA_MAX_AGE_SECS`, default a day).
    pub init_data_max_age_secs: i64,
    /// Requests per API key (`SIFTGRAM_API_KEY_BURST`, `SIFTGRAM_API_KEY_PER_MINUTE`).
    pub api_key_rate: RateLimit,
    /// Origins whose pages may call the API from a browser: the Mini Apps' (the origin of
    /// `SIFTGRAM_MINIAPP_URL`) and any in `SIFTGRAM_API_CORS_ORIGINS` (comma-separated).
    pub allowed_origins: Vec<String>,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("bot_token", &"<redacted>")
            .field("bot_username", &self.bot_username)
            .field("admin_ids", &self.admin_ids)
            .field("init_data_max_age_secs", &self.init_data_max_age_secs)
            .field("api_key_rate", &self.api_key_rate)
            .field("allowed_origins", &self.allowed_origins)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {why}")]
pub struct ApiConfigError {
    pub name: &'static str,
    pub why: String,
}

pub const DEFAULT_INIT_DATA_MAX_AGE_SECS: i64 = 24 * 3600;

impl ApiConfig {
    pub fn new(bot_token: &str, admin_ids: Vec<UserId>) -> ApiConfig {
        ApiConfig {
            bot_token: bot_token.to_owned(),
            bot_username: None,
            admin_ids,
            init_data_max_age_secs: DEFAULT_INIT_DATA_MAX_AGE_SECS,
            api_key_rate: RateLimit { burst: 30, per_minute: 120 },
            allowed_origins: Vec::new(),
        }
    }

    pub fn bot_token(&self) -> &str {
        &self.bot_token
    }

    /// None when `TELEGRAM_BOT_TOKEN` is unset (no Mini App can be checked without it).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Option<ApiConfig>, ApiConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let invalid = |name: &'static str, why: &str| ApiConfigError { name, why: why.to_owned() };
        let Some(token) = get("TELEGRAM_BOT_TOKEN") else { return Ok(None) };
        let admin_ids = match get("SIFTGRAM_ADMIN_IDS") {
            None => Vec::new(),
            Some(ids) => UserId::parse_list(&ids).ok_or_else(|| invalid("SIFTGRAM_ADMIN_IDS", "expected comma-separated Telegram user ids"))?,
        };
        let mut config = ApiConfig::new(&token, admin_ids);
        config.bot_username = get("SIFTGRAM_BOT_USERNAME").map(|u| u.trim_start_matches('@').to_owned());
        if let Some(age) = get("SIFTGRAM_INIT_DATA_MAX_AGE_SECS") {
            config.init_data_max_age_secs = age.parse().ok().filter(|&a: &i64| (60..=7 * 86_400).contains(&a)).ok_or_else(|| invalid("SIFTGRAM_INIT_DATA_MAX_AGE_SECS", "60 to 604800 seconds"))?;
        }
        let number = |name: &'static str, default: u32| -> Result<u32, ApiConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v.parse().ok().filter(|&n: &u32| n > 0).ok_or_else(|| invalid(name, "a positive number")),
            }
        };
        config.api_key_rate = RateLimit { burst: number("SIFTGRAM_API_KEY_BURST", 30)?, per_minute: number("SIFTGRAM_API_KEY_PER_MINUTE", 120)? };
        let mut origins: Vec<String> = get("SIFTGRAM_MINIAPP_URL").and_then(|u| crate::cors::origin_of(&u)).into_iter().collect();
        for raw in get("SIFTGRAM_API_CORS_ORIGINS").iter().flat_map(|v| v.split(',')).map(str::trim).filter(|o| !o.is_empty()) {
            origins.push(crate::cors::origin_of(raw).ok_or_else(|| invalid("SIFTGRAM_API_CORS_ORIGINS", "comma-separated https://host origins"))?);
        }
        config.allowed_origins = origins;
        Ok(Some(config))
    }

    pub fn is_admin(&self, user: UserId) -> bool {
        self.admin_ids.contains(&user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Option<ApiConfig>, ApiConfigError> {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        ApiConfig::from_lookup(|k| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn the_api_needs_the_bot_token_and_takes_the_rest_from_the_bots_names() {
        assert!(config(&[]).unwrap().is_none());
        let c = config(&[("TELEGRAM_BOT_TOKEN", "1:abc"), ("SIFTGRAM_ADMIN_IDS", "5, 7"), ("SIFTGRAM_BOT_USERNAME", "@sift_bot")]).unwrap().unwrap();
        assert_eq!(c.bot_token(), "1:abc");
        assert!(c.is_admin(UserId::new(7).unwrap()) && !c.is_admin(UserId::new(6).unwrap()));
        assert_eq!(c.bot_username.as_deref(), Some("sift_bot"));
        assert_eq!(c.init_data_max_age_secs, DEFAULT_INIT_DATA_MAX_AGE_SECS);
        assert!(!format!("{c:?}").contains("abc"), "the token is not printed");
        let err = config(&[("TELEGRAM_BOT_TOKEN", "1:abc"), ("SIFTGRAM_INIT_DATA_MAX_AGE_SECS", "5")]).unwrap_err();
        assert_eq!(err.name, "SIFTGRAM_INIT_DATA_MAX_AGE_SECS");
        assert_eq!(config(&[("TELEGRAM_BOT_TOKEN", "1:abc"), ("SIFTGRAM_ADMIN_IDS", "x")]).unwrap_err().name, "SIFTGRAM_ADMIN_IDS");
        assert_eq!(config(&[("TELEGRAM_BOT_TOKEN", "1:abc"), ("SIFTGRAM_API_KEY_BURST", "0")]).unwrap_err().name, "SIFTGRAM_API_KEY_BURST");
        let cors = config(&[("TELEGRAM_BOT_TOKEN", "1:abc"), ("SIFTGRAM_MINIAPP_URL", "https://app.example.org/miniapp/"), ("SIFTGRAM_API_CORS_ORIGINS", "https://n8n.example.org:8443")]).unwrap().unwrap();
        assert_eq!(cors.allowed_origins, ["https://app.example.org", "https://n8n.example.org:8443"]);
        assert_eq!(config(&[("TELEGRAM_BOT_TOKEN", "1:abc"), ("SIFTGRAM_API_CORS_ORIGINS", "not a url")]).unwrap_err().name, "SIFTGRAM_API_CORS_ORIGINS");
    }
}
