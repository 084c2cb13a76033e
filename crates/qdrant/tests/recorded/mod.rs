//! A gRPC server speaking Qdrant's real protocol (`siftgram_qdrant::serve`, over the service
//! definitions shipped in qdrant-client) that records what the adapter sends and answers with
//! recorded responses.
//! No Qdrant server can run in CI here (see ../shared/notes/search.md), so this is how the
//! adapter's requests and its reading of the answers are tested.

mod services;

use qdrant_client::qdrant as q;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Clone, Debug)]
pub enum Call {
    Exists(String),
    Info(String),
    Create(q::CreateCollection),
    Drop(String),
    FieldIndex(q::CreateFieldIndexCollection),
    Upsert(q::UpsertPoints),
    Delete(q::DeletePoints),
    Query(q::QueryPoints),
    Count(String),
}

#[derive(Default)]
pub struct State {
    pub exists: bool,
    pub metadata: HashMap<String, q::Value>,
    pub calls: Vec<Call>,
    pub query_answer: Vec<q::ScoredPoint>,
    pub count: u64,
}

#[derive(Clone, Default)]
pub struct RecordedQdrant {
    state: Arc<Mutex<State>>,
}

impl RecordedQdrant {
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("state lock")
    }
    fn record(&self, call: Call) {
        self.state().calls.push(call);
    }
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut self.state().calls)
    }

    /// Serves on a random 127.0.0.1 port; returns the gRPC URL.
    pub async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(siftgram_qdrant::serve::serve(Arc::new(self.clone()), listener, std::future::pending()));
        url
    }
}
