//! `/recommend`: the user's topics — what they asked lately, else the tags most common in their
//! channels this week — each searched for; posts the user was already shown are skipped, and the
//! picks are spread over channels (round-robin, best first).

use crate::Timestamp;
use crate::answer::normalized_question;
use crate::model::{ChannelId, PostKey, UserId};
use crate::repo::Repository;
use crate::retrieval::{RetrievalError, RetrievalRequest, RetrievedPost, Retriever};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

const MAX_TOPICS: usize = 5;
const PER_TOPIC: usize = 10;
/// Recent posts sampled per channel when the topics come from tags.
const TAG_SAMPLE: usize = 50;

/// The topics recommendations are searched for, most recent interest first.
pub async fn recommendation_topics(repo: &Repository, user: UserId, now: Timestamp) -> Result<Vec<String>, RetrievalError> {
    let mut topics: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for q in repo.recent_queries(user, 30).await? {
        if seen.insert(normalized_question(&q.text)) {
            topics.push(q.text);
        }
        if topics.len() == MAX_TOPICS {
            return Ok(topics);
        }
    }
    if !topics.is_empty() {
        return Ok(topics);
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for sub in repo.subscriptions_of(user).await? {
        let (posts, _) = repo.channel_posts(sub.channel, TAG_SAMPLE, None).await?;
        for post in posts.iter().filter(|p| now.0 - p.date.0 <= 7 * 86_400) {
            for tag in &post.tags {
                *counts.entry(tag.clone()).or_default() += 1;
            }
        }
    }
    let mut tags: Vec<(String, usize)> = counts.into_iter().collect();
    tags.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(tags.into_iter().take(MAX_TOPICS).map(|(t, _)| t).collect())
}

pub struct Recommender {
    pub repo: Repository,
    pub retriever: Arc<Retriever>,
}

impl Recommender {
    /// Up to `limit` unseen posts on the user's topics, spread over channels; marked seen.
    pub async fn recommend(&self, user: UserId, now: Timestamp, limit: usize) -> Result<Vec<RetrievedPost>, RetrievalError> {
        let topics = recommendation_topics(&self.repo, user, now).await?;
        let seen = self.repo.seen_posts(user).await?;
        // Best rank over all topics decides a post's place.
        let mut candidates: HashMap<PostKey, (usize, RetrievedPost)> = HashMap::new();
        for topic in &topics {
            let request = RetrievalRequest { user, question: topic.clone(), limit: PER_TOPIC, now, recency_half_life_days: Some(7.0), tags: Vec::new() };
            for (rank, post) in self.retriever.retrieve(&request).await?.posts.into_iter().enumerate() {
                if seen.contains(&post.post.key) {
                    continue;
                }
                let entry = candidates.entry(post.post.key).or_insert((rank, post.clone()));
                entry.0 = entry.0.min(rank);
            }
        }
        let mut ranked: Vec<(usize, RetrievedPost)> = candidates.into_values().collect();
        ranked.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.post.date.cmp(&a.1.post.date)));
        let picks = spread_over_channels(ranked.into_iter().map(|(_, p)| p).collect(), limit);
        self.repo.mark_seen(user, &picks.iter().map(|p| p.post.key).collect::<Vec<_>>()).await?;
        Ok(picks)
    }
}

/// Round-robin over channels in order of each channel's best post.
fn spread_over_channels(ranked: Vec<RetrievedPost>, limit: usize) -> Vec<RetrievedPost> {
    let mut queues: Vec<(ChannelId, Vec<RetrievedPost>)> = Vec::new();
    for post in ranked {
        match queues.iter_mut().find(|(c, _)| *c == post.post.key.channel_id) {
            Some((_, q)) => q.push(post),
            None => queues.push((post.post.key.channel_id, vec![post])),
        }
    }
    let mut picks = Vec::new();
    let mut round = 0;
    while picks.len() < limit {
        let mut any = false;
        for (_, q) in &queues {
            if let Some(p) = q.get(round) {
                any = true;
                if picks.len() < limit {
                    picks.push(p.clone());
                }
            }
        }
        if !any {
            break;
        }
        round += 1;
    }
    picks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::model::{MediaKind, Post};

    fn post(channel: i64, message: i64) -> RetrievedPost {
        let key = PostKey::new(ChannelId::new(channel).unwrap(), message).unwrap();
        RetrievedPost { post: Post::new(key, None, "t", Timestamp(0), MediaKind::None).unwrap(), channel_title: String::new(), score: 1.0, snippet: String::new() }
    }

    #[test]
    fn picks_alternate_between_channels() {
        let ranked = vec![post(1, 1), post(1, 2), post(1, 3), post(2, 1), post(3, 1)];
        let picks: Vec<(i64, i64)> = spread_over_channels(ranked, 4).iter().map(|p| (p.post.key.channel_id.get(), p.post.key.message_id)).collect();
        assert_eq!(picks, [(1, 1), (2, 1), (3, 1), (1, 2)]);
    }
}
