//! Taking an update in: the webhook checks (secret, JSON), then for every update — webhook or
//! long polling — claim its id (a redelivery is a no-op), find or create the user, apply the rate
//! limit, and run the handler tree.

use crate::error::BotError;
use crate::services::{Caller, Services};
use crate::tree::tree;
use siftgram_core::model::{Language, Role, User, UserId};
use siftgram_core::repo::{RepoError, UpdateClaim, UpdateFailure};
use siftgram_core::rules::RateDecision;
use std::ops::ControlFlow;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tracing::Instrument;
use teloxide::dispatching::UpdateHandler;
use teloxide::dptree;
use teloxide::types::{Me, Update, UpdateKind};

/// What became of one update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Handled,
    /// Already taken in before (Telegram redelivered it): nothing done.
    Duplicate,
    RateLimited,
    /// Not for us: no user, a group chat, or an update kind the bot does not handle.
    Ignored,
    /// Telegram refused what the handler sent (a 400 or 403): no retry can change that, so the
    /// update is acknowledged, logged, and the user told if possible.
    Refused,
    /// It failed `MAX_UPDATE_FAILURES` times: acknowledged and never run again, so the updates
    /// behind it are not held up.
    GaveUp,
}

impl Outcome {
    /// Its name in the metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Handled => "handled",
            Outcome::Duplicate => "duplicate",
            Outcome::RateLimited => "rate_limited",
            Outcome::Ignored => "ignored",
            Outcome::Refused => "refused",
            Outcome::GaveUp => "gave_up",
        }
    }
}

/// What an update is, for the metrics: a known command's name, `button`, `text`, or `other`
/// (never free text, so the label set stays small).
pub fn command_label(update: &Update) -> &'static str {
    match &update.kind {
        UpdateKind::Message(m) => match m.text() {
            Some(text) if text.starts_with('/') => {
                let name = text[1..].split([' ', '@', '\n']).next().unwrap_or("");
                KNOWN_COMMANDS.iter().find(|c| **c == name).copied().unwrap_or("other")
            }
            Some(_) => "text",
            None => "other",
        },
        UpdateKind::CallbackQuery(_) => "button",
        _ => "other",
    }
}

pub(crate) const KNOWN_COMMANDS: &[&str] = &[
    "start", "help", "login", "add_channel", "my_channels", "remove_channel", "subscription", "ask", "search", "recommend", "digest", "admin",
    "admin_invite", "admin_users", "admin_user", "admin_grant", "admin_stats",
];

/// How many times one update is tried before it is given up on (Telegram redelivers a failed
/// webhook, long polling re-reads it).
pub const MAX_UPDATE_FAILURES: u32 = 5;

/// Who takes an update in, which decides when a claim found still running is stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taker {
    /// Webhook deliveries run concurrently (several Lambda instances, Telegram redelivering one
    /// that is slow): a running claim is another delivery's until it is older than any delivery
    /// can run (the bot function's timeout is 10 s).
    Webhook,
    /// The long poller is the only taker and handles one update at a time (Telegram answers a
    /// second poller with 409), so a running claim it meets was left by a process that died.
    Polling,
}

impl Taker {
    fn lease_secs(self) -> i64 {
        match self {
            Taker::Webhook => WEBHOOK_CLAIM_LEASE_SECS,
            Taker::Polling => 0,
        }
    }
}

/// Well above the longest webhook delivery (the bot function's timeout is 10 s): a younger
/// claim may still be running.
const WEBHOOK_CLAIM_LEASE_SECS: i64 = 120;

/// The webhook's HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookReply {
    pub status: u16,
    pub body: String,
}

impl WebhookReply {
    fn new(status: u16, body: &str) -> Self {
        WebhookReply { status, body: body.to_owned() }
    }
}

/// The bot, built once per process (Lambda cold start or node start).
pub struct BotService {
    services: Arc<Services>,
    tree: UpdateHandler<BotError>,
    me: Me,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("Mini App URL {0:?} is not a valid URL")]
    MiniAppUrl(String),
    #[error("getMe failed: {0}")]
    GetMe(#[from] teloxide::RequestError),
}

impl BotService {
    /// Builds the service, asking Telegram who the bot is (command parsing needs its username).
    pub async fn new(services: Services) -> Result<BotService, SetupError> {
        use teloxide::requests::Requester;
        let me = services.out.bot.get_me().await?;
        BotService::with_me(services, me)
    }

    pub fn with_me(services: Services, me: Me) -> Result<BotService, SetupError> {
        for page in [services.settings.login_page(), services.settings.admin_page()] {
            url::Url::parse(&page).map_err(|_| SetupError::MiniAppUrl(page.clone()))?;
        }
        Ok(BotService { services: Arc::new(services), tree: tree(), me })
    }

    pub fn services(&self) -> &Arc<Services> {
        &self.services
    }

    /// A webhook delivery: the secret header is checked in constant time (403), the body parsed
    /// (400, nothing written), the update handled (500 on failure so Telegram redelivers it,
    /// 200 once it is given up on or Telegram refused the reply for good).
    pub async fn handle_webhook(&self, secret_header: Option<&[u8]>, body: &[u8]) -> WebhookReply {
        let authentic = match (&self.services.settings.webhook_secret, secret_header) {
            (Some(expected), Some(given)) => bool::from(expected.as_bytes().ct_eq(given)),
            _ => false,
        };
        if !authentic {
            tracing::warn!("webhook call without the right secret token refused");
            return WebhookReply::new(403, "forbidden");
        }
        let update: Update = match serde_json::from_slice(body) {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, bytes = body.len(), "malformed update refused");
                return WebhookReply::new(400, "malformed update");
            }
        };
        match self.handle_update(update, Taker::Webhook).await {
            Ok(_) => WebhookReply::new(200, "ok"),
            Err(BotError::StillRunning) => WebhookReply::new(500, "retry"),
            Err(e) => {
                tracing::error!(error = %e, "update failed; Telegram will redeliver it");
                WebhookReply::new(500, "retry")
            }
        }
    }

    /// One update from either the webhook or long polling. Everything it sends on (jobs,
    /// session commands) and every line it logs carries its trace id.
    pub async fn handle_update(&self, update: Update, taker: Taker) -> Result<Outcome, BotError> {
        let trace = siftgram_core::trace::TraceId::for_update(update.id.0);
        siftgram_core::trace::traced(Some(trace), self.handle_traced(update, taker)).await
    }

    async fn handle_traced(&self, update: Update, taker: Taker) -> Result<Outcome, BotError> {
        let span = tracing::info_span!("update", update_id = update.id.0, user_id = tracing::field::Empty);
        let command = command_label(&update);
        let started = std::time::Instant::now();
        let outcome = self.take_in(update, taker, span.clone()).instrument(span).await;
        let label = outcome.as_ref().map_or("failed", Outcome::label);
        siftgram_core::telemetry::update_handled(command, label, started.elapsed());
        tracing::debug!(command, outcome = label, elapsed_ms = started.elapsed().as_millis() as u64, "update taken in");
        outcome
    }

    async fn take_in(&self, update: Update, taker: Taker, span: tracing::Span) -> Result<Outcome, BotError> {
        let update_id = update.id.0;
        if matches!(update.kind, UpdateKind::Error(_)) {
            return Ok(Outcome::Ignored);
        }
        let Some(from) = update.from().cloned() else { return Ok(Outcome::Ignored) };
        if update.chat().is_some_and(|c| !c.is_private()) || from.is_bot {
            return Ok(Outcome::Ignored);
        }
        span.record("user_id", from.id.0);
        let repo = &self.services.repo;
        let failures = match repo.claim_update(update_id, taker.lease_secs(), MAX_UPDATE_FAILURES).await? {
            UpdateClaim::Claimed { failures } => failures,
            UpdateClaim::Finished => {
                tracing::info!("update already taken in; skipped");
                return Ok(Outcome::Duplicate);
            }
            UpdateClaim::Running => {
                tracing::info!("update is being handled by another taker; asking for it again later");
                return Err(BotError::StillRunning);
            }
            UpdateClaim::GaveUp { failures } => {
                tracing::error!(failures, "update's takers died handling it too often; given up on");
                self.tell_it_failed(&update, &from).await;
                return Ok(Outcome::GaveUp);
            }
        };
        if failures > 0 {
            tracing::info!(failures, "update handled again after failing");
        }
        let error = match self.run(&update, &from).await {
            Ok(outcome) => {
                self.finish(update_id, failures).await;
                return Ok(outcome);
            }
            Err(e) => e,
        };
        if error.is_final() {
            // Keeping the claim acknowledges the update: the same reply would be refused again.
            tracing::error!(error = %error, "Telegram refused the reply; the update is not retried");
            self.finish(update_id, failures).await;
            self.tell_it_failed(&update, &from).await;
            return Ok(Outcome::Refused);
        }
        match self.services.repo.fail_update(update_id, MAX_UPDATE_FAILURES).await {
            Ok(UpdateFailure::WillRetry { failures }) => {
                tracing::warn!(error = %error, failures, "update failed; it will be retried");
                Err(error)
            }
            Ok(UpdateFailure::GaveUp { failures }) => {
                tracing::error!(error = %error, failures, "update failed too often; given up on");
                self.tell_it_failed(&update, &from).await;
                Ok(Outcome::GaveUp)
            }
            Err(e) => {
                // The claim stays as it is (running): a redelivery after the lease takes it over
                // and counts this failure then.
                tracing::error!(error = %error, claim_error = %e, "update failed and its claim could not be updated");
                Err(error)
            }
        }
    }

    /// Marks a handled update finished. Best effort: the work is done and acknowledged either
    /// way; a claim left running only means a late redelivery (after the lease) is handled
    /// again, which the handlers' once-per-update sends make harmless.
    async fn finish(&self, update_id: u32, failures: u32) {
        if let Err(e) = self.services.repo.finish_update(update_id, failures).await {
            tracing::warn!(error = %e, "could not mark the update finished");
        }
    }

    /// Best effort: the user learns that this message or button did not work.
    async fn tell_it_failed(&self, update: &Update, from: &teloxide::types::User) {
        let texts = crate::texts::Texts(Language::from_telegram_code(from.language_code.as_deref()));
        let out = &self.services.out;
        let told = match &update.kind {
            UpdateKind::CallbackQuery(q) => out.answer_callback(&q.id, Some(texts.failed())).await,
            _ => out.send(teloxide::types::ChatId(from.id.0 as i64), texts.failed(), None).await.map(|_| ()),
        };
        if let Err(e) = told {
            tracing::warn!(error = %e, "could not tell the user that the update failed");
        }
    }

    async fn run(&self, update: &Update, from: &teloxide::types::User) -> Result<Outcome, BotError> {
        let caller = self.caller_for(from, update.id.0).await?;
        match self.services.repo.take_rate_token(caller.user.id, self.services.settings.rate_limit).await? {
            RateDecision::Allowed => {}
            RateDecision::Limited { warn } => {
                if let UpdateKind::CallbackQuery(q) = &update.kind {
                    self.services.out.answer_callback(&q.id, warn.then(|| caller.texts().rate_limited())).await?;
                } else if warn {
                    self.services.out.send(caller.chat, caller.texts().rate_limited(), None).await?;
                }
                return Ok(Outcome::RateLimited);
            }
        }
        let deps = dptree::deps![self.services.clone(), self.services.out.bot.clone(), self.me.clone(), update.clone(), caller];
        match self.tree.dispatch(deps).await {
            ControlFlow::Break(Ok(())) => Ok(Outcome::Handled),
            ControlFlow::Break(Err(e)) => Err(e),
            ControlFlow::Continue(_) => Ok(Outcome::Ignored),
        }
    }

    /// The stored user for a Telegram user, created on first contact. The role follows the
    /// settings on every contact: an id added to `SIFTGRAM_ADMIN_IDS` becomes admin, one removed
    /// from it is an ordinary user again. The reply language follows the Telegram client's.
    async fn caller_for(&self, from: &teloxide::types::User, update_id: u32) -> Result<Caller, BotError> {
        let repo = &self.services.repo;
        let id = UserId::new(from.id.0 as i64).map_err(RepoError::from)?;
        let lang = Language::from_telegram_code(from.language_code.as_deref());
        let role = if self.services.settings.admin_ids.contains(&id) { Role::Admin } else { Role::User };
        let user = match repo.get_user(id).await? {
            Some(u) if u.role != role || u.language != lang => {
                if u.role != role {
                    // The audit trail of role changes: they come only from the settings.
                    tracing::warn!(from = ?u.role, to = ?role, "role changed to match SIFTGRAM_ADMIN_IDS");
                }
                repo.update_user(id, |u| {
                    u.language = lang;
                    u.role = role;
                    Ok(())
                })
                .await?
            }
            Some(u) => u,
            None => {
                let mut user = User::new(id, &display_name(from), lang, repo.clock().now()).map_err(RepoError::from)?;
                user.role = role;
                match repo.create_user(&user).await {
                    Ok(u) => u,
                    Err(RepoError::AlreadyExists(_)) => repo.get_user(id).await?.ok_or(RepoError::NotFound("user"))?,
                    Err(e) => return Err(e.into()),
                }
            }
        };
        Ok(Caller { chat: teloxide::types::ChatId(from.id.0 as i64), lang, update_id, user })
    }
}

fn display_name(from: &teloxide::types::User) -> String {
    let full = from.full_name();
    let name: String = full.trim().chars().take(siftgram_core::model::MAX_DISPLAY_NAME_CHARS).collect();
    if name.trim().is_empty() { format!("user {}", from.id.0) } else { name }
}

/// Registers the command menu (ru, en and the default) and the webhook with its secret.
pub async fn setup_bot(bot: &teloxide::Bot, webhook_url: Option<url::Url>, secret: Option<&str>) -> Result<(), teloxide::RequestError> {
    use teloxide::payloads::{SetMyCommandsSetters, SetWebhookSetters};
    use teloxide::requests::Requester;
    use teloxide::types::BotCommand;
    for (code, lang) in [(Some("ru"), Language::Ru), (Some("en"), Language::En), (None, Language::Ru)] {
        let commands = crate::command::menu(lang).into_iter().map(|(c, d)| BotCommand::new(c, d));
        let mut request = bot.set_my_commands(commands);
        if let Some(code) = code {
            request = request.language_code(code);
        }
        request.await?;
    }
    if let Some(url) = webhook_url {
        let mut request = bot.set_webhook(url);
        if let Some(secret) = secret {
            request = request.secret_token(secret.to_owned());
        }
        request.await?;
    }
    Ok(())
}
