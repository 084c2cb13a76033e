//! API keys: `sg_<id>_<secret>`. The id is public (lists, logs); the secret is 256 random
//! bits shown once; only its SHA-256 is stored, and it is compared in constant time.

use crate::error::ApiError;
use base64::Engine;
use sha2::{Digest, Sha256};
use siftgram_core::model::UserId;
use siftgram_core::repo::{ApiKey, MAX_API_KEY_NAME_CHARS, Repository};
use subtle::ConstantTimeEq;

const PREFIX: &str = "sg_";
const ID_BYTES: usize = 6;
const SECRET_BYTES: usize = 32;

/// Lower-case hex of `bytes` (ids, hashes).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// `N` bytes from the OS's random source.
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS has randomness");
    bytes
}

/// A new key for `user`, made by `by`: the stored record and the key itself (shown once).
pub async fn create(repo: &Repository, user: UserId, by: UserId, name: &str) -> Result<(ApiKey, String), ApiError> {
    let name = name.trim();
    if name.chars().count() > MAX_API_KEY_NAME_CHARS {
        return Err(ApiError::invalid("name", format!("at most {MAX_API_KEY_NAME_CHARS} characters")));
    }
    if repo.get_user(user).await?.is_none() {
        return Err(ApiError::not_found("user"));
    }
    let id = hex(&random::<ID_BYTES>());
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<SECRET_BYTES>());
    let record = ApiKey {
        id: id.clone(),
        user,
        name: name.to_owned(),
        secret_hash: secret_hash(&secret),
        created_at: repo.clock().now(),
        created_by: by,
        last_used_at: None,
        revoked_at: None,
    };
    repo.create_api_key(&record).await?;
    Ok((record, format!("{PREFIX}{id}_{secret}")))
}

/// The live key `presented` is, or 401.
pub async fn verify(repo: &Repository, presented: &str) -> Result<ApiKey, ApiError> {
    let refused = || ApiError::unauthorized("unknown or revoked API key");
    let (id, secret) = presented.strip_prefix(PREFIX).and_then(|rest| rest.split_once('_')).ok_or_else(refused)?;
    if id.len() != 2 * ID_BYTES || !id.bytes().all(|b| b.is_ascii_hexdigit()) || secret.len() > 64 {
        return Err(refused());
    }
    let key = repo.get_api_key(id).await?.ok_or_else(refused)?;
    let matches: bool = secret_hash(secret).as_bytes().ct_eq(key.secret_hash.as_bytes()).into();
    if !matches || key.revoked_at.is_some() {
        tracing::info!(key = %key.id, revoked = key.revoked_at.is_some(), "API key refused");
        return Err(refused());
    }
    Ok(key)
}
