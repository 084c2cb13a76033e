//! Posts, stored once per channel and keyed by (channel id, message id).

use super::codec::{decode, item_of, padded};
use super::{RepoError, Repository};
use crate::model::{ChannelId, Post, PostKey};
use crate::ports::{Condition, Cursor, Key, Query, StoreError};

fn post_key(key: PostKey) -> Key {
    Key::new(format!("post#{}", key.channel_id), padded(key.message_id))
}

/// What inserting a post did. A redelivered post is `AlreadyStored`, never a second copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostInsert {
    Inserted,
    AlreadyStored,
}

impl Repository {
    /// Stores a post unless one with the same key exists (idempotent ingestion).
    pub async fn insert_post(&self, post: &Post) -> Result<PostInsert, RepoError> {
        match self.store.put(item_of(post_key(post.key), post), Condition::NotExists).await {
            Ok(_) => Ok(PostInsert::Inserted),
            Err(StoreError::ConditionFailed(_)) => Ok(PostInsert::AlreadyStored),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a stored post (an edit); `NotFound` if it was never stored or was deleted.
    pub async fn update_post(&self, post: &Post) -> Result<(), RepoError> {
        match self.store.put(item_of(post_key(post.key), post), Condition::Exists).await {
            Ok(_) => Ok(()),
            Err(StoreError::ConditionFailed(_)) => Err(RepoError::NotFound("post")),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a post (deleted in Telegram, or past retention). Deleting twice is fine.
    pub async fn delete_post(&self, key: PostKey) -> Result<(), RepoError> {
        self.store.delete(&post_key(key), Condition::Always).await?;
        Ok(())
    }

    pub async fn get_post(&self, key: PostKey) -> Result<Option<Post>, RepoError> {
        match self.store.get(&post_key(key)).await? {
            Some(item) => Ok(Some(decode("post", &item)?)),
            None => Ok(None),
        }
    }

    /// A channel's posts, newest first, a page at a time.
    pub async fn channel_posts(
        &self,
        channel: ChannelId,
        limit: usize,
        after: Option<Cursor>,
    ) -> Result<(Vec<Post>, Option<Cursor>), RepoError> {
        let query = Query::partition(format!("post#{channel}")).descending().limit(limit).after(after);
        let page = self.store.query(query).await?;
        let posts = page.items.iter().map(|i| decode("post", i)).collect::<Result<_, _>>()?;
        Ok((posts, page.next))
    }
}
