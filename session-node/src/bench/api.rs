//! API latency in-process (the router called as a `tower::Service`, no sockets): `GET /api/me`,
//! `GET /api/channels` (100 channels with their counts and sync progress) and `GET /api/search`
//! over a library of `size` posts on the embedded store — each request authenticated with
//! Mini App launch data, checked as in production.

use super::ask::{Library, library};
use super::percentiles;
use axum::body::Body;
use axum::http::Request;
use siftgram_api::{ApiConfig, ApiServices};
use siftgram_core::Clock;
use siftgram_embedded::EmbeddedQueue;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

const TOKEN: &str = "4242:bench-bot-token";

pub async fn api_latency(size: usize, requests: usize, dir: &Path) -> Result<String, String> {
    let Library { repo, clock, db, retriever, reader, mut rng, .. } = library(size, dir).await?;
    let queue = |name: &str| -> Result<Arc<dyn siftgram_core::ports::Queue>, String> {
        let spec = siftgram_core::schema::queue_spec(name).map_err(|e| e.to_string())?;
        Ok(Arc::new(EmbeddedQueue::open(&db, spec).map_err(|e| e.to_string())?))
    };
    let services = ApiServices {
        repo,
        commands: queue("commands")?,
        jobs: queue("jobs")?,
        retriever: Some(retriever),
        web: None,
        queues: Vec::new(),
        config: ApiConfig::new(TOKEN, Vec::new()),
    };
    let router = siftgram_api::router(services);
    let user = format!(r#"{{"id":{reader},"first_name":"Bench","language_code":"ru"}}"#);
    let authorization = format!("tma {}", siftgram_api::auth::sign_init_data(&user, clock.now().0, TOKEN));
    let mut figures = Vec::new();
    for (label, path) in [("me", "/api/me".to_owned()), ("channels", "/api/channels".to_owned()), ("search", String::new())] {
        let mut samples = Vec::with_capacity(requests);
        for _ in 0..requests {
            let path = if label == "search" { format!("/api/search?q={}", url::form_urlencoded::byte_serialize(rng.text(3).as_bytes()).collect::<String>()) } else { path.clone() };
            let request = Request::get(&path).header("Authorization", &authorization).body(Body::empty()).map_err(|e| e.to_string())?;
            let t = Instant::now();
            let response = router.clone().oneshot(request).await.map_err(|e| e.to_string())?;
            let status = response.status();
            axum::body::to_bytes(response.into_body(), usize::MAX).await.map_err(|e| e.to_string())?;
            samples.push(t.elapsed());
            if !status.is_success() {
                return Err(format!("GET {path} answered {status}"));
            }
        }
        figures.push(format!("{label}: {}", percentiles(samples)));
    }
    Ok(figures.join("; "))
}
