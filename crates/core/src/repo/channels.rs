//! Channels (shared by all followers) and the users' subscriptions to them.

use super::codec::{decode, item_of, padded};
use super::users::{user_item, user_pk};
use super::{MAX_ATTEMPTS, RepoError, Repository};
use crate::model::{Channel, ChannelId, Subscription, SubscriptionSettings, UserId, Username};
use crate::ports::table_store::query_all;
use crate::ports::{Attrs, Condition, Item, Key, Query, StoreError, Write};
use crate::rules;

fn channel_key(id: ChannelId) -> Key {
    Key::new(format!("channel#{id}"), "channel")
}
fn username_key(username: &Username) -> Key {
    Key::new(format!("chname#{username}"), "channel")
}
fn subscription_key(user: UserId, channel: ChannelId) -> Key {
    Key::new(user_pk(user), format!("sub#{}", padded(channel.get())))
}
fn subscription_item(sub: &Subscription) -> Item {
    let index = Key::new(format!("followers#{}", sub.channel), padded(sub.user.get()));
    item_of(subscription_key(sub.user, sub.channel), sub).with_index(index)
}

impl Repository {
    /// Creates or updates a channel and keeps its username pointer in step (usernames change).
    pub async fn save_channel(&self, channel: &Channel) -> Result<(), RepoError> {
        let previous = self.get_channel(channel.id).await?;
        let item = item_of(channel_key(channel.id), channel).with_index(Key::new("channels", padded(channel.id.get())));
        let mut writes = vec![Write::Put(item, Condition::Always)];
        if let Some(username) = &channel.username {
            let mut attrs = Attrs::new();
            attrs.insert("channel_id".into(), channel.id.get().into());
            writes.push(Write::Put(Item::new(username_key(username), attrs), Condition::Always));
        }
        if let Some(old) = previous.and_then(|p| p.username)
            && Some(&old) != channel.username.as_ref()
        {
            writes.push(Write::Delete(username_key(&old), Condition::Always));
        }
        self.store.transact(writes).await?;
        Ok(())
    }

    /// A channel (its post count is in `channel_stats`).
    pub async fn get_channel(&self, id: ChannelId) -> Result<Option<Channel>, RepoError> {
        match self.store.get(&channel_key(id)).await? {
            Some(item) => Ok(Some(decode("channel", &item)?)),
            None => Ok(None),
        }
    }

    /// Every known channel, in id order (scheduled work such as retention walks these).
    pub async fn list_channels(&self) -> Result<Vec<Channel>, RepoError> {
        let items = query_all(&*self.store, Query::index_partition("channels")).await?;
        items.iter().map(|i| decode("channel", i)).collect()
    }

    /// Finds a known channel by what the user typed (`@name`, `name`, `t.me/name`).
    pub async fn find_channel_by_username(&self, input: &str) -> Result<Option<Channel>, RepoError> {
        let username = Username::parse(input)?;
        let Some(pointer) = self.store.get(&username_key(&username)).await? else {
            return Ok(None);
        };
        let id = pointer
            .attr("channel_id")
            .and_then(|v| v.as_i64())
            .ok_or_else(|| RepoError::Corrupt { what: "username pointer", why: pointer.key.to_string() })?;
        let channel = self.get_channel(ChannelId::new(id)?).await?;
        // A stale pointer (the channel was renamed since) is no match.
        Ok(channel.filter(|c| c.username.as_ref() == Some(&username)))
    }

    /// `user` follows `channel`, within their tier's channel limit. The count on the user and
    /// the subscription are written together, so racing adds cannot pass the limit.
    pub async fn subscribe(&self, user_id: UserId, channel: ChannelId) -> Result<Subscription, RepoError> {
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            let (mut user, version) = self.require_user(user_id).await?;
            if self.store.get(&subscription_key(user_id, channel)).await?.is_some() {
                return Err(RepoError::AlreadyExists("subscription"));
            }
            rules::check_can_add_channel(&user, &self.catalog, now)?;
            user.channel_count += 1;
            let sub = Subscription { user: user_id, channel, added_at: now, settings: SubscriptionSettings::default() };
            let writes = vec![
                Write::Put(user_item(&user), Condition::Version(version)),
                Write::Put(subscription_item(&sub), Condition::NotExists),
                Write::Check(channel_key(channel), Condition::Exists),
            ];
            match self.store.transact(writes).await {
                Ok(()) => return Ok(sub),
                Err(StoreError::TransactionCancelled { index: 2, .. }) => return Err(RepoError::NotFound("channel")),
                Err(StoreError::TransactionCancelled { .. } | StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("subscriptions"))
    }

    /// `user` stops following `channel`; `NotFound` if they did not follow it.
    pub async fn unsubscribe(&self, user_id: UserId, channel: ChannelId) -> Result<(), RepoError> {
        for _ in 0..MAX_ATTEMPTS {
            let (mut user, version) = self.require_user(user_id).await?;
            user.channel_count = user.channel_count.saturating_sub(1);
            let writes = vec![
                Write::Put(user_item(&user), Condition::Version(version)),
                Write::Delete(subscription_key(user_id, channel), Condition::Exists),
            ];
            match self.store.transact(writes).await {
                Ok(()) => return Ok(()),
                Err(StoreError::TransactionCancelled { index: 1, .. }) => return Err(RepoError::NotFound("subscription")),
                Err(StoreError::TransactionCancelled { .. } | StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(RepoError::Contended("subscriptions"))
    }

    /// Whether `user` follows `channel` (one read, not the whole list).
    pub async fn follows(&self, user_id: UserId, channel: ChannelId) -> Result<bool, RepoError> {
        Ok(self.store.get(&subscription_key(user_id, channel)).await?.is_some())
    }

    /// The channels a user follows, in channel-id order.
    pub async fn subscriptions_of(&self, user_id: UserId) -> Result<Vec<Subscription>, RepoError> {
        let items = query_all(self.store.as_ref(), Query::partition(user_pk(user_id)).prefix("sub#")).await?;
        items.iter().map(|i| decode("subscription", i)).collect()
    }

    /// The users who follow a channel, in user-id order.
    pub async fn followers_of(&self, channel: ChannelId) -> Result<Vec<UserId>, RepoError> {
        let items = query_all(self.store.as_ref(), Query::index_partition(format!("followers#{channel}"))).await?;
        items.iter().map(|i| decode::<Subscription>("subscription", i).map(|s| s.user)).collect()
    }
}
