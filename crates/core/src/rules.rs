//! The product's rules as plain functions: limits, invite redemption, tier changes.
//! Repositories call these and persist what they return; nothing here does I/O.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use crate::model::{INVITE_HOLD_SECS, Invite, InviteHold, Tier, TierCatalog, TierChange, TierChangeReason, User, UserId};

/// Wrong two-step verification passwords (within the block window, across logins) before QR
/// logins are blocked for a while; the login page shows what is left.
pub const MAX_PASSWORD_FAILURES: u32 = 3;

/// Longest question or search accepted, in the bot and the API (a question, not a document).
pub const MAX_QUESTION_CHARS: usize = 1000;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LimitError {
    #[error("the {tier} tier allows {limit} channels")]
    Channels { tier: Tier, limit: u32 },
    #[error("the {tier} tier allows {limit} {what} per day")]
    Daily { tier: Tier, what: &'static str, limit: u32 },
    #[error("the {tier} tier has no digests")]
    NoDigests { tier: Tier },
}

/// A user may follow one more channel only below their tier's channel limit.
pub fn check_can_add_channel(user: &User, catalog: &TierCatalog, now: Timestamp) -> Result<(), LimitError> {
    let tier = user.effective_tier(now);
    let limit = catalog.limits(tier).max_channels;
    if user.channel_count >= limit {
        return Err(LimitError::Channels { tier, limit });
    }
    Ok(())
}

/// What a daily quota counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DailyQuota {
    RagQueries,
    Posts,
}

impl DailyQuota {
    pub fn as_str(self) -> &'static str {
        match self {
            DailyQuota::RagQueries => "rag",
            DailyQuota::Posts => "posts",
        }
    }
    pub fn limit(self, catalog: &TierCatalog, tier: Tier) -> u32 {
        let limits = catalog.limits(tier);
        match self {
            DailyQuota::RagQueries => limits.rag_queries_per_day,
            DailyQuota::Posts => limits.posts_per_day,
        }
    }
}

/// How many posts a channel followed by users of `follower_tiers` keeps: of its history, and
/// of new posts per UTC day. It is stored once for all of them, so the best plan decides.
pub fn channel_allowance(follower_tiers: impl IntoIterator<Item = Tier>, catalog: &TierCatalog) -> u32 {
    follower_tiers.into_iter().map(|t| catalog.limits(t).posts_per_day).max().unwrap_or(0)
}

/// One more use of a daily quota when `used` have been spent today.
pub fn check_daily_quota(
    quota: DailyQuota,
    used: u32,
    user: &User,
    catalog: &TierCatalog,
    now: Timestamp,
) -> Result<(), LimitError> {
    let tier = user.effective_tier(now);
    let limit = quota.limit(catalog, tier);
    if used >= limit {
        let what = match quota {
            DailyQuota::RagQueries => "questions",
            DailyQuota::Posts => "posts",
        };
        return Err(LimitError::Daily { tier, what, limit });
    }
    Ok(())
}

pub fn check_can_use_digests(user: &User, catalog: &TierCatalog, now: Timestamp) -> Result<(), LimitError> {
    let tier = user.effective_tier(now);
    if !catalog.limits(tier).digests {
        return Err(LimitError::NoDigests { tier });
    }
    Ok(())
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum InviteError {
    #[error("this invite code does not exist")]
    Unknown,
    #[error("this invite code has expired")]
    Expired,
    #[error("this invite code has been used up")]
    UsedUp,
    #[error("you have already redeemed an invite")]
    AlreadyRedeemed,
    #[error("this account is blocked")]
    Blocked,
}

/// Checks that `user` may sign in with `invite` now, without changing anything.
fn check_invite_usable(invite: &Invite, user: &User, now: Timestamp) -> Result<(), InviteError> {
    if user.blocked {
        return Err(InviteError::Blocked);
    }
    if user.invite_code.is_some() {
        return Err(InviteError::AlreadyRedeemed);
    }
    if invite.is_expired(now) {
        return Err(InviteError::Expired);
    }
    if invite.uses_left_for(user.id, now) == 0 {
        return Err(InviteError::UsedUp);
    }
    Ok(())
}

/// Sets aside one use of `invite` for `user` until `now + INVITE_HOLD_SECS` (renewing their hold
/// if they already have one) and drops lapsed holds. The use is counted only by `redeem_invite`.
pub fn reserve_invite(invite: &mut Invite, user: &User, now: Timestamp) -> Result<(), InviteError> {
    check_invite_usable(invite, user, now)?;
    invite.holds.retain(|h| h.until > now && h.user != user.id);
    invite.holds.push(InviteHold { user: user.id, until: now.plus_secs(INVITE_HOLD_SECS) });
    Ok(())
}

/// Redeems `invite` for `user`: counts the use (consuming the user's hold, if any), grants the
/// invite's tier and returns the history entry to store with them. Both are changed only when
/// redemption succeeds.
pub fn redeem_invite(
    invite: &mut Invite,
    user: &mut User,
    catalog: &TierCatalog,
    now: Timestamp,
) -> Result<TierChange, InviteError> {
    check_invite_usable(invite, user, now)?;
    invite.holds.retain(|h| h.until > now && h.user != user.id);
    invite.uses += 1;
    user.invite_code = Some(invite.code.clone());
    user.invited_by = Some(invite.created_by);
    let reason = TierChangeReason::Invite { code: invite.code.clone() };
    Ok(change_tier(user, invite.tier, invite.trial_days, catalog, now, reason))
}

/// Sets a user's tier for `days` (None: the tier's default duration, which is forever for paid
/// tiers) and returns the history entry describing the change.
pub fn change_tier(
    user: &mut User,
    to: Tier,
    days: Option<u32>,
    catalog: &TierCatalog,
    now: Timestamp,
    reason: TierChangeReason,
) -> TierChange {
    let from = user.effective_tier(now);
    let days = days.or(catalog.limits(to).default_days);
    let expires_at = match to {
        Tier::Free => None,
        _ => days.map(|d| now.plus_days(d)),
    };
    user.tier = to;
    user.tier_expires_at = expires_at;
    TierChange { user: user.id, from, to, at: now, expires_at, reason }
}

/// If the user's tier has lapsed, moves them to free and returns the history entry.
pub fn lapse_tier_if_expired(user: &mut User, now: Timestamp) -> Option<TierChange> {
    let expired = user.tier != Tier::Free && user.tier_expires_at.is_some_and(|at| at <= now);
    if !expired {
        return None;
    }
    let from = user.tier;
    user.tier = Tier::Free;
    user.tier_expires_at = None;
    Some(TierChange { user: user.id, from, to: Tier::Free, at: now, expires_at: None, reason: TierChangeReason::Lapsed })
}

/// Only admins may grant tiers, and not to themselves below admin rights (roles are separate).
pub fn check_admin(actor: &User) -> Result<UserId, AdminError> {
    if actor.is_admin() && !actor.blocked {
        Ok(actor.id)
    } else {
        Err(AdminError::NotAdmin)
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AdminError {
    #[error("not an admin")]
    NotAdmin,
}

/// How fast one user may talk to the bot: a token bucket of `burst` messages refilled at
/// `per_minute` tokens a minute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub burst: u32,
    pub per_minute: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit { burst: 10, per_minute: 20 }
    }
}

/// A user's token bucket as stored.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenBucket {
    pub tokens: f64,
    pub at: Timestamp,
    /// The user has been told they are going too fast since the bucket last ran dry.
    pub warned: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// Over the limit; `warn` is true only the first time, so a flood gets one reply.
    Limited { warn: bool },
}

impl TokenBucket {
    pub fn full(limit: RateLimit, now: Timestamp) -> Self {
        TokenBucket { tokens: f64::from(limit.burst), at: now, warned: false }
    }

    /// Refills for the time passed and takes one token if there is one.
    pub fn take(&mut self, limit: RateLimit, now: Timestamp) -> RateDecision {
        let elapsed = (now.0 - self.at.0).max(0) as f64;
        self.tokens = (self.tokens + elapsed * f64::from(limit.per_minute) / 60.0).min(f64::from(limit.burst));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.warned = false;
            return RateDecision::Allowed;
        }
        let warn = !self.warned;
        self.warned = true;
        RateDecision::Limited { warn }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{InviteCode, Language, Role};

    #[test]
    fn a_channel_keeps_what_its_best_followers_plan_allows() {
        let catalog = TierCatalog::default();
        assert_eq!(channel_allowance([Tier::Free], &catalog), 100);
        assert_eq!(channel_allowance([Tier::Free, Tier::Premium, Tier::Basic], &catalog), 2000);
        assert_eq!(channel_allowance([], &catalog), 0, "nobody with access: nothing more is kept");
    }

    const NOW: Timestamp = Timestamp(1_700_000_000);

    fn user() -> User {
        User::new(UserId::new(42).unwrap(), "Anna", Language::Ru, NOW).unwrap()
    }
    fn admin() -> UserId {
        UserId::new(1).unwrap()
    }
    fn invite(tier: Tier, valid_days: Option<u32>, uses: u32, trial_days: Option<u32>) -> Invite {
        let code = InviteCode::parse("ABCDEF123456").unwrap();
        Invite::new(code, admin(), NOW, tier, valid_days, uses, trial_days).unwrap()
    }

    #[test]
    fn free_users_may_follow_three_channels() {
        let catalog = TierCatalog::default();
        let mut u = user();
        for n in 0..3 {
            u.channel_count = n;
            assert_eq!(check_can_add_channel(&u, &catalog, NOW), Ok(()));
        }
        u.channel_count = 3;
        assert_eq!(check_can_add_channel(&u, &catalog, NOW), Err(LimitError::Channels { tier: Tier::Free, limit: 3 }));
    }

    #[test]
    fn a_lapsed_tier_counts_as_free() {
        let catalog = TierCatalog::default();
        let mut u = user();
        change_tier(&mut u, Tier::Premium, Some(1), &catalog, NOW, TierChangeReason::AdminGrant { by: admin() });
        u.channel_count = 10;
        assert_eq!(check_can_add_channel(&u, &catalog, NOW), Ok(()));
        let later = NOW.plus_days(1);
        assert!(check_can_add_channel(&u, &catalog, later).is_err());
        let change = lapse_tier_if_expired(&mut u, later).expect("lapsed");
        assert_eq!((change.from, change.to, change.reason), (Tier::Premium, Tier::Free, TierChangeReason::Lapsed));
        assert_eq!(lapse_tier_if_expired(&mut u, later), None);
    }

    #[test]
    fn daily_quotas_follow_the_tier() {
        let catalog = TierCatalog::default();
        let mut u = user();
        assert!(check_daily_quota(DailyQuota::RagQueries, 9, &u, &catalog, NOW).is_ok());
        assert_eq!(
            check_daily_quota(DailyQuota::RagQueries, 10, &u, &catalog, NOW),
            Err(LimitError::Daily { tier: Tier::Free, what: "questions", limit: 10 })
        );
        change_tier(&mut u, Tier::Basic, None, &catalog, NOW, TierChangeReason::AdminGrant { by: admin() });
        assert!(check_daily_quota(DailyQuota::RagQueries, 49, &u, &catalog, NOW).is_ok());
        assert!(check_daily_quota(DailyQuota::Posts, 500, &u, &catalog, NOW).is_err());
    }

    #[test]
    fn digests_need_a_paid_or_trial_tier() {
        let catalog = TierCatalog::default();
        let mut u = user();
        assert_eq!(check_can_use_digests(&u, &catalog, NOW), Err(LimitError::NoDigests { tier: Tier::Free }));
        change_tier(&mut u, Tier::Trial, None, &catalog, NOW, TierChangeReason::AdminGrant { by: admin() });
        assert_eq!(check_can_use_digests(&u, &catalog, NOW), Ok(()));
    }

    #[test]
    fn redeeming_an_invite_grants_its_tier_and_counts_the_use() {
        let catalog = TierCatalog::default();
        let mut inv = invite(Tier::Trial, Some(30), 2, None);
        let mut u = user();
        let change = redeem_invite(&mut inv, &mut u, &catalog, NOW).unwrap();
        assert_eq!(inv.uses, 1);
        assert_eq!(u.tier, Tier::Trial);
        assert_eq!(u.tier_expires_at, Some(NOW.plus_days(7)), "trial lasts its default 7 days");
        assert_eq!(u.invited_by, Some(admin()));
        assert!(u.has_access());
        assert_eq!((change.from, change.to), (Tier::Free, Tier::Trial));
        assert_eq!(change.reason, TierChangeReason::Invite { code: inv.code.clone() });
    }

    #[test]
    fn invite_trial_days_override_the_tier_default() {
        let catalog = TierCatalog::default();
        let mut inv = invite(Tier::Premium, None, 1, Some(14));
        let mut u = user();
        redeem_invite(&mut inv, &mut u, &catalog, NOW).unwrap();
        assert_eq!(u.tier_expires_at, Some(NOW.plus_days(14)));
    }

    #[test]
    fn expired_used_up_and_repeated_redemptions_change_nothing() {
        let catalog = TierCatalog::default();
        let mut inv = invite(Tier::Basic, Some(1), 1, None);
        let mut u = user();
        let before = (inv.clone(), u.clone());
        assert_eq!(redeem_invite(&mut inv, &mut u, &catalog, NOW.plus_days(1)), Err(InviteError::Expired));
        assert_eq!((inv.clone(), u.clone()), before);

        redeem_invite(&mut inv, &mut u, &catalog, NOW).unwrap();
        let mut other = User::new(UserId::new(7).unwrap(), "Boris", Language::En, NOW).unwrap();
        let before = (inv.clone(), other.clone());
        assert_eq!(redeem_invite(&mut inv, &mut other, &catalog, NOW), Err(InviteError::UsedUp));
        assert_eq!((inv.clone(), other.clone()), before);

        let mut again = invite(Tier::Basic, None, 5, None);
        assert_eq!(redeem_invite(&mut again, &mut u, &catalog, NOW), Err(InviteError::AlreadyRedeemed));
        assert_eq!(again.uses, 0);
    }

    #[test]
    fn a_reservation_holds_a_use_until_it_lapses_or_is_redeemed() {
        let catalog = TierCatalog::default();
        let mut inv = invite(Tier::Basic, Some(30), 1, None);
        let mut anna = user();
        let mut boris = User::new(UserId::new(7).unwrap(), "Boris", Language::En, NOW).unwrap();
        reserve_invite(&mut inv, &anna, NOW).unwrap();
        reserve_invite(&mut inv, &anna, NOW.plus_secs(60)).expect("renewing one's own hold is fine");
        assert_eq!(inv.holds.len(), 1);
        assert_eq!(reserve_invite(&mut inv, &boris, NOW), Err(InviteError::UsedUp), "the only use is held");
        assert_eq!(redeem_invite(&mut inv, &mut boris, &catalog, NOW), Err(InviteError::UsedUp));

        let lapsed = NOW.plus_secs(60 + INVITE_HOLD_SECS);
        reserve_invite(&mut inv, &boris, lapsed).expect("Anna's hold lapsed");
        assert_eq!(inv.holds, vec![InviteHold { user: boris.id, until: lapsed.plus_secs(INVITE_HOLD_SECS) }]);
        redeem_invite(&mut inv, &mut boris, &catalog, lapsed).unwrap();
        assert!(inv.holds.is_empty(), "redeeming consumes the hold");
        assert_eq!(redeem_invite(&mut inv, &mut anna, &catalog, lapsed), Err(InviteError::UsedUp));
    }

    #[test]
    fn blocked_users_cannot_redeem() {
        let catalog = TierCatalog::default();
        let mut inv = invite(Tier::Basic, None, 1, None);
        let mut u = user();
        u.blocked = true;
        assert_eq!(redeem_invite(&mut inv, &mut u, &catalog, NOW), Err(InviteError::Blocked));
    }

    #[test]
    fn a_token_bucket_allows_a_burst_then_one_warning_then_refills() {
        let limit = RateLimit { burst: 3, per_minute: 60 };
        let mut bucket = TokenBucket::full(limit, NOW);
        for _ in 0..3 {
            assert_eq!(bucket.take(limit, NOW), RateDecision::Allowed);
        }
        assert_eq!(bucket.take(limit, NOW), RateDecision::Limited { warn: true });
        assert_eq!(bucket.take(limit, NOW), RateDecision::Limited { warn: false });
        assert_eq!(bucket.take(limit, NOW.plus_secs(1)), RateDecision::Allowed, "one token a second");
        assert_eq!(bucket.take(limit, NOW.plus_secs(1)), RateDecision::Limited { warn: true });
        assert_eq!(bucket.take(limit, NOW.plus_secs(3600)), RateDecision::Allowed);
        assert!(bucket.tokens <= 2.0, "never more than the burst");
    }

    #[test]
    fn only_admins_pass_the_admin_check() {
        let mut u = user();
        assert_eq!(check_admin(&u), Err(AdminError::NotAdmin));
        u.role = Role::Admin;
        assert_eq!(check_admin(&u), Ok(u.id));
        u.blocked = true;
        assert_eq!(check_admin(&u), Err(AdminError::NotAdmin));
    }

    #[test]
    fn tier_limits_can_be_overridden_by_json() {
        let catalog = TierCatalog::with_overrides_json(r#"{"basic": {"max_channels": 20}, "free": {"digests": true}}"#)
            .unwrap();
        assert_eq!(catalog.limits(Tier::Basic).max_channels, 20);
        assert_eq!(catalog.limits(Tier::Basic).posts_per_day, 500);
        assert!(catalog.limits(Tier::Free).digests);
        assert!(TierCatalog::with_overrides_json(r#"{"gold": {}}"#).is_err());
        assert!(TierCatalog::with_overrides_json(r#"{"basic": {"channels": 1}}"#).is_err());
    }

    #[test]
    fn the_default_catalog_is_the_product_table() {
        let c = TierCatalog::default();
        let row = |t| {
            let l = c.limits(t);
            (l.max_channels, l.posts_per_day, l.rag_queries_per_day, l.digests)
        };
        assert_eq!(row(Tier::Free), (3, 100, 10, false));
        assert_eq!(row(Tier::Trial).0, 10);
        assert_eq!(c.limits(Tier::Trial).default_days, Some(7));
        assert_eq!(row(Tier::Basic), (10, 500, 50, true));
        assert_eq!(row(Tier::Premium), (50, 2000, 200, true));
        assert_eq!(row(Tier::Enterprise), (999, 99_999, 999, true));
    }
}
