//! The posts a model is shown: the best retrieved posts within a token budget, near-duplicates
//! (a repost, the same news in two channels) kept once, newer first when equally relevant.

use crate::retrieval::RetrievedPost;
use std::collections::HashSet;

/// One numbered post in the model's context; the number is what the answer cites as `[n]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ContextPost {
    pub number: usize,
    pub post: RetrievedPost,
    /// The post's text, cut to fit the budget.
    pub text: String,
}

/// A rough token count (≈ 4 characters per token for Russian and English): budgets need an
/// upper bound, not a tokenizer.
pub fn estimated_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// Posts sharing this share of their words are the same post twice.
const NEAR_DUPLICATE: f64 = 0.8;
/// No single post takes more of the budget than this.
const MAX_TOKENS_PER_POST: usize = 400;
/// The header each post gets ("[n] channel, date").
const HEADER_TOKENS: usize = 16;

fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.chars().count() > 2).map(str::to_lowercase).collect()
}

fn similarity(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    a.intersection(b).count() as f64 / a.union(b).count() as f64
}

/// The context for `posts` (best first) within `budget_tokens`.
pub fn assemble_context(posts: &[RetrievedPost], budget_tokens: usize) -> Vec<ContextPost> {
    let mut ordered: Vec<&RetrievedPost> = posts.iter().collect();
    // Stable: retrieval order stands; equal scores put the newer post first.
    ordered.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.post.date.cmp(&a.post.date)));
    let mut kept: Vec<(HashSet<String>, ContextPost)> = Vec::new();
    let mut left = budget_tokens;
    for post in ordered {
        if left <= HEADER_TOKENS {
            break;
        }
        let readable = post.post.readable_text();
        let terms = words(&readable);
        if kept.iter().any(|(seen, _)| similarity(seen, &terms) >= NEAR_DUPLICATE) {
            continue;
        }
        let room = (left - HEADER_TOKENS).min(MAX_TOKENS_PER_POST);
        let text: String = readable.chars().take(room * 4).collect();
        left -= HEADER_TOKENS + estimated_tokens(&text);
        let number = kept.len() + 1;
        kept.push((terms, ContextPost { number, post: post.clone(), text }));
    }
    kept.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::model::{ChannelId, MediaKind, Post, PostKey};

    fn retrieved(message: i64, text: &str, score: f32, day: i64) -> RetrievedPost {
        let key = PostKey::new(ChannelId::new(1).unwrap(), message).unwrap();
        RetrievedPost { post: Post::new(key, None, text, Timestamp(86_400 * day), MediaKind::None).unwrap(), channel_title: "C".into(), score, snippet: String::new() }
    }

    #[test]
    fn near_duplicates_are_kept_once_and_ties_go_to_the_newer_post() {
        let posts = [
            retrieved(1, "Центробанк повысил ключевую ставку до 18 процентов годовых", 0.5, 1),
            retrieved(2, "Центробанк повысил ключевую ставку до 18 процентов годовых!", 0.5, 2),
            retrieved(3, "Нефть подешевела на фоне новостей из ОПЕК", 0.4, 3),
        ];
        let context = assemble_context(&posts, 1000);
        let order: Vec<(usize, i64)> = context.iter().map(|c| (c.number, c.post.post.key.message_id)).collect();
        assert_eq!(order, [(1, 2), (2, 3)]);
    }

    #[test]
    fn the_budget_bounds_the_context() {
        let text = |i: i64| (0..1500).map(|j| format!("w{i}x{j}")).collect::<Vec<_>>().join(" ");
        let posts: Vec<_> = (1..=10).map(|i| retrieved(i, &text(i), 1.0 - i as f32 / 100.0, i)).collect();
        let context = assemble_context(&posts, 1000);
        let used: usize = context.iter().map(|c| HEADER_TOKENS + estimated_tokens(&c.text)).sum();
        assert!(used <= 1000, "{used}");
        assert_eq!(context.len(), 3, "two full posts and what fits of a third");
        assert!(context[0].text.chars().count() <= MAX_TOKENS_PER_POST * 4);
    }
}
