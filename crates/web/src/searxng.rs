//! SearXNG's JSON API (`/search?format=json`), optionally behind HTTP basic auth.

use async_trait::async_trait;
use siftgram_core::model::Language;
use siftgram_core::ports::{WebResult, WebSearch, WebSearchError};
use std::time::Duration;

#[derive(Clone)]
pub struct SearxngConfig {
    pub base_url: String,
    /// Basic auth (user, password), when the instance is behind a proxy that asks.
    pub basic_auth: Option<(String, String)>,
    pub timeout: Duration,
}

/// The password never prints.
impl std::fmt::Debug for SearxngConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearxngConfig")
            .field("base_url", &self.base_url)
            .field("basic_auth_user", &self.basic_auth.as_ref().map(|(user, _)| user))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SearxngConfig {
    /// `SIFTGRAM_SEARXNG_URL` (unset: no web search), optional `SIFTGRAM_SEARXNG_USER` and
    /// `SIFTGRAM_SEARXNG_PASSWORD`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Option<SearxngConfig> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let base_url = get("SIFTGRAM_SEARXNG_URL")?;
        let basic_auth = get("SIFTGRAM_SEARXNG_USER").map(|u| (u, get("SIFTGRAM_SEARXNG_PASSWORD").unwrap_or_default()));
        Some(SearxngConfig { base_url, basic_auth, timeout: Duration::from_secs(6) })
    }
}

pub struct Searxng {
    http: reqwest::Client,
    config: SearxngConfig,
}

impl Searxng {
    pub fn new(config: SearxngConfig) -> Searxng {
        Searxng { http: crate::http_client(config.timeout), config }
    }
}

#[async_trait]
impl WebSearch for Searxng {
    async fn search(&self, query: &str, language: Language, limit: usize) -> Result<Vec<WebResult>, WebSearchError> {
        let lang = match language {
            Language::Ru => "ru",
            Language::En => "en",
        };
        let base = format!("{}/search", self.config.base_url.trim_end_matches('/'));
        let url = url::Url::parse_with_params(&base, [("q", query), ("format", "json"), ("language", lang), ("safesearch", "1")])
            .map_err(|e| WebSearchError(format!("bad SearXNG URL: {e}")))?;
        let mut request = self.http.get(url);
        if let Some((user, password)) = &self.config.basic_auth {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().await.map_err(|e| WebSearchError(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(WebSearchError(format!("SearXNG answered {status}")));
        }
        let body: serde_json::Value = response.json().await.map_err(|e| WebSearchError(format!("SearXNG sent no JSON: {}", e.without_url())))?;
        let results = body["results"].as_array().ok_or_else(|| WebSearchError("SearXNG's answer has no results list".into()))?;
        Ok(results
            .iter()
            .filter_map(|r| {
                let url = r["url"].as_str()?.to_owned();
                url.starts_with("http").then(|| WebResult {
                    title: r["title"].as_str().unwrap_or(&url).trim().to_owned(),
                    snippet: r["content"].as_str().unwrap_or("").trim().to_owned(),
                    url,
                })
            })
            .take(limit)
            .collect())
    }
}
