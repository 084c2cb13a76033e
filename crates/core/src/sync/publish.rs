//! Channel messages as posts on the posts queue: SQS batches of at most 10 messages and 256 KiB.

use crate::messages::PostMessage;
use crate::model::{Post, PostKey};
use crate::ports::{OutgoingMessage, Queue, QueueError, RemoteChannel, RemoteMessage};
use std::sync::Arc;

/// SQS's limits for one SendMessageBatch.
const MAX_BATCH: usize = 10;
const MAX_BATCH_BYTES: usize = 256 * 1024 - 1024;

/// The post a message becomes; None for messages Siftgram keeps nothing of (empty service ones).
pub fn message_to_post(channel: &RemoteChannel, m: &RemoteMessage) -> Option<Post> {
    let key = PostKey::new(channel.id, m.id).ok()?;
    let mut post = Post::new(key, channel.username.as_ref(), &m.text, m.date, m.media).ok()?;
    post.edited_at = m.edited;
    post.views = m.views;
    Some(post)
}

#[derive(Clone)]
pub struct PostPublisher {
    pub posts: Arc<dyn Queue>,
}

impl PostPublisher {
    /// Sends every message, in order, in as few batches as the limits allow.
    pub async fn publish(&self, messages: &[PostMessage]) -> Result<(), QueueError> {
        let mut batch: Vec<OutgoingMessage> = Vec::new();
        let mut bytes = 0;
        for m in messages {
            let body = serde_json::to_string(m).expect("post messages serialize");
            if !batch.is_empty() && (batch.len() == MAX_BATCH || bytes + body.len() > MAX_BATCH_BYTES) {
                self.posts.send_batch(std::mem::take(&mut batch)).await?;
                bytes = 0;
            }
            bytes += body.len();
            batch.push(OutgoingMessage::new(body));
        }
        if !batch.is_empty() {
            self.posts.send_batch(batch).await?;
        }
        let deletes = messages.iter().filter(|m| matches!(m, PostMessage::Delete { .. })).count();
        crate::telemetry::sync_published(messages.len() - deletes, deletes);
        Ok(())
    }
}
