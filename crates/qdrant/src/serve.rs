//! Serving the part of Qdrant's gRPC API this adapter calls, for stand-ins where no Qdrant
//! server can run (../shared/notes/search.md): the recorded-exchange tests and the dev loop's
//! index. A stand-in implements [`AdapterCalls`] (nine calls); [`serve`] puts it behind
//! Qdrant's real `Points` and `Collections` services from qdrant-client's generated code, so
//! the adapter talks to it exactly as to Qdrant. Every other method answers UNIMPLEMENTED.
//!
//! The `read_*` functions turn the adapter's requests back into the port's terms (the inverse
//! of what `QdrantIndex` sends), refusing anything the adapter does not send.

use crate::{DENSE, KEYWORDS};
use qdrant_client::qdrant::{self as q, collections_server, points_server, r#match::MatchValue, condition::ConditionOneOf, points_selector::PointsSelectorOneOf, query::Variant, value::Kind, vector_input};
use siftgram_core::Timestamp;
use siftgram_core::model::{ChannelId, Language, PostKey};
use siftgram_core::ports::index::FUSION_WEIGHTS;
use siftgram_core::ports::{ChunkPayload, CollectionInfo, IndexFilter, IndexHit, IndexQuery, IndexedChunk, SparseVector};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The calls `QdrantIndex` makes, one method each.
#[tonic::async_trait]
pub trait AdapterCalls: Send + Sync + 'static {
    async fn collection_exists(&self, collection: String) -> Result<bool, Status>;
    /// The collection's metadata (where the adapter keeps the model and dimension).
    async fn collection_metadata(&self, collection: String) -> Result<HashMap<String, q::Value>, Status>;
    async fn create_collection(&self, request: q::CreateCollection) -> Result<(), Status>;
    async fn delete_collection(&self, collection: String) -> Result<(), Status>;
    async fn create_field_index(&self, request: q::CreateFieldIndexCollection) -> Result<(), Status>;
    async fn upsert(&self, request: q::UpsertPoints) -> Result<(), Status>;
    async fn delete(&self, request: q::DeletePoints) -> Result<(), Status>;
    async fn query(&self, request: q::QueryPoints) -> Result<Vec<q::ScoredPoint>, Status>;
    async fn count(&self, request: q::CountPoints) -> Result<u64, Status>;
}

/// Serves `calls` as Qdrant's gRPC API on `listener` until `shutdown` completes.
pub async fn serve<T: AdapterCalls>(calls: Arc<T>, listener: tokio::net::TcpListener, shutdown: impl Future<Output = ()> + Send) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(points_server::PointsServer::new(Served(calls.clone())))
        .add_service(collections_server::CollectionsServer::new(Served(calls)))
        .serve_with_incoming_shutdown(tonic::transport::server::TcpIncoming::from(listener), shutdown)
        .await
}

/// The request as a typed refusal: what a stand-in answers for anything outside the subset.
pub fn outside_subset(what: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("this Qdrant stand-in serves only what siftgram's adapter sends: {what}"))
}

struct Served<T>(Arc<T>);

fn completed() -> q::PointsOperationResponse {
    q::PointsOperationResponse { result: Some(q::UpdateResult { operation_id: Some(1), status: q::UpdateStatus::Completed as i32 }), time: 0.0, usage: None }
}

fn operation_done() -> q::CollectionOperationResponse {
    q::CollectionOperationResponse { result: true, time: 0.0 }
}

/// The generated traits have no default methods; these are the ones the adapter never calls.
/// (Written as `async_trait` expands them: the attribute does not see into macro output.)
macro_rules! unimplemented_calls {
    ($($name:ident($request:ty) -> $response:ty;)*) => {
        $(
            fn $name<'life0, 'async_trait>(
                &'life0 self,
                _request: Request<$request>,
            ) -> std::pin::Pin<Box<dyn Future<Output = Result<Response<$response>, Status>> + Send + 'async_trait>>
            where
                'life0: 'async_trait,
                Self: 'async_trait,
            {
                Box::pin(async { Err(Status::unimplemented(concat!(stringify!($name), " is not part of what siftgram's adapter calls"))) })
            }
        )*
    };
}

#[tonic::async_trait]
impl<T: AdapterCalls> points_server::Points for Served<T> {
    async fn upsert(&self, request: Request<q::UpsertPoints>) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.0.upsert(request.into_inner()).await.map(|()| Response::new(completed()))
    }
    async fn delete(&self, request: Request<q::DeletePoints>) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.0.delete(request.into_inner()).await.map(|()| Response::new(completed()))
    }
    async fn create_field_index(&self, request: Request<q::CreateFieldIndexCollection>) -> Result<Response<q::PointsOperationResponse>, Status> {
        self.0.create_field_index(request.into_inner()).await.map(|()| Response::new(completed()))
    }
    async fn count(&self, request: Request<q::CountPoints>) -> Result<Response<q::CountResponse>, Status> {
        let count = self.0.count(request.into_inner()).await?;
        Ok(Response::new(q::CountResponse { result: Some(q::CountResult { count }), time: 0.0, usage: None }))
    }
    async fn query(&self, request: Request<q::QueryPoints>) -> Result<Response<q::QueryResponse>, Status> {
        let result = self.0.query(request.into_inner()).await?;
        Ok(Response::new(q::QueryResponse { result, time: 0.0, usage: None }))
    }
    unimplemented_calls! {
        get(q::GetPoints) -> q::GetResponse;
        update_vectors(q::UpdatePointVectors) -> q::PointsOperationResponse;
        delete_vectors(q::DeletePointVectors) -> q::PointsOperationResponse;
        set_payload(q::SetPayloadPoints) -> q::PointsOperationResponse;
        overwrite_payload(q::SetPayloadPoints) -> q::PointsOperationResponse;
        delete_payload(q::DeletePayloadPoints) -> q::PointsOperationResponse;
        clear_payload(q::ClearPayloadPoints) -> q::PointsOperationResponse;
        delete_field_index(q::DeleteFieldIndexCollection) -> q::PointsOperationResponse;
        create_vector_name(q::CreateVectorNameRequest) -> q::PointsOperationResponse;
        delete_vector_name(q::DeleteVectorNameRequest) -> q::PointsOperationResponse;
        search(q::SearchPoints) -> q::SearchResponse;
        search_batch(q::SearchBatchPoints) -> q::SearchBatchResponse;
        search_groups(q::SearchPointGroups) -> q::SearchGroupsResponse;
        scroll(q::ScrollPoints) -> q::ScrollResponse;
        recommend(q::RecommendPoints) -> q::RecommendResponse;
        recommend_batch(q::RecommendBatchPoints) -> q::RecommendBatchResponse;
        recommend_groups(q::RecommendPointGroups) -> q::RecommendGroupsResponse;
        discover(q::DiscoverPoints) -> q::DiscoverResponse;
        discover_batch(q::DiscoverBatchPoints) -> q::DiscoverBatchResponse;
        update_batch(q::UpdateBatchPoints) -> q::UpdateBatchResponse;
        query_batch(q::QueryBatchPoints) -> q::QueryBatchResponse;
        query_groups(q::QueryPointGroups) -> q::QueryGroupsResponse;
        facet(q::FacetCounts) -> q::FacetResponse;
        search_matrix_pairs(q::SearchMatrixPoints) -> q::SearchMatrixPairsResponse;
        search_matrix_offsets(q::SearchMatrixPoints) -> q::SearchMatrixOffsetsResponse;
    }
}

#[tonic::async_trait]
impl<T: AdapterCalls> collections_server::Collections for Served<T> {
    async fn get(&self, request: Request<q::GetCollectionInfoRequest>) -> Result<Response<q::GetCollectionInfoResponse>, Status> {
        let metadata = self.0.collection_metadata(request.into_inner().collection_name).await?;
        let config = q::CollectionConfig { metadata, ..Default::default() };
        Ok(Response::new(q::GetCollectionInfoResponse { result: Some(q::CollectionInfo { config: Some(config), ..Default::default() }), time: 0.0 }))
    }
    async fn create(&self, request: Request<q::CreateCollection>) -> Result<Response<q::CollectionOperationResponse>, Status> {
        self.0.create_collection(request.into_inner()).await.map(|()| Response::new(operation_done()))
    }
    async fn delete(&self, request: Request<q::DeleteCollection>) -> Result<Response<q::CollectionOperationResponse>, Status> {
        self.0.delete_collection(request.into_inner().collection_name).await.map(|()| Response::new(operation_done()))
    }
    async fn collection_exists(&self, request: Request<q::CollectionExistsRequest>) -> Result<Response<q::CollectionExistsResponse>, Status> {
        let exists = self.0.collection_exists(request.into_inner().collection_name).await?;
        Ok(Response::new(q::CollectionExistsResponse { result: Some(q::CollectionExists { exists }), time: 0.0 }))
    }
    unimplemented_calls! {
        list(q::ListCollectionsRequest) -> q::ListCollectionsResponse;
        update(q::UpdateCollection) -> q::CollectionOperationResponse;
        update_aliases(q::ChangeAliases) -> q::CollectionOperationResponse;
        list_collection_aliases(q::ListCollectionAliasesRequest) -> q::ListAliasesResponse;
        list_aliases(q::ListAliasesRequest) -> q::ListAliasesResponse;
        collection_cluster_info(q::CollectionClusterInfoRequest) -> q::CollectionClusterInfoResponse;
        update_collection_cluster_setup(q::UpdateCollectionClusterSetupRequest) -> q::UpdateCollectionClusterSetupResponse;
        create_shard_key(q::CreateShardKeyRequest) -> q::CreateShardKeyResponse;
        delete_shard_key(q::DeleteShardKeyRequest) -> q::DeleteShardKeyResponse;
        list_shard_keys(q::ListShardKeysRequest) -> q::ListShardKeysResponse;
    }
}

// --- The adapter's requests read back -------------------------------------------------------

fn integer(v: &q::Value) -> Option<i64> {
    crate::int(v)
}

/// The model and dimension a collection's metadata names (what `create` stored).
pub fn read_collection_info(metadata: &HashMap<String, q::Value>) -> Result<CollectionInfo, Status> {
    let model = match metadata.get("model").and_then(|v| v.kind.clone()) {
        Some(Kind::StringValue(s)) => s,
        _ => return Err(outside_subset("a collection without a model in its metadata")),
    };
    let dimension = metadata.get("dimension").and_then(integer).filter(|d| *d > 0).ok_or_else(|| outside_subset("a collection without a dimension"))?;
    Ok(CollectionInfo { model, dimension: dimension as usize })
}

/// The metadata `read_collection_info` reads.
pub fn collection_metadata(info: &CollectionInfo) -> HashMap<String, q::Value> {
    HashMap::from([("model".to_owned(), q::Value::from(info.model.clone())), ("dimension".to_owned(), q::Value::from(info.dimension as i64))])
}

/// The field conditions of a filter of `must` clauses, by key.
fn field_conditions(filter: &q::Filter) -> Result<HashMap<&str, &q::FieldCondition>, Status> {
    if !filter.should.is_empty() || !filter.must_not.is_empty() || filter.min_should.is_some() {
        return Err(outside_subset("a filter with should / must_not clauses"));
    }
    filter
        .must
        .iter()
        .map(|c| match &c.condition_one_of {
            Some(ConditionOneOf::Field(f)) => Ok((f.key.as_str(), f)),
            other => Err(outside_subset(format!("the condition {other:?}"))),
        })
        .collect()
}

fn matched(f: &q::FieldCondition) -> Option<&MatchValue> {
    f.r#match.as_ref().and_then(|m| m.match_value.as_ref())
}

fn post_key(channel: i64, message: i64) -> Result<PostKey, Status> {
    let channel = ChannelId::new(channel).map_err(|e| outside_subset(format!("channel {channel}: {e}")))?;
    PostKey::new(channel, message).map_err(|e| outside_subset(format!("message {message}: {e}")))
}

/// A search filter (`to_filter`'s output) as the port's filter.
pub fn read_filter(filter: &q::Filter) -> Result<IndexFilter, Status> {
    let fields = field_conditions(filter)?;
    let mut out = IndexFilter::default();
    for (key, condition) in fields {
        match (key, matched(condition), &condition.range) {
            ("channel_id", Some(MatchValue::Integers(ids)), None) => {
                out.channels = ids.integers.iter().map(|c| ChannelId::new(*c).map_err(|e| outside_subset(format!("channel {c}: {e}")))).collect::<Result<_, _>>()?;
            }
            ("channel_id", Some(MatchValue::Integer(id)), None) => out.channels = vec![ChannelId::new(*id).map_err(|e| outside_subset(format!("channel {id}: {e}")))?],
            ("date", None, Some(range)) if range.gt.is_none() && range.lte.is_none() => {
                out.since = range.gte.map(|t| Timestamp(t as i64));
                out.until = range.lt.map(|t| Timestamp(t as i64));
            }
            ("tags", Some(MatchValue::Keywords(tags)), None) => out.tags = tags.strings.clone(),
            ("tags", Some(MatchValue::Keyword(tag)), None) => out.tags = vec![tag.clone()],
            (key, _, _) => return Err(outside_subset(format!("the condition on {key:?}"))),
        }
    }
    Ok(out)
}

/// What a delete removes: every chunk of `post` from `from_chunk` on (0 = the whole post).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkRange {
    pub post: PostKey,
    pub from_chunk: u32,
}

/// A delete the adapter sends (a post, or its chunks from some number on).
pub fn read_delete(request: &q::DeletePoints) -> Result<ChunkRange, Status> {
    let Some(PointsSelectorOneOf::Filter(filter)) = request.points.as_ref().and_then(|p| p.points_selector_one_of.as_ref()) else {
        return Err(outside_subset("a delete by point ids"));
    };
    let fields = field_conditions(filter)?;
    let exact = |key: &str| match fields.get(key).and_then(|f| matched(f)) {
        Some(MatchValue::Integer(v)) => Ok(*v),
        _ => Err(outside_subset(format!("a delete without an exact {key}"))),
    };
    let post = post_key(exact("channel_id")?, exact("message_id")?)?;
    let from_chunk = match fields.get("chunk").and_then(|f| f.range.as_ref()) {
        None => 0,
        Some(q::Range { gte: Some(n), lt: None, gt: None, lte: None }) if *n >= 0.0 => *n as u32,
        Some(range) => return Err(outside_subset(format!("the chunk range {range:?}"))),
    };
    if fields.len() != 2 + usize::from(fields.contains_key("chunk")) {
        return Err(outside_subset("a delete filter on other fields"));
    }
    Ok(ChunkRange { post, from_chunk })
}

/// The points of an upsert as chunks (`QdrantIndex::point`'s inverse).
pub fn read_points(request: &q::UpsertPoints) -> Result<Vec<IndexedChunk>, Status> {
    request.points.iter().map(read_point).collect()
}

fn read_point(point: &q::PointStruct) -> Result<IndexedChunk, Status> {
    let field = |name: &str| point.payload.get(name).and_then(integer).ok_or_else(|| outside_subset(format!("a point without {name}")));
    let post = post_key(field("channel_id")?, field("message_id")?)?;
    let chunk = u32::try_from(field("chunk")?).map_err(|_| outside_subset("a negative chunk number"))?;
    if point.id != Some(crate::point_id(post, chunk).into()) {
        return Err(outside_subset(format!("point id {:?} is not the id of {post} chunk {chunk}", point.id)));
    }
    let tags = match point.payload.get("tags").and_then(|v| v.kind.as_ref()) {
        Some(Kind::ListValue(list)) => list
            .values
            .iter()
            .map(|v| match &v.kind {
                Some(Kind::StringValue(s)) => Ok(s.clone()),
                other => Err(outside_subset(format!("a tag {other:?}"))),
            })
            .collect::<Result<Vec<String>, Status>>()?,
        _ => return Err(outside_subset("a point without tags")),
    };
    let language = match point.payload.get("language").and_then(|v| v.kind.as_ref()) {
        Some(Kind::StringValue(l)) if l == "ru" => Language::Ru,
        Some(Kind::StringValue(l)) if l == "en" => Language::En,
        other => return Err(outside_subset(format!("the language {other:?}"))),
    };
    let Some(q::vectors::VectorsOptions::Vectors(named)) = point.vectors.as_ref().and_then(|v| v.vectors_options.as_ref()) else {
        return Err(outside_subset("a point without named vectors"));
    };
    let vector = |name: &str| named.vectors.get(name).cloned().ok_or_else(|| outside_subset(format!("a point without its {name:?} vector")));
    let dense = vector(DENSE)?.try_into_dense().map_err(|e| outside_subset(e))?;
    let (indices, values) = vector(KEYWORDS)?.try_into_sparse().map_err(|e| outside_subset(e))?;
    Ok(IndexedChunk { post, chunk, dense, sparse: SparseVector { indices, values }, payload: ChunkPayload { date: Timestamp(field("date")?), tags, language } })
}

/// A hybrid query (`QdrantIndex::search`'s request) as the port's query: the dense and the
/// optional keyword prefetch under one filter, fused by RRF.
pub fn read_query(request: &q::QueryPoints) -> Result<IndexQuery, Status> {
    // The embedded index fuses with the port's weights; a request asking for others would be
    // answered wrongly, so it is refused.
    let Some(Variant::Rrf(rrf)) = request.query.as_ref().and_then(|q| q.variant.as_ref()) else {
        return Err(outside_subset("a query that is not an RRF fusion"));
    };
    if rrf.k != Some(crate::QDRANT_RRF_K) || rrf.weights.as_slice() != &FUSION_WEIGHTS[..request.prefetch.len().min(2)] {
        return Err(outside_subset(format!("an RRF fusion with k {:?} and weights {:?}", rrf.k, rrf.weights)));
    }
    let mut dense = None;
    let mut sparse = SparseVector::default();
    let mut filter = None;
    for prefetch in &request.prefetch {
        let Some(Variant::Nearest(input)) = prefetch.query.as_ref().and_then(|q| q.variant.as_ref()) else {
            return Err(outside_subset("a prefetch that is not a nearest query"));
        };
        let this = read_filter(prefetch.filter.as_ref().ok_or_else(|| outside_subset("a prefetch without a filter"))?)?;
        if filter.replace(this.clone()).is_some_and(|f| f != this) {
            return Err(outside_subset("prefetches under different filters"));
        }
        match (prefetch.using.as_deref(), &input.variant) {
            (Some(DENSE), Some(vector_input::Variant::Dense(v))) => dense = Some(v.data.clone()),
            (Some(KEYWORDS), Some(vector_input::Variant::Sparse(v))) => sparse = SparseVector { indices: v.indices.clone(), values: v.values.clone() },
            (using, _) => return Err(outside_subset(format!("a prefetch using {using:?}"))),
        }
    }
    Ok(IndexQuery {
        dense: dense.ok_or_else(|| outside_subset("a query without the dense prefetch"))?,
        sparse,
        filter: filter.unwrap_or_default(),
        limit: request.limit.unwrap_or(10) as usize,
    })
}

/// A hit as Qdrant returns it, with the payload the adapter reads.
pub fn scored_point(hit: &IndexHit) -> q::ScoredPoint {
    let payload = HashMap::from([
        ("channel_id".to_owned(), q::Value::from(hit.post.channel_id.get())),
        ("message_id".to_owned(), q::Value::from(hit.post.message_id)),
        ("chunk".to_owned(), q::Value::from(i64::from(hit.chunk))),
        ("date".to_owned(), q::Value::from(hit.date.0)),
    ]);
    q::ScoredPoint { id: Some(crate::point_id(hit.post, hit.chunk).into()), payload, score: hit.score, version: 0, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{QdrantIndex, to_filter};
    use qdrant_client::qdrant::{Condition, DeletePointsBuilder, Filter, PointsIdsList, UpsertPointsBuilder};

    fn key(c: i64, m: i64) -> PostKey {
        PostKey::new(ChannelId::new(c).unwrap(), m).unwrap()
    }

    #[test]
    fn a_search_filter_reads_back_as_it_was_written() {
        let filter = IndexFilter {
            channels: vec![ChannelId::new(3).unwrap(), ChannelId::new(1_001_234_567).unwrap()],
            since: Some(Timestamp(1_794_000_000)),
            until: Some(Timestamp(1_796_000_000)),
            tags: vec!["economy".into(), "sport".into()],
        };
        assert_eq!(read_filter(&to_filter(&filter)).unwrap(), filter);
        let channels_only = IndexFilter { channels: vec![ChannelId::new(3).unwrap()], ..IndexFilter::default() };
        assert_eq!(read_filter(&to_filter(&channels_only)).unwrap(), channels_only);
    }

    #[test]
    fn a_point_reads_back_as_the_chunk_it_was_made_from() {
        let chunk = IndexedChunk {
            post: key(7, 42),
            chunk: 2,
            dense: vec![0.25, -0.5, 0.75, 1.0],
            sparse: SparseVector { indices: vec![3, 9], values: vec![1.0, 0.5] },
            payload: ChunkPayload { date: Timestamp(1_795_000_000), tags: vec!["economy".into()], language: Language::En },
        };
        let request: q::UpsertPoints = UpsertPointsBuilder::new("posts", vec![QdrantIndex::point(&chunk)]).into();
        assert_eq!(read_points(&request).unwrap(), [chunk.clone()]);

        let mut forged = request.clone();
        forged.points[0].id = Some(99u64.into());
        assert_eq!(read_points(&forged).unwrap_err().code(), tonic::Code::InvalidArgument, "an id that is not the chunk's");
        let mut untagged = request;
        untagged.points[0].payload.remove("tags");
        assert_eq!(read_points(&untagged).unwrap_err().code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn deletes_read_as_a_post_or_its_chunks_from_a_number_on_and_nothing_else() {
        let post = Filter::must([Condition::matches("channel_id", 7i64), Condition::matches("message_id", 42i64)]);
        let request: q::DeletePoints = DeletePointsBuilder::new("posts").points(post.clone()).into();
        assert_eq!(read_delete(&request).unwrap(), ChunkRange { post: key(7, 42), from_chunk: 0 });
        let mut stale = post.clone();
        stale.must.push(Condition::range("chunk", q::Range { gte: Some(3.0), ..q::Range::default() }));
        let request: q::DeletePoints = DeletePointsBuilder::new("posts").points(stale).into();
        assert_eq!(read_delete(&request).unwrap(), ChunkRange { post: key(7, 42), from_chunk: 3 });

        let by_ids: q::DeletePoints = DeletePointsBuilder::new("posts").points(PointsIdsList { ids: vec![1u64.into()] }).into();
        let channel_only: q::DeletePoints = DeletePointsBuilder::new("posts").points(Filter::must([Condition::matches("channel_id", 7i64)])).into();
        let mut wider = post;
        wider.should.push(Condition::matches("message_id", 43i64));
        let wider: q::DeletePoints = DeletePointsBuilder::new("posts").points(wider).into();
        for refused in [by_ids, channel_only, wider] {
            assert_eq!(read_delete(&refused).unwrap_err().code(), tonic::Code::InvalidArgument, "{refused:?}");
        }
    }
}
