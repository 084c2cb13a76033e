//! How many posts a channel keeps. A channel is stored once for all its followers, so its
//! allowance is the most generous of their plans' `posts_per_day`: that many of its newest
//! posts when its history is loaded, and that many new posts each UTC day after. Posts beyond
//! it are not stored (and never embedded); the day's count of them is kept so users are told.

use super::{RepoError, Repository};
use crate::Timestamp;
use crate::model::ChannelId;
use crate::ports::{Attrs, Item, Key};
use crate::rules;

/// Today's new posts of one channel: kept, and not kept for being over the allowance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeptToday {
    pub kept: u32,
    pub not_kept: u32,
}

fn kept_key(channel: ChannelId, day: i64) -> Key {
    Key::new(format!("channel#{channel}"), format!("kept#{day}"))
}

fn count(item: Option<&Item>, name: &str) -> u32 {
    item.and_then(|i| i.attr(name)).and_then(|v| v.as_u64()).unwrap_or(0) as u32
}

impl Repository {
    /// The channel's allowance now: the best `posts_per_day` among followers not blocked
    /// (0 when nobody is left: nothing more is kept).
    pub async fn channel_allowance(&self, channel: ChannelId) -> Result<u32, RepoError> {
        let now = self.clock.now();
        let mut tiers = Vec::new();
        for id in self.followers_of(channel).await? {
            if let Some(user) = self.get_user(id).await?
                && !user.blocked
            {
                tiers.push(user.effective_tier(now));
            }
        }
        Ok(rules::channel_allowance(tiers, &self.catalog))
    }

    /// Takes room for `wanted` new posts of `channel` in today's `allowance`: returns how many
    /// may be kept (the first ones); the rest are counted as not kept.
    pub async fn keep_new_posts(&self, channel: ChannelId, wanted: u32, allowance: u32) -> Result<u32, RepoError> {
        if wanted == 0 {
            return Ok(0);
        }
        let day = self.clock.now().utc_day();
        let key = kept_key(channel, day);
        self.rewrite(&key, "channel allowance", |current, _| {
            let (kept, not_kept) = (count(current, "kept"), count(current, "not_kept"));
            let granted = wanted.min(allowance.saturating_sub(kept));
            let mut attrs = Attrs::new();
            attrs.insert("kept".into(), (kept + granted).into());
            attrs.insert("not_kept".into(), (not_kept + wanted - granted).into());
            Ok((Some(Item::new(key.clone(), attrs).expiring_at(Timestamp((day + 3) * Timestamp::DAY))), granted))
        })
        .await
    }

    pub async fn kept_today(&self, channel: ChannelId) -> Result<KeptToday, RepoError> {
        let item = self.store.get(&kept_key(channel, self.clock.now().utc_day())).await?;
        Ok(KeptToday { kept: count(item.as_ref(), "kept"), not_kept: count(item.as_ref(), "not_kept") })
    }
}
