//! Outbound HTTP: the web-search adapter (SearXNG's JSON API), outgoing webhooks signed with
//! HMAC-SHA256, delivered from the events queue, and the SSRF-safe reader of linked pages.

mod links;
mod robots;
mod searxng;
mod webhooks;

pub use links::{LinkFetcher, LinkFetcherSettings, ROBOTS_AGENT, is_public};
pub use robots::Robots;
pub use searxng::{Searxng, SearxngConfig};
pub use webhooks::{WebhookDispatcher, WebhookTargets, sign, webhook_events};

/// reqwest is built without a default TLS provider (ring only); every client installs it first
/// (once per process; later calls find it installed).
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder().timeout(timeout).build().expect("HTTP client")
}
