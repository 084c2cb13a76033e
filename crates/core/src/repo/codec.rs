//! Domain values ⇄ table-store items (JSON attributes).

use super::RepoError;
use crate::ports::{Attrs, Item, Key};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(super) fn attrs_of<T: Serialize>(value: &T) -> Attrs {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => unreachable!("domain records serialize to JSON objects"),
    }
}

pub(super) fn item_of<T: Serialize>(key: Key, value: &T) -> Item {
    Item::new(key, attrs_of(value))
}

pub(super) fn decode<T: DeserializeOwned>(what: &'static str, item: &Item) -> Result<T, RepoError> {
    serde_json::from_value(serde_json::Value::Object(item.attrs.clone()))
        .map_err(|e| RepoError::Corrupt { what, why: format!("{}: {e}", item.key) })
}

/// Zero-padded so that lexical order is numeric order.
pub(super) fn padded(n: i64) -> String {
    format!("{n:020}")
}
