//! The search-index conformance suite on the embedded index (durable, reopened from disk).

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
