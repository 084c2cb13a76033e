//! The table store on one DynamoDB table: `pk`/`sk` keys, the item's attributes as a native map
//! `a`, a store-managed version `ver`, TTL attribute `expires_at` and one GSI `gsi1`.
//! Reads filter expired items themselves, because DynamoDB deletes them only eventually.

use crate::attrs::{from_map, to_attr};
use crate::describe;
use crate::expr::{ATTRS, EXPIRES, Expr, INDEX_NAME, INDEX_PK, INDEX_SK, PK, SK, VERSION, number, string};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, DeleteRequest, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, PutRequest, ReturnValue, ScalarAttributeType,
    TableStatus, TimeToLiveSpecification, TransactWriteItem, Update, WriteRequest,
};
use siftgram_core::ports::table_store::{validate_batch, validate_transaction};
use siftgram_core::ports::{BatchOp, Condition, Cursor, Index, Item, Key, Page, Query, SkRange, StoreError, TableStore, Write};
use siftgram_core::{Clock, Timestamp};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

type AttrMap = HashMap<String, AttributeValue>;

#[derive(Clone)]
pub struct DynamoTableStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoTableStore {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        DynamoTableStore { client, table: table.into(), clock }
    }
}

fn backend<E: std::error::Error>(e: E) -> StoreError {
    StoreError::Backend(describe(&e))
}

fn key_map(key: &Key) -> AttrMap {
    HashMap::from([(PK.to_owned(), string(&key.pk)), (SK.to_owned(), string(&key.sk))])
}

fn decode(map: &AttrMap) -> Result<Item, StoreError> {
    let text = |name: &str| match map.get(name) {
        Some(AttributeValue::S(s)) => Ok(s.clone()),
        _ => Err(StoreError::Backend(format!("item without string attribute {name}"))),
    };
    let num = |name: &str| match map.get(name) {
        Some(AttributeValue::N(n)) => n.parse::<i64>().map(Some).map_err(|_| StoreError::Backend(format!("bad {name}"))),
        _ => Ok(None),
    };
    let attrs = match map.get(ATTRS) {
        Some(AttributeValue::M(m)) => from_map(m).map_err(StoreError::Backend)?,
        _ => Default::default(),
    };
    let index = match (map.get(INDEX_PK), map.get(INDEX_SK)) {
        (Some(AttributeValue::S(p)), Some(AttributeValue::S(s))) => Some(Key::new(p, s)),
        _ => None,
    };
    Ok(Item {
        key: Key::new(text(PK)?, text(SK)?),
        attrs,
        index,
        expires_at: num(EXPIRES)?.map(Timestamp),
        version: num(VERSION)?.unwrap_or(0) as u64,
    })
}

/// An UpdateItem that replaces the whole item (so its version can be computed in place).
struct Replace {
    update: String,
    condition: Option<String>,
    expr: Expr,
}

fn replace(item: &Item, condition: &Condition, now: Timestamp) -> Replace {
    let mut expr = Expr::default();
    let a = expr.name(ATTRS);
    let attrs = expr.value(to_attr(&serde_json::Value::Object(item.attrs.clone())));
    let ver = expr.name(VERSION);
    let version = match condition {
        Condition::NotExists => expr.value(number(1)),
        Condition::Version(v) => expr.value(number(*v as i64 + 1)),
        _ => {
            let (zero, one) = (expr.value(number(0)), expr.value(number(1)));
            format!("if_not_exists({ver}, {zero}) + {one}")
        }
    };
    let mut set = vec![format!("{a} = {attrs}"), format!("{ver} = {version}")];
    let mut remove = Vec::new();
    let (ipk, isk, exp) = (expr.name(INDEX_PK), expr.name(INDEX_SK), expr.name(EXPIRES));
    match &item.index {
        Some(index) => {
            set.push(format!("{ipk} = {}", expr.value(string(&index.pk))));
            set.push(format!("{isk} = {}", expr.value(string(&index.sk))));
        }
        None => remove.extend([ipk, isk]),
    }
    match item.expires_at {
        Some(at) => set.push(format!("{exp} = {}", expr.value(number(at.0)))),
        None => remove.push(exp),
    }
    let mut update = format!("SET {}", set.join(", "));
    if !remove.is_empty() {
        update.push_str(&format!(" REMOVE {}", remove.join(", ")));
    }
    let condition = expr.condition(condition, now);
    Replace { update, condition, expr }
}

fn is_condition_failure<E>(e: &SdkError<E>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

#[async_trait]
impl TableStore for DynamoTableStore {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        key.validate()?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        let now = self.clock.now();
        Ok(out.item().map(decode).transpose()?.filter(|i| i.is_live(now)))
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<u64, StoreError> {
        item.validate()?;
        let Replace { update, condition: cond, expr } = replace(&item, &condition, self.clock.now());
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(&item.key)))
            .update_expression(update)
            .set_condition_expression(cond)
            .set_expression_attribute_names(expr.names_opt())
            .set_expression_attribute_values(expr.values_opt())
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => match out.attributes().and_then(|a| a.get(VERSION)) {
                Some(AttributeValue::N(n)) => n.parse().map_err(|_| StoreError::Backend("bad version".into())),
                _ => Err(StoreError::Backend("update returned no version".into())),
            },
            Err(e) if is_condition_failure(&e) => Err(StoreError::ConditionFailed(item.key)),
            Err(e) => Err(backend(e)),
        }
    }

    async fn delete(&self, key: &Key, condition: Condition) -> Result<(), StoreError> {
        key.validate()?;
        let mut expr = Expr::default();
        let cond = expr.condition(&condition, self.clock.now());
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(expr.names_opt())
            .set_expression_attribute_values(expr.values_opt())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::ConditionFailed(key.clone())),
            Err(e) => Err(backend(e)),
        }
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        query.validate()?;
        let now = self.clock.now();
        let (pk_name, sk_name, index_name) = match query.index {
            Index::Primary => (PK, SK, None),
            Index::Secondary => (INDEX_PK, INDEX_SK, Some(INDEX_NAME)),
        };
        let mut expr = Expr::default();
        let kp = expr.name(pk_name);
        let mut key_condition = format!("{kp} = {}", expr.value(string(&query.pk)));
        let range = match &query.range {
            SkRange::All => None,
            SkRange::Prefix(p) => Some(format!("begins_with({}, {})", expr.name(sk_name), expr.value(string(p)))),
            SkRange::Between(a, b) => {
                let (ks, a, b) = (expr.name(sk_name), expr.value(string(a)), expr.value(string(b)));
                Some(format!("{ks} BETWEEN {a} AND {b}"))
            }
            SkRange::From(a) => Some(format!("{} >= {}", expr.name(sk_name), expr.value(string(a)))),
        };
        if let Some(range) = range {
            key_condition = format!("{key_condition} AND {range}");
        }
        let mut start = match &query.cursor {
            Some(cursor) => Some(cursor_start_key(cursor, query.index)?),
            None => None,
        };
        let want = query.limit.unwrap_or(usize::MAX);
        let mut found = Vec::new();
        loop {
            let page_limit = want.saturating_add(1).saturating_sub(found.len()).min(1000) as i32;
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index_name.map(str::to_owned))
                .key_condition_expression(&key_condition)
                .set_expression_attribute_names(expr.names_opt())
                .set_expression_attribute_values(expr.values_opt())
                .scan_index_forward(!query.descending)
                .consistent_read(query.index == Index::Primary)
                .limit(page_limit)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for raw in out.items() {
                let item = decode(raw)?;
                if item.is_live(now) {
                    found.push(item);
                }
            }
            start = out.last_evaluated_key().cloned();
            if found.len() > want || start.is_none() {
                break;
            }
        }
        Ok(Page::from_lookahead(found, want))
    }

    async fn batch_write(&self, ops: Vec<BatchOp>) -> Result<(), StoreError> {
        validate_batch(&ops)?;
        for chunk in ops.chunks(25) {
            let mut requests = chunk.iter().map(write_request).collect::<Result<Vec<_>, _>>()?;
            for attempt in 0.. {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(backend)?;
                requests = out.unprocessed_items().and_then(|u| u.get(&self.table)).cloned().unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                if attempt >= 8 {
                    return Err(StoreError::Backend(format!("{} batch writes left unprocessed", requests.len())));
                }
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
        }
        Ok(())
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        let now = self.clock.now();
        let items = writes.iter().map(|w| transact_item(&self.table, w, now)).collect::<Result<Vec<_>, _>>()?;
        let result = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        let Err(e) = result else { return Ok(()) };
        if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c)) =
            e.as_service_error()
        {
            let codes: Vec<&str> = c.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None")).collect();
            if let Some(index) = codes.iter().position(|c| *c == "ConditionalCheckFailed") {
                return Err(StoreError::TransactionCancelled { index, key: writes[index].key().clone() });
            }
            if codes.contains(&"TransactionConflict") {
                return Err(StoreError::Conflict);
            }
        }
        if e.as_service_error().and_then(|s| aws_sdk_dynamodb::error::ProvideErrorMetadata::code(s)) == Some("TransactionConflictException") {
            return Err(StoreError::Conflict);
        }
        Err(backend(e))
    }
}

fn cursor_start_key(cursor: &Cursor, index: Index) -> Result<AttrMap, StoreError> {
    let (key, index_key) = cursor.keys()?;
    let mut map = key_map(&key);
    if index == Index::Secondary {
        let index_key = index_key.ok_or_else(|| StoreError::Invalid("cursor is not from an index query".into()))?;
        map.insert(INDEX_PK.into(), string(&index_key.pk));
        map.insert(INDEX_SK.into(), string(&index_key.sk));
    }
    Ok(map)
}

fn write_request(op: &BatchOp) -> Result<WriteRequest, StoreError> {
    Ok(match op {
        BatchOp::Put(item) => {
            let mut map = key_map(&item.key);
            map.insert(ATTRS.into(), to_attr(&serde_json::Value::Object(item.attrs.clone())));
            map.insert(VERSION.into(), number(1));
            if let Some(index) = &item.index {
                map.insert(INDEX_PK.into(), string(&index.pk));
                map.insert(INDEX_SK.into(), string(&index.sk));
            }
            if let Some(at) = item.expires_at {
                map.insert(EXPIRES.into(), number(at.0));
            }
            WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(map)).build().map_err(backend)?).build()
        }
        BatchOp::Delete(key) => WriteRequest::builder()
            .delete_request(DeleteRequest::builder().set_key(Some(key_map(key))).build().map_err(backend)?)
            .build(),
    })
}

fn transact_item(table: &str, write: &Write, now: Timestamp) -> Result<TransactWriteItem, StoreError> {
    Ok(match write {
        Write::Put(item, condition) => {
            let Replace { update, condition, expr } = replace(item, condition, now);
            let update = Update::builder()
                .table_name(table)
                .set_key(Some(key_map(&item.key)))
                .update_expression(update)
                .set_condition_expression(condition)
                .set_expression_attribute_names(expr.names_opt())
                .set_expression_attribute_values(expr.values_opt())
                .build()
                .map_err(backend)?;
            TransactWriteItem::builder().update(update).build()
        }
        Write::Delete(key, condition) => {
            let mut expr = Expr::default();
            let condition = expr.condition(condition, now);
            let delete = Delete::builder()
                .table_name(table)
                .set_key(Some(key_map(key)))
                .set_condition_expression(condition)
                .set_expression_attribute_names(expr.names_opt())
                .set_expression_attribute_values(expr.values_opt())
                .build()
                .map_err(backend)?;
            TransactWriteItem::builder().delete(delete).build()
        }
        Write::Check(key, condition) => {
            let mut expr = Expr::default();
            // A check needs an expression; "Always" is a tautology on the key.
            let condition = expr.condition(condition, now).unwrap_or_else(|| {
                let pk = expr.name(PK);
                format!("attribute_exists({pk}) OR attribute_not_exists({pk})")
            });
            let check = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key_map(key)))
                .condition_expression(condition)
                .set_expression_attribute_names(expr.names_opt())
                .set_expression_attribute_values(expr.values_opt())
                .build()
                .map_err(backend)?;
            TransactWriteItem::builder().condition_check(check).build()
        }
    })
}

/// Creates the table (keys, GSI, on-demand billing) and enables TTL, if not done yet.
/// Safe to run again and from several processes at once.
pub async fn ensure_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let exists = match client.describe_table().table_name(table).send().await {
        Ok(_) => true,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => false,
        Err(e) => return Err(backend(e)),
    };
    if !exists {
        let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(backend);
        let def = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build().map_err(backend)
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(INDEX_NAME)
            .key_schema(key(INDEX_PK, KeyType::Hash)?)
            .key_schema(key(INDEX_SK, KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .map_err(backend)?;
        let created = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .attribute_definitions(def(PK)?)
            .attribute_definitions(def(SK)?)
            .attribute_definitions(def(INDEX_PK)?)
            .attribute_definitions(def(INDEX_SK)?)
            .global_secondary_indexes(gsi)
            .send()
            .await;
        match created {
            Ok(_) => {}
            // Another migrate created it meanwhile.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {}
            Err(e) => return Err(backend(e)),
        }
    }
    for _ in 0..120 {
        let out = client.describe_table().table_name(table).send().await.map_err(backend)?;
        if out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let ttl = client.describe_time_to_live().table_name(table).send().await.map_err(backend)?;
    let enabled = ttl.time_to_live_description().and_then(|d| d.attribute_name()) == Some(EXPIRES);
    if !enabled {
        let spec = TimeToLiveSpecification::builder().enabled(true).attribute_name(EXPIRES).build().map_err(backend)?;
        client.update_time_to_live().table_name(table).time_to_live_specification(spec).send().await.map_err(backend)?;
    }
    Ok(())
}
