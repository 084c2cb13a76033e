//! `/digest`: the settings panel with buttons (on/off, daily/weekly, time ±1 h, AI summary,
//! style, send now), settings as text (`/digest time 09:30`, `tz`, `days`, `max`, `tags`,
//! `channels`, `style`, `on`/`off`, `ai on|off`), and `/digest now`. Saving reschedules.

use super::requests::enqueue_with_quota;
use crate::error::HandlerResult;
use crate::services::{Caller, Services};
use siftgram_core::messages::JobRequest;
use siftgram_core::model::{DigestFrequency, DigestSettings, DigestStyle, Username};
use siftgram_core::repo::RepoError;
use siftgram_core::rules::{self, LimitError};
use crate::paging::button_caption;
use siftgram_core::model::MAX_TAG_CHARS;
use std::sync::Arc;
use teloxide::types::{CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup};

pub const BUTTON_PREFIX: &str = "dg:";
/// Channel names the panel shows before "and N more".
const PANEL_CHANNELS: usize = 10;
/// Tags a digest can be narrowed to.
const MAX_DIGEST_TAGS: usize = 20;

fn buttons(caller: &Caller, s: &DigestSettings) -> InlineKeyboardMarkup {
    let t = caller.texts();
    let b = |text: String, action: &str| InlineKeyboardButton::callback(text, format!("{BUTTON_PREFIX}{action}"));
    InlineKeyboardMarkup::new([
        vec![b(t.digest_button_toggle(s.enabled), "toggle"), b(t.digest_button_frequency(s.frequency), "freq")],
        vec![b("−1 h".into(), "earlier"), b("+1 h".into(), "later")],
        vec![b(t.digest_button_ai(s.ai_summary), "ai"), b(t.digest_button_style(), "style")],
        vec![b(t.digest_button_now(), "now")],
    ])
}

async fn panel(services: &Services, caller: &Caller, s: &DigestSettings) -> Result<(String, InlineKeyboardMarkup), RepoError> {
    // The panel must fit one message whatever the user picked: a few names, then how many more.
    let mut titles = Vec::new();
    for id in s.channels.iter().take(PANEL_CHANNELS) {
        titles.push(services.repo.get_channel(*id).await?.map_or_else(|| id.to_string(), |c| button_caption(&c.title)));
    }
    let more = s.channels.len().saturating_sub(PANEL_CHANNELS);
    Ok((caller.texts().digest_panel(s, &titles, more), buttons(caller, s)))
}

/// The tier must include digests; otherwise the user is told and nothing changes.
async fn allowed(services: &Services, caller: &Caller) -> Result<bool, crate::BotError> {
    let now = services.repo.clock().now();
    if let Err(LimitError::NoDigests { tier }) = rules::check_can_use_digests(&caller.user, services.repo.catalog(), now) {
        services.out.send(caller.chat, caller.texts().no_digests(tier), None).await?;
        return Ok(false);
    }
    Ok(true)
}

pub async fn digest(services: Arc<Services>, caller: Caller, args: String) -> HandlerResult {
    if !allowed(&services, &caller).await? {
        return Ok(());
    }
    let args = args.trim();
    if matches!(args.to_lowercase().as_str(), "now" | "сейчас") {
        return enqueue_with_quota(&services, &caller, JobRequest::Digest, caller.texts().working_digest()).await.map(drop);
    }
    let mut settings = services.repo.digest_settings(caller.user.id).await?;
    if !args.is_empty() {
        if let Err(why) = apply_text_setting(&services, &caller, &mut settings, args).await? {
            services.out.send(caller.chat, caller.texts().digest_usage_error(&why), None).await?;
            return Ok(());
        }
        settings = match services.repo.save_digest_settings(&settings).await {
            Ok(saved) => saved,
            Err(RepoError::Invalid(e)) => {
                services.out.send(caller.chat, caller.texts().digest_usage_error(&e.to_string()), None).await?;
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
    }
    let (text, markup) = panel(&services, &caller, &settings).await?;
    services.out.send(caller.chat, text, Some(markup)).await?;
    Ok(())
}

/// Applies `/digest <setting> <value>`; Err(why) for input that is not a setting.
async fn apply_text_setting(services: &Services, caller: &Caller, s: &mut DigestSettings, args: &str) -> Result<Result<(), String>, RepoError> {
    let (name, value) = args.split_once(char::is_whitespace).map_or((args, ""), |(n, v)| (n, v.trim()));
    let on_off = |v: &str| match v.to_lowercase().as_str() {
        "on" | "вкл" | "да" | "yes" => Some(true),
        "off" | "выкл" | "нет" | "no" => Some(false),
        _ => None,
    };
    match name.to_lowercase().as_str() {
        "on" | "вкл" => s.enabled = true,
        "off" | "выкл" => s.enabled = false,
        "daily" | "ежедневно" => s.frequency = DigestFrequency::Daily,
        "weekly" | "еженедельно" => s.frequency = DigestFrequency::Weekly,
        "time" | "время" => {
            let parsed = value.split_once(':').and_then(|(h, m)| Some((h.trim().parse::<u16>().ok()?, m.trim().parse::<u16>().ok()?)));
            match parsed {
                Some((h, m)) if h < 24 && m < 60 => s.minute_of_day = h * 60 + m,
                _ => return Ok(Err(format!("{value:?} is not a time like 09:30"))),
            }
        }
        "tz" | "timezone" | "пояс" => s.timezone = value.to_owned(),
        "days" | "дни" => {
            let days: Option<Vec<u8>> = value.split([',', ' ']).filter(|d| !d.is_empty()).map(|d| d.parse().ok()).collect();
            match days {
                Some(d) if !d.is_empty() => {
                    s.weekdays = d;
                    s.frequency = DigestFrequency::Weekly;
                }
                _ => return Ok(Err(format!("{value:?} is not a list of days 1–7"))),
            }
        }
        "max" => match value.parse::<u16>() {
            Ok(n) => s.max_posts = n,
            Err(_) => return Ok(Err(format!("{value:?} is not a number"))),
        },
        "tags" | "теги" => {
            s.tags = if value == "-" { Vec::new() } else { value.split(',').map(|t| t.trim().trim_start_matches('#').to_lowercase().chars().take(MAX_TAG_CHARS).collect::<String>()).filter(|t| !t.is_empty()).take(MAX_DIGEST_TAGS).collect() };
        }
        "channels" | "каналы" => {
            let mut ids = Vec::new();
            if value != "-" {
                let followed: Vec<_> = services.repo.subscriptions_of(caller.user.id).await?.into_iter().map(|s| s.channel).collect();
                for name in value.split([',', ' ']).filter(|n| !n.is_empty()) {
                    let found = match Username::parse(name) {
                        Ok(u) => services.repo.find_channel_by_username(u.as_str()).await?,
                        Err(_) => None,
                    };
                    match found.filter(|c| followed.contains(&c.id)) {
                        Some(c) => ids.push(c.id),
                        None => return Ok(Err(format!("{name} is not one of your channels"))),
                    }
                }
            }
            s.channels = ids;
        }
        "style" | "стиль" => match value.to_lowercase().as_str() {
            "brief" | "кратко" => s.style = DigestStyle::Brief,
            "detailed" | "подробно" => s.style = DigestStyle::Detailed,
            _ => return Ok(Err(format!("{value:?} is not brief or detailed"))),
        },
        "ai" | "ии" => match on_off(value) {
            Some(b) => s.ai_summary = b,
            None => return Ok(Err(format!("{value:?} is not on or off"))),
        },
        other => return Ok(Err(format!("{other:?} is not a digest setting"))),
    }
    Ok(Ok(()))
}

pub fn is_digest_button(query: CallbackQuery) -> bool {
    query.data.as_deref().is_some_and(|d| d.starts_with(BUTTON_PREFIX))
}

/// A press on the panel: change one setting, save, redraw the panel.
pub async fn on_button(services: Arc<Services>, caller: Caller, query: CallbackQuery) -> HandlerResult {
    let t = caller.texts();
    let action = query.data.as_deref().and_then(|d| d.strip_prefix(BUTTON_PREFIX)).unwrap_or("");
    let Some(message) = query.message.as_ref().map(|m| m.id()) else {
        return services.out.answer_callback(&query.id, Some(t.stale_button())).await;
    };
    let now = services.repo.clock().now();
    if let Err(LimitError::NoDigests { tier }) = rules::check_can_use_digests(&caller.user, services.repo.catalog(), now) {
        return services.out.answer_callback(&query.id, Some(t.no_digests(tier).replace("<b>", "").replace("</b>", ""))).await;
    }
    let mut s = services.repo.digest_settings(caller.user.id).await?;
    match action {
        "toggle" => s.enabled = !s.enabled,
        "freq" => {
            s.frequency = match s.frequency {
                DigestFrequency::Daily => DigestFrequency::Weekly,
                DigestFrequency::Weekly => DigestFrequency::Daily,
            }
        }
        "earlier" => s.minute_of_day = (s.minute_of_day + 23 * 60) % (24 * 60),
        "later" => s.minute_of_day = (s.minute_of_day + 60) % (24 * 60),
        "ai" => s.ai_summary = !s.ai_summary,
        "style" => {
            s.style = match s.style {
                DigestStyle::Brief => DigestStyle::Detailed,
                DigestStyle::Detailed => DigestStyle::Brief,
            }
        }
        "now" => {
            services.out.answer_callback(&query.id, None).await?;
            return enqueue_with_quota(&services, &caller, JobRequest::Digest, t.working_digest()).await.map(drop);
        }
        _ => return services.out.answer_callback(&query.id, Some(t.stale_button())).await,
    }
    let saved = services.repo.save_digest_settings(&s).await?;
    let (text, markup) = panel(&services, &caller, &saved).await?;
    services.out.edit(caller.chat, message, text, Some(markup)).await?;
    services.out.answer_callback(&query.id, None).await
}
