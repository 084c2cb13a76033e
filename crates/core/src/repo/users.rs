//! Users, invites, tier history, daily usage quotas and digest settings.

use super::codec::{decode, item_of, padded};
use super::{MAX_ATTEMPTS, RepoError, Repository};
use crate::Timestamp;
use crate::model::{
    Invite, InviteCode, Role, Tier, TierChange, TierChangeReason, User, UserId,
};
use crate::ports::table_store::query_all;
use crate::ports::{Condition, Cursor, Item, Key, Query, StoreError, Write};
use crate::rules::{self, DailyQuota};

pub(super) fn user_pk(id: UserId) -> String {
    format!("user#{id}")
}
fn user_key(id: UserId) -> Key {
    Key::new(user_pk(id), "profile")
}
pub(super) fn user_item(user: &User) -> Item {
    item_of(user_key(user.id), user).with_index(Key::new("users", padded(user.id.get())))
}
fn invite_key(code: &InviteCode) -> Key {
    Key::new(format!("invite#{code}"), "invite")
}
fn invite_item(invite: &Invite) -> Item {
    let index_sk = format!("{}#{}", padded(invite.created_at.0), invite.code);
    item_of(invite_key(&invite.code), invite).with_index(Key::new("invites", index_sk))
}
fn tier_change_item(change: &TierChange) -> Item {
    let sk = format!("tier#{}#{}-{}", padded(change.at.0), change.from, change.to);
    item_of(Key::new(user_pk(change.user), sk), change)
}

/// How many of the latest counted works a usage counter remembers (see `consume_daily_quota_once`).
const RECENT_WORK_KEPT: usize = 32;

impl Repository {
    /// Stores a new user; `AlreadyExists` if the id is taken.
    pub async fn create_user(&self, user: &User) -> Result<User, RepoError> {
        match self.store.put(user_item(user), Condition::NotExists).await {
            Ok(_) => Ok(user.clone()),
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::AlreadyExists("user")),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get_user(&self, id: UserId) -> Result<Option<User>, RepoError> {
        Ok(self.get_user_versioned(id).await?.map(|(user, _)| user))
    }

    async fn get_user_versioned(&self, id: UserId) -> Result<Option<(User, u64)>, RepoError> {
        match self.store.get(&user_key(id)).await? {
            Some(item) => Ok(Some((decode("user", &item)?, item.version))),
            None => Ok(None),
        }
    }

    pub(super) async fn require_user(&self, id: UserId) -> Result<(User, u64), RepoError> {
        self.get_user_versioned(id).await?.ok_or(RepoError::NotFound("user"))
    }

    /// Applies `change` to the stored user and saves it, retrying if another writer interleaves.
    /// Nothing is written when `change` fails.
    pub async fn update_user<F>(&self, id: UserId, mut change: F) -> Result<User, RepoError>
    where
        F: FnMut(&mut User) -> Result<(), RepoError> + Send,
    {
        for _ in 0..MAX_ATTEMPTS {
            let (mut user, version) = self.require_user(id).await?;
            change(&mut user)?;
            match self.store.put(user_item(&user), Condition::Version(version)).await {
                Ok(_) => return Ok(user),
                Err(StoreError::ConditionFailed(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("user"))
    }

    /// Users in id order, a page at a time (admin listing).
    pub async fn list_users(&self, limit: usize, after: Option<Cursor>) -> Result<(Vec<User>, Option<Cursor>), RepoError> {
        let page = self.store.query(Query::index_partition("users").limit(limit).after(after)).await?;
        let users = page.items.iter().map(|i| decode("user", i)).collect::<Result<_, _>>()?;
        Ok((users, page.next))
    }

    /// Every user, in id order (admin statistics and filtering).
    pub async fn all_users(&self) -> Result<Vec<User>, RepoError> {
        query_all(self.store.as_ref(), Query::index_partition("users")).await?.iter().map(|i| decode("user", i)).collect()
    }

    pub async fn create_invite(&self, invite: &Invite) -> Result<(), RepoError> {
        match self.store.put(invite_item(invite), Condition::NotExists).await {
            Ok(_) => Ok(()),
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::AlreadyExists("invite code")),
            Err(e) => Err(e.into()),
        }
    }

    /// Looks up an invite by what the user typed.
    pub async fn get_invite(&self, code: &str) -> Result<Option<Invite>, RepoError> {
        let code = InviteCode::parse(code)?;
        Ok(self.get_invite_versioned(&code).await?.map(|(invite, _)| invite))
    }

    async fn get_invite_versioned(&self, code: &InviteCode) -> Result<Option<(Invite, u64)>, RepoError> {
        match self.store.get(&invite_key(code)).await? {
            Some(item) => Ok(Some((decode("invite", &item)?, item.version))),
            None => Ok(None),
        }
    }

    /// Invites, newest first.
    pub async fn list_invites(&self, limit: usize) -> Result<Vec<Invite>, RepoError> {
        let page = self.store.query(Query::index_partition("invites").descending().limit(limit)).await?;
        page.items.iter().map(|i| decode("invite", i)).collect()
    }

    /// Redeems the invite `code` (as typed) for `user_id`: the use is counted, the tier granted
    /// and the history written in one transaction, so a code with N uses admits exactly N users
    /// however many try at once. Every refusal writes nothing.
    pub async fn redeem_invite(&self, code: &str, user_id: UserId) -> Result<(User, TierChange), RepoError> {
        let code = InviteCode::parse(code)?;
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            let (mut invite, invite_version) =
                self.get_invite_versioned(&code).await?.ok_or(rules::InviteError::Unknown)?;
            let (mut user, user_version) = self.require_user(user_id).await?;
            let change = rules::redeem_invite(&mut invite, &mut user, &self.catalog, now)?;
            let writes = vec![
                Write::Put(invite_item(&invite), Condition::Version(invite_version)),
                Write::Put(user_item(&user), Condition::Version(user_version)),
                Write::Put(tier_change_item(&change), Condition::Always),
            ];
            match self.store.transact(writes).await {
                Ok(()) => return Ok((user, change)),
                Err(StoreError::TransactionCancelled { .. } | StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("invite"))
    }

    /// Sets aside a use of the invite `code` (as typed) for `user_id` while they sign in, so
    /// that a code with N uses never lets N+1 users through the login. Refusals write nothing.
    pub async fn reserve_invite(&self, code: &str, user_id: UserId) -> Result<Invite, RepoError> {
        let code = InviteCode::parse(code)?;
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            let (mut invite, version) = self.get_invite_versioned(&code).await?.ok_or(rules::InviteError::Unknown)?;
            let (user, _) = self.require_user(user_id).await?;
            rules::reserve_invite(&mut invite, &user, now)?;
            match self.store.put(invite_item(&invite), Condition::Version(version)).await {
                Ok(_) => return Ok(invite),
                Err(StoreError::ConditionFailed(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("invite"))
    }

    /// An admin sets `target`'s tier for `days` (None: the tier's default). Writes history.
    pub async fn grant_tier(
        &self,
        admin: &User,
        target: UserId,
        tier: Tier,
        days: Option<u32>,
    ) -> Result<(User, TierChange), RepoError> {
        let by = rules::check_admin(admin)?;
        if let Some(d) = days
            && (d == 0 || d > Invite::MAX_DAYS)
        {
            return Err(crate::model::ValidationError::Malformed { what: "days", why: format!("1..={}", Invite::MAX_DAYS) }.into());
        }
        let granted = self
            .change_tier_with(target, |user, catalog, now| {
                Some(rules::change_tier(user, tier, days, catalog, now, TierChangeReason::AdminGrant { by }))
            })
            .await?;
        Ok(granted.expect("a grant always changes the tier"))
    }

    /// Moves a user whose tier has lapsed to free (with history); None if nothing lapsed.
    pub async fn lapse_tier_if_expired(&self, id: UserId) -> Result<Option<TierChange>, RepoError> {
        let lapsed = self.change_tier_with(id, |user, _, now| rules::lapse_tier_if_expired(user, now)).await?;
        Ok(lapsed.map(|(_, change)| change))
    }

    /// Applies a tier change to the stored user and writes its history entry in one
    /// transaction; writes nothing when `apply` returns None.
    async fn change_tier_with<F>(&self, id: UserId, mut apply: F) -> Result<Option<(User, TierChange)>, RepoError>
    where
        F: FnMut(&mut User, &crate::model::TierCatalog, Timestamp) -> Option<TierChange> + Send,
    {
        for _ in 0..MAX_ATTEMPTS {
            let (mut user, version) = self.require_user(id).await?;
            let Some(change) = apply(&mut user, &self.catalog, self.clock.now()) else {
                return Ok(None);
            };
            let writes = vec![
                Write::Put(user_item(&user), Condition::Version(version)),
                Write::Put(tier_change_item(&change), Condition::Always),
            ];
            match self.store.transact(writes).await {
                Ok(()) => return Ok(Some((user, change))),
                Err(StoreError::TransactionCancelled { .. } | StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("user"))
    }

    /// A user's subscription history, oldest first.
    pub async fn tier_history(&self, id: UserId) -> Result<Vec<TierChange>, RepoError> {
        let items = query_all(self.store.as_ref(), Query::partition(user_pk(id)).prefix("tier#")).await?;
        items.iter().map(|i| decode("tier change", i)).collect()
    }

    /// Blocks or unblocks a user (a blocked user gets no answers and cannot sign in).
    pub async fn set_blocked(&self, id: UserId, blocked: bool) -> Result<User, RepoError> {
        self.update_user(id, |u| {
            u.blocked = blocked;
            Ok(())
        })
        .await
    }

    /// Ends an invite now: no one can redeem it any more (redeemed ones stay redeemed).
    pub async fn revoke_invite(&self, code: &str) -> Result<Invite, RepoError> {
        let code = InviteCode::parse(code)?;
        let key = invite_key(&code);
        self.rewrite(&key, "invite", |current, now| {
            let mut invite: Invite = decode("invite", current.ok_or(RepoError::NotFound("invite"))?)?;
            if invite.is_expired(now) {
                return Ok((None, invite));
            }
            invite.expires_at = Some(now);
            Ok((Some(invite_item(&invite)), invite))
        })
        .await
    }

    /// Makes a user an admin (operators bootstrap the first admin from configuration).
    pub async fn set_role(&self, id: UserId, role: Role) -> Result<User, RepoError> {
        self.update_user(id, |u| {
            u.role = role;
            Ok(())
        })
        .await
    }

    /// Counts one use of a daily quota for `user_id`, refusing (and writing nothing) once the
    /// tier's limit for today (UTC) is reached. Returns how many are used today, this one included.
    pub async fn consume_daily_quota(&self, user_id: UserId, quota: DailyQuota) -> Result<u32, RepoError> {
        self.count_daily_quota(user_id, quota, None).await
    }

    /// As `consume_daily_quota`, counted once for `work` (the id of an update's work): an
    /// update handled again after a failure uses what its first try counted. Over the quota is
    /// refused as usual, also for work counted before the day's limit changed.
    pub async fn consume_daily_quota_once(&self, user_id: UserId, quota: DailyQuota, work: &str) -> Result<u32, RepoError> {
        self.count_daily_quota(user_id, quota, Some(work)).await
    }

    async fn count_daily_quota(&self, user_id: UserId, quota: DailyQuota, work: Option<&str>) -> Result<u32, RepoError> {
        let (user, _) = self.require_user(user_id).await?;
        let day = self.clock.now().utc_day();
        let key = Key::new(user_pk(user_id), format!("usage#{day}#{}", quota.as_str()));
        self.rewrite(&key, "usage counter", |current, now| {
            let used = current.and_then(|i| i.attr("used")).and_then(|v| v.as_u64()).unwrap_or(0) as u32;
            let mut counted: Vec<serde_json::Value> = current.and_then(|i| i.attr("works")).and_then(|v| v.as_array()).cloned().unwrap_or_default();
            if let Some(work) = work
                && counted.iter().any(|w| w.as_str() == Some(work))
            {
                return Ok((None, used));
            }
            rules::check_daily_quota(quota, used, &user, &self.catalog, now)?;
            let mut attrs = crate::ports::Attrs::new();
            attrs.insert("used".into(), (used + 1).into());
            if let Some(work) = work {
                // The latest few are enough: a retry follows its first try within minutes.
                counted.push(work.into());
                let keep = counted.len().saturating_sub(RECENT_WORK_KEPT);
                attrs.insert("works".into(), counted.split_off(keep).into());
            }
            // Counters outlive their day only long enough for statistics.
            Ok((Some(Item::new(key.clone(), attrs).expiring_at(Timestamp((day + 3) * Timestamp::DAY))), used + 1))
        })
        .await
    }

    /// How much of a daily quota is used today.
    pub async fn daily_usage(&self, user_id: UserId, quota: DailyQuota) -> Result<u32, RepoError> {
        let day = self.clock.now().utc_day();
        let key = Key::new(user_pk(user_id), format!("usage#{day}#{}", quota.as_str()));
        let item = self.store.get(&key).await?;
        Ok(item.and_then(|i| i.attr("used").and_then(|v| v.as_u64())).unwrap_or(0) as u32)
    }
}
