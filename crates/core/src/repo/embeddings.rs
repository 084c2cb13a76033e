//! A cache of embeddings keyed by model, kind and text, so re-indexing or a repeated question
//! does not pay for the same vector twice (and a paid provider is not billed twice).

use super::{RepoError, Repository};
use crate::hash::fnv64;
use crate::ports::{Attrs, Condition, Item, Key};

/// Cached vectors are kept for a month.
const CACHE_TTL_SECS: i64 = 30 * 86_400;

fn cache_key(model: &str, kind: &str, text: &str) -> Key {
    Key::new(format!("emb#{model}"), format!("{kind}#{:016x}#{}", fnv64(text.bytes()), text.chars().count()))
}

impl Repository {
    /// The cached vector for exactly this text (the text is stored and compared, so a hash
    /// collision can never return another text's vector).
    pub async fn cached_embedding(&self, model: &str, kind: &str, text: &str) -> Result<Option<Vec<f32>>, RepoError> {
        let Some(item) = self.store.get(&cache_key(model, kind, text)).await? else { return Ok(None) };
        if item.attr("text").and_then(|t| t.as_str()) != Some(text) {
            return Ok(None);
        }
        Ok(item.attr("vector").and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|x| x.as_f64()).map(|x| x as f32).collect()))
    }

    pub async fn cache_embedding(&self, model: &str, kind: &str, text: &str, vector: &[f32]) -> Result<(), RepoError> {
        let mut attrs = Attrs::new();
        attrs.insert("text".into(), text.into());
        attrs.insert("vector".into(), vector.iter().map(|x| serde_json::Value::from(f64::from(*x))).collect());
        let item = Item::new(cache_key(model, kind, text), attrs).expiring_at(self.clock.now().plus_secs(CACHE_TTL_SECS));
        self.store.put(item, Condition::Always).await?;
        Ok(())
    }
}
