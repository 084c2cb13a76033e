//! One ranked list from the user's posts and the web: reciprocal-rank fusion of the two lists
//! (their scores are not comparable), each result labelled with where it came from.

use crate::Timestamp;
use crate::ports::WebResult;
use crate::retrieval::RetrievedPost;

#[derive(Clone, Debug, PartialEq)]
pub enum FoundSource {
    /// A post in one of the user's channels.
    Post { channel_title: String, date: Timestamp, key: crate::model::PostKey },
    /// A web page (its site's domain).
    Web { site: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub source: FoundSource,
    pub title: String,
    pub url: String,
    pub snippet: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebStatus {
    Included,
    NotConfigured,
    Failed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SearchOutcome {
    pub results: Vec<Found>,
    pub web: WebStatus,
}

const RRF_K: f64 = 60.0;

fn site_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    host.trim_start_matches("www.").to_owned()
}

fn post_title(post: &RetrievedPost) -> String {
    let first = post.post.text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let title: String = first.chars().take(90).collect();
    if title.chars().count() < first.chars().count() { format!("{}…", title.trim_end()) } else { title }
}

/// Posts and web results fused by rank (posts win ties: they are the user's own sources).
pub fn merge_results(posts: &[RetrievedPost], web: &[WebResult], limit: usize) -> Vec<Found> {
    let mut scored: Vec<(f64, usize, Found)> = Vec::new();
    for (rank, p) in posts.iter().enumerate() {
        let found = Found {
            source: FoundSource::Post { channel_title: p.channel_title.clone(), date: p.post.date, key: p.post.key },
            title: post_title(p),
            url: p.post.link.clone(),
            snippet: p.snippet.clone(),
        };
        scored.push((1.0 / (RRF_K + rank as f64 + 1.0), 0, found));
    }
    for (rank, w) in web.iter().enumerate() {
        if w.url.is_empty() || scored.iter().any(|(_, _, f)| f.url == w.url) {
            continue;
        }
        let found = Found { source: FoundSource::Web { site: site_of(&w.url) }, title: w.title.clone(), url: w.url.clone(), snippet: w.snippet.clone() };
        scored.push((1.0 / (RRF_K + rank as f64 + 1.0), 1, found));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().take(limit).map(|(_, _, f)| f).collect()
}

/// What `/search` does wherever it runs (the worker, the API): the query is remembered, the
/// user's posts and the web (when configured) are searched at once, the ranks fused, and the
/// posts shown are marked seen. A failing web search leaves the posts.
pub struct Searcher {
    pub repo: crate::repo::Repository,
    pub retriever: std::sync::Arc<crate::retrieval::Retriever>,
    pub web: Option<std::sync::Arc<dyn crate::ports::WebSearch>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Retrieval(#[from] crate::retrieval::RetrievalError),
    #[error(transparent)]
    Repo(#[from] crate::repo::RepoError),
}

impl Searcher {
    pub async fn search(&self, user: crate::model::UserId, query: &str, language: crate::model::Language, limit: usize) -> Result<SearchOutcome, SearchError> {
        use crate::model::{QueryKind, QueryRecord};
        let now = self.repo.clock().now();
        if let Ok(record) = QueryRecord::new(user, QueryKind::Search, query, now) {
            self.repo.record_query(&record).await?;
        }
        let request = crate::retrieval::RetrievalRequest { user, question: query.to_owned(), limit, now, recency_half_life_days: None, tags: Vec::new() };
        let posts_fut = self.retriever.retrieve(&request);
        let (posts, web) = match &self.web {
            None => (posts_fut.await?, Err(WebStatus::NotConfigured)),
            Some(web) => {
                let (posts, pages) = futures_util::future::join(posts_fut, web.search(query, language, limit)).await;
                (posts?, pages.map_err(|e| {
                    tracing::warn!(error = %e, "web search failed; posts only");
                    WebStatus::Failed
                }))
            }
        };
        let (pages, status) = match web {
            Ok(pages) => (pages, WebStatus::Included),
            Err(status) => (Vec::new(), status),
        };
        let results = merge_results(&posts.posts, &pages, limit);
        let shown: Vec<_> = results
            .iter()
            .filter_map(|f| match f.source {
                FoundSource::Post { key, .. } => Some(key),
                _ => None,
            })
            .collect();
        self.repo.mark_seen(user, &shown).await?;
        Ok(SearchOutcome { results, web: status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::tests_support::retrieved;

    #[test]
    fn posts_and_pages_interleave_by_rank_with_labels() {
        let posts = [retrieved(1, "Ставка ЦБ\nподробности"), retrieved(2, "Курс рубля")];
        let web = [
            WebResult { title: "ЦБ РФ".into(), url: "https://www.cbr.ru/press/".into(), snippet: "s".into() },
            WebResult { title: "dup".into(), url: posts[0].post.link.clone(), snippet: String::new() },
        ];
        let merged = merge_results(&posts, &web, 10);
        let kinds: Vec<_> = merged.iter().map(|f| (matches!(f.source, FoundSource::Post { .. }), f.title.as_str())).collect();
        assert_eq!(kinds, [(true, "Ставка ЦБ"), (false, "ЦБ РФ"), (true, "Курс рубля")]);
        assert_eq!(merged[1].source, FoundSource::Web { site: "cbr.ru".into() });
    }
}
