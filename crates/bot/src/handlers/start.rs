//! `/start`, `/login CODE`, `/subscription`.

use super::web_app_button;
use crate::error::HandlerResult;
use crate::services::{Caller, Services};
use siftgram_core::messages::SessionCommand;
use siftgram_core::model::InviteCode;
use siftgram_core::ports::OutgoingMessage;
use siftgram_core::repo::RepoError;
use siftgram_core::rules::{DailyQuota, InviteError};
use std::sync::Arc;

/// New users are asked for an invite (a deep-link payload that is a code signs them in);
/// known users get their status.
pub async fn start(services: Arc<Services>, caller: Caller, payload: String) -> HandlerResult {
    if !caller.user.has_access() && InviteCode::parse(&payload).is_ok() {
        return login(services, caller, payload).await;
    }
    let t = caller.texts();
    let text = if caller.user.has_access() { status_text(&services, &caller).await? } else { t.welcome_new() };
    services.out.send(caller.chat, text, None).await?;
    Ok(())
}

async fn status_text(services: &Services, caller: &Caller) -> Result<String, RepoError> {
    let now = services.repo.clock().now();
    let user = &caller.user;
    let tier = user.effective_tier(now);
    let limits = services.repo.catalog().limits(tier);
    let asked = services.repo.daily_usage(user.id, DailyQuota::RagQueries).await?;
    Ok(caller.texts().status(tier, user.tier_expiry_in_force(now), user.channel_count, &limits, asked))
}

/// Reserves a use of the invite, asks the session node for a QR login and shows the Mini App
/// button. The invite is redeemed only when the login succeeds.
pub async fn login(services: Arc<Services>, caller: Caller, code: String) -> HandlerResult {
    let t = caller.texts();
    if caller.user.has_access() {
        // A member whose session ended (Telegram revoked it, or they signed out), or an admin
        // who never had one: a QR login needs no invite. With a session: nothing to do.
        if services.repo.load_session(caller.user.id).await?.is_some() {
            services.out.send(caller.chat, t.already_signed_in(), None).await?;
            return Ok(());
        }
        return start_qr_login(&services, &caller, None).await;
    }
    let refusal = if code.trim().is_empty() {
        Some(t.login_usage())
    } else {
        match services.repo.reserve_invite(&code, caller.user.id).await {
            Ok(_) => None,
            Err(RepoError::Invalid(_)) => Some(t.bad_invite_format()),
            Err(RepoError::Invite(e)) => Some(match e {
                InviteError::Unknown => t.invite_unknown(),
                InviteError::Expired => t.invite_expired(),
                InviteError::UsedUp => t.invite_used_up(),
                InviteError::AlreadyRedeemed => t.already_signed_in(),
                InviteError::Blocked => t.account_blocked(),
            }),
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(text) = refusal {
        services.out.send(caller.chat, text, None).await?;
        return Ok(());
    }
    let invite = InviteCode::parse(&code).expect("reserve_invite accepted it");
    start_qr_login(&services, &caller, Some(invite)).await
}

/// Shows the Mini App button and asks the session node for the QR login.
async fn start_qr_login(services: &Services, caller: &Caller, invite: Option<InviteCode>) -> HandlerResult {
    let t = caller.texts();
    let button = web_app_button(t.login_button(), &services.settings.login_page());
    let Some(sent) = super::send_once(services, caller, t.login_started(), button).await? else { return Ok(()) };
    let command = SessionCommand::StartQrLogin { id: caller.work_id(), user: caller.user.id, invite, reply: caller.reply_to(sent) };
    enqueue_command(services, &command).await
}

pub(crate) async fn enqueue_command(services: &Services, command: &SessionCommand) -> HandlerResult {
    let body = serde_json::to_string(command).expect("commands serialize");
    let message = OutgoingMessage::new(body).in_group(command.user().to_string()).dedup(command.id());
    services.commands.send(message).await?;
    Ok(())
}

pub async fn subscription(services: Arc<Services>, caller: Caller) -> HandlerResult {
    let now = services.repo.clock().now();
    let user = &caller.user;
    let tier = user.effective_tier(now);
    let limits = services.repo.catalog().limits(tier);
    let asked = services.repo.daily_usage(user.id, DailyQuota::RagQueries).await?;
    let expires = user.tier_expiry_in_force(now);
    let text = caller.texts().subscription(tier, expires, &limits, user.channel_count, asked);
    services.out.send(caller.chat, text, None).await?;
    Ok(())
}
