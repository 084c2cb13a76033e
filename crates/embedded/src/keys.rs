//! Byte keys: `pk \0 sk` for items and `index-pk \0 index-sk \0 pk \0 sk` for the secondary
//! index, so that byte order is DynamoDB's order (UTF-8 byte order of the sort key) within a
//! partition. Keys never contain NUL (the port refuses them).

use siftgram_core::ports::{Cursor, Index, Key, Query, SkRange, StoreError};
use std::ops::Bound;

pub fn item_key(key: &Key) -> Vec<u8> {
    join(&[&key.pk, &key.sk])
}

pub fn index_entry(index: &Key, key: &Key) -> Vec<u8> {
    join(&[&index.pk, &index.sk, &key.pk, &key.sk])
}

/// The table key stored at the end of an index entry.
pub fn key_of_index_entry(entry: &[u8]) -> Option<Key> {
    let text = std::str::from_utf8(entry).ok()?;
    let mut parts = text.split('\0');
    let (_, _, pk, sk) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    Some(Key::new(pk, sk))
}

fn join(parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// The smallest byte string greater than every string starting with `prefix`.
fn successor(mut prefix: Vec<u8>) -> Vec<u8> {
    while let Some(last) = prefix.pop() {
        if last < 0xff {
            prefix.push(last + 1);
            return prefix;
        }
    }
    vec![0xff; 1]
}

pub type ByteRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The byte range a query scans, after its cursor.
pub fn query_bounds(query: &Query) -> Result<ByteRange, StoreError> {
    let mut base = query.pk.as_bytes().to_vec();
    base.push(0);
    let with = |s: &str| [base.as_slice(), s.as_bytes()].concat();
    // In the index, an entry continues after its sort key with `\0 pk \0 sk`.
    let end_of_sk = |s: &str| match query.index {
        Index::Primary => Bound::Included(with(s)),
        Index::Secondary => Bound::Excluded([with(s).as_slice(), &[1u8]].concat()),
    };
    let (lower, upper) = match &query.range {
        SkRange::All => (Bound::Included(base.clone()), Bound::Excluded(successor(base.clone()))),
        SkRange::Prefix(p) => (Bound::Included(with(p)), Bound::Excluded(successor(with(p)))),
        SkRange::Between(a, b) => (Bound::Included(with(a)), end_of_sk(b)),
        SkRange::From(a) => (Bound::Included(with(a)), Bound::Excluded(successor(base.clone()))),
    };
    let Some(cursor) = &query.cursor else { return Ok((lower, upper)) };
    let after = cursor_position(query.index, cursor)?;
    Ok(if query.descending { (lower, Bound::Excluded(after)) } else { (Bound::Excluded(after), upper) })
}

fn cursor_position(index: Index, cursor: &Cursor) -> Result<Vec<u8>, StoreError> {
    let (key, index_key) = cursor.keys()?;
    match index {
        Index::Primary => Ok(item_key(&key)),
        Index::Secondary => {
            let index_key = index_key.ok_or_else(|| StoreError::Invalid("cursor is not from an index query".into()))?;
            Ok(index_entry(&index_key, &key))
        }
    }
}
