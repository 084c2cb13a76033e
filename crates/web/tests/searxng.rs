//! The SearXNG adapter against the fake: JSON results mapped, basic auth sent when configured,
//! and every failure (auth refused, upstream down, nothing listening) a `WebSearchError`.

use siftgram_core::model::Language;
use siftgram_core::ports::WebSearch;
use siftgram_fake_web::FakeSearxng;
use siftgram_web::{Searxng, SearxngConfig};
use std::time::Duration;

fn client(url: &str, auth: Option<(&str, &str)>) -> Searxng {
    let basic_auth = auth.map(|(u, p)| (u.to_owned(), p.to_owned()));
    Searxng::new(SearxngConfig { base_url: url.to_owned(), basic_auth, timeout: Duration::from_secs(2) })
}

#[tokio::test]
async fn results_are_mapped_and_basic_auth_is_sent() {
    let fake = FakeSearxng::start().await.unwrap();
    fake.require_basic_auth("reader", "s3cret");
    fake.results_for("rust 2026", &[("Rust 2026", "https://blog.rust-lang.org/2026", "Plans"), ("no link", "javascript:alert(1)", "")]);
    let found = client(fake.url(), Some(("reader", "s3cret"))).search("rust 2026", Language::En, 5).await.unwrap();
    assert_eq!(found.len(), 1, "only http(s) results");
    assert_eq!((found[0].title.as_str(), found[0].url.as_str(), found[0].snippet.as_str()), ("Rust 2026", "https://blog.rust-lang.org/2026", "Plans"));
    assert_eq!(fake.queries()[0]["language"], "en");

    let refused = client(fake.url(), Some(("reader", "wrong"))).search("rust 2026", Language::En, 5).await.unwrap_err();
    assert!(refused.0.contains("401"), "{refused}");
    fake.set_down(true);
    assert!(client(fake.url(), Some(("reader", "s3cret"))).search("x", Language::Ru, 5).await.unwrap_err().0.contains("502"));
    let nowhere = client("http://127.0.0.1:9", None).search("x", Language::Ru, 5).await;
    assert!(nowhere.is_err());
}
