use super::{Call, RecordedQdrant};
use qdrant_client::qdrant as q;
use siftgram_qdrant::serve::AdapterCalls;
use std::collections::HashMap;
use tonic::Status;

// Each call the adapter makes is recorded and answered as Qdrant answers it.
#[tonic::async_trait]
impl AdapterCalls for RecordedQdrant {
    async fn collection_exists(&self, collection: String) -> Result<bool, Status> {
        let exists = self.state().exists;
        self.record(Call::Exists(collection));
        Ok(exists)
    }
    async fn collection_metadata(&self, collection: String) -> Result<HashMap<String, q::Value>, Status> {
        self.record(Call::Info(collection));
        Ok(self.state().metadata.clone())
    }
    async fn create_collection(&self, request: q::CreateCollection) -> Result<(), Status> {
        {
            let mut st = self.state();
            st.exists = true;
            st.metadata = request.metadata.clone();
        }
        self.record(Call::Create(request));
        Ok(())
    }
    async fn delete_collection(&self, collection: String) -> Result<(), Status> {
        self.state().exists = false;
        self.record(Call::Drop(collection));
        Ok(())
    }
    async fn create_field_index(&self, request: q::CreateFieldIndexCollection) -> Result<(), Status> {
        self.record(Call::FieldIndex(request));
        Ok(())
    }
    async fn upsert(&self, request: q::UpsertPoints) -> Result<(), Status> {
        self.record(Call::Upsert(request));
        Ok(())
    }
    async fn delete(&self, request: q::DeletePoints) -> Result<(), Status> {
        self.record(Call::Delete(request));
        Ok(())
    }
    async fn query(&self, request: q::QueryPoints) -> Result<Vec<q::ScoredPoint>, Status> {
        self.record(Call::Query(request));
        Ok(self.state().query_answer.clone())
    }
    async fn count(&self, request: q::CountPoints) -> Result<u64, Status> {
        self.record(Call::Count(request.collection_name));
        Ok(self.state().count)
    }
}
