//! The API and the Mini App pages in standalone mode: the same router as `functions/api`, over
//! this node's backend (and its index, so `/api/search` answers here).

use crate::backend::Backend;
use crate::config::Config;
use crate::search::SearchServices;
use siftgram_api::{ApiServices, NamedQueue};
use siftgram_core::ports::WebSearch;
use siftgram_core::schema::queue_specs;
use std::sync::Arc;

/// None without a bot token: Mini App callers cannot be checked without it.
pub async fn services(backend: &Backend, search: Option<&SearchServices>, queues: &[NamedQueue], config: &Config) -> Result<Option<ApiServices>, String> {
    let Some(api) = config.api.clone() else { return Ok(None) };
    let queue = |name: &str| NamedQueue::find(queues, name).ok_or_else(|| format!("no {name} queue in the schema"));
    Ok(Some(ApiServices {
        repo: backend.repo.clone(),
        commands: queue("commands")?,
        jobs: queue("jobs")?,
        retriever: search.map(|s| s.retriever.clone()),
        web: config.searxng.clone().map(|c| Arc::new(siftgram_web::Searxng::new(c)) as Arc<dyn WebSearch>),
        queues: queues.to_vec(),
        config: api,
    }))
}

/// Every queue of the schema with its dead-letter queue (for statistics and metrics).
pub async fn named_queues(backend: &Backend) -> Result<Vec<NamedQueue>, String> {
    let mut queues = Vec::new();
    for spec in queue_specs().map_err(|e| e.to_string())? {
        let queue = backend.queue(spec.clone()).await.map_err(|e| e.to_string())?;
        queues.push(NamedQueue { name: spec.name.clone(), dead_letters: backend.queue(spec.dead_letter()).await.map_err(|e| e.to_string())?, queue });
    }
    Ok(queues)
}

/// Uploads the Mini App pages to the website bucket (`<prefix>miniapp`), with `config.js`
/// pointing them at `api_base` (API Gateway's URL). Returns the bucket's name.
pub async fn upload_miniapp(sdk: &aws_config::SdkConfig, config: &Config, api_base: &str) -> Result<String, String> {
    use std::borrow::Cow;
    let url = url::Url::parse(api_base).map_err(|e| format!("--api-base: {e}"))?;
    if url.scheme() != "https" && !matches!(url.host_str(), Some("localhost" | "127.0.0.1")) {
        return Err("--api-base must be https (Telegram opens Mini Apps over https only)".into());
    }
    let config_js = siftgram_api::miniapp::config_js(api_base);
    let files: Vec<siftgram_aws::SiteFile> = siftgram_api::miniapp::FILES
        .iter()
        .map(|f| siftgram_aws::SiteFile {
            name: f.name,
            content_type: f.content_type,
            bytes: if f.name == "config.js" { Cow::Owned(config_js.clone().into_bytes()) } else { Cow::Borrowed(f.bytes) },
        })
        .collect();
    let bucket = format!("{}miniapp", config.resource_prefix);
    siftgram_aws::publish_site(&siftgram_aws::s3_client(sdk), &bucket, "login.html", &files).await?;
    Ok(bucket)
}
