use super::{ChannelId, UserId};
use crate::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSettings {
    /// Tell the user about each new post.
    pub notify_new_posts: bool,
    pub include_in_digest: bool,
}

impl Default for SubscriptionSettings {
    fn default() -> Self {
        SubscriptionSettings { notify_new_posts: false, include_in_digest: true }
    }
}

/// A user following a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub user: UserId,
    pub channel: ChannelId,
    pub added_at: Timestamp,
    pub settings: SubscriptionSettings,
}
