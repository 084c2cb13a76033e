use super::{Call, RecordedQdrant, done};
use qdrant_client::qdrant::{self as q, collections_server, points_server};
use tonic::{Request, Response, Status};

// Generated from qdrant-client's service definitions: every method of the two services the
// adapter uses; the ones it calls record their request and answer like Qdrant, the rest refuse.

#[tonic::async_trait]
impl points_server::Points for RecordedQdrant {
    async fn upsert(&self, request: Request<q::UpsertPoints>) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.record(Call::Upsert(request.into_inner()));
        Ok(Response::new(done()))
    }
    async fn delete(&self, request: Request<q::DeletePoints>) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.record(Call::Delete(request.into_inner()));
        Ok(Response::new(done()))
    }
    async fn get(&self, request: Request<q::GetPoints>) -> Result<Response<q::GetResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn update_vectors(&self, request: Request<q::UpdatePointVectors>) -> Result<Response<q::PointsOperationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn delete_vectors(&self, request: Request<q::DeletePointVectors>) -> Result<Response<q::PointsOperationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn set_payload(&self, request: Request<q::SetPayloadPoints>) -> Result<Response<q::PointsOperationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn overwrite_payload(&self, request: Request<q::SetPayloadPoints>) -> Result<Response<q::PointsOperationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn delete_payload(&self, request: Request<q::DeletePayloadPoints>) -> Result<Response<q::PointsOperationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn clear_payload(&self, request: Request<q::ClearPayloadPoints>) -> Result<Response<q::PointsOperationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn create_field_index(&self, request: Request<q::CreateFieldIndexCollection>) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.record(Call::FieldIndex(request.into_inner()));
        Ok(Response::new(done()))
    }
    async fn delete_field_index(&self, request: Request<q::DeleteFieldIndexCollection>) -> Result<Response<q::PointsOperationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn create_vector_name(&self, request: Request<q::CreateVectorNameRequest>) -> Result<Response<q::PointsOperationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn delete_vector_name(&self, request: Request<q::DeleteVectorNameRequest>) -> Result<Response<q::PointsOperationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn search(&self, request: Request<q::SearchPoints>) -> Result<Response<q::SearchResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn search_batch(&self, request: Request<q::SearchBatchPoints>) -> Result<Response<q::SearchBatchResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn search_groups(&self, request: Request<q::SearchPointGroups>) -> Result<Response<q::SearchGroupsResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn scroll(&self, request: Request<q::ScrollPoints>) -> Result<Response<q::ScrollResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn recommend(&self, request: Request<q::RecommendPoints>) -> Result<Response<q::RecommendResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn recommend_batch(&self, request: Request<q::RecommendBatchPoints>) -> Result<Response<q::RecommendBatchResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn recommend_groups(&self, request: Request<q::RecommendPointGroups>) -> Result<Response<q::RecommendGroupsResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn discover(&self, request: Request<q::DiscoverPoints>) -> Result<Response<q::DiscoverResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn discover_batch(&self, request: Request<q::DiscoverBatchPoints>) -> Result<Response<q::DiscoverBatchResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn count(&self, request: Request<q::CountPoints>) -> Result<Response<q::CountResponse>, Status> {
        self.record(Call::Count(request.into_inner().collection_name));
        let count = self.state().count;
        Ok(Response::new(q::CountResponse { result: Some(q::CountResult { count }), time: 0.0, usage: None }))
    }
    async fn update_batch(&self, request: Request<q::UpdateBatchPoints>) -> Result<Response<q::UpdateBatchResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn query(&self, request: Request<q::QueryPoints>) -> Result<Response<q::QueryResponse>, Status> {
        self.record(Call::Query(request.into_inner()));
        let result = self.state().query_answer.clone();
        Ok(Response::new(q::QueryResponse { result, time: 0.0, usage: None }))
    }
    async fn query_batch(&self, request: Request<q::QueryBatchPoints>) -> Result<Response<q::QueryBatchResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn query_groups(&self, request: Request<q::QueryPointGroups>) -> Result<Response<q::QueryGroupsResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn facet(&self, request: Request<q::FacetCounts>) -> Result<Response<q::FacetResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn search_matrix_pairs(&self, request: Request<q::SearchMatrixPoints>) -> Result<Response<q::SearchMatrixPairsResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn search_matrix_offsets(&self, request: Request<q::SearchMatrixPoints>) -> Result<Response<q::SearchMatrixOffsetsResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
}

#[tonic::async_trait]
impl collections_server::Collections for RecordedQdrant {
    async fn get(&self, request: Request<q::GetCollectionInfoRequest>) -> Result<Response<q::GetCollectionInfoResponse>, Status> {
        self.record(Call::Info(request.into_inner().collection_name));
        let metadata = self.state().metadata.clone();
        let config = q::CollectionConfig { metadata, ..Default::default() };
        Ok(Response::new(q::GetCollectionInfoResponse { result: Some(q::CollectionInfo { config: Some(config), ..Default::default() }), time: 0.0 }))
    }
    async fn list(&self, request: Request<q::ListCollectionsRequest>) -> Result<Response<q::ListCollectionsResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn create(&self, request: Request<q::CreateCollection>) -> Result<Response<q::CollectionOperationResponse>, Status> {
        let r = request.into_inner();
        {
            let mut st = self.state();
            st.exists = true;
            st.metadata = r.metadata.clone();
        }
        self.record(Call::Create(r));
        Ok(Response::new(q::CollectionOperationResponse { result: true, time: 0.0 }))
    }
    async fn update(&self, request: Request<q::UpdateCollection>) -> Result<Response<q::CollectionOperationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn delete(&self, request: Request<q::DeleteCollection>) -> Result<Response<q::CollectionOperationResponse>, Status> {
        self.state().exists = false;
        self.record(Call::Drop(request.into_inner().collection_name));
        Ok(Response::new(q::CollectionOperationResponse { result: true, time: 0.0 }))
    }
    async fn update_aliases(&self, request: Request<q::ChangeAliases>) -> Result<Response<q::CollectionOperationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn list_collection_aliases(&self, request: Request<q::ListCollectionAliasesRequest>) -> Result<Response<q::ListAliasesResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn list_aliases(&self, request: Request<q::ListAliasesRequest>) -> Result<Response<q::ListAliasesResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn collection_cluster_info(&self, request: Request<q::CollectionClusterInfoRequest>) -> Result<Response<q::CollectionClusterInfoResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn collection_exists(&self, request: Request<q::CollectionExistsRequest>) -> Result<Response<q::CollectionExistsResponse>, Status> {
        let exists = self.state().exists;
        self.record(Call::Exists(request.into_inner().collection_name));
        Ok(Response::new(q::CollectionExistsResponse { result: Some(q::CollectionExists { exists }), time: 0.0 }))
    }
    async fn update_collection_cluster_setup(&self, request: Request<q::UpdateCollectionClusterSetupRequest>) -> Result<Response<q::UpdateCollectionClusterSetupResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn create_shard_key(&self, request: Request<q::CreateShardKeyRequest>) -> Result<Response<q::CreateShardKeyResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn delete_shard_key(&self, request: Request<q::DeleteShardKeyRequest>) -> Result<Response<q::DeleteShardKeyResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
    async fn list_shard_keys(&self, request: Request<q::ListShardKeysRequest>) -> Result<Response<q::ListShardKeysResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("not part of the recorded exchanges"))
    }
}
