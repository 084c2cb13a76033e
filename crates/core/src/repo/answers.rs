//! What answering remembers: cached answers (an hour, per user, question and index version) and
//! the posts a user has been shown (so `/recommend` offers something new).

use super::codec::{decode, item_of};
use super::users::user_pk;
use super::{RepoError, Repository};
use crate::Timestamp;
use crate::answer::Answer;
use crate::hash::fnv64;
use crate::model::{ChannelId, PostKey, UserId};
use crate::ports::table_store::query_all;
use crate::ports::{BatchOp, Condition, Item, Key, Query};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// How long "seen" marks last: older posts may be recommended again.
const SEEN_DAYS: i64 = 90;

#[derive(Serialize, Deserialize)]
struct CachedAnswer {
    question: String,
    version: String,
    answer: Answer,
}

fn answer_key(user: UserId, question: &str) -> Key {
    Key::new(user_pk(user), format!("answer#{:016x}", fnv64(question.bytes())))
}

/// How long a question is remembered for follow-ups (a reply to its answer).
const ASKED_DAYS: i64 = 7;

fn asked_key(user: UserId, message_id: i64) -> Key {
    Key::new(user_pk(user), format!("asked#{message_id}"))
}

impl Repository {
    /// Remembers that the bot's message `message_id` (the "⏳" its answer replaces) answers
    /// `question`: a reply to it is a follow-up asked with this question.
    pub async fn record_asked(&self, user: UserId, message_id: i64, question: &str) -> Result<(), RepoError> {
        let mut attrs = crate::ports::Attrs::new();
        attrs.insert("question".into(), question.into());
        let item = Item::new(asked_key(user, message_id), attrs).expiring_at(self.clock.now().plus_secs(ASKED_DAYS * 86_400));
        self.store.put(item, Condition::Always).await?;
        Ok(())
    }

    /// The question the bot's message `message_id` answers, if it is one of `user`'s answers.
    pub async fn asked(&self, user: UserId, message_id: i64) -> Result<Option<String>, RepoError> {
        let item = self.store.get(&asked_key(user, message_id)).await?;
        Ok(item.and_then(|i| i.attr("question").and_then(|q| q.as_str()).map(str::to_owned)))
    }

    /// The cached answer to `question` (normalized) if it was given against the same `version`.
    pub async fn cached_answer(&self, user: UserId, question: &str, version: &str) -> Result<Option<Answer>, RepoError> {
        let Some(item) = self.store.get(&answer_key(user, question)).await? else { return Ok(None) };
        if !item.is_live(self.clock.now()) {
            return Ok(None);
        }
        let cached: CachedAnswer = decode("cached answer", &item)?;
        // The text is compared, not only its hash: a collision must not answer another question.
        Ok((cached.question == question && cached.version == version).then_some(cached.answer))
    }

    pub async fn cache_answer(&self, user: UserId, question: &str, version: &str, answer: &Answer, ttl_secs: i64) -> Result<(), RepoError> {
        let cached = CachedAnswer { question: question.to_owned(), version: version.to_owned(), answer: answer.clone() };
        let item = item_of(answer_key(user, question), &cached).expiring_at(self.clock.now().plus_secs(ttl_secs));
        self.store.put(item, Condition::Always).await?;
        Ok(())
    }

    /// What the user's answers depend on: every followed channel and how often its posts changed.
    pub async fn index_version(&self, user: UserId) -> Result<String, RepoError> {
        let mut parts = Vec::new();
        for sub in self.subscriptions_of(user).await? {
            let stats = self.channel_stats(sub.channel).await?;
            parts.push(format!("{}:{}", sub.channel, stats.revision));
        }
        Ok(parts.join(","))
    }

    /// Remembers that `user` was shown these posts.
    pub async fn mark_seen(&self, user: UserId, posts: &[PostKey]) -> Result<(), RepoError> {
        let until: Timestamp = self.clock.now().plus_secs(SEEN_DAYS * 86_400);
        let mut posts = posts.to_vec();
        posts.sort_by_key(|k| (k.channel_id, k.message_id));
        posts.dedup();
        for chunk in posts.chunks(25) {
            let ops = chunk
                .iter()
                .map(|k| BatchOp::Put(Item::new(Key::new(user_pk(user), format!("seen#{}:{}", k.channel_id, k.message_id)), Default::default()).expiring_at(until)))
                .collect();
            self.store.batch_write(ops).await?;
        }
        Ok(())
    }

    pub async fn seen_posts(&self, user: UserId) -> Result<HashSet<PostKey>, RepoError> {
        let now = self.clock.now();
        let items = query_all(&*self.store, Query::partition(user_pk(user)).prefix("seen#")).await?;
        Ok(items
            .iter()
            .filter(|i| i.is_live(now))
            .filter_map(|i| {
                let (channel, message) = i.key.sk.strip_prefix("seen#")?.split_once(':')?;
                PostKey::new(ChannelId::new(channel.parse().ok()?).ok()?, message.parse().ok()?).ok()
            })
            .collect())
    }
}

/// How long a job's result waits for its API caller.
const RESULT_TTL_SECS: i64 = 24 * 3600;

/// What a job asked through the API came to (fetched by the job's id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum JobResult {
    Answered { answer: Answer },
    /// It failed on every attempt.
    Failed,
}

fn result_key(user: UserId, job: &str) -> Key {
    Key::new(user_pk(user), format!("result#{job}"))
}

impl Repository {
    pub async fn save_job_result(&self, user: UserId, job: &str, result: &JobResult) -> Result<(), RepoError> {
        let item = item_of(result_key(user, job), result).expiring_at(self.clock.now().plus_secs(RESULT_TTL_SECS));
        self.store.put(item, Condition::Always).await?;
        Ok(())
    }

    /// `user`'s result of job `job` (only theirs: the key is under the user).
    pub async fn job_result(&self, user: UserId, job: &str) -> Result<Option<JobResult>, RepoError> {
        match self.store.get(&result_key(user, job)).await? {
            Some(item) if item.is_live(self.clock.now()) => Ok(Some(decode("job result", &item)?)),
            _ => Ok(None),
        }
    }
}
