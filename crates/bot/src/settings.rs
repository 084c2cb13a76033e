//! What the bot is configured with (each binary reads these from its own typed `Config`).

use siftgram_core::model::UserId;
use siftgram_core::rules::RateLimit;
use std::time::Duration;

#[derive(Clone)]
pub struct BotSettings {
    /// `X-Telegram-Bot-Api-Secret-Token` the webhook must carry; None only for long polling.
    pub webhook_secret: Option<String>,
    /// Base URL of the Mini Apps (`<base>/login.html`, `<base>/admin.html`).
    pub miniapp_url: String,
    /// Telegram user ids that are admins (promoted on first contact).
    pub admin_ids: Vec<UserId>,
    pub rate_limit: RateLimit,
    /// The longest a reply may wait on Telegram's 429 `retry_after` before giving up.
    pub max_retry_wait: Duration,
}

impl BotSettings {
    pub fn login_page(&self) -> String {
        format!("{}/login.html", self.miniapp_url.trim_end_matches('/'))
    }
    pub fn admin_page(&self) -> String {
        format!("{}/admin.html", self.miniapp_url.trim_end_matches('/'))
    }
}

impl std::fmt::Debug for BotSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotSettings")
            .field("webhook_secret", &self.webhook_secret.as_ref().map(|_| "<set>"))
            .field("miniapp_url", &self.miniapp_url)
            .field("admin_ids", &self.admin_ids)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl Default for BotSettings {
    fn default() -> Self {
        BotSettings {
            webhook_secret: None,
            miniapp_url: "https://localhost/miniapp".into(),
            admin_ids: Vec::new(),
            rate_limit: RateLimit::default(),
            max_retry_wait: Duration::from_secs(10),
        }
    }
}
