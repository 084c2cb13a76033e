//! Admin commands. The tree routes them here only for admins; for anyone else they are unknown
//! commands and get the ordinary help, so nothing hints that they exist.

use super::web_app_button;
use crate::error::HandlerResult;
use crate::services::{Caller, Services};
use crate::texts::pick;
use siftgram_core::model::{Invite, InviteCode, Language, Tier, User, UserId};
use siftgram_core::repo::RepoError;
use siftgram_core::rules::DailyQuota;
use std::collections::BTreeMap;
use std::sync::Arc;
use teloxide::types::Me;
use teloxide::utils::html::escape;

const USERS_PER_PAGE: usize = 20;

async fn say(services: &Services, caller: &Caller, text: String) -> HandlerResult {
    services.out.send(caller.chat, text, None).await?;
    Ok(())
}

pub async fn panel(services: Arc<Services>, caller: Caller) -> HandlerResult {
    let lang = caller.lang;
    let button = web_app_button(pick(lang, "🛠 Открыть панель", "🛠 Open the panel"), &services.settings.admin_page());
    services.out.send(caller.chat, pick(lang, "Панель администратора:", "Admin panel:"), button).await?;
    Ok(())
}

/// `/admin_invite [tier] [days] [uses]`: a new code granting `tier` (default trial), valid for
/// `days` (default 7) and `uses` sign-ins (default 1).
pub async fn invite(services: Arc<Services>, caller: Caller, me: Me, args: String) -> HandlerResult {
    let lang = caller.lang;
    let parts: Vec<&str> = args.split_whitespace().collect();
    let usage = pick(lang, "Формат: <code>/admin_invite [тариф] [дней] [использований]</code>", "Usage: <code>/admin_invite [tier] [days] [uses]</code>");
    let tier = match parts.first().map(|t| t.parse::<Tier>()) {
        None => Tier::Trial,
        Some(Ok(t)) => t,
        Some(Err(e)) => return say(&services, &caller, format!("{}\n{usage}", escape(&e.to_string()))).await,
    };
    let number = |i: usize, default: u32| parts.get(i).map_or(Ok(default), |v| v.parse::<u32>());
    let (Ok(days), Ok(uses)) = (number(1, 7), number(2, 1)) else { return say(&services, &caller, usage).await };
    let now = services.repo.clock().now();
    for _ in 0..3 {
        let mut bytes = [0u8; InviteCode::RANDOM_BYTES];
        getrandom::fill(&mut bytes).expect("the OS has randomness");
        let invite = match Invite::new(InviteCode::from_random_bytes(bytes), caller.user.id, now, tier, Some(days), uses, None) {
            Ok(i) => i,
            Err(e) => return say(&services, &caller, format!("{}\n{usage}", escape(&e.to_string()))).await,
        };
        match services.repo.create_invite(&invite).await {
            Ok(()) => return say(&services, &caller, invite_created(lang, &invite, &me)).await,
            Err(RepoError::AlreadyExists(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(RepoError::Contended("invite code").into())
}

fn invite_created(lang: Language, invite: &Invite, me: &Me) -> String {
    let expires = invite.expires_at.map(|t| t.to_string()).unwrap_or_default();
    let link = format!("https://t.me/{}?start={}", me.username(), invite.code);
    match lang {
        Language::Ru => format!(
            "Приглашение: <code>{}</code>\nТариф: {} · входов: {} · действует до {expires}\nСсылка: {link}",
            invite.code, invite.tier, invite.max_uses
        ),
        Language::En => format!(
            "Invite: <code>{}</code>\nPlan: {} · sign-ins: {} · valid until {expires}\nLink: {link}",
            invite.code, invite.tier, invite.max_uses
        ),
    }
}

fn user_line(u: &User) -> String {
    let mut flags = String::new();
    if u.is_admin() {
        flags += " · admin";
    }
    if u.blocked {
        flags += " · blocked";
    }
    if !u.has_access() {
        flags += " · no invite";
    }
    format!("<code>{}</code> {} — {}{flags} · {} ch.", u.id, escape(&u.display_name), u.tier, u.channel_count)
}

/// `/admin_users [page]`, twenty per page in id order.
pub async fn users(services: Arc<Services>, caller: Caller, args: String) -> HandlerResult {
    let lang = caller.lang;
    let page = match args.trim() {
        "" => 1,
        p => match p.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => return say(&services, &caller, pick(lang, "Формат: <code>/admin_users [страница]</code>", "Usage: <code>/admin_users [page]</code>")).await,
        },
    };
    let mut cursor = None;
    let mut shown = Vec::new();
    for _ in 0..page {
        let (users, next) = services.repo.list_users(USERS_PER_PAGE, cursor).await?;
        shown = users;
        cursor = next;
        if cursor.is_none() {
            break;
        }
    }
    let header = match lang {
        Language::Ru => format!("<b>Пользователи</b>, стр. {page}:"),
        Language::En => format!("<b>Users</b>, page {page}:"),
    };
    let mut lines = vec![header];
    lines.extend(shown.iter().map(user_line));
    if shown.is_empty() {
        lines.push(pick(lang, "(пусто)", "(none)"));
    }
    if cursor.is_some() {
        lines.push(format!("/admin_users {}", page + 1));
    }
    say(&services, &caller, lines.join("\n")).await
}

fn parse_user_id(arg: &str) -> Option<UserId> {
    arg.trim().parse::<i64>().ok().and_then(|id| UserId::new(id).ok())
}

/// `/admin_user ID`: profile, usage today and the latest tier changes.
pub async fn user(services: Arc<Services>, caller: Caller, args: String) -> HandlerResult {
    let lang = caller.lang;
    let Some(id) = parse_user_id(&args) else {
        return say(&services, &caller, pick(lang, "Формат: <code>/admin_user ID</code>", "Usage: <code>/admin_user ID</code>")).await;
    };
    let Some(u) = services.repo.get_user(id).await? else {
        return say(&services, &caller, pick(lang, "Нет такого пользователя.", "No such user.")).await;
    };
    let asked = services.repo.daily_usage(id, DailyQuota::RagQueries).await?;
    let history = services.repo.tier_history(id).await?;
    let mut lines = vec![user_line(&u)];
    lines.push(match u.tier_expires_at {
        Some(at) => format!("{}: {at}", pick(lang, "Тариф до", "Plan until")),
        None => pick(lang, "Тариф бессрочный", "Plan does not expire"),
    });
    lines.push(format!("{}: {asked}", pick(lang, "Вопросов сегодня", "Questions today")));
    lines.push(format!("{}: {}", pick(lang, "С нами с", "Joined"), u.created_at));
    for change in history.iter().rev().take(5) {
        lines.push(format!("• {} {} → {}", change.at, change.from, change.to));
    }
    say(&services, &caller, lines.join("\n")).await
}

/// `/admin_grant ID TIER DAYS`.
pub async fn grant(services: Arc<Services>, caller: Caller, args: String) -> HandlerResult {
    let lang = caller.lang;
    let usage = pick(lang, "Формат: <code>/admin_grant ID ТАРИФ ДНЕЙ</code>", "Usage: <code>/admin_grant ID TIER DAYS</code>");
    let parts: Vec<&str> = args.split_whitespace().collect();
    let [id, tier, days] = parts[..] else { return say(&services, &caller, usage).await };
    let (Some(id), Ok(tier), Ok(days)) = (parse_user_id(id), tier.parse::<Tier>(), days.parse::<u32>()) else {
        return say(&services, &caller, usage).await;
    };
    match services.repo.grant_tier(&caller.user, id, tier, Some(days)).await {
        Ok((u, _)) => {
            let until = u.tier_expires_at.map(|t| t.to_string()).unwrap_or_default();
            say(&services, &caller, format!("✅ {} → {} ({until})", u.id, u.tier)).await
        }
        Err(RepoError::NotFound(_)) => say(&services, &caller, pick(lang, "Нет такого пользователя.", "No such user.")).await,
        Err(RepoError::Invalid(e)) => say(&services, &caller, format!("{}\n{usage}", escape(&e.to_string()))).await,
        Err(e) => Err(e.into()),
    }
}

/// `/admin_stats`: users by tier, access and subscriptions, and the job queue's depth.
pub async fn stats(services: Arc<Services>, caller: Caller) -> HandlerResult {
    let lang = caller.lang;
    let now = services.repo.clock().now();
    let (mut total, mut members, mut subscriptions) = (0usize, 0usize, 0u64);
    let mut by_tier: BTreeMap<Tier, usize> = BTreeMap::new();
    for u in &services.repo.all_users().await? {
        total += 1;
        members += usize::from(u.has_access());
        subscriptions += u64::from(u.channel_count);
        *by_tier.entry(u.effective_tier(now)).or_default() += 1;
    }
    let queued = services.jobs.approximate_len().await?;
    let tiers = by_tier.iter().map(|(t, n)| format!("{t}: {n}")).collect::<Vec<_>>().join(", ");
    let text = match lang {
        Language::Ru => format!("<b>Статистика</b>\nПользователей: {total} (с доступом: {members})\nПо тарифам: {tiers}\nПодписок на каналы: {subscriptions}\nЗадач в очереди: {queued}"),
        Language::En => format!("<b>Stats</b>\nUsers: {total} (with access: {members})\nBy plan: {tiers}\nChannel subscriptions: {subscriptions}\nJobs queued: {queued}"),
    };
    say(&services, &caller, text).await
}
