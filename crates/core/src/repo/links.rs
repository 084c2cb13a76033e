//! What linked pages said, cached by address: news channels link the same article many times,
//! and a redelivered or re-indexed post must not fetch its links again.

use super::codec::{decode, item_of};
use super::{RepoError, Repository};
use crate::hash::fnv64;
use crate::model::LinkText;
use crate::ports::{Condition, Key};

/// A page read is kept a week; a page that could not be read is tried again after a day.
const READ_TTL_SECS: i64 = 7 * 86_400;
const UNREADABLE_TTL_SECS: i64 = 86_400;

fn link_key(url: &str) -> Key {
    Key::new(format!("link#{:016x}", fnv64(url.bytes())), "page")
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CachedLink {
    url: String,
    page: Option<LinkText>,
}

impl Repository {
    /// What `url` said when last read: `Some(None)` when it could not be read (recently), None
    /// when it was not read lately. The address is stored and compared, so a hash collision
    /// never returns another page.
    pub async fn cached_link(&self, url: &str) -> Result<Option<Option<LinkText>>, RepoError> {
        let Some(item) = self.store.get(&link_key(url)).await? else { return Ok(None) };
        let cached: CachedLink = decode("cached link", &item)?;
        Ok((cached.url == url).then_some(cached.page))
    }

    pub async fn cache_link(&self, url: &str, page: Option<&LinkText>) -> Result<(), RepoError> {
        let ttl = if page.is_some() { READ_TTL_SECS } else { UNREADABLE_TTL_SECS };
        let cached = CachedLink { url: url.to_owned(), page: page.cloned() };
        let item = item_of(link_key(url), &cached).expiring_at(self.clock.now().plus_secs(ttl));
        self.store.put(item, Condition::Always).await?;
        Ok(())
    }
}
