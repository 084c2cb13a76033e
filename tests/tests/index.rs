//! The search-index conformance suite on the embedded index (durable, reopened from disk), and
//! the same suite through the Qdrant adapter's gRPC to the dev loop's Qdrant stand-in over it.

use siftgram_search::EmbeddedIndex;
use siftgram_tests::conformance::index::IndexUnderTest;
use std::sync::Arc;

async fn embedded() -> IndexUnderTest {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let index = EmbeddedIndex::open_dir(&path).unwrap();
    let reopen = move || {
        // What a restart finds: the committed file (copied, since the first handle holds its lock).
        let copy = path.join("after-restart");
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::copy(path.join("index.redb"), copy.join("index.redb")).unwrap();
        Arc::new(EmbeddedIndex::open_dir(&copy).expect("reopen")) as Arc<dyn siftgram_core::ports::SearchIndex>
    };
    IndexUnderTest { index: Arc::new(index), reopen: Some(Box::new(reopen)), _guard: Some(dir) }
}

mod embedded {
    siftgram_tests::index_conformance!(super::embedded);
}

/// `QdrantIndex` → gRPC → the dev loop's stand-in → an embedded index; reopened as a new
/// stand-in and adapter over the committed file.
async fn over_qdrant_grpc() -> IndexUnderTest {
    fn adapter(dir: &std::path::Path) -> Arc<dyn siftgram_core::ports::SearchIndex> {
        let index = EmbeddedIndex::open_dir(dir).expect("the stand-in's index");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (url, _) = siftgram_devloop::qdrant::spawn(index, "posts", listener, std::future::pending()).unwrap();
        Arc::new(siftgram_qdrant::QdrantIndex::connect(&url, None, "posts").unwrap())
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let index = adapter(&path);
    let reopen = move || {
        let copy = path.join("after-restart");
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::copy(path.join("index.redb"), copy.join("index.redb")).unwrap();
        adapter(&copy)
    };
    IndexUnderTest { index, reopen: Some(Box::new(reopen)), _guard: Some(dir) }
}

mod qdrant_grpc {
    siftgram_tests::index_conformance!(super::over_qdrant_grpc);
}
