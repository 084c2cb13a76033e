use crate::TestSystem;
use serde_json::json;
use siftgram_core::ports::table_store::query_all;
use siftgram_core::ports::{Attrs, BatchOp, Condition, Item, Key, Query, StoreError, TableStore, Write};
use siftgram_core::Clock;
use std::sync::Arc;

fn attrs(value: serde_json::Value) -> Attrs {
    value.as_object().cloned().expect("object")
}

fn item(pk: &str, sk: &str, value: serde_json::Value) -> Item {
    Item::new(Key::new(pk, sk), attrs(value))
}

fn sks(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.key.sk.clone()).collect()
}

pub async fn put_get_delete_round_trip(sys: &mut TestSystem) {
    let store = sys.store.clone();
    let value = json!({"text": "Привет, мир", "n": 42, "f": 2.5, "ok": true, "none": null,
                       "list": [1, "два"], "nested": {"deep": {"x": -1}}, "empty": ""});
    let version = store.put(item("p#1", "s#1", value.clone()), Condition::Always).await.unwrap();
    assert_eq!(version, 1);
    let got = store.get(&Key::new("p#1", "s#1")).await.unwrap().expect("stored");
    assert_eq!(serde_json::Value::Object(got.attrs), value);
    assert_eq!(got.version, 1);
    assert_eq!(store.get(&Key::new("p#1", "s#2")).await.unwrap(), None);
    store.delete(&Key::new("p#1", "s#1"), Condition::Always).await.unwrap();
    assert_eq!(store.get(&Key::new("p#1", "s#1")).await.unwrap(), None);
    // Deleting what is not there is fine unless a condition says otherwise.
    store.delete(&Key::new("p#1", "s#1"), Condition::Always).await.unwrap();
    let err = store.delete(&Key::new("p#1", "s#1"), Condition::Exists).await.unwrap_err();
    assert_eq!(err, StoreError::ConditionFailed(Key::new("p#1", "s#1")));
}

pub async fn duplicate_put_if_absent_is_a_noop(sys: &mut TestSystem) {
    let store = sys.store.clone();
    store.put(item("post#1", "00001", json!({"text": "first"})), Condition::NotExists).await.unwrap();
    let err = store.put(item("post#1", "00001", json!({"text": "second"})), Condition::NotExists).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed(_)), "{err:?}");
    let got = store.get(&Key::new("post#1", "00001")).await.unwrap().unwrap();
    assert_eq!(got.attr("text"), Some(&json!("first")));
    assert_eq!(got.version, 1);
}

pub async fn versions_guard_updates(sys: &mut TestSystem) {
    let store = sys.store.clone();
    assert_eq!(store.put(item("u#1", "p", json!({"n": 1})), Condition::NotExists).await.unwrap(), 1);
    assert_eq!(store.put(item("u#1", "p", json!({"n": 2})), Condition::Version(1)).await.unwrap(), 2);
    let stale = store.put(item("u#1", "p", json!({"n": 3})), Condition::Version(1)).await.unwrap_err();
    assert!(matches!(stale, StoreError::ConditionFailed(_)));
    assert_eq!(store.put(item("u#1", "p", json!({"n": 3})), Condition::Always).await.unwrap(), 3);
    let got = store.get(&Key::new("u#1", "p")).await.unwrap().unwrap();
    assert_eq!((got.version, got.attr("n")), (3, Some(&json!(3))));
    assert!(store.put(item("u#2", "p", json!({})), Condition::Version(1)).await.is_err(), "no item, no version");
}

pub async fn concurrent_conditional_updates_exactly_one_wins(sys: &mut TestSystem) {
    let store: Arc<dyn TableStore> = sys.store.clone();
    store.put(item("counter#1", "c", json!({"n": 0})), Condition::NotExists).await.unwrap();
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.put(item("counter#1", "c", json!({"n": writer})), Condition::Version(1)).await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(version) => {
                assert_eq!(version, 2);
                wins += 1;
            }
            Err(e) => assert!(matches!(e, StoreError::ConditionFailed(_)), "{e:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.get(&Key::new("counter#1", "c")).await.unwrap().unwrap().version, 2);
}

pub async fn attribute_conditions(sys: &mut TestSystem) {
    let store = sys.store.clone();
    store.put(item("lease#u1", "lease", json!({"owner": "node-a"})), Condition::NotExists).await.unwrap();
    let renewed = store.put(item("lease#u1", "lease", json!({"owner": "node-a", "n": 2})), Condition::AttrEquals("owner".into(), json!("node-a"))).await;
    assert_eq!(renewed, Ok(2));
    let stolen = store.put(item("lease#u1", "lease", json!({"owner": "node-b"})), Condition::AttrEquals("owner".into(), json!("node-b"))).await;
    assert!(matches!(stolen, Err(StoreError::ConditionFailed(_))));
    let wrong = store.delete(&Key::new("lease#u1", "lease"), Condition::AttrEquals("owner".into(), json!("node-b"))).await;
    assert!(wrong.is_err());
    store.delete(&Key::new("lease#u1", "lease"), Condition::AttrEquals("owner".into(), json!("node-a"))).await.unwrap();
    assert_eq!(store.get(&Key::new("lease#u1", "lease")).await.unwrap(), None);
}

pub async fn ttl_items_disappear_from_reads(sys: &mut TestSystem) {
    let store = sys.store.clone();
    let now = sys.clock.now();
    store.put(item("s#1", "a", json!({})).expiring_at(now.plus_secs(60)), Condition::Always).await.unwrap();
    store.put(item("s#1", "b", json!({})), Condition::Always).await.unwrap();
    store.put(item("s#1", "c", json!({})).expiring_at(now.plus_secs(600)), Condition::Always).await.unwrap();
    assert!(store.get(&Key::new("s#1", "a")).await.unwrap().is_some());
    sys.clock.advance(61);
    assert_eq!(store.get(&Key::new("s#1", "a")).await.unwrap(), None, "expired items are gone for reads");
    let live = query_all(store.as_ref(), Query::partition("s#1")).await.unwrap();
    assert_eq!(sks(&live), ["b", "c"]);
    // An expired item counts as absent for conditions too.
    assert!(matches!(store.put(item("s#1", "a", json!({})), Condition::Exists).await, Err(StoreError::ConditionFailed(_))));
    assert_eq!(store.put(item("s#1", "a", json!({"again": true})), Condition::NotExists).await, Ok(1));
    assert!(store.get(&Key::new("s#1", "a")).await.unwrap().is_some());
}

pub async fn queries_walk_a_partition_in_order_with_cursors(sys: &mut TestSystem) {
    let store = sys.store.clone();
    let ops: Vec<BatchOp> = (0..25)
        .map(|i| BatchOp::Put(item("feed#1", &format!("a#{i:02}"), json!({"i": i}))))
        .chain((0..3).map(|i| BatchOp::Put(item("feed#1", &format!("b#{i}"), json!({})))))
        .chain([BatchOp::Put(item("feed#2", "a#00", json!({})))])
        .collect();
    store.batch_write(ops).await.unwrap();

    let mut seen = Vec::new();
    let mut query = Query::partition("feed#1").prefix("a#").limit(10);
    let mut pages = 0;
    loop {
        let page = store.query(query.clone()).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 10);
        seen.extend(sks(&page.items));
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (0..25).map(|i| format!("a#{i:02}")).collect::<Vec<_>>());

    let exact = store.query(Query::partition("feed#1").prefix("b#").limit(3)).await.unwrap();
    assert_eq!((exact.items.len(), exact.next), (3, None), "no cursor when nothing follows");

    let newest = store.query(Query::partition("feed#1").prefix("a#").descending().limit(3)).await.unwrap();
    assert_eq!(sks(&newest.items), ["a#24", "a#23", "a#22"]);
    let older = store.query(Query::partition("feed#1").prefix("a#").descending().limit(3).after(newest.next)).await.unwrap();
    assert_eq!(sks(&older.items), ["a#21", "a#20", "a#19"]);

    let between = store.query(Query::partition("feed#1").between("a#05", "a#07")).await.unwrap();
    assert_eq!(sks(&between.items), ["a#05", "a#06", "a#07"]);
    let from = query_all(store.as_ref(), Query::partition("feed#1").from("a#23")).await.unwrap();
    assert_eq!(sks(&from), ["a#23", "a#24", "b#0", "b#1", "b#2"]);
    let all = query_all(store.as_ref(), Query::partition("feed#1")).await.unwrap();
    assert_eq!(all.len(), 28);
    assert_eq!(query_all(store.as_ref(), Query::partition("feed#3")).await.unwrap(), vec![]);
}

pub async fn the_secondary_index_is_queryable(sys: &mut TestSystem) {
    let store = sys.store.clone();
    for user in [3, 1, 2] {
        let it = item(&format!("user#{user}"), "sub#77", json!({"user": user})).with_index(Key::new("followers#77", format!("{user:04}")));
        store.put(it, Condition::Always).await.unwrap();
    }
    store.put(item("user#9", "sub#78", json!({})).with_index(Key::new("followers#78", "0009")), Condition::Always).await.unwrap();
    let first = store.query(Query::index_partition("followers#77").limit(2)).await.unwrap();
    assert_eq!(first.items.iter().map(|i| i.key.pk.as_str()).collect::<Vec<_>>(), ["user#1", "user#2"]);
    let rest = store.query(Query::index_partition("followers#77").limit(2).after(first.next)).await.unwrap();
    assert_eq!(rest.items.iter().map(|i| i.key.pk.as_str()).collect::<Vec<_>>(), ["user#3"]);
    assert_eq!(rest.next, None);
    // Moving an item in the index, and out of it.
    store.put(item("user#1", "sub#77", json!({})).with_index(Key::new("followers#78", "0001")), Condition::Always).await.unwrap();
    store.put(item("user#2", "sub#77", json!({})), Condition::Always).await.unwrap();
    let left = query_all(store.as_ref(), Query::index_partition("followers#77")).await.unwrap();
    assert_eq!(left.iter().map(|i| i.key.pk.as_str()).collect::<Vec<_>>(), ["user#3"]);
    let moved = query_all(store.as_ref(), Query::index_partition("followers#78").descending()).await.unwrap();
    assert_eq!(moved.iter().map(|i| i.key.pk.as_str()).collect::<Vec<_>>(), ["user#9", "user#1"]);
}

pub async fn batches_write_any_number_of_items(sys: &mut TestSystem) {
    let store = sys.store.clone();
    let puts = (0..60).map(|i| BatchOp::Put(item("bulk#1", &format!("{i:03}"), json!({"i": i})))).collect();
    store.batch_write(puts).await.unwrap();
    assert_eq!(query_all(store.as_ref(), Query::partition("bulk#1")).await.unwrap().len(), 60);
    let deletes = (0..30).map(|i| BatchOp::Delete(Key::new("bulk#1", format!("{i:03}")))).collect();
    store.batch_write(deletes).await.unwrap();
    let left = query_all(store.as_ref(), Query::partition("bulk#1")).await.unwrap();
    assert_eq!(left.first().map(|i| i.key.sk.as_str()), Some("030"));
    assert_eq!(left.len(), 30);
    let twice = vec![BatchOp::Delete(Key::new("bulk#1", "001")), BatchOp::Delete(Key::new("bulk#1", "001"))];
    assert!(matches!(store.batch_write(twice).await, Err(StoreError::Invalid(_))));
}

pub async fn transactions_are_all_or_nothing(sys: &mut TestSystem) {
    let store = sys.store.clone();
    store.put(item("acct#1", "a", json!({"balance": 10})), Condition::NotExists).await.unwrap();
    let failing = vec![
        Write::Put(item("acct#1", "a", json!({"balance": 5})), Condition::Version(1)),
        Write::Put(item("acct#2", "b", json!({"balance": 5})), Condition::NotExists),
        Write::Check(Key::new("acct#3", "c"), Condition::Exists),
    ];
    let err = store.transact(failing).await.unwrap_err();
    assert_eq!(err, StoreError::TransactionCancelled { index: 2, key: Key::new("acct#3", "c") });
    assert_eq!(store.get(&Key::new("acct#1", "a")).await.unwrap().unwrap().attr("balance"), Some(&json!(10)));
    assert_eq!(store.get(&Key::new("acct#2", "b")).await.unwrap(), None);

    store.put(item("acct#3", "c", json!({})), Condition::Always).await.unwrap();
    let passing = vec![
        Write::Put(item("acct#1", "a", json!({"balance": 5})), Condition::Version(1)),
        Write::Put(item("acct#2", "b", json!({"balance": 5})), Condition::NotExists),
        Write::Check(Key::new("acct#3", "c"), Condition::Exists),
        Write::Delete(Key::new("acct#4", "d"), Condition::Always),
    ];
    store.transact(passing).await.unwrap();
    let a = store.get(&Key::new("acct#1", "a")).await.unwrap().unwrap();
    assert_eq!((a.version, a.attr("balance")), (2, Some(&json!(5))));
    assert_eq!(store.get(&Key::new("acct#2", "b")).await.unwrap().unwrap().version, 1);

    let full: Vec<Write> = (0..25).map(|i| Write::Put(item("tx#big", &format!("{i:02}"), json!({})), Condition::NotExists)).collect();
    store.transact(full).await.unwrap();
    let too_many: Vec<Write> = (0..26).map(|i| Write::Put(item("tx#big2", &format!("{i:02}"), json!({})), Condition::Always)).collect();
    assert!(matches!(store.transact(too_many).await, Err(StoreError::Invalid(_))));
    let twice = vec![Write::Check(Key::new("acct#3", "c"), Condition::Exists), Write::Delete(Key::new("acct#3", "c"), Condition::Always)];
    assert!(matches!(store.transact(twice).await, Err(StoreError::Invalid(_))));
    assert!(store.get(&Key::new("acct#3", "c")).await.unwrap().is_some());
}

pub async fn bad_keys_are_refused_before_anything_is_written(sys: &mut TestSystem) {
    let store = sys.store.clone();
    let bad = [Key::new("", "sk"), Key::new("pk", ""), Key::new("p\0k", "sk"), Key::new("pk", "s".repeat(1025)), Key::new("p".repeat(2049), "sk")];
    for key in bad {
        let err = store.put(Item::new(key.clone(), Attrs::new()), Condition::Always).await.unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{key:?}: {err:?}");
        assert!(matches!(store.get(&key).await, Err(StoreError::Invalid(_))));
    }
    let huge = item("big#1", "x", json!({"text": "я".repeat(200_000)}));
    assert!(matches!(store.put(huge, Condition::Always).await, Err(StoreError::Invalid(_))));
    assert!(matches!(store.query(Query::partition("")).await, Err(StoreError::Invalid(_))));
    assert!(matches!(store.query(Query::partition("p").limit(0)).await, Err(StoreError::Invalid(_))));
    assert!(matches!(store.query(Query::partition("p").between("b", "a")).await, Err(StoreError::Invalid(_))));
    let forged = Query::partition("p").after(Some(siftgram_core::ports::Cursor::from_token("not a cursor")));
    assert!(matches!(store.query(forged).await, Err(StoreError::Invalid(_))));
    assert_eq!(query_all(store.as_ref(), Query::partition("big#1")).await.unwrap(), vec![]);
}

/// Every case, for `suite!`.
#[macro_export]
macro_rules! table_store_conformance {
    ($make:path) => {
        $crate::suite!($make; $crate::conformance::table_store;
            put_get_delete_round_trip,
            duplicate_put_if_absent_is_a_noop,
            versions_guard_updates,
            concurrent_conditional_updates_exactly_one_wins,
            attribute_conditions,
            ttl_items_disappear_from_reads,
            queries_walk_a_partition_in_order_with_cursors,
            the_secondary_index_is_queryable,
            batches_write_any_number_of_items,
            transactions_are_all_or_nothing,
            bad_keys_are_refused_before_anything_is_written,
        );
    };
}
